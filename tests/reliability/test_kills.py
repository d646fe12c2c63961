"""The kill battery (CI-sized): a console SIGKILLed in its alarm work loses no committed step, one
killed in the upgrade of an old database loses nothing, one killed while it migrates a fresh
database (or anywhere in opening one) leaves a database that the next start opens. The batteries
themselves are in tests/reliability/kills.py; bench/reliability.py runs them at length."""

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

from console.store import RaiseAlarm, Store, count_alarms, list_alarms, verify_chain
from console.store.migrations import head_revision
from tests.reliability.kills import (
    OLD_REVISION,
    kill_alarm_steps,
    kill_migrations,
    make_old_database,
    revision_of,
)
from tests.reliability.sites import reliability_site

REPO = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.reliability,
    pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)"),
]

# CI-sized; bench/reliability.py runs the same batteries with hundreds of kills
ALARM_STEP_KILLS = 8
OLD_ALARMS = 40
MIGRATION_STOPS = 5
MIGRATION_RANDOM_KILLS = 1


@pytest.fixture
def site_file(tmp_path: Path) -> Path:
    return reliability_site(tmp_path / "site", [f"rtsp://127.0.0.1:9/cam-{i}" for i in range(4)])


def test_sigkill_during_alarm_steps_loses_no_committed_step(
    tmp_path: Path, site_file: Path
) -> None:
    """A console raising, folding, acknowledging, dispatching, resolving, commenting and auditing
    (real `Store`, real `AlarmManager`) is SIGKILLed at random moments, some while it starts:
    after each kill the database is intact, holds every step the console had seen committed,
    none twice, the chain verifies, and a restart has one open alarm per incident."""
    figures = kill_alarm_steps(
        tmp_path / "data" / "nightwatch.db", site_file, kills=ALARM_STEP_KILLS, seed=20261130
    )
    assert figures.problems == [], figures.line()
    assert figures.kills == ALARM_STEP_KILLS
    assert sum(figures.steps.values()) > 0, figures.line()  # the kills landed mid-work
    assert figures.alarms > 0


def test_sigkill_during_the_upgrade_of_an_old_database_loses_nothing(
    tmp_path: Path, site_file: Path
) -> None:
    """A database as the first release wrote it (revision 0001, its plain SHA-256 audit chain;
    tests/reliability/old_release.py) with a night's records (users, a shift, alarms in every
    state, events, dispatches, arrivals, audit rows) is upgraded by a console that is SIGKILLed
    before one of the upgrade's statements (table rebuilds in batch mode included) or at a random
    moment of it: it is left intact at 0001 (or at head, once committed), and the next open
    upgrades it keeping every row (the role `monitor` renamed `operator` by 0003), the audit chain
    (its plain part verified as such, keyed right after it) and one open alarm per incident."""
    old = make_old_database(tmp_path / "old" / "nightwatch.db", site_file, alarms=OLD_ALARMS)
    assert revision_of(old.path) == OLD_REVISION
    figures = kill_migrations(
        old,
        tmp_path / "copies",
        site_file,
        max_stops=MIGRATION_STOPS,
        random_kills=MIGRATION_RANDOM_KILLS,
        seed=20261130,
    )
    assert figures.problems == [], figures.line()
    assert figures.kills + figures.finished == MIGRATION_STOPS + MIGRATION_RANDOM_KILLS
    assert figures.still_old >= MIGRATION_STOPS - 1  # killed before its commit, all but the last


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
