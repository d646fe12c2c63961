"""ms/frame and recall of the offline person detectors, against OpenCV's HOG people detector.

Runs SSDLite on OpenCV DNN (full frame; with the mirrored pass fused in; with the 2x2 tile pass;
with both) and HOG
(`HOGDescriptor_getDefaultPeopleDetector`, the classic baseline) in the same process, on
vtest.avi frames and on the photos of tests/photo_truth.py, and prints ms/frame, people found
(IoU >= 0.5 with the hand-checked boxes), boxes matching nobody, and the ratios to HOG.

    .venv/bin/python bench/detector_backends.py [--frames 40] [--threads 2] [--repeat 3]

Figures only; nothing here is a pass/fail check.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inference.detections import Detections
from inference.detectors.ssdlite import SsdliteDetector
from tests.media import media
from tests.photo_truth import PHOTOS, match

DetectFn = Callable[[np.ndarray], Detections]


@dataclass
class Row:
    name: str
    frame_ms: float  # median over vtest.avi frames
    photo_ms: float  # median over the photos
    found: int
    people: int
    unmatched: int
    empty_boxes: int  # boxes on the photos without people


def hog_detector() -> DetectFn:
    hog = cv2.HOGDescriptor()
    hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())

    def detect(image: np.ndarray) -> Detections:
        rects, weights = hog.detectMultiScale(image, winStride=(8, 8), padding=(8, 8), scale=1.05)
        if len(rects) == 0:
            return Detections.empty()
        rects = np.asarray(rects, dtype=np.float32)
        boxes = np.c_[rects[:, :2], rects[:, :2] + rects[:, 2:]]
        return Detections(boxes, np.asarray(weights, dtype=np.float32).ravel())

    return detect


def vtest_frames(count: int) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(media("vtest.avi")))
    frames = []
    try:
        step = max(1, 790 // count)
        for index in range(0, step * count, step):
            capture.set(cv2.CAP_PROP_POS_FRAMES, index)
            ok, frame = capture.read()
            if ok:
                frames.append(frame)
    finally:
        capture.release()
    return frames


def timed_ms(detect: DetectFn, images: list[np.ndarray], repeat: int) -> float:
    detect(images[0])  # warm up
    times = []
    for _ in range(repeat):
        for image in images:
            start = time.perf_counter()
            detect(image)
            times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times)


def measure(name: str, detect: DetectFn, frames: list[np.ndarray], repeat: int) -> Row:
    photos = [(p, p.load()) for p in PHOTOS]
    found = people = unmatched = empty_boxes = 0
    for photo, image in photos:
        dets = detect(image)
        if photo.has_people:
            f, u = match(photo.boxes, dets.xyxy)
            found, people, unmatched = found + f, people + len(photo.boxes), unmatched + u
        else:
            empty_boxes += len(dets)
    return Row(
        name,
        timed_ms(detect, frames, repeat),
        timed_ms(detect, [image for _, image in photos], repeat),
        found,
        people,
        unmatched,
        empty_boxes,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=40, help="vtest.avi frames to time")
    parser.add_argument("--threads", type=int, default=2, help="OpenCV threads")
    parser.add_argument("--repeat", type=int, default=3, help="passes over the images")
    args = parser.parse_args()

    cv2.setNumThreads(args.threads)
    frames = vtest_frames(args.frames)
    full = SsdliteDetector(threads=args.threads)
    flipped = SsdliteDetector(threads=args.threads, flip=True)
    tiled = SsdliteDetector(threads=args.threads, tiles=True)
    both = SsdliteDetector(threads=args.threads, tiles=True, flip=True)
    backends: list[tuple[str, DetectFn]] = [
        ("hog", hog_detector()),
        (f"ssdlite@{full.score_threshold}", lambda im: full.detect([im])[0]),
        (f"ssdlite+flip@{flipped.score_threshold}", lambda im: flipped.detect([im])[0]),
        (f"ssdlite+tiles@{tiled.score_threshold}", lambda im: tiled.detect([im])[0]),
        (f"ssdlite+tiles+flip@{both.score_threshold}", lambda im: both.detect([im])[0]),
    ]
    print(
        f"OpenCV {cv2.__version__}, {args.threads} thread(s), {len(frames)} vtest.avi frames "
        f"(768x576), {len(PHOTOS)} photos; median ms per image"
    )
    rows = [measure(name, detect, frames, args.repeat) for name, detect in backends]
    hog = rows[0]
    header = f"{'backend':<27}{'vtest ms':>9}{'photo ms':>9}{'found':>8}{'unmatched':>10}"
    print(header + f"{'on empty':>9}{'x HOG time':>11}")
    for row in rows:
        print(
            f"{row.name:<27}{row.frame_ms:>9.1f}{row.photo_ms:>9.1f}"
            f"{f'{row.found}/{row.people}':>8}{row.unmatched:>10}{row.empty_boxes:>9}"
            f"{row.frame_ms / hog.frame_ms:>11.2f}"
        )
    ssd, ssd_flip, ssd_tiles, ssd_both = rows[1:5]
    print(
        f"ratios on vtest.avi: HOG/SSDLite {hog.frame_ms / ssd.frame_ms:.1f}x, "
        f"HOG/SSDLite+tiles {hog.frame_ms / ssd_tiles.frame_ms:.1f}x; cost vs SSDLite: "
        f"flip {ssd_flip.frame_ms / ssd.frame_ms:.1f}x, "
        f"tiles {ssd_tiles.frame_ms / ssd.frame_ms:.1f}x, "
        f"tiles+flip {ssd_both.frame_ms / ssd.frame_ms:.1f}x"
    )


if __name__ == "__main__":
    main()
