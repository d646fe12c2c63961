"""The reliability battery at length (issue 16), with its figures. The CI-sized version is the
`reliability` pytest marker (tests/reliability/); both run the same code, here with the counts
as arguments.

    .venv/bin/python bench/reliability.py kills     [--kills 200] [--seed 16]
    .venv/bin/python bench/reliability.py migration [--alarms 1000] [--random 50] [--stops N]
    .venv/bin/python bench/reliability.py faults    [--repeat 5]
    .venv/bin/python bench/reliability.py rtsp      [--cameras 16] [--cycles 100]
                                                    [--video-loss-s 5]
    .venv/bin/python bench/reliability.py fuzz      [--seconds 300]
                                                    [--engine hypothesis|atheris|both]
    .venv/bin/python bench/reliability.py flood     [--cameras 64] [--alarms 1000] [--burst-s 60]
    .venv/bin/python bench/reliability.py all       (each with its defaults, in that order)

Each prints its figures and, where the issue sets a goal, the goal beside them:

- kills: SIGKILLs during alarm, acknowledge, dispatch, resolve and audit writes: committed steps
  lost (goal 0), `integrity_check`, the chain, duplicate open alarms after a restart;
- migration: kills before every statement of the upgrade of a revision-0001 database, and at
  random moments of it: rows lost (goal 0), databases that did not open;
- faults: read-only, moved away and back, deleted, disk full (root) under a running console:
  seconds from the fault to the console's report of it (goal 2 s), alarms lost once the disk is
  back (goal 0), crashes (goal 0);
- rtsp: cameras killed, frozen, frozen and restarted: seconds to the video-loss alarm (goal 10 s),
  seconds until the camera is back (goal: the reader's back-off cap, 10 s, + 5 s), processes,
  rings and descriptors leaked, alarms lost or twice (goal 0);
- fuzz: inputs tried per target and engine, contract broken (goal never), slowest input, peak
  memory under the address-space cap;
- flood: every alarm shown and stored, the GUI's event-loop latency p99 while the flood lasts
  against the same console before it (goal: p99 under 100 ms, as bench/alarm_burst.py).

Exit status 1 when a check failed (a goal missed is reported, not a failure: these are figures).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.reliability.children import child_env  # noqa: E402

BACKOFF_CAP_S = 10.0  # inference.sources.Backoff's max_s: a camera's reopen waits at most this


def say(text: str) -> None:
    print(text, flush=True)


def _spread(values: list[float]) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return (
        f"median {statistics.median(values):.2f} s, p95 {p95:.2f} s, max {max(values):.2f} s "
        f"(n={len(values)})"
    )


# ----------------------------------------------------------------------------- kills


def bench_kills(args: argparse.Namespace) -> bool:
    from tests.reliability.kills import kill_alarm_steps
    from tests.reliability.sites import reliability_site

    with tempfile.TemporaryDirectory(prefix="nw-bench-kills-") as tmp:
        folder = Path(tmp)
        site = reliability_site(folder / "site", [f"rtsp://127.0.0.1:9/c{i}" for i in range(6)])

        def progress(k: int, figures: object) -> None:
            if (k + 1) % 20 == 0:
                say(f"  kill {k + 1}: {figures.line()}")  # type: ignore[attr-defined]

        figures = kill_alarm_steps(
            folder / "data" / "nightwatch.db", site, kills=args.kills, seed=args.seed,
            progress=progress,
        )  # fmt: skip
    say(f"kills: {figures.line()}")
    for problem in figures.problems[:20]:
        say(f"  PROBLEM {problem}")
    return not figures.problems


def bench_migration(args: argparse.Namespace) -> bool:
    from tests.reliability.kills import kill_migrations, make_old_database
    from tests.reliability.sites import reliability_site

    with tempfile.TemporaryDirectory(prefix="nw-bench-migration-") as tmp:
        folder = Path(tmp)
        site = reliability_site(folder / "site", ["rtsp://127.0.0.1:9/c0"])
        began = time.monotonic()
        old = make_old_database(folder / "old" / "nightwatch.db", site, alarms=args.alarms)
        rows = {table: len(found) for table, found in old.rows.items()}
        say(f"migration: a revision-0001 database with {rows} ({time.monotonic() - began:.0f} s)")
        figures = kill_migrations(
            old, folder / "copies", site, max_stops=args.stops, random_kills=args.random,
            seed=args.seed,
        )  # fmt: skip
    say(f"migration: {figures.line()}")
    for problem in figures.problems[:20]:
        say(f"  PROBLEM {problem}")
    return not figures.problems


# ----------------------------------------------------------------------------- faults


def bench_faults(args: argparse.Namespace) -> bool:
    from tests.disks import IS_ROOT
    from tests.media import media
    from tests.reliability.faults import FAULTS, read_only_supported, run_fault
    from tests.reliability.sites import reliability_site

    ok = True
    with tempfile.TemporaryDirectory(prefix="nw-bench-faults-") as tmp:
        folder = Path(tmp)
        site = reliability_site(folder / "site", [str(media("vtest.avi"))])
        for fault in FAULTS:
            if fault == "disk full" and not IS_ROOT:
                say(f"faults: {fault}: skipped (needs root for a tmpfs)")
                continue
            if fault == "read-only" and (why := read_only_supported(folder / "probe")):
                say(f"faults: {fault}: skipped ({why})")
                continue
            shown, cleared, lost_runs = [], [], 0
            for n in range(args.repeat):
                run = run_fault(fault, folder / f"{fault.replace(' ', '-')}-{n}", site)
                if run.shown_s is not None:
                    shown.append(run.shown_s)
                if run.cleared_s is not None:
                    cleared.append(run.cleared_s)
                if run.problems:
                    ok = False
                    lost_runs += 1
                    for problem in run.problems[:5]:
                        say(f"  PROBLEM {fault} #{n}: {problem}")
            goal = "within" if shown and max(shown) <= 2.0 else "NOT within"
            say(
                f"faults: {fault} x{args.repeat}: shown after {_spread(shown)} ({goal} the 2 s "
                f"goal); cleared after {_spread(cleared)} once the disk was back; runs with a "
                f"problem: {lost_runs}; last close: {run.closed.get('text')}"
            )
    return ok


# ----------------------------------------------------------------------------- rtsp


def bench_rtsp(args: argparse.Namespace) -> bool:
    from tests.reliability.drops import KINDS, drop_cycles
    from tests.rtsp_server import gst_rtsp_server_missing

    missing = gst_rtsp_server_missing()
    if missing:
        say(f"rtsp: cannot run: {missing}")
        return False
    with tempfile.TemporaryDirectory(prefix="nw-bench-rtsp-") as tmp:

        def progress(cycle: int, figures: object) -> None:
            if (cycle + 1) % 10 == 0:
                say(f"  cycle {cycle + 1}: {figures.line()}")  # type: ignore[attr-defined]

        figures = drop_cycles(
            Path(tmp),
            cameras=args.cameras,
            cycles=args.cycles,
            video_loss_s=args.video_loss_s,
            progress=progress,
        )
    say(f"rtsp: {figures.line()}")
    alarms = [s for kind in KINDS for s in figures.alarm_s[kind]]
    backs = [s for kind in KINDS for s in figures.back_s[kind]]
    for kind in KINDS:
        say(
            f"rtsp: {kind}: video-loss alarm after {_spread(figures.alarm_s[kind])}; back after "
            f"{_spread(figures.back_s[kind])}"
        )
    late = sum(1 for s in alarms if s > 10.0)
    slow = sum(1 for s in backs if s > BACKOFF_CAP_S + 5.0)
    say(
        f"rtsp: video_loss_s {args.video_loss_s:g}: {late} of {len(alarms)} alarms later than "
        f"10 s; {slow} of {len(backs)} cameras back later than the back-off cap "
        f"({BACKOFF_CAP_S:g} s) + 5 s; start-up video-loss alarms {figures.startup_alarms}; "
        f"video-loss alarms stored per camera {sorted(set(figures.stored.values()))}"
    )
    for hang in figures.server_hangs:
        say(f"  TEST SERVER HUNG (power-cycled) {hang}")
    for problem in figures.problems[:20]:
        say(f"  PROBLEM {problem}")
    return not figures.problems


# ----------------------------------------------------------------------------- fuzz


def _atheris_installed() -> bool:
    done = subprocess.run(
        [sys.executable, "-c", "import atheris"], capture_output=True, check=False
    )
    return done.returncode == 0


def bench_fuzz(args: argparse.Namespace) -> bool:
    engines = ["hypothesis", "atheris"] if args.engine == "both" else [args.engine]
    if "atheris" in engines and not _atheris_installed():
        say("fuzz: atheris is not installed (pip install -e '.[fuzz]'); hypothesis only")
        engines = [e for e in engines if e != "atheris"] or ["hypothesis"]
    ok = True
    for engine in engines:
        for target in ("yaml", "image"):
            command = [
                sys.executable, "-m", "tests.reliability.fuzzing", target, "--engine", engine,
                "--seconds", str(args.seconds), "--max-mb", str(args.max_mb),
                "--seed", str(args.seed),
            ]  # fmt: skip
            began = time.monotonic()
            env = {**child_env(), "OPENCV_LOG_LEVEL": "FATAL"}  # damaged images are the point
            done = subprocess.run(
                command, cwd=ROOT, env=env, capture_output=True, text=True, check=False,
                timeout=args.seconds * 3 + 600,
            )  # fmt: skip
            spent = time.monotonic() - began
            if engine == "atheris":
                stats = dict(
                    line.removeprefix("stat::").split(":", 1)
                    for line in done.stderr.splitlines()
                    if line.startswith("stat::")
                )
                crashed = "Uncaught Python exception" in done.stderr or bool(
                    re.search(r"==\d+== ?ERROR: libFuzzer", done.stderr)
                )
                good = done.returncode == 0 and not crashed
                say(
                    f"fuzz: {target} atheris {spent:.0f} s: "
                    f"{stats.get('number_of_executed_units', '?').strip()} inputs, "
                    f"{stats.get('average_exec_per_sec', '?').strip()}/s, "
                    f"{stats.get('new_units_added', '?').strip()} new coverage units, peak RSS "
                    f"{stats.get('peak_rss_mb', '?').strip()} MB, rss limit {args.max_mb} MB "
                    f"above the start; {'no crash' if good else 'CRASH or limit: see below'}"
                )
            else:
                results = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
                good = done.returncode == 0 and bool(results)
                if results:
                    r = json.loads(results[-1].removeprefix("RESULT "))
                    say(
                        f"fuzz: {target} hypothesis {spent:.0f} s: {r['inputs']} inputs "
                        f"({r['outcomes']}), slowest {r['slowest_s'] * 1000:.0f} ms "
                        f"({r['slowest_bytes']} bytes), peak RSS {r['peak_rss_mb']} MB under a "
                        f"{r['address_space_cap_mb']} MB address-space cap"
                    )
            if not good:
                ok = False
                say(f"  PROBLEM {target} {engine} (exit {done.returncode}):")
                say("\n".join(done.stdout.splitlines()[-10:]))
                say("\n".join(done.stderr.splitlines()[-30:]))
    return ok


# ----------------------------------------------------------------------------- flood


def bench_flood(args: argparse.Namespace) -> bool:
    from tests.reliability.flood import run_flood

    figures = run_flood(
        cameras=args.cameras,
        alarms=args.alarms,
        burst_s=args.burst_s,
        quiet_s=args.quiet_s,
        decode=not args.no_decode,
        workers=args.workers,
    )
    say(f"flood: {figures.line()}")
    if figures.result:
        r = figures.result
        ratio = r["gui_p99_ms"] / max(r["quiet_p99_ms"], 1e-9)
        goal = "within" if r["gui_p99_ms"] < 100 else "NOT within"
        say(
            f"flood: GUI p99 {r['gui_p99_ms']:.0f} ms during the flood, {ratio:.0f}x the quiet "
            f"console's ({r['quiet_p99_ms']:.0f} ms); {goal} the 100 ms goal"
        )
    for problem in figures.problems:
        say(f"  PROBLEM {problem}")
    return not figures.problems


# ----------------------------------------------------------------------------- main

BENCHES = {
    "kills": bench_kills,
    "migration": bench_migration,
    "faults": bench_faults,
    "rtsp": bench_rtsp,
    "fuzz": bench_fuzz,
    "flood": bench_flood,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("which", choices=[*BENCHES, "all"])
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--alarms", type=int, default=None, help="migration 1000, flood 1000")
    parser.add_argument("--random", type=int, default=50)
    parser.add_argument(
        "--stops", type=int, default=None, help="migration: statements to kill before (all)"
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--cameras", type=int, default=None, help="rtsp 16, flood 64")
    parser.add_argument("--cycles", type=int, default=100)
    parser.add_argument("--video-loss-s", type=float, default=5.0)
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--engine", choices=["hypothesis", "atheris", "both"], default="both")
    parser.add_argument("--max-mb", type=int, default=1024)
    parser.add_argument("--burst-s", type=float, default=60.0)
    parser.add_argument("--quiet-s", type=float, default=15.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--no-decode", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("YOLO_OFFLINE", "1")
    chosen = list(BENCHES) if args.which == "all" else [args.which]
    ok = True
    for name in chosen:
        defaults = {"migration": (1000, None), "flood": (1000, 64), "rtsp": (None, 16)}
        alarms, cameras = defaults.get(name, (None, None))
        step = argparse.Namespace(**vars(args))
        step.alarms = args.alarms if args.alarms is not None else alarms
        step.cameras = args.cameras if args.cameras is not None else cameras
        began = time.monotonic()
        say(f"=== {name} ===")
        ok = BENCHES[name](step) and ok
        say(f"=== {name}: {time.monotonic() - began:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
