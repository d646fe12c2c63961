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
- audit rows per alarm, and the chain verified afterwards.

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
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from worktrees import baseline_tree  # bench/worktrees.py (this script's own folder)

HERE = Path(__file__).resolve()
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

        manager = AlarmManager(store, site, clock)
        store.flush()
        audit_before = audit_row_count(store)
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
                lambda f: render_snapshot(image, f, site),
                lambda _f: clean_snapshot(image),
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
    }
    if len(raised) != alarms:
        raise SystemExit(f"{len(raised)} alarms raised of {alarms}")
    print("RESULT " + json.dumps(result), flush=True)


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
