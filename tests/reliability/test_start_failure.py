"""A console that cannot start its processes (the system refuses to spawn: out of memory, out of
process slots) says why and leaves nothing behind: the spawn's own error, no frame ring in
/dev/shm, no descriptor, no process. (Found while building the battery: the pipeline's clean-up
joined the process that never started, and its AssertionError hid the real error.)"""

from __future__ import annotations

from typing import Any

import pytest

from inference.frame_ring import FrameRing
from inference.pipeline import SPAWN, CameraSpec, PipelineConfig, VisionPipeline
from inference.worker_pool import DetectorSpec, WorkerPool
from tests.reliability.leaks import descendants, open_fds, rings_of

pytestmark = pytest.mark.reliability


def refuse(self: Any) -> None:
    raise OSError(11, "Resource temporarily unavailable")


@pytest.fixture(autouse=True)
def resource_tracker_running() -> None:
    """Python's shared-memory resource tracker holds a pipe for the process's whole life from
    its first ring on: start it before counting descriptors."""
    ring = FrameRing.create("warm-up", slots=2, max_frame_bytes=16)
    ring.close()
    ring.unlink()


def test_a_capture_process_that_cannot_be_spawned_is_the_error_and_nothing_leaks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fds, processes = open_fds(), set(descendants())
    monkeypatch.setattr(SPAWN.Process, "start", refuse)
    pipeline = VisionPipeline(
        [CameraSpec(f"cam-{i}", "rtsp://127.0.0.1:9/x") for i in range(3)],
        PipelineConfig(detector=DetectorSpec("ssdlite"), cpu_workers=1),
    )
    with pytest.raises(OSError, match="Resource temporarily unavailable"):
        pipeline.start()
    assert rings_of() == []
    assert open_fds() == fds
    assert set(descendants()) == processes


def test_a_detector_worker_that_cannot_be_spawned_is_the_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fds = open_fds()
    monkeypatch.setattr(SPAWN.Process, "start", refuse)
    pool = WorkerPool(DetectorSpec("ssdlite"), cpu_workers=1)
    with pytest.raises(OSError, match="Resource temporarily unavailable"):
        pool.start()
    pool.stop()
    assert open_fds() == fds
