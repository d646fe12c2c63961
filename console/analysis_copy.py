"""The small copy of a judged frame that the image rules look at (the camera's own checks, the
protected objects' patches, the empty-gallery reference).

The core makes one for every frame it judges, on its own thread, so its cost is paid dozens of
times a second. OpenCV's area interpolation at a factor that is not a whole number (768 -> 320,
2.4x) takes its slow general path, about 2 ms a frame on the 2-core build machine; halving is
its fast path. So the copy is made by halving (area) while the frame is at least twice the
width wanted, then one bilinear step for the rest, a factor under 2, where bilinear skips no
pixel worth keeping. `bench/analysis_copy.py` (one thread, vtest.avi): 0.38 ms against 1.90 ms
at 768x576 (5.0x), 2.2x at 1920x1080; on average within 1.4 grey levels of the one-step area
copy (99% of pixels within 14, at edges). The references the checks compare against are made
from the same copies, so a check sees the same picture both times.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

ANALYSIS_WIDTH_PX = 320  # the frame copy the image rules look at (objects, health, statues)


def analysis_size(width: int, height: int) -> tuple[int, int]:
    """The copy's size: `ANALYSIS_WIDTH_PX` wide with the frame's aspect, or the frame's own
    size when it is no wider."""
    scale = min(1.0, ANALYSIS_WIDTH_PX / width)
    return max(1, int(width * scale)), max(1, int(height * scale))


def analysis_copy(image: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """`image` at `analysis_size`: halved while at least twice as large, then one bilinear
    step (the frame itself when it is small enough already)."""
    height, width = image.shape[:2]
    size = analysis_size(width, height)
    if size == (width, height):
        return image
    small = image
    while small.shape[1] >= 2 * size[0] and small.shape[0] >= 2 * size[1]:
        half = (small.shape[1] // 2, small.shape[0] // 2)
        small = np.asarray(cv2.resize(small, half, interpolation=cv2.INTER_AREA), np.uint8)
    if (small.shape[1], small.shape[0]) != size:
        small = np.asarray(cv2.resize(small, size, interpolation=cv2.INTER_LINEAR), np.uint8)
    return small
