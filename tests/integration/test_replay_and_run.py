"""End to end: `nightwatch replay` and `nightwatch run --headless` as a user runs them, on real
footage of people walking (vtest.avi), with the real detector, worker processes and SQLite."""

from __future__ import annotations

import json
import os
import re
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
    occurrences,
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


def replay(
    site: Path, out: Path, db: Path | None, start: str, env: dict[str, str] | None = None
) -> list[dict]:
    database = ["--db", f"sqlite:///{db}"] if db is not None else []
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "console.cli",
            "replay",
            str(site),
            "--events",
            str(out),
            "--start",
            start,
            *database,
            "--detect-every-s",
            "0.5",
            "--detector",
            "ssdlite",
            "--workers",
            "1",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=env,
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
    assert len(events) == len(rules)  # one incident per rule and subject: no flood
    for event in events:
        assert set(event) == {
            "alarm_id",
            "camera",
            "rule",
            "subject",
            "severity",
            "occurrences",
            "start_s",
            "end_s",
        }
        assert event["camera"] == "cam-path"
        assert event["severity"] == "high"  # a high-value object; after hours is high
        assert 0 <= event["start_s"] <= event["end_s"] <= 79.5
        assert event["occurrences"], "an alarm lists who was seen"
        for occurrence in event["occurrences"]:
            assert set(occurrence) == {"track_id", "camera", "start_s", "end_s", "closest_m"}
            assert occurrence["camera"] == "cam-path"
            assert occurrence["track_id"] >= 1
            assert event["start_s"] <= occurrence["start_s"] <= occurrence["end_s"]
            assert occurrence["end_s"] <= event["end_s"]
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
            assert alarm.replayed  # marked as written by a replay
            stored = store.read(occurrences, alarm.id)
            assert [(o.track_id, round(o.video_start_s, 2)) for o in stored] == [
                (o["track_id"], o["start_s"]) for o in event["occurrences"]
            ]
            kept = store.read(stored_snapshots.snapshots, alarm.id)
            # the frame with its boxes, and the same frame as the camera gave it
            assert sorted(s.kind.value for s in kept) == ["annotated", "clean"]
            for snapshot in kept:
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


def test_two_replays_write_the_same_bytes_and_leave_the_consoles_database_alone(
    courtyard, tmp_path
) -> None:
    home = tmp_path / "home"  # where the console's own database would be
    env = {**os.environ, "XDG_DATA_HOME": str(home / "data"), "HOME": str(home)}
    first = tmp_path / "first" / "night.jsonl"
    second = tmp_path / "second" / "night.jsonl"
    replay(courtyard, first, None, "2026-11-28T02:00", env=env)
    replay(courtyard, second, None, "2026-11-28T02:00", env=env)
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes().count(b"\n") >= 2
    # each replay has its own store beside its events file, and the console's is never made
    assert (first.parent / "night.replay.db").is_file()
    assert (second.parent / "night.replay.db").is_file()
    assert not (home / "data" / "nightwatch").exists()
    # a third replay into the same folder starts afresh: nothing resumed, the same events
    replay(courtyard, first, None, "2026-11-28T02:00", env=env)
    assert first.read_bytes() == second.read_bytes()
    with Store(f"sqlite:///{first.parent / 'night.replay.db'}", read_only=True) as store:
        assert store.read(count_alarms) == first.read_bytes().count(b"\n")


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
    # the interpreter settled for the console (console.interpreter)
    assert re.search(
        r"console\.interpreter: [1-9]\d* long-lived objects kept out of later garbage "
        r"collections, a full collection at most every 100 of the middle generation; the "
        r"interpreter lock changes hands every 0\.5 ms",
        err,
    ), err[-3000:]
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
