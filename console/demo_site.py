"""The demo museum: a floor plan, a site file and demo clips, generated once into the user's cache.

`build_demo_site()` writes a complete site that `load_site` accepts, in the cache folder beside
the fetched media (`~/.cache/nightwatch/demo-site/` by default):

    demo-site/
      README.txt           where the footage comes from and why it is never committed
      site.yaml            64 cameras over eight galleries, a corridor, an entrance hall,
                           a staff-only store and a staff entrance; artworks; guards; routes
      plans/ground.png     the floor plan, drawn with OpenCV (2800 x 1520 px, 0.02 m per pixel)
      clips/clip-N.mp4     eight 640x360 clips derived from vtest.avi (crop, mirror, time offset,
                           colour or infrared look), MPEG-4 part 2 ('mp4v')
      clips/manifest.json  the recipe the clips were made with (reused while it matches)

**Licence.** The clips are cut at run time from `vtest.avi` of Debian's `opencv-doc` package
(people walking on a campus path; it appears to come from the PETS 2009 data set: research use
with acknowledgement; its licence is unclear). They are derived into the user's cache, never
committed to the repository or bundled; `bash packaging/fetch-media.sh` fetches the source.

**What the demo shows within its first minute.** Every artwork with an `image_regions` entry has
its region placed on the part of its camera's clip where people really walk, so proximity alarms
arise in the first minute of the video (tests/unit/test_demo_site.py checks it with the offline
person detector). The opening hours carry a date exception that closes the museum on the day the
demo is built, so people in the armed zones (the treasury, the staff-only store, the staff
entrance) raise after-hours alarms at once. The other galleries are not armed: every demo camera
sees people all the time, and with every zone armed all 64 cameras would alarm together.

**Clips and cameras.** The file source has no start offset, so cameras that share a clip show the
same picture; the cameras of one room always use different clips. Decoding 640x360 'mp4v' costs
about 0.3 ms a frame here (MJPG: 0.7 ms, and five times the size), so 64 cameras at 10 frames/s
take about a fifth of one core.

Generation is deterministic (the same `now` gives byte-identical site.yaml and plan) and reuses
what is up to date: the clips are rebuilt only when their recipe or the source changed, the plan
and the site file are rewritten only when their content differs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

import cv2
import numpy as np

from console.media import FETCH_SCRIPT, MediaMissing, media_dir

log = logging.getLogger(__name__)

__all__ = [
    "CLIPS",
    "CLIP_SIZE_PX",
    "DEMO_CAMERAS",
    "SOURCE_CLIP",
    "ClipRecipe",
    "DemoArtwork",
    "build_demo_site",
    "clip_path",
    "default_demo_dir",
    "demo_layout",
]

RECIPE_VERSION = 1  # bump when the clips' recipe changes: cached clips are then rebuilt
SOURCE_CLIP = "vtest.avi"
SOURCE_SIZE_PX = (768, 576)
CLIP_SIZE_PX = (640, 360)
CLIP_FPS = 10.0
CLIP_CODEC = "mp4v"
CLIP_SUFFIX = ".mp4"
CLIP_OFFSET_SPREAD_S = 53  # start offsets of the cameras that watch no artwork, seconds
DEMO_CAMERAS = 64
MAX_CAMERAS = 256
SITE_TIMEZONE = "Europe/Amsterdam"

PLAN_SIZE_PX = (2800, 1520)
METRES_PER_PIXEL = 0.02
WALL_PX = 10
DOOR_PX = 80  # 1.6 m

Tone = Literal["colour", "infrared", "dim"]
Value = Literal["high", "medium", "low"]
PlinthKind = Literal["sculpture", "case"]
Polygon = tuple[tuple[float, float], ...]


# --------------------------------------------------------------------------- the clips


@dataclass(frozen=True, slots=True)
class ClipRecipe:
    """How one demo clip is cut from vtest.avi (768x576, 10 fps, 795 frames).

    `crop` is (x, y, width, height) in source pixels, 16:9, scaled to 640x360; `mirror` flips it
    left to right; the clip starts `offset_s` into the source and wraps around to its start;
    `tone` gives it a colour, infrared (grey) or dim night look. `spots` are the places in the
    source (pixels) where people walk within the clip's first minute: artworks are put there.
    """

    name: str
    crop: tuple[int, int, int, int]
    mirror: bool
    offset_s: float
    tone: Tone
    spots: tuple[Polygon, ...]

    def to_clip(self, points: Sequence[tuple[float, float]]) -> Polygon:
        """Source pixels -> this clip's pixels (rounded to whole pixels, inside the frame)."""
        x0, y0, w, h = self.crop
        sx, sy = CLIP_SIZE_PX[0] / w, CLIP_SIZE_PX[1] / h
        out = []
        for x, y in points:
            cx, cy = (x - x0) * sx, (y - y0) * sy
            if self.mirror:
                cx = CLIP_SIZE_PX[0] - cx
            out.append(
                (
                    float(min(max(round(cx), 0), CLIP_SIZE_PX[0] - 1)),
                    float(min(max(round(cy), 0), CLIP_SIZE_PX[1] - 1)),
                )
            )
        return tuple(out)

    def transform(self, frame: np.ndarray) -> np.ndarray:
        """One source frame (BGR) -> one clip frame (BGR, 640x360)."""
        x0, y0, w, h = self.crop
        out = cv2.resize(frame[y0 : y0 + h, x0 : x0 + w], CLIP_SIZE_PX, interpolation=_INTERP)
        if self.mirror:
            out = cv2.flip(out, 1)
        if self.tone == "infrared":
            grey = cv2.cvtColor(out, cv2.COLOR_BGR2GRAY)
            grey = cv2.LUT(grey, _IR_LUT)
            out = cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)
        elif self.tone == "dim":
            out = cv2.LUT(out, _DIM_LUT)
        return out


_INTERP = cv2.INTER_AREA
# infrared look: flat grey with lifted shadows; dim: darker, a little blue (night lighting)
_IR_LUT = np.clip(40 + np.arange(256) * 0.8, 0, 255).astype(np.uint8)
_DIM_LUT = np.stack(
    [
        np.clip(255 * (np.arange(256) / 255) ** 1.25 * f, 0, 255).astype(np.uint8)
        for f in (0.85, 0.72, 0.68)  # B, G, R
    ],
    axis=1,
).reshape(256, 1, 3)


def _box(x1: float, y1: float, x2: float, y2: float) -> Polygon:
    return ((x1, y1), (x2, y1), (x2, y2), (x1, y2))


def _spot(x: float, y: float) -> Polygon:
    """An 80x60 px place in the source, top-left corner at (x, y)."""
    return _box(x, y, x + 80, y + 60)


# Where people walk in vtest.avi, per clip (source pixels); chosen from where the offline person
# detector finds people within each clip's first minute (see tests/unit/test_demo_site.py).
CLIPS: tuple[ClipRecipe, ...] = (
    ClipRecipe(
        "clip-1", (0, 72, 768, 432), False, 0.0, "colour", (_spot(320, 192), _spot(456, 200))
    ),
    ClipRecipe(
        "clip-2", (0, 96, 640, 360), True, 10.0, "infrared", (_spot(272, 192), _spot(472, 200))
    ),
    ClipRecipe(
        "clip-3", (128, 60, 640, 360), False, 20.0, "colour", (_spot(256, 188), _spot(464, 188))
    ),
    ClipRecipe(
        "clip-4", (160, 90, 512, 288), True, 30.0, "colour", (_spot(272, 186), _spot(448, 186))
    ),
    ClipRecipe(
        "clip-5", (256, 60, 512, 288), False, 40.0, "infrared", (_spot(456, 196), _spot(320, 188))
    ),
    ClipRecipe(
        "clip-6", (64, 144, 704, 396), True, 50.0, "dim", (_spot(320, 192), _spot(456, 200))
    ),
    ClipRecipe(
        "clip-7", (0, 120, 512, 288), False, 60.0, "colour", (_spot(320, 192), _spot(152, 176))
    ),
    ClipRecipe(
        "clip-8", (96, 80, 576, 324), True, 70.0, "infrared", (_spot(320, 192), _spot(456, 200))
    ),
)


def clip_path(site_dir: Path, recipe: ClipRecipe) -> Path:
    return site_dir / "clips" / f"{recipe.name}{CLIP_SUFFIX}"


def _recipe_digest(source_size: int) -> str:
    recipe = {
        "version": RECIPE_VERSION,
        "source": {"name": SOURCE_CLIP, "bytes": source_size},
        "size": CLIP_SIZE_PX,
        "fps": CLIP_FPS,
        "codec": CLIP_CODEC,
        "clips": [
            {k: v for k, v in asdict(c).items() if k != "spots"} for c in CLIPS
        ],  # spots change the site file, not the clips
    }
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()


def _clips_up_to_date(site_dir: Path, source_size: int | None) -> bool:
    manifest = site_dir / "clips" / "manifest.json"
    try:
        recorded = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not all(clip_path(site_dir, c).is_file() for c in CLIPS):
        return False
    if source_size is None:  # the source is gone: keep clips made by this recipe version
        return recorded.get("version") == RECIPE_VERSION
    return recorded.get("digest") == _recipe_digest(source_size)


def _source_frames(cap: cv2.VideoCapture) -> Iterator[np.ndarray]:
    while True:
        ok, frame = cap.read()
        if not ok:
            return
        yield frame


def _write_clips(site_dir: Path, source: Path) -> None:
    """Cut every clip in two passes over the source: frames from each clip's offset to the end,
    then (a second decode of the source's beginning) the frames before its offset."""
    started = time.perf_counter()
    folder = site_dir / "clips"
    folder.mkdir(parents=True, exist_ok=True)
    fourcc = cv2.VideoWriter.fourcc(*CLIP_CODEC)
    temporary = {c.name: folder / f".{c.name}.partial{CLIP_SUFFIX}" for c in CLIPS}
    writers: dict[str, cv2.VideoWriter] = {}
    try:
        for recipe in CLIPS:
            writer = cv2.VideoWriter(str(temporary[recipe.name]), fourcc, CLIP_FPS, CLIP_SIZE_PX)
            if not writer.isOpened():
                raise RuntimeError(f"OpenCV cannot write {CLIP_CODEC!r} video into {folder}")
            writers[recipe.name] = writer
        offsets = {c.name: round(c.offset_s * CLIP_FPS) for c in CLIPS}
        count = 0
        cap = _open_source(source)
        try:
            for index, frame in enumerate(_source_frames(cap)):
                count += 1
                if count % 200 == 0:
                    log.info("demo clips: %d source frames cut (%.1f s)", count, _since(started))
                for recipe in CLIPS:
                    if index >= offsets[recipe.name]:
                        writers[recipe.name].write(recipe.transform(frame))
        finally:
            cap.release()
        if count == 0:
            raise RuntimeError(f"{source}: no frames could be decoded")
        log.info("demo clips: first pass done, %d source frames (%.1f s)", count, _since(started))
        head = max(offsets.values())
        cap = _open_source(source)
        try:
            for index, frame in enumerate(_source_frames(cap)):
                if index >= head:
                    break
                for recipe in CLIPS:
                    if index < min(offsets[recipe.name], count):
                        writers[recipe.name].write(recipe.transform(frame))
        finally:
            cap.release()
        for number, recipe in enumerate(CLIPS, start=1):
            writers.pop(recipe.name).release()
            os.replace(temporary[recipe.name], clip_path(site_dir, recipe))
            log.info("demo clip %d/%d written: %s", number, len(CLIPS), recipe.name)
    finally:
        for writer in writers.values():
            writer.release()
        for path in temporary.values():
            path.unlink(missing_ok=True)
    log.info("demo clips: %d clips in %.1f s", len(CLIPS), _since(started))


def _open_source(source: Path) -> cv2.VideoCapture:
    cap = cv2.VideoCapture(str(source))
    if not cap.isOpened():
        raise RuntimeError(f"{source}: OpenCV cannot open this video")
    return cap


def _since(started: float) -> float:
    return time.perf_counter() - started


# --------------------------------------------------------------------------- the building


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
        return _box(x1 + inset, y1 + inset, x2 - inset, y2 - inset)


def _wall_painting(
    ident: str, name: str, value: Literal["high", "medium", "low"], wall: str, rect: Sequence[int]
) -> DemoArtwork:
    """A painting hung on one wall of a room, 3 m wide, 0.1 m deep, centred on the wall."""
    x1, y1, x2, y2 = rect
    half, depth, gap = 75, 5, WALL_PX // 2 + 2
    cx, cy = (x1 + x2) // 2, (y1 + y2) // 2
    if wall == "north":
        poly = _box(cx - half, y1 + gap, cx + half, y1 + gap + depth)
    elif wall == "south":
        poly = _box(cx - half, y2 - gap - depth, cx + half, y2 - gap)
    elif wall == "west":
        poly = _box(x1 + gap, cy - half, x1 + gap + depth, cy + half)
    else:
        poly = _box(x2 - gap - depth, cy - half, x2 - gap, cy + half)
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
    points = []
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
class _DemoCamera:
    id: str
    name: str
    room: DemoRoom
    clip: ClipRecipe
    plan_position: tuple[int, int]


def _cameras(rooms: Sequence[DemoRoom], total: int) -> list[_DemoCamera]:
    counts = _allocate(total, [r.camera_weight for r in rooms])
    cameras: list[_DemoCamera] = []
    for room, count in zip(rooms, counts, strict=True):
        for j, position in enumerate(_perimeter_points(room.rect, count)):
            number = len(cameras)
            # consecutive cameras (one room's) get different clips, neighbours different looks
            clip = CLIPS[(number * 3) % len(CLIPS)]
            cameras.append(
                _DemoCamera(f"cam-{number + 1:02d}", f"{room.short} {j + 1}", room, clip, position)
            )
    return cameras


# --------------------------------------------------------------------------- the plan image

_PLAN_BG = (24, 20, 17)  # BGR, outside the building
_PLAN_FLOOR = (43, 36, 30)
_PLAN_RESTRICTED = (38, 33, 48)
_PLAN_WALL = (160, 150, 140)
_PLAN_TEXT = (212, 204, 197)
_PLAN_MUTED = (150, 138, 127)


def _draw_plan(rooms: Sequence[DemoRoom]) -> np.ndarray:
    width, height = PLAN_SIZE_PX
    plan = np.zeros((height, width, 3), np.uint8)
    plan[:] = _PLAN_BG
    for room in rooms:
        x1, y1, x2, y2 = room.rect
        colour = _PLAN_RESTRICTED if room.kind == "restricted" else _PLAN_FLOOR
        cv2.rectangle(plan, (x1, y1), (x2, y2), colour, -1)
        if room.kind == "restricted":  # hatched: staff only
            inside = plan[y1:y2, x1:x2]  # a view: lines are clipped to the room
            h = y2 - y1
            for k in range(-h, x2 - x1, 40):
                cv2.line(inside, (k, h), (k + h, 0), (52, 45, 66), 2, cv2.LINE_AA)
    for room in rooms:
        x1, y1, x2, y2 = room.rect
        cv2.rectangle(plan, (x1, y1), (x2, y2), _PLAN_WALL, WALL_PX)
    _cut_doors(plan, rooms)
    for room in rooms:
        _label(plan, room)
    _entrance_arrow(plan, (40, 760), "Main entrance", to_left=True)
    _entrance_arrow(plan, (2760, 1120), "Staff entrance", to_left=False)
    _scale_bar(plan, (2360, 1505))
    cv2.putText(
        plan,
        "Nightwatch demo museum - ground floor",
        (40, 1508),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.6,
        _PLAN_MUTED,
        1,
        cv2.LINE_AA,
    )
    return plan


def _door(plan: np.ndarray, centre: tuple[int, int], vertical: bool, span: int = DOOR_PX) -> None:
    x, y = centre
    half = span // 2
    t = WALL_PX // 2 + 1
    if vertical:  # a door in a vertical wall
        cv2.rectangle(plan, (x - t, y - half), (x + t, y + half), _PLAN_FLOOR, -1)
    else:
        cv2.rectangle(plan, (x - half, y - t), (x + half, y + t), _PLAN_FLOOR, -1)


def _cut_doors(plan: np.ndarray, rooms: Sequence[DemoRoom]) -> None:
    for room in rooms:
        if room.kind != "gallery" or room.id == "entrance-hall":
            continue
        x1, y1, x2, y2 = room.rect
        cx = (x1 + x2) // 2
        _door(plan, (cx, y2 if y1 < 640 else y1), vertical=False, span=160)  # to the corridor
        if x2 < 2400:
            _door(plan, (x2, (y1 + y2) // 2), vertical=True)  # to the next gallery
    _door(plan, (400, 760), vertical=True, span=200)  # hall -> corridor
    _door(plan, (400, 340), vertical=True)  # hall -> gallery 1
    _door(plan, (400, 1180), vertical=True)  # hall -> gallery 5
    _door(plan, (2400, 700), vertical=True)  # corridor -> store
    _door(plan, (2400, 820), vertical=True)  # corridor -> staff entrance
    _door(plan, (40, 760), vertical=True, span=200)  # main entrance
    _door(plan, (2760, 1120), vertical=True, span=120)  # staff entrance


def _label(plan: np.ndarray, room: DemoRoom) -> None:
    x1, y1, x2, _ = room.rect
    head, sep, rest = room.name.partition(": ")
    if not sep:
        head, sep, rest = room.name.partition(" (")
        rest = f"({rest}" if sep else rest
    lines = [head, rest] if rest else [head]
    if room.kind == "restricted":
        lines = [head, "STAFF ONLY"]
    y = y1 + 44
    for k, line in enumerate(lines):
        scale = 0.9 if k == 0 else 0.7
        (w, _), _ = cv2.getTextSize(line, cv2.FONT_HERSHEY_SIMPLEX, scale, 2)
        x = max(x1 + 16, (x1 + x2) // 2 - w // 2)
        cv2.putText(plan, line, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, _PLAN_TEXT, 2, cv2.LINE_AA)
        y += 34


def _entrance_arrow(plan: np.ndarray, at: tuple[int, int], text: str, *, to_left: bool) -> None:
    x, y = at
    start, end = ((x - 30, y), (x + 70, y)) if to_left else ((x + 30, y), (x - 70, y))
    cv2.arrowedLine(plan, start, end, _PLAN_TEXT, 3, cv2.LINE_AA, tipLength=0.3)
    (w, _), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.7, 2)
    tx = x + 24 if to_left else x - 24 - w
    cv2.putText(plan, text, (tx, y - 30), cv2.FONT_HERSHEY_SIMPLEX, 0.7, _PLAN_TEXT, 2, cv2.LINE_AA)


def _scale_bar(plan: np.ndarray, right_end: tuple[int, int]) -> None:
    x2, y = right_end
    length = round(5 / METRES_PER_PIXEL)  # 5 m
    x1 = x2 - length
    cv2.line(plan, (x1, y), (x2, y), _PLAN_TEXT, 3)
    for x in (x1, x2):
        cv2.line(plan, (x, y - 8), (x, y + 8), _PLAN_TEXT, 3)
    cv2.putText(
        plan, "5 m", (x1 - 60, y + 7), cv2.FONT_HERSHEY_SIMPLEX, 0.6, _PLAN_TEXT, 1, cv2.LINE_AA
    )


# --------------------------------------------------------------------------- the site file


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}".rstrip("0")


def _points(points: Sequence[Sequence[float]]) -> str:
    return "[" + ", ".join(f"[{_num(x)}, {_num(y)}]" for x, y in points) + "]"


def _quoted(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a valid YAML scalar


def _site_yaml(cameras: Sequence[_DemoCamera], rooms: Sequence[DemoRoom], today: str) -> str:
    seen_by: dict[str, _DemoCamera] = {}
    spot_of: dict[str, int] = {}
    for room in rooms:
        room_cameras = [c for c in cameras if c.room.id == room.id]
        watched = [a for a in room.artworks if a.seen]
        # cameras three apart in the room see its artworks (a different one in each room)
        for k, art in enumerate(watched):
            if room_cameras:
                pick = (k * 3 + len(seen_by)) % len(room_cameras)
                seen_by[art.id] = room_cameras[pick]
                spot_of[art.id] = k + len(spot_of)  # vary the place between rooms
    out: list[str] = []
    emit = out.append
    emit("# Nightwatch demo museum (format version 1), generated by console/demo_site.py.")
    emit("# Do not edit: `nightwatch demo` rewrites this file when its recipe changes.")
    emit("#")
    emit("# The camera clips in clips/ are cut at run time from vtest.avi (Debian's opencv-doc;")
    emit("# it appears to come from PETS 2009: research use with acknowledgement, licence")
    emit("# unclear). They live in the user's cache only and are never committed or bundled.")
    emit("version: 1")
    emit("")
    emit("site:")
    emit("  name: Nightwatch Demo Museum")
    emit(f"  timezone: {SITE_TIMEZONE}")
    emit("")
    emit("opening_hours:")
    emit("  mon: closed")
    for day in ("tue", "wed", "fri", "sat", "sun"):
        emit(f'  {day}: "10:00-17:00"')
    emit('  thu: "10:00-21:00"')
    emit("  exceptions:")
    emit("    # The demo closes the museum on the day it is built, so that people in the armed")
    emit("    # zones (treasury, store, staff entrance) raise after-hours alarms at once.")
    emit(f"    - date: {today}")
    emit("      hours: closed")
    emit('      note: "demo: closed all day, so after-hours alarms arise in the first minute"')
    emit("")
    emit("floors:")
    emit("  - id: ground")
    emit("    name: Ground floor")
    emit("    plan: plans/ground.png")
    emit(f"    metres_per_pixel: {_num(METRES_PER_PIXEL)}")
    emit("")
    emit("cameras:")
    emit("  # 640x360 demo clips; cameras of one room play different clips. Uncalibrated: their")
    emit("  # zone is the room they hang in, proximity is judged in the image (image_regions).")
    watching = {cam.id for cam in seen_by.values()}
    for number, cam in enumerate(cameras):
        emit(f"  - id: {cam.id}")
        emit(f"    name: {_quoted(cam.name)}")
        emit("    floor: ground")
        # cameras on one clip start at different moments, so no two tiles show the same
        # picture; cameras watching an artwork start at 0, where people reach it within a minute
        start = "" if cam.id in watching else f"#t={(number * 7) % CLIP_OFFSET_SPREAD_S}"
        emit(f"    source: clips/{cam.clip.name}{CLIP_SUFFIX}{start}")
        emit(f"    plan_position: {_points([cam.plan_position])[1:-1]}")
    emit("")
    emit("protected_objects:")
    for room in rooms:
        for art in room.artworks:
            emit(f"  - id: {art.id}")
            emit(f"    name: {_quoted(art.name)}")
            emit("    floor: ground")
            emit(f"    kind: {art.kind}")
            emit(f"    value: {art.value}")
            emit(f"    plan_polygon: {_points(art.plan_polygon)}")
            emit(f"    min_distance_m: {_num(art.min_distance_m)}")
            cam = seen_by.get(art.id)
            if cam is not None:
                spots = cam.clip.spots
                region = cam.clip.to_clip(spots[spot_of[art.id] % len(spots)])
                emit(f"    image_regions:  # where people walk in {cam.clip.name}'s first minute")
                emit(f"      {cam.id}: {_points(region)}")
    emit("")
    emit("zones:")
    emit("  # Only the treasury, the store and the staff entrance are armed: every demo camera")
    emit("  # sees people all the time, and with every gallery armed all cameras would alarm.")
    for room in rooms:
        emit(f"  - id: {room.id}")
        emit(f"    name: {_quoted(room.name)}")
        emit("    floor: ground")
        emit(f"    kind: {room.kind}")
        emit(f"    plan_polygon: {_points(room.zone_polygon)}")
        if room.loiter_s is not None:
            emit(f"    loiter_s: {_num(room.loiter_s)}")
        emit(f"    armed: {'true' if room.armed else 'false'}")
    emit("")
    emit("rules:")
    emit("  proximity: {enabled: true, dwell_s: 0.5}")
    emit("  after_hours: {enabled: true, dwell_s: 1.0}")
    emit("  loitering: {enabled: true}")
    emit("  restricted: {enabled: true, dwell_s: 0.5}")
    emit("  object_missing: {enabled: true, check_every_s: 30}")
    emit("  camera_health: {enabled: true, video_loss_s: 10, frozen_s: 30}")
    emit("")
    emit("alarms:")
    emit("  escalate_after_s: {high: 30, medium: 60, low: 300}")
    emit("")
    emit("alert_routes:")
    emit("  - match: {severity: [high]}")
    emit("    to: [control_room, gallery]")
    emit("  - match: {severity: [medium, low]}")
    emit("    to: [control_room]")
    emit("  - match: {zones: [store, staff-entrance]}")
    emit("    to: [control_room, gallery]")
    emit("")
    emit("guards:")
    for ident, name, post in (
        ("g-anna", "Anna", "Entrance hall desk"),
        ("g-ben", "Ben", "West wing (galleries 1, 2, 5, 6)"),
        ("g-chloe", "Chloe", "East wing (galleries 3, 4, 7, 8)"),
        ("g-dev", "Dev", "Store and staff entrance"),
    ):
        emit(f"  - id: {ident}")
        emit(f"    name: {name}")
        emit(f"    post: {_quoted(post)}")
    return "\n".join(out) + "\n"


_README = """\
Nightwatch demo museum (generated by console/demo_site.py; `nightwatch demo` runs it)

site.yaml         the site file: 64 cameras, galleries, artworks, zones, guards, alert routes
plans/ground.png  the floor plan (drawn with OpenCV, 0.02 m per pixel)
clips/*.mp4       demo camera clips, 640x360, 10 frames/s, MPEG-4 part 2

The clips are derived at run time from vtest.avi, a sample video of Debian's opencv-doc
package (fetched by `bash packaging/fetch-media.sh`). It appears to come from the PETS 2009
data set (research use with acknowledgement); its licence is unclear, so neither it nor these
clips are ever committed or bundled with Nightwatch. Footage: PETS 2009 via OpenCV's samples.
Delete this folder at any time; it is rebuilt on the next demo start.
"""


# --------------------------------------------------------------------------- building


def default_demo_dir() -> Path:
    """`<cache>/nightwatch/demo-site`, beside the fetched media folder."""
    return media_dir().parent / "demo-site"


def _write_if_changed(path: Path, data: bytes) -> bool:
    try:
        if path.read_bytes() == data:
            return False
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
    return True


def _find_source(source: Path | None) -> Path | None:
    path = source if source is not None else media_dir() / SOURCE_CLIP
    return path if path.is_file() else None


def build_demo_site(
    dest: Path | None = None,
    cameras: int = DEMO_CAMERAS,
    now: datetime | None = None,
    *,
    source: Path | None = None,
) -> Path:
    """Write (or reuse) the demo museum in `dest` (default `default_demo_dir()`); returns the
    path of its site.yaml.

    `now` (aware; default the current time) sets the date on which the demo museum is closed.
    `source` is vtest.avi (default: the fetched media folder). Raises `MediaMissing`, naming the
    fetch command, when the clips must be made and the source is not there.
    """
    if not 1 <= cameras <= MAX_CAMERAS:
        raise ValueError(f"the demo has 1 to {MAX_CAMERAS} cameras (got {cameras})")
    when = now if now is not None else datetime.now(UTC)
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"build_demo_site needs an aware `now` (got {when.isoformat()})")
    site_dir = Path(dest) if dest is not None else default_demo_dir()
    started = time.perf_counter()
    log.info("demo site: building in %s (%d cameras)", site_dir, cameras)

    found = _find_source(source)
    size = found.stat().st_size if found is not None else None
    if _clips_up_to_date(site_dir, size):
        log.info("demo site: clips up to date, reused")
    else:
        if found is None:
            wanted = source if source is not None else media_dir() / SOURCE_CLIP
            raise MediaMissing(
                f"{wanted}: the demo clips are cut from {SOURCE_CLIP}, which is missing; "
                f"fetch it with `bash {FETCH_SCRIPT}`"
            )
        assert size is not None
        log.info("demo site: cutting %d clips from %s", len(CLIPS), found)
        _write_clips(site_dir, found)
        manifest = {"version": RECIPE_VERSION, "digest": _recipe_digest(size)}
        _write_if_changed(
            site_dir / "clips" / "manifest.json",
            (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode(),
        )

    rooms = demo_layout()
    ok, png = cv2.imencode(".png", _draw_plan(rooms), [cv2.IMWRITE_PNG_COMPRESSION, 6])
    if not ok:
        raise RuntimeError("OpenCV could not encode the demo floor plan")
    if _write_if_changed(site_dir / "plans" / "ground.png", png.tobytes()):
        log.info("demo site: floor plan written")
    today = when.astimezone(ZoneInfo(SITE_TIMEZONE)).date().isoformat()
    text = _site_yaml(_cameras(rooms, cameras), rooms, today)
    if _write_if_changed(site_dir / "site.yaml", text.encode("utf-8")):
        log.info("demo site: site.yaml written (closed on %s)", today)
    _write_if_changed(site_dir / "README.txt", _README.encode("utf-8"))
    log.info("demo site ready in %.1f s: %s", _since(started), site_dir / "site.yaml")
    return site_dir / "site.yaml"
