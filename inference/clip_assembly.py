"""An alarm's clip, put together from a camera's recorded segments without re-encoding.

    segments (inference.recording)  ──►  assemble_clip(segments, out, start, end)  ──►  one .mkv

The packets of the segments that cover [start, end] are copied into one Matroska file, as they
are (the `-c copy` of FFmpeg's concat demuxer, done with PyAV so the wall-clock time of every
packet is kept exactly): the clip begins at the last keyframe at or before `start` (a decoder
needs one), ends with the last packet at or before `end`, and its timestamps are wall-clock
seconds since its first packet, gaps included: a camera that was away for 4 s mid-clip leaves a
4 s gap, so a moment of the clip is always `ClipFacts.start + its time` on the wall clock (the
overlay of boxes relies on it). The clip's start is also written into the file's tags
(`NIGHTWATCH_START`, ISO 8601 UTC).

Nothing here touches a database: the console's evidence keeper runs this on its own worker
thread and hands only the row to the store.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from inference.recording import Segment

log = logging.getLogger(__name__)

__all__ = ["ClipError", "ClipFacts", "assemble_clip", "covering", "file_sha256", "read_clip_times"]

START_TAG = "NIGHTWATCH_START"
GAP_S = 1.0  # a hole between segments longer than this is listed as a gap


class ClipError(Exception):
    """No clip could be made (the message says why, in words)."""


@dataclass(frozen=True, slots=True)
class ClipFacts:
    start: float  # wall seconds of the clip's first packet (its time 0)
    end: float  # wall seconds of the end of its last packet
    codec: str
    width: int
    height: int
    packets: int
    keyframes: int
    size_bytes: int
    sha256: str
    gaps: tuple[tuple[float, float], ...] = ()  # wall spans with no recording
    note: str = ""  # what cut it short, in words


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def covering(segments: list[Segment], start: float, end: float) -> list[Segment]:
    """The segments a clip of [start, end] needs: from the newest one with a keyframe at or
    before `start` (else from the first one that overlaps) to the last that begins by `end`."""
    ordered = sorted(segments, key=lambda s: s.start)
    first = None
    for index, segment in enumerate(ordered):
        if segment.start > start:
            break
        if segment.first_key is not None and segment.first_key <= start:
            first = index
    if first is None:
        first = next((i for i, s in enumerate(ordered) if s.end > start), None)
        if first is None:
            return []
    return [s for s in ordered[first:] if s.start <= end]


def _start_keyframe(chosen: list[Segment], start: float) -> float | None:
    """The wall time of the last keyframe at or before `start` (or the first keyframe)."""
    import av

    best: float | None = None
    for segment in chosen:
        if segment.start > start and best is not None:
            break
        if segment.first_key is None:
            continue
        with av.open(str(segment.path)) as container:
            stream = container.streams.video[0]
            tb = stream.time_base
            if tb is None:
                raise ValueError("the video stream has no time base (not a readable recording)")
            for packet in container.demux(stream):
                if packet.dts is None or not packet.is_keyframe:
                    continue
                wall = segment.start + float(packet.dts * tb)
                if best is None or wall <= start:
                    best = wall
                if wall > start:
                    return best
    return best


def assemble_clip(
    segments: list[Segment], out: Path, start: float, end: float, *, title: str = ""
) -> ClipFacts:
    """Copy the packets of `segments` covering [start, end] (wall seconds) into `out` (written
    to `out.part`, fsynced, renamed); returns what was written. Raises `ClipError` when no
    segment covers the span or the segments cannot be read."""
    import av

    if end <= start:
        raise ClipError(f"the clip would end ({end:.3f}) before it starts ({start:.3f})")
    chosen = covering(segments, start, end)
    if not chosen:
        raise ClipError("nothing was recorded for that time")
    part = out.with_name(out.name + ".part")
    out.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        facts = _copy(chosen, part, start, end, title, av)
        fd = os.open(part, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(part, 0o600)
        os.replace(part, out)
        with contextlib.suppress(OSError):
            dfd = os.open(out.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
    except BaseException:
        with contextlib.suppress(OSError):
            part.unlink()
        raise
    size = out.stat().st_size
    return ClipFacts(**{**facts, "size_bytes": size, "sha256": file_sha256(out)})


def _copy(
    chosen: list[Segment], part: Path, start: float, end: float, title: str, av: Any
) -> dict[str, Any]:
    try:
        first_key = _start_keyframe(chosen, start)
    except (av.FFmpegError, OSError, IndexError) as exc:
        raise ClipError(f"the recorded segments cannot be read: {exc}") from None
    if first_key is None:
        raise ClipError("the recorded segments hold no keyframe to start from")
    output = av.open(str(part), "w", format="matroska")
    out_stream = None
    clip_start: float | None = None
    last_dts: int | None = None
    last_end = first_key
    packets = keyframes = 0
    codec, width, height = "", 0, 0
    gaps: list[tuple[float, float]] = []
    note = ""
    previous: Segment | None = None
    try:
        for segment in chosen:
            if segment.end <= first_key:
                continue
            if previous is not None and segment.start - previous.end > GAP_S:
                gaps.append((previous.end, segment.start))
            previous = segment
            try:
                container = av.open(str(segment.path))
            except (av.FFmpegError, OSError) as exc:
                note = f"segment {segment.path.name} could not be read ({exc}); the clip ends there"
                break
            with container:
                stream = container.streams.video[0]
                tb = stream.time_base
                ctx = stream.codec_context
                if out_stream is None:
                    out_stream = output.add_stream_from_template(stream)
                    codec, width, height = ctx.name, ctx.width, ctx.height
                    if title:
                        output.metadata["title"] = title
                elif (ctx.name, ctx.width, ctx.height) != (codec, width, height):
                    note = (
                        f"the stream changed at {_iso(segment.start)} to {ctx.name} "
                        f"{ctx.width}x{ctx.height}; the clip ends there"
                    )
                    break
                done = False
                for packet in container.demux(stream):
                    if packet.dts is None:
                        continue
                    wall = segment.start + float(packet.dts * tb)
                    if wall < first_key - 1e-6:
                        continue
                    if wall > end:
                        done = True
                        break
                    if clip_start is None:
                        if not packet.is_keyframe:
                            continue
                        clip_start = wall
                        output.metadata[START_TAG] = _iso(clip_start)
                    dts = round((wall - clip_start) / tb)
                    if last_dts is not None and dts <= last_dts:
                        continue  # overlapping segments: a packet already written
                    pts_wall = (
                        segment.start + float(packet.pts * tb) if packet.pts is not None else wall
                    )
                    duration = float(packet.duration * tb) if packet.duration else 0.0
                    packet.dts = dts
                    packet.pts = max(dts, round((pts_wall - clip_start) / tb))
                    packet.stream = out_stream
                    output.mux(packet)
                    last_dts = dts
                    packets += 1
                    keyframes += int(packet.is_keyframe)
                    last_end = max(last_end, pts_wall + duration)
                if done:
                    break
    finally:
        output.close()
    if clip_start is None or packets == 0:
        raise ClipError("the recorded segments hold no frame for that time")
    return {
        "start": clip_start,
        "end": last_end,
        "codec": codec,
        "width": width,
        "height": height,
        "packets": packets,
        "keyframes": keyframes,
        "gaps": tuple(gaps),
        "note": note,
    }


def _iso(wall: float) -> str:
    return datetime.fromtimestamp(wall, UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True)
class ClipTimes:
    """What a clip file says about itself, read back (tests, verification)."""

    start_tag: str | None  # NIGHTWATCH_START
    first_pts_s: float
    last_pts_s: float
    frames: int  # decoded end to end
    width: int
    height: int
    codec: str


def read_clip_times(path: Path, *, decode: bool = True) -> ClipTimes:
    """Open a clip with PyAV: its start tag, first and last frame times (seconds), and how many
    frames decode (every packet is decoded when `decode`)."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        tb = stream.time_base
        if tb is None:
            raise ValueError("the video stream has no time base (not a readable recording)")
        tag = container.metadata.get(START_TAG) or stream.metadata.get(START_TAG)
        first: float | None = None
        last = 0.0
        frames = 0
        if decode:
            for frame in container.decode(stream):
                if frame.pts is None:
                    continue
                t = float(frame.pts * tb)
                first = t if first is None else min(first, t)
                last = max(last, t)
                frames += 1
        else:
            for packet in container.demux(stream):
                if packet.pts is None:
                    continue
                t = float(packet.pts * tb)
                first = t if first is None else min(first, t)
                last = max(last, t)
        ctx = stream.codec_context
        return ClipTimes(tag, first or 0.0, last, frames, ctx.width, ctx.height, ctx.name)
