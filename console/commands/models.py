"""`nightwatch models`: the detector model files installed, and which a supervisor trusts.

nightwatch models                          list the files in the models dir, hash and trust
nightwatch models import PATH [--sha256 HEX]
nightwatch models trust SHA256 --source "URL or reference" [--name NAME] [--by WHO]
nightwatch models untrust SHA256
nightwatch models pins                     every pin: shipped, then the supervisor's
"""

from __future__ import annotations

import argparse
import logging
import sys

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "models",
        help="list, import and trust detector model files",
        description=(
            "List the detector model files installed in the models dir, import a file, or pin "
            "the SHA-256 of a file a supervisor trusts. Loading a model file can run code (a .pt "
            "is a pickle, a model YAML is evaluated, a TensorRT engine is native code), so "
            "Nightwatch loads only files whose hash is pinned: in the list it ships with, or in "
            "the supervisor's list managed here."
        ),
    )
    parser.set_defaults(func=list_models)
    sub = parser.add_subparsers(dest="models_command", metavar="ACTION")

    imp = sub.add_parser(
        "import",
        help="copy a model file (.pt, .onnx, .engine, .yaml) into the models dir",
        description=(
            "Copy a model file into the models dir. Importing does not make it loadable: pin "
            "its hash with `nightwatch models trust`."
        ),
    )
    imp.add_argument("path", metavar="PATH", help="the model file to import")
    imp.add_argument(
        "--sha256",
        metavar="HEX",
        help="the SHA-256 its vendor published: the import is refused when the file's differs",
    )
    imp.set_defaults(func=import_model)

    trust = sub.add_parser(
        "trust",
        help="pin a model file's SHA-256: files with it may be loaded",
        description=(
            "Pin a SHA-256 in the supervisor's pin list (trusted.json in the models dir), with "
            "where it was checked. Check the hash against the vendor's published one first: "
            "a pinned file is loaded, and loading it runs its code."
        ),
    )
    trust.add_argument("sha256", metavar="SHA256", help="the file's SHA-256 (64 hex digits)")
    trust.add_argument(
        "--source",
        required=True,
        metavar="REF",
        help="the URL or reference the hash was checked against (required)",
    )
    trust.add_argument(
        "--name", help="a name for the pin (default: the installed file with that hash)"
    )
    trust.add_argument("--by", metavar="WHO", help="who adds the pin (default: the user name)")
    trust.set_defaults(func=trust_model)

    untrust = sub.add_parser(
        "untrust", help="remove a supervisor's pin: files with that hash are no longer loaded"
    )
    untrust.add_argument("sha256", metavar="SHA256")
    untrust.set_defaults(func=untrust_model)

    pins = sub.add_parser("pins", help="list every pin: shipped, then the supervisor's")
    pins.set_defaults(func=list_pins)


def _human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def _fail(action: str, exc: Exception) -> int:
    print(f"nightwatch models{action}: {exc}", file=sys.stderr)
    return 1


def list_models(args: argparse.Namespace) -> int:
    from inference import models

    folder = models.models_dir()
    try:
        files = models.installed()
    except (models.PinListError, OSError) as exc:
        return _fail("", exc)
    print(f"models dir: {folder}")
    if not files:
        print("no model files installed; import them with `nightwatch models import PATH`")
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
    except (models.PinListError, ValueError, OSError) as exc:  # WeightsRefused is a ValueError
        return _fail(" import", exc)
    print(f"imported {installed.name} -> {installed.path} (sha256 {installed.sha256})")
    if installed.trusted:
        print(f"trusted: {installed.provenance}")
    else:
        print(
            "NOT trusted yet: it is not loaded until a supervisor who has checked its hash "
            f"against its source pins it:\n  {models.trust_command(installed.sha256)}"
        )
    return 0


def trust_model(args: argparse.Namespace) -> int:
    from inference import models

    try:
        digest = models.normalise_sha256(args.sha256)
        before = models.pin_for(digest)
        pin = models.trust(digest, source=args.source, name=args.name, added_by=args.by)
    except (models.PinListError, ValueError, OSError) as exc:
        return _fail(" trust", exc)
    if before is not None:
        print(f"sha256 {digest} is already pinned: {pin.describe()}")
    else:
        print(f"pinned sha256 {digest} as {pin.name} in {pin.pin_list}: {pin.describe()}")
    return 0


def untrust_model(args: argparse.Namespace) -> int:
    from inference import models

    try:
        pin = models.untrust(args.sha256)
    except (models.PinListError, ValueError, OSError) as exc:
        return _fail(" untrust", exc)
    print(f"removed the pin of {pin.name} (sha256 {pin.sha256}) from {pin.pin_list}")
    return 0


def list_pins(args: argparse.Namespace) -> int:
    from inference import models

    try:
        pins = models.pins()
    except models.PinListError as exc:
        return _fail(" pins", exc)
    print(f"shipped pins: {models.SHIPPED_PINS}; supervisor's pins: {models.pins_file()}")
    for pin in pins:
        where = "shipped" if pin.shipped else "supervisor"
        print(f"{pin.sha256}  {where:<10}  {pin.name}  ({pin.added_by} {pin.added_at})")
        print(f"    {pin.source}")
    return 0
