"""What blurring people costs an export, per clip: the same clip (real footage, vtest.avi frames,
768x576 at 10 fps, encoded here as a kept clip) made into a blurred copy three ways in one run:

- the baseline: decode and encode only (nobody to blur), what a clip whose tracked boxes cover
  every frame costs, give or take the drawing;
- the detector on every frame (the offline SSDLite with its tile pass, as the export loads it);
- the detector at most five times a second (`clip_people.DETECT_EVERY_S`), as exports run it.

    .venv/bin/python bench/clip_blur.py [--frames 100] [--first 400]

Reported: seconds for each, and each as a ratio of the baseline.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--first", type=int, default=400, help="first frame of vtest.avi")
    args = parser.parse_args()

    from console.export import clip_people
    from console.export.clip_people import ClipPeople, PersonFinder
    from console.media import media_file
    from inference.clip_blur import FramePeople, blur_clip
    from tests.clips import footage_clip

    start = datetime(2026, 11, 28, 22, 15, tzinfo=UTC)
    with tempfile.TemporaryDirectory(prefix="nw-clip-blur-") as tmp:
        folder = Path(tmp)
        source = footage_clip(
            folder / "kept.mkv", media_file("vtest.avi"), start, args.first, args.frames
        )
        finder = PersonFinder()
        finder.find(np.zeros((576, 768, 3), np.uint8))  # loaded (and compiled) before timing

        def timed(name: str, people: object) -> float:
            began = time.perf_counter()
            blur_clip(source, folder / f"{name}.mkv", people)  # type: ignore[arg-type]
            return time.perf_counter() - began

        baseline = timed("none", lambda _t, _image: FramePeople())
        every = clip_people.DETECT_EVERY_S
        clip_people.DETECT_EVERY_S = 0.0
        each_frame = timed("each", ClipPeople(None, start.timestamp(), finder))
        clip_people.DETECT_EVERY_S = every
        sampled = timed("sampled", ClipPeople(None, start.timestamp(), finder))
    print(f"{args.frames} frames of vtest.avi, 768x576, detector on {finder.runtime}:")
    rows = (
        ("decode and encode only", baseline),
        ("detector on every frame", each_frame),
        (f"detector {1 / every:.0f} times a second", sampled),
    )
    for name, seconds in rows:
        print(f"  {name:<32}{seconds:6.1f} s  ({seconds / baseline:.1f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
