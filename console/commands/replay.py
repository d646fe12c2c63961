"""`nightwatch replay SITE --events OUT.jsonl`: try the rules on recorded footage.

The site's file cameras run through the same pipeline as live cameras, in lockstep (every fifth
of a video second detected, in order, as fast as the machine allows; `--realtime` for real pace),
with the site clock starting at `--start`, so after-hours rules can be tried on daytime footage.
Alarms are stored in the database like live ones, and one JSON line per alarm is written:

    {"alarm_id": 7, "camera": "cam-1", "rule": "proximity", "subject": "milkmaid",
     "severity": "high", "track_id": 3, "start_s": 12.4, "end_s": 15.0}

`start_s` and `end_s` are seconds from the start of that camera's video.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime
from pathlib import Path

from console.commands.detect import add_detector_arguments


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("replay", help="run a site's file cameras through the rules")
    parser.add_argument("site", type=Path, metavar="SITE")
    parser.add_argument(
        "--events",
        type=Path,
        required=True,
        metavar="OUT.jsonl",
        help="where to write one JSON line per alarm",
    )
    parser.add_argument(
        "--start",
        metavar="ISO-DATETIME",
        help="site time of the videos' first frame (default: now); without a "
        "time zone it is read in the site's",
    )
    parser.add_argument("--realtime", action="store_true", help="play at real pace")
    parser.add_argument(
        "--detect-every-s",
        type=float,
        default=0.2,
        help="video seconds between detected frames (default 0.2)",
    )
    parser.add_argument("--db", metavar="URL", help="SQLAlchemy URL of the alarm store")
    parser.add_argument("--workers", type=int, help="CPU detector workers")
    parser.add_argument(
        "--timeout-s",
        type=float,
        default=3600.0,
        help="give up after this many seconds (default 3600)",
    )
    add_detector_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from console.runtime import ReplayOptions, RuntimeOptions, SiteRunError, SiteRuntime
    from console.site_file import SiteFileError, load_site
    from console.store import Store, StoreError
    from inference.worker_pool import DetectorSpec

    try:
        site = load_site(args.site)
    except SiteFileError as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        return 1
    try:
        start = parse_start(args.start, site.tz)
    except ValueError as exc:
        print(f"nightwatch replay: --start: {exc}", file=sys.stderr)
        return 2
    if args.detect_every_s <= 0:
        print(
            f"nightwatch replay: --detect-every-s must be > 0 (got {args.detect_every_s})",
            file=sys.stderr,
        )
        return 2
    options = RuntimeOptions(
        detector=DetectorSpec(args.detector, args.weights, args.device),
        cpu_workers=args.workers,
        replay=ReplayOptions(start, realtime=args.realtime, detect_every_s=args.detect_every_s),
    )
    raised: list[int] = []

    def on_alarm(alarm: object) -> None:
        alarm_id = getattr(alarm, "alarm_id", None)
        if alarm_id is not None and alarm_id not in raised:
            raised.append(alarm_id)

    try:
        store = Store(args.db)
    except StoreError as exc:
        print(f"nightwatch replay: {exc}", file=sys.stderr)
        return 1
    try:
        runtime = SiteRuntime(site, store, options, on_alarm=on_alarm)
    except SiteRunError as exc:
        store.close()
        print(f"nightwatch replay: {args.site}: {exc}", file=sys.stderr)
        return 1
    print(
        f"replaying {len(site.cameras)} camera(s) of {site.site.name} from {start.isoformat()}",
        file=sys.stderr,
    )
    deadline = time.monotonic() + args.timeout_s
    finished = False
    try:
        with runtime:
            while time.monotonic() < deadline:
                stats = runtime.pipeline.stats()
                if stats["error"]:
                    print(f"nightwatch replay: detector failed: {stats['error']}", file=sys.stderr)
                    return 1
                if runtime.replay_finished():
                    finished = True
                    break
                time.sleep(0.2)
            runtime.tick()
            alarms = {a.alarm_id: a for a in runtime.alarms.open_alarms()}
    finally:
        report = store.close()
        if not report.all_stored:
            print(f"nightwatch replay: {report}", file=sys.stderr)
    from console.runtime import alarm_record

    args.events.parent.mkdir(parents=True, exist_ok=True)
    with args.events.open("w", encoding="utf-8") as out:
        for alarm_id in raised:
            if alarm_id in alarms:
                out.write(json.dumps(alarm_record(alarms[alarm_id])) + "\n")
    print(
        f"{len(raised)} alarm(s) from {runtime.frames_seen} detected frames written to "
        f"{args.events}",
        file=sys.stderr,
    )
    if not report.all_stored:
        return 1
    if not finished:
        print(
            f"nightwatch replay: stopped after --timeout-s {args.timeout_s:.0f} s before the "
            "videos ended",
            file=sys.stderr,
        )
        return 1
    return 0


def parse_start(text: str | None, tz: object) -> datetime:
    """`--start`: ISO 8601; a naive time is in the site's time zone; default now."""
    if text is None:
        return datetime.now(tz)  # type: ignore[arg-type]
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an ISO date-time (got {text!r}); e.g. 2026-11-28T02:00") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=tz)  # type: ignore[arg-type]
