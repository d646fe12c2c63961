"""A real video file as a camera: vtest.avi (768x576, 10 frames/s, 795 frames, 79.5 s).

vtest.avi is Debian opencv-doc's sample footage (appears to come from PETS 2009), fetched at test
time by packaging/fetch-media.sh, never committed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from itertools import pairwise

import cv2
import numpy as np
import pytest

from inference.sources import (
    CameraReader,
    CameraStatus,
    StallWatchdog,
    StatusChange,
    VideoFileSource,
    parse_source,
    split_start,
)
from tests.media import media

DEADLINE_S = 60.0
VTEST_FRAMES = 795
VTEST_FPS = 10.0


class FakeClock:
    """Records the pacing waits a file source asks for and moves its time by them."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return 1_700_000_000.0 + self.now

    def wait(self, event: threading.Event, seconds: float) -> bool:
        self.waits.append(seconds)
        self.now += seconds
        return event.is_set()


class Recorder:
    def __init__(self) -> None:
        self.changes: list[StatusChange] = []
        self.ts: list[float] = []
        self.shapes: set[tuple[int, ...]] = set()
        self.delivered_at: list[float] = []
        self._lock = threading.Lock()

    def on_frame(self, image: np.ndarray, ts: float) -> None:
        with self._lock:
            self.ts.append(ts)
            self.shapes.add(image.shape)
            self.delivered_at.append(time.monotonic())

    def on_status(self, change: StatusChange) -> None:
        with self._lock:
            self.changes.append(change)

    def wait_for(self, what: Callable[[], bool], timeout_s: float = DEADLINE_S) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                if what():
                    return True
            time.sleep(0.02)
        with self._lock:
            return what()


@pytest.fixture(scope="module")
def vtest() -> str:
    return str(media("vtest.avi"))


@pytest.fixture
def make_reader() -> Iterator[Callable[..., CameraReader]]:
    dog = StallWatchdog(period_s=0.1)
    made: list[CameraReader] = []

    def make(source: VideoFileSource, rec: Recorder) -> CameraReader:
        reader = CameraReader("hall", source, rec.on_frame, rec.on_status, watchdog=dog)
        made.append(reader)
        return reader

    yield make
    for reader in made:
        reader.stop()
        assert reader.join(DEADLINE_S)
    assert not dog.running()
    assert not [t for t in threading.enumerate() if t.name.startswith("camera-")]


def test_frames_carry_their_position_in_seconds(vtest: str) -> None:
    source = parse_source(vtest, pace=False)
    assert isinstance(source, VideoFileSource)
    source.open()
    try:
        assert source.fps == pytest.approx(VTEST_FPS)
        frames = [source.read() for _ in range(21)]
    finally:
        source.close()
    assert all(f is not None for f in frames)
    assert frames[0].image.shape == (576, 768, 3)
    assert frames[0].image.dtype == np.uint8
    assert [f.ts for f in frames] == pytest.approx([i / VTEST_FPS for i in range(21)])
    assert frames[20].ts == pytest.approx(2.0)  # seconds, not a frame number


def test_whole_file_then_offline_end_of_file(vtest: str, make_reader) -> None:
    rec = Recorder()
    reader = make_reader(VideoFileSource(vtest, pace=False), rec)
    reader.start()
    assert reader.join(DEADLINE_S), "a file that ends without looping ends its reader"
    assert [c.status for c in rec.changes] == [
        CameraStatus.CONNECTING,
        CameraStatus.LIVE,
        CameraStatus.OFFLINE,
    ]
    assert rec.changes[-1].reason == "end of file"
    assert len(rec.ts) == VTEST_FRAMES
    assert rec.ts[-1] == pytest.approx((VTEST_FRAMES - 1) / VTEST_FPS)
    assert rec.shapes == {(576, 768, 3)}


def test_paced_file_asks_for_one_frame_interval_between_frames(vtest: str) -> None:
    clock = FakeClock()
    source = VideoFileSource(vtest, pace=True, clock=clock)
    never = threading.Event()
    source.open()
    try:
        for _ in range(6):
            source.pace(never)
            assert source.read() is not None
    finally:
        source.close()
    assert clock.waits == pytest.approx([0.1] * 5)  # the first frame anchors the schedule


def test_double_speed_halves_the_waits(vtest: str) -> None:
    clock = FakeClock()
    source = VideoFileSource(vtest, pace=True, speed=2.0, clock=clock)
    source.open()
    try:
        for _ in range(4):
            source.pace(threading.Event())
            source.read()
    finally:
        source.close()
    assert clock.waits == pytest.approx([0.05] * 3)


def test_as_fast_as_possible_never_waits(vtest: str) -> None:
    clock = FakeClock()
    source = VideoFileSource(vtest, pace=False, clock=clock)
    source.open()
    try:
        for _ in range(30):
            source.pace(threading.Event())
            assert source.read() is not None
    finally:
        source.close()
    assert clock.waits == []


def test_paced_reader_is_not_ahead_of_the_video(vtest: str, make_reader) -> None:
    """With the real clock: frame k is never delivered before k frame intervals have passed."""
    rec = Recorder()
    reader = make_reader(VideoFileSource(vtest, pace=True), rec)
    started = time.monotonic()
    reader.start()
    assert rec.wait_for(lambda: len(rec.ts) >= 6)
    reader.stop()
    assert reader.join(DEADLINE_S)
    for k, (ts, at) in enumerate(zip(rec.ts, rec.delivered_at, strict=True)):
        assert ts == pytest.approx(k / VTEST_FPS)
        assert at - started >= ts, f"frame {k} (video {ts:.1f} s) came too early"


def test_looping_rewinds_and_time_keeps_counting(vtest: str) -> None:
    source = VideoFileSource(vtest, loop=True, pace=False)
    source.open()
    try:
        frames = [source.read() for _ in range(VTEST_FRAMES + 3)]
    finally:
        source.close()
    assert all(f is not None for f in frames)
    ts = [f.ts for f in frames]
    assert all(b > a for a, b in pairwise(ts)), "time never goes backwards"
    assert ts[VTEST_FRAMES] == pytest.approx(VTEST_FRAMES / VTEST_FPS)  # 79.5 s: next pass
    assert np.array_equal(frames[VTEST_FRAMES].image, frames[0].image), "rewound to frame 0"
    assert np.array_equal(frames[VTEST_FRAMES + 2].image, frames[2].image)
    assert not np.array_equal(frames[1].image, frames[0].image)


def test_looping_reader_stays_live_past_the_end(vtest: str, make_reader) -> None:
    rec = Recorder()
    reader = make_reader(VideoFileSource(vtest, loop=True, pace=False), rec)
    reader.start()
    assert rec.wait_for(lambda: len(rec.ts) > VTEST_FRAMES + 10)
    reader.stop()
    assert reader.join(DEADLINE_S)
    assert [c.status for c in rec.changes] == [CameraStatus.CONNECTING, CameraStatus.LIVE]


def test_a_file_that_disappears_goes_offline_and_is_retried(tmp_path, make_reader) -> None:
    clip = tmp_path / "gone.avi"
    clip.write_bytes(b"")
    source = parse_source(str(clip))
    assert isinstance(source, VideoFileSource)
    clip.unlink()
    rec = Recorder()
    reader = make_reader(source, rec)
    reader.start()
    assert rec.wait_for(
        lambda: bool(rec.changes) and rec.changes[-1].status is CameraStatus.OFFLINE
    )
    assert "cannot open video file" in rec.changes[-1].reason
    assert str(clip) in rec.changes[-1].reason
    assert reader.is_alive(), "a missing file is retried (it may come back), unlike an ended one"


def test_a_file_camera_can_start_part_way_in() -> None:
    clip = media("vtest.avi")
    source = parse_source(f"{clip}#t=30", pace=False)
    assert isinstance(source, VideoFileSource)
    assert source.start_s == 30.0
    source.open()
    try:
        first = source.read()
    finally:
        source.close()
    assert first is not None
    assert first.ts == pytest.approx(30.0)  # timestamps stay positions in the video
    capture = cv2.VideoCapture(str(clip))
    try:
        for _ in range(300):  # frame 300 is 30 s in at 10 fps
            capture.read()
        ok, expected = capture.read()
    finally:
        capture.release()
    assert ok
    assert np.abs(first.image.astype(int) - expected.astype(int)).mean() < 2.0


def test_split_start_reads_a_media_fragment() -> None:
    assert split_start("clips/a.mp4#t=12.5") == ("clips/a.mp4", 12.5)
    assert split_start("clips/a.mp4") == ("clips/a.mp4", 0.0)
    assert split_start("odd#name.mp4") == ("odd#name.mp4", 0.0)


def test_a_file_counts_a_segment_at_each_open_and_each_rewind(vtest: str) -> None:
    """Where the pictures jump; the ring writer turns these into the tracker's resets."""
    source = VideoFileSource(vtest, loop=True, pace=False)
    assert source.segment == 0
    source.open()
    try:
        segments = []
        for _ in range(VTEST_FRAMES + 2):
            assert source.read() is not None
            segments.append(source.segment)
        source.open()  # opened again (after an error): back at 0 s, a new segment
        again = source.read()
    finally:
        source.close()
    assert segments[:VTEST_FRAMES] == [1] * VTEST_FRAMES
    assert segments[VTEST_FRAMES:] == [2, 2]
    assert source.segment == 3
    assert again is not None
    assert again.ts == 0.0
