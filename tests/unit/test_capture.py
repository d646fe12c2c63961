"""The ring writer keeps each camera's timeline going forward: real rings, scripted sources.

A camera's source starts its own time again where its pictures jump (a file reopened or
restarted at 0 s, a live source whose wall clock was mapped anew after a step back); what is
published to the ring never goes backwards, and a new segment marks the jump.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from itertools import pairwise

import numpy as np
import pytest

from inference.capture import RingWriter
from inference.frame_ring import FrameRef, FrameRing
from inference.sources import LiveTimeline


class ScriptedSource:
    """Stands in for a FrameSource: the writer reads only its `segment` and `fps`."""

    def __init__(self, fps: float | None = 10.0) -> None:
        self.segment = 1
        self.fps = fps


class FakeClock:
    def __init__(self) -> None:
        self.mono = 500.0
        self.wall = 1_700_000_000.0

    def monotonic(self) -> float:
        return self.mono

    def time(self) -> float:
        return self.wall

    def wait(self, event: threading.Event, seconds: float) -> bool:
        self.mono += seconds
        self.wall += seconds
        return event.is_set()


@pytest.fixture
def ring() -> Iterator[FrameRing]:
    ring = FrameRing.create("hall", slots=4, max_frame_bytes=16 * 16 * 3)
    yield ring
    ring.close()
    ring.unlink()


def image(value: int = 0) -> np.ndarray:
    return np.full((16, 16, 3), value, np.uint8)


def publish(writer: RingWriter, source_ts: list[float]) -> list[FrameRef]:
    refs = []
    for ts in source_ts:
        writer(image(), ts)
        ref = writer.ring.latest()
        assert ref is not None
        refs.append(ref)
    return refs


def test_a_first_pass_keeps_the_video_seconds(ring) -> None:
    refs = publish(RingWriter(ring, None, source=ScriptedSource()), [0.0, 0.1, 0.2, 0.3])
    assert [r.ts for r in refs] == pytest.approx([0.0, 0.1, 0.2, 0.3])
    assert {r.segment for r in refs} == {1}


def test_a_restarted_file_camera_continues_its_timeline(ring) -> None:
    """A new capture process: a new writer on the same ring, its file at 0 s again."""
    before = publish(RingWriter(ring, None, source=ScriptedSource()), [44.8, 44.9, 45.0])
    after = publish(RingWriter(ring, None, source=ScriptedSource()), [0.0, 0.1, 0.2])
    stamps = [r.ts for r in before + after]
    assert all(b > a for a, b in pairwise(stamps)), stamps
    assert after[0].ts >= 45.0 + 0.1  # at least one frame interval after the last frame
    assert [r.ts - after[0].ts for r in after] == pytest.approx([0.0, 0.1, 0.2])
    assert after[0].segment == before[-1].segment + 1  # the tracker starts over


def test_a_looping_file_starts_a_segment_without_moving_time(ring) -> None:
    source = ScriptedSource()
    writer = RingWriter(ring, None, source=source)
    first = publish(writer, [79.3, 79.4])
    source.segment += 1  # rewound: the source's time keeps counting, its pictures jump
    second = publish(writer, [79.5, 79.6])
    assert [r.ts for r in first + second] == pytest.approx([79.3, 79.4, 79.5, 79.6])
    assert second[0].segment == first[0].segment + 1
    assert writer.offset_s == 0.0


def test_a_reopened_file_in_the_same_reader_continues_too(ring) -> None:
    source = ScriptedSource()
    writer = RingWriter(ring, None, source=source)
    first = publish(writer, [10.0, 10.1])
    source.segment += 1  # a read error, then open() again: 0 s
    second = publish(writer, [0.0, 0.1])
    assert second[0].ts > first[-1].ts
    assert second[1].ts - second[0].ts == pytest.approx(0.1)
    assert second[0].segment == first[0].segment + 1


def test_a_live_camera_survives_a_wall_clock_step_back(ring) -> None:
    """RTSP stamps: monotonic time mapped to wall time once per reader. Within a reader a step
    of the wall clock changes nothing; a reader started after the step is carried on."""
    clock = FakeClock()
    timeline = LiveTimeline(clock)
    writer = RingWriter(ring, None, source=ScriptedSource(fps=None))
    stamps = []
    for _ in range(3):
        stamps.append(publish(writer, [timeline.now()])[0].ts)
        clock.mono += 0.04
        clock.wall += 0.04
    clock.wall -= 3600.0  # NTP steps the clock back an hour
    for _ in range(3):
        stamps.append(publish(writer, [timeline.now()])[0].ts)
        clock.mono += 0.04
    assert stamps[3] - stamps[2] == pytest.approx(0.04), "the reader's own stamps ignore it"

    restarted = RingWriter(ring, None, source=ScriptedSource(fps=None))
    new_timeline = LiveTimeline(clock)  # a new capture process maps the stepped wall clock
    for _ in range(3):
        stamps.append(publish(restarted, [new_timeline.now()])[0].ts)
        clock.mono += 0.04
    assert all(b > a for a, b in pairwise(stamps)), stamps
    assert stamps[-1] - stamps[-2] == pytest.approx(0.04)


def test_lockstep_publishes_one_frame_per_step_of_video_seconds(ring) -> None:
    writer = RingWriter(ring, None, lockstep_every_s=0.5, source=ScriptedSource())
    published = []
    for k in range(21):  # 2 s of a 10 frames/s file
        writer(image(k), k / 10)
        ref = ring.latest()
        assert ref is not None
        if not published or ref.seq != published[-1].seq:
            published.append(ref)
        ring.mark_consumed(ref.seq)  # the pipeline is done with it
    assert [r.ts for r in published] == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0])
