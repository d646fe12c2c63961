"""The core's small copy of each judged frame: halving then one bilinear step
(console/analysis_copy.py) against OpenCV's area interpolation in one step, on real footage.

Both on the same frames in the same run, alternating rounds, one thread (the core's): ms per
frame, the ratio, and how far the copies differ (mean and 99th percentile of the absolute
difference, grey levels) for vtest.avi at its own 768x576 and scaled to 1280x720 and 1920x1080.

    .venv/bin/python bench/analysis_copy.py [--frames 60] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from console.analysis_copy import analysis_copy, analysis_size
from console.media import media_file


def one_step_area(image: np.ndarray) -> np.ndarray:
    size = analysis_size(image.shape[1], image.shape[0])
    return np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA))


def difference(image: np.ndarray) -> np.ndarray:
    return np.abs(analysis_copy(image).astype(np.int16) - one_step_area(image).astype(np.int16))


def ms_per_frame(make: Callable[[np.ndarray], np.ndarray], frames: list[np.ndarray]) -> float:
    began = time.perf_counter()
    for frame in frames:
        make(frame)
    return (time.perf_counter() - began) * 1000 / len(frames)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    capture = cv2.VideoCapture(str(media_file("vtest.avi")))
    frames = []
    while len(frames) < args.frames:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    print(f"{len(frames)} frames of vtest.avi, {args.rounds} rounds, one thread")
    for size in (None, (1280, 720), (1920, 1080)):
        pictures = frames if size is None else [cv2.resize(f, size) for f in frames]
        height, width = pictures[0].shape[:2]
        fast, area = [], []
        for _ in range(args.rounds):
            fast.append(ms_per_frame(analysis_copy, pictures))
            area.append(ms_per_frame(one_step_area, pictures))
        diff = np.concatenate([difference(p).ravel() for p in pictures])
        f, a = statistics.median(fast), statistics.median(area)
        print(
            f"{width}x{height} -> {analysis_size(width, height)}: halving + bilinear {f:.2f} ms, "
            f"one-step area {a:.2f} ms (median of rounds), {a / f:.1f}x faster; difference "
            f"mean {diff.mean():.2f}, p99 {np.percentile(diff, 99):.0f} grey levels"
        )


if __name__ == "__main__":
    main()
