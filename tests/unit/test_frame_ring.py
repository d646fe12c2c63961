from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from inference.frame_ring import (
    SHM_DIR,
    FrameRing,
    FrameTooLarge,
    ring_owner,
    sweep_orphan_rings,
)

REPO = Path(__file__).resolve().parents[2]


def frame(value: int, shape: tuple[int, ...] = (36, 64, 3)) -> np.ndarray:
    return np.full(shape, value, dtype=np.uint8)


@pytest.fixture
def ring():
    ring = FrameRing.create("cam-1", slots=3, max_frame_bytes=64 * 36 * 3)
    yield ring
    ring.close()
    ring.unlink()


def test_publish_and_read_back(ring: FrameRing) -> None:
    assert ring.latest() is None
    ref = ring.publish(frame(7), ts=1.5, motion=0.25, moving=True)
    assert (ref.camera_id, ref.seq, ref.ts) == ("cam-1", 1, 1.5)
    assert ring.latest() == ref
    got = ring.read(ref)
    assert got is not None
    assert got.shape == (36, 64, 3)
    assert int(got[0, 0, 0]) == 7
    assert ring.motion(ref) == pytest.approx(0.25)
    assert ring.last_motion_at == pytest.approx(ref.captured_at)


def test_overwritten_frame_reads_as_none(ring: FrameRing) -> None:
    first = ring.publish(frame(1), ts=0.0)
    for i in range(3):  # the ring has 3 slots: the first is overwritten by the 4th frame
        ring.publish(frame(i + 2), ts=float(i + 1))
    assert ring.read(first) is None
    assert not ring.still_valid(first)
    latest = ring.latest()
    assert latest is not None
    assert latest.seq == 4
    got = ring.read(latest)
    assert got is not None
    assert int(got[0, 0, 0]) == 4


def test_frame_sizes_may_vary_within_the_maximum(ring: FrameRing) -> None:
    ref = ring.publish(frame(9, (20, 30)), ts=0.0)  # a grey frame, smaller than the maximum
    got = ring.read(ref)
    assert got is not None
    assert got.shape == (20, 30)


def test_too_large_frame_is_refused_with_its_size(ring: FrameRing) -> None:
    with pytest.raises(FrameTooLarge, match=r"cam-1: frame \(100, 100, 3\) is 30000 bytes"):
        ring.publish(frame(1, (100, 100, 3)), ts=0.0)


def test_another_attachment_sees_the_same_frames(ring: FrameRing) -> None:
    reader = FrameRing.attach(ring.name, "cam-1")
    try:
        ref = ring.publish(frame(42), ts=3.0)
        assert reader.latest() == ref
        view = reader.view(ref)
        assert view is not None
        assert int(view[5, 5, 1]) == 42
        assert not view.flags.writeable
        del view
    finally:
        reader.close()


def test_unlink_removes_the_segment() -> None:
    ring = FrameRing.create("cam-2", slots=2, max_frame_bytes=100)
    path = Path("/dev/shm") / ring.name
    assert path.exists()
    ring.close()
    ring.unlink()
    assert not path.exists()


def test_attach_refuses_foreign_memory() -> None:
    from multiprocessing import shared_memory

    shm = shared_memory.SharedMemory(create=True, size=4096)
    try:
        with pytest.raises(ValueError, match="not a Nightwatch frame ring"):
            FrameRing.attach(shm.name, "cam-x")
    finally:
        shm.close()
        shm.unlink()


# -- time never runs backwards ---------------------------------------------------------------


def test_time_never_runs_backwards_in_a_ring(ring: FrameRing) -> None:
    assert ring.last_ts is None
    first = ring.publish(frame(1), ts=10.0)
    back = ring.publish(frame(2), ts=3.0)  # a source whose clock went back
    same = ring.publish(frame(3), ts=back.ts)
    on = ring.publish(frame(4), ts=11.0)
    assert first.ts < back.ts < same.ts < on.ts
    assert back.ts == pytest.approx(10.0, abs=1e-5)
    assert on.ts == 11.0
    assert ring.last_ts == 11.0
    assert ring.latest() == on


def test_frames_carry_the_segment_they_were_published_in(ring: FrameRing) -> None:
    assert ring.segment == 0
    assert ring.begin_segment() == 1
    a = ring.publish(frame(1), ts=0.0)
    assert ring.begin_segment() == 2
    b = ring.publish(frame(2), ts=0.1)
    assert (a.segment, b.segment) == (1, 2)
    assert ring.latest() == b
    other = FrameRing.attach(ring.name, "cam-1")  # the segment is in shared memory
    try:
        assert other.segment == 2
        assert other.last_ts == pytest.approx(0.1)
    finally:
        other.close()


# -- leaked rings ----------------------------------------------------------------------------

_LEAKER = """
import sys, time
from multiprocessing import resource_tracker
from inference.frame_ring import FrameRing
rings = [FrameRing.create(f"cam-{i}", slots=2, max_frame_bytes=1000) for i in range(2)]
for ring in rings:
    # what a kill of the whole process group leaves: nobody left to unlink them
    resource_tracker.unregister(ring._shm._name, "shared_memory")
print(" ".join(ring.name for ring in rings), flush=True)
time.sleep(600)
"""


def _start_ring_owner() -> tuple[subprocess.Popen[str], list[str]]:
    child = subprocess.Popen(
        [sys.executable, "-c", _LEAKER],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    names = child.stdout.readline().split()
    assert len(names) == 2, names
    return child, names


def test_ring_names_carry_their_creators_pid(ring: FrameRing) -> None:
    assert ring_owner(ring.name) == os.getpid()
    assert ring_owner("psm_1234abcd") is None
    assert ring_owner("nw-abc-12") is None


def test_rings_of_a_killed_process_are_swept_and_a_live_ones_are_not(ring: FrameRing) -> None:
    killed, leaked = _start_ring_owner()
    alive, kept = _start_ring_owner()
    try:
        os.kill(killed.pid, signal.SIGKILL)
        killed.wait(30)
        assert all((SHM_DIR / name).exists() for name in leaked), "SIGKILL leaks the rings"
        removed = sweep_orphan_rings()
        assert set(leaked) <= set(removed)
        assert not any((SHM_DIR / name).exists() for name in leaked)
        assert all((SHM_DIR / name).exists() for name in kept), "a live process's rings stay"
        assert (SHM_DIR / ring.name).exists(), "and so do our own"
        assert ring.read(ring.publish(frame(5), ts=0.0)) is not None
    finally:
        alive.kill()
        alive.wait(30)
        sweep_orphan_rings()
    assert not any((SHM_DIR / name).exists() for name in kept)


def test_a_ring_still_mapped_by_a_survivor_is_kept() -> None:
    """A capture process may outlive the console for a moment: its rings are not pulled away."""
    owner, names = _start_ring_owner()
    reader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from multiprocessing import resource_tracker\n"
            "from inference.frame_ring import FrameRing\n"
            "rings = [FrameRing.attach(n, 'cam') for n in sys.argv[1:]]\n"
            "for r in rings: resource_tracker.unregister(r._shm._name, 'shared_memory')\n"
            "print('attached', flush=True)\n"
            "time.sleep(600)\n",
            *names,
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout is not None
        assert reader.stdout.readline().strip() == "attached"
        owner.kill()
        owner.wait(30)
        assert not set(names) & set(sweep_orphan_rings())
        assert all((SHM_DIR / name).exists() for name in names)
    finally:
        reader.kill()
        reader.wait(30)
        owner.kill()
        owner.wait(30)
    assert set(names) <= set(sweep_orphan_rings())
