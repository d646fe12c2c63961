"""A person's appearance as a colour histogram of their box: enough to tell the visitor in the red
coat from the one in the grey one when they walk from one camera to the next, nothing that
identifies anybody (no face, no features, no picture), and kept in memory only, with the
visitor's record, until it expires.

    vector = appearance_vector(frame, (x1, y1, x2, y2))   # 40 numbers, or None (box too small)
    similarity(a, b)                                       # 0 (unalike) .. 1 (the same colours)

The box is cut from the frame and shrunk to 12x24 pixels (a bounded cost whatever the box's
size), split into the upper body (the coat, 15-55 % of the height) and the lower body (trousers,
skirt: 55-95 %; the head and the feet say little), and each part becomes a histogram of 20 bins:
8 hues x 2 brightness levels for coloured pixels, 4 grey levels for pixels with little colour
(an infrared or night camera gives only those). Each part sums to 1; `similarity` is the mean
Bhattacharyya coefficient of the two parts, `part_similarities` each part's own (a visitor in
the same coat but other trousers is alike in one part only: the follower asks both).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
from numpy.typing import NDArray

__all__ = [
    "APPEARANCE_SIZE",
    "appearance_vector",
    "appearances",
    "blend",
    "part_similarities",
    "similarity",
]

CROP_W, CROP_H = 12, 24
HUES = 8
GREYS = 4
PART_BINS = HUES * 2 + GREYS
APPEARANCE_SIZE = 2 * PART_BINS
MIN_BOX_PX = 8  # a box smaller than this (either side) says nothing of colour
SATURATION_MIN = 48  # below this (0-255) a pixel counts as grey
PARTS = ((0.15, 0.55), (0.55, 0.95))
MAX_BOXES = 64  # per frame: a bounded cost even in a crowd

Vector = NDArray[np.float32]


def appearance_vector(image: NDArray[np.uint8], box: Sequence[float]) -> Vector | None:
    """The appearance of the person in `box` (x1, y1, x2, y2 in the image's pixels), or None
    when the box is too small or outside the image. `image` is BGR (or grey)."""
    height, width = image.shape[:2]
    x1 = max(0, int(box[0]))
    y1 = max(0, int(box[1]))
    x2 = min(width, round(box[2]))
    y2 = min(height, round(box[3]))
    if x2 - x1 < MIN_BOX_PX or y2 - y1 < MIN_BOX_PX:
        return None
    crop = image[y1:y2, x1:x2]
    colour = cv2.cvtColor(crop, cv2.COLOR_GRAY2BGR) if crop.ndim == 2 else crop
    small = cv2.resize(colour, (CROP_W, CROP_H), interpolation=cv2.INTER_AREA)
    hsv: NDArray[np.uint8] = np.asarray(cv2.cvtColor(small, cv2.COLOR_BGR2HSV), dtype=np.uint8)
    parts = [_part_histogram(hsv[int(a * CROP_H) : int(b * CROP_H)]) for a, b in PARTS]
    return np.concatenate(parts).astype(np.float32)


def appearances(
    image: NDArray[np.uint8], boxes: Sequence[Sequence[float]], scale: float = 1.0
) -> list[Vector | None]:
    """`appearance_vector` of each box (boxes in frame pixels, `scale` maps them onto
    `image`); at most MAX_BOXES are measured, the rest are None."""
    out: list[Vector | None] = []
    for index, box in enumerate(boxes):
        if index >= MAX_BOXES:
            out.append(None)
            continue
        out.append(appearance_vector(image, [float(v) * scale for v in box]))
    return out


def _part_histogram(hsv: NDArray[np.uint8]) -> NDArray[np.float64]:
    pixels = hsv.reshape(-1, 3).astype(np.int32)
    hue, sat, val = pixels[:, 0], pixels[:, 1], pixels[:, 2]
    coloured = sat >= SATURATION_MIN
    bins = np.where(
        coloured,
        (hue * HUES // 180) * 2 + (val >= 128),
        HUES * 2 + np.minimum(val * GREYS // 256, GREYS - 1),
    )
    counts = np.bincount(bins, minlength=PART_BINS).astype(np.float64)
    total = counts.sum()
    return counts / total if total > 0 else counts


def part_similarities(a: Vector | None, b: Vector | None) -> tuple[float, ...] | None:
    """How alike each part (upper body, lower body) of two appearances is: 0 to 1 each (None
    when either is unknown)."""
    return part_similarities_many([a], b)[0]


def part_similarities_many(
    many: Sequence[Vector | None], b: Vector | None
) -> list[tuple[float, ...] | None]:
    """`part_similarities(a, b)` for each `a` of `many`, computed in one pass (a new track
    is compared with every visitor who could have walked into view)."""
    out: list[tuple[float, ...] | None] = [None] * len(many)
    if b is None:
        return out
    known = [i for i, a in enumerate(many) if a is not None]
    if not known:
        return out
    stacked = np.stack([many[i] for i in known])  # type: ignore[misc]  # None filtered out
    parts = np.minimum(
        np.sqrt(stacked * b).reshape(len(known), APPEARANCE_SIZE // PART_BINS, PART_BINS).sum(2),
        1.0,
    )
    for i, row in zip(known, parts.tolist(), strict=True):
        out[i] = tuple(row)
    return out


def similarity(a: Vector | None, b: Vector | None) -> float | None:
    """How alike two appearances are: 0 to 1, the mean of the parts' (None when either is
    unknown)."""
    parts = part_similarities(a, b)
    if parts is None:
        return None
    return min(1.0, sum(parts) / len(parts))


def blend(old: Vector | None, new: Vector | None, keep: float = 0.7) -> Vector | None:
    """A running appearance: mostly what it was, a little of the newest look."""
    if old is None:
        return new
    if new is None:
        return old
    return (keep * old + (1.0 - keep) * new).astype(np.float32)
