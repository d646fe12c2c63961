"""A real process writing alarms is killed with SIGKILL mid-write: no committed row is lost and
the SQLite file stays intact. A process killed while it migrates a fresh database (or anywhere in
opening one) leaves a database that the next start opens."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from console.store import (
    AlarmState,
    EventKind,
    RaiseAlarm,
    Store,
    alarm_events,
    count_alarms,
    list_alarms,
    verify_chain,
)
from console.store.migrations import head_revision

REPO = Path(__file__).resolve().parents[2]
REPORTED_BEFORE_KILL = 150

# Writes alarms in batches of queued tasks (so several are in flight when the kill
# lands), acknowledges and comments each, and prints an id only after all its writes returned,
# i.e. after their commits.
CHILD = textwrap.dedent(
    """
    import sys
    from console.store import AddAlarmEvent, ChangeAlarmState, RaiseAlarm, Store

    store = Store(sys.argv[1])
    n = 0
    while True:
        batch = [
            store.write(RaiseAlarm(None, "cam-%d" % (n % 5), "proximity", "high",
                                   track_id=n + i, detail={"pad": "x" * 1500}))
            for i in range(4)
        ]
        n += 4
        ids = [f.result() for f in batch]
        acks = [store.write(ChangeAlarmState(i, "acknowledged", "night-monitor")) for i in ids]
        notes = [store.write(AddAlarmEvent(i, "comment", "night-monitor", {"n": i}))
                 for i in ids]
        for f in acks + notes:
            f.result()
        for i in ids:
            print(i, flush=True)
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
def test_sigkill_mid_write_loses_no_committed_alarm(tmp_path: Path) -> None:
    db_path = tmp_path / "nightwatch.db"
    script = tmp_path / "writer.py"
    script.write_text(CHILD)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen(
        [sys.executable, str(script), f"sqlite:///{db_path}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    reported: list[int] = []
    try:
        assert child.stdout is not None
        while len(reported) < REPORTED_BEFORE_KILL:
            line = child.stdout.readline()
            if not line:  # the child died on its own: show why
                _, err = child.communicate()
                pytest.fail(f"writer exited with {child.returncode} before the kill:\n{err}")
            reported.append(int(line))
        child.send_signal(signal.SIGKILL)
        rest, _ = child.communicate()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL  # killed while writing, not finished
    # Lines it printed before dying were committed too; a torn last line is not a report.
    complete = rest if rest.endswith("\n") else rest.rpartition("\n")[0]
    reported += [int(line) for line in complete.split()]

    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    with Store(f"sqlite:///{db_path}") as store:
        alarms = {a.id: a for a in store.read(list_alarms)}
        missing = sorted(set(reported) - alarms.keys())
        assert missing == []
        for alarm_id in reported:
            assert alarms[alarm_id].state is AlarmState.ACKNOWLEDGED
            kinds = {e.kind for e in store.read(alarm_events, alarm_id)}
            assert kinds == {EventKind.RAISE, EventKind.ACKNOWLEDGE, EventKind.COMMENT}
        result = store.read(verify_chain)
        assert result.ok, result.reason
        # The writer goes on after a crash: the next alarm gets a fresh id.
        next_id = store.write(RaiseAlarm(None, "cam-1", "proximity", "high")).result()
        assert next_id > max(reported)


# Opens a store on a fresh file and stops inside the migration, after the n-th table was created
# (in the migration's transaction), saying so: the parent kills it right there.
MIGRATION_CHILD = textwrap.dedent(
    """
    import sys, time
    from alembic import op
    from console.store import Store

    stop_after = int(sys.argv[2])
    real_create_table = op.create_table
    made = 0

    def create_table(*args, **kwargs):
        global made
        table = real_create_table(*args, **kwargs)
        made += 1
        if made == stop_after:
            print("MIGRATING", flush=True)
            time.sleep(600)
        return table

    op.create_table = create_table
    Store("sqlite:///" + sys.argv[1])
    print("OPENED", flush=True)
    """
)


def _opens_and_works(db_path: Path) -> None:
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    with Store(f"sqlite:///{db_path}") as store:
        alarm_id = store.write(RaiseAlarm(None, "cam-1", "proximity", "high")).result()
        assert [a.id for a in store.read(list_alarms)] == [alarm_id]
        assert store.read(verify_chain).ok
    with sqlite3.connect(db_path) as conn:
        [(revision,)] = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    assert revision == head_revision()


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
@pytest.mark.parametrize("tables_made", [1, 4, 8])
def test_sigkill_during_the_migration_leaves_a_database_that_opens(
    tmp_path: Path, tables_made: int
) -> None:
    db_path = tmp_path / "data" / "nightwatch.db"
    script = tmp_path / "migrating.py"
    script.write_text(MIGRATION_CHILD)
    child = subprocess.Popen(
        [sys.executable, str(script), str(db_path), str(tables_made)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline().strip()
        if line != "MIGRATING":
            _, err = child.communicate()
            pytest.fail(f"the child did not stop inside the migration ({line!r}):\n{err}")
        child.send_signal(signal.SIGKILL)
        child.communicate()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    with sqlite3.connect(db_path) as conn:  # the half-made schema was never committed
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == set()
    _opens_and_works(db_path)  # and the lock the dead child left is taken over


OPENING_CHILD = textwrap.dedent(
    """
    import sys
    from console.store import RaiseAlarm, Store

    store = Store("sqlite:///" + sys.argv[1])
    while True:
        store.write(RaiseAlarm(None, "cam-1", "proximity", "high")).result()
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
def test_sigkill_anywhere_in_opening_leaves_a_database_that_opens(tmp_path: Path) -> None:
    script = tmp_path / "opening.py"
    script.write_text(OPENING_CHILD)
    # Killed at different moments of start-up (importing, migrating, the first writes): wherever
    # the kill lands, the next start opens the database.
    for n, delay_s in enumerate([0.3, 0.6, 0.9, 1.2, 1.8]):
        db_path = tmp_path / f"run-{n}" / "nightwatch.db"
        child = subprocess.Popen(
            [sys.executable, str(script), str(db_path)],
            env={**os.environ, "PYTHONPATH": str(REPO)},
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay_s)  # where the kill lands, not what is asserted
        child.send_signal(signal.SIGKILL)
        child.wait()
        if db_path.exists():  # else killed before it made the file: nothing to open
            _reopens(db_path)


def _reopens(db_path: Path) -> None:
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    with Store(f"sqlite:///{db_path}") as store:
        before = store.read(count_alarms)
        store.write(RaiseAlarm(None, "cam-1", "proximity", "high")).result()
        assert store.read(count_alarms) == before + 1
        assert store.read(verify_chain).ok
