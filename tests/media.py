"""Real media for tests: footage and photos fetched by packaging/fetch-media.sh (never committed),
and the photos shipped in the ultralytics wheel (bus.jpg, zidane.jpg), found through the package."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from console.media import media_dir, media_file

__all__ = ["media", "media_dir", "ultralytics_asset"]


def media(name: str) -> Path:
    """Path of a fetched media file (vtest.avi, messi5.jpg, ...); fetches them once if missing."""
    return media_file(name)


def ultralytics_asset(name: str) -> Path:
    """A photo shipped inside the ultralytics wheel (bus.jpg, zidane.jpg)."""
    spec = importlib.util.find_spec("ultralytics")  # finds the package without importing torch
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the ultralytics package is not installed")
    path = Path(spec.submodule_search_locations[0]) / "assets" / name
    if not path.exists():
        raise FileNotFoundError(f"{path}: not in the installed ultralytics package")
    return path
