"""Still images read with bounds: size checked from the file's header before any pixel is decoded,
and a file cut short refused instead of decoded into a grey half.

A 424 KB PNG can declare 20000 x 20000 pixels; decoded, that is 1.2 GB of BGR (2.47 GB was
measured in `nightwatch detect`). So the header is read first: PNG's IHDR, JPEG's SOF (both
parsed here, a few hundred bytes), other formats through Pillow's lazy open, which reads only the
header. Only an image within `ImageLimits` is decoded, by OpenCV.

A truncated JPEG decodes without an error (libjpeg fills the missing rows with grey and OpenCV
returns the image), so a person in the lost half would silently be "0 people". PNG and JPEG files
are therefore walked to their end first: a PNG must reach its IEND chunk, a JPEG must have an
end-of-image marker after its scan data. Other formats are decoded as they are.

Used for floor plans (`console.site_file`) and for `nightwatch detect`.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

__all__ = [
    "DEFAULT_LIMITS",
    "ImageHeader",
    "ImageLimits",
    "ImageRefused",
    "decode_image",
    "read_header",
    "read_image",
]


@dataclass(frozen=True, slots=True)
class ImageLimits:
    """The largest image decoded: bytes on disk, pixels a side, pixels in all."""

    max_bytes: int = 64 * 1024 * 1024
    max_side_px: int = 16384
    max_pixels: int = 64_000_000  # 8000 x 8000; 192 MB decoded as BGR


DEFAULT_LIMITS = ImageLimits()


class ImageRefused(ValueError):
    """An image that is not decoded; `reason` says why in words (the caller names the file).

    `too_large` tells a file over the limits from one that is damaged or no image at all.
    """

    def __init__(self, reason: str, *, too_large: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.too_large = too_large


@dataclass(frozen=True, slots=True)
class ImageHeader:
    format: str  # "PNG", "JPEG", or Pillow's name of the format
    width_px: int
    height_px: int


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_SOI = b"\xff\xd8"
# start-of-frame markers: C0-CF except C4 (Huffman tables), C8 (reserved), CC (arithmetic coding)
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_STANDALONE_MARKERS = frozenset([0x01, *range(0xD0, 0xD8)])  # TEM, RST0-7: no length


def read_image(
    path: str | Path, *, limits: ImageLimits = DEFAULT_LIMITS, flags: int = cv2.IMREAD_COLOR
) -> np.ndarray:
    """The image at `path`, decoded by OpenCV with `flags`, once its header is within `limits`.

    Raises FileNotFoundError when there is no file, OSError when it cannot be read, and
    `ImageRefused` when it is too large, truncated, damaged or no image.
    """
    path = Path(path)
    if not path.is_file():
        if path.exists():
            raise ImageRefused("not a file")
        raise FileNotFoundError(path)
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise ImageRefused(
            f"{_megabytes(size)} on disk, more than the {_megabytes(limits.max_bytes)} an image "
            "may have",
            too_large=True,
        )
    with path.open("rb") as stream:
        data = stream.read(limits.max_bytes + 1)
    return decode_image(data, limits=limits, flags=flags)


def decode_image(
    data: bytes, *, limits: ImageLimits = DEFAULT_LIMITS, flags: int = cv2.IMREAD_COLOR
) -> np.ndarray:
    """Decode an image's bytes, once its header is within `limits` and the file is whole."""
    if len(data) > limits.max_bytes:
        raise ImageRefused(
            f"more than the {_megabytes(limits.max_bytes)} an image may have", too_large=True
        )
    header = read_header(data)
    _check_limits(header, limits)
    image = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if image is None or image.size == 0:
        raise ImageRefused(f"damaged {header.format}: its pixels do not decode")
    return image


def read_header(data: bytes) -> ImageHeader:
    """The format and size an image's header declares, read without decoding any pixel.

    For PNG and JPEG, also checks that the file runs to its end (not truncated).
    """
    if not data:
        raise ImageRefused("empty file")
    if data.startswith(_PNG_SIGNATURE):
        return _png_header(data)
    if data.startswith(_SOI):
        return _jpeg_header(data)
    return _other_header(data)


def _png_header(data: bytes) -> ImageHeader:
    # chunks: length (4, big-endian), type (4), data (length), CRC (4); IHDR comes first
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise ImageRefused("damaged PNG: no IHDR header")
    width, height = struct.unpack(">II", data[16:24])
    at = 8
    while True:
        if at + 8 > len(data):
            raise ImageRefused("truncated PNG: it stops before its IEND chunk")
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind = data[at + 4 : at + 8]
        at += 12 + length
        if at > len(data):
            raise ImageRefused("truncated PNG: it stops inside a chunk")
        if kind == b"IEND":
            break
    if width == 0 or height == 0:
        raise ImageRefused(f"damaged PNG: it declares {width} x {height} px")
    return ImageHeader("PNG", width, height)


def _jpeg_header(data: bytes) -> ImageHeader:
    size: tuple[int, int] | None = None
    at = 2
    while True:
        # a marker: one or more 0xFF fill bytes, then its code (stray bytes before it are
        # skipped, as libjpeg does)
        marker = data.find(b"\xff", at)
        if marker < 0:
            raise ImageRefused("truncated JPEG: it stops inside its header")
        at = marker
        while at < len(data) and data[at] == 0xFF:
            at += 1
        if at >= len(data):
            raise ImageRefused("truncated JPEG: it stops inside its header")
        code = data[at]
        at += 1
        if code in _STANDALONE_MARKERS:
            continue
        if code == 0xD9:
            raise ImageRefused("damaged JPEG: it ends before any image data")
        if at + 2 > len(data):
            raise ImageRefused("truncated JPEG: it stops inside its header")
        (length,) = struct.unpack(">H", data[at : at + 2])
        if length < 2 or at + length > len(data):
            raise ImageRefused("truncated JPEG: it stops inside its header")
        if code in _SOF_MARKERS and length >= 7:
            height, width = struct.unpack(">HH", data[at + 3 : at + 7])
            size = (width, height)
        at += length
        if code == 0xDA:  # start of scan: entropy-coded data follows, up to the next marker
            break
    if size is None:
        raise ImageRefused("damaged JPEG: no frame header (SOF) before its image data")
    # In the scan data 0xFF is always followed by 0x00 or a restart marker, so an end-of-image
    # marker (FF D9) after the first scan is the real end (a thumbnail's lies before the scan).
    if data.find(b"\xff\xd9", at) < 0:
        raise ImageRefused("truncated JPEG: it has no end-of-image marker")
    width, height = size
    if width == 0 or height == 0:
        raise ImageRefused(f"damaged JPEG: it declares {width} x {height} px")
    return ImageHeader("JPEG", width, height)


def _other_header(data: bytes) -> ImageHeader:
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:  # pragma: no cover - Pillow comes with the dependencies
        raise ImageRefused("not a PNG or JPEG image") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:  # reads the header only
                width, height = image.size
                kind = image.format or "image"
    except Image.DecompressionBombError as exc:
        raise ImageRefused(f"far too many pixels ({exc})", too_large=True) from None
    except (UnidentifiedImageError, ImportError):
        # ImportError: once ultralytics is imported, its wrapper around Image.open tries an
        # optional HEIF plugin for files Pillow cannot identify
        raise ImageRefused("no known image format") from None
    except (OSError, SyntaxError, ValueError, struct.error) as exc:
        raise ImageRefused(f"damaged image ({exc})") from None
    return ImageHeader(kind, width, height)


def _check_limits(header: ImageHeader, limits: ImageLimits) -> None:
    width, height = header.width_px, header.height_px
    if max(width, height) > limits.max_side_px:
        raise ImageRefused(
            f"{width} x {height} px, more than {limits.max_side_px} px a side",
            too_large=True,
        )
    if width * height > limits.max_pixels:
        raise ImageRefused(
            f"{width} x {height} px ({width * height / 1e6:.0f} Mpx), more than "
            f"{limits.max_pixels / 1e6:.0f} Mpx",
            too_large=True,
        )


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB" if size < 10 * 1024 * 1024 else f"{size >> 20} MB"
