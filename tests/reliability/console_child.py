"""A headless console (the real `SiteRuntime`: capture process, detector worker, core thread,
alarm manager, store writer) in a child process, driven one command a line on stdin, so that a
battery can pull its disk away under it and watch what it says.

    python -m tests.reliability.console_child SITE DB [--workers 1]

Commands: `alarm N` hands N findings to the core (as the rules hand theirs, one new subject
each) and prints `RAISED <ids>`; `flush S` waits up to S seconds for the alarm writes and prints
`FLUSHED <all written> <alarms not stored>`; `stop S` stops the runtime, closes the store with
an S-second timeout and prints `CLOSED <json>`, then the child exits 0.

It prints, as they happen: `READY` once the camera is live, `HEALTH <json>` for every change of
the store's health the runtime hears of (what the window's banner and `run --headless` show),
`ALARM <json>` when an alarm's storage state changes (unsaved writes, a refusal).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

_out = threading.Lock()


def say(line: str) -> None:
    with _out:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path)
    parser.add_argument("db", type=Path)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)

    from console.alarms import Alarm
    from console.rules import Finding
    from console.rules.details import ProximityDetail
    from console.runtime import RuntimeOptions, SiteRuntime
    from console.severity import Severity
    from console.site_file import load_site
    from console.store import Store, StoreHealth
    from inference.worker_pool import DetectorSpec

    site = load_site(args.site)
    store = Store(f"sqlite:///{args.db}")
    shown: dict[int, tuple[int, str | None]] = {}

    def on_alarm(alarm: Alarm) -> None:
        state = (alarm.unsaved, alarm.storage_fault)
        if shown.get(alarm.alarm_id) != state:
            shown[alarm.alarm_id] = state
            say(
                "ALARM "
                + json.dumps(
                    {
                        "id": alarm.alarm_id,
                        "unsaved": alarm.unsaved,
                        "fault": alarm.storage_fault,
                        "stored": alarm.stored,
                    }
                )
            )

    def on_store_health(health: StoreHealth) -> None:
        say(
            "HEALTH "
            + json.dumps({"ok": health.ok, "fault": health.fault, "pending": health.pending})
        )

    runtime = SiteRuntime(
        site,
        store,
        RuntimeOptions(detector=DetectorSpec("ssdlite"), cpu_workers=args.workers),
        on_alarm=on_alarm,
        on_store_health=on_store_health,
    )
    runtime.start()
    camera = site.cameras[0].id
    deadline = time.monotonic() + 120
    while runtime.pipeline.rings[camera].write_seq == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    say("READY")
    made = 0
    for line in sys.stdin:
        command, *rest = line.split()
        if command == "alarm":
            findings = []
            for _ in range(int(rest[0])):
                made += 1
                findings.append(
                    Finding(
                        "proximity",
                        camera,
                        f"fault-{made:04d}",
                        None,
                        Severity.HIGH,
                        runtime.clock.now(),
                        None,
                        ProximityDetail(distance_m=0.3),
                    )
                )

            def ingest(found: list[Any] = findings) -> list[Alarm]:
                return runtime.alarms.ingest(found)

            raised = runtime.core.post(ingest).result(timeout=60)
            say("RAISED " + " ".join(str(a.alarm_id) for a in raised))
        elif command == "flush":
            done = runtime.alarms.flush(timeout_s=float(rest[0]))
            unstored = [a.alarm_id for a in runtime.alarms.open_alarms() if not a.stored]
            say(f"FLUSHED {str(done).lower()} {json.dumps(unstored)}")
        elif command == "stop":
            runtime.stop()
            report = store.close(timeout_s=float(rest[0]))
            say(
                "CLOSED "
                + json.dumps(
                    {
                        "all_stored": report.all_stored,
                        "unstored": report.unstored,
                        "text": str(report),
                        "refused": runtime.alarms.unstored,
                    }
                )
            )
            return 0
    runtime.stop()
    store.close(timeout_s=5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
