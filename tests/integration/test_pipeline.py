"""The vision pipeline with real parts: worker processes, capture processes, shared-memory rings,
the offline SSDLite detector and real footage of people walking (vtest.avi)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from itertools import pairwise
from pathlib import Path

import cv2
import numpy as np
import pytest

from inference.frame_ring import FrameRing
from inference.pipeline import (
    CameraSpec,
    PipelineConfig,
    PipelineEvent,
    TrackedFrame,
    VisionPipeline,
)
from inference.sources import CameraStatus, StatusChange
from inference.worker_pool import DetectionResult, DetectorSpec, WorkerEvent, WorkerPool
from tests.media import media

SSDLITE = DetectorSpec("ssdlite")
REPO = Path(__file__).resolve().parents[2]


def wait_for(condition: Callable[[], bool], timeout_s: float, step_s: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step_s)
    return condition()


def vtest_frames(indices: list[int]) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(media("vtest.avi")))
    frames: list[np.ndarray] = []
    index = 0
    try:
        while len(frames) < len(indices):
            ok, frame = cap.read()
            assert ok, f"vtest.avi ended before frame {indices[len(frames)]}"
            if index in indices:
                frames.append(frame)
            index += 1
    finally:
        cap.release()
    return frames


@pytest.fixture
def ring() -> Iterator[FrameRing]:
    ring = FrameRing.create("cam-1", slots=4, max_frame_bytes=768 * 576 * 3)
    yield ring
    ring.close()
    ring.unlink()


class PoolRunner:
    """Drives a real WorkerPool from the test thread, collecting results and events."""

    def __init__(self, pool: WorkerPool, events: list[WorkerEvent]) -> None:
        self.pool = pool
        self.events = events
        self.results: list[DetectionResult] = []
        self.handed_back: list = []

    def pump(self) -> None:
        results, lost = self.pool.poll(timeout_s=0.05)
        self.results.extend(results)
        self.handed_back.extend(lost)

    def until(self, condition: Callable[[], bool], timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.pump()
            if condition():
                return True
        return condition()


@pytest.fixture
def pool_runner() -> Iterator[Callable[..., PoolRunner]]:
    made: list[WorkerPool] = []

    def make(**kwargs: object) -> PoolRunner:
        events: list[WorkerEvent] = []
        pool = WorkerPool(SSDLITE, on_event=events.append, **kwargs)
        made.append(pool)
        pool.start()
        return PoolRunner(pool, events)

    yield make
    for pool in made:
        pool.stop()
    assert multiprocessing.active_children() == [], "worker processes left running"


def test_pool_finds_people_in_real_frames(ring: FrameRing, pool_runner) -> None:
    runner = pool_runner(cpu_workers=2)
    assert runner.until(lambda: len(runner.pool.idle_workers()) == 2, 120), runner.events
    frames = vtest_frames([100, 300])
    refs = [ring.publish(frame, ts=i / 10) for i, frame in zip((100, 300), frames, strict=True)]
    runner.pool.submit(0, [(refs[0], ring.name)])
    runner.pool.submit(1, [(refs[1], ring.name)])
    assert runner.until(lambda: len(runner.results) == 2, 60)
    for result in runner.results:
        assert result.detections is not None
        # several people walk on the path in both frames (checked by eye: 4+ visible in each)
        assert len(result.detections) >= 3, result
        boxes = result.detections.xyxy
        assert (boxes[:, [0, 2]] <= 768).all()
        assert (boxes[:, [1, 3]] <= 576).all()
    assert {r.worker_id for r in runner.results} == {0, 1}
    info = runner.pool.detector_info()
    assert info is not None
    assert info.backend == "ssdlite"


def test_overwritten_frame_comes_back_as_lost_not_as_stale_pixels(ring, pool_runner) -> None:
    runner = pool_runner(cpu_workers=1)
    assert runner.until(lambda: runner.pool.idle_workers() == [0], 120)
    frame = vtest_frames([50])[0]
    old = ring.publish(frame, ts=0.0)
    for i in range(4):  # the ring wraps: `old` is gone before the worker reads it
        ring.publish(frame, ts=0.1 * (i + 1))
    runner.pool.submit(0, [(old, ring.name)])
    assert runner.until(lambda: len(runner.results) == 1, 30)
    assert runner.results[0].detections is None


def test_killed_worker_is_replaced_and_detection_continues(ring, pool_runner) -> None:
    runner = pool_runner(cpu_workers=1, backoff_s=(0.1, 1.0))
    assert runner.until(lambda: runner.pool.idle_workers() == [0], 120)
    (first_pid,) = runner.pool.worker_pids()
    assert first_pid is not None
    frame = vtest_frames([200])[0]
    runner.pool.submit(0, [(ring.publish(frame, ts=20.0), ring.name)])
    os.kill(first_pid, signal.SIGKILL)
    assert runner.until(lambda: any(e.kind == "died" for e in runner.events), 30)
    died = next(e for e in runner.events if e.kind == "died")
    assert "exit code -9" in died.detail
    assert [ref.seq for ref in runner.handed_back] in ([1], [])  # the job, unless it finished
    assert runner.until(lambda: runner.pool.idle_workers() == [0], 120), runner.events
    (second_pid,) = runner.pool.worker_pids()
    assert second_pid not in (None, first_pid)
    before = len(runner.results)
    runner.pool.submit(0, [(ring.publish(frame, ts=20.1), ring.name)])
    assert runner.until(lambda: len(runner.results) > before, 60)
    assert runner.results[-1].detections is not None
    assert len(runner.results[-1].detections) >= 3


def test_a_worker_that_ran_well_is_restarted_as_quickly_as_the_first_time(
    ring, pool_runner
) -> None:
    """Back-off doubles only for deaths in a row; one after a healthy run starts it over."""
    runner = pool_runner(cpu_workers=1, backoff_s=(0.1, 5.0), healthy_after_s=1.0)
    frame = vtest_frames([200])[0]
    for kill in range(2):
        assert runner.until(lambda: runner.pool.idle_workers() == [0], 120), runner.events
        runner.pool.submit(0, [(ring.publish(frame, ts=10.0 + kill), ring.name)])
        done = len(runner.results)
        assert runner.until(lambda n=done: len(runner.results) > n, 60)  # it works, a while:
        time.sleep(1.0)  # past healthy_after_s (a condition on the clock, not a timing check)
        (pid,) = runner.pool.worker_pids()
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        assert runner.until(lambda k=kill: sum(e.kind == "died" for e in runner.events) > k, 30)
    died = [e.detail for e in runner.events if e.kind == "died"]
    assert all("restarting in 0.1 s" in d and "failure 1 in a row" in d for d in died), died


def test_stuck_worker_is_killed_and_replaced(ring, pool_runner) -> None:
    runner = pool_runner(cpu_workers=1, job_timeout_s=2.0, backoff_s=(0.1, 1.0))
    assert runner.until(lambda: runner.pool.idle_workers() == [0], 120)
    (pid,) = runner.pool.worker_pids()
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)  # frozen: alive, but never answers
    ref = ring.publish(vtest_frames([10])[0], ts=1.0)
    runner.pool.submit(0, [(ref, ring.name)])
    assert runner.until(lambda: any(e.kind == "stuck" for e in runner.events), 30)
    assert [r.seq for r in runner.handed_back] == [ref.seq]
    assert runner.until(lambda: runner.pool.idle_workers() == [0], 120), runner.events
    assert runner.pool.worker_pids()[0] != pid


class Collector:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.frames: list[TrackedFrame] = []
        self.statuses: list[StatusChange] = []
        self.events: list[PipelineEvent] = []

    def on_tracks(self, frame: TrackedFrame) -> None:
        with self.lock:
            self.frames.append(frame)

    def on_status(self, change: StatusChange) -> None:
        with self.lock:
            self.statuses.append(change)

    def on_event(self, event: PipelineEvent) -> None:
        with self.lock:
            self.events.append(event)

    def last_status(self, camera_id: str) -> CameraStatus | None:
        with self.lock:
            mine = [s.status for s in self.statuses if s.camera_id == camera_id]
        return mine[-1] if mine else None

    def tracked(self, camera_id: str) -> list[TrackedFrame]:
        with self.lock:
            return [f for f in self.frames if f.ref.camera_id == camera_id and len(f.people)]


def shm_names(pipeline: VisionPipeline) -> list[str]:
    return [ring.name for ring in pipeline.rings.values()]


def test_pipeline_tracks_people_on_file_cameras_and_cleans_up() -> None:
    clip = str(media("vtest.avi"))
    cameras = [
        CameraSpec("cam-a", clip),
        CameraSpec("cam-b", clip),
        CameraSpec("cam-broken", "rtsp://127.0.0.1:9/nothing-listens-here"),
    ]
    got = Collector()
    config = PipelineConfig(detector=SSDLITE, cpu_workers=1, source_options={"open_timeout_s": 1.0})
    pipeline = VisionPipeline(
        cameras, config, on_tracks=got.on_tracks, on_status=got.on_status, on_event=got.on_event
    )
    pipeline.start()
    names = shm_names(pipeline)
    try:
        assert all((Path("/dev/shm") / name).exists() for name in names)
        assert wait_for(lambda: got.last_status("cam-a") == CameraStatus.LIVE, 30)
        # a broken camera is offline with its reason, and the others run regardless
        assert wait_for(lambda: got.last_status("cam-broken") == CameraStatus.OFFLINE, 30)
        assert wait_for(
            lambda: len(got.tracked("cam-a")) >= 5 and len(got.tracked("cam-b")) >= 5, 120
        ), pipeline.stats()
        frame = got.tracked("cam-a")[-1]
        assert (frame.people.track_id >= 1).all()
        assert frame.latency_s >= 0
        stats = pipeline.stats()
        assert stats.cameras["cam-a"].decoded > stats.cameras["cam-a"].detected > 0
        assert stats.detector.backend == "ssdlite"
        assert stats.cameras["cam-broken"].status == CameraStatus.OFFLINE
        # coverage: the two cameras with people walking are moving, the broken one is not;
        # the figures come from real judgements (how good they are is bench/coverage.py's)
        assert stats.moving_cameras == 2, stats
        assert stats.cameras["cam-a"].watch in ("people", "motion")
        assert 0.0 <= stats.coverage <= 1.0
        assert 0.0 < stats.judged_age_p50_s <= stats.judged_age_p95_s
        assert stats.capacity_looks_per_s > 0
    finally:
        pipeline.stop()
    assert not any((Path("/dev/shm") / name).exists() for name in names), "rings leaked"
    assert multiprocessing.active_children() == [], "processes left running"


def test_killed_capture_process_marks_cameras_offline_then_recovers() -> None:
    clip = str(media("vtest.avi"))
    got = Collector()
    config = PipelineConfig(detector=SSDLITE, cpu_workers=1, capture_backoff_s=(0.2, 1.0))
    with VisionPipeline(
        [CameraSpec("cam-a", clip)], config, on_status=got.on_status, on_event=got.on_event
    ) as pipeline:
        assert wait_for(lambda: got.last_status("cam-a") == CameraStatus.LIVE, 30)
        (pid,) = pipeline.capture_pids()
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        assert wait_for(lambda: got.last_status("cam-a") == CameraStatus.OFFLINE, 30)
        offline = [s for s in got.statuses if s.status == CameraStatus.OFFLINE][-1]
        assert "capture process exited (code -9)" in offline.reason
        assert wait_for(lambda: got.last_status("cam-a") == CameraStatus.LIVE, 30)
        assert pipeline.capture_pids()[0] not in (None, pid)
        assert any(e.kind == "restarted" and e.source == "capture-0" for e in got.events)


def test_a_killed_capture_process_keeps_its_timeline_and_comes_back_quickly() -> None:
    """Kill a file camera's capture process mid-file, twice in a row, then once more after a
    healthy run: each time it is back after the first back-off step or its double, the time
    published in the ring keeps increasing (the restarted file starts at 0 s again) and tracked
    frames keep coming."""
    clip = str(media("vtest.avi"))
    got = Collector()
    config = PipelineConfig(detector=SSDLITE, cpu_workers=1, restart_healthy_after_s=4.0)
    seen: list[tuple[int, float, int]] = []  # (seq, ts, segment) of the ring's newest frames

    with VisionPipeline(
        [CameraSpec("cam-a", clip)],
        config,
        on_tracks=got.on_tracks,
        on_status=got.on_status,
        on_event=got.on_event,
    ) as pipeline:
        ring = pipeline.rings["cam-a"]

        def sample() -> None:
            ref = ring.latest()
            if ref is not None and (not seen or ref.seq != seen[-1][0]):
                seen.append((ref.seq, ref.ts, ref.segment))

        def flowing_after(ts: float) -> Callable[[], bool]:
            def check() -> bool:
                sample()
                with got.lock:
                    tracked = [f for f in got.frames if f.ref.ts > ts]
                return len(tracked) >= 3 and got.last_status("cam-a") == CameraStatus.LIVE

            return check

        assert wait_for(flowing_after(-1.0), 120), pipeline.stats()
        assert wait_for(lambda: (sample(), seen[-1][1] >= 2.0)[1], 30)  # 2 s into the file
        killed_at: list[float] = []
        for round_ in range(3):
            if round_ == 2:
                time.sleep(4.5)  # a healthy run (restart_healthy_after_s = 4)
            (pid,) = pipeline.capture_pids()
            assert pid is not None
            sample()
            killed_at.append(seen[-1][1])
            os.kill(pid, signal.SIGKILL)
            assert wait_for(lambda p=pid: pipeline.capture_pids()[0] not in (None, p), 30)
            if round_ == 0:  # killed again as soon as it is back: a death in a row
                # (OFFLINE was reported before the new process was started)
                assert wait_for(lambda: got.last_status("cam-a") == CameraStatus.LIVE, 30)
                continue
            assert wait_for(flowing_after(killed_at[-1]), 60), pipeline.stats()

        stamps = [ts for _, ts, _ in seen]
        assert all(b > a for a, b in pairwise(stamps)), "time ran backwards in the ring"
        segments = [segment for _, _, segment in seen]
        assert all(b >= a for a, b in pairwise(segments))
        assert segments[-1] >= segments[0] + 3  # a new segment per restart: trackers reset
        with got.lock:
            tracked = [f.ref.ts for f in got.frames]
        assert all(b > a for a, b in pairwise(tracked)), "tracks delivered in time order"
        died = [e.detail for e in got.events if e.kind == "died"]
        assert len(died) == 3, died
        assert "restarting in 0.2 s" in died[0]
        assert "restarting in 0.4 s" in died[1], "a death right after a restart backs off"
        assert "restarting in 0.2 s" in died[2], "after a healthy run it starts over"
        offline = [s.reason for s in got.statuses if s.status == CameraStatus.OFFLINE]
        assert offline[0] == "capture process exited (code -9); restarting in 0.2 s"


def test_pipeline_start_sweeps_rings_left_by_a_killed_console(tmp_path: Path) -> None:
    leaker = (
        "import time\n"
        "from multiprocessing import resource_tracker\n"
        "from inference.frame_ring import FrameRing\n"
        "rings = [FrameRing.create(f'cam-{i}', slots=2, max_frame_bytes=1000) for i in range(3)]\n"
        "for r in rings: resource_tracker.unregister(r._shm._name, 'shared_memory')\n"
        "print(' '.join(r.name for r in rings), flush=True)\n"
        "time.sleep(600)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", leaker], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    leaked = child.stdout.readline().split()
    child.kill()  # SIGKILL, as the OOM killer would
    child.wait(30)
    assert len(leaked) == 3
    assert all((Path("/dev/shm") / name).exists() for name in leaked)

    got = Collector()
    config = PipelineConfig(detector=SSDLITE, cpu_workers=1)
    with VisionPipeline(
        [CameraSpec("cam-a", str(media("vtest.avi")))], config, on_event=got.on_event
    ) as pipeline:
        assert not any((Path("/dev/shm") / name).exists() for name in leaked)
        ours = pipeline.rings["cam-a"].name
        assert (Path("/dev/shm") / ours).exists()
        assert wait_for(lambda: any(e.kind == "swept" for e in got.events), 30)
        [swept] = [e for e in got.events if e.kind == "swept"]
        assert all(name in swept.detail for name in leaked)


def test_main_stream_opens_on_demand_and_closes() -> None:
    clip = str(media("vtest.avi"))
    config = PipelineConfig(detector=SSDLITE, cpu_workers=1)
    with VisionPipeline([CameraSpec("cam-a", clip, main_source=clip)], config) as pipeline:
        assert pipeline.main_rings == {}  # nothing decoded at full size until asked
        ring = pipeline.open_main_stream("cam-a")
        assert ring is not None
        assert wait_for(lambda: ring.write_seq >= 5, 30)
        ref = ring.latest()
        assert ref is not None
        frame = ring.read(ref)
        assert frame is not None
        assert frame.shape == (576, 768, 3)

        (pid,) = pipeline.capture_pids()  # a restarted capture process reopens it
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        assert wait_for(lambda: pipeline.capture_pids()[0] not in (None, pid), 30)
        after_restart = ring.write_seq
        assert wait_for(lambda: ring.write_seq >= after_restart + 5, 30)

        pipeline.close_main_stream("cam-a")

        def stopped() -> bool:  # a paced 10 fps file adds 5 frames per half second while read
            before = ring.write_seq
            time.sleep(0.5)
            return ring.write_seq == before

        assert wait_for(stopped, 20)  # no longer decoded
        names = [ring.name]
    assert not any((Path("/dev/shm") / name).exists() for name in names)
    assert multiprocessing.active_children() == []
