"""How fast the export's filters answer on a large log: what an incident browser asks for each
change of its filters (the count, and the first page of 50 incidents with their steps,
sightings, dispatches, snapshots and holds), through `console.export.query`, against a baseline
in the same run that reads every incident of the period and filters in Python.

    .venv/bin/python bench/export_filters.py [--alarms 100000] [--repeat 3]

The log is the one bench/export_large.py builds (bulk-inserted with correct chain rows; reused
when it is there). Each figure is the median of `--repeat` runs, in milliseconds.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PAGE = 50


def _median_ms(work: Callable[[], object], repeat: int) -> tuple[float, object]:
    times, value = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        value = work()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--alarms", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--folder", type=Path, default=Path("/tmp/nightwatch-bench-export"))
    args = parser.parse_args()
    folder = args.folder
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["NIGHTWATCH_KEYS_DIR"] = str(folder / "keys")
    from bench.export_large import EVERY_S, START, build
    from console.export.query import ExportFilters, count_incidents, stream_incidents
    from console.store import Store

    db = folder / f"log-{args.alarms}.db"
    build_s = build(db, args.alarms)
    print(f"log: {args.alarms} alarms in {db}, built in {build_s:.0f} s (0: reused)")
    end = START + timedelta(seconds=args.alarms * EVERY_S)
    week = (end - timedelta(days=7), end)
    whole = (START, end + timedelta(seconds=1))
    cases = {
        "a week, no filter": ExportFilters(*week),
        "a week, one camera": ExportFilters(*week, cameras=("cam-east",)),
        "a week, one object": ExportFilters(*week, subjects=("milkmaid",)),
        "a week, rule + severity": ExportFilters(*week, rules=("proximity",), severities=("high",)),
        "a week, one operator": ExportFilters(*week, operators=("op-3",)),
        "everything, one outcome": ExportFilters(*whole, outcomes=("false_alarm",)),
    }
    print(f"| filter ({args.alarms} alarms) | incidents | count + first {PAGE} | baseline |")
    print("| --- | ---: | ---: | ---: |")
    with Store(f"sqlite:///{db}", read_only=True) as store:
        for name, filters in cases.items():

            def page(f: ExportFilters = filters) -> int:
                def read(session: object) -> int:
                    total = count_incidents(session, f)  # type: ignore[arg-type]
                    list(itertools.islice(stream_incidents(session, f, batch=PAGE), PAGE))  # type: ignore[arg-type]
                    return total

                return int(store.read(read))

            def baseline(f: ExportFilters = filters) -> int:
                period = ExportFilters(f.since, f.until)

                def read(session: object) -> int:
                    kept = [
                        i
                        for i in stream_incidents(session, period)  # type: ignore[arg-type]
                        if (not f.cameras or i.camera_id in f.cameras)
                        and (not f.subjects or i.subject in f.subjects)
                        and (not f.rules or i.rule in f.rules)
                        and (not f.severities or i.severity in f.severities)
                        and (not f.outcomes or i.outcome in f.outcomes)
                        and (not f.operators or any(s.user in f.operators for s in i.steps))
                    ]
                    return len(kept)

                return int(store.read(read))

            fast_ms, total = _median_ms(page, args.repeat)
            slow_ms, slow_total = _median_ms(baseline, 1)
            assert total == slow_total, (name, total, slow_total)
            print(f"| {name} | {total} | {fast_ms:.0f} ms | {slow_ms:.0f} ms |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
