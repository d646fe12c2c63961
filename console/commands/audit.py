"""`nightwatch audit`: check the audit log and everything it vouches for; show the public key.

    nightwatch audit verify [--db URL | --demo] [--snapshots DIR] [--keys DIR] [--user NAME]
    nightwatch audit public-key [--keys DIR]

`verify` reads the database without locking it (it may run beside a running console) and checks
the keyed chain, the signed heads, the rows of alarms, events, occurrences, dispatches,
snapshots, config changes and holds against the digests the chain recorded, and the snapshot
files. It prints the first problem, then each (up to 50 per kind), and exits 0 when all is well,
1 when anything was found, 2 when it cannot check (no database, no keys). Anyone with the
console's key folder can check. With `--user NAME` (an auditor, signed in with their password:
asked on the terminal or read from `--password-fd N`) the check and its result are written to
the audit log (`audit.verify`); that needs the database to itself (no console running).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from console.commands.sign_in import add_user_arguments

if TYPE_CHECKING:
    from console.store import Store


def add_evidence_arguments(parser: argparse.ArgumentParser) -> None:
    """`--snapshots DIR` and `--keys DIR` (beside sign_in's `--db`/`--demo`)."""
    parser.add_argument(
        "--snapshots",
        type=Path,
        metavar="DIR",
        help="the snapshots folder (default: `snapshots` beside the database)",
    )
    parser.add_argument(
        "--keys",
        type=Path,
        metavar="DIR",
        help="the console's audit key folder (default: $NIGHTWATCH_KEYS_DIR or "
        "~/.config/nightwatch/audit-keys)",
    )


@contextmanager
def signed_store(args: argparse.Namespace, ask: Any) -> Iterator[tuple[Store, str, Any]]:
    """The store (locked: one console per database) with `--user` signed in through the service
    layer, and the action `ask(user)` (naming its act) applied: refused (CommandRefused, the
    refusal audited) unless the role table allows it. Yields the store, the user's name and the
    action's answer. Every write is on disk when the block ends, or CommandRefused says which
    was not."""
    from console.clock import SystemClock
    from console.commands.sign_in import CommandRefused, signed_in, store_url
    from console.control_room import ControlRoom
    from console.store import Store, StoreError

    try:
        store = Store(store_url(args), snapshots_dir=args.snapshots, keys_dir=args.keys)
    except StoreError as exc:
        raise CommandRefused(str(exc)) from exc
    failed: list[str] = []
    try:
        room = ControlRoom.load(store, SystemClock())
        with signed_in(args, room) as command:
            answer = command.ask(ask(command.user))
            yield store, command.user, answer.value
        store.flush(timeout_s=60)
        failed = room.accounts.write_errors()
    finally:
        report = store.close()
    if failed or not report.all_stored:
        raise CommandRefused("not stored: " + "; ".join([*failed, str(report)]))


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("audit", help="verify the audit log; show the signing public key")
    actions = parser.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    verify = actions.add_parser(
        "verify",
        help="check the audit chain, the signed heads, the records and the snapshot files",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_user_arguments(verify, required=False)
    add_evidence_arguments(verify)
    verify.set_defaults(func=run_verify)
    public = actions.add_parser(
        "public-key",
        help="print the console's public key (PEM) and its fingerprint",
        description=(
            "Print the Ed25519 public key that signs this console's exports and chain heads, "
            "and its fingerprint: give both to whoever verifies exports, by a channel other "
            "than the export itself."
        ),
    )
    public.add_argument("--keys", type=Path, metavar="DIR", help="the audit key folder")
    public.set_defaults(func=run_public_key)


def run_public_key(args: argparse.Namespace) -> int:
    from console.store import AuditKeyError, load_audit_keys

    try:
        keys = load_audit_keys(args.keys, create=False)
    except AuditKeyError as exc:
        print(f"nightwatch audit public-key: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(keys.public_pem.decode("ascii"))
    print(f"fingerprint (SHA-256): {keys.fingerprint}")
    print(f"keys: {keys.location}")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    from console.commands.sign_in import CommandRefused, store_url
    from console.evidence_actions import AuthorizeVerify
    from console.store import (
        AppendAudit,
        AuditKeyError,
        Store,
        StoreError,
        load_audit_keys,
        verify_store,
    )
    from console.store.integrity import describe

    try:
        keys = load_audit_keys(args.keys, create=False)
    except AuditKeyError as exc:
        print(f"nightwatch audit verify: {exc}", file=sys.stderr)
        return 2
    if args.user is None:  # read-only, beside a running console; nothing recorded
        try:
            with Store(
                store_url(args), snapshots_dir=args.snapshots, read_only=True, keys=keys
            ) as reader:
                report = reader.read(verify_store, keys, reader.files)
        except StoreError as exc:
            print(f"nightwatch audit verify: {exc}", file=sys.stderr)
            return 2
        for line in describe(report):
            print(line)
        print(f"audit keys: {keys.location}")
        return 0 if report.ok else 1
    try:
        with signed_store(args, AuthorizeVerify) as (store, user, _):
            report = store.read(verify_store, keys, store.files)
            detail = {
                "ok": report.ok,
                "problems": len(report.findings) + report.not_listed,
                "first": str(report.first) if report.first else None,
                "head_seq": report.head_seq,
                "head_hash": report.head_hash,
            }
            store.write(AppendAudit(user, "audit.verify", "audit_log", detail)).result()
    except CommandRefused as exc:
        print(f"nightwatch audit verify: {exc}", file=sys.stderr)
        return 2 if "refused" not in str(exc) else 1
    for line in describe(report):
        print(line)
    print(f"audit keys: {keys.location}")
    return 0 if report.ok else 1
