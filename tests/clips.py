"""Clips for tests: a flat grey clip encoded here (synthetic test footage, MPEG-4 part 2 in
Matroska, like a demo camera's packets; never a camera stream), and a clip kept in a real store
through its own write tasks, as the evidence worker keeps one."""

from __future__ import annotations

import hashlib
import shutil
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from console.store import KeepClip, OpenClip, Store
from console.store.clips import ClipRecord, clip_relative_path
from inference.clip_assembly import START_TAG

GREY = 128


def grey_clip(
    path: Path,
    start_at: datetime,
    seconds: float = 3.0,
    fps: int = 10,
    size: tuple[int, int] = (640, 360),
) -> Path:
    """A flat grey clip of `seconds` at `fps`, its start tagged as the evidence worker tags it."""
    import av

    width, height = size
    with av.open(str(path), "w", format="matroska") as out:
        out.metadata[START_TAG] = start_at.isoformat()
        stream = out.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = Fraction(1, fps)
        frame_data = np.full((height, width, 3), GREY, dtype=np.uint8)
        for n in range(round(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(frame_data, format="rgb24")
            frame.pts = n
            frame.time_base = Fraction(1, fps)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def keep_clip(
    store: Store,
    alarm_id: int,
    camera_id: str,
    source: Path,
    start_at: datetime,
    overlay: dict[str, Any] | None,
    seconds: float = 3.0,
    clip_id: int | None = None,
) -> ClipRecord:
    """The clip's row opened (unless `clip_id` is one being recorded), its file put in the
    file area, the row kept with its hash."""
    if clip_id is None:
        clip_id = (
            store.write(OpenClip(alarm_id, camera_id, start_at - timedelta(seconds=1), at=start_at))
            .result()
            .id
        )
    relative = clip_relative_path(alarm_id, camera_id, start_at)
    target = store.files.path(relative)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    data = target.read_bytes()
    return store.write(
        KeepClip(
            clip_id,
            relative,
            hashlib.sha256(data).hexdigest(),
            len(data),
            start_at,
            start_at + timedelta(seconds=seconds),
            start_at + timedelta(seconds=seconds),
            "mpeg4",
            640,
            360,
            overlay=overlay,
        )
    ).result()


def footage_clip(
    path: Path, source: Path, start_at: datetime, first: int, frames: int, fps: int = 10
) -> Path:
    """Real footage as a kept clip: `frames` frames of `source` (vtest.avi) from frame `first`,
    encoded here as MPEG-4 part 2 of high quality in Matroska, its start tagged as the evidence
    worker tags it (time 0 is `start_at`)."""
    import av
    import cv2

    capture = cv2.VideoCapture(str(source))
    try:
        capture.set(cv2.CAP_PROP_POS_FRAMES, first)
        with av.open(str(path), "w", format="matroska") as out:
            out.metadata[START_TAG] = start_at.isoformat()
            stream = None
            for n in range(frames):
                ok, image = capture.read()
                if not ok:
                    raise ValueError(f"{source}: ended before frame {first + n}")
                if stream is None:
                    stream = out.add_stream("mpeg4", rate=fps)
                    stream.width, stream.height = image.shape[1], image.shape[0]
                    stream.pix_fmt = "yuv420p"
                    stream.time_base = Fraction(1, fps)
                    stream.codec_context.bit_rate = 8_000_000
                frame = av.VideoFrame.from_ndarray(np.asarray(image, np.uint8), format="bgr24")
                frame.pts = n
                frame.time_base = Fraction(1, fps)
                for packet in stream.encode(frame):
                    out.mux(packet)
            assert stream is not None
            for packet in stream.encode():
                out.mux(packet)
    finally:
        capture.release()
    return path


def decoded_frames(path: Path) -> dict[float, np.ndarray]:
    """Every frame of a clip as BGR, by its time in seconds (rounded to milliseconds)."""
    import av

    frames: dict[float, np.ndarray] = {}
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.time_base is not None
        for frame in container.decode(stream):
            if frame.pts is not None:
                frames[round(float(frame.pts * stream.time_base), 3)] = frame.to_ndarray(
                    format="bgr24"
                )
    return frames
