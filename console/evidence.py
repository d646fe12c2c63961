"""Evidence: every alarm keeps a clip of each camera that saw it, with the boxes over it.

    alarm raised (core thread) ──► EvidenceKeeper.alarm_changed ──► OpenClip row (writer)
                                     │ a collection per camera: [raised - pre_roll, ...)
    tracked frames (core thread) ──► boxes of that camera kept with the collection (bounded)
    tick (core thread) ─────────────► risk cleared on that camera + post_roll passed? ─┐
                                                                                        ▼
    evidence worker ("nightwatch-evidence"): links the camera's finished segments into the
    collection's staging folder while it runs (so the recorder's rolling deletion cannot take
    them), then copies their packets into one clip (`inference.clip_assembly`, no re-encoding)
    in the store's file area and hands only the row to the writer (KeepClip / ClipFailed).

The post-roll keeps running while new occurrences on that camera keep the risk alive, but a
clip ends `max_clip_s` after it began whatever happens (said in its row). A camera without a
stream to keep (USB) gets a row `unavailable` with the reason; an alarm whose camera's recorder
recorded nothing for its moment gets `failed` with the recorder's last state. When the console
stops, clips still running are cut short there and kept (said in their row); rows a killed
console left `recording` are closed as failed at the next start.

Threads: everything but the worker runs on the core thread (`alarm_changed`, `frame`, `tick`);
the worker takes frozen jobs under a short lock and never touches the core's state.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import CancelledError, Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from console.alarms import Alarm
from console.site_file import Camera, EvidenceSettings, Site
from console.store import ClipState, Store, StoreError
from console.store.clips import (
    ClipFailed,
    ClipRecord,
    CloseClipOf,
    CloseUnfinishedClips,
    KeepClip,
    KeepClipOf,
    OpenClip,
    clip_relative_path,
)
from inference.clip_assembly import ClipError, assemble_clip, covering
from inference.clip_process import ClipProcess, ClipProcessError
from inference.pipeline import TrackedFrame
from inference.recording import (
    RecorderState,
    RecordingSettings,
    RecordingSpec,
    Segment,
    StreamRecorders,
    finished_segments,
    recordable,
)

log = logging.getLogger(__name__)

__all__ = ["EvidenceKeeper", "recording_settings", "recording_specs"]

BOX_SAMPLE_S = 0.2  # at most five box samples a second per clip
MAX_BOXES = 12_000  # per clip: about 40 minutes of one person at five samples a second
SEGMENT_GRACE_S = 3.0  # after the deadline, wait this long (plus two segments) for the last one
WORKER_PERIOD_S = 0.5
ABANDONED = (
    "not put together: the console stopped before it got to this clip (a storm of alarms left "
    "more clips waiting than it could make while stopping)"
)
STAGING = ".evidence"


def recording_specs(
    site: Site, sources: Mapping[str, tuple[str, str | None]]
) -> list[RecordingSpec]:
    """What each camera's recorder keeps: `sources` maps a camera to (main, sub-stream or None)
    as the pipeline opens them (credentials inserted); `evidence.stream` picks one."""
    use_sub = site.evidence.stream == "substream"
    specs = []
    for camera in site.cameras:
        main, sub = sources[camera.id]
        specs.append(RecordingSpec(camera.id, (sub or main) if use_sub else main))
    return specs


def recording_settings(evidence: EvidenceSettings) -> RecordingSettings:
    segment_s = float(evidence.segment_s)
    return RecordingSettings(
        segment_s=segment_s, keep_s=float(evidence.pre_roll_s) + 6 * segment_s + 30.0
    )


def _stream_of(camera: Camera) -> tuple[str, str | None, str | None]:
    """What a camera's recorder reads (as the site file names it, before credentials)."""
    return (camera.resolved_source, camera.resolved_substream, camera.credentials)


def _wall(at: datetime) -> float:
    return at.timestamp()


def _at(wall: float) -> datetime:
    return datetime.fromtimestamp(wall, UTC)


@dataclass
class _Collection:
    """One alarm's clip of one camera while its moment is being collected (core thread)."""

    alarm_id: int
    camera_id: str
    window_start: float
    cap_end: float
    clip: Future[ClipRecord]
    tracks: set[int] = field(default_factory=set)
    object_region: list[list[float]] | None = None
    size: tuple[int, int] | None = None
    boxes: list[list[float]] = field(default_factory=list)
    last_sample: float = float("-inf")
    cleared_at: float | None = None  # the risk on this camera was last seen then
    truncated: bool = False  # more boxes than MAX_BOXES

    @property
    def key(self) -> tuple[int, str]:
        return (self.alarm_id, self.camera_id)

    def add_boxes(self, wall: float, size: tuple[int, int], boxes: list[list[float]]) -> None:
        if wall - self.last_sample < BOX_SAMPLE_S or wall < self.window_start:
            return
        self.last_sample = wall
        self.size = size
        if len(self.boxes) + len(boxes) > MAX_BOXES:
            self.truncated = True
            return
        t = round(wall, 3)
        self.boxes.extend([t, *box] for box in boxes)


@dataclass(frozen=True, slots=True)
class _Finish:
    """A collection handed to the worker: everything it needs, frozen."""

    alarm_id: int
    camera_id: str
    window_start: float
    window_end: float
    clip: Future[ClipRecord]
    overlay: dict[str, Any] | None
    note: str
    asked_at: float  # wall time when it was handed over


class EvidenceKeeper:
    """Clips and their overlays for a site's alarms (see the module doc).

    `recorders` may be None: recording is off (`evidence.record: false`) and each alarm gets an
    `unavailable` row saying so."""

    def __init__(
        self,
        site: Site,
        store: Store,
        recorders: StreamRecorders | None,
        *,
        now: Callable[[], float],
        clip_process: ClipProcess | None = None,
    ) -> None:
        self.site = site
        # where clips are put together: a helper process (the console's), or this worker
        # thread when none is given (tests of the keeper's own logic)
        self.clip_process = clip_process
        self.settings = site.evidence
        # what the recorders were started with: a site applied while the console runs changes
        # neither (recorders are started with the console), see `use_site`
        self._recorded_streams = {c.id: _stream_of(c) for c in site.cameras}
        self.store = store
        self.recorders = recorders
        self._now = now
        self._collections: dict[tuple[int, str], _Collection] = {}  # core thread
        self._seen_alarms: deque[int] = deque(maxlen=4096)
        self._seen_set: set[int] = set()
        # (alarm, camera) answered `unavailable`: said once, not again at every finding
        self._without_clip: deque[tuple[int, str]] = deque(maxlen=4096)
        self._without_clip_set: set[tuple[int, str]] = set()
        history_s = float(self.settings.pre_roll_s) + 5.0
        self._history_s = history_s
        self._history: dict[str, deque[tuple[float, tuple[int, int], list[list[float]]]]] = {}
        self._lock = threading.Lock()  # the worker's view: staging and finishing jobs
        self._staging: dict[tuple[int, str], float] = {}  # key -> window start
        self._finishing: list[_Finish] = []
        # the worker's own: segment names already linked into each clip's staging folder
        self._linked: dict[tuple[int, str], set[str]] = {}
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._abandon = threading.Event()  # stop: the clips still waiting are closed, not made
        self._thread: threading.Thread | None = None
        self.kept = 0
        self.failed = 0

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        """Close the clips a console that died left `recording`, and start the clip process
        (when there is one) and the worker."""
        self.store.write(CloseUnfinishedClips())
        if self.clip_process is not None:
            self.clip_process.start()
        self._thread = threading.Thread(target=self._work, name="nightwatch-evidence", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 60.0) -> None:
        """Cut every running clip short (said in its row), keep what was recorded, join the
        worker. Call after the core thread stopped (it owns the collections), before the store
        closes. A clip whose row the store has not yet written (a slow disk under a burst of
        alarms) is assembled all the same and handed to the store as `KeepClipOf` (or
        `CloseClipOf` with the reason): queued behind its row, it fills that row in when the
        store gets to it, before the store closes.

        The clips not put together within `timeout_s` (dozens after a storm of alarms on a
        slow machine) are not assembled after the store has closed: their rows are closed
        with the reason, queued before the store closes, and the worker is joined again. The
        clip process (when there is one) is ended last; the clip it was making when the wait
        ran out fails with the reason."""
        now = self._now()
        for collection in list(self._collections.values()):
            self._hand_over(collection, now, "cut short: the console stopped")
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                with self._lock:
                    waiting = len(self._finishing)
                log.error(
                    "the evidence worker did not finish its clips within %.0f s: the %d still "
                    "waiting are closed without a clip",
                    timeout_s,
                    waiting,
                )
                self._abandon.set()
                if self.clip_process is not None:  # the clip it is making fails, said so
                    self.clip_process.close(timeout_s=0.0)
                self._thread.join(timeout_s)
                if self._thread.is_alive():
                    log.error("the evidence worker did not stop within %.0f s more", timeout_s)
            self._thread = None
        if self.clip_process is not None:
            self.clip_process.close()

    @property
    def thread(self) -> threading.Thread | None:
        """The evidence worker (None before start and after stop)."""
        return self._thread

    def use_site(self, site: Site) -> str | None:
        """(core thread) The site applied while the console runs: objects and their outlines
        from now on. The recorders go on recording the cameras they were started with, so a
        camera added, or one whose stream changed, gets clips only after the next start (its
        alarms say so); the evidence settings too take effect then. Returns that note for
        the apply report, or None when nothing waits for a start."""
        self.site = site
        waiting = sorted(
            c.id for c in site.cameras if self._recorded_streams.get(c.id) != _stream_of(c)
        )
        notes = []
        if waiting and self.recorders is not None:
            notes.append(f"clips of {', '.join(waiting)} are recorded from the next start")
        if site.evidence != self.settings:
            notes.append("the new evidence settings take effect at the next start")
        return "; ".join(notes) or None

    def known(self, alarms: list[Alarm]) -> None:
        """Alarms open before this start (reloaded from the store): no clip of their past (it
        was not recorded by this console), only of new activity on them."""
        for alarm in alarms:
            self._seen_alarms.append(alarm.alarm_id)
            self._seen_set.add(alarm.alarm_id)

    @property
    def recording(self) -> dict[tuple[int, str], float]:
        """The clips being collected: (alarm, camera) -> window start (wall seconds)."""
        return {key: c.window_start for key, c in self._collections.items()}

    # -- the core thread -----------------------------------------------------------------------

    def frame(self, frame: TrackedFrame, size: tuple[int, int]) -> None:
        """A judged frame: its tracked boxes, for the clips of its camera (and the pre-roll of
        the next alarm)."""
        camera_id = frame.ref.camera_id
        wall = frame.ref.captured_at
        people = frame.people
        boxes = [
            [int(track), *(round(float(v), 1) for v in xyxy)]
            for xyxy, track in zip(people.xyxy, people.track_id, strict=True)
        ]
        history = self._history.setdefault(camera_id, deque())
        history.append((wall, size, boxes))
        while history and history[0][0] < wall - self._history_s:
            history.popleft()
        for collection in self._collections.values():
            if collection.camera_id == camera_id:
                collection.add_boxes(wall, size, boxes)

    def alarm_changed(self, alarm: Alarm) -> None:
        """The alarm manager's listener: a new alarm or a new camera of one opens a clip; the
        occurrences say whether its risk on each camera is present or since when it cleared.
        A stopped keeper opens no clip (an alarm's change may still arrive as the store catches
        up with it)."""
        if alarm.replayed or self._stopping.is_set():
            return
        if alarm.alarm_id not in self._seen_set:
            if len(self._seen_alarms) == self._seen_alarms.maxlen:
                self._seen_set.discard(self._seen_alarms[0])
            self._seen_alarms.append(alarm.alarm_id)
            self._seen_set.add(alarm.alarm_id)
            fresh = True
        else:
            fresh = False
        for camera_id in alarm.cameras:
            key = (alarm.alarm_id, camera_id)
            collection = self._collections.get(key)
            seen_here = [o for o in alarm.occurrences if o.camera_id == camera_id]
            if collection is None:
                if key in self._without_clip_set:
                    continue
                now_open = [o.started_at for o in seen_here if o.open]
                if fresh:
                    started = min((o.started_at for o in seen_here), default=alarm.raised_at)
                elif now_open:  # new activity after its clip of this camera was kept
                    started = min(now_open)
                else:
                    continue  # an alarm from before this start, or a camera long done
                collection = self._open(alarm, camera_id, started)
                if collection is None:
                    continue
            collection.tracks.update(o.track_id for o in seen_here if o.track_id is not None)
            if any(o.open for o in seen_here):
                collection.cleared_at = None
            elif seen_here:
                collection.cleared_at = max(_wall(o.last_seen_at) for o in seen_here)

    def tick(self) -> None:
        """Once a second: clips whose post-roll has run out (or that reached their longest)
        go to the worker."""
        now = self._now()
        post = float(self.settings.post_roll_s)
        for collection in list(self._collections.values()):
            if collection.cleared_at is not None and now >= collection.cleared_at + post:
                self._hand_over(collection, collection.cleared_at + post, "")
            elif now >= collection.cap_end:
                limit = float(self.settings.max_clip_s)
                self._hand_over(
                    collection,
                    collection.cap_end,
                    f"cut at the longest clip ({limit:g} s, evidence.max_clip_s) while the risk "
                    "was still present",
                )

    def _open(self, alarm: Alarm, camera_id: str, started: datetime) -> _Collection | None:
        window_start = _wall(started) - float(self.settings.pre_roll_s)
        why_not = None
        if self.recorders is None:
            why_not = "clips are switched off in the site file (evidence.record: false)"
        else:
            try:
                camera = self.site.camera(camera_id)
            except KeyError:
                why_not = f"camera {camera_id} is not in the site file"
            else:
                recorded = self._recorded_streams.get(camera_id)
                if recorded is None:
                    why_not = (
                        f"camera {camera_id} was added while the console ran: it is recorded "
                        "from the next start"
                    )
                elif recorded != _stream_of(camera):
                    why_not = (
                        f"the stream of camera {camera_id} changed while the console ran: it "
                        "is recorded from the next start"
                    )
                else:
                    why_not = self.recorders.unavailable(camera_id) or recordable(
                        camera.resolved_source
                    )
        state = ClipState.UNAVAILABLE if why_not else ClipState.RECORDING
        try:
            opened = self.store.write(
                OpenClip(alarm.alarm_id, camera_id, _at(window_start), state, why_not)
            )
        except StoreError as exc:
            log.error("alarm %d: the clip of %s is not stored: %s", alarm.alarm_id, camera_id, exc)
            return None
        if why_not:
            log.info("alarm %d: no clip of %s: %s", alarm.alarm_id, camera_id, why_not)
            key = (alarm.alarm_id, camera_id)
            if len(self._without_clip) == self._without_clip.maxlen:
                self._without_clip_set.discard(self._without_clip[0])
            self._without_clip.append(key)
            self._without_clip_set.add(key)
            return None
        collection = _Collection(
            alarm.alarm_id,
            camera_id,
            window_start,
            window_start + float(self.settings.max_clip_s),
            opened,
        )
        try:
            obj = self.site.protected_object(alarm.subject_id)
        except KeyError:
            obj = None
        if obj is not None and camera_id in obj.image_regions:
            collection.object_region = [list(p) for p in obj.image_regions[camera_id]]
        for wall, size, boxes in self._history.get(camera_id, ()):
            collection.add_boxes(wall, size, boxes)
        self._collections[collection.key] = collection
        with self._lock:
            self._staging[collection.key] = window_start
        self._wake.set()
        log.info(
            "alarm %d: clip of %s from %s (pre-roll %g s)",
            alarm.alarm_id,
            camera_id,
            _at(window_start).isoformat(timespec="milliseconds"),
            float(self.settings.pre_roll_s),
        )
        return collection

    def _hand_over(self, collection: _Collection, window_end: float, note: str) -> None:
        del self._collections[collection.key]
        overlay: dict[str, Any] | None = None
        if collection.size is not None:
            overlay = {
                "size": list(collection.size),
                "tracks": sorted(collection.tracks),
                "boxes": collection.boxes,
            }
            if collection.object_region is not None:
                overlay["object"] = collection.object_region
            if collection.truncated:
                overlay["truncated"] = True
        job = _Finish(
            collection.alarm_id,
            collection.camera_id,
            collection.window_start,
            max(window_end, collection.window_start + 0.1),
            collection.clip,
            overlay,
            note,
            self._now(),
        )
        with self._lock:
            self._finishing.append(job)
        self._wake.set()

    # -- the worker ----------------------------------------------------------------------------

    def _staging_dir(self, key: tuple[int, str]) -> Path:
        assert self.recorders is not None
        return self.recorders.folder / STAGING / f"alarm-{key[0]}-{key[1]}"

    def _work(self) -> None:
        """Stage the clips being collected (at most every `WORKER_PERIOD_S`: the recorder keeps
        more than that of pre-roll) and finish those whose end is recorded. Each pass lists a
        camera's folder once, however many of its clips are collected: in a burst of alarms a
        listing per clip and per wake-up held the interpreter lock long enough to stall the
        screen."""
        staged_at = float("-inf")
        while True:
            self._wake.wait(WORKER_PERIOD_S)
            self._wake.clear()
            try:
                staged_at = self._pass(staged_at)
            except Exception:  # one clip's trouble must not end the worker
                log.exception("evidence worker step failed")
            with self._lock:
                idle = not self._finishing
            if self._stopping.is_set() and idle:
                return

    def _pass(self, staged_at: float) -> float:
        """One pass of the worker: stage (when `staged_at`, the monotonic time of the last
        staging, is `WORKER_PERIOD_S` old) and finish what is ready; returns the new
        `staged_at`."""
        with self._lock:
            staging = dict(self._staging)
            finishing = list(self._finishing)
        listings: dict[str, list[Segment]] = {}
        if time.monotonic() - staged_at >= WORKER_PERIOD_S:
            staged_at = time.monotonic()
            for key, start in staging.items():
                self._stage(key, start, self._listing(key[1], listings))
            self._forget_linked(staging)
        for job in finishing:
            if self._stopping.is_set() or self._ready(job, listings):
                with self._lock:
                    self._finishing.remove(job)
                    self._staging.pop((job.alarm_id, job.camera_id), None)
                self._finish(job)
        return staged_at

    def _listing(self, camera_id: str, listings: dict[str, list[Segment]]) -> list[Segment]:
        """The camera's finished segments, listed once per worker pass."""
        assert self.recorders is not None
        if camera_id not in listings:
            listings[camera_id] = finished_segments(self.recorders.folder_of(camera_id))
        return listings[camera_id]

    def _forget_linked(self, staging: dict[tuple[int, str], float]) -> None:
        for key in [k for k in self._linked if k not in staging]:
            del self._linked[key]

    def _stage(
        self, key: tuple[int, str], start: float, recorded: list[Segment] | None = None
    ) -> None:
        """Hard-link the camera's finished segments of this clip into its staging folder, so
        the recorder's rolling deletion cannot take them (`recorded`: the folder as this pass
        listed it; None lists it now)."""
        if self.recorders is None:
            return
        if recorded is None:
            recorded = finished_segments(self.recorders.folder_of(key[1]))
        linked = self._linked.setdefault(key, set())
        stage: Path | None = None  # made only when a segment is new: most passes link nothing
        for segment in covering(recorded, start, float("inf")):  # from the keyframe before it
            name = segment.path.name
            if name in linked:
                continue
            linked.add(name)
            if stage is None:
                stage = self._staging_dir(key)
            target = stage / name
            if target.exists():
                continue
            stage.mkdir(parents=True, exist_ok=True, mode=0o700)
            try:
                os.link(segment.path, target)
            except FileNotFoundError:
                linked.discard(name)
                continue  # deleted by the recorder meanwhile
            except FileExistsError:
                continue
            except OSError:  # a file system without hard links: copy it
                with contextlib.suppress(FileNotFoundError):
                    shutil.copy2(segment.path, target)

    def _ready(self, job: _Finish, listings: dict[str, list[Segment]]) -> bool:
        """The segment holding the clip's end is finished (or it is not coming)."""
        if not job.clip.done():
            return False
        if self.recorders is None:
            return True
        segments = self._listing(job.camera_id, listings)
        if segments and segments[-1].end >= job.window_end:
            return True
        wait_s = 2 * self.recorders.settings.segment_s + SEGMENT_GRACE_S
        return self._now() >= max(job.asked_at, job.window_end) + wait_s

    def _finish(self, job: _Finish) -> None:
        key = (job.alarm_id, job.camera_id)
        stage = self._staging_dir(key)
        # a job is ready once its row is written, except at stop: then a row still queued in
        # the store (None here) is filled in by a task queued behind it
        record: ClipRecord | None = None
        if job.clip.done():
            try:
                record = job.clip.result()
            except CancelledError:
                self._unstored(job, "the store closed before it wrote this clip's row")
                self._linked.pop(key, None)
                shutil.rmtree(stage, ignore_errors=True)
                return
            except Exception as exc:  # the row itself was refused: nothing to fill in
                self._unstored(job, f"the store refused its row: {exc or type(exc).__name__}")
                self._linked.pop(key, None)
                shutil.rmtree(stage, ignore_errors=True)
                return
        if self._abandon.is_set():  # the console stops and cannot wait for this clip
            self._linked.pop(key, None)
            self._failed(job, record, ABANDONED)
            shutil.rmtree(stage, ignore_errors=True)
            return
        self._stage(key, job.window_start)  # listed afresh: the clip's last segments
        self._linked.pop(key, None)
        try:
            self._assemble(job, record, stage)
        finally:
            shutil.rmtree(stage, ignore_errors=True)

    def _assemble(self, job: _Finish, record: ClipRecord | None, stage: Path) -> None:
        segments = [s for s in finished_segments(stage) if s.start <= job.window_end]
        relative = clip_relative_path(job.alarm_id, job.camera_id, _at(job.window_start))
        try:
            out = self.store.files.path(relative)
        except (StoreError, ValueError) as exc:
            self._failed(job, record, f"no file area for clips: {exc}")
            return
        if not segments:
            self._failed(job, record, f"nothing was recorded for that time: {self._why_none(job)}")
            return
        title = f"Nightwatch alarm {job.alarm_id}, camera {job.camera_id}"
        try:
            assemble = assemble_clip if self.clip_process is None else self.clip_process.assemble
            facts = assemble(segments, out, job.window_start, job.window_end, title=title)
        except ClipProcessError as exc:  # not the recording's fault: no recorder state
            self._failed(job, record, ABANDONED if self._abandon.is_set() else str(exc))
            return
        except ClipError as exc:
            self._failed(job, record, f"{exc}: {self._why_none(job)}")
            return
        except OSError as exc:
            self._failed(job, record, f"the clip could not be written to {out}: {exc.strerror}")
            return
        notes = [job.note] if job.note else []
        late = facts.start - job.window_start
        if late > 0.5:
            notes.append(f"begins {late:.1f} s after the pre-roll (nothing recorded before)")
        short = job.window_end - facts.end
        if short > 1.0:
            notes.append(f"ends {short:.1f} s before the post-roll (nothing recorded after)")
        for begin, end in facts.gaps:
            notes.append(f"no recording for {end - begin:.1f} s from {_at(begin):%H:%M:%S} UTC")
        if facts.note:
            notes.append(facts.note)
        task = KeepClip(
            record.id if record is not None else 0,  # 0: found by KeepClipOf
            relative,
            facts.sha256,
            facts.size_bytes,
            _at(facts.start),
            _at(facts.end),
            _at(job.window_end),
            facts.codec,
            facts.width,
            facts.height,
            overlay=job.overlay,
            note="; ".join(notes) or None,
        )
        queued = record is None
        try:
            written = self.store.write(
                task if record is not None else KeepClipOf(job.alarm_id, job.camera_id, task)
            )
        except StoreError as exc:
            log.error("alarm %d: clip of %s not stored: %s", job.alarm_id, job.camera_id, exc)
            return
        self.kept += 1
        log.info(
            "alarm %d: clip of %s kept: %.1f s, %d packets, %s%s",
            job.alarm_id,
            job.camera_id,
            facts.end - facts.start,
            facts.packets,
            relative,
            " (its row, still queued in the store, is filled in when written)" if queued else "",
        )

        def check(done: Future[Any]) -> None:
            error = done.exception()
            if error is not None:
                why = str(error) or type(error).__name__
                log.error("alarm %d: the clip's row was refused (%s)", job.alarm_id, why)

        written.add_done_callback(check)

    def _unstored(self, job: _Finish, reason: str) -> None:
        """A clip whose row the store refused or gave up: nothing to fill in; said in the log
        (the store's own fault report says why it refused)."""
        self.failed += 1
        log.error("alarm %d: no clip of %s: %s", job.alarm_id, job.camera_id, reason)

    def _why_none(self, job: _Finish) -> str:
        if self.recorders is None:
            return "recording is off"
        state, reason, since = self.recorders.status(job.camera_id)
        if state is RecorderState.RECORDING:
            return "the recorder was recording, but not at that time"
        return f"the recorder was {state.value} since {_at(since):%H:%M:%S} UTC ({reason})"

    def _failed(self, job: _Finish, record: ClipRecord | None, reason: str) -> None:
        self.failed += 1
        log.warning("alarm %d: no clip of %s: %s", job.alarm_id, job.camera_id, reason)
        at = _at(job.window_end)
        with contextlib.suppress(StoreError):
            if record is not None:
                self.store.write(ClipFailed(record.id, reason, at))
            else:  # its row still queued in the store: closed when written
                self.store.write(CloseClipOf(job.alarm_id, job.camera_id, reason, at))
