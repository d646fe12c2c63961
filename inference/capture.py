"""Capture processes: each hosts the readers of a group of cameras and fills their frame rings.

Decoding runs in threads (OpenCV releases the GIL while it decodes, so threads scale like
processes for this work), grouped into a few processes so that one crashing decoder takes down
a group of cameras for a moment, never the console. The parent owns the rings, so they outlive
a capture process that is restarted.

For each decoded frame the capture thread measures motion (about 0.1 ms on a tiny
grayscale image) and publishes the frame with its motion share into the camera's ring; status
changes go to the parent over a queue as small `StatusChange` records.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import cv2
import numpy as np

from inference.frame_ring import FrameRing, FrameTooLarge
from inference.motion_gate import MotionGate
from inference.priority import run_as_background
from inference.sources import (
    CameraReader,
    CameraStatus,
    FrameSource,
    SourceError,
    StatusChange,
    parse_source,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CaptureAssignment:
    """One camera stream for a capture process to read into a ring."""

    camera_id: str
    source: str
    ring_name: str
    loop: bool = True
    pace: bool = True
    gate_motion: bool = True  # False for main streams: shown enlarged, never detected
    # Replay in lockstep: publish one frame per `lockstep_every_s` seconds of video, each only
    # once the pipeline has finished with the previous one, so every such frame is detected.
    lockstep_every_s: float | None = None


def fit_to_ring(frame: np.ndarray, max_bytes: int) -> np.ndarray:
    """Shrink a frame (keeping its aspect) until it fits the ring; most frames pass untouched."""
    if frame.nbytes <= max_bytes:
        return frame
    scale = (max_bytes / frame.nbytes) ** 0.5
    height, width = frame.shape[:2]
    size = (max(1, int(width * scale)), max(1, int(height * scale)))
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


class RingWriter:
    """The on_frame callback of one camera: motion gate, then publish into its ring.

    It keeps the camera's timeline going forward. The source's own time starts again where its
    pictures jump: a file reopened after an error or by a restarted capture process is at 0 s
    again, a live source's clock is mapped to wall time anew by a new reader (and the wall clock
    may have been stepped back meanwhile). Where the source's time would not be after the newest
    frame already in the ring (the ring outlives capture processes), the writer adds an offset:
    the rest of the segment continues from the ring's last time plus the real time that passed
    (at least one frame interval). Where the pictures jump (a new source segment, a new writer)
    it starts a new ring segment, so the tracker starts over without time going backwards. A
    camera's first pass keeps its source's time: video seconds from the file's start, as replay
    expects.

    In lockstep (replay) it publishes a frame every `lockstep_every_s` seconds of video and waits,
    before each, until the pipeline has consumed the previous one (or `stopping` is set).
    """

    def __init__(
        self,
        ring: FrameRing,
        gate: MotionGate | None,
        *,
        lockstep_every_s: float | None = None,
        stopping: threading.Event | None = None,
        source: FrameSource | None = None,
    ) -> None:
        self.ring = ring
        self.gate = gate
        self.lockstep_every_s = lockstep_every_s
        self.stopping = stopping or threading.Event()
        self.source = source
        self._next_ts = -math.inf
        self._warned = False
        self._source_segment: int | None = None  # None: no frame from this writer yet
        self.offset_s = 0.0  # added to the source's time in the current segment

    def timeline_ts(self, source_ts: float) -> float:
        """The camera's time for a frame the source stamped `source_ts` (see the class doc)."""
        segment = self.source.segment if self.source is not None else 0
        last = self.ring.last_ts
        behind = last is not None and source_ts + self.offset_s <= last
        if segment != self._source_segment or behind:
            self._source_segment = segment
            if behind:
                assert last is not None
                self.offset_s = last + self._gap_s() - source_ts
                log.info(
                    "camera %s: source time %.3f s is not after the camera's %.3f s; its "
                    "timeline continues at %.3f s",
                    self.ring.camera_id,
                    source_ts,
                    last,
                    source_ts + self.offset_s,
                )
            self.ring.begin_segment()
        return source_ts + self.offset_s

    def _gap_s(self) -> float:
        """Time between the ring's newest frame and the next: the real time since it was
        published, at least one frame interval of the source."""
        fps = getattr(self.source, "fps", None)
        interval = 1.0 / fps if isinstance(fps, float) and fps > 0 else 1e-3
        newest = self.ring.latest()
        passed = time.time() - newest.captured_at if newest is not None else 0.0
        return max(interval, passed)

    def __call__(self, frame: np.ndarray, source_ts: float) -> None:
        ts = self.timeline_ts(source_ts)
        if self.lockstep_every_s is not None:
            if ts < self._next_ts:
                return
            self._next_ts = ts + self.lockstep_every_s - 1e-6
            while self.ring.consumed_seq < self.ring.write_seq:
                if self.stopping.wait(0.002):
                    return
        fitted = fit_to_ring(frame, self.ring.max_frame_bytes)
        if fitted is not frame and not self._warned:
            self._warned = True
            log.warning(
                "camera %s: frames %s are larger than its ring; shrunk to %s",
                self.ring.camera_id,
                frame.shape,
                fitted.shape,
            )
        share = self.gate.measure(fitted) if self.gate is not None else 0.0
        moving = self.gate.is_moving(share) if self.gate is not None else False
        try:
            self.ring.publish(np.ascontiguousarray(fitted), ts, share, moving)
        except FrameTooLarge:  # rounding in fit_to_ring; never expected, never fatal
            log.exception("camera %s: frame dropped", self.ring.camera_id)


def capture_host_main(
    host_id: int,
    assignments: list[CaptureAssignment],
    pipe: Connection,
    source_options: dict[str, Any],
    nice: int = 0,
) -> None:
    """Entry point of a capture process: read cameras until told to stop (or orphaned).

    `pipe` is this process's private line to the pipeline: commands come in, status changes go
    out. Private, so that a capture process killed in the middle of a write breaks nothing but
    its own line. `nice`: how much lower than the console it runs (inference/priority.py)."""
    run_as_background(nice, f"capture process {host_id}")  # first: every thread, now and later
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    cv2.setNumThreads(1)
    parent = os.getppid()
    rings: dict[str, FrameRing] = {}
    readers: dict[str, CameraReader] = {}
    stopping = threading.Event()  # releases lockstep writers waiting for the pipeline
    sending = threading.Lock()  # reader threads and the stall watchdog report concurrently

    def report(change: StatusChange) -> None:
        with sending, contextlib.suppress(OSError):  # OSError: the pipeline is gone
            pipe.send(("status", host_id, change))

    def start(assignment: CaptureAssignment, key: str) -> None:
        try:
            source = parse_source(
                assignment.source, loop=assignment.loop, pace=assignment.pace, **source_options
            )
        except SourceError as exc:  # a broken camera URL: that camera is offline, not the host
            report(StatusChange(assignment.camera_id, CameraStatus.OFFLINE, str(exc), time.time()))
            return
        ring = FrameRing.attach(assignment.ring_name, assignment.camera_id)
        rings[key] = ring
        reader = CameraReader(
            assignment.camera_id,
            source,
            on_frame=RingWriter(
                ring,
                MotionGate() if assignment.gate_motion else None,
                lockstep_every_s=assignment.lockstep_every_s,
                stopping=stopping,
                source=source,
            ),
            on_status=report if assignment.gate_motion else _quiet,
        )
        readers[key] = reader
        reader.start()

    def stop(key: str) -> None:
        reader = readers.pop(key, None)
        if reader is not None:
            reader.stop()
        ring = rings.pop(key, None)
        if ring is not None:
            ring.close()

    try:
        for assignment in assignments:
            start(assignment, assignment.camera_id)
        with sending:
            pipe.send(("host-ready", host_id, len(assignments)))
        while True:
            try:
                if not pipe.poll(0.5):
                    if os.getppid() != parent:  # the console is gone: do not linger
                        break
                    continue
                command = pipe.recv()
            except (EOFError, OSError):  # the pipeline closed its end
                break
            if command is None:
                break
            verb, *rest = command
            if verb == "open-main":
                (assignment,) = rest
                stop(f"main:{assignment.camera_id}")
                start(assignment, f"main:{assignment.camera_id}")
            elif verb == "close-main":
                (camera_id,) = rest
                stop(f"main:{camera_id}")
            # a site applied without a restart (VisionPipeline.reconfigure): one camera comes,
            # goes, or opens its new source; the others' readers are not touched
            elif verb == "add":
                (assignment,) = rest
                stop(assignment.camera_id)
                start(assignment, assignment.camera_id)
            elif verb == "remove":
                (camera_id,) = rest
                stop(f"main:{camera_id}")
                stop(camera_id)
            elif verb == "restart":
                (assignment,) = rest
                stop(assignment.camera_id)
                start(assignment, assignment.camera_id)
    finally:
        stopping.set()
        for key in list(readers):
            with contextlib.suppress(Exception):
                stop(key)


def _quiet(change: StatusChange) -> None:
    log.debug("main stream of %s: %s (%s)", change.camera_id, change.status, change.reason)
