"""A console's store work, run in a child process so that the battery can SIGKILL it anywhere.

    python -m tests.reliability.kill_child steps DB SITE SEED
    python -m tests.reliability.kill_child migrate DB STOP_AT

`steps`: the real `Store` on the SQLite file DB and the real `AlarmManager` over the site file
SITE (itself a restart when DB holds open alarms: they are reloaded). It does what a night shift
does, at random (seeded): findings that raise alarms (with a snapshot) or fold into open ones
(new sightings), acknowledge, dispatch a guard, the guard's arrival, resolve, comment, and audit
rows of its own (`AppendAudit`), a few at a time so that several writes are in flight when the
kill lands. It prints one JSON line per step only after the step's writes completed, i.e. were
committed (`AlarmManager.flush` waits for the writer's futures; a refusal ends the child with
exit 3): a printed step must be on disk whatever happens next.

`migrate`: opens a `Store` on DB (which is at an old revision), counting the SQL statements the
migration sends; at statement STOP_AT it prints `STOP n <statement>` and waits to be killed
(0: never stops, and prints `SQL n <statement>` for each). It prints `MIGRATING` at the first
statement and `OPENED n` once the store
is open (migrated, its `store.open` row written) and closed again.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

USER = "night-monitor"
TRACKS = 40  # track ids a finding names: sightings repeat, so findings fold
OUTCOMES = ("false_alarm", "visitor_warned", "intervention", "other")


def _say(record: dict[str, Any] | str) -> None:
    line = record if isinstance(record, str) else json.dumps(record, sort_keys=True)
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def jpeg_bytes() -> bytes:
    import cv2
    import numpy as np

    picture = np.full((48, 64, 3), 90, np.uint8)
    cv2.rectangle(picture, (10, 8), (30, 40), (0, 0, 255), 2)
    ok, data = cv2.imencode(".jpg", picture)
    if not ok:
        raise RuntimeError("cannot encode a JPEG")
    return data.tobytes()


def run_steps(db: Path, site_path: Path, seed: int) -> int:
    from console.alarms import AlarmManager, IllegalTransition, episode_key
    from console.clock import SystemClock
    from console.rules import Finding
    from console.rules.details import AfterHoursDetail, ProximityDetail
    from console.severity import Severity
    from console.site_file import load_site
    from console.store import AlarmState, AppendAudit, Store
    from tests.reliability.sites import GUARDS, OBJECTS, ZONE

    rng = random.Random(seed)
    store = Store(f"sqlite:///{db}")
    site = load_site(site_path)
    manager = AlarmManager(store, site, SystemClock())
    cameras = [c.id for c in site.cameras]
    picture = jpeg_bytes()
    _say({"k": "ready", "open": sorted(a.alarm_id for a in manager.open_alarms())})
    n = 0

    def finding() -> Finding:
        camera = rng.choice(cameras)
        track = rng.randint(1, TRACKS)
        if rng.random() < 0.25:  # a zone-wide incident: every camera's findings fold into it
            detail = AfterHoursDetail(zone=ZONE)
            return Finding("after_hours", camera, ZONE, track, Severity.HIGH, _now(), None, detail)
        subject = rng.choice(OBJECTS)
        near = ProximityDetail(distance_m=round(rng.uniform(0.1, 1.0), 2))
        return Finding("proximity", camera, subject, track, Severity.HIGH, _now(), 1.0, near)

    def step() -> dict[str, Any] | None:
        nonlocal n
        n += 1
        tag = f"{seed}-{n}"
        kind = rng.choices(
            ["finding", "ack", "dispatch", "arrive", "resolve", "comment", "audit"],
            weights=[35, 15, 10, 5, 15, 10, 10],
        )[0]
        alarms = manager.open_alarms()
        if kind == "finding":
            found = finding()
            key = manager.incident_key(found)
            before = {a.alarm_id: len(a.occurrences) for a in alarms}
            snap = rng.random() < 0.5
            raised = manager.ingest([found], snapshot=(lambda _f: picture) if snap else None)
            if raised:
                (alarm,) = raised
                return {
                    "k": "raise",
                    "alarm": alarm.alarm_id,
                    "episode": episode_key(*key),
                    "snap": snap,
                }
            (alarm,) = [a for a in manager.open_alarms() if a.episode == key]
            if len(alarm.occurrences) == before.get(alarm.alarm_id):
                return None  # the same sighting found again: nothing new to store
            return {
                "k": "fold",
                "alarm": alarm.alarm_id,
                "camera": found.camera_id,
                "track": found.track_id,
            }
        if kind == "audit":
            target = f"note:{tag}"
            pending.append(store.write(AppendAudit(USER, "operator.note", target)))
            return {"k": "audit", "target": target}
        wanted = {
            "ack": [a for a in alarms if not a.acknowledged],
            "dispatch": [a for a in alarms if a.state != AlarmState.RAISED],
            "arrive": [
                a
                for a in alarms
                if a.guard_on_the_way is not None and a.guard_on_the_way.dispatch_id is not None
            ],
            "resolve": [a for a in alarms if a.state != AlarmState.RAISED],
            "comment": alarms,
        }[kind]
        if not wanted:
            return None
        alarm = rng.choice(wanted)
        try:
            if kind == "ack":
                seen = alarm.needs_attention and alarm.state != AlarmState.RAISED
                manager.acknowledge(alarm.alarm_id, USER)
                return {"k": "ack", "alarm": alarm.alarm_id, "seen": seen}
            if kind == "dispatch":
                guard = rng.choice(GUARDS)
                manager.dispatch(alarm.alarm_id, guard, USER)
                return {"k": "dispatch", "alarm": alarm.alarm_id, "guard": guard}
            if kind == "arrive":
                on_the_way = alarm.guard_on_the_way
                assert on_the_way is not None
                manager.guard_arrived(alarm.alarm_id, USER)
                return {"k": "arrive", "alarm": alarm.alarm_id, "dispatch": on_the_way.dispatch_id}
            if kind == "resolve":
                outcome = rng.choice(OUTCOMES)
                manager.resolve(alarm.alarm_id, outcome, USER, note=f"resolved {tag}")
                return {"k": "resolve", "alarm": alarm.alarm_id, "outcome": outcome}
            text = f"comment {tag}"
            manager.comment(alarm.alarm_id, USER, text)
            return {"k": "comment", "alarm": alarm.alarm_id, "text": text}
        except IllegalTransition as exc:  # the battery's own mistake: say so, loudly
            _say(f"REFUSED {kind} {alarm.alarm_id}: {exc}")
            return None

    while True:
        pending: list[Any] = []
        batch = [s for s in (step() for _ in range(rng.randint(1, 6))) if s is not None]
        if not manager.flush(timeout_s=120):
            _say("NOT FLUSHED within 120 s")
            return 3
        for future in pending:
            future.result(timeout=120)
        if manager.unstored:
            _say(f"UNSTORED {manager.unstored}")
            return 3
        for record in batch:
            _say(record)
        manager.tick()  # sightings end, alarms escalate: their writes go with the next batch


def _now() -> datetime:
    return datetime.now(UTC)


def run_migrate(db: Path, stop_at: int) -> int:
    from sqlalchemy import event

    import console.store.migrations as migrations
    from console.store import Store

    made = migrations._migration_engine
    sent = 0

    def counting_engine(url: str) -> Any:
        engine = made(url)

        @event.listens_for(engine, "before_cursor_execute")
        def _count(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
            nonlocal sent
            sent += 1
            shown = " ".join(statement.split())[:80]
            if sent == 1:
                _say("MIGRATING")
            if stop_at == 0:
                _say(f"SQL {sent} {shown}")
            if sent == stop_at:
                _say(f"STOP {sent} {shown}")
                time.sleep(600)

        return engine

    migrations._migration_engine = counting_engine
    Store(f"sqlite:///{db}").close()
    _say(f"OPENED {sent}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    steps = sub.add_parser("steps")
    steps.add_argument("db", type=Path)
    steps.add_argument("site", type=Path)
    steps.add_argument("seed", type=int)
    migrate = sub.add_parser("migrate")
    migrate.add_argument("db", type=Path)
    migrate.add_argument("stop_at", type=int)
    args = parser.parse_args(argv)
    if args.mode == "steps":
        return run_steps(args.db, args.site, args.seed)
    return run_migrate(args.db, args.stop_at)


if __name__ == "__main__":
    sys.exit(main())
