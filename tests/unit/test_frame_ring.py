from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inference.frame_ring import FrameRing, FrameTooLarge


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
