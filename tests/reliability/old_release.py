"""A database as the first release (revision 0001) wrote it, written here in plain SQL.

The first release's store (commit 2b8f66d, `console/store/repository.py`) kept its audit log as a
plain SHA-256 chain: row *n* has

    row_hash = SHA-256(prev_hash ‖ canonical({seq, at, user, action, target, detail}))

(sorted-key compact JSON, `at` in ISO 8601 UTC with microseconds, `detail` the row's own
canonical JSON text), with no key and no payload hash. Times were naive UTC text
(`YYYY-MM-DD HH:MM:SS.ffffff`); an event's detail was SQLAlchemy's JSON (`json.dumps` of the
canonical form, so sorted keys with the default separators). Each write wrote its table rows and
one audit row per step in one transaction: `user.add`, `shift.start`, `alarm.raise`,
`alarm.acknowledge`, `alarm.comment`, `alarm.dispatch`, `alarm.arrive`, `alarm.resolve`, and the
operator's own rows.

The hashing is written out here on purpose rather than imported from `console.store.audit`: the
battery checks that today's verifier accepts what an old console wrote, so the writer must not
share the verifier's code. The schema is the one the 0001 migration creates (that file is
self-contained and never changes)."""

from __future__ import annotations

import hashlib
import json
import random
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

OLD_REVISION = "0001"
GENESIS = "0" * 64
SYSTEM = "system"
MONITOR = "night-monitor"
SUPERVISOR = "night-supervisor"
OUTCOMES = ("false_alarm", "visitor_warned", "intervention", "police_called", "other")


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def _stored(at: datetime) -> str:
    """How SQLAlchemy kept an aware UTC time in SQLite for the first release: naive UTC text."""
    return at.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


@dataclass
class OldWriter:
    """Writes rows the way the first release's store did, one transaction per step."""

    conn: sqlite3.Connection
    head: str = GENESIS
    seq: int = 0

    def _audit(
        self, user: str, action: str, target: str | None, detail: dict[str, Any], at: datetime
    ) -> None:
        self.seq += 1
        detail_json = _canonical(detail)
        content = _canonical(
            {
                "seq": self.seq,
                "at": _iso(at),
                "user": user,
                "action": action,
                "target": target,
                "detail": detail_json,
            }
        )
        row_hash = hashlib.sha256(self.head.encode("ascii") + content.encode("utf-8")).hexdigest()
        self.conn.execute(
            "INSERT INTO audit_log (seq, at, user, action, target, detail, prev_hash, row_hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (self.seq, _stored(at), user, action, target, detail_json, self.head, row_hash),
        )
        self.head = row_hash

    def _event(
        self, alarm_id: int, kind: str, user: str, detail: dict[str, Any], at: datetime
    ) -> None:
        plain = json.loads(_canonical(detail))
        cursor = self.conn.execute(
            'INSERT INTO alarm_events (alarm_id, kind, at, "user", detail) VALUES (?, ?, ?, ?, ?)',
            (alarm_id, kind, _stored(at), user, json.dumps(plain)),
        )
        audit_detail = {"event_id": cursor.lastrowid, **plain}
        self._audit(user, f"alarm.{kind}", f"alarm:{alarm_id}", audit_detail, at)

    def add_user(self, name: str, role: str, at: datetime) -> int:
        with self.conn:
            cursor = self.conn.execute(
                "INSERT INTO users (name, role, created_at) VALUES (?, ?, ?)",
                (name, role, _stored(at)),
            )
            user_id = int(cursor.lastrowid or 0)
            self._audit(SYSTEM, "user.add", f"user:{name}", {"user_id": user_id, "role": role}, at)
        return user_id

    def start_shift(self, user_id: int, name: str, at: datetime) -> None:
        with self.conn:
            cursor = self.conn.execute(
                "INSERT INTO shifts (user_id, started_at) VALUES (?, ?)", (user_id, _stored(at))
            )
            self._audit(name, "shift.start", f"shift:{cursor.lastrowid}", {}, at)

    def raise_alarm(self, camera: str, subject: str, track: int, key: str, at: datetime) -> int:
        with self.conn:
            cursor = self.conn.execute(
                "INSERT INTO alarms (camera_id, rule, subject, severity, track_id, state, "
                "raised_at, updated_at, episode_key) VALUES (?, 'proximity', ?, 'high', ?, "
                "'raised', ?, ?, ?)",
                (camera, subject, track, _stored(at), _stored(at), key),
            )
            alarm_id = int(cursor.lastrowid or 0)
            facts = {
                "camera_id": camera,
                "rule": "proximity",
                "subject": subject,
                "severity": "high",
                "track_id": track,
                "episode_key": key,
            }
            self._event(alarm_id, "raise", SYSTEM, facts, at)
        return alarm_id

    def _state(self, alarm_id: int) -> str:
        query = "SELECT state FROM alarms WHERE id = ?"
        (state,) = self.conn.execute(query, (alarm_id,)).fetchone()
        return str(state)

    def acknowledge(self, alarm_id: int, at: datetime) -> None:
        with self.conn:
            before = self._state(alarm_id)
            self.conn.execute(
                "UPDATE alarms SET state = 'acknowledged', updated_at = ? WHERE id = ?",
                (_stored(at), alarm_id),
            )
            facts = {"from": before, "to": "acknowledged"}
            self._event(alarm_id, "acknowledge", MONITOR, facts, at)

    def comment(self, alarm_id: int, text: str, at: datetime) -> None:
        with self.conn:
            self.conn.execute(
                "UPDATE alarms SET updated_at = ? WHERE id = ?", (_stored(at), alarm_id)
            )
            self._event(alarm_id, "comment", MONITOR, {"text": text}, at)

    def dispatch(self, alarm_id: int, guard: str, at: datetime) -> int:
        with self.conn:
            before = self._state(alarm_id)
            cursor = self.conn.execute(
                "INSERT INTO dispatches (alarm_id, guard_id, post, sent_at) VALUES (?, ?, NULL, ?)",
                (alarm_id, guard, _stored(at)),
            )
            dispatch_id = int(cursor.lastrowid or 0)
            self.conn.execute(
                "UPDATE alarms SET state = 'dispatched', updated_at = ? WHERE id = ?",
                (_stored(at), alarm_id),
            )
            facts = {
                "from": before,
                "to": "dispatched",
                "dispatch_id": dispatch_id,
                "guard_id": guard,
                "post": None,
            }
            self._event(alarm_id, "dispatch", MONITOR, facts, at)
        return dispatch_id

    def arrive(self, dispatch_id: int, at: datetime) -> None:
        with self.conn:
            alarm_id, guard = self.conn.execute(
                "SELECT alarm_id, guard_id FROM dispatches WHERE id = ?", (dispatch_id,)
            ).fetchone()
            self.conn.execute(
                "UPDATE dispatches SET arrived_at = ? WHERE id = ?", (_stored(at), dispatch_id)
            )
            self.conn.execute(
                "UPDATE alarms SET updated_at = ? WHERE id = ?", (_stored(at), alarm_id)
            )
            facts = {"dispatch_id": dispatch_id, "guard_id": guard, "outcome": None}
            self._event(alarm_id, "arrive", MONITOR, facts, at)

    def resolve(self, alarm_id: int, outcome: str, at: datetime) -> None:
        with self.conn:
            before = self._state(alarm_id)
            self.conn.execute(
                "UPDATE alarms SET state = 'resolved', outcome = ?, updated_at = ? WHERE id = ?",
                (outcome, _stored(at), alarm_id),
            )
            facts = {"from": before, "to": "resolved", "outcome": outcome}
            self._event(alarm_id, "resolve", MONITOR, facts, at)

    def note(self, target: str, at: datetime) -> None:
        with self.conn:
            self._audit(MONITOR, "operator.note", target, {}, at)


def create_old_schema(path: Path) -> None:
    """The first release's schema, by its own migration (0001 never imports the models)."""
    from alembic import command

    from console.store.migrations import _migration_engine, alembic_config

    engine = _migration_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(connection=conn), OLD_REVISION)
    finally:
        engine.dispose()


def write_old_night(path: Path, *, alarms: int, seed: int) -> tuple[str, int]:
    """A night of the first release on a new file at `path`: its users and a shift, `alarms`
    alarms raised, acknowledged, commented, dispatched (half the guards arrived), resolved or
    left open (at most one open alarm per incident, as a console leaves it), and operator notes.
    Returns the chain's head hash and its number of rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    create_old_schema(path)
    rng = random.Random(seed)
    clock = datetime(2025, 3, 1, 21, 0, tzinfo=UTC)

    def tick() -> datetime:
        nonlocal clock
        clock += timedelta(seconds=rng.uniform(0.5, 40.0))
        return clock

    conn = sqlite3.connect(path, isolation_level="DEFERRED")
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        old = OldWriter(conn)
        old.add_user(SUPERVISOR, "supervisor", tick())
        monitor = old.add_user(MONITOR, "monitor", tick())
        old.start_shift(monitor, MONITOR, tick())
        still_open: set[str] = set()
        dispatched: list[int] = []
        for n in range(1, alarms + 1):
            camera = f"cam-{rng.randint(0, 15):02d}"
            subject = rng.choice(["obj-a", "obj-b"])
            key = f"{camera}/proximity/{subject}"
            alarm_id = old.raise_alarm(camera, subject, n, key, tick())
            fate = (
                "resolved"
                if key in still_open
                else rng.choice(["raised", "acknowledged", "dispatched", "resolved", "resolved"])
            )
            if fate != "raised":
                old.acknowledge(alarm_id, tick())
                old.comment(alarm_id, f"old {n}", tick())
            if fate in ("dispatched", "resolved") and n % 2:
                dispatched.append(old.dispatch(alarm_id, "g-anna", tick()))
                old.note(f"old:{n}", tick())
            if fate == "resolved":
                old.resolve(alarm_id, rng.choice(OUTCOMES), tick())
            else:
                still_open.add(key)
        for dispatch_id in dispatched[::2]:  # half the guards have arrived
            old.arrive(dispatch_id, tick())
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # one file to copy
    finally:
        conn.close()
    return old.head, old.seq
