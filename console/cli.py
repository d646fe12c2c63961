"""The `nightwatch` command line: one subcommand per module in `console.commands`."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

# Each name is a module console.commands.<name> with `register(subparsers) -> None`; the parser it
# adds sets `func` (args -> exit code). Modules import heavy packages inside their handlers only,
# so `nightwatch check` starts without torch.
COMMANDS = ("demo", "run", "replay", "watch", "detect", "models", "check")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nightwatch", description="Museum security control-room console."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"console.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"console.commands.{name}":
                raise
            continue  # a command not built in this checkout
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
