"""The incident browser's filters on a large log: answer times and memory, against loading
every row.

A real SQLite store (migrated by `Store`) is filled with `--alarms` alarms (100,000 by default)
over `--nights` nights, bulk-inserted in the store's own schema: 16 cameras on two floors, 30
objects and zones, five rules, three severities, outcomes, each alarm's steps (raise, most
acknowledged after a few seconds to minutes, a fifth dispatched and met on scene, most
resolved) with the operators who took them, and two shifts a night. Then, on the same machine
in the same run, each filter the browser offers is answered two ways:

- **the browser**: `search_incidents` (one keyset page of 200 rows, and the count of all
  matches) and, for some, the next page and a page deep in the list; `incident_figures` (the
  charts) for the whole log and for one month; `incident_record` (one incident opened);
- **the naive baseline**: every alarm loaded (`list_alarms`, 100,000 records) and filtered in
  Python, as a view that "just loads the log" would.

Reported per filter: p50 and p95 over `--repeat` runs, the rows matched, the ratio baseline /
browser, and the peak Python memory (tracemalloc) of one browser page against one load-all.

    .venv/bin/python bench/incident_browser.py [--alarms 100000] [--nights 180] [--repeat 7]
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from console.store import Store, list_alarms  # noqa: E402
from console.store.incident_search import (  # noqa: E402
    IncidentFilter,
    incident_figures,
    incident_record,
    search_incidents,
)

CAMERAS_GROUND = [f"cam-g{n:02d}" for n in range(8)]
CAMERAS_FIRST = [f"cam-f{n:02d}" for n in range(8)]
OBJECTS = [f"object-{n:02d}" for n in range(24)]
ZONES = [f"zone-{n}" for n in range(6)]
RULES = ["proximity", "after_hours", "loitering", "restricted", "camera_health"]
SEVERITIES = ["high", "medium", "low"]
OUTCOMES = ["false_alarm", "visitor_warned", "intervention", "police_called", "other"]
OPERATORS = ["ana", "bert", "chloe", "dev", "eli"]
START = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


@dataclass(frozen=True, slots=True)
class Museum:
    """The ids a generated log uses (the bench's own, or a real site's for screenshots)."""

    cameras: tuple[str, ...] = tuple(CAMERAS_GROUND + CAMERAS_FIRST)
    objects: tuple[str, ...] = tuple(OBJECTS)
    zones: tuple[str, ...] = tuple(ZONES)
    operators: tuple[str, ...] = tuple(OPERATORS)
    guard: str = "g-anna"


def fill(
    db: Path,
    alarms: int,
    nights: int,
    seed: int = 7,
    *,
    museum: Museum | None = None,
    start: datetime = START,
    all_resolved: bool = False,
) -> None:
    """Bulk-insert `alarms` alarms with their steps and the shifts into a migrated store (the
    operators are added as accounts when the store has none of that name)."""
    museum = museum or Museum()
    rng = random.Random(seed)
    con = sqlite3.connect(db)
    con.execute("PRAGMA foreign_keys = OFF")
    con.execute("PRAGMA synchronous = OFF")
    for name in museum.operators:
        con.execute(
            "INSERT OR IGNORE INTO users (name, name_key, role, created_at) VALUES (?, ?, ?, ?)",
            (name, name.casefold(), "operator", stamp(start)),
        )
    user_ids = [
        con.execute("SELECT id FROM users WHERE name = ?", (name,)).fetchone()[0]
        for name in museum.operators
    ]
    shifts = []
    first_shift = (con.execute("SELECT max(id) FROM shifts").fetchone()[0] or 0) + 1
    first_alarm = (con.execute("SELECT max(id) FROM alarms").fetchone()[0] or 0) + 1
    for night in range(nights):
        evening = start + timedelta(days=night, hours=6)  # 18:00 UTC
        for half in range(2):
            begin = evening + timedelta(hours=7 * half)
            shifts.append(
                (
                    first_shift + len(shifts),
                    rng.choice(user_ids),
                    stamp(begin),
                    stamp(begin + timedelta(hours=7)),
                    "desk-1",
                )
            )
    con.executemany(
        "INSERT INTO shifts (id, user_id, started_at, ended_at, station) VALUES (?, ?, ?, ?, ?)",
        shifts,
    )
    alarm_rows, events, sent = [], [], []
    span_s = nights * 86400
    for alarm_id in range(first_alarm, first_alarm + alarms):
        raised = start + timedelta(seconds=rng.random() * span_s)
        camera = rng.choice(museum.cameras)
        rule = rng.choices(RULES, weights=[50, 20, 10, 10, 10])[0]
        zoned = rule in ("after_hours", "restricted") and museum.zones
        subject = rng.choice(museum.zones) if zoned else rng.choice(museum.objects)
        if rule == "camera_health":
            subject = camera
        severity = rng.choices(SEVERITIES, weights=[30, 50, 20])[0]
        operator = rng.choice(museum.operators)
        steps = [("raise", raised, "system", None)]
        state, outcome = "raised", None
        if all_resolved or rng.random() < 0.95:
            ack = raised + timedelta(seconds=rng.lognormvariate(3.0, 1.0))
            steps.append(("acknowledge", ack, operator, None))
            state = "acknowledged"
            last = ack
            if rng.random() < 0.2:
                sent_at = ack + timedelta(seconds=rng.uniform(5, 60))
                arrived = sent_at + timedelta(seconds=rng.uniform(30, 300))
                guard = f'{{"guard_id":"{museum.guard}"}}'
                steps.append(("dispatch", sent_at, operator, guard))
                steps.append(("arrive", arrived, operator, None))
                sent.append((alarm_id, museum.guard, None, stamp(sent_at), stamp(arrived)))
                state, last = "dispatched", arrived
            if all_resolved or rng.random() < 0.97:
                resolved = last + timedelta(seconds=rng.uniform(5, 600))
                outcome = rng.choices(OUTCOMES, weights=[55, 25, 12, 1, 7])[0]
                steps.append(("resolve", resolved, operator, f'{{"outcome":"{outcome}"}}'))
                state = "resolved"
        updated = steps[-1][1]
        alarm_rows.append(
            (
                alarm_id,
                camera,
                rule,
                subject,
                severity,
                None,
                state,
                stamp(raised),
                stamp(updated),
                outcome,
                None,
                f"{camera}/{rule}/{subject}",
                0,
            )
        )
        for kind, at, user, detail in steps:
            events.append((alarm_id, kind, stamp(at), user, detail))
    con.executemany(
        "INSERT INTO alarms (id, camera_id, rule, subject, severity, track_id, state, raised_at, "
        "updated_at, outcome, note, episode_key, replayed) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        alarm_rows,
    )
    con.executemany(
        "INSERT INTO alarm_events (alarm_id, kind, at, user, detail) VALUES (?,?,?,?,?)", events
    )
    con.executemany(
        "INSERT INTO dispatches (alarm_id, guard_id, post, sent_at, arrived_at) VALUES (?,?,?,?,?)",
        sent,
    )
    con.commit()
    con.execute("ANALYZE")
    con.close()


def timed(fn: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return times, result


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def matches(record: Any, f: IncidentFilter) -> bool:
    """The baseline's filter in Python over loaded records (operator: not in AlarmRecord, so
    the baseline would need every event too; it is left out of the baseline)."""
    if f.since and record.raised_at < f.since:
        return False
    if f.until and record.raised_at >= f.until:
        return False
    if f.cameras and record.camera_id not in f.cameras:
        return False
    if f.subjects and record.subject not in f.subjects:
        return False
    if f.floor and record.camera_id not in f.floor[0] and record.subject not in f.floor[1]:
        return False
    if f.rules and record.rule not in f.rules:
        return False
    if f.severities and record.severity not in f.severities:
        return False
    if f.outcomes:
        value = record.outcome.value if record.outcome else "open"
        if value not in f.outcomes:
            return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--alarms", type=int, default=100_000)
    parser.add_argument("--nights", type=int, default=180)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--baseline-repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="nw-browser-bench-") as tmp:
        db = Path(tmp) / "alarms.db"
        Store(f"sqlite:///{db}").close()  # the real schema, migrated
        t0 = time.perf_counter()
        fill(db, args.alarms, args.nights)
        print(
            f"filled {args.alarms} alarms over {args.nights} nights in "
            f"{time.perf_counter() - t0:.1f} s ({db.stat().st_size / 1e6:.0f} MB)"
        )
        store = Store(f"sqlite:///{db}", read_only=True)
        month = (START + timedelta(days=60), START + timedelta(days=90))
        week = (START + timedelta(days=100), START + timedelta(days=107))
        filters: dict[str, IncidentFilter] = {
            "none": IncidentFilter(),
            "one week": IncidentFilter(since=week[0], until=week[1]),
            "camera": IncidentFilter(cameras=("cam-g03",)),
            "floor": IncidentFilter(floor=(tuple(CAMERAS_FIRST), tuple(OBJECTS[12:]))),
            "zone": IncidentFilter(subjects=("zone-2",)),
            "object": IncidentFilter(subjects=("object-07",)),
            "rule": IncidentFilter(rules=("loitering",)),
            "severity": IncidentFilter(severities=("high",)),
            "outcome": IncidentFilter(outcomes=("police_called",)),
            "open": IncidentFilter(outcomes=("open",)),
            "operator": IncidentFilter(operator="chloe"),
            "month+object+false": IncidentFilter(
                since=month[0], until=month[1], subjects=("object-03",), outcomes=("false_alarm",)
            ),
        }
        results: dict[str, Any] = {"alarms": args.alarms, "filters": {}}

        # the naive baseline: every alarm loaded, then filtered in Python
        base_times, everything = timed(
            lambda: store.read(list_alarms, newest_first=True), args.baseline_repeat
        )
        tracemalloc.start()
        store.read(list_alarms, newest_first=True)
        _, base_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        tracemalloc.start()
        store.read(search_incidents, IncidentFilter(), 200)
        _, page_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"load-all baseline: {len(everything)} records, p50 {pct(base_times, 0.5):.3f} s, "
            f"peak {base_peak / 1e6:.0f} MB; one browser page: peak "
            f"{page_peak / 1e6:.1f} MB"
        )
        results["load_all_s"] = statistics.median(base_times)
        results["memory_mb"] = {"load_all": base_peak / 1e6, "page": page_peak / 1e6}

        print(
            f"{'filter':22} {'matches':>8} {'page p50':>9} {'p95':>7} {'next':>7} "
            f"{'baseline':>9} {'ratio':>6}"
        )
        for name, f in filters.items():
            times, page = timed(lambda f=f: store.read(search_incidents, f, 200), args.repeat)
            nxt = ""
            if page.next_key is not None:
                more, _ = timed(
                    lambda f=f, k=page.next_key: store.read(
                        search_incidents, f, 200, after=k, count=False
                    ),
                    args.repeat,
                )
                nxt = f"{pct(more, 0.5):.3f}"
            filt = [0.0]
            if name != "operator":
                filt, found = timed(
                    lambda f=f: [r for r in everything if matches(r, f)], args.baseline_repeat
                )
                assert len(found) == page.total, (name, len(found), page.total)
            baseline = statistics.median(base_times) + statistics.median(filt)
            p50 = pct(times, 0.5)
            ratio = "" if name == "operator" else f"{baseline / p50:.0f}x"
            base = "—" if name == "operator" else f"{baseline:.3f}"
            print(
                f"{name:22} {page.total:>8} {p50:>9.3f} {pct(times, 0.95):>7.3f} {nxt:>7} "
                f"{base:>9} {ratio:>6}"
            )
            results["filters"][name] = {
                "matches": page.total,
                "p50_s": p50,
                "p95_s": pct(times, 0.95),
                "next_page_p50_s": float(nxt) if nxt else None,
                "baseline_s": None if name == "operator" else baseline,
            }
        deep_key = None
        f = IncidentFilter()
        for _ in range(250):  # 250 pages in: 50,000 rows down the list
            page = store.read(search_incidents, f, 200, after=deep_key, count=False)
            deep_key = page.next_key
        deep, _ = timed(
            lambda: store.read(search_incidents, f, 200, after=deep_key, count=False), args.repeat
        )
        print(f"page 251 (rows 50,001-50,200), no filter: p50 {pct(deep, 0.5):.3f} s")
        results["deep_page_p50_s"] = pct(deep, 0.5)
        for name, f in (
            ("figures, all", IncidentFilter()),
            ("figures, one month", IncidentFilter(since=month[0], until=month[1])),
        ):
            times, figures = timed(
                lambda f=f: store.read(incident_figures, f, "Europe/Amsterdam"), 3
            )
            print(
                f"{name}: p50 {pct(times, 0.5):.3f} s, max {max(times):.3f} s "
                f"({figures.total} alarms, {len(figures.per_night)} nights, "
                f"{len(figures.per_shift)} shifts)"
            )
            results[name] = {"p50_s": pct(times, 0.5), "max_s": max(times)}
        times, _ = timed(lambda: store.read(incident_record, args.alarms // 2), args.repeat)
        print(f"one incident opened: p50 {pct(times, 0.5) * 1000:.1f} ms")
        results["incident_p50_s"] = pct(times, 0.5)
        store.close()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
