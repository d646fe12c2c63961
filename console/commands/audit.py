"""`nightwatch audit`: check the audit log and everything it vouches for; show the public key.

    nightwatch audit verify [--db URL] [--snapshots DIR] [--keys DIR] [--user NAME]
    nightwatch audit public-key [--keys DIR]

`verify` reads the database without locking it (it may run beside a running console) and checks
the keyed chain, the signed heads, the rows of alarms, events, occurrences, dispatches,
snapshots, config changes and holds against the digests the chain recorded, and the snapshot
files. It prints the first problem, then each (up to 50 per kind), and exits 0 when all is well,
1 when anything was found, 2 when it cannot check (no database, no keys). With `--user`, the
check and its result are written to the audit log (`audit.verify`), unless a console holds the
database (then it says so).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_store_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", metavar="URL", help="SQLAlchemy URL of the store (default: yours)")
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


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("audit", help="verify the audit log; show the signing public key")
    actions = parser.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    verify = actions.add_parser(
        "verify",
        help="check the audit chain, the signed heads, the records and the snapshot files",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_store_arguments(verify)
    verify.add_argument("--user", metavar="NAME", help="who checks (recorded in the audit log)")
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
    print(f"key folder: {keys.folder}")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    from console.audit_access import AccessRefused, AuditAct, require_auditor_role
    from console.store import AuditKeyError, Store, StoreError, load_audit_keys, verify_store
    from console.store.integrity import describe

    try:
        keys = load_audit_keys(args.keys, create=False)
    except AuditKeyError as exc:
        print(f"nightwatch audit verify: {exc}", file=sys.stderr)
        return 2
    try:
        reader = Store(args.db, snapshots_dir=args.snapshots, read_only=True, keys=keys)
    except StoreError as exc:
        print(f"nightwatch audit verify: {exc}", file=sys.stderr)
        return 2
    try:
        if args.user is not None:
            require_auditor_role(reader, args.user, AuditAct.VERIFY)
        report = reader.read(verify_store, keys, reader.files)
    except AccessRefused as exc:
        print(f"nightwatch audit verify: refused: {exc}", file=sys.stderr)
        return 1
    except StoreError as exc:
        print(f"nightwatch audit verify: {exc}", file=sys.stderr)
        return 2
    finally:
        reader.close()
    for line in describe(report):
        print(line)
    if args.user is not None:
        _record(args, keys, report)
    return 0 if report.ok else 1


def _record(args: argparse.Namespace, keys: object, report: object) -> None:
    """The check and its result into the audit log, when no console holds the database."""
    from console.store import AppendAudit, IntegrityReport, Store, StoreError, StoreLockedError

    assert isinstance(report, IntegrityReport)
    detail = {
        "ok": report.ok,
        "problems": len(report.findings) + report.not_listed,
        "first": str(report.first) if report.first else None,
        "head_seq": report.head_seq,
        "head_hash": report.head_hash,
    }
    try:
        with Store(args.db, snapshots_dir=args.snapshots, keys=keys) as store:  # type: ignore[arg-type]
            store.write(AppendAudit(args.user, "audit.verify", "audit_log", detail)).result()
    except StoreLockedError:
        print("note: not recorded in the audit log: a console holds the database", file=sys.stderr)
    except StoreError as exc:
        print(f"note: not recorded in the audit log: {exc}", file=sys.stderr)
