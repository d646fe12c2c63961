"""The vision pipeline: cameras in, tracked people out.

    camera -> capture process (decode, motion gate) -> frame ring (shared memory)
           -> scheduler (newest frame, priority, fairness) -> worker pool (detector)
           -> tracker (one per camera) -> on_tracks(TrackedFrame)

`VisionPipeline` owns every part: it creates the rings, starts and supervises the capture
processes and the detector workers, and runs one dispatch thread that schedules jobs, collects
results, feeds each camera's tracker and calls the callbacks. All callbacks come from that one
thread; a consumer that lives in another thread (the Qt GUI) marshals them itself.

The cameras can change while it runs (`reconfigure`, for a site edited without a restart): the
dispatch thread adds the new cameras (a ring each, in a capture process with room, or a new
one), removes the deleted ones, and reopens alone a camera whose source changed (its ring and
tracker ids go on); every other camera's capture, ring and tracker are left exactly as they
are. A removed camera's ring is unlinked at once and unmapped `RETIRED_RING_KEEP_S` later, so a
reader that still holds it (the window painting its last frame) never reads unmapped memory.
"""

from __future__ import annotations

import contextlib
import logging
import math
import pickle  # nosec B403 # for UnpicklingError of our own worker pipes only
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection
from typing import Any

from inference.capture import CaptureAssignment, capture_host_main
from inference.detections import PERSON_CLASS_ID, Detections
from inference.frame_ring import FrameRef, FrameRing, sweep_orphan_rings
from inference.pipeline_stats import CameraFigures, PipelineStats
from inference.priority import BACKGROUND_NICE, checked_nice
from inference.processes import reap
from inference.restarts import DEFAULT_HEALTHY_AFTER_S, RestartBackoff, RestartPolicy
from inference.scheduler import (
    CameraView,
    CoverageMeter,
    DetectionScheduler,
    DetectorRate,
    SchedulerConfig,
    batch_for_target,
)
from inference.sources import CameraStatus, StatusChange
from inference.tracking import PersonTracker, TrackerConfig
from inference.worker_pool import (
    SPAWN,
    DetectionResult,
    DetectorSpec,
    WorkerEvent,
    WorkerPool,
)

log = logging.getLogger(__name__)

RETIRED_RING_KEEP_S = 30.0  # a removed camera's ring stays mapped this long (see the module doc)


@dataclass(frozen=True, slots=True)
class CameraChanges:
    """What `VisionPipeline.reconfigure` did: camera ids added, removed, reopened (their source
    changed) and kept untouched."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    restarted: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CameraSpec:
    camera_id: str
    source: str  # rtsp://..., a file path, usb:N
    main_source: str | None = None  # full-resolution stream, opened only when enlarged
    loop: bool = True  # files: start again at the end
    pace: bool = True  # files: at the file's frame rate (False: as fast as possible)
    # replay: detect one frame per this many seconds of video, every one of them, in order
    lockstep_every_s: float | None = None


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    detector: DetectorSpec = field(default_factory=DetectorSpec)
    cpu_workers: int | None = None
    max_batch: int = 8
    min_confidence: float = 0.0  # on top of the detector's own threshold
    cameras_per_capture_process: int = 16
    ring_slots: int = 4
    max_frame_bytes: int = 1280 * 720 * 3  # sub-streams larger than this are shrunk
    main_max_frame_bytes: int = 3840 * 2160 * 3
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    # passed to inference.sources.parse_source: open_timeout_s, read_timeout_s, speed
    source_options: dict[str, Any] = field(default_factory=dict)
    # a capture process that dies is started again after the first of these, doubling per
    # further death in a row up to the second; one that ran `restart_healthy_after_s` before
    # dying counts as a first death again (so do detector workers, with their own delays)
    capture_backoff_s: tuple[float, float] = (0.2, 30.0)
    restart_healthy_after_s: float = DEFAULT_HEALTHY_AFTER_S
    # capture processes and detector workers run this much lower in CPU priority than the
    # console (inference/priority.py); 0: the same priority
    background_nice: int = BACKGROUND_NICE

    def __post_init__(self) -> None:
        checked_nice(self.background_nice)


@dataclass(frozen=True, slots=True)
class TrackedFrame:
    """People tracked in one frame of one camera."""

    ref: FrameRef
    people: Detections  # confirmed tracks, `track_id` set
    detections: Detections  # everything the detector found in the frame
    latency_s: float  # from the frame's capture to its tracks


@dataclass(frozen=True, slots=True)
class PipelineEvent:
    """A worker or capture process started, died, got stuck, restarted."""

    source: str  # "detector-worker-0", "capture-1"
    kind: str
    detail: str
    at: float


@dataclass
class _CaptureHost:
    host_id: int
    assignments: list[CaptureAssignment]
    process: Any = None
    pipe: Connection | None = None  # the pipeline's end of the host's private pipe
    backoff: RestartBackoff = field(default_factory=lambda: RestartBackoff(RestartPolicy()))
    restarts: int = 0
    restart_at: float = 0.0
    main_streams: dict[str, CaptureAssignment] = field(default_factory=dict)  # open, by camera


@dataclass
class _CameraLive:
    status: CameraStatus = CameraStatus.CONNECTING
    reason: str = "starting"
    status_at: float = field(default_factory=time.time)
    last_ts: float = -math.inf
    segment: int | None = None  # the ring segment of the last frame tracked
    detected: int = 0


class VisionPipeline:
    def __init__(
        self,
        cameras: list[CameraSpec],
        config: PipelineConfig | None = None,
        *,
        on_tracks: Callable[[TrackedFrame], None] | None = None,
        on_status: Callable[[StatusChange], None] | None = None,
        on_event: Callable[[PipelineEvent], None] | None = None,
    ) -> None:
        ids = [c.camera_id for c in cameras]
        if len(set(ids)) != len(ids):
            raise ValueError(f"camera ids must be unique (got {ids})")
        self.cameras = {c.camera_id: c for c in cameras}
        self.config = config or PipelineConfig()
        self._on_tracks = on_tracks
        self._on_status = on_status
        self._on_event = on_event
        self.rings: dict[str, FrameRing] = {}
        self.main_rings: dict[str, FrameRing] = {}
        self._hosts: list[_CaptureHost] = []
        self._host_of: dict[str, _CaptureHost] = {}
        self._scheduler = DetectionScheduler(ids, self.config.scheduler)
        self._trackers = {camera_id: PersonTracker(self.config.tracker) for camera_id in ids}
        self._live = {camera_id: _CameraLive() for camera_id in ids}
        self._pool: WorkerPool | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()  # guards _live and the scheduler's flags across threads
        self._latencies: deque[float] = deque(maxlen=2000)
        self._detect_times: deque[float] = deque(maxlen=2000)
        # looks per second the pool gives (the scheduler's budget), and the coverage figure
        self._rate = DetectorRate(self.config.max_batch)
        self._coverage = CoverageMeter(self.config.scheduler.coverage_target_s)
        self.error: str | None = None
        self._swept = ""  # what the ring sweep at start removed, for the first event
        # camera changes asked for while running, applied by the dispatch thread between steps
        self._changes: deque[tuple[list[CameraSpec], Future[CameraChanges]]] = deque()
        self._changes_lock = threading.Lock()
        self._retired: list[tuple[float, FrameRing]] = []  # (unmap after, ring) of removed ones

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        cfg = self.config
        low, high = cfg.capture_backoff_s
        capture_policy = RestartPolicy(low, high, healthy_after_s=cfg.restart_healthy_after_s)
        swept = sweep_orphan_rings()
        if swept:  # told from the dispatch thread, like every callback
            self._swept = (
                f"removed {len(swept)} frame ring(s) left by a console that was killed: "
                + ", ".join(swept)
            )
        try:
            for camera_id in self.cameras:
                self.rings[camera_id] = FrameRing.create(
                    camera_id, slots=cfg.ring_slots, max_frame_bytes=cfg.max_frame_bytes
                )
            per = max(1, cfg.cameras_per_capture_process)
            specs = list(self.cameras.values())
            for host_id, first in enumerate(range(0, len(specs), per)):
                group = [
                    CaptureAssignment(
                        c.camera_id,
                        c.source,
                        self.rings[c.camera_id].name,
                        loop=c.loop,
                        pace=c.pace,
                        lockstep_every_s=c.lockstep_every_s,
                    )
                    for c in specs[first : first + per]
                ]
                host = _CaptureHost(host_id, group, backoff=RestartBackoff(capture_policy))
                self._hosts.append(host)
                for assignment in group:
                    self._host_of[assignment.camera_id] = host
                self._spawn_host(host)
            self._pool = WorkerPool(
                cfg.detector,
                cpu_workers=cfg.cpu_workers,
                healthy_after_s=cfg.restart_healthy_after_s,
                on_event=self._worker_event,
                nice=cfg.background_nice,
            )
            self._pool.start()
        except BaseException:
            self.stop()
            raise
        self._thread = threading.Thread(target=self._run, name="nightwatch-dispatch", daemon=True)
        self._thread.start()
        log.info(
            "vision pipeline started: %d cameras in %d capture processes, %d detector workers",
            len(self.cameras),
            len(self._hosts),
            self._pool.size,
        )

    def stop(self) -> None:
        """Stop everything this pipeline started and remove its shared memory."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10.0)
            self._thread = None
        for host in self._hosts:
            if host.process is not None and host.process.is_alive() and host.pipe is not None:
                with contextlib.suppress(Exception):
                    host.pipe.send(None)
        for host in self._hosts:
            self._reap_host(host, timeout_s=10.0)
        self._hosts.clear()
        if self._pool is not None:
            self._pool.stop()
            self._pool = None
        for ring in [*self.rings.values(), *self.main_rings.values()]:
            ring.close()
            ring.unlink()
        self.rings.clear()
        self.main_rings.clear()
        for _, ring in self._retired:
            ring.close()
            ring.unlink()
        self._retired.clear()
        with self._changes_lock:
            waiting, self._changes = list(self._changes), deque()
        for _, future in waiting:
            if not future.done():
                future.set_exception(RuntimeError("the vision pipeline stopped"))

    def __enter__(self) -> VisionPipeline:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what the core asks ------------------------------------------------------------------

    def set_alarmed(self, camera_id: str, alarmed: bool) -> None:
        """An alarmed camera is detected on every newest frame the workers can take (a camera
        not, or no longer, in the pipeline is ignored)."""
        with self._lock:
            if camera_id in self._live:
                self._scheduler.set_alarmed(camera_id, alarmed)

    def set_near_object(self, camera_id: str, near: bool) -> None:
        """The core's hint: people near a protected object in this camera, so it is among the
        last to be looked at less often when the pool cannot keep every camera within the
        coverage target (a camera not, or no longer, in the pipeline is ignored)."""
        with self._lock:
            if camera_id in self._live:
                self._scheduler.set_near_object(camera_id, near)

    def reconfigure(self, cameras: Sequence[CameraSpec]) -> Future[CameraChanges]:
        """Run these cameras from now on (any thread): new ones are added, missing ones removed,
        a camera whose spec changed (its source) is reopened alone; the others are not touched.
        Done by the dispatch thread between two steps (or at once before `start`); the future
        says what changed. A `camera-added`, `camera-removed` or `camera-restarted` event
        follows for each."""
        specs = list(cameras)
        ids = [c.camera_id for c in specs]
        if len(set(ids)) != len(ids):
            raise ValueError(f"camera ids must be unique (got {ids})")
        done: Future[CameraChanges] = Future()
        if self._thread is None:  # not started (or stopped): the next start uses them
            done.set_result(self._change_cameras(specs, running=False))
            return done
        with self._changes_lock:
            self._changes.append((specs, done))
        return done

    def open_main_stream(self, camera_id: str) -> FrameRing | None:
        """Start decoding the camera's main stream (for an enlarged tile); returns its ring."""
        spec = self.cameras[camera_id]
        if spec.main_source is None:
            return None
        ring = self.main_rings.get(camera_id)
        if ring is None:
            ring = FrameRing.create(
                camera_id, slots=3, max_frame_bytes=self.config.main_max_frame_bytes
            )
            self.main_rings[camera_id] = ring
        assignment = CaptureAssignment(
            camera_id, spec.main_source, ring.name, loop=spec.loop, pace=True, gate_motion=False
        )
        host = self._host_of[camera_id]
        host.main_streams[camera_id] = assignment
        self._command(host, ("open-main", assignment))
        return ring

    def close_main_stream(self, camera_id: str) -> None:
        host = self._host_of.get(camera_id)
        if host is not None and camera_id in self.main_rings:
            host.main_streams.pop(camera_id, None)
            self._command(host, ("close-main", camera_id))

    def status(self, camera_id: str) -> tuple[CameraStatus, str, float]:
        with self._lock:
            live = self._live[camera_id]
            return live.status, live.reason, live.status_at

    def stats(self) -> PipelineStats:
        """Figures for the status bar and the benchmarks: a frozen snapshot."""
        now = time.time()
        with self._lock:
            recent = [t for t in self._detect_times if now - t <= 10.0]
            latencies = sorted(self._latencies)
            cameras: dict[str, CameraFigures] = {}
            for camera_id, ring in self.rings.items():
                counters = self._scheduler.counters(camera_id)
                live = self._live[camera_id]
                motion_at = ring.last_motion_at
                cameras[camera_id] = CameraFigures(
                    status=live.status,
                    reason=live.reason,
                    decoded=ring.write_seq,
                    detected=live.detected,
                    gated=counters.gated,
                    stale=counters.stale,
                    watch=self._scheduler.watch(camera_id, now, motion_at).name.lower(),
                    interval_s=self._scheduler.interval_s(camera_id, now, motion_at),
                )
            coverage = self._coverage.figures(now)
            capacity = self._scheduler.capacity
            stretched = self._scheduler.stretched()
        pool = self._pool
        return PipelineStats(
            cameras=cameras,
            live=sum(1 for c in cameras.values() if c.status == CameraStatus.LIVE),
            decoded=sum(c.decoded for c in cameras.values()),
            detected=sum(c.detected for c in cameras.values()),
            stale=sum(c.stale for c in cameras.values()),
            detections_per_s=len(recent) / 10.0,
            latency_p50_s=_quantile(latencies, 0.5),
            latency_p95_s=_quantile(latencies, 0.95),
            coverage_target_s=coverage.target_s,
            moving_cameras=coverage.moving,
            coverage=coverage.share,
            judged_age_p50_s=coverage.age_p50_s,
            judged_age_p95_s=coverage.age_p95_s,
            capacity_looks_per_s=capacity,
            stretched_cameras=stretched,
            batch_size=self._batch_size(),
            detector=pool.detector_info() if pool is not None else None,
            workers=pool.stats() if pool is not None else (),
            error=self.error,
        )

    @property
    def pool(self) -> WorkerPool | None:
        return self._pool

    def capture_pids(self) -> list[int | None]:
        return [h.process.pid if h.process is not None else None for h in self._hosts]

    # -- the dispatch thread -----------------------------------------------------------------

    def _run(self) -> None:
        pool = self._pool
        assert pool is not None
        if self._swept:
            self._emit("frame-rings", "swept", self._swept)
        while not self._stop.is_set():
            try:
                self._apply_changes()
                self._drain_capture_events()
                self._supervise_hosts()
                results, lost = pool.poll(timeout_s=0.01)
                with self._lock:
                    for ref in lost:
                        if ref.camera_id in self._live:  # else removed meanwhile
                            self._scheduler.done(ref.camera_id)
                            self.rings[ref.camera_id].mark_consumed(ref.seq)
                self._measure_pool(pool, results)
                for result in results:
                    if result.ref.camera_id in self._live:
                        self._deliver(result.ref, result.detections)
                self._sample_coverage()
                failed = pool.all_failed()
                if failed and self.error is None:
                    self.error = failed
                    log.error("no detector worker could start: %s", failed)
                self._dispatch(pool)
            except Exception:  # keep the cameras flowing whatever one step did
                log.exception("vision pipeline dispatch step failed")
                self._stop.wait(0.5)

    def _measure_pool(self, pool: WorkerPool, results: list[DetectionResult]) -> None:
        """The pool's looks per second from its batches' times, for the scheduler's plan."""
        jobs = {r.job_id: r for r in results}
        if not jobs:
            return
        for result in jobs.values():
            self._rate.note(result.batch_size, result.job_s)
        ready = pool.ready_count()
        per_frame = self._rate.seconds_per_frame
        batch = self._batch_size()
        # the speed is measured on the batches now sent, however small the fit makes them
        self._rate.full_batch = batch
        batch_every = per_frame * batch / ready if per_frame and ready else None
        with self._lock:
            self._scheduler.set_capacity(self._rate.looks_per_s(ready), batch_every)

    def _batch_size(self) -> int:
        """Frames per worker job: `max_batch`, or fewer when frames are so slow that a full
        batch would keep every camera in it from being judged within the coverage target."""
        scheduler = self._scheduler.config
        if not (scheduler.aim_for_coverage and scheduler.fit_batches_to_target):
            return self.config.max_batch
        return batch_for_target(
            self._rate.seconds_per_frame, scheduler.covered_interval_s, self.config.max_batch
        )

    def _sample_coverage(self) -> None:
        now = time.time()
        if not self._coverage.due(now):
            return
        with self._lock:
            moving = [
                camera_id
                for camera_id, ring in self.rings.items()
                if camera_id in self._live
                and self._scheduler.moving(camera_id, now, ring.last_motion_at)
            ]
            self._coverage.sample(now, moving)

    def _dispatch(self, pool: WorkerPool) -> None:
        idle = pool.idle_workers()
        if not idle:
            return
        views = {
            camera_id: CameraView(ring.latest(), ring.last_motion_at)
            for camera_id, ring in self.rings.items()
        }
        with self._lock:
            refs = self._scheduler.pick(time.time(), views, len(idle) * self._batch_size())
        if not refs:
            return
        # spread the frames evenly over the idle workers
        batches = [refs[i :: len(idle)] for i in range(len(idle))]
        for worker_id, batch in zip(idle, batches, strict=False):
            if batch:
                pool.submit(worker_id, [(ref, self.rings[ref.camera_id].name) for ref in batch])

    # -- cameras that change while running (the dispatch thread) -----------------------------

    def _apply_changes(self) -> None:
        now = time.monotonic()
        while self._retired and self._retired[0][0] <= now:
            _, ring = self._retired.pop(0)
            ring.close()
        with self._changes_lock:
            if not self._changes:
                return
            pending, self._changes = list(self._changes), deque()
        for specs, done in pending:
            if not done.set_running_or_notify_cancel():
                continue
            try:
                done.set_result(self._change_cameras(specs, running=True))
            except BaseException as exc:  # the caller hears of it; the cameras keep flowing
                log.exception("camera change failed")
                done.set_exception(exc)

    def _change_cameras(self, specs: list[CameraSpec], *, running: bool) -> CameraChanges:
        wanted = {c.camera_id: c for c in specs}
        removed = tuple(c for c in self.cameras if c not in wanted)
        added = tuple(c for c in wanted if c not in self.cameras)
        restarted = tuple(c for c in wanted if c in self.cameras and wanted[c] != self.cameras[c])
        kept = tuple(c for c in wanted if c in self.cameras and c not in restarted)
        if not running:
            with self._lock:
                for camera_id in removed:
                    self._forget_camera(camera_id)
                for camera_id in added:
                    self._know_camera(camera_id)
            self.cameras = dict(wanted)
            return CameraChanges(added, removed, restarted, kept)
        for camera_id in removed:
            self._remove_camera(camera_id)
        for camera_id in restarted:
            self._restart_camera(wanted[camera_id])
        for camera_id in added:
            self._add_camera(wanted[camera_id])
        # keep the site's order (stats, status bar)
        self.cameras = {c: self.cameras[c] for c in wanted}
        return CameraChanges(added, removed, restarted, kept)

    def _know_camera(self, camera_id: str) -> None:
        """(under the lock) scheduler, tracker and status of a new camera."""
        self._scheduler.add_camera(camera_id)
        self._trackers[camera_id] = PersonTracker(self.config.tracker)
        self._live[camera_id] = _CameraLive()

    def _forget_camera(self, camera_id: str) -> None:
        self._scheduler.remove_camera(camera_id)
        self._coverage.forget(camera_id)
        self._trackers.pop(camera_id, None)
        self._live.pop(camera_id, None)

    def _assignment(self, spec: CameraSpec, ring_name: str) -> CaptureAssignment:
        return CaptureAssignment(
            spec.camera_id,
            spec.source,
            ring_name,
            loop=spec.loop,
            pace=spec.pace,
            lockstep_every_s=spec.lockstep_every_s,
        )

    def _add_camera(self, spec: CameraSpec) -> None:
        ring = FrameRing.create(
            spec.camera_id,
            slots=self.config.ring_slots,
            max_frame_bytes=self.config.max_frame_bytes,
        )
        assignment = self._assignment(spec, ring.name)
        with self._lock:
            self._know_camera(spec.camera_id)
            self.rings[spec.camera_id] = ring
        self.cameras[spec.camera_id] = spec
        per = max(1, self.config.cameras_per_capture_process)
        host = next((h for h in self._hosts if len(h.assignments) < per), None)
        if host is None:
            low, high = self.config.capture_backoff_s
            policy = RestartPolicy(low, high, healthy_after_s=self.config.restart_healthy_after_s)
            host_id = max((h.host_id for h in self._hosts), default=-1) + 1
            host = _CaptureHost(host_id, [assignment], backoff=RestartBackoff(policy))
            self._hosts.append(host)
            self._host_of[spec.camera_id] = host
            self._spawn_host(host)
        else:
            host.assignments.append(assignment)  # a restart of the host reopens it too
            self._host_of[spec.camera_id] = host
            self._command(host, ("add", assignment))
        self._emit(f"camera-{spec.camera_id}", "camera-added", f"in capture process {host.host_id}")

    def _remove_camera(self, camera_id: str) -> None:
        host = self._host_of.pop(camera_id, None)
        if host is not None:
            host.assignments = [a for a in host.assignments if a.camera_id != camera_id]
            host.main_streams.pop(camera_id, None)
            self._command(host, ("remove", camera_id))
        with self._lock:
            self._forget_camera(camera_id)
            rings = [self.rings.pop(camera_id, None), self.main_rings.pop(camera_id, None)]
        self.cameras.pop(camera_id, None)
        keep_until = time.monotonic() + RETIRED_RING_KEEP_S
        for ring in rings:
            if ring is not None:
                ring.unlink()  # the name goes now; the mapping a little later
                self._retired.append((keep_until, ring))
        self._emit(f"camera-{camera_id}", "camera-removed", "removed from the site")

    def _restart_camera(self, spec: CameraSpec) -> None:
        camera_id = spec.camera_id
        before = self.cameras[camera_id]
        self.cameras[camera_id] = spec
        host = self._host_of[camera_id]
        assignment = self._assignment(spec, self.rings[camera_id].name)
        host.assignments = [assignment if a.camera_id == camera_id else a for a in host.assignments]
        self._command(host, ("restart", assignment))  # the same ring: its timeline goes on
        if camera_id in host.main_streams and spec.main_source != before.main_source:
            if spec.main_source is None:
                self.close_main_stream(camera_id)
            else:
                main = replace(host.main_streams[camera_id], source=spec.main_source)
                host.main_streams[camera_id] = main
                self._command(host, ("open-main", main))
        self._emit(f"camera-{camera_id}", "camera-restarted", "its source changed")

    def _deliver(self, ref: FrameRef, found: Detections | None) -> None:
        try:
            self._track(ref, found)
        finally:
            self.rings[ref.camera_id].mark_consumed(ref.seq)  # a lockstep replay may go on

    def _track(self, ref: FrameRef, found: Detections | None) -> None:
        camera_id = ref.camera_id
        now = time.time()
        with self._lock:
            self._scheduler.done(camera_id, overwritten=found is None)
            if found is None:
                return
            live = self._live[camera_id]
            tracker = self._trackers[camera_id]
            if ref.segment != live.segment:  # the pictures jumped: a rewind, a restart
                if live.segment is not None:
                    tracker.reset()
                live.segment = ref.segment
            live.last_ts = ref.ts
            live.detected += 1
            self._detect_times.append(now)
            latency = now - ref.captured_at
            self._latencies.append(latency)
            self._coverage.judged(camera_id, now, latency)
        people = found[found.class_id == PERSON_CLASS_ID]
        if self.config.min_confidence > 0:
            people = people[people.confidence >= self.config.min_confidence]
        tracked = tracker.update(people, ref.ts)
        with self._lock:
            self._scheduler.set_has_tracks(camera_id, len(tracker.tracks) > 0)
        if self._on_tracks is not None:
            self._on_tracks(TrackedFrame(ref, tracked, found, latency))

    def drained(self, camera_id: str) -> bool:
        """Every frame published for this camera has been through the detector (or lost)."""
        ring = self.rings[camera_id]
        with self._lock:
            busy = self._scheduler.in_flight(camera_id)
        return not busy and ring.consumed_seq >= ring.write_seq

    # -- capture supervision -----------------------------------------------------------------

    def _spawn_host(self, host: _CaptureHost) -> None:
        ours, theirs = SPAWN.Pipe(duplex=True)
        process = SPAWN.Process(
            target=capture_host_main,
            args=(
                host.host_id,
                host.assignments,
                theirs,
                self.config.source_options,
                self.config.background_nice,
            ),
            name=f"nightwatch-capture-{host.host_id}",
            daemon=True,
        )
        try:
            process.start()
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        host.pipe = ours  # only a started process is ever joined at stop
        host.process = process
        host.backoff.started()

    def _command(self, host: _CaptureHost, command: tuple[Any, ...]) -> None:
        if host.pipe is None:
            log.warning("capture process %d is restarting; %s not sent", host.host_id, command[0])
            return
        try:
            host.pipe.send(command)
        except OSError:
            log.warning("capture process %d: %s not delivered", host.host_id, command[0])

    def _reap_host(self, host: _CaptureHost, timeout_s: float) -> None:
        if host.process is None:
            return
        reap(host.process, host.pipe, timeout_s=timeout_s, name=f"capture process {host.host_id}")
        host.process = None
        host.pipe = None

    def _supervise_hosts(self) -> None:
        """Restart capture processes that died, with `RestartBackoff`: after `capture_backoff_s[0]`
        (0.2 s) at first, doubling while a process keeps dying within
        `restart_healthy_after_s` of its start, at most `capture_backoff_s[1]`."""
        now = time.monotonic()
        for host in self._hosts:
            if host.process is None:
                if now >= host.restart_at:
                    host.restarts += 1
                    self._spawn_host(host)
                    for assignment in list(host.main_streams.values()):  # enlarged tiles stay live
                        self._command(host, ("open-main", assignment))
                    self._emit(f"capture-{host.host_id}", "restarted", f"restart #{host.restarts}")
                continue
            if host.process.is_alive():
                continue
            code = host.process.exitcode
            ran_s = host.backoff.ran_s()
            delay = host.backoff.failed()
            reason = f"capture process exited (code {code}); restarting in {delay:.1f} s"
            self._emit(
                f"capture-{host.host_id}",
                "died",
                f"{reason} (it ran {ran_s:.1f} s; failure {host.backoff.failures} in a row)",
            )
            for assignment in host.assignments:
                self._set_status(
                    StatusChange(assignment.camera_id, CameraStatus.OFFLINE, reason, time.time())
                )
            self._reap_host(host, timeout_s=1.0)
            host.restart_at = now + delay

    def _drain_capture_events(self) -> None:
        for host in self._hosts:
            while host.pipe is not None:
                try:
                    if not host.pipe.poll():
                        break
                    message = host.pipe.recv()
                except (EOFError, OSError, pickle.UnpicklingError):
                    break  # the host died, perhaps mid-message; supervision restarts it
                if message[0] == "status":
                    self._set_status(message[2])

    def _set_status(self, change: StatusChange) -> None:
        with self._lock:
            live = self._live.get(change.camera_id)
            if live is None:
                return  # a camera removed meanwhile: its last words are not news
            live.status, live.reason, live.status_at = change.status, change.reason, change.ts
        if change.status != CameraStatus.LIVE:
            with self._lock:
                self._trackers[change.camera_id].reset()
                self._scheduler.set_has_tracks(change.camera_id, False)
        if self._on_status is not None:
            self._on_status(change)

    def _worker_event(self, event: WorkerEvent) -> None:
        self._emit(f"detector-worker-{event.worker_id}", event.kind, event.detail)

    def _emit(self, source: str, kind: str, detail: str) -> None:
        if kind in ("died", "stuck", "failed"):
            log.warning("%s %s: %s", source, kind, detail)
        if self._on_event is not None:
            self._on_event(PipelineEvent(source, kind, detail, time.time()))


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    return values[min(len(values) - 1, int(q * len(values)))]
