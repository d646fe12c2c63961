"""`nightwatch export SITE --from DATE --to DATE --out DIR [--format csv,jsonl,pdf] [filters]
--user NAME`: the incidents of a period for an auditor, with a signed manifest.

    nightwatch export site.yaml --from 2026-11-28 --to 2026-11-28 --out night-28 --user audrey
    nightwatch export site.yaml --from 2026-11-01 --to 2026-11-30 --rule proximity \\
        --outcome police_called --format csv,jsonl,pdf --out november --user audrey
    nightwatch export site.yaml --from 2026-11-28 --to 2026-11-29 --floor ground --zone east-wing \\
        --out weekend --user audrey

Dates are the site's local days, both included (`--to 2026-11-28` takes that whole day); a time
may be given (`2026-11-28T22:00`, local unless it names its zone). The export goes into a new or
empty folder: incidents.csv, steps.csv, incidents.jsonl, report.pdf, snapshots/, manifest.json,
manifest.sig, public_key.pem. It is written in bounded memory with a progress line, and recorded
in the audit log (`export.created`, with the manifest's SHA-256). Check it anywhere with
`nightwatch verify DIR`. Exit status 0: exported; 1: refused or failed (the message says why).
`--user` must be an auditor (the role table, console/roles.py), signed in with their password,
asked on the terminal or read from `--password-fd N`; a refusal is audited.

The PDF report is drawn with Qt, which the core never imports: `nightwatch export` (ui.cli)
passes the report renderer in; `python -m console.cli export` makes CSV and JSON lines only.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from console.commands.audit import add_evidence_arguments
from console.commands.sign_in import add_user_arguments

if TYPE_CHECKING:
    from console.export.run import ReportRenderer


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "export",
        help="export incidents as CSV, JSON lines and a PDF report, signed",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("site", type=Path, metavar="SITE", help="the site file (for names)")
    parser.add_argument("--from", dest="since", required=True, metavar="DATE", help="first day")
    parser.add_argument("--to", dest="until", required=True, metavar="DATE", help="last day")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="a new folder")
    parser.add_argument(
        "--format",
        metavar="LIST",
        help="comma-separated: csv, jsonl, pdf (default: all three; csv,jsonl without Qt)",
    )
    for flag, dest, what in (
        ("--camera", "cameras", "camera id"),
        ("--rule", "rules", "rule (proximity, after_hours, ...)"),
        ("--severity", "severities", "severity (high, medium, low)"),
        ("--outcome", "outcomes", "outcome (false_alarm, visitor_warned, ...)"),
        ("--operator", "operators", "user who took a step on the alarm"),
        ("--object", "objects", "protected object id"),
        ("--zone", "zones", "zone id"),
        ("--floor", "floors", "floor id (its cameras, objects and zones)"),
    ):
        parser.add_argument(
            flag,
            dest=dest,
            action="append",
            default=[],
            metavar="VALUE",
            help=f"only this {what}; repeat for several",
        )
    blur = parser.add_mutually_exclusive_group()
    blur.add_argument(
        "--blur",
        dest="blur",
        action="store_true",
        default=None,
        help="blur bystanders in the snapshots (default: the site's privacy setting)",
    )
    blur.add_argument(
        "--no-blur",
        dest="blur",
        action="store_false",
        help="export the snapshots and clips as stored (no blurring of people)",
    )
    parser.add_argument(
        "--pdf-details",
        type=int,
        default=500,
        metavar="N",
        help="incidents with a page of their own in the PDF (default 500)",
    )
    add_user_arguments(parser)  # --user (an auditor; password asked), --password-fd, --db, --demo
    add_evidence_arguments(parser)
    parser.set_defaults(func=run, renderer_factory=None)


def parse_moment(text: str, tz: ZoneInfo, *, end: bool) -> datetime:
    """A day (`2026-11-28`: its start, or with `end` the start of the next day, so the day is
    included) or a date and time (local to the site unless it names its zone)."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        day = None
    if day is not None and len(text) <= 10:
        moment = datetime.combine(day + timedelta(days=1 if end else 0), clock_time(), tz)
        return moment
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"not a date (YYYY-MM-DD) or a date and time (YYYY-MM-DDTHH:MM): {text!r}"
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)


class ProgressLine:
    """`incidents 1200/100000 (1 %)`: rewritten in place on a terminal, else a line per tenth."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self._shown: dict[str, int] = {}
        self._last = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        share = 100 if total == 0 else int(100 * done / total)
        if self.tty:
            now = time.monotonic()
            if done < total and now - self._last < 0.2:
                return
            self._last = now
            end = "\n" if done >= total else ""
            print(f"\r{stage} {done}/{total} ({share} %)   ", end=end, file=sys.stderr, flush=True)
            return
        tenth = share // 10
        if self._shown.get(stage, -1) < tenth:
            self._shown[stage] = tenth
            print(f"{stage} {done}/{total} ({share} %)", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    return export_command(args, args.renderer_factory)


def export_command(args: argparse.Namespace, renderer_factory: Any = None) -> int:
    from console.commands.audit import signed_store
    from console.commands.sign_in import CommandRefused
    from console.evidence_actions import AuthorizeExport
    from console.export.query import ExportFilters
    from console.export.run import ExportError, ExportRequest, export_incidents
    from console.site_file import SiteFileError, load_site

    try:
        site = load_site(args.site)
    except SiteFileError as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        return 1
    default = "csv,jsonl,pdf" if renderer_factory is not None else "csv,jsonl"
    formats = tuple(f.strip() for f in (args.format or default).split(",") if f.strip())
    try:
        filters = ExportFilters.for_site(
            site,
            parse_moment(args.since, site.tz, end=False),
            parse_moment(args.until, site.tz, end=True),
            cameras=tuple(args.cameras),
            rules=tuple(args.rules),
            severities=tuple(args.severities),
            outcomes=tuple(args.outcomes),
            operators=tuple(args.operators),
            subjects=(*args.objects, *args.zones),
            floors=tuple(args.floors),
        )
        request = ExportRequest(
            filters, formats, args.out, args.user, blur=args.blur, pdf_details=args.pdf_details
        )
    except ValueError as exc:
        print(f"nightwatch export: {exc}", file=sys.stderr)
        return 1
    renderer: ReportRenderer | None = None
    if "pdf" in formats and renderer_factory is not None:
        renderer = renderer_factory()
    try:
        with signed_store(args, AuthorizeExport) as (store, _user, _):
            result = export_incidents(
                store, site, request, progress=ProgressLine(), renderer=renderer
            )
            signer = store.keys.fingerprint if store.keys else "?"
    except (CommandRefused, ExportError) as exc:
        print(f"nightwatch export: {exc}", file=sys.stderr)
        return 1
    shown = ", ".join(result.files[:6])
    more = f" and {len(result.files) - 6} more" if len(result.files) > 6 else ""
    print(
        f"exported {result.incidents} incident(s), {result.steps} step(s), {result.snapshots} "
        f"snapshot(s) to {result.out_dir}: {shown}{more}"
    )
    print(f"manifest SHA-256 {result.manifest_sha256}, signed by {signer}")
    print(
        f"audit row seq {result.audit_entry.seq}; check it with: nightwatch verify {result.out_dir}"
    )
    return 0
