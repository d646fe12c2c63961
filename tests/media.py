"""Real media for tests: footage and photos fetched by packaging/fetch-media.sh (never committed),
and the photos shipped in the ultralytics wheel (bus.jpg, zidane.jpg), found through the package."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np

from console.media import media_dir, media_file

__all__ = ["first_frames", "media", "media_dir", "ultralytics_asset"]


def media(name: str) -> Path:
    """Path of a fetched media file (vtest.avi, messi5.jpg, ...); fetches them once if missing."""
    return media_file(name)


def first_frames(name: str, count: int) -> list[np.ndarray]:
    """The first `count` frames of a fetched clip (BGR, as OpenCV decodes them)."""
    capture = cv2.VideoCapture(str(media(name)))
    frames: list[np.ndarray] = []
    try:
        while len(frames) < count:
            ok, frame = capture.read()
            assert ok, f"{name} ended after {len(frames)} frames, {count} wanted"
            frames.append(frame)
    finally:
        capture.release()
    return frames


def ultralytics_asset(name: str) -> Path:
    """A photo shipped inside the ultralytics wheel (bus.jpg, zidane.jpg)."""
    spec = importlib.util.find_spec("ultralytics")  # finds the package without importing torch
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the ultralytics package is not installed")
    path = Path(spec.submodule_search_locations[0]) / "assets" / name
    if not path.exists():
        raise FileNotFoundError(f"{path}: not in the installed ultralytics package")
    return path
