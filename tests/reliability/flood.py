"""An alarm flood on the real console: N alarms in S seconds across C cameras, the window live.
Used by tests/reliability/test_flood.py (CI-sized) and bench/reliability.py flood (1,000 alarms
in 60 s across 64 cameras).

The console runs in a child process (offscreen Qt): the real `ConsoleWindow` over a real
`SiteRuntime` (capture processes decoding the cameras, a detector worker, the core thread, the
SQLite store). The flood is findings handed to the core as the rules hand theirs
(`runtime.core.post(lambda: runtime.alarms.ingest([...]))`), one new subject each, so each one is
a new alarm, paced evenly over the burst. Measured, as bench/alarm_burst.py does:

- the GUI event loop's latency from the first finding until the last alarm is in the queue (a
  10 ms timer's lateness), p50 and p99 weighted by time (a 3 s freeze is one late probe but 3 s
  of frozen screen), and its longest stall;
- from finding to alarm in the queue (`AlarmQueueView.alarm_raised`), p50 and p95.

Checked: every alarm raised is shown in the queue, and after a clean stop the close report says
every write is stored and the database holds every alarm.

    python -m tests.reliability.flood --cameras 16 --alarms 200 --burst-s 12 [--no-decode]

`--no-decode` points the cameras at a port nobody serves (no frame is decoded; the cameras stay
offline, with the camera-health rule off) to measure the alarm path alone. `--no-settle` leaves
the interpreter's defaults (as before console.interpreter).
"""

from __future__ import annotations

import argparse
import gc
import inspect
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.reliability.children import REPO, child_env

TIMEOUT_S = 4000.0


@dataclass
class FloodFigures:
    cameras: int
    alarms: int
    burst_s: float
    decode: bool
    result: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        r = self.result
        if not r:
            return f"flood: no result; {self.problems}"
        return (
            f"{self.alarms} alarms in {self.burst_s:.0f} s across {self.cameras} cameras "
            f"({'decoding' if self.decode else 'no decoding'}): raised {r['raised']}, shown "
            f"{r['shown']}, rows stored {r['rows']} ({r['close']}); GUI latency p50 "
            f"{r['gui_p50_ms']:.1f} ms, p99 {r['gui_p99_ms']:.1f} ms (time-weighted), longest "
            f"stall {r['gui_max_ms']:.0f} ms; finding to queue p50 {r['screen_p50_ms']:.0f} ms, "
            f"p95 {r['screen_p95_ms']:.0f} ms; frames painted per second "
            f"{r['painted_per_s']:.0f}; full garbage collections {r['full_collections']} "
            f"(longest {r['full_collection_max_ms']:.0f} ms). Before the flood (baseline, same "
            f"console): GUI latency "
            f"p50 {r['quiet_p50_ms']:.1f} ms, p99 {r['quiet_p99_ms']:.1f} ms, frames painted per "
            f"second {r['quiet_painted_per_s']:.0f}"
        )


def run_flood(
    *,
    cameras: int,
    alarms: int,
    burst_s: float,
    quiet_s: float = 5.0,
    decode: bool = True,
    workers: int = 1,
    settle: bool = True,
) -> FloodFigures:
    """Run the flood in a child console; check what it reports."""
    figures = FloodFigures(cameras, alarms, burst_s, decode)
    command = [
        sys.executable,
        "-m",
        "tests.reliability.flood",
        "--child",
        "--cameras",
        str(cameras),
        "--alarms",
        str(alarms),
        "--burst-s",
        str(burst_s),
        "--workers",
        str(workers),
        "--quiet-s",
        str(quiet_s),
    ]
    if not decode:
        command.append("--no-decode")
    if not settle:
        command.append("--no-settle")
    env = {**child_env(), "QT_QPA_PLATFORM": "offscreen", "PYTHONUNBUFFERED": "1"}
    done = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
    )
    lines = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        figures.problems.append(
            f"the console exited {done.returncode} without a result:\n{done.stderr[-3000:]}"
        )
        return figures
    result = json.loads(lines[-1].removeprefix("RESULT "))
    figures.result = result
    if result["raised"] != alarms:
        figures.problems.append(f"{result['raised']} of {alarms} findings raised an alarm")
    if result["shown"] != result["raised"]:
        figures.problems.append(f"{result['shown']} of {result['raised']} alarms in the queue")
    if not result["all_stored"]:
        figures.problems.append(f"the close report says: {result['close']}")
    if result["rows"] != result["raised"]:
        figures.problems.append(f"{result['rows']} rows stored for {result['raised']} alarms")
    return figures


# ----------------------------------------------------------------------------- the console


def time_weighted_quantile(lateness_ms: list[float], q: float) -> float:
    """The lateness a moment picked at random would see: each probe stands for its whole
    interval (as bench/alarm_burst.py computes it)."""
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


def quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main_child(args: argparse.Namespace) -> int:
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from console.alarms import Alarm
    from console.interpreter import settle_interpreter
    from console.rules import Finding
    from console.rules.details import ProximityDetail
    from console.runtime import RuntimeOptions, SiteRuntime
    from console.severity import Severity
    from console.site_file import load_site
    from console.store import Store
    from inference.worker_pool import DetectorSpec
    from tests.media import media
    from tests.reliability.sites import reliability_site
    from tests.rtsp_server import free_port
    from ui.bridge import PipelineBridge
    from ui.main_window import ConsoleWindow

    app = QApplication.instance() or QApplication([])
    tmp = Path(tempfile.mkdtemp(prefix="nw-flood-"))
    if args.no_decode:
        port = free_port()  # nobody listens there
        sources = [f"rtsp://127.0.0.1:{port}/cam-{i}" for i in range(args.cameras)]
    else:
        footage = media("vtest.avi")
        sources = [f"{footage}#t={(i * 7) % 70}" for i in range(args.cameras)]
    site = load_site(reliability_site(tmp / "site", sources))
    db = tmp / "nightwatch.db"
    store = Store(f"sqlite:///{db}")
    who = _who(ConsoleWindow, store)  # enrolled before the core reads its accounts
    bridge = PipelineBridge()
    runtime = SiteRuntime(
        site,
        store,
        RuntimeOptions(detector=DetectorSpec("ssdlite"), cpu_workers=args.workers),
        on_alarm=bridge.on_alarm,
        on_store_health=bridge.on_store_health,
        **bridge.callbacks(),
    )
    bridge.serve(runtime.post)
    runtime.start()
    window = ConsoleWindow(runtime, bridge, settings=QSettings(str(tmp / "console.ini")), **who)
    window.resize(1600, 900)
    window.show()
    if not args.no_settle:
        settle_interpreter()  # as the window's entry point does (ui/app.py)

    def spin(seconds: float) -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            app.processEvents()
            time.sleep(0.002)

    camera_ids = [c.id for c in site.cameras]
    if not args.no_decode:  # every camera live before the flood
        deadline = time.perf_counter() + 180
        while time.perf_counter() < deadline:
            if all(runtime.pipeline.rings[c].write_seq > 0 for c in camera_ids):
                break
            spin(0.2)
    watch_page = getattr(window, "WATCH_PAGE", None)  # signed in: the watch shows, not sign-in
    deadline = time.perf_counter() + 120
    while watch_page is not None and window.pages.currentIndex() != watch_page:
        if time.perf_counter() > deadline:
            print("the operator was not signed in within 120 s", file=sys.stderr, flush=True)
            return 1
        spin(0.2)
    spin(2.0)

    made_at: dict[str, float] = {}
    shown_at: dict[str, float] = {}
    raised: list[int] = []

    def on_raised(alarm: Alarm) -> None:
        if alarm.subject_id in made_at and alarm.subject_id not in shown_at:
            shown_at[alarm.subject_id] = time.perf_counter()

    window.queue.alarm_raised.connect(on_raised)

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
    # every full garbage collection (it holds the interpreter lock: every thread waits)
    full_collections: list[tuple[float, float]] = []
    collecting: dict[int, float] = {}

    def on_collection(phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        now = time.perf_counter()
        if phase == "start":
            collecting[threading.get_ident()] = now
        elif (start := collecting.pop(threading.get_ident(), None)) is not None:
            full_collections.append((now, (now - start) * 1000))

    gc.callbacks.append(on_collection)
    quiet_began = time.perf_counter()
    painted_quiet = _painted(window)
    spin(args.quiet_s)  # the same console before the flood: the baseline
    quiet_ended = time.perf_counter()
    painted_before = _painted(window)
    severities = [Severity.HIGH, Severity.MEDIUM, Severity.LOW]

    def feeder() -> None:
        for i in range(args.alarms):
            target = began + (i + 1) * args.burst_s / args.alarms
            time.sleep(max(0.0, target - time.perf_counter()))
            subject = f"flood-{i:04d}"
            finding = Finding(
                "proximity",
                camera_ids[i % len(camera_ids)],
                subject,
                i + 1,
                severities[i % len(severities)],
                runtime.clock.now(),
                None,
                ProximityDetail(distance_m=0.4, box=(100.0, 80.0, 160.0, 260.0)),
            )
            made_at[subject] = time.perf_counter()

            def ingest(found: Finding = finding) -> None:
                raised.extend(a.alarm_id for a in runtime.alarms.ingest([found]))

            runtime.core.post(ingest)

    began = time.perf_counter()
    feed = threading.Thread(target=feeder, name="flood-feeder", daemon=True)
    feed.start()
    spin(args.burst_s)
    while feed.is_alive():  # a late feeder: the console keeps running while it finishes
        spin(0.05)
    feed.join()
    ended = time.perf_counter()
    painted = _painted(window) - painted_before
    deadline = time.perf_counter() + 3000
    while len(shown_at) < args.alarms and time.perf_counter() < deadline:
        spin(0.2)
    # stopped before the flush: the flush waits on this (GUI) thread for the store, which the
    # console never does, so a probe spanning it would count the harness's wait as a stall
    probe.stop()
    gc.callbacks.remove(on_collection)
    runtime.alarms.flush(timeout_s=120)
    spin(1.0)

    window.close()
    window.deleteLater()
    bridge.close()
    runtime.stop()
    report = store.close(timeout_s=60)
    rows = sqlite3.connect(db).execute("SELECT count(*) FROM alarms").fetchone()[0]
    # the flood lasts until its last alarm is in the queue; a probe counts when its interval
    # overlaps that (a stall that outlasts the burst is the flood's too)
    until = max([ended, *shown_at.values()])
    during = [ms for at, ms in lateness if at - (ms + 10) / 1000 <= until and at >= began]
    screen = [(shown_at[s] - made_at[s]) * 1000 for s in shown_at]
    quiet = [ms for at, ms in lateness if quiet_began <= at <= quiet_ended]
    collections = [ms for at, ms in full_collections if began <= at <= until]
    result = {
        "quiet_p50_ms": time_weighted_quantile(quiet, 0.5),
        "quiet_p99_ms": time_weighted_quantile(quiet, 0.99),
        "quiet_painted_per_s": (painted_before - painted_quiet) / (quiet_ended - quiet_began),
        "raised": len(raised),
        "shown": len(shown_at),
        "rows": rows,
        "all_stored": report.all_stored,
        "close": str(report),
        "gui_p50_ms": time_weighted_quantile(during, 0.5),
        "gui_p99_ms": time_weighted_quantile(during, 0.99),
        "gui_probe_p99_ms": quantile(during, 0.99),
        "gui_max_ms": max(during, default=float("nan")),
        "screen_p50_ms": quantile(screen, 0.5),
        "screen_p95_ms": quantile(screen, 0.95),
        "painted_per_s": painted / max(ended - began, 1e-9),
        "full_collections": len(collections),
        "full_collection_max_ms": max(collections, default=0.0),
    }
    print("RESULT " + json.dumps(result), flush=True)
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


def _who(window_class: Any, store: Any) -> dict[str, Any]:
    """Who sits at the console: an operator signed in (enrolled in the store first) for a window
    that signs people in itself, `user=` for one that takes its user."""
    parameters = inspect.signature(window_class.__init__).parameters
    if "sign_in" in parameters:
        from console.roles import Role
        from tests.people import enroll, password_of

        enroll(store, "night-monitor", Role.OPERATOR)
        return {"sign_in": ("night-monitor", password_of("night-monitor"))}
    return {"user": "night-monitor"} if "user" in parameters else {}


def _painted(window: Any) -> int:
    """Distinct frames the video wall has painted so far, all tiles together."""
    return sum(c.painted for c in window.wall.stats().per_camera.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=16)
    parser.add_argument("--alarms", type=int, default=200)
    parser.add_argument("--burst-s", type=float, default=12.0)
    parser.add_argument("--quiet-s", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--no-decode", action="store_true")
    parser.add_argument(
        "--no-settle",
        action="store_true",
        help="leave the interpreter's defaults (console.interpreter): the lock's 5 ms switch "
        "interval, the startup objects in every full garbage collection",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return main_child(args)
    figures = run_flood(
        cameras=args.cameras,
        alarms=args.alarms,
        burst_s=args.burst_s,
        quiet_s=args.quiet_s,
        decode=not args.no_decode,
        workers=args.workers,
        settle=not args.no_settle,
    )
    print(figures.line())
    print("\n".join(figures.problems))
    return 1 if figures.problems else 0


if __name__ == "__main__":
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.exit(main())
