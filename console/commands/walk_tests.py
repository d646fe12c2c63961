"""`nightwatch walk-test list` and `nightwatch walk-test report ID --out DIR`: the walk tests a
console stored, and one exported as JSON and CSV with its evidence frames.

A walk test is run from the console (console/walk_test.py): a guard walks up to each protected
object and into each armed zone while the console records pass or fail per object and zone.
Reading opens the store read-only, so it works beside a running console.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("walk-test", help="list stored walk tests, export one")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    listing = verbs.add_parser("list", help="the stored walk tests, newest first")
    listing.add_argument("--db", metavar="URL", help="the console's store (default: its usual one)")
    listing.set_defaults(func=run_list)
    report = verbs.add_parser("report", help="export a walk test: JSON, CSV, evidence frames")
    report.add_argument("walk_test_id", type=int, metavar="ID")
    report.add_argument("--out", type=Path, required=True, metavar="DIR")
    report.add_argument("--db", metavar="URL", help="the console's store (default: its usual one)")
    report.set_defaults(func=run_report)


def run_list(args: argparse.Namespace) -> int:
    from console.store import Store, StoreError, list_walk_tests

    try:
        with Store(args.db, read_only=True) as store:
            tests = store.read(list_walk_tests)
    except StoreError as exc:
        print(f"nightwatch walk-test: {exc}", file=sys.stderr)
        return 1
    for test in tests:
        ended = test.ended_at.isoformat(timespec="seconds") if test.ended_at else "-"
        print(
            f"{test.id}\t{test.started_at.isoformat(timespec='seconds')}\t{ended}\t"
            f"{test.status}\t{test.user}\t{len(test.subjects)} subject(s)"
        )
    if not tests:
        print("no walk tests stored", file=sys.stderr)
    return 0


def run_report(args: argparse.Namespace) -> int:
    from console.store import AlarmNotFoundError, Store, StoreError, get_walk_test
    from console.walk_test import WalkTestReport, export_walk_test

    try:
        with Store(args.db, read_only=True) as store:
            record = store.read(get_walk_test, args.walk_test_id)
            report = WalkTestReport.of_record(record, store)
            written = export_walk_test(report, args.out)
    except AlarmNotFoundError:
        print(f"nightwatch walk-test: no walk test {args.walk_test_id}", file=sys.stderr)
        return 1
    except StoreError as exc:
        print(f"nightwatch walk-test: {exc}", file=sys.stderr)
        return 1
    for result in report.results:
        mark = "PASS" if result.passed else "FAIL"
        distance = f" {result.distance_m:.2f} m" if result.distance_m is not None else ""
        print(f"{mark} {result.kind} {result.subject_id}{distance}: {result.reason}")
    print(f"walk test {report.walk_test_id} ({report.status}) written to {written[0].parent}:")
    for path in written:
        print(f"  {path}")
    return 0
