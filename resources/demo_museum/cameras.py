"""The demo museum's cameras: spread along each room's walls in proportion to its size, each
playing one of the demo clips (a room's cameras play different ones)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from resources.demo_museum.clips import CLIPS, ClipRecipe
from resources.demo_museum.layout import DemoRoom

__all__ = ["DEMO_CAMERAS", "MAX_CAMERAS", "DemoCamera", "place_cameras"]

DEMO_CAMERAS = 64
MAX_CAMERAS = 256


def _allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Whole cameras per room in proportion to the weights (largest remainders, in room order)."""
    whole = sum(weights)
    exact = [total * w / whole for w in weights]
    counts = [math.floor(e) for e in exact]
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _perimeter_points(rect: Sequence[int], count: int, inset: int = 30) -> list[tuple[int, int]]:
    """`count` points spread evenly along the inside of a room's walls (cameras hang there)."""
    x1, y1, x2, y2 = rect[0] + inset, rect[1] + inset, rect[2] - inset, rect[3] - inset
    w, h = x2 - x1, y2 - y1
    perimeter = 2 * (w + h)
    points: list[tuple[float, float]] = []
    for j in range(count):
        d = perimeter * (j + 0.5) / count
        if d < w:
            points.append((x1 + d, y1))
        elif d < w + h:
            points.append((x2, y1 + d - w))
        elif d < 2 * w + h:
            points.append((x2 - (d - w - h), y2))
        else:
            points.append((x1, y2 - (d - 2 * w - h)))
    return [(round(x), round(y)) for x, y in points]


@dataclass(frozen=True, slots=True)
class DemoCamera:
    id: str
    name: str
    room: DemoRoom
    clip: ClipRecipe
    plan_position: tuple[int, int]


def place_cameras(rooms: Sequence[DemoRoom], total: int) -> list[DemoCamera]:
    counts = _allocate(total, [r.camera_weight for r in rooms])
    cameras: list[DemoCamera] = []
    for room, count in zip(rooms, counts, strict=True):
        for j, position in enumerate(_perimeter_points(room.rect, count)):
            number = len(cameras)
            # consecutive cameras (one room's) get different clips, neighbours different looks
            clip = CLIPS[(number * 3) % len(CLIPS)]
            cameras.append(
                DemoCamera(f"cam-{number + 1:02d}", f"{room.short} {j + 1}", room, clip, position)
            )
    return cameras
