"""Camera sources without servers or media: masking, spec parsing, backoff, the reader's states.

The reader tests drive a real ``CameraReader`` thread with a scripted ``FakeSource`` and, for the
retry schedule, a ``FakeClock`` whose waits return at once and are recorded.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from inference.sources import (
    Backoff,
    CameraReader,
    CameraStatus,
    Frame,
    FrameSource,
    SourceError,
    SourceKind,
    SourceOpenError,
    SourceReadError,
    StallWatchdog,
    StatusChange,
    StreamSource,
    UsbSource,
    VideoFileSource,
    mask_credentials,
    parse_source,
)

DEADLINE_S = 20.0
SECRET = "hunter2-Pa55"


# ---------------------------------------------------------------------------------------------
# fakes and helpers
# ---------------------------------------------------------------------------------------------


class FakeClock:
    """Monotonic time that moves only when someone waits; every wait is recorded.

    After ``real_waits_after`` recorded waits it really blocks on the event, so a reader whose
    script is over sits still until it is stopped instead of spinning.
    """

    def __init__(self, real_waits_after: int = 1000) -> None:
        self.now = 100.0
        self.waits: list[float] = []
        self.real_waits_after = real_waits_after
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        with self._lock:
            return self.now

    def time(self) -> float:
        return 1_700_000_000.0 + self.monotonic()

    def wait(self, event: threading.Event, seconds: float) -> bool:
        with self._lock:
            self.waits.append(seconds)
            self.now += seconds
            block = len(self.waits) > self.real_waits_after
        if block:
            event.wait()
        return event.is_set()


class FakeSource(FrameSource):
    """A source that follows a script of steps, one per ``open()`` or ``read()`` call.

    Steps: ``("open",)``, ``("open_fail", why)``, ``("frame",)``, ``("read_fail", why)``,
    ``("eof",)``, ``("block", event)`` (read blocks until the event is set, then gives a frame).
    When the script is over, opening fails.
    """

    kind = SourceKind.STREAM

    def __init__(self, steps: list[tuple], description: str = "fake://cam") -> None:
        self.steps = deque(steps)
        self._description = description
        self.opens = 0
        self.closes = 0
        self.frames = 0

    @property
    def description(self) -> str:
        return self._description

    def _step(self) -> tuple:
        return self.steps.popleft() if self.steps else ("over",)

    def open(self) -> None:
        self.opens += 1
        step = self._step()
        if step[0] == "open_fail":
            raise SourceOpenError(step[1])
        if step[0] != "open":
            raise SourceOpenError("fake script over")

    def read(self) -> Frame | None:
        step = self._step()
        if step[0] == "eof":
            return None
        if step[0] == "read_fail":
            raise SourceReadError(step[1])
        if step[0] == "block":
            step[1].wait()
        elif step[0] != "frame":
            raise SourceReadError("fake script over")
        self.frames += 1
        return Frame(np.full((4, 6, 3), self.frames % 256, np.uint8), float(self.frames))

    def close(self) -> None:
        self.closes += 1


class Recorder:
    """Collects a reader's callbacks and waits (with a deadline) for conditions on them."""

    def __init__(self) -> None:
        self.changes: list[StatusChange] = []
        self.frames: list[tuple[np.ndarray, float]] = []
        self._cond = threading.Condition()

    def on_frame(self, image: np.ndarray, ts: float) -> None:
        with self._cond:
            self.frames.append((image, ts))
            self._cond.notify_all()

    def on_status(self, change: StatusChange) -> None:
        with self._cond:
            self.changes.append(change)
            self._cond.notify_all()

    @property
    def statuses(self) -> list[CameraStatus]:
        with self._cond:
            return [c.status for c in self.changes]

    def wait_for(self, what: Callable[[], bool], timeout_s: float = DEADLINE_S) -> bool:
        """Poll ``what`` until it holds or the deadline passes (conditions, not timings)."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while not what():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.02))
            return True

    def wait_status(self, status: CameraStatus, timeout_s: float = DEADLINE_S) -> bool:
        return self.wait_for(lambda: bool(self.changes) and self.changes[-1].status is status)


@pytest.fixture
def watchdog() -> Iterator[StallWatchdog]:
    dog = StallWatchdog(period_s=0.02)
    yield dog
    assert not dog.running(), "the watchdog thread outlived its readers"


@pytest.fixture
def make_reader(watchdog: StallWatchdog) -> Iterator[Callable[..., CameraReader]]:
    """Builds readers on the test's watchdog; stops and joins them all at the end."""
    made: list[CameraReader] = []

    def make(
        source: FrameSource | str,
        rec: Recorder,
        on_frame: Callable[[np.ndarray, float], None] | None = None,
        on_status: Callable[[StatusChange], None] | None = None,
        **kwargs: object,
    ) -> CameraReader:
        kwargs.setdefault("watchdog", watchdog)
        reader = CameraReader(
            "cam-1", source, on_frame or rec.on_frame, on_status or rec.on_status, **kwargs
        )
        made.append(reader)
        return reader

    yield make
    for reader in made:
        reader.stop()
    for reader in made:
        assert reader.join(DEADLINE_S), f"{reader} thread did not end"
    leftover = [t.name for t in threading.enumerate() if t.name.startswith("camera-")]
    assert not leftover, f"threads leaked: {leftover}"


# ---------------------------------------------------------------------------------------------
# credentials
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        (
            "rtsp://admin:s3cret@10.0.0.5:554/Streaming/101",
            "rtsp://admin:***@10.0.0.5:554/Streaming/101",
        ),
        ("rtsp://:s3cret@cam.local/live", "rtsp://:***@cam.local/live"),
        ("rtsps://admin:p@ss@cam.local/live", "rtsps://admin:***@cam.local/live"),
        ("rtsp://admin:pa/ss@cam.local/live", "rtsp://admin:***@cam.local/live"),
        ("http://u:x@cam.local/mjpg?user=a@b", "http://u:***@cam.local/mjpg?user=a@b"),
        ("rtsp://admin@cam.local/live", "rtsp://admin@cam.local/live"),
        ("rtsp://cam.local:554/live", "rtsp://cam.local:554/live"),
        ("/videos/hall.mp4", "/videos/hall.mp4"),
    ],
)
def test_mask_credentials(url: str, masked: str) -> None:
    assert mask_credentials(url) == masked


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        # raw "/", "@", ":", "?", "#" and percent-escapes in the password: masked whole
        ("rtsp://admin:a/b/c@cam.local/live", "rtsp://admin:***@cam.local/live"),
        ("rtsp://admin:/x@cam.local:554/live", "rtsp://admin:***@cam.local:554/live"),
        ("rtsp://admin:a:b@c@cam.local/live", "rtsp://admin:***@cam.local/live"),
        ("rtsp://admin:p@ss/w:rd@10.0.0.5/x", "rtsp://admin:***@10.0.0.5/x"),
        ("rtsp://admin:pa?ss@cam.local/live", "rtsp://admin:***@cam.local/live"),
        ("rtsp://admin:12#4@cam.local/live", "rtsp://admin:***@cam.local/live"),
        ("rtsp://admin:p@w?x@cam.local/live", "rtsp://admin:***@cam.local/live"),
        ("rtsp://v:a%40b%2Fc@cam.local/x", "rtsp://v:***@cam.local/x"),
        ("rtsp://me@museum.example:pw@cam.local/x", "rtsp://me@museum.example:***@cam.local/x"),
        ("rtsp://admin:pw@[fe80::1]:554/x", "rtsp://admin:***@[fe80::1]:554/x"),
        ("http://cam.local/snap?user=a@b", "http://cam.local/snap?user=a@b"),
        ("ftp://u:a/b@host/x", "ftp://u:***@host/x"),
    ],
)
def test_mask_credentials_with_raw_special_characters(url: str, masked: str) -> None:
    assert mask_credentials(url) == masked


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("rtsp://admin:s3cret@cam.local/live", "rtsp://***@cam.local/live"),
        ("rtsp://admin@cam.local/live", "rtsp://***@cam.local/live"),
        ("rtsp://admin:pa/ss@cam.local/live", "rtsp://***@cam.local/live"),
        ("http://cam.local/snap?user=a@b", "http://cam.local/snap?user=a@b"),
        ("rtsp://cam.local/live", "rtsp://cam.local/live"),
    ],
)
def test_mask_credentials_can_hide_the_user_too(url: str, masked: str) -> None:
    assert mask_credentials(url, hide_user=True) == masked


def test_mask_credentials_inside_a_message() -> None:
    text = f"cannot open rtsp://a:{SECRET}@h1/x nor rtsp://:{SECRET}@h2:554/y today"
    assert mask_credentials(text) == "cannot open rtsp://a:***@h1/x nor rtsp://:***@h2:554/y today"


def test_stream_description_is_masked() -> None:
    source = parse_source(f"rtsp://admin:{SECRET}@10.0.0.5/cam")
    assert isinstance(source, StreamSource)
    assert SECRET not in source.description
    assert SECRET not in repr(source)
    assert source.description == "rtsp://admin:***@10.0.0.5/cam"


# ---------------------------------------------------------------------------------------------
# spec parsing
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "kind"),
    [
        ("rtsp://cam.local/live", SourceKind.STREAM),
        ("RTSPS://cam.local/live", SourceKind.STREAM),
        ("http://cam.local/video.mjpg", SourceKind.STREAM),
        ("https://cam.local/video.mjpg", SourceKind.STREAM),
        ("usb:0", SourceKind.USB),
        ("USB:12", SourceKind.USB),
    ],
)
def test_parse_source_kinds(spec: str, kind: SourceKind) -> None:
    assert parse_source(spec).kind is kind


def test_parse_usb_index() -> None:
    source = parse_source("usb:3")
    assert isinstance(source, UsbSource)
    assert source.index == 3


def test_parse_video_file_path_and_file_url(tmp_path: Path) -> None:
    clip = tmp_path / "hall 1.avi"
    clip.write_bytes(b"not really a video")  # parsing only checks that the file exists
    by_path = parse_source(str(clip), loop=True, pace=False)
    by_url = parse_source(clip.as_uri())
    assert isinstance(by_path, VideoFileSource)
    assert isinstance(by_url, VideoFileSource)
    assert by_path.path == clip
    assert by_url.path == clip
    assert by_path.loop
    assert not by_path.paced


def test_stream_timeouts_default_and_configurable() -> None:
    default = parse_source("rtsp://cam.local/live")
    tuned = parse_source("rtsp://cam.local/live", open_timeout_s=2.0, read_timeout_s=1.5)
    assert isinstance(default, StreamSource)
    assert isinstance(tuned, StreamSource)
    assert (default.open_timeout_s, default.read_timeout_s) == (5.0, 3.0)
    assert (tuned.open_timeout_s, tuned.read_timeout_s) == (2.0, 1.5)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("usb:", "'usb:'"),
        ("usb:front", "'usb:front'"),
        ("usb:-1", "'usb:-1'"),
        ("rtmp://cam.local/live", "unsupported scheme 'rtmp'"),
        ("rtsp:///live", "'rtsp:///live' has no host"),
        ("file://nas/videos/a.mp4", "not host 'nas'"),
        ("/no/such/clip.mp4", "'/no/such/clip.mp4'"),
        ("rtps://cam.local/live", "'rtps://cam.local/live'"),
    ],
)
def test_bad_spec_names_the_value(spec: str, expected: str) -> None:
    with pytest.raises(SourceError, match="camera source") as err:
        parse_source(spec)
    assert expected in str(err.value)


def test_directory_is_not_a_video_file(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not a video file"):
        parse_source(str(tmp_path))


def test_non_string_spec() -> None:
    with pytest.raises(SourceError, match="must be a string"):
        parse_source(3)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "spec",
    [
        f"rtmp://admin:{SECRET}@cam.local/live",
        f"rtsp://admin:{SECRET}@/live",
        f"ftp://:{SECRET}@cam.local/x",
    ],
)
def test_spec_errors_mask_the_password(spec: str) -> None:
    with pytest.raises(SourceError) as err:
        parse_source(spec)
    assert SECRET not in str(err.value)
    assert ":***@" in str(err.value)


# ---------------------------------------------------------------------------------------------
# backoff
# ---------------------------------------------------------------------------------------------


def test_backoff_schedule_doubles_to_the_cap() -> None:
    backoff = Backoff(initial_s=0.5, factor=2.0, max_s=10.0)
    assert [backoff.delay_s(n) for n in range(8)] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0]
    assert backoff.delay_s(100_000) == 10.0  # retrying forever never overflows


def test_backoff_jitter_only_shortens() -> None:
    backoff = Backoff(initial_s=1.0, factor=2.0, max_s=8.0, jitter=0.25)
    assert backoff.delay_s(3, rng=lambda: 0.0) == 8.0
    assert backoff.delay_s(3, rng=lambda: 0.999) == pytest.approx(8.0 * (1 - 0.25 * 0.999))


@pytest.mark.parametrize(
    "kwargs",
    [{"initial_s": 0.0}, {"factor": 0.5}, {"initial_s": 5.0, "max_s": 1.0}, {"jitter": 1.0}],
)
def test_backoff_rejects_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="backoff"):
        Backoff(**kwargs)


def test_reader_retries_with_backoff_and_resets_after_a_frame(make_reader) -> None:
    clock = FakeClock(real_waits_after=10)
    fails = [("open_fail", "connection refused")] * 6
    source = FakeSource([*fails, ("open",), ("frame",), ("read_fail", "connection lost"), *fails])
    rec = Recorder()
    reader = make_reader(source, rec, clock=clock, backoff=Backoff(0.5, 2.0, 10.0))
    reader.start()
    assert rec.wait_for(lambda: len(clock.waits) >= 11)
    reader.stop()
    # 6 failed opens, then a good frame, then a lost connection and failed opens again.
    assert clock.waits[:11] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 0.5, 1.0, 2.0, 4.0, 8.0]
    assert [c.status for c in rec.changes] == [
        CameraStatus.CONNECTING,
        CameraStatus.OFFLINE,  # open failed (repeats are not re-announced)
        CameraStatus.LIVE,
        CameraStatus.OFFLINE,  # read failed
        CameraStatus.OFFLINE,  # open failed: a different reason is a new report
    ]
    reasons = [c.reason for c in rec.changes]
    assert reasons[1] == "open failed: connection refused"
    assert reasons[3] == "read failed: connection lost"
    assert reasons[4] == "open failed: connection refused"
    assert all(c.camera_id == "cam-1" for c in rec.changes)
    assert [ts for _, ts in rec.frames] == [1.0]


# ---------------------------------------------------------------------------------------------
# the reader's states
# ---------------------------------------------------------------------------------------------


def test_frames_reach_the_callback_and_camera_goes_live(make_reader) -> None:
    source = FakeSource([("open",), *[("frame",)] * 5, ("eof",)])
    rec = Recorder()
    reader = make_reader(source, rec)
    reader.start()
    assert reader.join(DEADLINE_S)
    assert rec.statuses == [CameraStatus.CONNECTING, CameraStatus.LIVE, CameraStatus.OFFLINE]
    assert rec.changes[-1].reason == "end of file"
    assert [ts for _, ts in rec.frames] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert rec.frames[0][0].shape == (4, 6, 3)
    assert reader.status is CameraStatus.OFFLINE
    assert source.opens == 1, "a file that ended is not reopened"
    assert source.closes >= 1


def test_stall_is_reported_while_read_blocks_and_cleared_by_a_prompt_frame(make_reader) -> None:
    release, hold = threading.Event(), threading.Event()
    steps = [("open",), ("frame",), ("block", release), ("frame",), ("block", hold)]
    rec = Recorder()
    reader = make_reader(FakeSource(steps), rec, stall_after_s=0.2)
    reader.start()
    try:
        assert rec.wait_status(CameraStatus.STALLED)
        assert rec.changes[-1].reason.startswith("no frame for ")
        assert len(rec.frames) == 1
        release.set()  # the slow read returns a frame it may have had buffered: not trusted
        assert rec.wait_for(lambda: rec.statuses.count(CameraStatus.LIVE) == 2)
        assert rec.statuses[:4] == [
            CameraStatus.CONNECTING,
            CameraStatus.LIVE,
            CameraStatus.STALLED,
            CameraStatus.LIVE,
        ]
        assert rec.changes[3].reason.startswith("frames again")
        assert rec.wait_for(lambda: len(rec.frames) == 2), "only the prompt frame is delivered"
        assert reader.stale_frames_dropped == 1
    finally:
        reader.stop(timeout_s=0.01)
        release.set()
        hold.set()


def test_stop_returns_while_read_is_blocked(make_reader) -> None:
    release = threading.Event()
    source = FakeSource([("open",), ("frame",), ("block", release)])
    rec = Recorder()
    reader = make_reader(source, rec, stall_after_s=60.0)
    reader.start()
    assert rec.wait_status(CameraStatus.LIVE)
    assert rec.wait_for(lambda: len(rec.frames) == 1)
    assert reader.stop(timeout_s=0.05) is False  # still inside the (fake) blocking read
    assert reader.is_alive()
    release.set()
    assert reader.join(DEADLINE_S)
    assert len(rec.frames) == 1, "a frame read after stop() is not delivered"
    assert rec.statuses == [CameraStatus.CONNECTING, CameraStatus.LIVE], "nothing after stop()"


def test_failing_callbacks_do_not_kill_the_reader(make_reader, caplog) -> None:
    source = FakeSource([("open",), ("frame",), ("frame",), ("frame",), ("eof",)])
    changes: list[StatusChange] = []
    done = threading.Event()

    def on_frame(image: np.ndarray, ts: float) -> None:
        raise RuntimeError("consumer bug")

    def on_status(change: StatusChange) -> None:
        changes.append(change)
        if change.reason == "end of file":
            done.set()
        raise RuntimeError("listener bug")

    reader = make_reader(source, Recorder(), on_frame=on_frame, on_status=on_status)
    with caplog.at_level(logging.ERROR, logger="inference.sources"):
        reader.start()
        assert done.wait(DEADLINE_S)
        assert reader.join(DEADLINE_S)
    assert [c.status for c in changes] == [
        CameraStatus.CONNECTING,
        CameraStatus.LIVE,
        CameraStatus.OFFLINE,  # its frames go nowhere: not live
        CameraStatus.OFFLINE,
    ]
    assert changes[2].reason == "frames not delivered: RuntimeError: consumer bug"
    assert reader.frames_delivered == 3
    assert caplog.text.count("on_frame callback failed") == 1, "logged once, not per frame"


def test_a_camera_whose_frames_cannot_be_delivered_is_not_live_until_they_can(
    make_reader,
) -> None:
    source = FakeSource([("open",)] + [("frame",)] * 5 + [("eof",)])
    rec = Recorder()
    calls = 0

    def on_frame(image: np.ndarray, ts: float) -> None:
        nonlocal calls
        calls += 1
        if calls in (2, 3):
            raise OSError("ring gone")
        rec.on_frame(image, ts)

    reader = make_reader(source, rec, on_frame=on_frame)
    reader.start()
    assert reader.join(DEADLINE_S)
    assert [(c.status, c.reason) for c in rec.changes] == [
        (CameraStatus.CONNECTING, "opening fake://cam"),
        (CameraStatus.LIVE, "first frame from fake://cam"),
        (CameraStatus.OFFLINE, "frames not delivered: OSError: ring gone"),
        (CameraStatus.LIVE, "frames delivered again from fake://cam"),
        (CameraStatus.OFFLINE, "end of file"),
    ]
    assert [ts for _, ts in rec.frames] == [1.0, 4.0, 5.0]


def test_start_twice_is_an_error(make_reader) -> None:
    reader = make_reader(FakeSource([]), Recorder(), clock=FakeClock(real_waits_after=0))
    reader.start()
    with pytest.raises(RuntimeError, match="already started"):
        reader.start()


def test_watchdog_thread_runs_only_while_readers_do(make_reader, watchdog) -> None:
    first = make_reader(FakeSource([]), Recorder(), clock=FakeClock(real_waits_after=0))
    second = make_reader(FakeSource([]), Recorder(), clock=FakeClock(real_waits_after=0))
    assert not watchdog.running()
    first.start()
    second.start()
    assert watchdog.running()
    first.stop()
    assert watchdog.running()
    second.stop()
    assert not watchdog.running()


def test_open_error_with_credentials_is_masked_everywhere(make_reader, caplog) -> None:
    """A real stream source on a closed local port: the open fails at once (refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"rtsp://admin:{SECRET}@127.0.0.1:{port}/cam"
    rec = Recorder()
    clock = FakeClock(real_waits_after=0)
    with caplog.at_level(logging.DEBUG, logger="inference.sources"):
        reader = make_reader(url, rec, clock=clock)
        reader.start()
        assert rec.wait_status(CameraStatus.OFFLINE)
        reader.stop()
    reason = rec.changes[-1].reason
    assert reason.startswith("open failed: cannot reach rtsp://admin:***@127.0.0.1")
    assert reason.endswith("Connection refused")
    assert "rtsp://admin:***@" in caplog.text, "the masked URL is what gets logged"
    assert SECRET not in caplog.text
    assert all(SECRET not in c.reason for c in rec.changes)
    assert SECRET not in repr(reader)


def test_reader_rejects_a_bad_spec_at_construction() -> None:
    with pytest.raises(SourceError, match="usb:x"):
        CameraReader("cam-1", "usb:x", lambda image, ts: None, lambda change: None)


def test_no_thread_before_start_and_stop_without_start() -> None:
    before = {t.name for t in threading.enumerate()}
    reader = CameraReader("cam-9", FakeSource([]), lambda image, ts: None, lambda change: None)
    assert reader.status is None
    assert reader.stop() is True
    assert reader.join(0) is True
    assert {t.name for t in threading.enumerate()} == before


# ---------------------------------------------------------------------------------------------
# the stream preflight (outside OpenCV's process-wide open lock), against loopback sockets
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(4)
    yield sock
    sock.close()


def _answer_once(listener: socket.socket, reply: bytes) -> threading.Thread:
    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(1024)
            conn.sendall(reply)

    thread = threading.Thread(target=serve, name="fake-server")
    thread.start()
    return thread


def test_preflight_gives_up_on_a_server_that_never_answers(listener) -> None:
    port = listener.getsockname()[1]
    source = StreamSource(f"rtsp://a:{SECRET}@127.0.0.1:{port}/cam", open_timeout_s=0.3)
    with pytest.raises(SourceOpenError, match=r"no answer from rtsp://a:\*\*\*@.* within 0.3 s"):
        source.open()


@pytest.mark.parametrize(
    ("reply", "expected"),
    [(b"", "closed the connection"), (b"HTTP/1.1 400 Bad Request\r\n\r\n", "not in RTSP")],
)
def test_preflight_wants_an_rtsp_answer(listener, reply: bytes, expected: str) -> None:
    server = _answer_once(listener, reply)
    source = StreamSource(f"rtsp://127.0.0.1:{listener.getsockname()[1]}/cam", open_timeout_s=5.0)
    with pytest.raises(SourceOpenError, match=expected):
        source.open()
    server.join(DEADLINE_S)


def test_preflight_sends_options_without_credentials(listener) -> None:
    got: list[bytes] = []

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            got.append(conn.recv(1024))
            conn.sendall(b"RTSP/1.0 401 Unauthorized\r\nCSeq: 1\r\n\r\n")

    server = threading.Thread(target=serve, name="fake-server")
    server.start()
    port = listener.getsockname()[1]
    source = StreamSource(f"rtsp://a:{SECRET}@127.0.0.1:{port}/cam?x=1", open_timeout_s=5.0)
    source._preflight()  # an RTSP answer, even a refusal, means the server is alive
    server.join(DEADLINE_S)
    assert got[0].startswith(f"OPTIONS rtsp://127.0.0.1:{port}/cam?x=1 RTSP/1.0\r\n".encode())
    assert SECRET.encode() not in got[0]
