"""The demo museum for a stretch of night, before and after: how much does the monitor face?

Runs `nightwatch demo --headless` for `--minutes` at `--cameras` cameras twice at the same time
(the same machine, the same load): once from this tree and once from `--baseline-rev` (checked
out into a temporary git worktree), each on its own new SQLite file. Then it reads both files and
the two logs and reports, per tree:

- alarms raised (rows in `alarms`), by rule; findings folded into them (`alarm_occurrences`,
  this tree only);
- rows left in the queue at the end (alarms not resolved);
- key presses to clear the queue with "false alarm": the baseline took one alarm at a time (A to
  acknowledge a raised one, then R, 1, Enter), this tree takes Ctrl+A, R, 1, Enter for all;
- suppressed findings: in the audit log (`alarm.rearm_suppressed` rows) and in the log (the
  baseline muted chattering alarms in the log only: "muted for"; this tree logs each re-arm:
  "not raised again (re-arm)").

    .venv/bin/python bench/demo_night.py [--minutes 10] [--cameras 64] [--baseline-rev 0aacc7b]
        [--one-at-a-time]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def start(tree: Path, db: Path, log: Path, cameras: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", YOLO_OFFLINE="1", PYTHONPATH=str(tree))
    command = [sys.executable, "-m", "ui.cli", "demo", "--headless"]
    command += ["--cameras", str(cameras), "--db", f"sqlite:///{db}"]
    with log.open("wb") as out:
        return subprocess.Popen(command, cwd=tree, env=env, stdout=out, stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGINT)
    try:
        return process.wait(120)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


def tables(con: sqlite3.Connection) -> set[str]:
    return {r[0] for r in con.execute("select name from sqlite_master where type = 'table'")}


def read(db: Path, log: Path, bulk: bool) -> dict[str, Any]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        names = tables(con)
        by_rule = dict(con.execute("select rule, count(*) from alarms group by rule").fetchall())
        states = dict(con.execute("select state, count(*) from alarms group by state").fetchall())
        occurrences = (
            con.execute("select count(*) from alarm_occurrences").fetchone()[0]
            if "alarm_occurrences" in names
            else None
        )
        audited = con.execute(
            "select count(*) from audit_log where action like '%suppress%' or action like '%mute%'"
        ).fetchone()[0]
    finally:
        con.close()
    text = log.read_text(errors="replace")
    open_rows = sum(n for s, n in states.items() if s != "resolved")
    raised = states.get("raised", 0)
    keys = (4 if open_rows else 0) if bulk else raised * 4 + (open_rows - raised) * 3
    return {
        "alarms": sum(by_rule.values()),
        "by_rule": by_rule,
        "occurrences": occurrences,
        "queue_rows_at_end": open_rows,
        "key_presses_to_clear": keys,
        "suppressions_audited": audited,
        "suppressions_in_log": text.count("muted for") + text.count("not raised again (re-arm)"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--cameras", type=int, default=64)
    parser.add_argument("--baseline-rev", default="0aacc7b")
    parser.add_argument(
        "--one-at-a-time",
        action="store_true",
        help="run the two demos one after the other, each with the whole machine (on 2 cores, "
        "side by side each gets one core: fewer frames judged, fewer alarms for both)",
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="nw-night-"))
    base_tree = work / f"baseline-{args.baseline_rev}"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(base_tree), args.baseline_rev],
        check=True,
        capture_output=True,
    )
    runs = {"baseline": (base_tree, False), "this tree": (ROOT, True)}
    try:
        codes: dict[str, int] = {}
        if args.one_at_a_time:
            for i, (name, (tree, _bulk)) in enumerate(runs.items()):
                print(f"running the {name} demo for {args.minutes:g} min in {work} ...", flush=True)
                process = start(tree, work / f"{i}.db", work / f"{i}.log", args.cameras)
                time.sleep(args.minutes * 60)
                codes[name] = stop(process)
        else:
            processes = {
                name: start(tree, work / f"{i}.db", work / f"{i}.log", args.cameras)
                for i, (name, (tree, _bulk)) in enumerate(runs.items())
            }
            print(f"running both demos for {args.minutes:g} min in {work} ...", flush=True)
            time.sleep(args.minutes * 60)
            codes = {name: stop(p) for name, p in processes.items()}
        report = {
            name: {
                "exit": codes[name],
                **read(work / f"{i}.db", work / f"{i}.log", bulk),
            }
            for i, (name, (_tree, bulk)) in enumerate(runs.items())
        }
        report["settings"] = vars(args)
        print(json.dumps(report, indent=2))
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base_tree)],
                check=True,
                capture_output=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
