"""Detector worker processes, supervised.

One worker per CUDA device when the YOLO backend can use one, otherwise a configurable number of
CPU workers. Each worker loads its detector once (torch and ultralytics are imported there and
nowhere else), then runs jobs: a job is a batch of `FrameRef`s across cameras; the worker reads
the pixels straight from the cameras' shared-memory rings and sends back small arrays.

Each worker has its own pipe to the pool and at most one job in flight, so a job never waits
behind another and detection always runs on the newest frames. The pipes are private on purpose:
a worker killed in the middle of a write (SIGKILL, the kernel's OOM killer) can only break its own
pipe, which is thrown away with it; a queue shared by all workers would stay locked for good.

The pool checks its workers on every `poll()`: a worker that died (a crash, SIGKILL, out of
memory) or is stuck past `job_timeout_s` is reported as a `WorkerEvent`, its job's cameras are
handed back, and it is restarted with backoff (`inference.restarts`): quickly at first, doubling
while it keeps dying, and quickly again once a worker has run `healthy_after_s` before dying.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import multiprocessing as mp
import os
import pickle  # nosec B403 # for UnpicklingError of our own worker pipes only
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import numpy as np

from inference.detections import Detections
from inference.detectors.base import DetectorInfo
from inference.frame_ring import FrameRef, FrameRing
from inference.pipeline_stats import WorkerFigures
from inference.priority import BACKGROUND_NICE, checked_nice, run_as_background
from inference.processes import reap
from inference.restarts import DEFAULT_HEALTHY_AFTER_S, RestartBackoff, RestartPolicy

log = logging.getLogger(__name__)

SPAWN = mp.get_context("spawn")  # never fork a process that may hold Qt or CUDA state


@dataclass(frozen=True, slots=True)
class DetectorSpec:
    """Which detector a worker loads: `kind` is one of `loading.KINDS` (auto, yolo, ssdlite, ...).

    `threads_per_worker`: inference threads of each worker; 0 shares the cores among the CPU
    workers (cores // workers, at least 1), so the pool does not oversubscribe the machine.
    """

    kind: str = "auto"
    weights: str | None = None
    device: str | None = None
    threads_per_worker: int = 0


@dataclass(frozen=True, slots=True)
class WorkerEvent:
    """Something the supervisor saw: started, failed, died, stuck, restarted."""

    worker_id: int
    kind: str
    detail: str
    at: float


@dataclass(frozen=True, slots=True)
class DetectionResult:
    ref: FrameRef
    detections: Detections | None  # None: the frame was overwritten before the worker read it
    worker_id: int
    inference_s: float  # the worker's time for the whole batch
    batch_size: int
    job_id: int = 0
    job_s: float = 0.0  # from handing the batch to the worker to its answer (wall time)


def cuda_device_count() -> int:
    """CUDA devices visible to this process, without importing torch."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        ids = [part for part in visible.split(",") if part.strip() and part.strip() != "-1"]
        if not ids:
            return 0
    gpus = Path("/proc/driver/nvidia/gpus")
    found = len(list(gpus.iterdir())) if gpus.is_dir() else 0
    return min(found, len(ids)) if visible is not None else found


def default_devices(spec: DetectorSpec, cpu_workers: int | None) -> list[str]:
    """One device string per worker to start. A Triton server (kind "ssdlite-triton", the
    device its address) gets `cpu_workers` clients (default 2), so requests overlap."""
    if spec.kind == "ssdlite-triton" and spec.device:
        return [spec.device] * (cpu_workers or 2)
    if spec.device and spec.device != "cpu":
        return [spec.device]
    gpu_kinds = ("auto", "yolo", "yolo-ultralytics")
    gpus = cuda_device_count() if spec.kind in gpu_kinds and spec.device is None else 0
    if gpus:
        return [f"cuda:{i}" for i in range(gpus)]
    return ["cpu"] * (cpu_workers or max(1, (os.cpu_count() or 2) // 2))


def cpu_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def threads_per_worker(spec: DetectorSpec, devices: list[str]) -> int:
    """The inference threads each worker gets: the spec's, else the cores shared by the CPU
    workers (two workers on two cores: one thread each)."""
    if spec.threads_per_worker > 0:
        return spec.threads_per_worker
    cpu_workers = sum(1 for device in devices if device == "cpu")
    return max(1, cpu_cores() // max(1, cpu_workers))


# -- the worker process --------------------------------------------------------------------


def _worker_main(
    worker_id: int,
    spec: DetectorSpec,
    device: str,
    threads: int,
    pipe: Connection,
    nice: int = 0,
) -> None:
    run_as_background(nice, f"detector worker {worker_id}")  # first: every thread, now and later
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when workers stop
    import cv2

    cv2.setNumThreads(threads)
    from inference.detectors.base import DetectorUnavailable
    from inference.detectors.loading import load_detector

    try:
        detector = load_detector(spec.kind, weights=spec.weights, device=device, threads=threads)
    except DetectorUnavailable as exc:
        pipe.send(("failed", worker_id, str(exc)))
        return
    pipe.send(("ready", worker_id, detector.info))
    rings: dict[str, FrameRing] = {}
    try:
        while True:
            try:
                job = pipe.recv()
            except EOFError:  # the pool is gone
                break
            if job is None:
                break
            job_id, items = job
            frames: list[np.ndarray] = []
            readable: list[FrameRef] = []
            lost: list[FrameRef] = []
            for ref, ring_name in items:
                ring = rings.get(ring_name)
                if ring is None:
                    ring = rings[ring_name] = FrameRing.attach(ring_name, ref.camera_id)
                frame = ring.read(ref)
                if frame is None:
                    lost.append(ref)
                else:
                    frames.append(frame)
                    readable.append(ref)
            started = time.perf_counter()
            found = detector.detect(frames) if frames else []
            elapsed = time.perf_counter() - started
            packed = [
                (ref, d.xyxy, d.confidence, d.class_id)
                for ref, d in zip(readable, found, strict=True)
            ]
            pipe.send(("result", worker_id, job_id, packed, lost, elapsed))
    finally:
        for ring in rings.values():
            ring.close()


# -- the pool, in the parent ---------------------------------------------------------------


@dataclass
class _Worker:
    worker_id: int
    device: str
    process: BaseProcess | None = None
    pipe: Connection | None = None  # the pool's end of the worker's private pipe
    broken: bool = False  # its pipe ended or carried a torn message
    ready: bool = False
    info: DetectorInfo | None = None
    job: tuple[int, float, list[FrameRef]] | None = None  # (job id, sent at, refs)
    backoff: RestartBackoff = field(default_factory=lambda: RestartBackoff(RestartPolicy()))
    restarts: int = 0
    restart_at: float = 0.0
    started_at: float = 0.0
    failed: str | None = None
    jobs_done: int = 0
    frames_done: int = 0
    busy_s: float = 0.0
    history: list[WorkerEvent] = field(default_factory=list)


class WorkerPool:
    def __init__(
        self,
        spec: DetectorSpec,
        *,
        cpu_workers: int | None = None,
        job_timeout_s: float = 60.0,
        start_timeout_s: float = 180.0,
        backoff_s: tuple[float, float] = (0.5, 15.0),
        healthy_after_s: float = DEFAULT_HEALTHY_AFTER_S,
        on_event: Callable[[WorkerEvent], None] | None = None,
        nice: int = BACKGROUND_NICE,
    ) -> None:
        self.spec = spec
        self.nice = checked_nice(nice, "nice")
        self.job_timeout_s = job_timeout_s
        self.start_timeout_s = start_timeout_s
        self.backoff_s = backoff_s
        self.restart_policy = RestartPolicy(
            backoff_s[0], backoff_s[1], healthy_after_s=healthy_after_s
        )
        self._on_event = on_event
        devices = default_devices(spec, cpu_workers)
        self.threads_per_worker = threads_per_worker(spec, devices)
        self._workers = [
            _Worker(i, device, backoff=RestartBackoff(self.restart_policy))
            for i, device in enumerate(devices)
        ]
        self._job_ids = itertools.count(1)
        self._running = False

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self._running = True
        for worker in self._workers:
            self._spawn(worker)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Ask every worker to finish, then join it; kill those that do not."""
        self._running = False
        for worker in self._workers:
            if worker.process is not None and worker.process.is_alive() and worker.pipe:
                with contextlib.suppress(OSError):
                    worker.pipe.send(None)
        deadline = time.monotonic() + timeout_s
        for worker in self._workers:
            self._reap(worker, deadline)

    def _spawn(self, worker: _Worker) -> None:
        ours, theirs = SPAWN.Pipe(duplex=True)
        process = SPAWN.Process(
            target=_worker_main,
            args=(
                worker.worker_id,
                self.spec,
                worker.device,
                self.threads_per_worker,
                theirs,
                self.nice,
            ),
            name=f"nightwatch-detector-{worker.worker_id}",
            daemon=True,
        )
        try:
            process.start()
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()  # the child holds its own copy; ours sees EOF when the child dies
        worker.pipe = ours  # only a started process is ever joined at stop
        worker.process = process
        worker.broken = False
        worker.ready = False
        worker.job = None
        worker.started_at = time.monotonic()
        worker.backoff.started()
        log.info(
            "detector worker %d starting on %s, %d inference thread(s) (pid %s)",
            worker.worker_id,
            worker.device,
            self.threads_per_worker,
            worker.process.pid,
        )

    def _reap(self, worker: _Worker, deadline: float) -> None:
        if worker.process is None:
            return
        name = f"detector worker {worker.worker_id}"
        reap(worker.process, worker.pipe, timeout_s=deadline - time.monotonic(), name=name)
        worker.process = None
        worker.pipe = None

    # -- state -------------------------------------------------------------------------------

    @property
    def size(self) -> int:
        return len(self._workers)

    def idle_workers(self) -> list[int]:
        return [w.worker_id for w in self._workers if w.ready and w.job is None]

    def ready_count(self) -> int:
        """Workers that have loaded their detector and are not being restarted."""
        return sum(1 for w in self._workers if w.ready)

    def detector_info(self) -> DetectorInfo | None:
        for worker in self._workers:
            if worker.info is not None:
                return worker.info
        return None

    def worker_pids(self) -> list[int | None]:
        return [w.process.pid if w.process is not None else None for w in self._workers]

    def stats(self) -> tuple[WorkerFigures, ...]:
        return tuple(
            WorkerFigures(
                worker=w.worker_id,
                device=w.device,
                ready=w.ready,
                restarts=w.restarts,
                jobs=w.jobs_done,
                frames=w.frames_done,
                busy_s=round(w.busy_s, 3),
            )
            for w in self._workers
        )

    def all_failed(self) -> str | None:
        """The reason when every worker failed to load its detector (the pool cannot work)."""
        reasons = [w.failed for w in self._workers]
        if reasons and all(reasons):
            return reasons[0]
        return None

    # -- jobs --------------------------------------------------------------------------------

    def submit(self, worker_id: int, items: list[tuple[FrameRef, str]]) -> int:
        """Send a batch of (frame reference, ring name) to an idle worker; returns the job id."""
        worker = self._workers[worker_id]
        if not worker.ready or worker.job is not None:
            raise RuntimeError(f"detector worker {worker_id} is not idle")
        job_id = next(self._job_ids)
        worker.job = (job_id, time.monotonic(), [ref for ref, _ in items])
        assert worker.pipe is not None
        try:
            worker.pipe.send((job_id, items))
        except OSError:  # the worker just died; supervision hands the job back
            log.warning("detector worker %d: job %d not delivered", worker_id, job_id)
        return job_id

    def poll(self, timeout_s: float = 0.05) -> tuple[list[DetectionResult], list[FrameRef]]:
        """Results that came back, and references handed back because their worker was lost.

        Also supervises: dead or stuck workers are reported and restarted with backoff.
        """
        results: list[DetectionResult] = []
        pipes = {id(w.pipe): w for w in self._workers if w.pipe is not None}
        ends = [w.pipe for w in pipes.values() if w.pipe is not None]
        ready = wait(ends, timeout_s) if pipes else []
        if not pipes:
            time.sleep(timeout_s)
        for pipe in ready:
            worker = pipes[id(pipe)]
            while worker.pipe is not None and worker.pipe.poll():
                try:
                    message = worker.pipe.recv()
                except (EOFError, OSError, pickle.UnpicklingError):
                    # the worker died, perhaps in the middle of a message: supervision sees the
                    # dead process; stop reading a pipe that can only say this
                    worker.broken = True
                    break
                results.extend(self._handle(message))
        lost = self._supervise()
        return results, lost

    def _handle(self, message: tuple[Any, ...]) -> list[DetectionResult]:
        kind, worker_id = message[0], message[1]
        worker = self._workers[worker_id]
        if kind == "ready":
            worker.ready = True
            worker.info = message[2]
            worker.failed = None
            self._event(worker, "ready", worker.info.describe())
            return []
        if kind == "failed":
            worker.failed = message[2]
            self._event(worker, "failed", message[2])
            return []
        _, _, job_id, packed, lost_refs, elapsed = message
        if worker.job is None or worker.job[0] != job_id:
            return []  # a late answer from a job already written off
        job_s = time.monotonic() - worker.job[1]
        worker.job = None
        worker.jobs_done += 1
        worker.frames_done += len(packed)
        worker.busy_s += elapsed
        batch = len(packed) + len(lost_refs)
        out = [
            DetectionResult(
                ref, Detections(xyxy, conf, cls), worker_id, elapsed, batch, job_id, job_s
            )
            for ref, xyxy, conf, cls in packed
        ]
        out.extend(
            DetectionResult(ref, None, worker_id, elapsed, batch, job_id, job_s)
            for ref in lost_refs
        )
        return out

    def _supervise(self) -> list[FrameRef]:
        if not self._running:
            return []
        now = time.monotonic()
        handed_back: list[FrameRef] = []
        for worker in self._workers:
            process = worker.process
            if process is None:
                if worker.failed is None and now >= worker.restart_at:
                    worker.restarts += 1
                    self._spawn(worker)
                    self._event(worker, "restarted", f"restart #{worker.restarts}")
                continue
            if worker.failed is not None:
                continue
            reason = None
            if worker.broken and process.is_alive():
                process.join(1.0)  # the end of its pipe: it is on its way out
            if not process.is_alive():
                reason = f"died (exit code {process.exitcode})"
                kind = "died"
            elif worker.broken:
                reason = "its pipe to the pool broke; killed"
                kind = "died"
            elif worker.job is not None and now - worker.job[1] > self.job_timeout_s:
                reason = f"stuck for {now - worker.job[1]:.1f} s on one batch; killed"
                kind = "stuck"
            elif not worker.ready and now - worker.started_at > self.start_timeout_s:
                reason = f"did not load its detector within {self.start_timeout_s:.0f} s; killed"
                kind = "stuck"
            if reason is None:
                continue
            if worker.job is not None:
                handed_back.extend(worker.job[2])
            ran_s = worker.backoff.ran_s()
            delay = worker.backoff.failed()
            self._event(
                worker,
                kind,
                f"{reason}; restarting in {delay:.1f} s (it ran {ran_s:.1f} s; failure "
                f"{worker.backoff.failures} in a row)",
            )
            if process.is_alive():
                process.kill()
            self._reap(worker, time.monotonic() + 5.0)
            worker.restart_at = now + delay
            worker.ready = False
            worker.job = None
        return handed_back

    def _event(self, worker: _Worker, kind: str, detail: str) -> None:
        event = WorkerEvent(worker.worker_id, kind, detail, time.time())
        worker.history.append(event)
        level = logging.INFO if kind in ("ready", "restarted") else logging.WARNING
        log.log(level, "detector worker %d %s: %s", worker.worker_id, kind, detail)
        if self._on_event is not None:
            self._on_event(event)
