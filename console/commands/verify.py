"""`nightwatch verify EXPORT_DIR [--public-key FILE]`: check an export offline, on any machine.

Only `console.export.verify` (standard library and `cryptography`) is loaded: no store, no Qt.
Exit status 0: the signature is good and every file is as signed; 1: a problem, each named
(altered, missing, added or renamed file; a bad signature; another key than the one given).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "verify",
        help="check an export's signature and files (offline, on any machine)",
        description=(
            "Check an export folder: the Ed25519 signature of its manifest, and every file's "
            "SHA-256 and size against it. Names each altered, missing, added or renamed file. "
            "Give the console's public key with --public-key (from `nightwatch audit "
            "public-key`); without it the key shipped in the export is used, and its fingerprint "
            "must be compared with the console's."
        ),
    )
    parser.add_argument("folder", type=Path, metavar="EXPORT_DIR")
    parser.add_argument(
        "--public-key",
        type=Path,
        metavar="FILE",
        help="the console's public key (PEM): the export must be signed by it",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from console.export.verify import verify_export

    result = verify_export(args.folder, args.public_key)
    for line in result.lines():
        print(line)
    return 0 if result.ok else 1
