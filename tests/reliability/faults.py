"""Storage faults under a running console: the database made read-only, moved away and back,
deleted, its disk filled. Used by tests/reliability/test_storage_midrun.py and
bench/reliability.py faults (which times them).

Each fault is pulled on a headless console in a child process (tests/reliability/console_child.py:
the real runtime, core thread, alarm manager and store writer; in a child so that a crash, even
a SIGBUS from SQLite's mapped index, is seen as a crash and not taken for the test runner's). It
stores alarms, the fault comes, more alarms are raised during it, the disk comes back (where it
can), and the console is stopped. Checked:

- the fault is reported (the `StoreHealth` the window's banner and `run --headless` show), naming
  the database and the reason; measured: seconds from the fault to that report;
- alarms raised during the fault are on screen (the alarm listener hears of them) with their
  writes waiting, and the console keeps running;
- once the disk is back the fault clears, every alarm is stored, the close report says so, and
  the fault itself is in the audit log after the rows it held; the chain verifies;
- a database deleted does not come back: the close report names the writes it could not store,
  and the console still exits cleanly.

"Read-only" is the database's files made unwritable while open: `chattr +i` as root (what a file
system the kernel turned read-only looks like to the writer), `chmod 0444` otherwise. A live
remount of the file system read-only is refused by the kernel while the database is open for
writing (EBUSY), so it cannot be staged under a running console.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.disks import IS_ROOT, fill, tmpfs
from tests.reliability.children import Child

CHILD = "tests.reliability.console_child"
SUFFIXES = ("", "-wal", "-shm")
FAULTS = ("read-only", "moved away and back", "deleted", "disk full")
DEADLINE_S = 90.0  # generous: the store reports within a second or two


@dataclass
class FaultRun:
    fault: str
    shown_s: float | None = None  # from the fault to the console's report of it
    cleared_s: float | None = None  # from the disk's return to the fault cleared
    before: list[int] = field(default_factory=list)  # alarms stored before the fault
    during: list[int] = field(default_factory=list)  # alarms raised during it
    message: str | None = None
    closed: dict[str, object] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        shown = "never" if self.shown_s is None else f"{self.shown_s:.2f} s"
        cleared = "-" if self.cleared_s is None else f"{self.cleared_s:.2f} s"
        return (
            f"{self.fault}: shown after {shown}, cleared {cleared} after the disk was back; "
            f"{len(self.during)} alarms during it; close: {self.closed.get('text')}; "
            f"{len(self.problems)} problems"
        )


def _chattr(flag: str, paths: list[Path]) -> bool:
    if shutil.which("chattr") is None:
        return False
    done = subprocess.run(["chattr", flag, *map(str, paths)], capture_output=True, check=False)
    return done.returncode == 0


def read_only_supported(folder: Path) -> str | None:
    """Why the read-only fault cannot be staged here, or None."""
    if not IS_ROOT:
        return None  # chmod 0444 stops a non-root writer
    probe = folder / "probe"
    folder.mkdir(parents=True, exist_ok=True)
    probe.write_text("")
    try:
        if not _chattr("+i", [probe]):
            return "as root, read-only needs chattr +i, which this file system lacks"
        _chattr("-i", [probe])
    finally:
        probe.unlink()
    return None


@contextlib.contextmanager
def _disk(folder: Path, fault: str) -> Iterator[Path]:
    """Where the database lives: a small tmpfs for a full disk (root only), else a folder."""
    if fault == "disk full":
        with tmpfs(folder / "disk", "16m") as disk:
            yield disk
    else:
        (folder / "disk").mkdir(parents=True, exist_ok=True)
        yield folder / "disk"


def pull(fault: str, db: Path) -> Callable[[], None] | None:
    """Do the fault to the database at `db`; returns how to undo it (None: it cannot be)."""
    files = [Path(f"{db}{s}") for s in SUFFIXES if Path(f"{db}{s}").exists()]
    if fault == "read-only":
        if IS_ROOT:
            if not _chattr("+i", files):
                raise RuntimeError(f"chattr +i {files} failed")

            def writable_again() -> None:
                _chattr("-i", files)

            return writable_again
        for path in files:
            path.chmod(0o444)

        def writable() -> None:
            for path in files:
                path.chmod(0o600)

        return writable
    if fault == "moved away and back":
        away = db.with_name(db.name + ".away")
        os.rename(db, away)
        return lambda: os.rename(away, db)
    if fault == "deleted":
        for path in files:
            path.unlink()
        return None
    if fault == "disk full":
        filler = fill(db.parent)
        return filler.unlink
    raise ValueError(f"unknown fault {fault!r}")


def run_fault(fault: str, folder: Path, site_path: Path, *, alarms: int = 3) -> FaultRun:
    """One console, one fault; see the module's doc for what is checked."""
    run = FaultRun(fault)
    with _disk(folder, fault) as disk:
        db = disk / "nightwatch.db"
        child = Child(CHILD, [str(site_path), str(db)], stdin=True)
        try:
            _drive(child, run, db, alarms)
        except _Stop as stop:
            run.problems.append(str(stop))
        finally:
            if child.proc.poll() is None:
                child.kill()
            else:
                child.wait(60)
        code = child.proc.returncode
        if code != 0:
            run.problems.append(f"the console exited {code}:\n{child.stderr}")
        if fault != "deleted" and db.exists():
            run.problems += _check_database(db, run)
    return run


class _Stop(Exception):
    pass


def _expect(child: Child, prefix: str, after: int, what: str) -> tuple[float, str]:
    found = child.wait_for(prefix, DEADLINE_S, after=after)
    if found is None:
        code = child.proc.poll()
        raise _Stop(f"not within {DEADLINE_S:.0f} s: {what} (console exit {code}):\n{child.stderr}")
    return found


def _raise(child: Child, alarms: int) -> list[int]:
    mark = child.mark()
    child.send(f"alarm {alarms}")
    _, line = _expect(child, "RAISED", mark, "the alarms raised")
    return [int(x) for x in line.split()[1:]]


def _drive(child: Child, run: FaultRun, db: Path, alarms: int) -> None:
    _expect(child, "READY", 0, "the console started")
    run.before = _raise(child, alarms)
    mark = child.mark()
    child.send("flush 60")
    _, flushed = _expect(child, "FLUSHED", mark, "the first alarms stored")
    if flushed != "FLUSHED true []":
        run.problems.append(f"before the fault: {flushed}")

    mark = child.mark()
    pulled_at = time.monotonic()
    undo = pull(run.fault, db)
    if run.fault == "disk full":  # a full disk is only met by a write
        pulled_at = time.monotonic()
        run.during = _raise(child, alarms)
    at, line = _expect(child, 'HEALTH {"ok": false', mark, f"the {run.fault} fault reported")
    run.shown_s = at - pulled_at
    run.message = json.loads(line.split(" ", 1)[1])["fault"]
    if str(db) not in str(run.message):
        run.problems.append(f"the fault does not name the database: {run.message}")
    if run.fault != "disk full":
        run.during = _raise(child, alarms)
    time.sleep(1.0)  # the console runs on through the fault
    if child.proc.poll() is not None:
        raise _Stop(f"the console died during the fault:\n{child.stderr}")
    mark_flush = child.mark()
    child.send("flush 0.5")
    _, waiting = _expect(child, "FLUSHED", mark_flush, "the alarms during the fault")
    held = json.loads(waiting.split(" ", 2)[2])
    if not set(run.during) <= set(held):
        run.problems.append(f"alarms reported stored while the disk was away: {waiting}")

    if undo is not None:
        mark = child.mark()
        back_at = time.monotonic()
        undo()
        at, _ = _expect(child, 'HEALTH {"ok": true', mark, "the fault cleared")
        run.cleared_s = at - back_at
        mark = child.mark()
        child.send("flush 60")
        _, flushed = _expect(child, "FLUSHED", mark, "the held alarms stored")
        if flushed != "FLUSHED true []":
            run.problems.append(f"after the disk came back: {flushed}")

    mark = child.mark()
    child.send("stop 3")
    _, closed = _expect(child, "CLOSED", mark, "the console closed")
    run.closed = json.loads(closed.split(" ", 1)[1])
    if undo is not None and not run.closed["all_stored"]:
        run.problems.append(f"after recovery the close says {run.closed['text']}")
    if undo is None:
        if run.closed["all_stored"]:
            run.problems.append("the database is gone, yet the close says every write is stored")
        elif str(db) not in str(run.closed["text"]):
            run.problems.append(f"the close report does not name the database: {run.closed}")
    child.wait(60)


def _check_database(db: Path, run: FaultRun) -> list[str]:
    """Every alarm is stored, the fault is on the record after the rows it held, and the chain
    verifies."""
    from console.store import Store, audit_entries, list_alarms, verify_chain

    problems: list[str] = []
    conn = sqlite3.connect(db)
    try:
        integrity = ";".join(r[0] for r in conn.execute("PRAGMA integrity_check"))
    finally:
        conn.close()
    if integrity != "ok":
        problems.append(f"integrity_check: {integrity}")
    with Store(f"sqlite:///{db}", read_only=True) as store:
        stored = {a.id for a in store.read(list_alarms)}
        lost = sorted(set(run.before + run.during) - stored)
        if lost:
            problems.append(f"alarms lost: {lost}")
        entries = store.read(audit_entries)
        faults = [e for e in entries if e.action == "store.fault"]
        if not faults:
            problems.append("the fault is not in the audit log")
        else:
            raised = [i for i, e in enumerate(entries) if e.target == f"alarm:{max(run.during)}"]
            if raised and entries.index(faults[-1]) < raised[0]:
                problems.append("the fault's audit row is before the rows it held")
        chain = store.read(verify_chain)
        if not chain.ok:
            problems.append(f"audit chain: {chain.reason}")
    return problems
