"""The `nightwatch` command line: one subcommand per module in `console.commands`.

The `nightwatch` entry point itself is `ui.cli:main`, which adds the window's commands (the
console's `demo` and `run` open a window there); `python -m console.cli` is the headless core alone.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Mapping
from typing import Protocol

# Each name is a module console.commands.<name> with `register(subparsers) -> None`; the parser it
# adds sets `func` (args -> exit code). Modules import heavy packages inside their handlers only,
# so `nightwatch check` starts without torch or Qt.
COMMANDS = (
    "demo",
    "run",
    "replay",
    "watch",
    "detect",
    "models",
    "check",
    "users",
    "export",
    "settings",
    "verify",
    "audit",
    "hold",
    "site",
    "walk_tests",
)


class Command(Protocol):
    """A command module: adds its subparser (setting `func`) to the `nightwatch` parser."""

    def register(self, sub: argparse._SubParsersAction) -> None: ...


def build_parser(overrides: Mapping[str, Command] | None = None) -> argparse.ArgumentParser:
    """The parser; `overrides` replaces commands by name (the window's `demo` and `run`)."""
    parser = argparse.ArgumentParser(
        prog="nightwatch", description="Museum security control-room console."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = (overrides or {}).get(name) or importlib.import_module(f"console.commands.{name}")
        module.register(sub)
    return parser


def main(argv: list[str] | None = None, overrides: Mapping[str, Command] | None = None) -> int:
    args = build_parser(overrides).parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not args.verbose:
        logging.getLogger("alembic").setLevel(logging.WARNING)  # a line per migration step
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
