"""What one alarm costs the store's writer: CPU, SQL statements and audit rows, on a fast disk.

In an alarm burst on a disk that syncs at once, the writer's work runs during the burst and
comes out of detection on a 2-core machine (docs/ARCHITECTURE.md, the end of "The window and
the interpreter lock"). This isolates that work: a real `Store` (SQLite in a temporary folder on
this machine's disk) and a real `AlarmManager` on the example site; `--alarms` alarms raised,
each with its marked and clean snapshot drawn from a real frame of vtest.avi (as the core
hands them to the writer), then each acknowledged; the writer drained. No clips (they need the
recorders), no window, no detection.

Reported per tree (in its own process, alternated with `--repeat`):
- the writer thread's CPU per alarm (ms, from the kernel's counters, raise + snapshots + ack);
- SQL statements per alarm (counted by SQLAlchemy's cursor events: it moves by a tenth at most
  from run to run, with how the writer's tasks happen to group, so it shows a change in the write
  path where the CPU time is noisy);
- audit rows per alarm, and the chain verified afterwards;
- where the writer's CPU goes, per alarm (medians): each kind of task (its `run`, timed with
  the thread's CPU clock), and inside the snapshots the drawing and JPEG encoding and the file
  writing (open, write, fsync, rename); what is left over is the commits, savepoints and the
  writer's own bookkeeping.

    .venv/bin/python bench/store_writes.py [--alarms 200] [--repeat 3] [--baseline-rev REV]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from worktrees import baseline_tree  # bench/worktrees.py (this script's own folder)

HERE = Path(__file__).resolve()
ENCODING = "  of which drawing and JPEG encoding"
FILES = "  of which writing the files"
ROOT = HERE.parents[1]


def run_tree(tree: Path, alarms: int) -> dict[str, Any]:
    command = [sys.executable, str(HERE), "--child", str(tree), "--alarms", str(alarms)]
    done = subprocess.run(command, cwd=tree, capture_output=True, text=True)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return dict(json.loads(line[len("RESULT ") :]))
    raise SystemExit(f"{tree}: no result (exit {done.returncode})\n{done.stderr[-3000:]}")


def main_parent(args: argparse.Namespace) -> None:
    runs: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="nw-store-writes-") as tmp:
        trees = [("this tree", ROOT)]
        with contextlib.ExitStack() as stack:
            if args.baseline_rev:
                base = stack.enter_context(baseline_tree(args.baseline_rev, Path(tmp)))
                trees.insert(0, (f"baseline {args.baseline_rev}", base))
            for round_ in range(args.repeat):
                for name, tree in trees if round_ % 2 == 0 else reversed(trees):
                    result = run_tree(tree, args.alarms)
                    runs.setdefault(name, []).append(result)
                    print(
                        f"  {name}: {result['cpu_ms_per_alarm']:.2f} ms of the writer's CPU an "
                        f"alarm, {result['statements_per_alarm']:.1f} SQL statements, "
                        f"{result['audit_rows_per_alarm']:.1f} audit rows; drained in "
                        f"{result['drain_s']:.1f} s; chain verified: {result['chain_ok']}",
                        flush=True,
                    )
    print(f"\n{args.alarms} alarms, each with its two snapshots and its acknowledgement:")
    medians = {}
    for name, results in runs.items():
        cpu = statistics.median(r["cpu_ms_per_alarm"] for r in results)
        medians[name] = cpu
        print(
            f"  {name:<24} writer CPU {cpu:.2f} ms an alarm (median of {len(results)}), "
            f"{results[0]['statements_per_alarm']:.1f} statements, "
            f"{results[0]['audit_rows_per_alarm']:.1f} audit rows"
        )
    if len(medians) == 2:
        base, new = medians[trees[0][0]], medians["this tree"]
        print(f"  this tree / baseline: {new / base:.2f} of the CPU")
    print("\nwhere the writer's CPU goes, ms an alarm (median of the runs):")
    tasks = sorted({part for results in runs.values() for r in results for part in r["parts"]})
    parts = []
    for part in tasks:
        if part not in (ENCODING, FILES):
            parts.append(part)
            if part == "snapshot.store":  # what the snapshots' time holds
                parts += [ENCODING, FILES]
    rest = "the rest (commits, savepoints, ...)"
    print("  " + " " * 38 + "".join(f"{name[:24]:>26}" for name in runs))
    for part in [*parts, rest]:
        cells = []
        for results in runs.values():
            if part != rest:
                values = [r["parts"].get(part, 0.0) for r in results]
            else:
                values = [r["cpu_ms_per_alarm"] - r["parts_total"] for r in results]
            cells.append(f"{statistics.median(values):>26.2f}")
        print(f"  {part:<38}" + "".join(cells))


# ---------------------------------------------------------------------------------------------
# the child: one tree
# ---------------------------------------------------------------------------------------------


def main_child(tree: Path, alarms: int) -> None:
    sys.path.insert(0, str(tree))
    import psutil
    from sqlalchemy import event

    from console.alarms import AlarmManager
    from console.clock import FakeClock
    from console.rules import Finding
    from console.rules.details import ProximityDetail
    from console.runtime import clean_snapshot, render_snapshot
    from console.site_file import load_site
    from console.store import Store, verify_chain
    from tests.media import first_frames

    site = load_site(tree / "tests" / "data" / "example_site" / "site.yaml")
    camera = site.cameras[0].id
    subject = site.protected_objects[0].id if site.protected_objects else "object"
    image = first_frames("vtest.avi", 1)[0]
    start = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
    clock = FakeClock(start)
    with tempfile.TemporaryDirectory(prefix="nw-store-writes-child-") as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'alarms.db'}")
        statements = [0]

        # the writer's own connection only (reads go through another engine)
        @event.listens_for(store._writer.engine, "before_cursor_execute")
        def count(*_args: Any) -> None:
            statements[0] += 1

        writer = store.writer_thread
        if writer is None or writer.native_id is None:
            raise SystemExit("the store has no writer thread running")
        writer_id = writer.native_id
        me = psutil.Process()

        def writer_cpu() -> float:
            for thread in me.threads():
                if thread.id == writer_id:
                    return float(thread.user_time + thread.system_time)
            raise SystemExit("the store's writer thread is gone")

        parts, parts_total = timed_parts(store, writer_id)
        manager = AlarmManager(store, site, clock)
        store.flush()
        audit_before = audit_row_count(store)
        parts.clear()
        parts_total[0] = 0.0
        cpu0, statements0, began = writer_cpu(), statements[0], time.perf_counter()
        raised = []
        for i in range(alarms):
            clock.advance(1.0)
            finding = Finding(
                "proximity",
                camera,
                f"{subject}-{i:04d}",
                i,
                "high",  # type: ignore[arg-type]
                clock.now(),
                float(i),
                ProximityDetail(distance_m=0.4),
            )
            raised += manager.ingest(
                [finding],
                timed(ENCODING, parts, lambda f: render_snapshot(image, f, site)),
                timed(ENCODING, parts, lambda _f: clean_snapshot(image)),
            )
        for alarm in raised:
            manager.acknowledge(alarm.alarm_id, "bench-monitor")
        if not store.flush(timeout_s=300):
            raise SystemExit("the writer did not drain in 300 s")
        drain_s = time.perf_counter() - began
        cpu1, statements1 = writer_cpu(), statements[0]
        audit_rows = audit_row_count(store) - audit_before
        report = store.read(verify_chain)
        store.close()
    result = {
        "alarms": len(raised),
        "cpu_ms_per_alarm": (cpu1 - cpu0) * 1000 / max(len(raised), 1),
        "statements_per_alarm": (statements1 - statements0) / max(len(raised), 1),
        "audit_rows_per_alarm": audit_rows / max(len(raised), 1),
        "drain_s": drain_s,
        "chain_ok": bool(report.ok),
        "parts": {name: seconds * 1000 / max(len(raised), 1) for name, seconds in parts.items()},
        "parts_total": parts_total[0] * 1000 / max(len(raised), 1),
    }
    if len(raised) != alarms:
        raise SystemExit(f"{len(raised)} alarms raised of {alarms}")
    print("RESULT " + json.dumps(result), flush=True)


class _TimedTask:
    """A write task as the store sees it (its name and `run`), with the writer thread's CPU
    time in its `run` added to `parts[name]` (and to `total[0]`: the tasks' sum)."""

    def __init__(self, task: Any, parts: dict[str, float], total: list[float]) -> None:
        self.task, self.name, self.parts, self.total = task, task.name, parts, total

    def run(self, session: Any, files: Any) -> Any:
        began = time.thread_time()
        try:
            return self.task.run(session, files)
        finally:
            spent = time.thread_time() - began
            self.parts[self.name] = self.parts.get(self.name, 0.0) + spent
            self.total[0] += spent


def timed_parts(store: Any, writer_id: int) -> tuple[dict[str, float], list[float]]:
    """Time every task written to `store` by kind, and the file writes inside them (on the
    writer thread only), from now on: (CPU seconds by part, [the tasks' sum])."""
    from console.store import StoreFiles

    parts: dict[str, float] = {}
    total = [0.0]
    write = store.write
    store.write = lambda task: write(_TimedTask(task, parts, total))
    write_file = StoreFiles.write_file

    def timed_write_file(files: Any, relative: Any, data: bytes) -> Any:
        if threading.get_native_id() != writer_id:
            return write_file(files, relative, data)
        began = time.thread_time()
        try:
            return write_file(files, relative, data)
        finally:
            parts[FILES] = parts.get(FILES, 0.0) + time.thread_time() - began

    StoreFiles.write_file = timed_write_file  # this child process only
    return parts, total


def timed(name: str, parts: dict[str, float], make: Any) -> Any:
    """A snapshot maker (called on the writer thread) whose CPU time is added to `parts`."""

    def maker(finding: Any) -> Any:
        began = time.thread_time()
        try:
            return make(finding)
        finally:
            parts[name] = parts.get(name, 0.0) + time.thread_time() - began

    return maker


def audit_row_count(store: Any) -> int:
    from sqlalchemy import func, select

    from console.store.models import AuditRecord

    return int(store.read(lambda session: session.scalar(select(func.count(AuditRecord.seq)))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--alarms", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline-rev", default="", help="a commit to compare with")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        main_child(Path(args.child), args.alarms)
    else:
        main_parent(args)


if __name__ == "__main__":
    main()
