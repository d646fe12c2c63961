"""`nightwatch hold`: keep an incident's evidence past the retention period (a police case).

    nightwatch hold add ALARM_ID --reason "police case" [--case REF] --user NAME
    nightwatch hold release HOLD_ID [--reason TEXT] --user NAME
    nightwatch hold list [--all]

While a hold is in force, the daily retention purge leaves the incident's snapshots alone.
Placing and releasing are audited; `--user` must be a supervisor or an auditor (the role table),
signed in with their password (the terminal, or `--password-fd N`). `list` only reads, beside a
running console. Exit status 0: done; 1: refused (the message says why).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from console.commands.audit import add_evidence_arguments
from console.commands.sign_in import add_store_arguments, add_user_arguments


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("hold", help="keep an incident's evidence past retention")
    actions = parser.add_subparsers(dest="hold_command", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="put an incident under hold")
    add.add_argument("alarm_id", type=int, metavar="ALARM_ID")
    add.add_argument("--reason", required=True, help="why (the case, who asked)")
    add.add_argument("--case", metavar="REF", help="the case reference (police, insurer)")
    add_user_arguments(add)
    add_evidence_arguments(add)
    add.set_defaults(func=run_add)
    release = actions.add_parser("release", help="release a hold")
    release.add_argument("hold_id", type=int, metavar="HOLD_ID")
    release.add_argument("--reason", help="why it is released")
    add_user_arguments(release)
    add_evidence_arguments(release)
    release.set_defaults(func=run_release)
    listing = actions.add_parser("list", help="the holds in force (--all: released ones too)")
    listing.add_argument("--all", action="store_true", help="also the released holds")
    add_store_arguments(listing)
    add_evidence_arguments(listing)
    listing.set_defaults(func=run_list)


def _write(args: argparse.Namespace, ask: Any) -> int:
    from console.commands.audit import signed_store
    from console.commands.sign_in import CommandRefused

    try:
        with signed_store(args, ask) as (_store, _user, hold):
            print(_line(hold))
    except CommandRefused as exc:
        print(f"nightwatch hold: {exc}", file=sys.stderr)
        return 1
    return 0


def _line(h: object) -> str:
    from console.store import HoldRecord

    assert isinstance(h, HoldRecord)
    case = f" case {h.case_ref}" if h.case_ref else ""
    state = (
        "in force"
        if h.released_at is None
        else f"released by {h.released_by} at {h.released_at.isoformat(timespec='seconds')}"
    )
    return (
        f"hold {h.id}: alarm {h.alarm_id}{case}: {h.reason} (placed by {h.placed_by} at "
        f"{h.placed_at.isoformat(timespec='seconds')}; {state})"
    )


def run_add(args: argparse.Namespace) -> int:
    from console.evidence_actions import HoldIncident

    return _write(
        args, lambda user: HoldIncident(user, args.alarm_id, args.reason, case_ref=args.case)
    )


def run_release(args: argparse.Namespace) -> int:
    from console.evidence_actions import ReleaseIncidentHold

    return _write(args, lambda user: ReleaseIncidentHold(user, args.hold_id, reason=args.reason))


def run_list(args: argparse.Namespace) -> int:
    from console.commands.sign_in import store_url
    from console.store import Store, StoreError, list_holds

    try:
        with Store(
            store_url(args), snapshots_dir=args.snapshots, read_only=True, keys_dir=args.keys
        ) as reader:
            holds = reader.read(list_holds, active_only=not args.all)
    except StoreError as exc:
        print(f"nightwatch hold: {exc}", file=sys.stderr)
        return 1
    if not holds:
        print("no holds in force" if not args.all else "no holds")
    for h in holds:
        print(_line(h))
    return 0
