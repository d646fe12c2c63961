"""The demo museum's building: rooms, the artworks in them, on a plan at 0.02 m per pixel.

Eight galleries in two rows of four, a corridor between them, the entrance hall on the west
side, the staff-only store and the staff entrance on the east side. Coordinates are plan pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "METRES_PER_PIXEL",
    "PLAN_SIZE_PX",
    "WALL_PX",
    "DemoArtwork",
    "DemoRoom",
    "Polygon",
    "box",
    "demo_layout",
]

PLAN_SIZE_PX = (2800, 1520)
METRES_PER_PIXEL = 0.02
WALL_PX = 10

Value = Literal["high", "medium", "low"]
PlinthKind = Literal["sculpture", "case"]
Polygon = tuple[tuple[float, float], ...]


def box(x1: float, y1: float, x2: float, y2: float) -> Polygon:
    """An axis-aligned rectangle as a polygon, clockwise from the top-left corner."""
    return ((x1, y1), (x2, y1), (x2, y2), (x1, y2))


@dataclass(frozen=True, slots=True)
class DemoArtwork:
    """A protected artwork of the demo; `seen` says whether a camera of its room sees it."""

    id: str
    name: str
    kind: Literal["painting", "sculpture", "case"]
    value: Literal["high", "medium", "low"]
    plan_polygon: Polygon
    min_distance_m: float
    seen: bool


@dataclass(frozen=True, slots=True)
class DemoRoom:
    id: str
    name: str
    short: str  # camera names: "<short> <n>"
    kind: Literal["gallery", "restricted", "exit", "corridor"]
    rect: tuple[int, int, int, int]  # x1, y1, x2, y2 on the plan (wall centre lines)
    armed: bool
    loiter_s: float | None
    camera_weight: int
    artworks: tuple[DemoArtwork, ...] = ()

    @property
    def zone_polygon(self) -> Polygon:
        x1, y1, x2, y2 = self.rect
        inset = WALL_PX
        return box(x1 + inset, y1 + inset, x2 - inset, y2 - inset)


def _wall_painting(
    ident: str, name: str, value: Literal["high", "medium", "low"], wall: str, rect: Sequence[int]
) -> DemoArtwork:
    """A painting hung on one wall of a room, 3 m wide, 0.1 m deep, centred on the wall."""
    x1, y1, x2, y2 = rect
    half, depth, gap = 75, 5, WALL_PX // 2 + 2
    cx, cy = (x1 + x2) // 2, (y1 + y2) // 2
    if wall == "north":
        poly = box(cx - half, y1 + gap, cx + half, y1 + gap + depth)
    elif wall == "south":
        poly = box(cx - half, y2 - gap - depth, cx + half, y2 - gap)
    elif wall == "west":
        poly = box(x1 + gap, cy - half, x1 + gap + depth, cy + half)
    else:
        poly = box(x2 - gap - depth, cy - half, x2 - gap, cy + half)
    return DemoArtwork(ident, name, "painting", value, poly, 1.0, True)


def _plinth(
    ident: str,
    name: str,
    kind: Literal["sculpture", "case"],
    value: Literal["high", "medium", "low"],
    centre: tuple[int, int],
    *,
    seen: bool,
) -> DemoArtwork:
    """A sculpture or case on a plinth, 1.2 m square (an octagon)."""
    cx, cy = centre
    r, c = 30, 12
    poly = (
        (cx - c, cy - r),
        (cx + c, cy - r),
        (cx + r, cy - c),
        (cx + r, cy + c),
        (cx + c, cy + r),
        (cx - c, cy + r),
        (cx - r, cy + c),
        (cx - r, cy - c),
    )
    return DemoArtwork(ident, name, kind, value, poly, 0.8, seen)


def demo_layout() -> tuple[DemoRoom, ...]:
    """The demo museum's rooms and artworks, in camera order (plan pixels, 0.02 m per pixel).

    Eight galleries in two rows of four, a corridor between them, the entrance hall on the west
    side, the staff-only store and the staff entrance on the east side.
    """
    top, corridor_top, corridor_bottom, bottom = 40, 640, 880, 1480
    xs = (400, 900, 1400, 1900, 2400)
    galleries: tuple[tuple[str, str, str, str, PlinthKind], ...] = (
        ("g1-dutch", "Gallery 1: Dutch Masters", "Dutch", "north", "sculpture"),
        ("g2-italian", "Gallery 2: Italian Renaissance", "Italian", "west", "sculpture"),
        ("g3-treasury", "Gallery 3: Treasury", "Treasury", "north", "case"),
        ("g4-sculpture", "Gallery 4: Sculpture Court", "Sculpture", "east", "sculpture"),
        ("g5-impressionists", "Gallery 5: Impressionists", "Impress.", "south", "sculpture"),
        ("g6-modern", "Gallery 6: Modern Art", "Modern", "west", "sculpture"),
        ("g7-prints", "Gallery 7: Prints and Drawings", "Prints", "south", "case"),
        ("g8-antiquities", "Gallery 8: Antiquities", "Antiq.", "east", "case"),
    )
    artworks: dict[str, tuple[tuple[str, str, Value], tuple[str, str]]] = {
        "g1-dutch": (("milkmaid", "The Milkmaid (copy)", "high"), ("bust", "Bust of a burgher")),
        "g2-italian": (("annunciation", "Annunciation", "high"), ("david", "David (cast)")),
        "g3-treasury": (
            ("regent-portrait", "The Regent's Portrait", "high"),
            ("jewels", "Crown jewels"),
        ),
        "g4-sculpture": (("relief", "Marble relief", "medium"), ("dancer", "Bronze dancer")),
        "g5-impressionists": (("water-lilies", "Water Lilies", "high"), ("ballerina", "Ballerina")),
        "g6-modern": (("composition", "Composition in Red", "medium"), ("torso", "Torso")),
        "g7-prints": (("self-portrait", "Self-portrait, etching", "medium"), ("folio", "Folio")),
        "g8-antiquities": (("mosaic", "Roman mosaic", "medium"), ("amphora", "Amphora")),
    }
    rooms: list[DemoRoom] = []
    for index, (ident, name, short, wall, kind) in enumerate(galleries):
        column = index % 4
        y1, y2 = (top, corridor_top) if index < 4 else (corridor_bottom, bottom)
        rect = (xs[column], y1, xs[column + 1], y2)
        (p_id, p_name, p_value), (s_id, s_name) = artworks[ident]
        centre = ((rect[0] + rect[2]) // 2 + 60, (rect[1] + rect[3]) // 2 + 40)
        # plinths are watched on the plan only, except in the treasury and the sculpture
        # court, where a second camera also sees the case or the sculpture
        treasury = ident == "g3-treasury"
        plinth_seen = treasury or ident == "g4-sculpture"
        rooms.append(
            DemoRoom(
                ident,
                name,
                short,
                "gallery",
                rect,
                armed=treasury,
                loiter_s=300.0,
                camera_weight=6,
                artworks=(
                    _wall_painting(p_id, p_name, p_value, wall, rect),
                    _plinth(
                        s_id,
                        s_name,
                        kind,
                        "high" if treasury else "medium",
                        centre,
                        seen=plinth_seen,
                    ),
                ),
            )
        )
    rooms.append(
        DemoRoom(
            "corridor",
            "Long corridor",
            "Corridor",
            "corridor",
            (400, corridor_top, 2400, corridor_bottom),
            armed=False,
            loiter_s=180.0,
            camera_weight=6,
        )
    )
    rooms.append(
        DemoRoom(
            "entrance-hall",
            "Entrance hall (guard desk)",
            "Hall",
            "gallery",
            (40, top, 400, bottom),
            armed=False,
            loiter_s=None,
            camera_weight=6,
        )
    )
    rooms.append(
        DemoRoom(
            "store",
            "Store (staff only)",
            "Store",
            "restricted",
            (2400, top, 2760, 760),
            armed=True,
            loiter_s=None,
            camera_weight=2,
        )
    )
    rooms.append(
        DemoRoom(
            "staff-entrance",
            "Staff entrance",
            "Staff door",
            "exit",
            (2400, 760, 2760, bottom),
            armed=True,
            loiter_s=60.0,
            camera_weight=2,
        )
    )
    return tuple(rooms)
