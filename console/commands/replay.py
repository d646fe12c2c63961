"""`nightwatch replay SITE --events OUT.jsonl`: try the rules on recorded footage.

The site's file cameras run through the same pipeline as live cameras, in lockstep (every fifth
of a video second detected, in order, as fast as the machine allows; `--realtime` for real pace),
with the site clock starting at `--start`, so after-hours rules can be tried on daytime footage.
Every frame is judged, across cameras in video-time order, so two replays of the same footage
with the same `--start` write byte-identical events files.

A replay writes its alarms into a store of its own (`OUT.replay.db` beside the events file,
started afresh each time), never into the console's database unless `--db` names one; it never
resumes alarms it did not raise, and every alarm it writes is marked as replayed. One JSON line
per alarm raised, in the order raised:

    {"alarm_id": 1, "camera": "cam-1", "rule": "proximity", "subject": "milkmaid",
     "severity": "high", "occurrences": [{"track_id": 3, "camera": "cam-1", "start_s": 12.4,
     "end_s": 15.0, "closest_m": 0.62}], "start_s": 12.4, "end_s": 15.0}

Times are seconds from the start of the camera's video.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from console.commands.detect import add_detector_arguments

if TYPE_CHECKING:
    from console.store import Store


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
    parser.add_argument(
        "--db",
        metavar="URL",
        help="write the alarms into this store (default: OUT.replay.db beside the events file, "
        "made afresh; never the console's own database unless named here)",
    )
    parser.add_argument(
        "--workers", type=int, help="detector workers (default: the site file's, else cores / 2)"
    )
    parser.add_argument(
        "--timeout-s",
        type=float,
        default=3600.0,
        help="give up after this many seconds (default 3600)",
    )
    add_detector_arguments(parser, site_chooses=True)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from console.detection import asked_detector
    from console.runtime import ReplayOptions, RuntimeOptions, SiteRunError, SiteRuntime
    from console.site_file import SiteFileError, load_site
    from console.store import StoreError

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
        detector=asked_detector(args.detector, args.weights, args.device),
        cpu_workers=args.workers,
        replay=ReplayOptions(start, realtime=args.realtime, detect_every_s=args.detect_every_s),
    )
    raised: list[int] = []

    def on_alarm(alarm: object) -> None:
        alarm_id = getattr(alarm, "alarm_id", None)
        if alarm_id is not None and alarm_id not in raised:
            raised.append(alarm_id)

    try:
        store = open_replay_store(args.events, args.db)
    except (StoreError, OSError) as exc:
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
    print(f"detector: {runtime.detection.describe()}", file=sys.stderr)
    deadline = time.monotonic() + args.timeout_s
    finished = False
    try:
        with runtime:
            while time.monotonic() < deadline:
                stats = runtime.pipeline.stats()
                if stats.error:
                    print(f"nightwatch replay: detector failed: {stats.error}", file=sys.stderr)
                    return 1
                if runtime.replay_finished():
                    finished = True
                    break
                time.sleep(0.2)
            alarms = {a.alarm_id: a for a in runtime.alarms.open_alarms()}
    finally:
        report = store.close()
        if not report.all_stored:
            print(f"nightwatch replay: {report}", file=sys.stderr)
    from console.runtime import alarm_record

    args.events.parent.mkdir(parents=True, exist_ok=True)
    with args.events.open("w", encoding="utf-8") as out:
        for alarm_id in sorted(raised):
            if alarm_id in alarms:
                out.write(json.dumps(alarm_record(alarms[alarm_id])) + "\n")
    print(
        f"{len(raised)} alarm(s) from {runtime.frames_seen} detected frames written to "
        f"{args.events} (the replay's store: {store.url})",
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


def replay_store_paths(events: Path) -> tuple[Path, Path]:
    """The replay's own database and snapshot folder, beside the events file."""
    stem = events.with_suffix("")
    return stem.with_name(stem.name + ".replay.db"), stem.with_name(stem.name + ".replay-snapshots")


def open_replay_store(events: Path, db_url: str | None) -> Store:
    """`--db` when given; else a fresh store of the replay's own beside the events file (the
    previous replay's, and only that, is removed first)."""
    from console.store import Store

    if db_url is not None:
        return Store(db_url)
    db, snapshots = replay_store_paths(events)
    db.parent.mkdir(parents=True, exist_ok=True)
    for leftover in (db, Path(f"{db}-wal"), Path(f"{db}-shm"), Path(f"{db}.lock")):
        leftover.unlink(missing_ok=True)
    if snapshots.is_dir():
        shutil.rmtree(snapshots)
    return Store(f"sqlite:///{db}", snapshots_dir=snapshots)


def parse_start(text: str | None, tz: tzinfo) -> datetime:
    """`--start`: ISO 8601; a naive time is in the site's time zone; default now."""
    if text is None:
        return datetime.now(tz)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an ISO date-time (got {text!r}); e.g. 2026-11-28T02:00") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=tz)
