"""Camera sources: RTSP/HTTP streams, video files and USB cameras, read by one thread each.

A *source* is opened from one string (``rtsp://…``, ``rtsps://…``, ``http(s)://…``, a video file
path or ``file://…``, ``usb:N``) and yields frames as ``Frame(image, ts)``: a BGR ``ndarray`` and
a time in seconds (wall-clock seconds for live sources, the position in the video for files).
Live timestamps come from the monotonic clock, mapped to wall time once per source object, so a
step of the wall clock (NTP, a daylight-saving mistake, an operator) never moves them back. Each
source counts *segments*: +1 at every ``open()`` and every rewind of a looping file, i.e. wherever
the pictures jump; the frame ring's writer turns that into a timeline that never runs backwards
(``inference.capture.RingWriter``).

A :class:`CameraReader` owns one thread per camera. It opens the source, reads frames and hands
them to ``on_frame(image, ts)``; it reports :class:`CameraStatus` changes to ``on_status`` as
:class:`StatusChange` values. Failure is data: a camera that cannot be opened or stops sending is
``OFFLINE`` with a reason, and the reader retries with exponential backoff until it is stopped. A
live camera whose ``read()`` has been blocked for ``stall_after_s`` is ``STALLED``; that is noticed
by one shared :class:`StallWatchdog` thread, because ``read()`` itself blocks (up to the read
timeout) and cannot report anything while it does.

Credentials in URLs never reach a log line, an error or a status reason: everything that shows a
URL passes it through :func:`mask_credentials`.

Measured here (OpenCV 4.14): the FFmpeg backend opens captures one at a time, process-wide. A
``cv2.VideoCapture`` blocked on a host that never answers delays every other open in the process
(files too) for its whole open timeout, and a healthy RTSP open itself holds that lock for
1.2–3.9 s of stream probing. :class:`StreamSource` therefore checks reachability first, outside
that lock (TCP connect, RTSP ``OPTIONS``). Reads run in parallel. Many cameras opening at once
still queue behind each other, so a large site should spread its cameras over capture processes.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import random
import re
import socket
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

import cv2
import numpy as np

from inference.clock import SYSTEM_CLOCK, Clock, SystemClock  # noqa: F401 - re-exported

log = logging.getLogger(__name__)

STREAM_SCHEMES = ("rtsp", "rtsps", "http", "https")
DEFAULT_PORTS = {"rtsp": 554, "rtsps": 322, "http": 80, "https": 443}
DEFAULT_OPEN_TIMEOUT_S = 5.0
DEFAULT_READ_TIMEOUT_S = 3.0
# While a reader waits out its back-off after "nobody answers", it asks the server every
# PROBE_EVERY_S (a TCP connect and an RTSP OPTIONS, outside OpenCV's open lock, each at most
# PROBE_TIMEOUT_S) and reopens as soon as it answers: a restarted server's cameras come back
# within about a second of it, not at the end of a back-off of up to 10 s. A server that answers
# but refuses the stream is retried on the back-off alone.
PROBE_EVERY_S = 1.0
PROBE_TIMEOUT_S = 1.0
DEFAULT_STALL_AFTER_S = 2.0
FALLBACK_FILE_FPS = 25.0


# ---------------------------------------------------------------------------------------------
# values
# ---------------------------------------------------------------------------------------------


class CameraStatus(StrEnum):
    CONNECTING = "connecting"
    LIVE = "live"
    STALLED = "stalled"
    OFFLINE = "offline"

    @property
    def down(self) -> bool:
        """No picture comes from the camera (offline or stalled): it sees nobody."""
        return self in (CameraStatus.STALLED, CameraStatus.OFFLINE)


@dataclass(frozen=True, slots=True)
class StatusChange:
    """A camera's status changed at wall-clock time ``ts`` (seconds since the epoch)."""

    camera_id: str
    status: CameraStatus
    reason: str
    ts: float


class Frame(NamedTuple):
    image: np.ndarray  # BGR, HxWx3 uint8
    ts: float  # seconds: wall clock (via the monotonic clock) for live sources, video position


class SourceKind(StrEnum):
    STREAM = "stream"
    FILE = "file"
    USB = "usb"


class SourceError(Exception):
    """A camera source is invalid, cannot be opened, or failed while reading."""


class SourceOpenError(SourceError):
    """The source could not be opened (refused, not found, unauthorised, timed out)."""


class SourceUnreachableError(SourceOpenError):
    """Nobody answers at the source's address (refused, unreachable, no answer in time): the
    server or the camera is down, not refusing this stream."""


class SourceReadError(SourceError):
    """Reading from an open source failed (connection lost, read timeout, corrupt data)."""


# ---------------------------------------------------------------------------------------------
# credentials
# ---------------------------------------------------------------------------------------------

# A URL: its scheme, then everything up to the next white space (the user information, the host,
# the path). Where the user information ends is decided by _credentials_end.
_URL = re.compile(r"\b(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<rest>\S*)")


def mask_credentials(text: str, *, hide_user: bool = False) -> str:
    """``rtsp://user:pass@host/x`` -> ``rtsp://user:***@host/x`` (also ``rtsp://:pass@host``).

    The one masking of the whole project: every URL shown in a log line, an error, a status
    reason or a site-file problem passes through it. It masks every URL inside a longer text (an
    error message that quotes one). A password may hold raw ``/``, ``@``, ``:``, ``?``, ``#`` or
    percent-escapes: the password is taken to run up to the last ``@`` of the URL that can end it,
    so an ambiguous URL is masked too much (part of its host or path hidden), never too little.
    Only white space ends a URL, so a raw space inside a password is not covered.

    A URL with a user name but no password (``rtsp://user@host``) is left as it is, unless
    ``hide_user``: then the whole user information becomes ``***`` (``rtsp://***@host``).
    """

    def masked(match: re.Match[str]) -> str:
        return match.group("scheme") + _mask_user_information(match.group("rest"), hide_user)

    return _URL.sub(masked, text)


def _credentials_end(rest: str) -> int:
    """Where the user information ends in ``rest`` (a URL after ``scheme://``): the index of
    its ``@``, or -1 when the URL has none."""
    query = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    before = rest.rfind("@", 0, query)
    if before < 0:  # every "@" lies after a "?" or "#": in the password, or in the query
        return rest.find("@")
    last = rest.rfind("@")
    if last > query and "/" not in rest[before:query]:
        # "u:p@w?x@host/": no path between the first "@" and the "?", so the "?" and both "@"
        # belong to the password (a query comes after a host and its path)
        return last
    return before


def _mask_user_information(rest: str, hide_user: bool) -> str:
    at = _credentials_end(rest)
    if at < 0:
        return rest
    user_information = rest[:at]
    colon = user_information.find(":")
    if colon >= 0:
        return ("***" if hide_user else user_information[:colon] + ":***") + rest[at:]
    if hide_user and not any(c in user_information for c in "/?#"):
        return "***" + rest[at:]  # a user name alone, before the host
    return rest


class LiveTimeline:
    """Wall-clock timestamps for a live source that a wall-clock step cannot move back.

    The wall clock is read once, at the first stamp; after that time advances with the monotonic
    clock: ``wall_0 + (monotonic - monotonic_0)``. One per source object, i.e. per reader.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._anchor: tuple[float, float] | None = None  # (wall, monotonic)

    def now(self) -> float:
        mono = self._clock.monotonic()
        if self._anchor is None:
            self._anchor = (self._clock.time(), mono)
        wall, mono_0 = self._anchor
        return wall + (mono - mono_0)


# ---------------------------------------------------------------------------------------------
# sources
# ---------------------------------------------------------------------------------------------

_ffmpeg_options_lock = threading.Lock()


STREAM_ANALYZE_US = 250_000  # FFmpeg's stream probing at open (its default: 5 s)


def _ensure_rtsp_over_tcp() -> None:
    """Set ``OPENCV_FFMPEG_CAPTURE_OPTIONS`` before a stream is opened: RTSP over TCP, and at
    most 0.25 s of stream probing (``analyzeduration``).

    Probing happens inside OpenCV's process-wide open lock, so the cameras of one capture
    process open one after another. Measured on gst-rtsp-server (H.264, 10 fps), the open's
    share of that lock: 3.8 s with FFmpeg's default, 1.25 s with 1 s of probing, 0.54 s with
    0.25 s; the first frame comes 1.24 s after the open starts in every case (the stream's own
    start), outside the lock. A stream's size and codec come from its RTSP description, so a
    short probe loses nothing there; a camera whose description lacks them can be given more
    time by the user (below).

    The variable is process-wide and read by OpenCV at every open, so it is set once (under a
    lock) and never changed afterwards. A transport or probing time the user already chose is
    kept.
    """
    with _ffmpeg_options_lock:
        current = os.environ.get("OPENCV_FFMPEG_CAPTURE_OPTIONS", "")
        wanted = [
            option
            for key, option in (
                ("rtsp_transport", "rtsp_transport;tcp"),
                ("analyzeduration", f"analyzeduration;{STREAM_ANALYZE_US}"),
            )
            if key not in current
        ]
        if wanted:
            os.environ["OPENCV_FFMPEG_CAPTURE_OPTIONS"] = "|".join(
                [current, *wanted] if current else wanted
            )


class FrameSource(ABC):
    """Where a camera's frames come from. Re-openable: ``open`` may follow ``close``.

    ``open``, ``read`` and ``close`` are called from one thread (the camera's reader thread).
    """

    kind: SourceKind
    segment: int = 0  # +1 at each open() and each rewind: where the pictures jump

    @property
    @abstractmethod
    def description(self) -> str:
        """What this source is, safe to log (credentials masked)."""

    @abstractmethod
    def open(self) -> None:
        """Open the source; raises :class:`SourceOpenError`."""

    @abstractmethod
    def read(self) -> Frame | None:
        """The next frame; None at the end of a file; raises :class:`SourceReadError`."""

    @abstractmethod
    def close(self) -> None:
        """Release the source; safe to call when not open."""

    def pace(self, stop: threading.Event) -> None:  # noqa: B027 - optional hook, no-op by default
        """Wait until the next frame is due (paced file playback); returns early on ``stop``."""

    def answers(self) -> bool | None:
        """Whether the source's server answers now, cheaply and without opening it (None: this
        kind of source cannot tell). Asked while a reader waits to retry an unreachable one."""
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.description})"


class _CaptureSource(FrameSource):
    """A source read through one ``cv2.VideoCapture``."""

    def __init__(self) -> None:
        self._cap: cv2.VideoCapture | None = None

    def close(self) -> None:
        cap, self._cap = self._cap, None
        if cap is not None:
            cap.release()

    def _read_image(self) -> np.ndarray | None:
        if self._cap is None:
            raise SourceReadError(f"{self.description} is not open")
        try:
            ok, image = self._cap.read()
        except cv2.error as exc:
            raise SourceReadError(f"{self.description}: {mask_credentials(str(exc))}") from None
        if not ok or image is None:
            return None
        return image


class StreamSource(_CaptureSource):
    """An RTSP/RTSPS/HTTP(S) stream through OpenCV's FFmpeg backend, RTSP over TCP.

    The open and read timeouts bound how long ``open``/``read`` can block: a camera that goes
    silent makes ``read`` fail after ``read_timeout_s`` instead of FFmpeg's 30 s.
    """

    kind = SourceKind.STREAM

    def __init__(
        self,
        url: str,
        *,
        open_timeout_s: float = DEFAULT_OPEN_TIMEOUT_S,
        read_timeout_s: float = DEFAULT_READ_TIMEOUT_S,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        super().__init__()
        if open_timeout_s <= 0 or read_timeout_s <= 0:
            raise SourceError(
                f"timeouts must be positive (open {open_timeout_s} s, read {read_timeout_s} s) "
                f"for {mask_credentials(url)}"
            )
        self._url = url
        self.open_timeout_s = open_timeout_s
        self.read_timeout_s = read_timeout_s
        self._clock = clock
        self._timeline = LiveTimeline(clock)

    @property
    def description(self) -> str:
        return mask_credentials(self._url)

    def open(self) -> None:
        self.close()
        self.segment += 1
        self._preflight()
        _ensure_rtsp_over_tcp()
        params = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
            round(self.open_timeout_s * 1000),
            cv2.CAP_PROP_READ_TIMEOUT_MSEC,
            round(self.read_timeout_s * 1000),
        ]
        try:
            cap = cv2.VideoCapture(self._url, cv2.CAP_FFMPEG, params)
        except cv2.error as exc:
            raise SourceOpenError(
                f"cannot open {self.description}: {mask_credentials(str(exc))}"
            ) from None
        if not cap.isOpened():
            cap.release()
            raise SourceOpenError(
                f"cannot open {self.description} (refused, not found, unauthorised, "
                f"or no answer within {self.open_timeout_s:.1f} s)"
            )
        self._cap = cap

    def answers(self) -> bool:
        """The preflight alone (TCP connect, RTSP ``OPTIONS``), within ``PROBE_TIMEOUT_S``."""
        try:
            self._preflight(PROBE_TIMEOUT_S)
        except SourceOpenError:
            return False
        return True

    def _preflight(self, timeout_s: float | None = None) -> None:
        """Check, without OpenCV, that the server answers; raise :class:`SourceUnreachableError`
        if not (:class:`SourceOpenError` for a bad address).

        OpenCV's FFmpeg backend opens captures one at a time (a process-wide lock): one
        ``cv2.VideoCapture`` stuck on a host that never answers holds up every other camera's
        open, file opens included, for its whole open timeout. This check runs outside that
        lock: a TCP connect, and for ``rtsp://`` one ``OPTIONS`` round trip, each bounded by the
        open timeout. Unreachable, refusing, hung and frozen (SIGSTOP) servers fail here.
        """
        parts = urlsplit(self._url)
        scheme = parts.scheme.lower()
        try:
            host, port = parts.hostname, parts.port or DEFAULT_PORTS[scheme]
        except (ValueError, KeyError) as exc:
            raise SourceOpenError(f"bad address in {self.description}: {exc}") from None
        if not host:
            raise SourceOpenError(f"no host in {self.description}")
        limit_s = self.open_timeout_s if timeout_s is None else min(timeout_s, self.open_timeout_s)
        deadline = self._clock.monotonic() + limit_s
        try:
            with socket.create_connection((host, port), timeout=limit_s) as sock:
                if scheme != "rtsp":
                    return
                netloc = host if ":" not in host else f"[{host}]"
                plain = parts._replace(netloc=f"{netloc}:{port}").geturl()  # no credentials
                request = f"OPTIONS {plain} RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: nightwatch\r\n"
                request += "\r\n"
                sock.settimeout(max(0.05, deadline - self._clock.monotonic()))
                sock.sendall(request.encode("ascii", "replace"))
                reply = sock.recv(16)
        except TimeoutError:
            raise SourceUnreachableError(
                f"no answer from {self.description} within {limit_s:.1f} s"
            ) from None
        except OSError as exc:
            why = exc.strerror or type(exc).__name__
            raise SourceUnreachableError(f"cannot reach {self.description}: {why}") from None
        if not reply.startswith(b"RTSP/"):
            shown = "closed the connection" if not reply else "answered, but not in RTSP"
            raise SourceUnreachableError(f"{self.description} {shown}")

    def read(self) -> Frame:
        image = self._read_image()
        if image is None:
            raise SourceReadError(
                f"no frame from {self.description} (connection lost or nothing within "
                f"{self.read_timeout_s:.1f} s)"
            )
        return Frame(image, self._timeline.now())


class VideoFileSource(_CaptureSource):
    """A video file, played once or looped, paced at its frame rate or as fast as possible.

    Frame timestamps are the position in the video in seconds (frame index / frame rate). When
    looping they keep counting (pass ``k`` adds ``k`` × duration), so they never go backwards;
    each rewind starts a new ``segment``. Reopening the file after a failure starts again from 0
    (or ``start_s``) in a new segment; the ring writer carries the camera's timeline on from
    there.
    """

    kind = SourceKind.FILE

    def __init__(
        self,
        path: str | Path,
        *,
        loop: bool = False,
        pace: bool = True,
        speed: float = 1.0,
        start_s: float = 0.0,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        super().__init__()
        if speed <= 0:
            raise SourceError(f"playback speed must be positive, got {speed} for {path}")
        if not (math.isfinite(start_s) and start_s >= 0):
            raise SourceError(f"start offset must be >= 0 seconds, got {start_s} for {path}")
        self.start_s = start_s
        self.path = Path(path)
        self.loop = loop
        self.paced = pace
        self.speed = speed
        self._clock = clock
        self.fps = FALLBACK_FILE_FPS
        self._next_index = 0  # frames delivered since open, over all passes
        self._index_in_pass = 0
        self._anchor: tuple[float, float] | None = None  # (monotonic, video seconds)

    @property
    def description(self) -> str:
        return f"file {self.path}"

    def open(self) -> None:
        self.close()
        self.segment += 1
        self._cap = self._open_capture()
        fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        if not math.isfinite(fps) or not 0.0 < fps <= 1000.0:
            log.warning(
                "%s reports no usable frame rate (%r); assuming %.0f frames/s",
                self.description,
                fps,
                FALLBACK_FILE_FPS,
            )
            fps = FALLBACK_FILE_FPS
        self.fps = fps
        self._next_index = 0
        self._index_in_pass = 0
        self._anchor = None
        if self.start_s > 0:  # a camera that starts part-way (demo walls, offset replays)
            frames = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
            first = round(self.start_s * fps)
            if frames > 0:
                first %= frames
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, first)
            self._next_index = first

    def _open_capture(self) -> cv2.VideoCapture:
        try:
            cap = cv2.VideoCapture(str(self.path), cv2.CAP_FFMPEG)
        except cv2.error as exc:
            raise SourceOpenError(f"cannot open video file {self.path}: {exc}") from None
        if not cap.isOpened():
            cap.release()
            raise SourceOpenError(f"cannot open video file {self.path} (missing or not a video)")
        return cap

    def pace(self, stop: threading.Event) -> None:
        if not self.paced or self._cap is None:
            return
        video_s = self._next_index / self.fps
        now = self._clock.monotonic()
        if self._anchor is None:
            self._anchor = (now, video_s)
            return
        anchor_mono, anchor_video = self._anchor
        delay = anchor_mono + (video_s - anchor_video) / self.speed - now
        if delay > 0:
            self._clock.wait(stop, delay)
        elif delay < -1.0:
            # Fell more than a second behind (a slow consumer): carry on from here rather than
            # rushing through the backlog.
            self._anchor = (now, video_s)

    def read(self) -> Frame | None:
        image = self._read_image()
        if image is None:
            if not self.loop:
                return None
            if self._index_in_pass == 0:
                raise SourceReadError(f"video file {self.path} has no frames to loop")
            self.close()
            self._cap = self._open_capture()
            self._index_in_pass = 0
            self.segment += 1
            image = self._read_image()
            if image is None:
                raise SourceReadError(f"video file {self.path} gave no frame after rewinding")
        ts = self._next_index / self.fps
        self._next_index += 1
        self._index_in_pass += 1
        return Frame(image, ts)


class UsbSource(_CaptureSource):
    """A local camera through Video4Linux2 (``usb:N`` is ``/dev/videoN``)."""

    kind = SourceKind.USB

    def __init__(self, index: int, *, clock: Clock = SYSTEM_CLOCK) -> None:
        super().__init__()
        if index < 0:
            raise SourceError(f"USB camera number must be 0 or more, got {index}")
        self.index = index
        self._clock = clock
        self._timeline = LiveTimeline(clock)

    @property
    def description(self) -> str:
        return f"usb:{self.index} (/dev/video{self.index})"

    def open(self) -> None:
        self.close()
        self.segment += 1
        try:
            cap = cv2.VideoCapture(self.index, cv2.CAP_V4L2)
        except cv2.error as exc:
            raise SourceOpenError(f"cannot open {self.description}: {exc}") from None
        if not cap.isOpened():
            cap.release()
            raise SourceOpenError(f"cannot open {self.description} (no such camera, or busy)")
        self._cap = cap

    def read(self) -> Frame:
        image = self._read_image()
        if image is None:
            raise SourceReadError(f"no frame from {self.description} (unplugged or timed out)")
        return Frame(image, self._timeline.now())


_SCHEME = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*)://")
_USB = re.compile(r"^usb:(?P<rest>.*)$", re.IGNORECASE)


def parse_source(
    spec: str,
    *,
    open_timeout_s: float = DEFAULT_OPEN_TIMEOUT_S,
    read_timeout_s: float = DEFAULT_READ_TIMEOUT_S,
    loop: bool = False,
    pace: bool = True,
    speed: float = 1.0,
    clock: Clock = SYSTEM_CLOCK,
) -> FrameSource:
    """The (unopened) source a camera spec names; raises :class:`SourceError` naming the value.

    ``rtsp://``, ``rtsps://``, ``http://``, ``https://``: a stream (``open_timeout_s``,
    ``read_timeout_s``). A path or ``file://`` URL: a video file that must exist (``loop``,
    ``pace``, ``speed``). ``usb:N``: V4L2 device N.
    """
    if not isinstance(spec, str):
        raise SourceError(f"camera source must be a string, got {type(spec).__name__} {spec!r}")
    text = spec.strip()
    shown = mask_credentials(text)
    if not text:
        raise SourceError("camera source is empty; expected rtsp://…, a video file or usb:N")
    if m := _SCHEME.match(text):
        scheme = m.group("scheme").lower()
        if scheme in STREAM_SCHEMES:
            try:
                host = urlsplit(text).hostname
            except ValueError as exc:
                raise SourceError(f"camera source {shown!r} is not a valid URL: {exc}") from None
            if not host:
                raise SourceError(f"camera source {shown!r} has no host")
            return StreamSource(
                text, open_timeout_s=open_timeout_s, read_timeout_s=read_timeout_s, clock=clock
            )
        if scheme == "file":
            parts = urlsplit(text)
            if parts.netloc not in ("", "localhost"):
                raise SourceError(
                    f"camera source {shown!r}: file:// URLs must name a local file "
                    f"(file:///path), not host {parts.netloc!r}"
                )
            path, start_s = split_start(
                unquote(parts.path) + (f"#{parts.fragment}" if parts.fragment else "")
            )
            return _video_file(path, shown, loop, pace, speed, clock, start_s)
        raise SourceError(
            f"camera source {shown!r} has unsupported scheme {scheme!r}; expected "
            "rtsp://, rtsps://, http://, https://, file://, usb:N or a video file path"
        )
    if m := _USB.match(text):
        rest = m.group("rest").strip()
        if not rest.isdigit():
            raise SourceError(
                f"camera source {shown!r} is not a USB camera number; expected usb:N, e.g. usb:0"
            )
        return UsbSource(int(rest), clock=clock)
    path, start_s = split_start(text)
    return _video_file(path, shown, loop, pace, speed, clock, start_s)


_START = re.compile(r"^(?P<path>.+)#t=(?P<start>[0-9]+(?:\.[0-9]+)?)$")


def split_start(spec: str) -> tuple[str, float]:
    """A video file spec may end in a media fragment giving where to start, in seconds:
    `clips/gallery.mp4#t=12.5` -> ("clips/gallery.mp4", 12.5)."""
    m = _START.match(spec)
    return (m.group("path"), float(m.group("start"))) if m else (spec, 0.0)


def _video_file(
    path_text: str,
    shown: str,
    loop: bool,
    pace: bool,
    speed: float,
    clock: Clock,
    start_s: float = 0.0,
) -> VideoFileSource:
    path = Path(path_text).expanduser()
    if not path.exists():
        raise SourceError(
            f"camera source {shown!r} is not a stream URL (rtsp://, http(s)://), not usb:N, "
            "and no such video file exists"
        )
    if not path.is_file():
        raise SourceError(f"camera source {shown!r} is not a video file (a directory?)")
    return VideoFileSource(path, loop=loop, pace=pace, speed=speed, start_s=start_s, clock=clock)


# ---------------------------------------------------------------------------------------------
# retry policy
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential retry delays: ``initial_s``, × ``factor`` per failed attempt, at most ``max_s``.

    ``jitter`` (0..1) shortens each delay by a random fraction up to that much, so cameras behind
    one recorder that reboots do not all reconnect in the same instant.
    """

    initial_s: float = 0.5
    factor: float = 2.0
    max_s: float = 10.0
    jitter: float = 0.0

    def __post_init__(self) -> None:
        if self.initial_s <= 0 or self.factor < 1 or self.max_s < self.initial_s:
            raise ValueError(
                f"backoff needs 0 < initial_s <= max_s and factor >= 1, got initial_s="
                f"{self.initial_s}, factor={self.factor}, max_s={self.max_s}"
            )
        if not 0 <= self.jitter < 1:
            raise ValueError(f"backoff jitter must be in [0, 1), got {self.jitter}")

    def delay_s(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """Seconds to wait after ``attempt`` consecutive failures (counting from 0)."""
        try:
            delay = min(self.initial_s * self.factor ** max(0, attempt), self.max_s)
        except OverflowError:
            delay = self.max_s
        if self.jitter:
            delay *= 1.0 - self.jitter * rng()
        return delay


# ---------------------------------------------------------------------------------------------
# stall watchdog
# ---------------------------------------------------------------------------------------------


class StallWatchdog:
    """One thread that asks every registered reader, every ``period_s``, whether it is stalled.

    A ``read()`` blocks (up to the read timeout), so the reader's own thread cannot notice that
    it is stuck; this thread does, for all cameras at once (64 cameras cost one wake-up per
    period). It runs only while at least one reader is registered and is joined when the last one
    leaves, so it never outlives the cameras.
    """

    def __init__(self, period_s: float = 0.25) -> None:
        if period_s <= 0:
            raise ValueError(f"watchdog period must be positive, got {period_s}")
        self.period_s = period_s
        self._lock = threading.Lock()
        self._readers: set[CameraReader] = set()
        self._thread: threading.Thread | None = None
        self._stop: threading.Event | None = None

    def register(self, reader: CameraReader) -> None:
        with self._lock:
            self._readers.add(reader)
            if self._thread is None:
                self._stop = threading.Event()
                self._thread = threading.Thread(
                    target=self._run, args=(self._stop,), name="camera-stall-watchdog"
                )
                self._thread.start()

    def unregister(self, reader: CameraReader, join_timeout_s: float = 1.0) -> None:
        with self._lock:
            self._readers.discard(reader)
            if self._readers or self._thread is None:
                return
            thread, stop = self._thread, self._stop
            self._thread, self._stop = None, None
        assert stop is not None
        stop.set()
        if thread is not threading.current_thread():
            thread.join(join_timeout_s)

    def running(self) -> bool:
        with self._lock:
            return self._thread is not None

    def _run(self, stop: threading.Event) -> None:
        while not stop.wait(self.period_s):
            with self._lock:
                readers = list(self._readers)
            for reader in readers:
                try:
                    reader.check_stall()
                except Exception:
                    log.exception("stall check failed for camera %s", reader.camera_id)


SHARED_WATCHDOG = StallWatchdog()


# ---------------------------------------------------------------------------------------------
# the reader
# ---------------------------------------------------------------------------------------------

FrameCallback = Callable[[np.ndarray, float], None]
StatusCallback = Callable[[StatusChange], None]


class CameraReader:
    """Reads one camera on its own thread; reports frames and status through callbacks.

    Status: ``CONNECTING`` at start, ``LIVE`` at the first frame, ``OFFLINE`` (with a reason) when
    opening or reading fails, after which it retries with ``backoff`` forever until stopped
    (the attempt count resets after a good frame). ``STALLED`` when, while live, a ``read()``
    has been blocked for ``stall_after_s`` (keep it below the stream's read timeout); a frame
    returned by such a slow read is not trusted (a frozen RTSP server makes FFmpeg return old
    buffered frames after each timeout), so only a prompt frame brings the camera back to
    ``LIVE``. A file that ends without looping is ``OFFLINE`` "end of file" and is not retried.

    Callbacks run on the reader's thread (``STALLED`` on the watchdog's): they must return
    quickly, must not block, and must not call :meth:`stop`. ``on_status`` calls are serialised
    per camera. Nothing is reported after :meth:`stop`.

    ``stop()`` never waits longer than ``join_timeout_s``: OpenCV's ``open``/``read`` cannot be
    interrupted, so a thread blocked in one finishes it (bounded by the source's open/read
    timeouts), then releases the source and exits by itself; :meth:`join` waits for that.
    """

    def __init__(
        self,
        camera_id: str,
        source: FrameSource | str,
        on_frame: FrameCallback,
        on_status: StatusCallback,
        *,
        backoff: Backoff | None = None,
        stall_after_s: float = DEFAULT_STALL_AFTER_S,
        join_timeout_s: float = 1.0,
        clock: Clock = SYSTEM_CLOCK,
        watchdog: StallWatchdog | None = None,
    ) -> None:
        if stall_after_s <= 0:
            raise ValueError(f"stall_after_s must be positive, got {stall_after_s}")
        self.camera_id = camera_id
        self.source = parse_source(source, clock=clock) if isinstance(source, str) else source
        self._on_frame = on_frame
        self._on_status = on_status
        self.backoff = backoff if backoff is not None else Backoff()
        self.stall_after_s = stall_after_s
        self.join_timeout_s = join_timeout_s
        self._clock = clock
        self._watchdog = watchdog if watchdog is not None else SHARED_WATCHDOG

        self._lock = threading.Lock()  # guards status, _read_since; serialises on_status
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._status: CameraStatus | None = None
        self._reason = ""
        self._read_since: float | None = None  # monotonic start of the read() in progress
        self._in_open = False
        self._unreachable = False  # the last open found nobody answering (see _wait_to_retry)
        self.early_retries = 0  # waits cut short because the server answered again
        self.frames_delivered = 0
        self.stale_frames_dropped = 0
        self._frame_callback_failed = False

    # -- public -----------------------------------------------------------------------------

    @property
    def status(self) -> CameraStatus | None:
        """The last reported status (None before :meth:`start`)."""
        return self._status

    @property
    def reason(self) -> str:
        return self._reason

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError(f"camera {self.camera_id} reader was already started")
        self._thread = threading.Thread(
            target=self._run, name=f"camera-reader-{self.camera_id}", daemon=False
        )
        self._watchdog.register(self)
        self._thread.start()

    def stop(self, timeout_s: float | None = None) -> bool:
        """Ask the thread to end and wait up to ``timeout_s`` (default ``join_timeout_s``).

        Returns True when the thread has ended. False means it is still inside a blocking
        OpenCV open/read; it ends by itself when that returns (see :meth:`join`).
        """
        with self._lock:
            self._stop.set()  # under the lock: no status report can follow this line
        self._watchdog.unregister(self)
        thread = self._thread
        if thread is None or thread is threading.current_thread():
            return thread is None
        thread.join(self.join_timeout_s if timeout_s is None else timeout_s)
        if thread.is_alive():
            log.warning(
                "camera %s: reader thread still blocked in %s of %s; it exits when that returns "
                "(bounded by the source's timeouts)",
                self.camera_id,
                "open" if self._in_open else "read",
                self.source.description,
            )
            return False
        return True

    def join(self, timeout_s: float | None = None) -> bool:
        """Wait for the thread to end (after :meth:`stop`); True when it has."""
        if self._thread is None:
            return True
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def is_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def check_stall(self) -> None:
        """Report ``STALLED`` if live and the current read has blocked ``stall_after_s``."""
        with self._lock:
            since = self._read_since
            if self._status is not CameraStatus.LIVE or since is None:
                return
            blocked_s = self._clock.monotonic() - since
            if blocked_s < self.stall_after_s:
                return
            self._set_status_locked(CameraStatus.STALLED, f"no frame for {blocked_s:.1f} s")

    def __enter__(self) -> CameraReader:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"CameraReader({self.camera_id!r}, {self.source.description}, {self._status})"

    # -- status -----------------------------------------------------------------------------

    def _set_status(self, status: CameraStatus, reason: str) -> None:
        with self._lock:
            self._set_status_locked(status, reason)

    def _set_status_locked(self, status: CameraStatus, reason: str) -> None:
        if self._stop.is_set():
            return
        reason = mask_credentials(reason)
        if status is self._status and reason == self._reason:
            return
        self._status, self._reason = status, reason
        change = StatusChange(self.camera_id, status, reason, self._clock.time())
        level = (
            logging.INFO
            if status in (CameraStatus.LIVE, CameraStatus.CONNECTING)
            else (logging.WARNING)
        )
        log.log(level, "camera %s %s: %s", self.camera_id, status, reason)
        try:
            self._on_status(change)
        except Exception:
            log.exception("camera %s: on_status callback failed", self.camera_id)

    # -- the thread -------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._read_forever()
        except BaseException:
            log.exception("camera %s: reader thread crashed", self.camera_id)
            self._set_status(CameraStatus.OFFLINE, "reader crashed (see log)")
        finally:
            with contextlib.suppress(Exception):
                self.source.close()
            log.debug("camera %s: reader thread ends", self.camera_id)

    def _read_forever(self) -> None:
        source = self.source
        self._set_status(CameraStatus.CONNECTING, f"opening {source.description}")
        attempt = 0
        while not self._stop.is_set():
            reason, got_frame = self._one_connection()
            if reason is None:  # stopped, or a file ended without looping
                return
            self._set_status(CameraStatus.OFFLINE, reason)
            if got_frame:
                attempt = 0  # frames arrived on this connection: start the backoff again
            delay = self.backoff.delay_s(attempt)
            attempt += 1
            log.debug("camera %s: retry in %.1f s (%s)", self.camera_id, delay, reason)
            if self._wait_to_retry(delay):
                return

    def _wait_to_retry(self, delay_s: float) -> bool:
        """Wait `delay_s` before the next open (True: stopped meanwhile). After an open that
        found nobody answering, the server is asked every `PROBE_EVERY_S` whether it answers
        again, and the wait ends as soon as it does."""
        if not self._unreachable or delay_s <= PROBE_EVERY_S:
            return self._clock.wait(self._stop, delay_s)
        end = self._clock.monotonic() + delay_s
        while (left := end - self._clock.monotonic()) > 0:
            if self._clock.wait(self._stop, min(PROBE_EVERY_S, left)):
                return True
            if end - self._clock.monotonic() <= 0:
                break
            if self.source.answers():
                self.early_retries += 1
                log.info("camera %s: %s answers again", self.camera_id, self.source.description)
                break
        return self._stop.is_set()

    def _one_connection(self) -> tuple[str | None, bool]:
        """Open and read until failure: (offline reason or None to finish, got a frame)."""
        source = self.source
        self._in_open = True
        self._unreachable = False
        try:
            source.open()
        except SourceUnreachableError as exc:
            self._unreachable = True
            return f"open failed: {exc}", False
        except SourceError as exc:
            return f"open failed: {exc}", False
        except Exception as exc:
            log.exception("camera %s: opening %s raised", self.camera_id, source.description)
            return f"open failed: {type(exc).__name__}: {exc}", False
        finally:
            self._in_open = False
        self._frame_callback_failed = False  # a new connection: judge delivery afresh
        got_frame = False
        try:
            while not self._stop.is_set():
                source.pace(self._stop)
                if self._stop.is_set():
                    break
                with self._lock:
                    self._read_since = self._clock.monotonic()
                try:
                    frame = source.read()
                finally:
                    with self._lock:
                        started, self._read_since = self._read_since, None
                if frame is None:
                    self._set_status(CameraStatus.OFFLINE, "end of file")
                    return None, got_frame
                if self._stop.is_set():
                    break
                blocked_s = self._clock.monotonic() - (started or 0.0)
                if not self._accept_frame(blocked_s):
                    continue
                got_frame = True
                self._deliver(frame)
        except SourceError as exc:
            return f"read failed: {exc}", got_frame
        except Exception as exc:
            log.exception("camera %s: reading %s raised", self.camera_id, source.description)
            return f"read failed: {type(exc).__name__}: {exc}", got_frame
        finally:
            source.close()
        return None, got_frame

    def _accept_frame(self, blocked_s: float) -> bool:
        """Decide whether a frame counts, and move to LIVE/STALLED accordingly."""
        with self._lock:
            if self._status in (CameraStatus.LIVE, CameraStatus.STALLED) and (
                blocked_s >= self.stall_after_s
            ):
                # A read that blocked this long may return an old buffered frame: report the
                # stall (if the watchdog has not yet) and wait for a prompt frame.
                self.stale_frames_dropped += 1
                self._set_status_locked(CameraStatus.STALLED, f"no frame for {blocked_s:.1f} s")
                return False
            if self._status is not CameraStatus.LIVE and not self._frame_callback_failed:
                was = self._status
                reason = "frames again" if was is CameraStatus.STALLED else "first frame"
                self._set_status_locked(
                    CameraStatus.LIVE, f"{reason} from {self.source.description}"
                )
            return True

    def _deliver(self, frame: Frame) -> None:
        """Hand a frame on. While ``on_frame`` fails the camera is not live (its frames go
        nowhere): ``OFFLINE`` with the error, once; ``LIVE`` again at the next frame it takes."""
        self.frames_delivered += 1
        try:
            self._on_frame(frame.image, frame.ts)
        except Exception as exc:
            if not self._frame_callback_failed:
                log.exception("camera %s: on_frame callback failed", self.camera_id)
                self._frame_callback_failed = True
                self._set_status(
                    CameraStatus.OFFLINE, f"frames not delivered: {type(exc).__name__}: {exc}"
                )
            return
        if self._frame_callback_failed:
            self._frame_callback_failed = False
            self._set_status(
                CameraStatus.LIVE, f"frames delivered again from {self.source.description}"
            )
