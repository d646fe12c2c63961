"""`nightwatch models`: list installed detector weights; `nightwatch models import PATH`."""

from __future__ import annotations

import argparse
import logging
import sys

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "models",
        help="list or import detector weights",
        description=(
            "List the detector weights installed in the models dir, or import a file. "
            "A .pt file is a pickle: it is imported only if its SHA-256 is a known Ultralytics "
            "release or equals the --sha256 its vendor published."
        ),
    )
    parser.set_defaults(func=list_models)
    sub = parser.add_subparsers(dest="models_command", metavar="ACTION")
    imp = sub.add_parser(
        "import", help="copy a weights file (.pt, .onnx, .engine) into the models dir"
    )
    imp.add_argument("path", metavar="PATH", help="the weights file to import")
    imp.add_argument(
        "--sha256",
        metavar="HEX",
        help="the SHA-256 its vendor published; needed for a .pt that is not a known release",
    )
    imp.set_defaults(func=import_model)


def _human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def list_models(args: argparse.Namespace) -> int:
    from inference import models

    folder = models.models_dir()
    files = models.installed()
    print(f"models dir: {folder}")
    if not files:
        print("no weights installed; import them with `nightwatch models import PATH`")
        return 0
    width = max(len(f.name) for f in files)
    print(f"{'NAME':<{width}}  {'SIZE':>9}  {'SHA256':<12}  TRUSTED  PROVENANCE")
    for f in files:
        trusted = "yes" if f.trusted else "NO"
        print(
            f"{f.name:<{width}}  {_human_size(f.size):>9}  {f.sha256[:12]}  {trusted:<7}  "
            f"{f.provenance}"
        )
    return 0


def import_model(args: argparse.Namespace) -> int:
    from inference import models

    try:
        installed = models.import_weights(args.path, sha256=args.sha256)
    except (models.WeightsRefused, FileNotFoundError, ValueError, OSError) as exc:
        print(f"nightwatch models import: {exc}", file=sys.stderr)
        return 1
    print(
        f"imported {installed.name} -> {installed.path} "
        f"(sha256 {installed.sha256}, {installed.provenance})"
    )
    return 0
