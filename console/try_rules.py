"""Try before arming: run a (possibly unsaved) site's rules on recorded footage of one camera,
and list the alarms they would have raised, for the editor's timeline.

    report = try_rules(edited_site, "cam-path", start=datetime(2026, 11, 28, 2, 0, tzinfo=tz),
                       progress=on_progress, cancel=stop_event)
    for alarm in report.alarms:        # rule, subject, severity, video seconds, snapshot
        ...
    report.discard()                   # its store and snapshots are the caller's to remove

It is the replay path (`nightwatch replay`): the site's camera, alone, runs through the same
pipeline, presence, rules and alarm manager in lockstep (every `detect_every_s` of video
detected, in order; the site clock at `start` plus the video's seconds, so after-hours rules
can be tried on daytime footage), into a store of its own in a temporary folder, never the
console's. Nothing is paged (a replay sends no alerts). A camera on a stream is tried on a
recording of it (`footage=`).

Blocking: the editor calls it on a worker thread. `progress` is called on that thread about
five times a second with a `TryProgress`; setting `cancel` stops the run (the alarms found so
far are returned, `cancelled` set).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import cv2

from console.alarms import Alarm
from console.runtime import ReplayOptions, RuntimeOptions, SiteRunError, SiteRuntime
from console.site_file import Camera, Site
from console.store import Store
from inference.worker_pool import DetectorSpec

log = logging.getLogger(__name__)

__all__ = ["TriedAlarm", "TriedOccurrence", "TryProgress", "TryReport", "try_rules"]


@dataclass(frozen=True, slots=True)
class TriedOccurrence:
    track_id: int | None
    start_s: float | None  # video seconds
    end_s: float | None
    closest_m: float | None


@dataclass(frozen=True, slots=True)
class TriedAlarm:
    """An alarm the rules would have raised: where on the timeline (video seconds) and what."""

    alarm_id: int
    rule: str
    subject_id: str
    subject_name: str
    severity: str
    camera_id: str
    start_s: float | None
    end_s: float | None
    occurrences: tuple[TriedOccurrence, ...]
    snapshot_path: Path | None  # the frame with the person's box, in the try's own folder
    detail: dict[str, object] = field(default_factory=dict)  # the rule's detail, as JSON


@dataclass(frozen=True, slots=True)
class TryProgress:
    video_s: float  # how far into the footage the rules have judged
    duration_s: float | None  # the footage's length, when its file says
    alarms: int  # raised so far
    frames_judged: int


@dataclass(frozen=True)
class TryReport:
    camera_id: str
    start: datetime
    alarms: tuple[TriedAlarm, ...]
    frames_judged: int
    video_s: float
    duration_s: float | None
    finished: bool  # the footage was judged to its end
    cancelled: bool
    folder: Path  # the try's own store and snapshots; `discard()` removes it
    error: str | None = None

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def _footage_duration_s(path: str) -> float | None:
    cap = cv2.VideoCapture(path)
    try:
        frames = cap.get(cv2.CAP_PROP_FRAME_COUNT)
        fps = cap.get(cv2.CAP_PROP_FPS)
    finally:
        cap.release()
    if frames > 0 and fps > 0:
        return float(frames / fps)
    return None


def _one_camera_site(site: Site, camera_id: str, footage: str | Path | None) -> Site:
    """The site with only this camera, reading `footage` when given (validated again, so its
    paths resolve like the site file's)."""
    camera = site.camera(camera_id)
    if footage is not None:
        data = camera.model_dump(mode="json", exclude_defaults=True)
        data.update(source=str(footage))
        data.pop("substream", None)
        data.pop("credentials", None)
        camera = Camera.model_validate(data, context={"base_dir": site.base_dir})
    elif camera.source_kind != "file":
        raise SiteRunError(
            f"camera {camera_id} is a {camera.source_kind} camera: try the rules on a recording "
            "of it (footage=)"
        )
    return site.model_copy(update={"cameras": (camera,)})


def try_rules(
    site: Site,
    camera_id: str,
    *,
    start: datetime,
    footage: str | Path | None = None,
    folder: str | Path | None = None,
    detect_every_s: float = 0.5,
    detector: DetectorSpec | None = None,
    cpu_workers: int | None = 1,
    progress: Callable[[TryProgress], None] | None = None,
    cancel: threading.Event | None = None,
    timeout_s: float = 3600.0,
) -> TryReport:
    """Run the site's rules on one camera's footage (see the module doc). `start` is the site
    time of the footage's first frame (aware)."""
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError("start must be a time-zone-aware datetime")
    if detect_every_s <= 0:
        raise ValueError(f"detect_every_s must be > 0 (got {detect_every_s})")
    tried = _one_camera_site(site, camera_id, footage)
    camera = tried.camera(camera_id)
    where = Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="nightwatch-try-"))
    where.mkdir(parents=True, exist_ok=True)
    duration = _footage_duration_s(camera.resolved_substream or camera.resolved_source)
    store = Store(f"sqlite:///{where / 'try.db'}", snapshots_dir=where / "snapshots")
    raised: list[int] = []

    def on_alarm(alarm: Alarm) -> None:
        if alarm.alarm_id not in raised:
            raised.append(alarm.alarm_id)

    options = RuntimeOptions(
        detector=detector,  # None: the site file's detection section, else auto
        cpu_workers=cpu_workers,
        replay=ReplayOptions(start, realtime=False, detect_every_s=detect_every_s),
    )
    cancel = cancel or threading.Event()
    finished = False
    error: str | None = None
    alarms: dict[int, Alarm] = {}
    video_s = 0.0
    frames = 0
    try:
        runtime = SiteRuntime(tried, store, options, on_alarm=on_alarm)
    except BaseException:
        store.close()
        raise
    try:
        deadline = time.monotonic() + timeout_s
        with runtime:
            while time.monotonic() < deadline and not cancel.is_set():
                failed = runtime.pipeline.stats().error
                if failed:
                    error = f"the detector failed: {failed}"
                    break
                if runtime.replay_finished():
                    finished = True
                    break
                last = runtime.presence.camera(camera_id).last_ts  # judged so far
                video_s = max(video_s, float(last) if last is not None else 0.0)
                frames = runtime.frames_seen
                if progress is not None:
                    progress(TryProgress(video_s, duration, len(raised), frames))
                cancel.wait(0.2)
            runtime.alarms.flush(timeout_s=30.0)
            alarms = {a.alarm_id: a for a in runtime.alarms.open_alarms()}
            frames = runtime.frames_seen
            if finished and duration is not None:
                video_s = duration
    finally:
        store.close()
    report_alarms = tuple(_tried(alarms[i], tried, runtime) for i in raised if i in alarms)
    if progress is not None:
        progress(TryProgress(video_s, duration, len(report_alarms), frames))
    return TryReport(
        camera_id,
        start,
        report_alarms,
        frames,
        video_s,
        duration,
        finished,
        cancel.is_set() and not finished,
        where,
        error,
    )


def _tried(alarm: Alarm, site: Site, runtime: SiteRuntime) -> TriedAlarm:
    return TriedAlarm(
        alarm.alarm_id,
        alarm.rule,
        alarm.subject_id,
        runtime.subject_name(alarm.subject_id),
        str(alarm.severity),
        alarm.camera_id,
        alarm.video_start_s,
        alarm.video_end_s,
        tuple(
            TriedOccurrence(o.track_id, o.video_start_s, o.video_end_s, o.closest_m)
            for o in alarm.occurrences
        ),
        Path(alarm.snapshot_path) if alarm.snapshot_path else None,
        alarm.detail.as_json(),
    )
