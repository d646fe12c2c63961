"""Evidence recording: each camera's own compressed stream kept as short segments on disk, never
decoded, never encoded again.

    camera (rtsp:// | file) ──► recorder thread (PyAV demux, packets only) ──► <folder>/<camera>/
                                  │  a new segment at the first keyframe after `segment_s`
                                  ▼  (or at any packet after twice that: long keyframe gaps)
               1764470401250000-1764470403310000-1764470401250000.mkv   wall-clock µs: first
               1764470403310000-1764470405390000-x.mkv                  packet, end of the last,
               .1764470405390000.part.mkv  (being written)              first keyframe (x: none)

A recorder keeps the last `keep_s` seconds of its camera (older finished segments are deleted);
an alarm's clip is put together later from the segments that cover its moment
(`inference.clip_assembly`), starting at the last keyframe before it: the rolling deletion keeps
the newest segment with a keyframe older than `keep_s` and everything after it, so a stream whose
keyframes come 25 s apart (vtest.avi) still has one before every moment it kept. The segments
are Matroska, which takes every codec a camera or a demo file may carry (H.264, H.265, MJPEG,
MPEG-4 part 2, msmpeg4) as it is.

Wall-clock times. Each packet's time is its stream timestamp mapped to the wall clock once per
connection (the arrival of the first packet), so the camera's own clock spaces the frames. When
the mapped time strays more than `resync_s` from the wall clock (a stream that stalled and
caught up, a camera whose clock jumped), the mapping starts again in a new segment. A file
camera (the demo) is read at its own pace from the same start offset as the capture reads it,
looping like the capture; its pictures are the same file at about the same moment as the
capture's, not frame-locked to them (a restart of either shifts one against the other).

Processes. Recorders run as threads in spawned recorder processes (like the capture processes,
`cameras_per_process` cameras each), owned by `StreamRecorders`: its thread restarts a process
that dies with `RestartBackoff`, reports each camera's recording state (`RecorderStatus`) and a
dead process, and stops and joins (or kills) them all at `stop()`. USB cameras deliver raw or
MJPEG frames to the capture process, which holds the device; they have no stream a recorder
could keep, so they are reported `unavailable` and get no clip.

CPU: a recorder only demuxes and writes packets; `bench/recording.py` measures it against
decoding the same streams.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from inference.priority import BACKGROUND_NICE, checked_nice, run_as_background
from inference.processes import reap
from inference.restarts import RestartBackoff, RestartPolicy
from inference.sources import Backoff, mask_credentials, split_start
from inference.worker_pool import SPAWN

log = logging.getLogger(__name__)

__all__ = [
    "RecorderState",
    "RecorderStatus",
    "RecordingSettings",
    "RecordingSpec",
    "Segment",
    "SegmentRecorder",
    "StreamRecorders",
    "finished_segments",
    "recordable",
]

SEGMENT_SUFFIX = ".mkv"
_FINISHED = re.compile(r"^(?P<start>\d{10,20})-(?P<end>\d{10,20})-(?P<key>\d{10,20}|x)\.mkv$")
_PART = re.compile(r"^\.(?P<start>\d{10,20})\.part\.mkv$")
STREAM_SCHEMES = ("rtsp://", "rtsps://", "http://", "https://", "rtmp://")


class RecorderState(StrEnum):
    CONNECTING = "connecting"
    RECORDING = "recording"
    OFFLINE = "offline"  # cannot open or read the stream now; retried with back-off
    UNAVAILABLE = "unavailable"  # nothing to record (a USB camera): never retried


@dataclass(frozen=True, slots=True)
class RecorderStatus:
    """A camera's recorder changed state at wall time `at` (reason in words, credentials
    masked)."""

    camera_id: str
    state: RecorderState
    reason: str
    at: float


@dataclass(frozen=True, slots=True)
class RecordingSpec:
    """One camera to record: its stream (URL, video file with an optional `#t=` start, usb:N)."""

    camera_id: str
    source: str
    loop: bool = True  # files: start again at the end, like the capture


@dataclass(frozen=True, slots=True)
class RecordingSettings:
    segment_s: float = 2.0  # a new segment at the first keyframe after this long
    keep_s: float = 40.0  # finished segments older than this are deleted
    open_timeout_s: float = 5.0
    read_timeout_s: float = 5.0
    resync_s: float = 2.0  # re-map stream time to wall time when they drift this far apart
    cameras_per_process: int = 16
    restart_first_s: float = 0.5
    restart_max_s: float = 30.0
    # recorder processes run this much lower in CPU priority than the console
    # (inference/priority.py); 0: the same priority
    background_nice: int = BACKGROUND_NICE

    def __post_init__(self) -> None:
        checked_nice(self.background_nice)
        if not 0.5 <= self.segment_s <= 60:
            raise ValueError(f"segment_s must be 0.5..60 s, got {self.segment_s}")
        if self.keep_s < 3 * self.segment_s:
            raise ValueError(
                f"keep_s ({self.keep_s} s) must hold at least three segments "
                f"({3 * self.segment_s} s)"
            )


def recordable(source: str) -> str | None:
    """Why a camera source cannot be recorded, or None when it can."""
    text = source.strip()
    if text.lower().startswith("usb:"):
        return (
            "a USB camera delivers raw or MJPEG frames to the capture process, which holds the "
            "device: there is no compressed stream to keep, so its alarms have no clip"
        )
    return None


@dataclass(frozen=True, slots=True)
class Segment:
    """A finished segment: its file, the wall-clock span of its packets and the time of its
    first keyframe (None: it holds none; it decodes only after the segments before it)."""

    path: Path
    start: float
    end: float
    first_key: float | None = None


def finished_segments(folder: Path) -> list[Segment]:
    """A camera's finished segments, oldest first (files being written are not listed)."""
    found: list[Segment] = []
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return []
    for name in names:
        m = _FINISHED.match(name)
        if m:
            start, end = int(m.group("start")) / 1e6, int(m.group("end")) / 1e6
            key = None if m.group("key") == "x" else int(m.group("key")) / 1e6
            found.append(Segment(folder / name, start, end, key))
    found.sort(key=lambda s: s.start)
    return found


def segment_name(start: float, end: float, first_key: float | None) -> str:
    key = "x" if first_key is None else str(round(first_key * 1e6))
    return f"{round(start * 1e6)}-{round(end * 1e6)}-{key}{SEGMENT_SUFFIX}"


def prunable(segments: list[Segment], horizon: float) -> list[Segment]:
    """The segments that may go once everything before `horizon` is no longer needed: those
    before the newest segment that has a keyframe at or before the horizon (a clip of any
    moment after the horizon starts at that keyframe)."""
    keep_from = 0
    for index, segment in enumerate(segments):
        if segment.first_key is not None and segment.first_key <= horizon:
            keep_from = index
        if segment.start > horizon:
            break
    return segments[:keep_from]


# ---------------------------------------------------------------------------------------------
# one camera
# ---------------------------------------------------------------------------------------------


class RecordingError(Exception):
    """The stream could not be opened or read (the message is safe to show: masked)."""


class _WallClock:
    """Stream seconds -> wall seconds, anchored at the first packet of a connection."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self.anchor: tuple[float, float] | None = None  # (stream seconds, wall seconds)

    def wall(self, t: float) -> float:
        if self.anchor is None:
            self.anchor = (t, self._now())
        t0, wall0 = self.anchor
        return wall0 + (t - t0)

    def restart_at(self, t: float, wall: float) -> None:
        self.anchor = (t, wall)


class _SegmentWriter:
    """One segment file being written: packets rebased to its first decoding time."""

    def __init__(self, folder: Path, template: Any, start_wall: float, base_t: float) -> None:
        import av  # heavy: only where streams are recorded

        self.start_wall = start_wall
        self.base_t = base_t  # stream seconds at start_wall
        self.end_wall = start_wall
        self.first_key: float | None = None
        self.part = folder / f".{round(start_wall * 1e6)}.part{SEGMENT_SUFFIX}"
        self.folder = folder
        self.packets = 0
        self._out = av.open(str(self.part), "w", format="matroska")
        self._stream = self._out.add_stream_from_template(template)
        self._time_base = template.time_base

    def mux(self, packet: Any, t: float, wall: float, duration_s: float) -> None:
        offset = round(self.base_t / self._time_base)
        if packet.pts is not None:
            packet.pts -= offset
        if packet.dts is not None:
            packet.dts -= offset
        if packet.is_keyframe and self.first_key is None:
            self.first_key = wall
        packet.stream = self._stream
        self._out.mux(packet)
        self.packets += 1
        self.end_wall = max(self.end_wall, wall + max(duration_s, 0.0))

    def finish(self) -> Segment | None:
        """Close the file and give it its finished name (None: nothing was written)."""
        with contextlib.suppress(Exception):
            self._out.close()
        if self.packets == 0 or self.end_wall <= self.start_wall:
            with contextlib.suppress(OSError):
                self.part.unlink()
            return None
        final = self.folder / segment_name(self.start_wall, self.end_wall, self.first_key)
        try:
            os.replace(self.part, final)
        except OSError as exc:
            log.warning("segment %s not kept: %s", self.part, exc)
            return None
        return Segment(final, self.start_wall, self.end_wall, self.first_key)

    def abandon(self) -> None:
        with contextlib.suppress(Exception):
            self._out.close()
        with contextlib.suppress(OSError):
            self.part.unlink()


class SegmentRecorder:
    """Records one camera's stream into its folder on its own thread, until stopped.

    Opens the stream with PyAV (RTSP over TCP, bounded open and read times), writes packets as
    they come (files are paced at their own rate and looped), cuts a new segment at the first
    keyframe `segment_s` after the last cut (at any packet after twice that: a segment need not
    begin with a keyframe, clips are put together across segments), deletes finished segments
    older than `keep_s` (but never the last keyframe before that), and
    on any failure reports `offline` with the reason and tries again with back-off.
    """

    def __init__(
        self,
        spec: RecordingSpec,
        folder: Path,
        settings: RecordingSettings,
        on_status: Callable[[RecorderStatus], None],
        *,
        now: Callable[[], float] = time.time,
        backoff: Backoff | None = None,
    ) -> None:
        self.spec = spec
        self.folder = folder
        self.settings = settings
        self._on_status = on_status
        self._now = now
        self.backoff = backoff or Backoff(initial_s=0.5, max_s=10.0)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._state: RecorderState | None = None
        self._continuing = False
        self.segments_written = 0
        self.packets_written = 0
        path, self.start_s = split_start(spec.source)
        self.is_stream = spec.source.lower().startswith(STREAM_SCHEMES)
        self.target = spec.source if self.is_stream else path
        self.description = mask_credentials(spec.source)

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError(f"the recorder of {self.spec.camera_id} was started already")
        self._thread = threading.Thread(
            target=self._run, name=f"recorder-{self.spec.camera_id}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout_s: float = 6.0) -> bool:
        """Stop and join (a blocked read ends within the read timeout); True when it ended."""
        self._stop.set()
        if self._thread is None:
            return True
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    # -- status --------------------------------------------------------------------------------

    def _status(self, state: RecorderState, reason: str) -> None:
        reason = mask_credentials(reason)
        if state is self._state and state is not RecorderState.OFFLINE:
            return
        self._state = state
        level = logging.WARNING if state is RecorderState.OFFLINE else logging.INFO
        log.log(level, "recorder of %s %s: %s", self.spec.camera_id, state, reason)
        try:
            self._on_status(RecorderStatus(self.spec.camera_id, state, reason, self._now()))
        except Exception:
            log.exception("recorder of %s: status report failed", self.spec.camera_id)

    # -- the thread ----------------------------------------------------------------------------

    def _run(self) -> None:
        why_not = recordable(self.spec.source)
        if why_not is not None:
            self._status(RecorderState.UNAVAILABLE, why_not)
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            for name in os.listdir(self.folder):  # left by a recorder that was killed
                m = _PART.match(name)
                if m:
                    salvage(self.folder / name, int(m.group("start")) / 1e6)
        except OSError as exc:
            self._status(RecorderState.OFFLINE, f"cannot use {self.folder}: {exc.strerror}")
            return
        attempt = 0
        while not self._stop.is_set():
            self._status(RecorderState.CONNECTING, f"opening {self.description}")
            try:
                wrote = self._record_connection()
            except RecordingError as exc:
                wrote = False
                reason = str(exc)
            except Exception as exc:  # PyAV raises its own error types for broken streams
                wrote = False
                reason = f"{type(exc).__name__}: {exc}"
            else:
                if self._stop.is_set():
                    break
                reason = "the stream ended"
            self._status(RecorderState.OFFLINE, reason)
            attempt = 0 if wrote else attempt + 1
            if self._stop.wait(self.backoff.delay_s(attempt)):
                break

    def _open(self) -> Any:
        import av

        try:
            if self.is_stream:
                options = {"rtsp_transport": "tcp"} if self.target.startswith("rtsp") else {}
                return av.open(
                    self.target,
                    options=options,
                    timeout=(self.settings.open_timeout_s, self.settings.read_timeout_s),
                )
            return av.open(self.target)
        except (av.FFmpegError, OSError) as exc:
            raise RecordingError(f"cannot open {self.description}: {_said(exc)}") from None

    def _record_connection(self) -> bool:
        """One connection: read and write until it fails, ends or the recorder stops. True when
        packets were written (the back-off starts again)."""
        container = self._open()
        writer: _SegmentWriter | None = None
        wrote = False
        self._continuing = False  # a segment may begin without a keyframe: one came before
        try:
            if not container.streams.video:
                raise RecordingError(f"{self.description} has no video stream")
            stream = container.streams.video[0]
            time_base = stream.time_base
            if time_base is None:
                raise RecordingError(f"{self.description}: its video stream has no time base")
            rate = float(stream.average_rate or stream.guessed_rate or 25)
            frame_s = 1.0 / rate if rate > 0 else 0.04
            clock = _WallClock(self._now)
            if not self.is_stream and self.start_s > 0:
                with contextlib.suppress(Exception):
                    container.seek(round(self.start_s / time_base), stream=stream)
                # the capture shows the file from start_s now: the packets from the keyframe
                # before it are written at once, as the seconds just before now
                clock.restart_at(self.start_s, self._now())
            last_t: float | None = None
            last_wall: float | None = None
            passes = 0
            while not self._stop.is_set():
                looped = False
                for packet in container.demux(stream):
                    if self._stop.is_set():
                        break
                    if packet.dts is None and packet.pts is None:
                        continue  # the demuxer's flush packet
                    t = float((packet.dts if packet.dts is not None else packet.pts) * time_base)
                    if last_t is not None and last_wall is not None:
                        jumped = t < last_t or t - last_t > 5.0
                        if jumped:  # a rewind or a stream clock jump: map it anew
                            clock.restart_at(t, last_wall + frame_s)
                            self._cut(writer)
                            writer = None
                            self._continuing = False
                    wall = clock.wall(t)
                    if not self.is_stream:
                        delay = wall - self._now()
                        if delay > 0 and self._stop.wait(delay):
                            break
                    elif abs(self._now() - wall) > self.settings.resync_s:
                        clock.restart_at(t, self._now())
                        wall = clock.wall(t)
                        self._cut(writer)
                        writer = None
                        self._continuing = False
                    duration = float(packet.duration * time_base) if packet.duration else frame_s
                    if writer is not None:
                        age = wall - writer.start_wall
                        if (packet.is_keyframe and age >= self.settings.segment_s) or (
                            age >= 2 * self.settings.segment_s
                        ):
                            self._cut(writer)
                            writer = None
                    if writer is None:
                        if not packet.is_keyframe and not self._continuing:
                            last_t, last_wall = t, wall
                            continue  # a connection's first segment starts at a keyframe
                        writer = _SegmentWriter(self.folder, stream, wall, t)
                        self._continuing = True
                    writer.mux(packet, t, wall, duration)
                    self.packets_written += 1
                    if not wrote:
                        wrote = True
                        self._status(RecorderState.RECORDING, f"recording {self.description}")
                    last_t, last_wall = t, wall
                else:
                    looped = True
                if not looped or self.is_stream or not self.spec.loop:
                    break
                passes += 1
                try:
                    container.seek(0, stream=stream)
                except Exception as exc:
                    raise RecordingError(f"{self.description}: cannot rewind: {exc}") from None
                if passes > 1 and not wrote:
                    raise RecordingError(f"{self.description} has no keyframe to record from")
        finally:
            if writer is not None:
                self._cut(writer)
            with contextlib.suppress(Exception):
                container.close()
        return wrote

    def _cut(self, writer: _SegmentWriter | None) -> None:
        """Finish the segment being written (if any) and prune old ones; no writer follows."""
        if writer is None:
            return
        if writer.finish() is not None:
            self.segments_written += 1
        self._prune()

    def _prune(self) -> None:
        horizon = self._now() - self.settings.keep_s
        for segment in prunable(finished_segments(self.folder), horizon):
            with contextlib.suppress(OSError):
                segment.path.unlink()


def salvage(part: Path, start: float) -> Segment | None:
    """A segment a killed recorder left half-written: what can be read of it becomes a
    finished segment (Matroska is written as it goes; the muxer's last buffer is lost), the
    rest is deleted. Its packets keep the times they were written with."""
    import av

    end: float | None = None
    first_key: float | None = None
    try:
        with av.open(str(part)) as container:
            stream = container.streams.video[0]
            tb = stream.time_base
            if tb is None:
                raise ValueError("the video stream has no time base (not a readable recording)")
            for packet in container.demux(stream):
                if packet.dts is None:
                    continue
                wall = start + float(packet.dts * tb)
                if packet.is_keyframe and first_key is None:
                    first_key = wall
                duration = float(packet.duration * tb) if packet.duration else 0.0
                end = max(end or wall, wall + duration)
    except Exception as exc:  # a file cut anywhere: keep what was read before the cut
        log.info("segment %s was cut short (%s)", part.name, exc)
    if end is None or end <= start:
        with contextlib.suppress(OSError):
            part.unlink()
        return None
    final = part.with_name(segment_name(start, end, first_key))
    try:
        os.replace(part, final)
    except OSError:
        return None
    log.info("segment %s of a recorder that stopped abruptly kept as %s", part.name, final.name)
    return Segment(final, start, end, first_key)


def _said(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return mask_credentials(str(text))


# ---------------------------------------------------------------------------------------------
# recorder processes
# ---------------------------------------------------------------------------------------------


def recorder_host_main(
    host_id: int,
    specs: list[RecordingSpec],
    root: str,
    settings: RecordingSettings,
    pipe: Connection,
) -> None:
    """Entry point of a recorder process: record its cameras until told to stop (or orphaned)."""
    run_as_background(settings.background_nice, f"recorder process {host_id}")  # first thing
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the console decides when to stop
    parent = os.getppid()
    sending = threading.Lock()

    def report(status: RecorderStatus) -> None:
        with sending, contextlib.suppress(OSError):
            pipe.send(("status", host_id, status))

    recorders = [
        SegmentRecorder(spec, Path(root) / spec.camera_id, settings, report) for spec in specs
    ]
    try:
        for recorder in recorders:
            recorder.start()
        while True:
            try:
                if pipe.poll(0.5):
                    if pipe.recv() is None:
                        break
                elif os.getppid() != parent:
                    break  # the console is gone: do not linger
            except (EOFError, OSError):
                break
    finally:
        for recorder in recorders:
            recorder._stop.set()
        for recorder in recorders:
            recorder.stop(settings.read_timeout_s + 1.0)


@dataclass
class _Host:
    host_id: int
    specs: list[RecordingSpec]
    backoff: RestartBackoff
    process: Any = None
    pipe: Connection | None = None
    restart_at: float = 0.0
    restarts: int = 0


@dataclass
class _CameraRecording:
    state: RecorderState = RecorderState.CONNECTING
    reason: str = "starting"
    since: float = field(default_factory=time.time)


class StreamRecorders:
    """Owns the recorder processes of a site's cameras and the thread that supervises them.

        recorders = StreamRecorders(specs, folder, on_status=...)
        recorders.start()
        recorders.folder_of("cam-1")    # where its segments are
        recorders.stop()                # every process stopped and joined (or killed)

    `on_status(RecorderStatus)` is called on the supervising thread ("nightwatch-recorders")
    for every change of a camera's recording state, including `offline` for each camera of a
    recorder process that died (with the restart delay).
    """

    def __init__(
        self,
        specs: list[RecordingSpec],
        folder: Path,
        settings: RecordingSettings | None = None,
        *,
        on_status: Callable[[RecorderStatus], None] | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.settings = settings or RecordingSettings()
        self._on_status = on_status
        policy = RestartPolicy(self.settings.restart_first_s, self.settings.restart_max_s)
        self._unavailable = {s.camera_id: r for s in specs if (r := recordable(s.source))}
        recorded = [s for s in specs if s.camera_id not in self._unavailable]
        per = max(1, self.settings.cameras_per_process)
        self._hosts = [
            _Host(n, recorded[i : i + per], RestartBackoff(policy))
            for n, i in enumerate(range(0, len(recorded), per))
        ]
        self._cameras = {s.camera_id: _CameraRecording() for s in specs}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the recorders were started already")
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        for host in self._hosts:
            self._spawn(host)
        self._thread = threading.Thread(
            target=self._supervise, name="nightwatch-recorders", daemon=True
        )
        self._thread.start()
        for camera_id, reason in self._unavailable.items():
            self._set(RecorderStatus(camera_id, RecorderState.UNAVAILABLE, reason, time.time()))
        log.info(
            "evidence recorders started: %d cameras in %d processes, %d without a stream",
            sum(len(h.specs) for h in self._hosts),
            len(self._hosts),
            len(self._unavailable),
        )

    def stop(self, timeout_s: float | None = None) -> None:
        """Stop every recorder process (each closes its segment) and the supervising thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10.0)
            self._thread = None
        wait_s = timeout_s if timeout_s is not None else self.settings.read_timeout_s + 3.0
        for host in self._hosts:
            if host.pipe is not None:
                with contextlib.suppress(OSError):
                    host.pipe.send(None)
        for host in self._hosts:
            self._reap(host, wait_s)

    def __enter__(self) -> StreamRecorders:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what others ask -----------------------------------------------------------------------

    def folder_of(self, camera_id: str) -> Path:
        return self.folder / camera_id

    def status(self, camera_id: str) -> tuple[RecorderState, str, float]:
        with self._lock:
            cam = self._cameras[camera_id]
            return cam.state, cam.reason, cam.since

    def unavailable(self, camera_id: str) -> str | None:
        """Why this camera is never recorded (a USB camera), or None."""
        return self._unavailable.get(camera_id)

    def pids(self) -> list[int]:
        return [h.process.pid for h in self._hosts if h.process is not None]

    @property
    def camera_ids(self) -> list[str]:
        return list(self._cameras)

    # -- supervision ---------------------------------------------------------------------------

    def _spawn(self, host: _Host) -> None:
        ours, theirs = SPAWN.Pipe(duplex=True)
        host.pipe = ours
        host.process = SPAWN.Process(
            target=recorder_host_main,
            args=(host.host_id, host.specs, str(self.folder), self.settings, theirs),
            name=f"nightwatch-recorder-{host.host_id}",
            daemon=True,
        )
        host.process.start()
        theirs.close()
        host.backoff.started()

    def _reap(self, host: _Host, timeout_s: float) -> None:
        if host.process is None:
            return
        reap(host.process, host.pipe, timeout_s=timeout_s, name=f"recorder process {host.host_id}")
        host.process = None
        host.pipe = None

    def _supervise(self) -> None:
        while not self._stop.wait(0.2):
            try:
                self._drain()
                self._restart_dead()
            except Exception:  # keep supervising whatever one step did
                log.exception("recorder supervision step failed")

    def _drain(self) -> None:
        for host in self._hosts:
            while host.pipe is not None:
                try:
                    if not host.pipe.poll():
                        break
                    message = host.pipe.recv()
                except (EOFError, OSError, ValueError):
                    break  # the process died, perhaps mid-message: supervision restarts it
                except Exception:  # a message cut short by a kill does not unpickle
                    break
                if message[0] == "status":
                    self._set(message[2])

    def _restart_dead(self) -> None:
        now = time.monotonic()
        for host in self._hosts:
            if host.process is None:
                if now >= host.restart_at and not self._stop.is_set():
                    host.restarts += 1
                    log.info("recorder process %d restarted (#%d)", host.host_id, host.restarts)
                    self._spawn(host)
                continue
            if host.process.is_alive():
                continue
            code = host.process.exitcode
            delay = host.backoff.failed()
            self._reap(host, 1.0)
            host.restart_at = now + delay
            reason = f"recorder process exited (code {code}); restarting in {delay:.1f} s"
            log.warning("recorder process %d: %s", host.host_id, reason)
            for spec in host.specs:
                self._set(
                    RecorderStatus(spec.camera_id, RecorderState.OFFLINE, reason, time.time())
                )

    def _set(self, status: RecorderStatus) -> None:
        with self._lock:
            cam = self._cameras.get(status.camera_id)
            if cam is None:
                return
            cam.state, cam.reason, cam.since = status.state, status.reason, status.at
        if self._on_status is not None:
            try:
                self._on_status(status)
            except Exception:
                log.exception("recorder status listener failed")
