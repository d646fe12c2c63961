"""The runtime: a site's cameras through the vision pipeline, the rules and the alarm store.

    site file -> CameraSpecs -> VisionPipeline -> TrackedFrame -> Presence -> rules -> findings
              -> AlarmManager -> AlarmStore (SQLite) + listeners (log, console, alert routes)

One `SiteRuntime` serves `nightwatch run --headless`, `nightwatch replay` and the console window.
Pipeline callbacks arrive on the pipeline's dispatch thread; the runtime's own thread ticks once a
second (alarm escalation, camera health of silent cameras, alarmed cameras detected more often).

Live, the site clock is the system clock. In replay the clock is a fake one set, for each frame,
to `start + the frame's video seconds`, and the cameras run in lockstep: a fixed number of frames
per video second, every one detected, as fast as the machine allows (or at real pace), so a
replay gives the same alarms on every machine.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import cv2
import numpy as np

from console.alarms import Alarm, AlarmListener, AlarmManager, AlarmPolicy
from console.clock import Clock, FakeClock, SystemClock
from console.presence import Observation, Presence
from console.rules import Finding, camera_health, evaluate_camera
from console.secrets import SecretsError, load_secrets, with_credentials
from console.site_file import Site
from console.store import AlarmStore
from inference.pipeline import (
    CameraSpec,
    PipelineConfig,
    PipelineEvent,
    TrackedFrame,
    VisionPipeline,
)
from inference.scheduler import SchedulerConfig
from inference.sources import StatusChange
from inference.worker_pool import DetectorSpec

log = logging.getLogger(__name__)

ANALYSIS_WIDTH_PX = 320  # the frame copy the image rules look at (objects, health, statues)
SNAPSHOT_QUALITY = 85


@dataclass(frozen=True, slots=True)
class ReplayOptions:
    """Run file cameras in lockstep from `start` (site time of each video's first frame)."""

    start: datetime
    realtime: bool = False
    detect_every_s: float = 0.2  # video seconds between detected frames


@dataclass(frozen=True, slots=True)
class RuntimeOptions:
    detector: DetectorSpec = field(default_factory=DetectorSpec)
    cpu_workers: int | None = None
    replay: ReplayOptions | None = None
    alarm_policy: AlarmPolicy = field(default_factory=AlarmPolicy)


class SiteRunError(RuntimeError):
    """The site cannot be run as configured (the message says why)."""


def camera_specs(site: Site, replay: ReplayOptions | None = None) -> list[CameraSpec]:
    """The pipeline's cameras: the sub-stream (else the main stream) for tiles and detection,
    credentials from the secrets store inserted into stream URLs."""
    secrets = None
    specs: list[CameraSpec] = []
    for camera in site.cameras:
        main = camera.resolved_source
        sub = camera.resolved_substream or main
        if camera.credentials is not None and camera.source_kind == "url":
            if secrets is None:
                try:
                    secrets = load_secrets()
                except SecretsError as exc:
                    raise SiteRunError(str(exc)) from exc
            creds = secrets.get(camera.credentials)
            if creds is None:
                log.warning(
                    "camera %s: no credentials %r in the secrets store; trying without",
                    camera.id,
                    camera.credentials,
                )
            else:
                main = with_credentials(main, creds)
                if "://" in sub:
                    sub = with_credentials(sub, creds)
        if replay is not None:
            if camera.source_kind != "file":
                raise SiteRunError(
                    f"replay runs file cameras only; camera {camera.id} is {camera.source_kind}"
                )
            specs.append(
                CameraSpec(
                    camera.id,
                    sub,
                    main_source=None,
                    loop=False,
                    pace=replay.realtime,
                    lockstep_every_s=replay.detect_every_s,
                )
            )
        else:
            specs.append(CameraSpec(camera.id, sub, main_source=main if main != sub else None))
    return specs


def render_snapshot(image: np.ndarray, finding: Finding, site: Site) -> bytes | None:
    """The frame as JPEG with the person's box (and the protected object's outline) drawn."""
    picture = image.copy() if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    try:
        obj = site.protected_object(finding.subject_id)
    except KeyError:
        obj = None
    if obj is not None and finding.camera_id in obj.image_regions:
        polygon = np.asarray(obj.image_regions[finding.camera_id], dtype=np.int32)
        cv2.polylines(picture, [polygon], True, (0, 215, 255), 2, cv2.LINE_AA)
    box = finding.detail.get("box")
    if box is not None:
        x1, y1, x2, y2 = (round(float(v)) for v in box)
        cv2.rectangle(picture, (x1, y1), (x2, y2), (0, 0, 255), 2, cv2.LINE_AA)
        label = f"{finding.rule} #{finding.track_id}" if finding.track_id else finding.rule
        cv2.putText(
            picture,
            label,
            (x1, max(12, y1 - 6)),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.5,
            (0, 0, 255),
            1,
            cv2.LINE_AA,
        )
    ok, encoded = cv2.imencode(".jpg", picture, [cv2.IMWRITE_JPEG_QUALITY, SNAPSHOT_QUALITY])
    return encoded.tobytes() if ok else None


class SiteRuntime:
    def __init__(
        self,
        site: Site,
        store: AlarmStore,
        options: RuntimeOptions | None = None,
        *,
        clock: Clock | None = None,
        on_alarm: AlarmListener | None = None,
        on_tracks: Callable[[TrackedFrame], None] | None = None,
        on_status: Callable[[StatusChange], None] | None = None,
        on_event: Callable[[PipelineEvent], None] | None = None,
    ) -> None:
        self.site = site
        self.store = store
        self.options = options or RuntimeOptions()
        replay = self.options.replay
        self.clock: Clock = clock or (FakeClock(replay.start) if replay else SystemClock())
        self.presence = Presence(site)
        self.alarms = AlarmManager(
            store, site, self.clock, policy=self.options.alarm_policy, listener=on_alarm
        )
        self._on_tracks = on_tracks
        self._on_status = on_status
        self._on_event = on_event
        self._lock = threading.Lock()  # presence and rules are fed from two threads
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self._written_seq: dict[str, int] = {}  # each ring's write count at the last tick
        scheduler = SchedulerConfig()
        if replay is not None:  # every published frame is due at once
            scheduler = SchedulerConfig(
                active_interval_s=0, idle_interval_s=0, alarmed_interval_s=0
            )
        self.pipeline = VisionPipeline(
            camera_specs(site, replay),
            PipelineConfig(
                detector=self.options.detector,
                cpu_workers=self.options.cpu_workers,
                ring_slots=8,
                scheduler=scheduler,
            ),
            on_tracks=self._tracks,
            on_status=self._status,
            on_event=self._event,
        )
        self.frames_seen = 0

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self.pipeline.start()
        self._stop.clear()
        self._ticker = threading.Thread(
            target=self._tick_loop, name="nightwatch-runtime-tick", daemon=True
        )
        self._ticker.start()

    def stop(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(5.0)
            self._ticker = None
        self.pipeline.stop()

    def __enter__(self) -> SiteRuntime:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def replay_finished(self) -> bool:
        """Replay: every camera reached the end of its file and all its frames were detected."""
        for camera in self.site.cameras:
            status, reason, _ = self.pipeline.status(camera.id)
            if status != "offline" or not self.pipeline.drained(camera.id):
                return False
            if "end of file" not in reason and self.pipeline.rings[camera.id].write_seq > 0:
                return False
        return True

    # -- from the pipeline (its dispatch thread) -----------------------------------------------

    def _tracks(self, frame: TrackedFrame) -> None:
        ring = self.pipeline.rings.get(frame.ref.camera_id)
        image = ring.read(frame.ref) if ring is not None else None
        if image is None and ring is not None:  # overwritten already: the newest is close
            latest = ring.latest()
            image = ring.read(latest) if latest is not None else None
        small = None
        frame_size = (0, 0)
        if image is not None:
            height, width = image.shape[:2]
            frame_size = (width, height)
            scale = min(1.0, ANALYSIS_WIDTH_PX / width)
            small = (
                cv2.resize(
                    image,
                    (max(1, int(width * scale)), max(1, int(height * scale))),
                    interpolation=cv2.INTER_AREA,
                )
                if scale < 1
                else image
            )
        now = self._now_for(frame.ref.ts)
        with self._lock:
            self.frames_seen += 1
            if image is None:
                return  # no picture to place boxes in: nothing to judge
            camera = self.presence.update(
                Observation.from_tracked_frame(frame, frame_size, small), now
            )
            findings = evaluate_camera(camera, self.site, now)
        if findings:
            self.alarms.ingest(findings, lambda f: render_snapshot(image, f, self.site))
        self.pipeline.set_alarmed(frame.ref.camera_id, self.alarms.is_alarmed(frame.ref.camera_id))
        if self._on_tracks is not None:
            self._on_tracks(frame)

    def _status(self, change: StatusChange) -> None:
        with self._lock:
            self.presence.set_status(
                change.camera_id, str(change.status), self.clock.now(), change.reason
            )
        if self._on_status is not None:
            self._on_status(change)

    def _event(self, event: PipelineEvent) -> None:
        if self._on_event is not None:
            self._on_event(event)

    def _now_for(self, video_ts: float) -> datetime:
        replay = self.options.replay
        if replay is None:
            return self.clock.now()
        now = replay.start + timedelta(seconds=video_ts)
        assert isinstance(self.clock, FakeClock)
        if now > self.clock.now():
            self.clock.set(now)
        return now

    # -- the runtime's own thread --------------------------------------------------------------

    def _tick_loop(self) -> None:
        while not self._stop.wait(1.0):
            try:
                self.tick()
            except Exception:
                log.exception("runtime tick failed")

    def tick(self) -> None:
        """Once a second: escalations, health of cameras that send nothing, detection priority."""
        if self.options.replay is None:  # in replay each camera is judged on its own frames
            now = self.clock.now()
            with self._lock:
                self._note_frames_written(now)
                findings = [
                    f for cam in self.presence.cameras() for f in camera_health(cam, self.site, now)
                ]
            if findings:
                self.alarms.ingest(findings)
        self.alarms.tick()
        for camera in self.site.cameras:
            self.pipeline.set_alarmed(camera.id, self.alarms.is_alarmed(camera.id))

    def _note_frames_written(self, now: datetime) -> None:
        """Tell presence which cameras' rings were written since the last tick (under the lock)."""
        for camera_id, ring in self.pipeline.rings.items():
            written = ring.write_seq
            if written != self._written_seq.get(camera_id):
                self._written_seq[camera_id] = written
                if written > 0:
                    self.presence.frames_arrived(camera_id, now)


def alarm_record(alarm: Alarm) -> dict[str, object]:
    """The JSON line `nightwatch replay --events` writes for an alarm."""
    return {
        "alarm_id": alarm.alarm_id,
        "camera": alarm.camera_id,
        "rule": alarm.rule,
        "subject": alarm.subject_id,
        "severity": alarm.severity,
        "track_id": alarm.track_ids[0] if alarm.track_ids else None,
        "start_s": None if alarm.video_start_s is None else round(alarm.video_start_s, 2),
        "end_s": None if alarm.video_end_s is None else round(alarm.video_end_s, 2),
    }
