"""`nightwatch export`: the incident log as JSON lines, for an auditor.

    nightwatch export --user audrey --out night.jsonl [--since 2026-11-28T18:00] [--until ...]

One JSON object per alarm (its steps with time and user, its dispatches, its snapshot's
SHA-256). The export is itself audited (`export.jsonl`, with the file's SHA-256), and only a role
the role table lets export may run it (an auditor).
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from console.commands.sign_in import CommandRefused, add_user_arguments, open_room, signed_in


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("export", help="export the incident log as JSON lines (auditors)")
    parser.add_argument("--out", type=Path, required=True, metavar="FILE", help="where to write")
    parser.add_argument("--since", type=_when, metavar="ISO-DATETIME", help="raised from")
    parser.add_argument("--until", type=_when, metavar="ISO-DATETIME", help="raised before")
    add_user_arguments(parser)
    parser.set_defaults(func=run)


def _when(text: str) -> datetime:
    """An ISO date and time; without a zone, the machine's local time."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date and time: {text!r}") from None
    return value if value.tzinfo is not None else value.astimezone()


def run(args: argparse.Namespace) -> int:
    from console.record_actions import ExportIncidentLog

    try:
        with open_room(args) as (_store, room), signed_in(args, room) as command:
            answer = command.ask(ExportIncidentLog(command.user, args.out, args.since, args.until))
    except CommandRefused as exc:
        print(f"nightwatch export: {exc}", file=sys.stderr)
        return 1
    receipt = answer.value
    print(f"{receipt.rows} alarm(s) written to {receipt.path} (SHA-256 {receipt.sha256})")
    return 0
