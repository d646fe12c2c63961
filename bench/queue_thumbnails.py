"""The alarm queue's snapshot thumbnails: decoded at thumbnail size (ui/alarm_queue.py,
`SnapshotThumbnails`) against decoding the whole JPEG and then scaling it, on real footage.

Snapshots are written as the store writes them (frames of vtest.avi at 768x576, and the same
frames scaled to 1280x720 and 1920x1080, JPEG at the console's `SNAPSHOT_QUALITY`). Both ways
read the same files in the same run, alternating rounds, on the GUI thread as the queue does:
ms per thumbnail, the ratio, and how far the two thumbnails differ (mean and largest absolute
difference, grey levels).

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/queue_thumbnails.py [--frames 40]
        [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QGuiApplication, QImage

from console.runtime import SNAPSHOT_QUALITY
from tests.media import first_frames
from ui.alarm_queue import THUMBNAIL, SnapshotThumbnails

SIZES = ((768, 576), (1280, 720), (1920, 1080))


def whole_then_scaled(path: str) -> QImage:
    """What the queue did before: the whole JPEG decoded, then scaled smoothly."""
    return QImage(path).scaled(
        QSize(THUMBNAIL),
        Qt.AspectRatioMode.KeepAspectRatio,
        Qt.TransformationMode.SmoothTransformation,
    )


def at_thumbnail_size(path: str) -> QImage:
    image = SnapshotThumbnails().read_small(path)
    if image is None:
        raise SystemExit(f"{path}: not readable")
    return image


def pixels(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), -1)
    return rows[:, : image.width() * 3].astype(np.int16)


def ms_each(read: Callable[[str], QImage], paths: list[str]) -> float:
    began = time.perf_counter()
    for path in paths:
        read(path)
    return (time.perf_counter() - began) * 1000 / len(paths)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    _app = QGuiApplication.instance() or QGuiApplication([])
    frames = first_frames("vtest.avi", args.frames)
    print(
        f"{args.frames} snapshots of vtest.avi, JPEG quality {SNAPSHOT_QUALITY}, thumbnails "
        f"{THUMBNAIL.width()}x{THUMBNAIL.height()}, {args.rounds} alternating rounds:"
    )
    with tempfile.TemporaryDirectory(prefix="nw-thumbs-") as tmp:
        for width, height in SIZES:
            paths = []
            for i, frame in enumerate(frames):
                if frame.shape[:2] != (height, width):
                    frame = cv2.resize(frame, (width, height), interpolation=cv2.INTER_LINEAR)
                path = Path(tmp) / f"{width}-{i:03d}.jpg"
                cv2.imwrite(str(path), frame, [cv2.IMWRITE_JPEG_QUALITY, SNAPSHOT_QUALITY])
                paths.append(str(path))
            new, old = [], []
            for _ in range(args.rounds):
                new.append(ms_each(at_thumbnail_size, paths))
                old.append(ms_each(whole_then_scaled, paths))
            pairs = [(at_thumbnail_size(p), whole_then_scaled(p)) for p in paths]
            if any(a.size() != b.size() for a, b in pairs):
                raise SystemExit(f"{width}x{height}: the two ways give thumbnails of other sizes")
            diffs = [np.abs(pixels(a) - pixels(b)) for a, b in pairs]
            mean = statistics.fmean(float(d.mean()) for d in diffs)
            worst = max(int(d.max()) for d in diffs)
            fast, slow = statistics.median(new), statistics.median(old)
            print(
                f"  {width}x{height}: at thumbnail size {fast:.2f} ms, whole then scaled "
                f"{slow:.2f} ms ({slow / fast:.1f}x); the thumbnails differ by {mean:.1f} grey "
                f"levels on average, {worst} at most"
            )


if __name__ == "__main__":
    main()
