"""Cameras against a real RTSP server (GStreamer's gst-rtsp-server) on 127.0.0.1.

The server runs under Debian's /usr/bin/python3 (tests/rtsp_server.py); the tests kill it, freeze
it (SIGSTOP) and bring it back, and check that each camera reports it and recovers by itself.
Every wait is for a condition with a generous deadline, never a timing.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator

import numpy as np
import pytest

from inference.sources import (
    PROBE_EVERY_S,
    Backoff,
    CameraReader,
    CameraStatus,
    StallWatchdog,
    StatusChange,
    StreamSource,
)
from tests.rtsp_server import RtspServer, free_port, gst_rtsp_server_missing

_MISSING = gst_rtsp_server_missing()
pytestmark = pytest.mark.skipif(_MISSING is not None, reason=_MISSING or "")

DEADLINE_S = 30.0
FAST_RETRY = Backoff(initial_s=0.2, factor=2.0, max_s=1.0)
SECRET = "Gall3ry-n1ght"


class Recorder:
    """One camera's callbacks, with polling waits on conditions."""

    def __init__(self) -> None:
        self.changes: list[StatusChange] = []
        self.frames = 0
        self.last_shape: tuple[int, ...] | None = None
        self.ts: list[float] = []
        self._lock = threading.Lock()

    def on_frame(self, image: np.ndarray, ts: float) -> None:
        with self._lock:
            self.frames += 1
            self.last_shape = image.shape
            if len(self.ts) < 100:
                self.ts.append(ts)

    def on_status(self, change: StatusChange) -> None:
        with self._lock:
            self.changes.append(change)

    @property
    def status(self) -> CameraStatus | None:
        with self._lock:
            return self.changes[-1].status if self.changes else None

    def statuses_since(self, index: int) -> list[CameraStatus]:
        with self._lock:
            return [c.status for c in self.changes[index:]]

    def wait_for(self, what: Callable[[], bool], timeout_s: float = DEADLINE_S) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if what():
                return True
            time.sleep(0.05)
        return what()

    def wait_status(self, status: CameraStatus, timeout_s: float = DEADLINE_S) -> bool:
        return self.wait_for(lambda: self.status is status, timeout_s)


@pytest.fixture
def servers() -> Iterator[Callable[..., RtspServer]]:
    """Starts RTSP servers on free ports; kills every one at the end, frozen or not."""
    made: list[RtspServer] = []

    def make(**kwargs: object) -> RtspServer:
        server = RtspServer(**kwargs)
        made.append(server)
        server.start()
        return server

    yield make
    for server in made:
        server.close()
        assert not server.running()


@pytest.fixture
def cameras() -> Iterator[Callable[..., tuple[CameraReader, Recorder]]]:
    """Starts camera readers; stops and joins them all, and checks that no thread is left."""
    dog = StallWatchdog(period_s=0.1)
    made: list[CameraReader] = []

    def make(
        camera_id: str, source: str | StreamSource, backoff: Backoff = FAST_RETRY
    ) -> tuple[CameraReader, Recorder]:
        rec = Recorder()
        reader = CameraReader(
            camera_id, source, rec.on_frame, rec.on_status, backoff=backoff, watchdog=dog
        )
        made.append(reader)
        reader.start()
        return reader, rec

    yield make
    for reader in made:
        reader.stop()
    for reader in made:
        assert reader.join(DEADLINE_S), f"{reader} did not end"
    assert not dog.running()
    assert not [t.name for t in threading.enumerate() if t.name.startswith("camera-")]


def test_camera_goes_live_with_frames(servers, cameras) -> None:
    server = servers()
    _reader, rec = cameras("lobby", server.url)
    assert rec.wait_status(CameraStatus.LIVE)
    assert rec.wait_for(lambda: rec.frames >= 10)
    assert rec.last_shape == (240, 320, 3)
    assert [c.status for c in rec.changes] == [CameraStatus.CONNECTING, CameraStatus.LIVE]
    assert rec.changes[-1].reason == f"first frame from {server.url}"
    assert all(b >= a for a, b in zip(rec.ts, rec.ts[1:], strict=False))
    assert abs(rec.ts[0] - time.time()) < 3600, "live frames carry wall-clock seconds"


def test_killed_server_goes_offline_then_comes_back_live(servers, cameras) -> None:
    server = servers()
    reader, rec = cameras("lobby", server.url)
    assert rec.wait_status(CameraStatus.LIVE)
    mark = len(rec.changes)
    server.kill()
    assert rec.wait_status(CameraStatus.OFFLINE)
    assert rec.changes[mark].status is CameraStatus.OFFLINE
    assert rec.changes[mark].reason.startswith("read failed")
    server.start()  # same port and mount; nobody tells the reader
    assert rec.wait_status(CameraStatus.LIVE)
    frames = rec.frames
    assert rec.wait_for(lambda: rec.frames > frames + 5)
    assert reader.is_alive()


# The first retry after a lost stream comes at once, every later one 10 minutes after the last:
# a camera back within the test's deadline came back because its reader asked the server
# whether it answers again (PROBE_EVERY_S), not because the back-off ran out.
LONG_WAIT = Backoff(initial_s=0.2, factor=3000.0, max_s=600.0)


class CountingSource(StreamSource):
    """The real stream source, counting its opens."""

    opens = 0

    def open(self) -> None:
        self.opens += 1
        super().open()


def test_a_restarted_server_is_reopened_as_soon_as_it_answers(servers, cameras) -> None:
    server = servers()
    reader, rec = cameras("lobby", server.url, LONG_WAIT)
    assert rec.wait_status(CameraStatus.LIVE)
    server.kill()
    # the retry right after the lost stream finds nobody: the next wait is the long one
    assert rec.wait_for(lambda: "cannot reach" in rec.changes[-1].reason)
    assert reader.early_retries == 0
    server.start()
    assert rec.wait_status(CameraStatus.LIVE)
    assert reader.early_retries == 1
    frames = rec.frames
    assert rec.wait_for(lambda: rec.frames > frames + 5)


def test_a_server_that_answers_but_refuses_the_stream_waits_out_its_back_off(
    servers, cameras
) -> None:
    server = servers()
    source = CountingSource(server.url.replace("/cam", "/no-such-camera"))
    reader, rec = cameras("lobby", source, LONG_WAIT)
    assert rec.wait_status(CameraStatus.OFFLINE)
    assert rec.wait_for(lambda: source.opens == 2)  # the first retry, after 0.2 s
    # it answers OPTIONS but refuses the stream: no probe cuts the 10 minutes short, however
    # long we look (several probe periods here)
    time.sleep(4 * PROBE_EVERY_S)  # an observation window, not a timing assertion
    assert source.opens == 2
    assert reader.early_retries == 0
    assert "cannot reach" not in rec.changes[-1].reason


def test_frozen_server_stalls_then_thaw_brings_it_back(servers, cameras) -> None:
    server = servers()
    _reader, rec = cameras("lobby", server.url)
    assert rec.wait_status(CameraStatus.LIVE)
    assert rec.wait_for(lambda: rec.frames >= 5)
    mark = len(rec.changes)
    server.freeze()
    assert rec.wait_status(CameraStatus.STALLED)
    # Stalled is seen before the 3 s read timeout turns it into a failed read (offline).
    assert rec.statuses_since(mark)[0] is CameraStatus.STALLED
    server.thaw()
    assert rec.wait_status(CameraStatus.LIVE)
    frames = rec.frames
    assert rec.wait_for(lambda: rec.frames > frames + 5)


def test_frozen_server_restarted_comes_back_live(servers, cameras) -> None:
    server = servers()
    _reader, rec = cameras("lobby", server.url)
    assert rec.wait_status(CameraStatus.LIVE)
    server.freeze()
    assert rec.wait_status(CameraStatus.STALLED)
    server.restart()
    assert rec.wait_status(CameraStatus.LIVE)
    frames = rec.frames
    assert rec.wait_for(lambda: rec.frames > frames + 5)


def test_password_never_reaches_logs_reasons_or_stderr(servers, cameras, caplog, capfd) -> None:
    server = servers(user="guard", password=SECRET)
    assert SECRET in server.url
    with caplog.at_level(logging.DEBUG, logger="inference.sources"):
        good, good_rec = cameras("vault", server.url)
        wrong, wrong_rec = cameras("vault-typo", server.url.replace(SECRET, SECRET + "x"))
        assert good_rec.wait_status(CameraStatus.LIVE), "the right credentials are accepted"
        assert wrong_rec.wait_status(CameraStatus.OFFLINE), "the wrong ones are refused"
        server.kill()
        assert good_rec.wait_status(CameraStatus.OFFLINE)
        good.stop()
        wrong.stop()
    out, err = capfd.readouterr()
    reasons = [c.reason for c in good_rec.changes + wrong_rec.changes]
    assert "guard:***@127.0.0.1" in caplog.text, "the URL is logged, masked"
    assert SECRET not in caplog.text
    assert not [r for r in reasons if SECRET in r]
    assert SECRET not in out
    assert SECRET not in err
    assert SECRET not in repr(good)


class Blackhole:
    """A TCP port that accepts connections and never answers: an RTSP open blocks on it."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]

    def close(self) -> None:
        self.sock.close()  # pending connections are reset: a blocked open fails at once


def test_broken_cameras_do_not_block_a_good_one(servers, cameras) -> None:
    server = servers()
    hole = Blackhole()
    try:
        stuck_source = StreamSource(f"rtsp://127.0.0.1:{hole.port}/cam", open_timeout_s=60.0)
        stuck, stuck_rec = cameras("stuck", stuck_source)
        _refused, refused_rec = cameras("refused", f"rtsp://127.0.0.1:{free_port()}/cam")
        _wrong, wrong_rec = cameras("wrong-path", f"rtsp://127.0.0.1:{server.port}/no-such")
        good, good_rec = cameras("good", server.url)

        assert good_rec.wait_status(CameraStatus.LIVE)
        assert refused_rec.wait_status(CameraStatus.OFFLINE)
        assert wrong_rec.wait_status(CameraStatus.OFFLINE)
        assert refused_rec.changes[-1].reason.startswith("open failed: cannot reach rtsp://")
        assert wrong_rec.changes[-1].reason.startswith("open failed: cannot open rtsp://")
        # The stuck camera is still inside its first open (60 s timeout, no answer): it must
        # not hold OpenCV's process-wide open lock meanwhile, or "good" could not have opened.
        assert stuck_rec.status is CameraStatus.CONNECTING
        # Stopping it does not wait for that open: stop() gives up after its bound.
        assert stuck.stop(timeout_s=0.2) is False
        assert good.is_alive()
        assert good_rec.status is CameraStatus.LIVE
    finally:
        hole.close()
    assert stuck.join(DEADLINE_S), "the blocked open ended once the peer went away"
    assert stuck_rec.statuses_since(0) == [CameraStatus.CONNECTING], "nothing after stop()"
