"""Hostile image files for tests, made in a few bytes: a PNG that declares any size (its header
is real, its pixels a few compressed rows: a reader that decodes before checking the size would
allocate width x height), and a real image cut short."""

from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np

__all__ = ["cut", "png_declaring", "real_jpeg", "real_png"]


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png_declaring(width: int, height: int) -> bytes:
    """A grey PNG whose IHDR says width x height; its data holds only the first rows."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (width + 1) * 4, 9)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", rows)
        + _chunk(b"IEND", b"")
    )


def _picture(width: int, height: int) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    return np.dstack([(x * 255 // width), (y * 255 // height), ((x + y) % 256)]).astype(np.uint8)


def real_png(width: int = 320, height: int = 240) -> bytes:
    return cv2.imencode(".png", _picture(width, height))[1].tobytes()


def real_jpeg(width: int = 320, height: int = 240) -> bytes:
    return cv2.imencode(".jpg", _picture(width, height))[1].tobytes()


def cut(data: bytes, fraction: float) -> bytes:
    """The first `fraction` of a file, as a crashed copy or a broken download leaves it."""
    return data[: int(len(data) * fraction)]
