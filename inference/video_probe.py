"""Whether a file is a video a camera can play: its container named by its first bytes, then one
frame decoded by OpenCV, within a time bound.

A camera whose source is a text file, a photo or `/etc/passwd` would otherwise pass
`nightwatch check` and only fail once the console runs (OpenCV's FFmpeg backend even plays some
text files, as "tty" art, and a JPEG as a one-frame video). So the first bytes must be those of a
known video container; then the file must open and give one frame. Streams (RTSP, HTTP) and USB
cameras are not probed here: they are live, and `nightwatch watch` tries them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2

__all__ = [
    "DEFAULT_PROBE_TIMEOUT_S",
    "VideoProbe",
    "probe_video",
    "probe_video_file",
    "video_container",
]

DEFAULT_PROBE_TIMEOUT_S = 5.0
_HEAD_BYTES = 512

_ISO_BOXES = (b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot")
_STILL_IMAGES = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)
_MAGIC = (
    (b"\x1a\x45\xdf\xa3", "Matroska/WebM"),
    (b"\x00\x00\x01\xba", "MPEG program stream"),
    (b"\x00\x00\x01\xb3", "MPEG video"),
    (b"FLV\x01", "FLV"),
    (b"OggS", "Ogg"),
    (b"\x30\x26\xb2\x75\x8e\x66\xcf\x11", "ASF/WMV"),
    (b"YUV4MPEG2", "YUV4MPEG"),
    (b"\x06\x0e\x2b\x34\x02\x05\x01\x01", "MXF"),
    (b"DKIF", "IVF"),
    (b".RMF", "RealMedia"),
)


def video_container(head: bytes) -> str | None:
    """The video container the file's first bytes announce, or None."""
    if head[4:8] in _ISO_BOXES:
        return "MP4/QuickTime"
    if head[:4] == b"RIFF" and head[8:12] in (b"AVI ", b"AVIX"):
        return "AVI"
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    if head[:1] == b"\x47" and (len(head) <= 188 or head[188:189] == b"\x47"):
        return "MPEG transport stream"
    if head[4:5] == b"\x47" and (len(head) <= 196 or head[196:197] == b"\x47"):
        return "MPEG transport stream (M2TS)"
    if head.startswith((b"\x00\x00\x00\x01", b"\x00\x00\x01")):
        return "H.264/H.265 stream"
    return None


def _not_a_video(head: bytes) -> str:
    """Why a file whose first bytes name no video container is not one."""
    for magic, name in _STILL_IMAGES:
        if head.startswith(magic):
            return f"a still image ({name}), not a video"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "a still image (WebP), not a video"
    if b"\x00" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            text = exc.start >= len(head) - 3  # only a character cut at the end
        else:
            text = True
        if text:
            return "a text file, not a video"
    shown = " ".join(f"{b:02x}" for b in head[:8])
    return f"not a known video container (it starts with bytes {shown})"


@dataclass(frozen=True, slots=True)
class VideoProbe:
    """What probing a video file found: what is wrong with it (None: a video that gives a
    frame), and the (width, height) of its first frame when one decoded."""

    problem: str | None
    frame_size: tuple[int, int] | None = None


def probe_video_file(path: str | Path, *, timeout_s: float = DEFAULT_PROBE_TIMEOUT_S) -> str | None:
    """What is wrong with a video file, in words; None when it opens and gives a frame.

    Reads its first bytes, then opens it with OpenCV's FFmpeg backend (open and read bounded by
    `timeout_s`) and decodes one frame.
    """
    return probe_video(path, timeout_s=timeout_s).problem


def probe_video(path: str | Path, *, timeout_s: float = DEFAULT_PROBE_TIMEOUT_S) -> VideoProbe:
    """`probe_video_file`, also saying the first frame's size (to check image outlines)."""
    path = Path(path)
    try:
        with path.open("rb") as stream:
            head = stream.read(_HEAD_BYTES)
    except OSError as exc:
        return VideoProbe(f"cannot read the video file: {exc.strerror or exc}")
    if not head:
        return VideoProbe("an empty file, not a video")
    container = video_container(head)
    if container is None:
        return VideoProbe(_not_a_video(head))
    timeout_ms = max(1, round(timeout_s * 1000))
    params = [
        cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
        timeout_ms,
        cv2.CAP_PROP_READ_TIMEOUT_MSEC,
        timeout_ms,
    ]
    try:
        cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG, params)
    except cv2.error as exc:
        return VideoProbe(f"OpenCV cannot open this {container} file: {exc}")
    try:
        if not cap.isOpened():
            return VideoProbe(
                f"OpenCV cannot open this {container} file (damaged, or a codec it lacks)"
            )
        try:
            ok, frame = cap.read()
        except cv2.error as exc:
            return VideoProbe(f"no frame decodes from this {container} file: {exc}")
        if not ok or frame is None or frame.size == 0:
            return VideoProbe(
                f"no frame decodes from this {container} file (damaged, or a codec it lacks)"
            )
    finally:
        cap.release()
    return VideoProbe(None, (int(frame.shape[1]), int(frame.shape[0])))
