"""A clip with people blurred, as a derived copy (for exports; the kept clip is never changed).

    kept clip (.mkv) ──► decode (PyAV) ──► people(t, frame) ──► blur their boxes ──► encode ──► .mkv

Blurring means new pictures, so this is the one place where a clip is decoded and encoded again:
only for an export that asks for it, never for the live streams. Each frame keeps its own time
stamp (the clip's times stay wall-clock seconds since its start) and the clip's start tag is
copied, so the boxes of the original's overlay still fall on the copy. The encoder is H.264
(libx264) where the FFmpeg inside PyAV has it (its wheels do), else MPEG-4 part 2.

Who is blurred is the caller's choice: `people(t, frame)` returns, for the frame at `t` seconds
into the clip, the boxes to blur and the boxes to keep sharp (the incident's subject); a sharp
box wins where the two overlap. A box is pixelated to about eight cells of its height and then
smoothed, so a face of a person 80 px tall is a cell or two of flat colour.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from inference.clip_assembly import START_TAG

__all__ = ["BlurredClip", "ClipBlurError", "FramePeople", "blur_boxes", "blur_clip", "encoder"]

Box = Sequence[float]  # x1, y1, x2, y2 in the frame's pixels
CELLS_PER_HEIGHT = 8
ENCODERS = ("libx264", "mpeg4")  # in order of preference
X264_OPTIONS = {"crf": "20", "preset": "veryfast"}


class ClipBlurError(Exception):
    """The blurred copy could not be made (the message says why); nothing is left behind."""


@dataclass(frozen=True, slots=True)
class FramePeople:
    """Who is in one frame: boxes to blur, and boxes kept sharp (they win where both overlap)."""

    blur: Sequence[Box] = field(default_factory=list)
    sharp: Sequence[Box] = field(default_factory=list)


PeopleOf = Callable[[float, np.ndarray], FramePeople]  # (seconds into the clip, BGR frame)


@dataclass(frozen=True, slots=True)
class BlurredClip:
    frames: int
    blurred_boxes: int  # over all frames
    encoder: str
    size_bytes: int
    sha256: str


def encoder() -> str:
    """The first of ENCODERS that this PyAV can encode with."""
    import av

    for name in ENCODERS:
        try:
            av.codec.Codec(name, "w")
        except (av.codec.codec.UnknownCodecError, ValueError):
            continue
        return name
    raise ClipBlurError(f"PyAV has none of the encoders {', '.join(ENCODERS)}")


def _pixels(box: Box, width: int, height: int) -> tuple[int, int, int, int] | None:
    x1, y1, x2, y2 = (float(v) for v in box)
    left, top = max(0, int(np.floor(x1))), max(0, int(np.floor(y1)))
    right, bottom = min(width, int(np.ceil(x2))), min(height, int(np.ceil(y2)))
    if right - left < 2 or bottom - top < 2:
        return None
    return left, top, right, bottom


def blur_boxes(image: np.ndarray, blur: Sequence[Box], sharp: Sequence[Box] = ()) -> np.ndarray:
    """A copy of `image` with each `blur` box pixelated and smoothed, `sharp` boxes as they were."""
    height, width = image.shape[:2]
    out = image.copy()
    for box in blur:
        px = _pixels(box, width, height)
        if px is None:
            continue
        left, top, right, bottom = px
        w, h = right - left, bottom - top
        cell = max(4, h // CELLS_PER_HEIGHT)
        region = out[top:bottom, left:right]
        small = cv2.resize(
            region, (max(1, w // cell), max(1, h // cell)), interpolation=cv2.INTER_AREA
        )
        coarse = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
        out[top:bottom, left:right] = cv2.GaussianBlur(coarse, (0, 0), sigmaX=cell / 2)
    for box in sharp:
        px = _pixels(box, width, height)
        if px is not None:
            left, top, right, bottom = px
            out[top:bottom, left:right] = image[top:bottom, left:right]
    return out


def blur_clip(
    source: Path,
    target: Path,
    people: PeopleOf,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> BlurredClip:
    """Write to `target` (via `target.part`, renamed when complete) a copy of the clip `source`
    with the boxes `people` names blurred in every frame; returns what was written.
    `progress(frames done, frames expected)` is called every few frames. Raises
    `ClipBlurError` if the clip cannot be read or the copy written."""
    import av

    name = encoder()
    part = target.with_name(target.name + ".part")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        frames, boxes = _copy(source, part, name, people, progress, av)
        os.replace(part, target)
    except (av.FFmpegError, OSError, ValueError) as exc:
        with contextlib.suppress(OSError):
            part.unlink()
        raise ClipBlurError(f"{source.name}: the blurred copy could not be made: {exc}") from exc
    except BaseException:
        with contextlib.suppress(OSError):
            part.unlink()
        raise
    digest = hashlib.sha256()
    with target.open("rb") as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
    return BlurredClip(frames, boxes, name, target.stat().st_size, digest.hexdigest())


def _copy(
    source: Path,
    part: Path,
    name: str,
    people: PeopleOf,
    progress: Callable[[int, int], None] | None,
    av: Any,
) -> tuple[int, int]:
    frames = boxes = 0
    with av.open(str(source)) as reader, av.open(str(part), "w", format="matroska") as writer:
        stream = reader.streams.video[0]
        tb = stream.time_base
        if tb is None:
            raise ValueError("the video stream has no time base")
        rate = stream.average_rate or stream.guessed_rate or Fraction(25)
        expected = int(stream.frames or 0)
        if not expected and reader.duration:
            expected = int(reader.duration / av.time_base * float(rate))
        for key, value in reader.metadata.items():
            writer.metadata[key] = value
        start = reader.metadata.get(START_TAG) or stream.metadata.get(START_TAG)
        if start:
            writer.metadata[START_TAG] = start
        ctx = stream.codec_context
        out = writer.add_stream(name, rate=rate)
        out.width, out.height, out.pix_fmt = ctx.width & ~1, ctx.height & ~1, "yuv420p"
        out.time_base = tb
        if name == "libx264":
            out.options = dict(X264_OPTIONS)
        else:
            out.codec_context.bit_rate = max(2_000_000, out.width * out.height * 8)
        last_pts: int | None = None
        for frame in reader.decode(stream):
            if frame.pts is None:
                continue
            if last_pts is not None and frame.pts <= last_pts:
                continue  # an encoder takes strictly rising times
            last_pts = frame.pts
            image = frame.to_ndarray(format="bgr24")
            found = people(float(frame.pts * tb), image)
            boxes += len(found.blur)
            picture = blur_boxes(image, found.blur, found.sharp)
            if picture.shape[1] != out.width or picture.shape[0] != out.height:
                picture = np.ascontiguousarray(picture[: out.height, : out.width])
            copy = av.VideoFrame.from_ndarray(picture, format="bgr24")
            copy.pts = frame.pts
            copy.time_base = tb
            for packet in out.encode(copy):
                writer.mux(packet)
            frames += 1
            if progress is not None and frames % 10 == 0:
                progress(frames, max(expected, frames))
        for packet in out.encode():
            writer.mux(packet)
    if frames == 0:
        raise ValueError("no frame could be decoded")
    if progress is not None:
        progress(frames, frames)
    return frames, boxes
