"""Where the real footage and photos fetched by packaging/fetch-media.sh live.

They come from Debian's opencv-doc package (vtest.avi, a fixed camera over a path with people
walking, appears to come from PETS 2009: research use with acknowledgement), so they are fetched
at setup, never committed or bundled.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import platformdirs

FETCH_SCRIPT = Path(__file__).resolve().parents[1] / "packaging" / "fetch-media.sh"


class MediaMissing(FileNotFoundError):
    """A fetched media file is not there; the message says how to fetch it."""


def media_dir() -> Path:
    env = os.environ.get("NIGHTWATCH_MEDIA")
    if env:
        return Path(env)
    # platformdirs: $XDG_CACHE_HOME/nightwatch (or ~/.cache/nightwatch), where fetch-media.sh
    # puts the footage
    return platformdirs.user_cache_path("nightwatch", appauthor=False) / "media"


def media_file(name: str, *, fetch: bool = True) -> Path:
    """Path of a fetched media file (vtest.avi, messi5.jpg, ...), fetching them once if missing."""
    path = media_dir() / name
    if not path.exists() and fetch and FETCH_SCRIPT.exists():
        subprocess.run(["bash", str(FETCH_SCRIPT)], check=False)
    if not path.exists():
        raise MediaMissing(f"{path}: missing; fetch it with `bash {FETCH_SCRIPT}`")
    return path
