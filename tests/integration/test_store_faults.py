"""Storage faults on real files and real processes: a full disk holds writes and lands them in
order when space returns; close tells how many writes it could not store; a read-only database is
refused at open; a database deleted or replaced mid-run is a fault, not success; a `-shm` made
read-only is a fault, not a SIGBUS; one console per database.

A full disk is made without root by a child process whose file-size limit (RLIMIT_FSIZE, with
SIGXFSZ ignored) stops every file at its current size, and as root by a small tmpfs filled to the
brim. Tests that need root or a feature the machine lacks skip with the reason.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from console.store import (
    AppendAudit,
    RaiseAlarm,
    Store,
    StoreHealth,
    StoreLockedError,
    StoreSnapshot,
    StoreWriteError,
    audit_entries,
    get_alarm,
    list_alarms,
    verify_chain,
)
from console.store.snapshots import snapshots
from tests.disks import IS_ROOT, fill, tmpfs

REPO = Path(__file__).resolve().parents[2]
JPEG = b"\xff\xd8\xff\xe0" + b"nightwatch test frame" * 10 + b"\xff\xd9"
DEADLINE_S = 60.0  # generous: the store reports within a second or two


def poll(condition: Callable[[], bool], what: str, deadline_s: float = DEADLINE_S) -> None:
    end = time.monotonic() + deadline_s
    while not condition():
        if time.monotonic() > end:
            pytest.fail(f"not within {deadline_s:.0f} s: {what}")
        time.sleep(0.05)


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}


def chattr(flag: str, *paths: Path) -> bool:
    if shutil.which("chattr") is None:
        return False
    done = subprocess.run(["chattr", flag, *map(str, paths)], capture_output=True, check=False)
    return done.returncode == 0


# ----------------------------------------------------------------------------- a full disk

# A console process under test, told by its parent (one command a line on stdin) to fill its
# disk (a file-size limit of 0: every write fails with EFBIG, which SQLite reports as a disk I/O
# error; a real full disk is the tmpfs test below), queue alarms, give the space back, wait,
# close. It prints each fault change and what it stored.
DISK_CHILD = textwrap.dedent(
    """
    import json, resource, signal, sys
    from console.store import RaiseAlarm, Store

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
    db = sys.argv[1]
    store = Store("sqlite:///" + db)
    store.add_fault_listener(lambda h: print(
        "HEALTH", json.dumps({"ok": h.ok, "fault": h.fault, "pending": h.pending}), flush=True))
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    futures = []
    print("READY", flush=True)
    for line in sys.stdin:
        cmd, *args = line.split()
        if cmd == "fill":  # no byte may be written to any file from now on
            resource.setrlimit(resource.RLIMIT_FSIZE, (0, hard))
        elif cmd == "free":
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        elif cmd == "raise":
            first, count = int(args[0]), int(args[1])
            for alarm_id in range(first, first + count):
                futures.append(store.write(RaiseAlarm(
                    alarm_id, "cam-1", "proximity", "high", detail={"pad": "x" * 1500})))
            print("QUEUED", flush=True)
        elif cmd == "wait":
            print("STORED", json.dumps([f.result() for f in futures]), flush=True)
        elif cmd == "close":
            report = store.close(timeout_s=float(args[0]))
            failed = [type(f.exception()).__name__ for f in futures if f.exception()]
            print("CLOSED", json.dumps({"all_stored": report.all_stored,
                                        "unstored": report.unstored,
                                        "tasks": list(report.unstored_tasks),
                                        "text": str(report), "failed": failed}), flush=True)
            break
    """
)


class Console:
    """The child above, driven line by line."""

    def __init__(self, tmp_path: Path, db: Path) -> None:
        script = tmp_path / "console_child.py"
        script.write_text(DISK_CHILD)
        self.proc = subprocess.Popen(
            [sys.executable, str(script), str(db)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env(),
            text=True,
        )
        self.healths: list[dict[str, object]] = []
        self.expect("READY")

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def expect(self, word: str) -> str:
        """Lines until one starts with `word` (fault changes are kept); returns its rest."""
        assert self.proc.stdout is not None
        while True:
            line = self.proc.stdout.readline()
            if not line:
                _, err = self.proc.communicate(timeout=30)
                pytest.fail(
                    f"the console exited ({self.proc.returncode}) waiting for {word}:\n{err}"
                )
            head, _, rest = line.rstrip("\n").partition(" ")
            if head == "HEALTH":
                self.healths.append(json.loads(rest))
            if head == word:
                return rest

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate(timeout=30)


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Callable[[Path], Console]]:
    made: list[Console] = []

    def start(db: Path) -> Console:
        made.append(Console(tmp_path, db))
        return made[-1]

    yield start
    for c in made:
        c.stop()


@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="needs RLIMIT_FSIZE (POSIX)")
def test_disk_full_holds_writes_and_lands_them_in_order_when_space_returns(
    tmp_path: Path, console: Callable[[Path], Console]
) -> None:
    db = tmp_path / "data" / "nightwatch.db"
    child = console(db)
    child.send("fill")
    child.send("raise 100 12")
    child.expect("QUEUED")
    fault = child.expect("HEALTH")
    first = child.healths[0]
    assert first["ok"] is False
    assert str(first["fault"]).startswith(f"cannot write {db}: ")
    assert "alarm.raise" in str(first["fault"])
    assert "held and retried" in str(first["fault"])
    assert int(first["pending"]) >= 1  # type: ignore[call-overload]
    assert fault
    child.send("free")
    child.send("wait")
    stored = json.loads(child.expect("STORED"))
    assert stored == list(range(100, 112))  # every alarm, none failed
    assert child.healths[-1]["ok"] is True  # the fault cleared
    child.send("close 10")
    closed = json.loads(child.expect("CLOSED"))
    assert closed["all_stored"] is True
    assert closed["text"] == "every write is stored"
    with Store(f"sqlite:///{db}", read_only=True) as store:
        raised = [e for e in store.read(audit_entries) if e.action == "alarm.raise"]
        assert [e.target for e in raised] == [f"alarm:{n}" for n in range(100, 112)]  # in order
        assert [a.id for a in store.read(list_alarms, newest_first=False)] == stored
        assert store.read(verify_chain).ok


@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="needs RLIMIT_FSIZE (POSIX)")
def test_close_under_a_persisting_fault_names_every_write_it_could_not_store(
    tmp_path: Path, console: Callable[[Path], Console]
) -> None:
    db = tmp_path / "data" / "nightwatch.db"
    child = console(db)
    child.send("fill")
    child.send("raise 100 5")
    child.expect("QUEUED")
    child.expect("HEALTH")
    assert child.healths[0]["ok"] is False
    child.send("close 1")
    closed = json.loads(child.expect("CLOSED"))
    assert closed["all_stored"] is False
    assert closed["unstored"] == 5
    assert closed["tasks"] == ["alarm.raise"] * 5
    assert closed["failed"] == ["StoreWriteError"] * 5
    assert closed["text"].startswith("5 writes NOT stored (alarm.raise x5): cannot write ")
    assert str(db) in closed["text"]
    assert child.proc.wait(timeout=60) == 0
    with Store(f"sqlite:///{db}", read_only=True) as store:
        assert not {a.id for a in store.read(list_alarms)} & set(range(100, 105))
        assert store.read(verify_chain).ok


def test_a_full_tmpfs_holds_alarms_and_snapshots_until_space_returns(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk", "1m") as disk:
        db = disk / "nightwatch.db"
        heard: list[StoreHealth] = []
        store = Store(f"sqlite:///{db}")
        try:
            store.add_fault_listener(heard.append)
            filler = fill(disk)
            futures = []
            for alarm_id in range(100, 106):
                futures.append(store.write(RaiseAlarm(alarm_id, "cam-1", "proximity", "high")))
                futures.append(store.write(StoreSnapshot(alarm_id, lambda: JPEG)))
            poll(lambda: not store.health().ok, "the full disk reported as a fault")
            health = store.health()
            assert health.fault is not None
            assert "the disk is full" in health.fault
            assert health.pending >= 1
            assert not futures[-1].done()  # held, not dropped
            filler.unlink()  # the space comes back
            results = [f.result(timeout=DEADLINE_S) for f in futures]
            poll(lambda: store.health().ok, "the fault cleared")
            assert [r for r in results[::2]] == list(range(100, 106))
            for alarm_id in range(100, 106):
                [snap] = store.read(snapshots, alarm_id)
                assert store.snapshot_path(snap).read_bytes() == JPEG
                assert store.read(get_alarm, alarm_id).snapshot_id == snap.id
            raised = [e.target for e in store.read(audit_entries) if e.action == "alarm.raise"]
            assert raised == [f"alarm:{n}" for n in range(100, 106)]
            assert store.read(verify_chain).ok
        finally:
            assert store.close(timeout_s=10).all_stored
        assert heard[0].ok is False
        assert heard[-1].ok


# ----------------------------------------------------------------------------- read-only


def _made(db: Path) -> None:
    with Store(f"sqlite:///{db}") as s:
        s.write(AppendAudit("ana", "login")).result()


@pytest.mark.parametrize("how", ["read-only file system", "immutable file", "file mode 0444"])
def test_a_read_only_database_is_refused_at_open_naming_it(tmp_path: Path, how: str) -> None:
    db = tmp_path / "disk" / "nightwatch.db"
    with contextlib.ExitStack() as undo:
        if how == "read-only file system":
            undo.enter_context(tmpfs(tmp_path / "disk", "4m"))
            _made(db)
            subprocess.run(["mount", "-o", "remount,ro", str(db.parent)], check=True)
            expected = "the file system is read-only"
        elif how == "immutable file":
            if not IS_ROOT:
                pytest.skip("chattr +i needs root")
            _made(db)
            if not chattr("+i", db):
                pytest.skip("this file system has no immutable flag")
            undo.callback(chattr, "-i", db)
            expected = "immutable"
        else:
            if IS_ROOT:
                pytest.skip("root writes a 0444 file anyway")
            _made(db)
            db.chmod(0o444)
            undo.callback(db.chmod, 0o600)
            expected = "permission denied"
        with pytest.raises(StoreWriteError) as err:
            Store(f"sqlite:///{db}")
        message = str(err.value)
        assert str(db) in message
        assert expected in message
        with Store(f"sqlite:///{db}", read_only=True) as reader:  # an auditor still reads it
            assert [e.action for e in reader.read(audit_entries)][-1] == "login"
            assert reader.read(verify_chain).ok


# ----------------------------------------------------------------------------- mid-run


def test_database_folder_deleted_mid_run_is_a_fault_and_close_says_what_was_lost(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "data"
    store = Store(f"sqlite:///{folder / 'nightwatch.db'}")
    heard: list[StoreHealth] = []
    store.add_fault_listener(heard.append)
    store.write(RaiseAlarm(None, "cam-1", "proximity", "high")).result()
    shutil.rmtree(folder)
    poll(lambda: not store.health().ok, "the deleted folder reported")
    health = store.health()
    assert health.fault == (
        f"cannot write {folder / 'nightwatch.db'}: the database folder {folder} was deleted"
    )
    assert health.since is not None
    assert store.flush(timeout_s=DEADLINE_S)  # nothing is waiting: a flush passes the fault
    held = store.write(RaiseAlarm(None, "cam-2", "proximity", "high"))
    poll(lambda: store.health().pending == 1, "the alarm held, not written into a deleted file")
    assert not store.flush(timeout_s=0.2)  # the fault persists: it cannot have landed
    assert not held.done()
    report = store.close(timeout_s=0.5)
    assert not report.all_stored
    assert report.unstored_tasks == ("alarm.raise",)
    assert report.fault == health.fault
    assert str(report) == f"1 write NOT stored (alarm.raise): {health.fault}"
    with pytest.raises(StoreWriteError, match="was not stored"):
        held.result()
    assert heard[0].fault == health.fault
    assert store.health().unstored == 1


def test_database_file_replaced_mid_run_is_a_fault(tmp_path: Path) -> None:
    db = tmp_path / "nightwatch.db"
    store = Store(f"sqlite:///{db}")
    try:
        store.write(RaiseAlarm(None, "cam-1", "proximity", "high")).result()
        stranger = tmp_path / "restored.db"
        shutil.copyfile(db, stranger)
        os.replace(stranger, db)
        poll(lambda: not store.health().ok, "the replaced file reported")
        assert store.health().fault == (
            f"cannot write {db}: the database file was replaced by another file"
        )
    finally:
        report = store.close(timeout_s=0.5)
    assert report.all_stored  # nothing was queued


IMMUTABLE_SHM_CHILD = textwrap.dedent(
    """
    import os, subprocess, sys, time
    from console.store import AppendAudit, Store, StoreError, audit_entries

    db = sys.argv[1]
    store = Store("sqlite:///" + db)
    store.write(AppendAudit("ana", "before")).result()
    os.sync()  # the -shm pages are clean now: the next write to them asks the file system
    subprocess.run(["chattr", "+i", db + "-shm"], check=True)
    try:
        held = store.write(AppendAudit("ana", "while read-only"))
        end = time.monotonic() + 60
        while store.health().ok and time.monotonic() < end:
            time.sleep(0.05)
        print("FAULT", store.health().fault, flush=True)
        print("HELD", store.health().pending, held.done(), flush=True)
        try:
            store.read(audit_entries)
            print("READ allowed", flush=True)
        except StoreError as exc:
            print("READ refused:", exc, flush=True)
    finally:
        subprocess.run(["chattr", "-i", db + "-shm"], check=True)
    print("STORED", held.result(timeout=60).action, flush=True)
    print("CLOSED", store.close(timeout_s=10), flush=True)
    """
)


def test_an_index_file_made_read_only_is_a_fault_not_a_sigbus(tmp_path: Path) -> None:
    if not IS_ROOT:
        pytest.skip("chattr +i needs root")
    probe = tmp_path / "probe"
    probe.write_text("")
    if not chattr("+i", probe):
        pytest.skip("this file system has no immutable flag")
    chattr("-i", probe)
    script = tmp_path / "child.py"
    script.write_text(IMMUTABLE_SHM_CHILD)
    db = tmp_path / "nightwatch.db"
    done = subprocess.run(
        [sys.executable, str(script), str(db)],
        capture_output=True,
        text=True,
        env=env(),
        timeout=300,
        check=False,
    )
    # SQLite alone dies here of SIGBUS (-7): its write to the mapped -shm page is refused.
    assert done.returncode == 0, done.stderr
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    assert lines["FAULT"] == f"cannot write {db}-shm: the file is marked immutable (chattr +i)"
    assert lines["HELD"] == "1 False"
    assert lines["READ"].startswith(f"refused: cannot write {db}-shm: ")
    assert lines["STORED"] == "while read-only"
    assert lines["CLOSED"] == "every write is stored"


TRUNCATED_SHM_CHILD = textwrap.dedent(
    """
    import os, sys
    from console.store import AppendAudit, Store, audit_entries, verify_chain

    db = sys.argv[1]
    store = Store("sqlite:///" + db)
    heard = []
    store.add_fault_listener(heard.append)
    for n in range(50):
        store.write(AppendAudit("ana", "before", str(n))).result()
    os.truncate(db + "-shm", 0)  # what another program did to the mapped index
    print("WRITE", store.write(AppendAudit("ana", "after", "x")).result(timeout=60).action)
    print("READ", len(store.read(audit_entries)), store.read(verify_chain).ok)
    print("HEARD", [h.ok for h in heard])
    print("FAULT", heard[0].fault)
    print("CLOSED", store.close(timeout_s=10))
    """
)


def test_an_index_file_cut_short_is_made_whole_not_a_sigbus(tmp_path: Path) -> None:
    script = tmp_path / "child.py"
    script.write_text(TRUNCATED_SHM_CHILD)
    db = tmp_path / "nightwatch.db"
    done = subprocess.run(
        [sys.executable, str(script), str(db)],
        capture_output=True,
        text=True,
        env=env(),
        timeout=300,
        check=False,
    )
    # SQLite alone dies here of SIGBUS (-7) at its next touch of the mapped index.
    assert done.returncode == 0, done.stderr
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    assert lines["WRITE"] == "after"
    # audit.keyed, store.open, 50 before, 1 after: nothing lost
    assert lines["READ"] == "53 True"
    assert lines["HEARD"] == "[False, True]"
    assert lines["FAULT"].startswith(f"cannot write {db}-shm: another program cut the database's")
    assert lines["CLOSED"] == "every write is stored"


# ----------------------------------------------------------------------------- one console


LOCK_HOLDER = textwrap.dedent(
    """
    import sys
    from console.store import Store

    store = Store("sqlite:///" + sys.argv[1])
    print("READY", flush=True)
    sys.stdin.readline()
    """
)


def test_one_console_per_database_and_a_dead_consoles_lock_is_taken_over(tmp_path: Path) -> None:
    db = tmp_path / "nightwatch.db"
    script = tmp_path / "nightwatch-run.py"
    script.write_text(LOCK_HOLDER)
    holder = subprocess.Popen(
        [sys.executable, str(script), str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env(),
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "READY"
        with pytest.raises(StoreLockedError) as err:
            Store(f"sqlite:///{db}")
        message = str(err.value)
        assert message.startswith(f"{db} is in use by nightwatch pid {holder.pid} ")
        assert f"(nightwatch-run.py {db})" in message
        with Store(f"sqlite:///{db}", read_only=True) as reader:  # readers are welcome
            opened = reader.read(audit_entries, action="store.open")
            assert opened[0].detail["pid"] == holder.pid
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
    lock = db.with_name("nightwatch.db.lock")
    assert json.loads(lock.read_text())["pid"] == holder.pid  # the dead console's, left behind
    with Store(f"sqlite:///{db}"):  # taken over
        assert json.loads(lock.read_text())["pid"] == os.getpid()
        with pytest.raises(StoreLockedError, match=f"pid {os.getpid()} "):
            Store(f"sqlite:///{db}")  # a second store in this very process is refused too
    assert lock.read_text() == ""  # released at close
    with Store(f"sqlite:///{db}") as again:
        assert again.health().ok


def test_the_lock_holds_across_threads_of_one_process(tmp_path: Path) -> None:
    db = tmp_path / "nightwatch.db"
    refused: list[BaseException] = []
    with Store(f"sqlite:///{db}"):

        def second() -> None:
            try:
                Store(f"sqlite:///{db}")
            except StoreLockedError as exc:
                refused.append(exc)

        t = threading.Thread(target=second)
        t.start()
        t.join()
    assert len(refused) == 1
