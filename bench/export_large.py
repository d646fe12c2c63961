"""Exporting a large incident log: 100,000 alarms, streamed, against a load-everything baseline.

    python bench/export_large.py [--alarms 100000] [--folder /tmp/nightwatch-bench-export]

1. The log is bulk-inserted with correct chain rows: each alarm's rows and, per step, its audit
   row computed with the store's own functions (payload hash, row digests of the rows as they
   were after that step, HMAC with the console's key), 1,000 alarms per transaction. Written
   through the store's tasks (one ORM transaction per step) it took 41 ms per alarm on a quiet
   machine, about 70 minutes for 100,000. `nightwatch audit verify` is run on the result (it
   must pass). Each alarm: raised, a sighting opened and closed, acknowledged, resolved (outcome,
   note); every 10th a guard dispatched and arrived; every 100th a snapshot (a real photograph,
   480x640). The log is reused by later runs (same --alarms).
2. Each export runs in a child process of its own, so its peak RSS (`ru_maxrss`) is its own:
   - streaming: `console.export.run.export_incidents` (CSV + JSON lines + snapshots + manifest),
     with its progress callback counted;
   - baseline: the naive way, `list_alarms` for the period and, per alarm, its events,
     occurrences, dispatches and snapshots into one list, then the same two files written.
   - idle: a child that imports the same modules and opens the store, nothing more.
3. Prints time, peak RSS and the ratio of the two, and checks both wrote the same incidents.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

START = datetime(2026, 10, 1, 18, 0, tzinfo=UTC)
EVERY_S = 45.0  # between alarms: 100,000 alarms take about 52 days
PER_BATCH = 1000
SITE = REPO / "tests" / "data" / "example_site" / "site.yaml"
CAMERAS = ("cam-east", "cam-west", "cam-corridor")
RULES = (("proximity", "milkmaid"), ("after_hours", "west-gallery"), ("loitering", "corridor"))
OUTCOMES = ("false_alarm", "visitor_warned", "intervention", "police_called", "other")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


# ------------------------------------------------------------------------------- the log


def _stamp(at: datetime) -> str:
    """A time as SQLAlchemy keeps it in SQLite: naive UTC text with microseconds."""
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


class _Log:
    """Writes alarms, their steps and their audit rows straight into SQLite, computing every audit
    row as `console.store.audit.append` does (payload hash, row digests, keyed hash), so that
    `nightwatch audit verify` accepts the result."""

    def __init__(self, conn: Any, keys: Any, snapshots: Path, jpeg: bytes) -> None:
        from console.store.audit import chain_head  # noqa: F401 - (the same module's rules)

        self.conn = conn
        self.keys = keys
        self.snapshots = snapshots
        self.jpeg = jpeg
        self.sha = __import__("hashlib").sha256(jpeg).hexdigest()
        row = conn.execute(
            "SELECT seq, row_hash FROM audit_log ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        self.seq, self.prev = row
        self.ids = {
            t: (conn.execute(f"SELECT MAX(id) FROM {t}").fetchone()[0] or 0)
            for t in ("alarms", "alarm_events", "alarm_occurrences", "dispatches", "snapshots")
        }
        self.rows: dict[str, list[tuple[Any, ...]]] = {}

    def _next(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    def audit(
        self,
        user: str,
        action: str,
        target: str,
        detail: dict[str, Any],
        at: datetime,
        rows: list[tuple[str, dict[str, Any]]],
    ) -> None:
        from console.store.audit import keyed_content, keyed_hash, payload_hash
        from console.store.digests import digest_values, row_key
        from console.store.tasks import canonical_json

        self.seq += 1
        detail_json = canonical_json(detail)
        digests = {row_key(t, v["id"]): digest_values(t, v) for t, v in rows}
        digests_json = canonical_json(digests)
        payload = payload_hash(detail_json, digests_json)
        row_hash = keyed_hash(
            self.keys, self.prev, keyed_content(self.seq, at, user, action, target, payload)
        )
        self.rows.setdefault("audit_log", []).append(
            (
                self.seq,
                _stamp(at),
                user,
                action,
                target,
                detail_json,
                self.prev,
                row_hash,
                payload,
                digests_json,
            )
        )
        self.prev = row_hash

    def alarm(self, n: int) -> None:
        from console.store.snapshots import snapshot_relative_path
        from console.store.tasks import iso

        at = START + timedelta(seconds=n * EVERY_S)
        camera, (rule, subject) = CAMERAS[n % 3], RULES[n % 3]
        track, user = n % 997, f"op-{n % 7}"
        severity = "high" if n % 3 == 0 else "medium"
        alarm_id = self._next("alarms")
        target = f"alarm:{alarm_id}"
        alarm = {
            "id": alarm_id,
            "camera_id": camera,
            "rule": rule,
            "subject": subject,
            "severity": severity,
            "track_id": track,
            "state": "raised",
            "raised_at": iso(at),
            "updated_at": iso(at),
            "outcome": None,
            "note": None,
            "episode_key": None,
            "snapshot_id": None,
            "replayed": False,
        }
        events: list[dict[str, Any]] = []

        def event(
            kind: str,
            when: datetime,
            who: str,
            facts: dict[str, Any],
            extra: list[tuple[str, dict[str, Any]]],
        ) -> None:
            ev = {
                "id": self._next("alarm_events"),
                "alarm_id": alarm_id,
                "kind": kind,
                "at": iso(when),
                "user": who,
                "detail": facts,
            }
            events.append(ev)
            self.audit(
                who,
                f"alarm.{kind}",
                target,
                {"event_id": ev["id"], **facts},
                when,
                [("alarms", dict(alarm)), ("alarm_events", ev), *extra],
            )

        raise_facts = {
            "camera_id": camera,
            "rule": rule,
            "subject": subject,
            "severity": severity,
            "track_id": track,
            "episode_key": None,
            "box": [100, 80, 220, 400],
        }
        event("raise", at, "system", raise_facts, [])
        occ = {
            "id": self._next("alarm_occurrences"),
            "alarm_id": alarm_id,
            "camera_id": camera,
            "track_id": track,
            "condition": None,
            "started_at": iso(at),
            "ended_at": None,
            "video_start_s": 0.0,
            "video_end_s": None,
            "closest_m": 0.5,
        }
        facts = {
            "occurrence_id": occ["id"],
            "camera_id": camera,
            "track_id": track,
            "condition": None,
            "started_at": iso(at),
            "ended_at": None,
            "closest_m": 0.5,
        }
        self.audit(
            "system", "alarm.occurrence", target, facts, at, [("alarm_occurrences", dict(occ))]
        )
        snap = None
        if n % 100 == 0:
            relative = snapshot_relative_path(alarm_id, self.sha, at)
            path = self.snapshots / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(self.jpeg)
            snap = {
                "id": self._next("snapshots"),
                "alarm_id": alarm_id,
                "path": relative,
                "sha256": self.sha,
                "taken_at": iso(at),
                "expires_at": None,
                "purged_at": None,
            }
            alarm["snapshot_id"] = snap["id"]
            self.audit(
                "system",
                "snapshot.store",
                target,
                {"snapshot_id": snap["id"], "path": relative, "sha256": self.sha},
                at,
                [("snapshots", snap), ("alarms", dict(alarm))],
            )
        ack = at + timedelta(seconds=5 + n % 240)
        alarm.update(state="acknowledged", updated_at=iso(ack))
        event("acknowledge", ack, user, {"from": "raised", "to": "acknowledged"}, [])
        end = at + timedelta(seconds=20)
        occ.update(ended_at=iso(end), video_end_s=20.0, closest_m=0.4)
        facts.update(ended_at=iso(end), closest_m=0.4)
        self.audit(
            "system",
            "alarm.occurrence",
            target,
            dict(facts),
            end,
            [("alarm_occurrences", dict(occ))],
        )
        dispatch = None
        if n % 10 == 0:
            sent, arrived = ack + timedelta(seconds=5), ack + timedelta(seconds=90)
            dispatch = {
                "id": self._next("dispatches"),
                "alarm_id": alarm_id,
                "guard_id": "g-anna",
                "post": "north stair",
                "sent_at": iso(sent),
                "arrived_at": None,
                "outcome": None,
            }
            alarm.update(state="dispatched", updated_at=iso(sent))
            event(
                "dispatch",
                sent,
                user,
                {
                    "from": "acknowledged",
                    "to": "dispatched",
                    "dispatch_id": dispatch["id"],
                    "guard_id": "g-anna",
                    "post": "north stair",
                },
                [("dispatches", dict(dispatch))],
            )
            dispatch.update(arrived_at=iso(arrived), outcome="spoken to")
            alarm.update(updated_at=iso(arrived))
            event(
                "arrive",
                arrived,
                user,
                {"dispatch_id": dispatch["id"], "guard_id": "g-anna", "outcome": "spoken to"},
                [("dispatches", dict(dispatch))],
            )
        resolved = ack + timedelta(seconds=120)
        previous = alarm["state"]
        outcome, note = OUTCOMES[n % 5], f"note {n}, all well"
        alarm.update(state="resolved", updated_at=iso(resolved), outcome=outcome, note=note)
        event(
            "resolve",
            resolved,
            user,
            {"from": previous, "to": "resolved", "outcome": outcome, "note": note},
            [],
        )

        def t(value: Any) -> Any:
            return (
                _stamp(datetime.fromisoformat(value))
                if isinstance(value, str) and value[:4].isdigit() and "T" in value
                else value
            )

        self.rows.setdefault("alarms", []).append(tuple(t(alarm[c]) for c in ALARM_COLS))
        for ev in events:
            self.rows.setdefault("alarm_events", []).append(
                (ev["id"], alarm_id, ev["kind"], t(ev["at"]), ev["user"], json.dumps(ev["detail"]))
            )
        self.rows.setdefault("alarm_occurrences", []).append(tuple(t(occ[c]) for c in OCC_COLS))
        if dispatch is not None:
            self.rows.setdefault("dispatches", []).append(tuple(t(dispatch[c]) for c in DIS_COLS))
        if snap is not None:
            self.rows.setdefault("snapshots", []).append(tuple(t(snap[c]) for c in SNAP_COLS))

    def commit(self) -> None:
        columns = {
            "alarms": ALARM_COLS,
            "alarm_events": ("id", "alarm_id", "kind", "at", "user", "detail"),
            "alarm_occurrences": OCC_COLS,
            "dispatches": DIS_COLS,
            "snapshots": SNAP_COLS,
            "audit_log": (
                "seq",
                "at",
                "user",
                "action",
                "target",
                "detail",
                "prev_hash",
                "row_hash",
                "payload_hash",
                "row_digests",
            ),
        }
        self.conn.execute("BEGIN")
        for table in (
            "snapshots",
            "alarms",
            "alarm_events",
            "alarm_occurrences",
            "dispatches",
            "audit_log",
        ):
            names = columns[table]
            marks = ", ".join("?" for _ in names)
            self.conn.executemany(
                f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})",
                self.rows.get(table, []),
            )
        self.conn.execute("COMMIT")
        self.rows.clear()


ALARM_COLS = (
    "id",
    "camera_id",
    "rule",
    "subject",
    "severity",
    "track_id",
    "state",
    "raised_at",
    "updated_at",
    "outcome",
    "note",
    "episode_key",
    "snapshot_id",
    "replayed",
)
OCC_COLS = (
    "id",
    "alarm_id",
    "camera_id",
    "track_id",
    "condition",
    "started_at",
    "ended_at",
    "video_start_s",
    "video_end_s",
    "closest_m",
)
DIS_COLS = ("id", "alarm_id", "guard_id", "post", "sent_at", "arrived_at", "outcome")
SNAP_COLS = ("id", "alarm_id", "path", "sha256", "taken_at", "expires_at", "purged_at")


def build(db: Path, alarms: int) -> float:
    import sqlite3

    import cv2

    from console.store import Store, count_alarms
    from tests.media import ultralytics_asset

    image = cv2.resize(cv2.imread(str(ultralytics_asset("bus.jpg"))), (480, 640))
    jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 80])[1].tobytes()
    started = time.perf_counter()
    with Store(f"sqlite:///{db}") as store:  # the schema, the keyed chain, its first rows
        have = store.read(count_alarms)
        keys, snapshots = store.keys, store.snapshots_dir
    assert keys is not None
    assert snapshots is not None
    if have >= alarms:
        return 0.0
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = OFF")  # alarms and their snapshots point at each other
    log = _Log(conn, keys, snapshots, jpeg)
    for n in range(have, alarms):
        log.alarm(n)
        if (n + 1) % PER_BATCH == 0 or n + 1 == alarms:
            log.commit()
            print(f"\r  log: {n + 1}/{alarms} alarms", end="", file=sys.stderr, flush=True)
    conn.close()
    print(file=sys.stderr)
    with Store(f"sqlite:///{db}"):
        pass  # a console's start and stop: the new head is signed
    return time.perf_counter() - started


# ------------------------------------------------------------------------------- the children


def child(mode: str, db: Path, out: Path) -> dict[str, Any]:
    from console.export.query import ExportFilters
    from console.site_file import load_site
    from console.store import Store

    site = load_site(SITE)
    filters = ExportFilters(START - timedelta(days=1), START + timedelta(days=400))
    started = time.perf_counter()
    if mode == "verify":
        from console.store import verify_store

        with Store(f"sqlite:///{db}", read_only=True) as reader:
            report = reader.read(verify_store, reader.keys, reader.files)
        return {
            "seconds": time.perf_counter() - started,
            "peak_rss_mb": peak_rss_mb(),
            "ok": report.ok,
            "first": str(report.first) if report.first else None,
            "audit_rows": report.rows_checked,
            "table_rows": report.rows_cross_checked,
            "files": report.files_checked,
        }
    with Store(f"sqlite:///{db}") as store:
        if mode == "idle":
            return {"seconds": 0.0, "peak_rss_mb": peak_rss_mb(), "incidents": 0}
        if mode in ("streaming", "pdf"):
            from console.export.run import ExportRequest, export_incidents

            calls = [0]

            def progress(stage: str, done: int, total: int) -> None:
                calls[0] += 1

            renderer = None
            formats: tuple[str, ...] = ("csv", "jsonl")
            if mode == "pdf":
                from ui.export_pdf import PdfReport

                renderer, formats = PdfReport(), ("csv", "jsonl", "pdf")
            result = export_incidents(
                store,
                site,
                ExportRequest(filters, formats, out, "bench", blur=True),
                progress=progress,
                renderer=renderer,
            )
            return {
                "seconds": time.perf_counter() - started,
                "peak_rss_mb": peak_rss_mb(),
                "incidents": result.incidents,
                "steps": result.steps,
                "progress_calls": calls[0],
                "bytes": sum(p.stat().st_size for p in out.rglob("*") if p.is_file()),
            }
        return naive(store, site, filters, out, started)


def naive(store: Any, site: Any, filters: Any, out: Path, started: float) -> dict[str, Any]:
    """Load every incident into memory first (the obvious way), then write the same files."""
    import csv

    from console.store import alarm_events, dispatches, list_alarms, occurrences
    from console.store.snapshots import snapshots

    def everything(session: Any) -> list[dict[str, Any]]:
        loaded = []
        for alarm in list_alarms(
            session, since=filters.since, until=filters.until, newest_first=False
        ):
            loaded.append(
                {
                    "alarm": alarm,
                    "events": alarm_events(session, alarm.id),
                    "occurrences": occurrences(session, alarm.id),
                    "dispatches": dispatches(session, alarm.id),
                    "snapshots": snapshots(session, alarm.id),
                }
            )
        return loaded

    incidents = store.read(everything)
    out.mkdir(parents=True)
    steps = 0
    with (
        (out / "incidents.csv").open("w", encoding="utf-8-sig", newline="") as csv_out,
        (out / "incidents.jsonl").open("w", encoding="utf-8") as json_out,
    ):
        writer = csv.writer(csv_out)
        for inc in incidents:
            a = inc["alarm"]
            writer.writerow(
                [
                    a.id,
                    a.raised_at.isoformat(),
                    a.camera_id,
                    a.rule,
                    a.state,
                    a.outcome,
                    a.note,
                    len(inc["events"]),
                ]
            )
            steps += len(inc["events"])
            json_out.write(
                json.dumps(
                    {
                        "alarm_id": a.id,
                        "steps": [
                            {
                                "kind": str(e.kind),
                                "at": e.at.isoformat(),
                                "user": e.user,
                                "detail": e.detail,
                            }
                            for e in inc["events"]
                        ],
                        "sightings": [
                            {"from": o.started_at.isoformat(), "closest_m": o.closest_m}
                            for o in inc["occurrences"]
                        ],
                        "dispatches": [d.guard_id for d in inc["dispatches"]],
                        "snapshots": [s.sha256 for s in inc["snapshots"]],
                    }
                )
                + "\n"
            )
    return {
        "seconds": time.perf_counter() - started,
        "peak_rss_mb": peak_rss_mb(),
        "incidents": len(incidents),
        "steps": steps,
    }


def run_child(mode: str, db: Path, out: Path, env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--db", str(db), "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{mode} child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--alarms", type=int, default=100_000)
    parser.add_argument("--folder", type=Path, default=Path("/tmp/nightwatch-bench-export"))
    parser.add_argument("--child", choices=("streaming", "baseline", "idle", "verify", "pdf"))
    parser.add_argument(
        "--pdf", action="store_true", help="also: the same export with the PDF report (Qt)"
    )
    parser.add_argument("--db", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.db, args.out)))
        return 0
    import shutil

    folder = args.folder
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "NIGHTWATCH_KEYS_DIR": str(folder / "keys"), "YOLO_OFFLINE": "1"}
    os.environ.update(env)
    db = folder / f"log-{args.alarms}.db"
    build_s = build(db, args.alarms)
    print(
        f"log: {args.alarms} alarms in {db} ({db.stat().st_size / 1e6:.0f} MB), "
        f"written in {build_s:.0f} s"
    )
    results = {}
    modes = ["idle", "verify", "streaming", "baseline"] + (["pdf"] if args.pdf else [])
    for mode in modes:
        out = folder / f"export-{mode}"
        shutil.rmtree(out, ignore_errors=True)
        results[mode] = run_child(mode, db, out, env)
        print(f"{mode}: {json.dumps(results[mode])}", flush=True)
    s, b, idle = results["streaming"], results["baseline"], results["idle"]
    assert results["verify"]["ok"], results["verify"]
    assert s["incidents"] == b["incidents"] == args.alarms, (s, b)
    assert s["steps"] == b["steps"], (s, b)
    print()
    idle_mb = idle["peak_rss_mb"]
    print(f"| {args.alarms} alarms | time | peak RSS | above an idle process ({idle_mb:.0f} MB) |")
    print("| --- | ---: | ---: | ---: |")
    for name, r in (
        ("streaming export (CSV + JSONL + manifest)", s),
        ("load everything, then write", b),
    ):
        print(
            f"| {name} | {r['seconds']:.1f} s | {r['peak_rss_mb']:.0f} MB | "
            f"{r['peak_rss_mb'] - idle['peak_rss_mb']:.0f} MB |"
        )
    if "pdf" in results:
        r = results["pdf"]
        print(
            f"| the same with the PDF report (500 incident pages, snapshots blurred) | "
            f"{r['seconds']:.1f} s | {r['peak_rss_mb']:.0f} MB | "
            f"{r['peak_rss_mb'] - idle['peak_rss_mb']:.0f} MB |"
        )
    v = results["verify"]
    print(f"progress callbacks: {s['progress_calls']}; export size {s['bytes'] / 1e6:.0f} MB")
    print(
        f"audit verify: ok, {v['audit_rows']} audit rows, {v['table_rows']} table rows, "
        f"{v['files']} files in {v['seconds']:.0f} s, peak RSS {v['peak_rss_mb']:.0f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
