"""The demo clips: eight 640x360 clips cut from vtest.avi (crop, mirror, time offset, colour
or infrared look), MPEG-4 part 2 ('mp4v'), and the recipe they are made by.

**Licence.** vtest.avi comes from Debian's `opencv-doc` package (people walking on a campus path;
it appears to come from the PETS 2009 data set: research use with acknowledgement; its licence is
unclear). The clips are derived into the user's cache at run time, never committed or bundled;
`bash packaging/fetch-media.sh` fetches the source.

Decoding 640x360 'mp4v' costs about 0.3 ms a frame here (MJPG: 0.7 ms, and five times the size),
so 64 cameras at 10 frames/s take about a fifth of one core. The clips are rebuilt only when
their recipe or the source changed (`clips/manifest.json` holds the recipe's digest).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from resources.demo_museum.layout import Polygon, box

log = logging.getLogger(__name__)

__all__ = [
    "CLIPS",
    "CLIP_SIZE_PX",
    "CLIP_SUFFIX",
    "RECIPE_VERSION",
    "SOURCE_CLIP",
    "ClipRecipe",
    "clip_path",
    "clips_up_to_date",
    "recipe_digest",
    "write_clips",
]

RECIPE_VERSION = 1  # bump when the clips' recipe changes: cached clips are then rebuilt
SOURCE_CLIP = "vtest.avi"
SOURCE_SIZE_PX = (768, 576)
CLIP_SIZE_PX = (640, 360)
CLIP_FPS = 10.0
CLIP_CODEC = "mp4v"
CLIP_SUFFIX = ".mp4"

Tone = Literal["colour", "infrared", "dim"]


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


def _spot(x: float, y: float) -> Polygon:
    """An 80x60 px place in the source, top-left corner at (x, y)."""
    return box(x, y, x + 80, y + 60)


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


def recipe_digest(source_size: int) -> str:
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


def clips_up_to_date(site_dir: Path, source_size: int | None) -> bool:
    manifest = site_dir / "clips" / "manifest.json"
    try:
        recorded = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not all(clip_path(site_dir, c).is_file() for c in CLIPS):
        return False
    if source_size is None:  # the source is gone: keep clips made by this recipe version
        return recorded.get("version") == RECIPE_VERSION
    return recorded.get("digest") == recipe_digest(source_size)


def _source_frames(cap: cv2.VideoCapture) -> Iterator[np.ndarray]:
    while True:
        ok, frame = cap.read()
        if not ok:
            return
        yield frame


def write_clips(site_dir: Path, source: Path) -> None:
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
