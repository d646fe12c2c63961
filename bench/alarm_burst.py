"""Alarm burst on a slow disk: does detection, the GUI or the screen wait for the store?

An overnight console must keep detecting and keep its screen live while a burst of alarms is
written, even when the disk is slow (a busy RAID, a network share, later PostgreSQL). This runs
the real console on a real site twice, on the same machine, in one run:

- the *baseline*: the landed commit given by `--baseline-rev` (checked out into a temporary git
  worktree), where the pipeline's dispatch thread ran the rules and the alarm manager, and the
  manager held its lock across the store's fsynced writes;
- *this tree*: the core on its own thread, the alarm manager handing its writes to the store's
  writer and never waiting for them.

Each run, in its own process: N file cameras (vtest.avi at different offsets) through the real
capture processes and detector workers (offline SSDLite), the real `ConsoleWindow` (offscreen),
a real SQLite store whose every `fsync`/`fdatasync` takes `--fsync-ms` (an LD_PRELOAD shim,
compiled here with gcc: the same slow disk for both trees, SQLite's own syncs included). After a
quiet spell, `--alarms` alarms are raised in `--burst-s` seconds across the cameras (findings
added to what the rules find on each judged frame, one new subject each), and a scripted monitor
acknowledges every alarm as it appears in the queue (select it, press A: the real view code).

Reported per tree, and as ratios:
- detections per second during the burst / during the quiet spell (goal: at least 0.9);
- the GUI event loop's latency (a 10 ms timer's lateness), p50 and p99 during the burst,
  weighted by time (a 3 s freeze is one late probe but 3 s of frozen screen), and the longest
  stall (goal: p99 under 100 ms);
- from finding to alarm on screen (the queue's `alarm_raised`), p50 and p95;
- alarms raised, shown, acknowledged, and rows in the database after a clean stop;
- the longest garbage collection pause during the burst (each stops every thread of the console);
- with `--repeat` or several disks: the detector processes' CPU during / before the burst (what
  the console's own work left them: on a saturated machine the part of the ratio that is the
  console's doing, whatever the machine's speed that hour), and each run marked `*` where the
  console as a whole got less than 95% as much CPU in one phase (before the burst, or in it) as
  in the other. On a machine the console keeps saturated (32 cameras on 2 cores) that is CPU
  taken from outside, by another tenant of a shared machine.

    .venv/bin/python bench/alarm_burst.py [--baseline-rev 0aacc7b] [--cameras 32]
        [--alarms 200] [--burst-s 10] [--quiet-s 15] [--fsync-ms 200 [0 ...]] [--workers 2]
        [--background-nice N] [--repeat K]

`--fsync-ms 200 0` runs this tree on the slow disk and again on one that syncs at once, and
`--repeat K` does every run K times, alternated, with each ratio and their median: the slow disk's
own cost to detection is then the difference between the two disks' medians, apart from what
the burst's other work costs on a machine without a core to spare.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from worktrees import baseline_tree  # bench/worktrees.py (this script's own folder)

HERE = Path(__file__).resolve()
ROOT = HERE.parents[1]

SHIM_C = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>
static void slow(void) {
    const char *ms = getenv("NIGHTWATCH_BENCH_FSYNC_MS");
    long wait = ms ? atol(ms) : 0;
    struct timespec t = {wait / 1000, (wait % 1000) * 1000000L};
    if (wait > 0) nanosleep(&t, 0);
}
int fsync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    slow();
    return real(fd);
}
int fdatasync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    slow();
    return real(fd);
}
"""


# ---------------------------------------------------------------------------------------------
# the parent: build the slow disk, check out the baseline, run both, compare
# ---------------------------------------------------------------------------------------------


def build_shim(folder: Path) -> Path:
    if shutil.which("gcc") is None:
        raise SystemExit("gcc is needed to build the slow-fsync shim (apt-get install gcc)")
    source = folder / "slow_fsync.c"
    source.write_text(SHIM_C)
    library = folder / "slow_fsync.so"
    subprocess.run(
        ["gcc", "-shared", "-fPIC", "-O2", "-o", str(library), str(source), "-ldl"], check=True
    )
    return library


def run_tree(tree: Path, shim: Path, args: argparse.Namespace, fsync_ms: int) -> dict[str, Any]:
    env = dict(os.environ)
    env.update(
        {
            "LD_PRELOAD": str(shim),
            "NIGHTWATCH_BENCH_FSYNC_MS": str(fsync_ms),
            "QT_QPA_PLATFORM": "offscreen",
            "PYTHONUNBUFFERED": "1",
        }
    )
    command = [
        sys.executable,
        str(HERE),
        "--child",
        "--tree",
        str(tree),
        "--cameras",
        str(args.cameras),
        "--alarms",
        str(args.alarms),
        "--burst-s",
        str(args.burst_s),
        "--quiet-s",
        str(args.quiet_s),
        "--workers",
        str(args.workers),
    ]
    if args.background_nice is not None and tree == ROOT:
        command += ["--background-nice", str(args.background_nice)]
    print(f"--- {tree}, every fsync {fsync_ms} ms", flush=True)
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True)
    sys.stderr.write(done.stderr[-4000:])
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise SystemExit(f"{tree}: no result (exit {done.returncode})\n{done.stdout[-2000:]}")


def report(name: str, r: dict[str, Any]) -> None:
    print(
        f"{name}: detections/s quiet {r['det_quiet']:.1f}, burst {r['det_burst']:.1f} "
        f"(ratio {r['det_ratio']:.2f}); GUI latency p50 {r['gui_p50_ms']:.1f} ms, "
        f"p99 {r['gui_p99_ms']:.1f} ms (time-weighted), longest stall {r['gui_max_ms']:.0f} ms; "
        f"finding to screen p50 {r['screen_p50_ms']:.0f} ms, "
        f"p95 {r['screen_p95_ms']:.0f} ms; alarms raised {r['raised']}, shown {r['shown']}, "
        f"acknowledged {r['acknowledged']}, rows stored {r['rows']}; GUI thread CPU quiet "
        f"{r['gui_cpu_quiet']:.0%}, burst {r['gui_cpu_burst']:.0%} of a core; garbage "
        f"collection in the burst: longest {r['gc_max_ms']:.0f} ms, {r['gc_full']} full "
        f"(longest {r['gc_full_max_ms']:.0f} ms), over the whole run {r['gc_full_run']} full "
        f"(longest {r['gc_full_run_max_ms']:.0f} ms); clips after the stop "
        + (", ".join(f"{state} {n}" for state, n in sorted(r.get("clips", {}).items())) or "none")
    )
    quiet, burst = r.get("cpu_quiet", {}), r.get("cpu_burst", {})
    if burst:
        print(f"  {'CPU, share of one core':<28}  quiet   burst")
        for part in sorted(burst, key=lambda k: -burst[k]):
            if max(burst[part], quiet.get(part, 0.0)) >= 0.005:
                print(f"  {part:<28} {quiet.get(part, 0.0):6.0%}  {burst[part]:6.0%}")
        print(f"  {'all':<28} {sum(quiet.values()):6.0%}  {sum(burst.values()):6.0%}")


DISTURBED_BELOW = 0.95  # the console's whole CPU in one phase, against the other


def disturbed(r: dict[str, Any]) -> bool:
    """The console (all its processes and threads, which keep every core busy) got clearly
    less CPU in one phase than in the other, before the burst or in it: the machine was taken
    from outside."""
    quiet, burst = sum(r.get("cpu_quiet", {}).values()), sum(r.get("cpu_burst", {}).values())
    return max(quiet, burst) > 0 and min(quiet, burst) < DISTURBED_BELOW * max(quiet, burst)


def detector_share_ratio(r: dict[str, Any]) -> float:
    """The detector processes' CPU in the burst over before it (nan without the figures)."""
    quiet = r.get("cpu_quiet", {}).get("detector processes", 0.0)
    burst = r.get("cpu_burst", {}).get("detector processes", 0.0)
    return burst / quiet if quiet > 0 else float("nan")


def main_parent(args: argparse.Namespace) -> None:
    slow, *others = args.fsync_ms
    runs: list[tuple[str, dict[str, Any]]] = []
    with tempfile.TemporaryDirectory(prefix="nw-burst-") as tmp:
        folder = Path(tmp)
        shim = build_shim(folder)
        for round_ in range(args.repeat):
            if args.baseline_rev:
                with baseline_tree(args.baseline_rev, folder) as tree:
                    runs.append(("baseline", run_tree(tree, shim, args, slow)))
            # alternated, so that a slower hour of a shared machine falls on each disk alike
            order = [slow, *others] if round_ % 2 == 0 else [*others, slow]
            for fsync_ms in order:
                name = "this tree" if fsync_ms == slow else f"this tree, fsync {fsync_ms} ms"
                runs.append((name, run_tree(ROOT, shim, args, fsync_ms)))
    print()
    print(
        f"{args.cameras} cameras, {args.alarms} alarms in {args.burst_s:.0f} s, every fsync "
        f"{slow} ms unless named, {args.workers} detector workers, {args.repeat} round(s):"
    )
    for name, result in runs:
        report(name, result)
    by_name: dict[str, list[dict[str, Any]]] = {}
    for name, result in runs:
        by_name.setdefault(name, []).append(result)
    if args.repeat > 1 or others:
        print("detections during / before the burst, each run, and their median:")
        for name, results in by_name.items():
            ratios = [r["det_ratio"] for r in results]
            listed = ", ".join(
                f"{x:.2f}{'*' if disturbed(r) else ''}"
                for x, r in zip(ratios, results, strict=True)
            )
            print(f"  {name:<28} {listed}  median {statistics.median(ratios):.2f}")
        print(
            "the detectors' CPU during / before the burst (what the console's own work left them):"
        )
        for name, results in by_name.items():
            shares = [detector_share_ratio(r) for r in results]
            listed = ", ".join(
                f"{x:.2f}{'*' if disturbed(r) else ''}"
                for x, r in zip(shares, results, strict=True)
            )
            print(f"  {name:<28} {listed}  median {statistics.median(shares):.2f}")
        if any(disturbed(r) for _, r in runs):
            print(
                f"  * the console's processes and threads got less than {DISTURBED_BELOW:.0%} "
                "as much CPU in one phase as in the other (another tenant of a shared "
                "machine): that run measures the machine as much as the console"
            )
    for other in others:
        name = f"this tree, fsync {other} ms"
        slow_median = statistics.median(r["det_ratio"] for r in by_name["this tree"])
        other_median = statistics.median(r["det_ratio"] for r in by_name[name])
        print(
            f"the slow disk's cost to detection in the burst: median ratio {slow_median:.2f} "
            f"with fsync {slow} ms against {other_median:.2f} with {other} ms "
            f"({slow_median / max(other_median, 1e-9):.2f}x)"
        )
    if "baseline" in by_name:
        base, new = by_name["baseline"][-1], by_name["this tree"][-1]
        print(
            f"ratios (this tree / baseline, last round): detections during burst "
            f"{new['det_ratio'] / max(base['det_ratio'], 1e-9):.2f}x, GUI p99 "
            f"{base['gui_p99_ms'] / max(new['gui_p99_ms'], 1e-9):.1f}x lower, finding to "
            f"screen p95 {base['screen_p95_ms'] / max(new['screen_p95_ms'], 1e-9):.1f}x faster"
        )


# ---------------------------------------------------------------------------------------------
# the child: one tree, one real console
# ---------------------------------------------------------------------------------------------


def site_yaml(folder: Path, cameras: int, footage: Path, plan: Path) -> Path:
    (folder / "plans").mkdir(parents=True)
    shutil.copy(plan, folder / "plans" / "ground.png")
    (folder / "footage").mkdir()
    (folder / "footage" / "vtest.avi").symlink_to(footage)
    lines = [
        "version: 1",
        "site: {name: Burst bench, timezone: Europe/Amsterdam}",
        "opening_hours: {"
        + ", ".join(
            f'{d}: "00:00-23:59"' for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        )
        + "}",
        "floors:",
        "  - {id: ground, name: Ground floor, plan: plans/ground.png, metres_per_pixel: 0.02}",
        "cameras:",
    ]
    for i in range(cameras):
        x, y = 60 + (i % 8) * 130, 60 + (i // 8) * 130
        lines.append(
            f"  - {{id: cam-{i:02d}, name: Camera {i:02d}, floor: ground, "
            f"source: 'footage/vtest.avi#t={(i * 7) % 70}', plan_position: [{x}, {y}]}}"
        )
    lines += [
        "rules:",
        "  proximity: {enabled: true}",
        "  after_hours: {enabled: false}",
        "  loitering: {enabled: false}",
        "  restricted: {enabled: false}",
        "  object_missing: {enabled: false}",
        "  camera_health: {enabled: false}",
        "guards:",
        "  - {id: g-anna, name: Anna, post: Main hall}",
    ]
    path = folder / "site.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def time_weighted_quantile(lateness_ms: list[float], q: float) -> float:
    """The lateness a moment picked at random would see: each probe stands for its whole
    interval (a GUI frozen for 3 s yields one late probe, but 3 s of a frozen screen)."""
    if not lateness_ms:
        return float("nan")
    ordered = sorted(lateness_ms)
    weights = [10.0 + ms for ms in ordered]
    target, seen = q * sum(weights), 0.0
    for ms, weight in zip(ordered, weights, strict=True):
        seen += weight
        if seen >= target:
            return ms
    return ordered[-1]


def cpu_by_part() -> dict[str, float]:
    """CPU seconds so far of each part of the console: its own threads by name (Qt's and the
    libraries' unnamed ones together) and its helper processes by kind (capture, detector,
    recorder, clip: the kind from the name each is spawned with), from the kernel's counters."""
    import multiprocessing

    import psutil

    kinds = {child.pid: helper_kind(child.name) for child in multiprocessing.active_children()}

    names = {t.native_id: t.name for t in threading.enumerate()}
    parts: dict[str, float] = {}
    me = psutil.Process()
    for thread in me.threads():
        name = names.get(thread.id, "unnamed threads")
        parts[name] = parts.get(name, 0.0) + thread.user_time + thread.system_time
    for child in me.children(recursive=True):
        try:
            times = child.cpu_times()
        except psutil.Error:
            continue
        kind = kinds.get(child.pid, "other helper processes")
        parts[kind] = parts.get(kind, 0.0) + times.user + times.system
    return parts


def helper_kind(name: str) -> str:
    """'nightwatch-detector-1' -> 'detector processes'; the kind a helper process is of."""
    words = name.split("-")
    kind = words[1] if len(words) > 1 and words[0] == "nightwatch" else "other helper"
    return f"{kind} processes"


def cpu_shares(before: dict[str, float], after: dict[str, float], seconds: float) -> dict:
    """Each part's CPU between two readings, as a share of one core."""
    return {k: (after.get(k, 0.0) - before.get(k, 0.0)) / seconds for k in after}


def main_child(args: argparse.Namespace) -> None:
    tree = Path(args.tree).resolve()
    sys.path.insert(0, str(tree))
    os.chdir(tree)
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    import console.runtime as runtime_module
    from console.media import media_file
    from console.rules import Finding

    try:  # this tree: a typed detail per rule
        from console.rules.details import ProximityDetail

        def detail_of(distance_m: float, box: tuple[float, ...]) -> Any:
            return ProximityDetail(box=box, distance_m=distance_m)  # type: ignore[arg-type]

    except ImportError:  # the baseline: a free dict

        def detail_of(distance_m: float, box: tuple[float, ...]) -> Any:
            return {"distance_m": distance_m, "box": list(box)}

    from console.runtime import RuntimeOptions, SiteRuntime
    from console.site_file import load_site
    from inference.worker_pool import DetectorSpec
    from ui.bridge import PipelineBridge
    from ui.main_window import ConsoleWindow

    try:  # this tree
        from console.store import Store as StoreClass
    except ImportError:  # the baseline
        from console.store import AlarmStore as StoreClass  # type: ignore[no-redef]

    app = QApplication.instance() or QApplication([])
    tmp = Path(tempfile.mkdtemp(prefix="nw-burst-child-"))
    footage = media_file("vtest.avi")
    plan = tree / "tests" / "data" / "example_site" / "plans" / "ground.png"
    site = load_site(site_yaml(tmp / "site", args.cameras, footage, plan))
    db = tmp / "alarms.db"
    store = StoreClass(f"sqlite:///{db}")

    # the burst: findings the rules did not make, added on the thread that judges frames
    lock = threading.Lock()
    burst = {"due": 0, "made": 0}
    made_at: dict[str, float] = {}
    real_evaluate = runtime_module.evaluate_camera

    def evaluate_camera(camera: Any, site_: Any, now: Any, *rest: Any) -> list[Any]:
        found = list(real_evaluate(camera, site_, now, *rest))
        with lock:
            extra = min(burst["due"] - burst["made"], 3)
            start = burst["made"]
            burst["made"] += max(0, extra)
        for i in range(start, start + max(0, extra)):
            subject = f"burst-{i:04d}"
            made_at[subject] = time.perf_counter()
            found.append(
                Finding(
                    "proximity",
                    camera.camera_id,
                    subject,
                    None,
                    "high",  # type: ignore[arg-type]
                    now,
                    camera.last_ts,
                    detail_of(0.4, (100.0, 80.0, 160.0, 260.0)),
                )
            )
        return found

    runtime_module.evaluate_camera = evaluate_camera

    sign_in = None
    try:  # this tree: the bench's monitor has an account and signs in as a monitor does
        from console.passwords import PASSWORDS, Password
        from console.store import AddUser

        secret = Password("bench monitor passphrase")
        hashed = PASSWORDS.hash(secret)
        store.write(AddUser("bench-monitor", "operator", password_hash=hashed)).result()
        sign_in = ("bench-monitor", secret)
    except ImportError:  # the baseline has no accounts
        pass

    bridge = PipelineBridge()
    on_alarm = getattr(bridge, "on_alarm", None) or bridge.on_notice  # type: ignore[attr-defined]
    options = RuntimeOptions(detector=DetectorSpec("ssdlite"), cpu_workers=args.workers)
    if args.background_nice is not None:  # this tree: the helpers' CPU priority, as asked
        options = dataclasses.replace(options, background_nice=args.background_nice)
    runtime = SiteRuntime(site, store, options, on_alarm=on_alarm, **bridge.callbacks())
    if hasattr(bridge, "serve"):
        bridge.serve(runtime.post)
    settings = QSettings(str(tmp / "console.ini"), QSettings.Format.IniFormat)
    runtime.start()
    if sign_in is not None:
        window = ConsoleWindow(runtime, bridge, settings=settings, sign_in=sign_in)
    else:
        window = ConsoleWindow(runtime, bridge, user="bench-monitor", settings=settings)
    window.resize(1600, 900)
    window.show()
    try:  # this tree: as the window's entry point does (ui/app.py)
        from console.interpreter import settle_interpreter

        settle_interpreter()
    except ImportError:  # the baseline left the interpreter's defaults
        pass

    # every garbage collection's pause, on any thread (each holds the interpreter lock)
    collections: list[tuple[float, int, float]] = []
    collecting: dict[int, float] = {}

    def on_collection(phase: str, info: dict[str, int]) -> None:
        now = time.perf_counter()
        if phase == "start":
            collecting[threading.get_ident()] = now
        elif (began := collecting.pop(threading.get_ident(), None)) is not None:
            collections.append((now, info["generation"], (now - began) * 1000))

    gc.callbacks.append(on_collection)

    # the monitor: acknowledge each new alarm as it appears
    shown_at: dict[str, float] = {}
    acked: list[int] = []
    queue = window.queue

    def on_raised(alarm: Any) -> None:
        if alarm.subject_id in made_at and alarm.subject_id not in shown_at:
            shown_at[alarm.subject_id] = time.perf_counter()

            def acknowledge() -> None:
                if queue.select_alarm(alarm.alarm_id):
                    queue.acknowledge_selected()
                    acked.append(alarm.alarm_id)

            QTimer.singleShot(0, acknowledge)

    queue.alarm_raised.connect(on_raised)

    # the GUI's event-loop latency
    lateness: list[tuple[float, float]] = []
    last = [time.perf_counter()]
    probe = QTimer()
    probe.setInterval(10)

    def on_probe() -> None:
        now = time.perf_counter()
        lateness.append((now, max(0.0, (now - last[0]) * 1000 - 10)))
        last[0] = now

    probe.timeout.connect(on_probe)
    probe.start()

    def detected() -> int:
        stats = runtime.pipeline.stats()
        return int(stats["detected"] if isinstance(stats, dict) else stats.detected)

    def spin(seconds: float) -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            app.processEvents()
            time.sleep(0.002)

    # warm up until every worker detects (and the monitor is signed in)
    deadline = time.perf_counter() + 120
    while sign_in is not None and window.user is None and time.perf_counter() < deadline:
        spin(0.1)
    while detected() < args.cameras * 2 and time.perf_counter() < deadline:
        spin(0.5)
    spin(3)
    d0, t0, c0 = detected(), time.perf_counter(), time.thread_time()
    p0 = cpu_by_part()
    spin(args.quiet_s)
    d1, t1, c1 = detected(), time.perf_counter(), time.thread_time()
    p1 = cpu_by_part()
    burst_started = t1

    def feeder() -> None:
        for i in range(args.alarms):
            target = burst_started + (i + 1) * args.burst_s / args.alarms
            time.sleep(max(0.0, target - time.perf_counter()))
            with lock:
                burst["due"] = i + 1

    feed = threading.Thread(target=feeder, daemon=True)
    feed.start()
    spin(args.burst_s)
    d2, t2, c2 = detected(), time.perf_counter(), time.thread_time()
    p2 = cpu_by_part()
    feed.join()
    deadline = time.perf_counter() + 120
    while len(shown_at) < args.alarms and time.perf_counter() < deadline:
        spin(0.2)
    spin(2)
    probe.stop()
    gc.callbacks.remove(on_collection)

    window.close()
    bridge.close()
    runtime.stop()
    store.close()
    with contextlib.closing(sqlite3.connect(db)) as conn:
        rows = conn.execute("select count(*) from alarms").fetchone()[0]
        try:
            clip_states = dict(conn.execute("select state, count(*) from clips group by state"))
        except sqlite3.OperationalError:  # the baseline keeps no clips
            clip_states = {}
    burst_lateness = [ms for at, ms in lateness if burst_started <= at <= t2]
    burst_collections = [(gen, ms) for at, gen, ms in collections if burst_started <= at <= t2]
    screen = [(shown_at[s] - made_at[s]) * 1000 for s in shown_at]
    det_quiet = (d1 - d0) / (t1 - t0)
    det_burst = (d2 - d1) / (t2 - t1)
    result = {
        "det_quiet": det_quiet,
        "det_burst": det_burst,
        "det_ratio": det_burst / det_quiet if det_quiet else float("nan"),
        "gui_p50_ms": time_weighted_quantile(burst_lateness, 0.5),
        "gui_p99_ms": time_weighted_quantile(burst_lateness, 0.99),
        "gui_probe_p99_ms": quantile(burst_lateness, 0.99),
        "gui_max_ms": max(burst_lateness, default=float("nan")),
        "gui_mean_ms": statistics.fmean(burst_lateness) if burst_lateness else float("nan"),
        "screen_p50_ms": quantile(screen, 0.5),
        "screen_p95_ms": quantile(screen, 0.95),
        "raised": burst["made"],
        "shown": len(shown_at),
        "acknowledged": len(acked),
        "rows": rows,
        # the GUI thread's CPU, as a share of one core (the window's own work, not its waits)
        "gui_cpu_quiet": (c1 - c0) / (t1 - t0),
        "gui_cpu_burst": (c2 - c1) / (t2 - t1),
        # the longest garbage collection pause of the burst, and the full ones
        "gc_max_ms": max((ms for _, ms in burst_collections), default=0.0),
        "gc_full": sum(1 for gen, _ in burst_collections if gen == 2),
        "gc_full_max_ms": max((ms for gen, ms in burst_collections if gen == 2), default=0.0),
        # and from the quiet spell to the end of the measuring (a full collection is rarer)
        "gc_full_run": sum(1 for at, gen, _ in collections if gen == 2 and at >= t0),
        "gc_full_run_max_ms": max(
            (ms for at, gen, ms in collections if gen == 2 and at >= t0), default=0.0
        ),
        "clips": clip_states,  # after the clean stop: none left `recording`
        "cpu_quiet": cpu_shares(p0, p1, t1 - t0),
        "cpu_burst": cpu_shares(p1, p2, t2 - t1),
    }
    print("RESULT " + json.dumps(result), flush=True)
    shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline-rev", default="0aacc7b", help="'' to skip the baseline")
    parser.add_argument("--cameras", type=int, default=32)
    parser.add_argument("--alarms", type=int, default=200)
    parser.add_argument("--burst-s", type=float, default=10.0)
    parser.add_argument("--quiet-s", type=float, default=15.0)
    parser.add_argument(
        "--fsync-ms",
        type=int,
        nargs="+",
        default=[200],
        help="how long every fsync takes; the first is the slow disk of every run, further "
        "values run this tree again with those (0: a disk that syncs at once), so that what "
        "the slow disk itself costs detection shows",
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="rounds of runs, alternated (the median ratio)"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--background-nice",
        type=int,
        help="this tree's helper processes this much lower in CPU priority (default: the "
        "console's own, inference.priority.BACKGROUND_NICE, 19 since fa3d99a; 0 measures the "
        "same code without the priority change)",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--tree", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        main_child(args)
    else:
        main_parent(args)


if __name__ == "__main__":
    main()
