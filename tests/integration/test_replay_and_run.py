"""End to end: `nightwatch replay` and `nightwatch run --headless` as a user runs them, on real
footage of people walking (vtest.avi), with the real detector, worker processes and SQLite."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from console.store import (
    Store,
    alarm_events,
    audit_entries,
    count_alarms,
    get_alarm,
    list_users,
    verify_chain,
    verify_snapshot,
)
from console.store import snapshots as stored_snapshots
from tests.sites import courtyard_site

DATA = Path(__file__).resolve().parents[1] / "data"
REPO = DATA.parents[1]


@pytest.fixture
def courtyard(tmp_path: Path) -> Path:
    return courtyard_site(tmp_path)


def nightwatch(
    *args: str, timeout_s: float = 600, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "console.cli", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
        input=stdin,
        stdin=subprocess.DEVNULL if stdin is None else None,
    )


def replay(site: Path, out: Path, db: Path, start: str) -> list[dict]:
    done = nightwatch(
        "replay",
        str(site),
        "--events",
        str(out),
        "--start",
        start,
        "--db",
        f"sqlite:///{db}",
        "--detect-every-s",
        "0.5",
        "--detector",
        "ssdlite",
        "--workers",
        "1",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_replay_at_night_raises_proximity_and_after_hours_alarms(courtyard, tmp_path) -> None:
    db = tmp_path / "alarms.db"
    events = replay(courtyard, tmp_path / "night.jsonl", db, "2026-11-28T02:00")
    rules = {(e["rule"], e["subject"]) for e in events}
    # people walk past the sign post through the plinth's image region, at 2 a.m.
    assert ("proximity", "plinth") in rules
    assert ("after_hours", "courtyard") in rules
    for event in events:
        assert set(event) == {
            "alarm_id",
            "camera",
            "rule",
            "subject",
            "severity",
            "track_id",
            "start_s",
            "end_s",
        }
        assert event["camera"] == "cam-path"
        assert event["severity"] == "high"  # a high-value object; after hours is high
        assert 0 <= event["start_s"] <= event["end_s"] <= 79.5
        assert event["track_id"] >= 1
    # the same alarms are in the real SQLite file, with verified snapshots and an intact log
    with Store(f"sqlite:///{db}", read_only=True) as store:
        for event in events:
            alarm = store.read(get_alarm, event["alarm_id"])
            assert (alarm.rule, alarm.subject, alarm.camera_id) == (
                event["rule"],
                event["subject"],
                event["camera"],
            )
            assert alarm.state.value == "raised"
            (snapshot,) = store.read(stored_snapshots.snapshots, alarm.id)
            assert store.read(verify_snapshot, snapshot.id, store.files)
            assert store.read(alarm_events, alarm.id)[0].kind.value == "raise"
        assert store.read(count_alarms) == len(events)
        assert store.read(verify_chain).ok
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_replay_in_opening_hours_raises_no_after_hours_alarm(courtyard, tmp_path) -> None:
    events = replay(courtyard, tmp_path / "day.jsonl", tmp_path / "day.db", "2026-11-28T11:00")
    rules = {e["rule"] for e in events}
    assert "proximity" in rules
    assert "after_hours" not in rules


def test_replay_refuses_a_bad_site_file(tmp_path) -> None:
    site = tmp_path / "site.yaml"
    site.write_text("version: 1\nsite: {name: x}\n")
    done = nightwatch("replay", str(site), "--events", str(tmp_path / "o.jsonl"))
    assert done.returncode == 1
    assert "site.yaml: site.timezone:" in done.stderr
    assert not (tmp_path / "o.jsonl").exists()


def test_run_headless_without_an_account_says_how_to_make_the_first(courtyard, tmp_path) -> None:
    """A real site never has default accounts; with no terminal to ask on, the first start says
    how to make the first supervisor instead of running without one."""
    db = tmp_path / "fresh.db"
    done = nightwatch("run", str(courtyard), "--headless", "--db", f"sqlite:///{db}")
    assert done.returncode == 1
    assert "nightwatch users add NAME --role supervisor" in done.stderr
    with Store(f"sqlite:///{db}", read_only=True) as store:
        assert store.read(list_users) == []


def test_run_headless_logs_alarms_and_stops_cleanly_on_ctrl_c(courtyard, tmp_path) -> None:
    db = tmp_path / "live.db"
    made = nightwatch(
        "users",
        "add",
        "boss",
        "--role",
        "supervisor",
        "--db",
        f"sqlite:///{db}",
        stdin="supervise the night\n",
    )
    assert made.returncode == 0, made.stderr
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "console.cli",
            "run",
            str(courtyard),
            "--headless",
            "--db",
            f"sqlite:///{db}",
            "--detector",
            "ssdlite",
            "--workers",
            "1",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 180
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line.strip())
            if line.startswith("alarm ") and "raised" in line:
                break
        assert any(line.startswith("camera cam-path live") for line in lines), lines
        raised = [line for line in lines if line.startswith("alarm ")]
        assert raised, lines
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err[-3000:]
    assert "stopped; every alarm is stored" in out
    alarm_id = int(raised[0].split()[1])
    with Store(f"sqlite:///{db}", read_only=True) as store:
        assert store.read(get_alarm, alarm_id).camera_id == "cam-path"
        service = [
            (e.user, e.action) for e in store.read(audit_entries) if e.action.startswith("service.")
        ]
        assert service == [
            ("nightwatch-service", "service.start"),
            ("nightwatch-service", "service.stop"),
        ]
    assert any("as nightwatch-service" in line for line in lines), lines
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
