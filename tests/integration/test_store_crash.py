"""A real process writing alarms is killed with SIGKILL mid-write: no committed row is lost and
the SQLite file stays intact."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from console.store import (
    AlarmState,
    EventKind,
    RaiseAlarm,
    Store,
    alarm_events,
    list_alarms,
    verify_chain,
)

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
