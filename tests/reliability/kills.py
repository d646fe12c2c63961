"""SIGKILL batteries over the real store: a console killed anywhere in its alarm work, and anywhere
in the migration of an old database. Used by tests/reliability/test_kills.py (a few kills) and
bench/reliability.py (hundreds); every check is here, the counts are the caller's.

After every kill the database is opened again, as the next start would, and checked:

- `PRAGMA integrity_check` says ok;
- every step the child printed (so: committed) is there: the alarm with its episode, the new
  sighting, the acknowledgement, the dispatch, the arrival, the resolution, the comment, the
  audit row, the snapshot (whose file still has its hash);
- nothing is there twice: one `raise` event per alarm, at most one acknowledgement and one
  resolution, each comment and audit row once, at most one open alarm per incident;
- the audit chain verifies, and still holds the head noted after the previous kill (no row cut
  from the end);
- a restart (a new `AlarmManager` on the database) has one open alarm per incident, the same
  ones the database has.
"""

from __future__ import annotations

import json
import random
import shutil
import signal
import sqlite3
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.reliability.children import Child
from tests.reliability.old_release import OLD_REVISION, write_old_night

CHILD = "tests.reliability.kill_child"


class ChildLines(Child):
    """The kill child (tests/reliability/kill_child.py) with its lines."""

    def __init__(self, command: list[str]) -> None:
        super().__init__(CHILD, command)


# ----------------------------------------------------------------------------- alarm steps


@dataclass
class KillFigures:
    """What a battery of kills found; `problems` empty means every check held."""

    kills: int = 0
    killed_starting: int = 0  # killed before the child was ready (importing, opening, reloading)
    steps: Counter[str] = field(default_factory=Counter)
    alarms: int = 0
    open_after: int = 0
    # left after the last restart (each restart removes what its kill left): goal 0 and 0
    part_files: int = 0  # snapshot files a kill left half-written (.part): disk, not records
    orphan_files: int = 0  # snapshot files whole on disk whose row was never committed
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.steps.items()))
        return (
            f"{self.kills} kills ({self.killed_starting} while starting) in {self.seconds:.0f} s: "
            f"{sum(self.steps.values())} committed steps checked ({kinds}); {self.alarms} alarms, "
            f"{self.open_after} open; snapshot files left after the last restart: "
            f"{self.part_files} "
            f"half-written, {self.orphan_files} without a row; "
            f"{len(self.problems)} problems"
        )


@dataclass
class _Rows:
    alarms: dict[int, tuple[str | None, str, str | None]]  # id -> episode key, state, outcome
    events: dict[int, Counter[str]]
    comments: Counter[str]
    occurrences: set[tuple[int, str, int | None]]
    dispatches: dict[int, tuple[int, str, bool]]  # id -> alarm, guard, arrived
    snapshots: dict[int, int]  # alarm -> snapshot rows
    audit: Counter[tuple[str, str | None]]


def _read_rows(db: Path) -> tuple[str, _Rows]:
    conn = sqlite3.connect(db)
    try:
        integrity = ";".join(r[0] for r in conn.execute("PRAGMA integrity_check"))
        alarms = {
            r[0]: (r[1], r[2], r[3])
            for r in conn.execute("SELECT id, episode_key, state, outcome FROM alarms")
        }
        events: dict[int, Counter[str]] = defaultdict(Counter)
        comments: Counter[str] = Counter()
        for alarm_id, kind, detail in conn.execute(
            "SELECT alarm_id, kind, detail FROM alarm_events"
        ):
            events[alarm_id][kind] += 1
            if kind == "comment":
                comments[str(json.loads(detail or "{}").get("text"))] += 1
        occurrences = {
            (r[0], r[1], r[2])
            for r in conn.execute("SELECT alarm_id, camera_id, track_id FROM alarm_occurrences")
        }
        dispatches = {
            r[0]: (r[1], r[2], r[3] is not None)
            for r in conn.execute("SELECT id, alarm_id, guard_id, arrived_at FROM dispatches")
        }
        snapshots: dict[int, int] = Counter(
            r[0] for r in conn.execute("SELECT alarm_id FROM snapshots")
        )
        audit = Counter((r[0], r[1]) for r in conn.execute("SELECT action, target FROM audit_log"))
    finally:
        conn.close()
    return integrity, _Rows(alarms, events, comments, occurrences, dispatches, snapshots, audit)


def check_steps(rows: _Rows, steps: list[dict[str, Any]]) -> list[str]:
    """Every committed step is stored, once."""
    problems: list[str] = []
    sent: Counter[tuple[int, str]] = Counter()
    for step in steps:
        kind, alarm_id = step["k"], step.get("alarm")
        alarm = rows.alarms.get(alarm_id) if alarm_id is not None else None
        if alarm_id is not None and alarm is None:
            problems.append(f"lost: alarm {alarm_id} of a committed {kind}")
            continue
        events = rows.events.get(alarm_id, Counter()) if alarm_id is not None else Counter()
        if kind == "raise":
            if alarm is not None and alarm[0] != step["episode"]:
                problems.append(f"alarm {alarm_id} is {alarm[0]}, raised as {step['episode']}")
            if step["snap"] and not rows.snapshots.get(alarm_id):
                problems.append(f"lost: the snapshot of alarm {alarm_id}")
        elif kind == "fold":
            if (alarm_id, step["camera"], step["track"]) not in rows.occurrences:
                problems.append(f"lost: sighting {step['camera']}#{step['track']} of {alarm_id}")
        elif kind == "ack":
            wanted = "seen" if step["seen"] else "acknowledge"
            if not events[wanted]:
                problems.append(f"lost: the {wanted} of alarm {alarm_id}")
        elif kind == "dispatch":
            sent[(alarm_id, step["guard"])] += 1
        elif kind == "arrive":
            dispatch = rows.dispatches.get(step["dispatch"])
            if dispatch is None or not dispatch[2]:
                problems.append(f"lost: the arrival of dispatch {step['dispatch']}")
        elif kind == "resolve":
            if alarm is not None and (alarm[1], alarm[2]) != ("resolved", step["outcome"]):
                problems.append(f"lost: alarm {alarm_id} resolved {step['outcome']}: {alarm}")
        elif kind == "comment":
            if rows.comments[step["text"]] != 1:
                problems.append(f"comment {step['text']!r} stored {rows.comments[step['text']]}x")
        elif kind == "audit":
            stored = rows.audit[("operator.note", step["target"])]
            if stored != 1:
                problems.append(f"audit row {step['target']} stored {stored}x")
    stored_dispatches = Counter((a, g) for a, g, _ in rows.dispatches.values())
    for key, count in sent.items():
        if stored_dispatches[key] < count:
            problems.append(f"lost: {count - stored_dispatches[key]} dispatch(es) {key}")
    for alarm_id, events in rows.events.items():
        for kind, most in (("raise", 1), ("acknowledge", 1), ("resolve", 1)):
            if events[kind] > most:
                problems.append(f"alarm {alarm_id}: {events[kind]} {kind} events")
    for alarm_id in rows.alarms:
        if rows.events.get(alarm_id, Counter())["raise"] != 1:
            problems.append(f"alarm {alarm_id} has no raise event")
    open_keys = Counter(key for key, state, _ in rows.alarms.values() if state != "resolved")
    problems += [f"{n} open alarms for incident {k}" for k, n in open_keys.items() if n > 1]
    return problems


def check_restart(
    db: Path, site_path: Path, expected_head: str | None, *, plain_rows: int | None = None
) -> tuple[list[str], str]:
    """Open the store as the next start would, verify the chain and the snapshots, and start an
    `AlarmManager` on it; returns the problems and the chain's head hash. `plain_rows`: the
    chain must be keyed right after that many plain rows (a database from before keys)."""
    from console.alarms import AlarmManager
    from console.clock import SystemClock
    from console.site_file import load_site
    from console.store import Store, open_alarms, verify_chain
    from console.store.snapshots import get_snapshot, verify_snapshot

    problems: list[str] = []
    with Store(f"sqlite:///{db}") as store:
        chain = store.read(verify_chain, expected_head=expected_head)
        if not chain.ok:
            problems.append(f"audit chain: {chain.reason}")
        if plain_rows is not None and chain.keyed_from != plain_rows + 1:
            problems.append(
                f"audit chain keyed from seq {chain.keyed_from}, not right after the "
                f"{plain_rows} plain rows of the old release"
            )
        conn = sqlite3.connect(db)
        try:
            snapshot_ids = [r[0] for r in conn.execute("SELECT id FROM snapshots")]
        finally:
            conn.close()
        for snapshot_id in snapshot_ids:
            if not store.read(verify_snapshot, snapshot_id, store.files):
                record = store.read(get_snapshot, snapshot_id)
                problems.append(f"snapshot {snapshot_id} ({record.relative_path}): file lost")
        manager = AlarmManager(store, load_site(site_path), SystemClock())
        reloaded = manager.open_alarms()
        episodes = Counter(a.episode for a in reloaded)
        problems += [f"restart: {n} open alarms for {e}" for e, n in episodes.items() if n > 1]
        stored_open = sorted(a.id for a in store.read(open_alarms))
        if sorted(a.alarm_id for a in reloaded) != stored_open:
            problems.append("restart: the open alarms differ from the database's")
        head = chain.head_hash
    return problems, head


def kill_alarm_steps(
    db: Path,
    site_path: Path,
    *,
    kills: int,
    seed: int,
    run_s: tuple[float, float] = (0.05, 1.5),
    starting_share: float = 0.15,
    progress: Callable[[int, KillFigures], None] | None = None,
) -> KillFigures:
    """Run the `steps` child on `db` and SIGKILL it `kills` times at random moments (seeded): a
    share while it starts, the rest `run_s` seconds after it is ready; check after each kill."""
    rng = random.Random(seed)
    figures = KillFigures()
    committed: list[dict[str, Any]] = []
    head: str | None = None
    began = time.monotonic()
    for k in range(kills):
        child = ChildLines(["steps", str(db), str(site_path), str(seed * 10_000 + k)])
        starting = rng.random() < starting_share
        if starting:
            time.sleep(rng.uniform(0.0, 2.5))  # importing, opening, migrating, reloading
        else:
            if child.wait_for('{"k": "ready"') is None:
                code = child.kill()
                figures.problems.append(f"kill {k}: the child ended ({code}):\n{child.stderr}")
                break
            time.sleep(rng.uniform(*run_s))
        code = child.kill()
        figures.kills += 1
        ready = any(line.startswith('{"k": "ready"') for _, line in child.lines)
        figures.killed_starting += not ready
        if code != -signal.SIGKILL:
            figures.problems.append(f"kill {k}: the child exited {code} first:\n{child.stderr}")
        for _, line in child.lines:
            if line.startswith("{"):
                record = json.loads(line)
                if record["k"] != "ready":
                    committed.append(record)
                    figures.steps[record["k"]] += 1
            else:
                figures.problems.append(f"kill {k}: the child said {line}")
        if not db.exists():  # killed before it made the file: nothing to open
            continue
        integrity, rows = _read_rows(db)
        if integrity != "ok":
            figures.problems.append(f"kill {k}: integrity_check: {integrity}")
        found = check_steps(rows, committed)
        restart, head = check_restart(db, site_path, head)
        figures.problems += [f"kill {k}: {p}" for p in found + restart]
        if progress is not None:
            progress(k, figures)
        if figures.problems:
            break
    if not db.exists():
        figures.seconds = time.monotonic() - began
        return figures
    _, rows = _read_rows(db)
    figures.alarms = len(rows.alarms)
    figures.open_after = sum(1 for _, state, _ in rows.alarms.values() if state != "resolved")
    snapshots_dir = db.parent / "snapshots"
    figures.part_files = len(list(snapshots_dir.rglob("*.part")))
    conn = sqlite3.connect(db)
    try:
        recorded = {r[0] for r in conn.execute("SELECT path FROM snapshots")}
    finally:
        conn.close()
    whole = [p.relative_to(snapshots_dir).as_posix() for p in snapshots_dir.rglob("*.jpg")]
    figures.orphan_files = len(set(whole) - recorded)
    if figures.part_files or figures.orphan_files:  # each restart sweeps what its kill left
        figures.problems.append(
            f"after the last restart: {figures.part_files} half-written and "
            f"{figures.orphan_files} unrecorded snapshot files left"
        )
    figures.seconds = time.monotonic() - began
    return figures


# ----------------------------------------------------------------------------- migration


@dataclass
class OldDatabase:
    """A database at revision 0001 with a night's records in it, and what must survive."""

    path: Path
    rows: dict[str, list[tuple[Any, ...]]]
    head_hash: str
    alarms: int
    audit_rows: int  # the plain (unkeyed) part of the chain: the upgrade keys it after these


# the columns revision 0001 has, per table: what an upgrade must keep
_KEPT = {
    "alarms": "id, camera_id, rule, subject, severity, track_id, state, raised_at, updated_at, "
    "outcome, note, episode_key, snapshot_id",
    "alarm_events": "id, alarm_id, kind, at, user, detail",
    "dispatches": "id, alarm_id, guard_id, post, sent_at, arrived_at, outcome",
    "snapshots": "id, alarm_id, path, sha256, taken_at, expires_at, purged_at",
    "audit_log": 'id, seq, at, "user", action, target, detail, prev_hash, row_hash',
    "users": "id, name, role, created_at",
    "shifts": "id, user_id, started_at, ended_at",
}


def as_upgraded(table: str, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The old rows as the upgrade must leave them: what the migrations change on purpose (0003
    renamed the role `monitor` to `operator`), everything else as it was."""
    if table == "users":
        renamed = {"monitor": "operator"}
        return [(i, name, renamed.get(role, role), at) for i, name, role, at in rows]
    return rows


def table_rows(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    conn = sqlite3.connect(db)
    try:
        return {
            table: conn.execute(f"SELECT {cols} FROM {table} ORDER BY id").fetchall()
            for table, cols in _KEPT.items()
        }
    finally:
        conn.close()


def revision_of(db: Path) -> str | None:
    conn = sqlite3.connect(db)
    try:
        found = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    except sqlite3.OperationalError:
        return None
    finally:
        conn.close()
    return found[0][0] if found else None


def make_old_database(path: Path, site_path: Path, *, alarms: int, seed: int = 7) -> OldDatabase:
    """A database as the first release left it (tests/reliability/old_release.py): its schema by
    migration 0001, `alarms` alarms through their lifecycle, users, a shift and operator notes,
    with the first release's plain SHA-256 audit chain, written as that release wrote them."""
    head, audit_rows = write_old_night(path, alarms=alarms, seed=seed)
    if revision_of(path) != OLD_REVISION:
        raise RuntimeError(f"{path}: not at revision {OLD_REVISION}")
    del site_path  # the old database needs no site; kept for symmetry with the callers
    return OldDatabase(path, table_rows(path), head, alarms, audit_rows)


@dataclass
class MigrationFigures:
    statements: int = 0  # SQL statements the upgrade sends
    upgrade_s: float = 0.0  # first statement to the store open, unkilled
    kills: int = 0
    still_old: int = 0  # killed before the commit: the database was at 0001 still
    already_new: int = 0  # killed after the commit (writing store.open)
    finished: int = 0  # a random moment past the end: the child had opened and closed
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"{self.kills} kills in the upgrade 0001 -> head ({self.statements} statements, "
            f"{self.upgrade_s:.2f} s unkilled) in {self.seconds:.0f} s: {self.still_old} left it "
            f"at 0001, {self.already_new} after its commit ({self.finished} random moments came "
            f"after the open); {len(self.problems)} problems"
        )


_CHANGES = {"CREATE", "INSERT", "DROP", "ALTER", "UPDATE", "DELETE"}


def check_upgraded(db: Path, old: OldDatabase, site_path: Path) -> list[str]:
    """After a kill in the upgrade: intact, at 0001 or head, and the next open upgrades it
    keeping every row of the old schema."""
    from console.store.migrations import head_revision

    problems: list[str] = []
    conn = sqlite3.connect(db)
    try:
        integrity = ";".join(r[0] for r in conn.execute("PRAGMA integrity_check"))
    finally:
        conn.close()
    if integrity != "ok":
        problems.append(f"integrity_check: {integrity}")
    revision = revision_of(db)
    if revision not in (OLD_REVISION, head_revision()):
        problems.append(f"left at revision {revision}")
    before = table_rows(db)
    for table, rows in old.rows.items():
        kept = before[table] if table != "audit_log" else before[table][: len(rows)]
        if kept != (rows if revision == OLD_REVISION else as_upgraded(table, rows)):
            problems.append(f"after the kill, {table} differs from before the upgrade")
    restart, _ = check_restart(db, site_path, old.head_hash, plain_rows=old.audit_rows)
    problems += restart
    if revision_of(db) != head_revision():
        problems.append(f"the next open left it at {revision_of(db)}")
    after = table_rows(db)
    for table, rows in old.rows.items():
        kept = after[table] if table != "audit_log" else after[table][: len(rows)]
        if kept != as_upgraded(table, rows):
            problems.append(f"after the next open, {table} lost or changed rows")
    return problems


def kill_migrations(
    old: OldDatabase,
    work: Path,
    site_path: Path,
    *,
    max_stops: int | None,
    random_kills: int,
    seed: int,
    progress: Callable[[str, MigrationFigures], None] | None = None,
) -> MigrationFigures:
    """Kill the upgrade of a copy of `old` just before statements it sends (None: before every
    one; else `max_stops` of those that change the database, spread over the upgrade) and at
    `random_kills` random moments of it; check each copy."""
    from console.store.migrations import head_revision

    figures = MigrationFigures()
    began = time.monotonic()
    rng = random.Random(seed)

    def fresh_copy(name: str) -> Path:
        folder = work / name
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        shutil.copyfile(old.path, folder / old.path.name)
        return folder / old.path.name

    # unkilled: how many statements, how long
    db = fresh_copy("whole")
    child = ChildLines(["migrate", str(db), "0"])
    first = child.wait_for("MIGRATING")
    opened = child.wait_for("OPENED")
    child.kill()
    if first is None or opened is None:
        figures.problems.append(f"the upgrade did not run through:\n{child.stderr}")
        return figures
    figures.statements = int(opened[1].split()[1])
    figures.upgrade_s = opened[0] - first[0]
    statements = [line.split(" ", 2)[1:] for _, line in child.lines if line.startswith("SQL ")]
    stops = [int(n) for n, _ in statements]
    if max_stops is not None:
        changing = [int(n) for n, sql in statements if sql.split()[0] in _CHANGES]
        last = len(changing) - 1
        picks = {round(i * last / max(1, max_stops - 1)) for i in range(max_stops)}
        stops = [changing[i] for i in sorted(picks) if 0 <= i <= last]
    plan = [("stop", n) for n in stops]
    plan += [("random", 0)] * random_kills
    for n, (how, stop_at) in enumerate(plan):
        db = fresh_copy(f"kill-{n}")
        if how == "stop":
            child = ChildLines(["migrate", str(db), str(stop_at)])
            said = child.wait_for("STOP")
            where = said[1] if said else f"statement {stop_at} (not reached)"
        else:
            child = ChildLines(["migrate", str(db), "0"])
            said = child.wait_for("MIGRATING")
            delay = rng.uniform(0.0, figures.upgrade_s)
            time.sleep(delay)
            where = f"{delay:.3f} s into the upgrade"
        code = child.kill()
        if said is not None and code == 0 and how == "random":
            figures.finished += 1  # the upgrade and the open were done before the kill landed
        elif said is None or code != -signal.SIGKILL:
            figures.problems.append(f"{where}: the child ended {code}:\n{child.stderr}")
            continue
        else:
            figures.kills += 1
        revision = revision_of(db)
        figures.still_old += revision == OLD_REVISION
        figures.already_new += revision == head_revision()
        figures.problems += [f"killed at {where}: {p}" for p in check_upgraded(db, old, site_path)]
        if progress is not None:
            progress(where, figures)
        shutil.rmtree(db.parent, ignore_errors=True)
    figures.seconds = time.monotonic() - began
    return figures
