"""`nightwatch detect IMAGE...`: the people a detector finds in still images.

Each image is read through `inference.images` (size checked from the header before decoding, a
PNG or JPEG cut short refused); an image that cannot be read is named on stderr, the others are
still detected, and the exit status is 1.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("detect", help="find people in images")
    parser.add_argument("images", nargs="+", metavar="IMAGE", type=Path)
    parser.add_argument("--json", action="store_true", help="one JSON object per line per image")
    add_detector_arguments(parser)
    parser.set_defaults(func=run)


def add_detector_arguments(parser: argparse.ArgumentParser, *, site_chooses: bool = False) -> None:
    """--detector, --weights, --device. `site_chooses`: the command runs a site, whose file's
    `detection:` section applies when none of them is given (console.detection); --detector
    is then None when not given."""
    from inference.detectors.loading import KIND_HELP  # no backend is imported by this

    kinds = "; ".join(f"{kind}: {text}" for kind, text in KIND_HELP.items())
    default = "the site file's detection section, else auto" if site_chooses else "auto"
    parser.add_argument(
        "--detector",
        choices=tuple(KIND_HELP),
        default=None if site_chooses else "auto",
        metavar="KIND",
        help=f"which detector runs (default: {default}; {kinds})",
    )
    # any of the three given: the command line chooses the detector, not the site file
    replaces = "; replaces the site file's detection section" if site_chooses else ""
    parser.add_argument("--weights", help=f"YOLO weights: a path or an installed name{replaces}")
    parser.add_argument(
        "--device",
        help="cpu, cuda:0, ... (default: the best available); ssdlite-triton: the server "
        f"HOST:PORT{replaces}",
    )


def run(args: argparse.Namespace) -> int:
    from inference.detectors.base import DetectorUnavailable
    from inference.detectors.loading import load_detector

    try:
        detector = load_detector(args.detector, weights=args.weights, device=args.device)
    except DetectorUnavailable as exc:
        print(f"nightwatch detect: {exc}", file=sys.stderr)
        return 1
    info = detector.info
    print(f"detector: {info.describe()}", file=sys.stderr)
    if info.note:
        print(f"detector: {info.note}", file=sys.stderr)
    failures = 0
    for path in args.images:
        image, reason = _read(path)
        if image is None:
            print(f"nightwatch detect: {path}: {reason}", file=sys.stderr)
            failures += 1
            continue
        (found,) = detector.detect([image])
        found = found.clipped(image.shape[1], image.shape[0])
        records = found.to_records()
        if args.json:
            print(
                json.dumps(
                    {
                        "image": str(path),
                        "detector": info.backend,
                        "runtime": info.runtime,
                        "detections": records,
                    }
                ),
                flush=True,
            )
        else:
            people = "person" if len(records) == 1 else "people"
            print(f"{path}: {len(records)} {people}")
            for row in records:
                x1, y1, x2, y2 = row["box"]
                print(
                    f"  {row['class']} {row['confidence']:.2f} at "
                    f"({x1:.0f}, {y1:.0f}) - ({x2:.0f}, {y2:.0f})"
                )
    return 1 if failures else 0


def _read(path: Path) -> tuple[np.ndarray | None, str]:
    """The image, or None and why not: its size is checked from its header before decoding,
    and a PNG or JPEG cut short is refused (a truncated JPEG would decode half grey and read
    as "0 people")."""
    from inference.images import ImageRefused, read_image

    try:
        return read_image(path), ""
    except FileNotFoundError:
        return None, "no such file"
    except ImageRefused as exc:
        what = "image too large" if exc.too_large else "not a readable image"
        return None, f"{what}: {exc.reason}"
    except OSError as exc:
        return None, f"cannot read it: {exc.strerror or exc}"
