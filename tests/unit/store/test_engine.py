"""`Store` on real SQLite files: opening and migrating, settings, the one writer thread under
concurrent callers, reads, close, and write failures that must surface."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from datetime import datetime
from pathlib import Path
from typing import ClassVar

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from console.store import (
    AddAlarmEvent,
    AlarmIdTakenError,
    AlarmState,
    AppendAudit,
    RaiseAlarm,
    Store,
    StoreClosedError,
    StoreError,
    StoreFiles,
    StoreHealth,
    StoreSnapshot,
    StoreWriteError,
    audit_entries,
    count_alarms,
    get_alarm,
    list_alarms,
    upgrade_to_head,
    verify_chain,
)
from console.store.migrations import head_revision
from console.store.models import Base
from tests.unit.store.support import JPEG, T0, raw, url_of, writer_threads

# what a killed console leaves in `<database>.lock` (a clean close empties the file)
KILLED_HOLDER = (
    '{"pid": 999999, "command": "nightwatch run site.yaml", "host": "desk", '
    '"since": "2026-11-30T03:00:00+00:00"}\n'
)

TABLES = {
    "alarms",
    "alarm_events",
    "dispatches",
    "snapshots",
    "users",
    "shifts",
    "config_changes",
    "audit_log",
}


def raise_alarm(store: Store, camera_id: str = "cam-1", **kw: object) -> int:
    return store.write(RaiseAlarm(None, camera_id, "proximity", "high", **kw)).result()  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- opening


def test_fresh_file_is_migrated_to_head_and_reopens(db_path: Path) -> None:
    with Store(url_of(db_path)) as s:
        alarm_id = raise_alarm(s, subject="milkmaid")
    tables = set(inspect(create_engine(url_of(db_path))).get_table_names())
    assert tables >= TABLES | {"alembic_version"}
    with raw(db_path) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [
            (head_revision(),)
        ]
    with Store(url_of(db_path)) as again:  # re-open: migrations are a no-op, data stays
        assert again.read(get_alarm, alarm_id).subject == "milkmaid"
    assert upgrade_to_head(url_of(db_path)) == head_revision()


def test_models_match_the_migrations(db_path: Path) -> None:
    db_path.parent.mkdir()
    upgrade_to_head(url_of(db_path))
    engine = create_engine(url_of(db_path))
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    engine.dispose()


def test_sqlite_settings_wal_full_foreign_keys(store: Store, db_path: Path) -> None:
    settings = store.settings()
    assert settings["journal_mode"] == "wal"
    assert settings["synchronous"] == 2  # FULL
    assert settings["foreign_keys"] == 1
    assert int(settings["busy_timeout"]) > 0
    assert store.snapshots_dir == db_path.parent / "snapshots"
    assert store.db_path == db_path
    assert store.dialect == "sqlite"
    assert store.url == url_of(db_path)


def test_half_written_files_a_killed_console_left_are_removed_at_the_next_open(
    db_path: Path,
) -> None:
    """A SIGKILL between writing a snapshot's `.part` and renaming it leaves the part behind:
    the next console to open the store removes it (the kill battery counted 5 after 200
    kills), and leaves recorded files and anything written after it opened."""
    with Store(url_of(db_path)) as s:
        alarm_id = raise_alarm(s)
        record = s.write(StoreSnapshot(alarm_id, JPEG, taken_at=T0)).result()
        assert record is not None
        recorded = s.snapshot_path(record)
        day = s.snapshots_dir / "2026" / "11" / "30"
    day.mkdir(parents=True, exist_ok=True)
    clips = day.parent.parent.parent / "clips" / "2026" / "11" / "30"
    clips.mkdir(parents=True)
    left = [day / "alarm-7-010203000000-0123456789ab.jpg.part", clips / "alarm-7-cam.mkv.part"]
    for path in left:
        path.write_bytes(b"half")
        os.utime(path, (1_700_000_000, 1_700_000_000))
    later = day / "alarm-8-010203000000-0123456789ab.jpg.part"
    later.write_bytes(b"being written")
    os.utime(later, (4_000_000_000, 4_000_000_000))  # written after the store opened
    lock = db_path.with_name(db_path.name + ".lock")
    lock.write_text(KILLED_HOLDER)  # the killed console's record, never emptied by a release
    with Store(url_of(db_path)) as again:
        assert again.flush(30)
        assert not any(p.exists() for p in left)
        assert recorded.read_bytes() == JPEG
        assert later.exists()


def test_snapshots_a_killed_console_wrote_but_never_recorded_are_removed_at_the_next_open(
    db_path: Path,
) -> None:
    """A SIGKILL after a snapshot's rename and before its row's commit leaves a whole JPEG
    that no row, export or chain entry names (the kill battery counted 14 after 200 kills).
    The next console removes those, and nothing else: not a recorded snapshot, not a file
    named otherwise (a clip, a walk test's evidence), not one written after it opened."""
    with Store(url_of(db_path)) as s:
        alarm_id = raise_alarm(s)
        annotated = s.write(StoreSnapshot(alarm_id, JPEG, taken_at=T0)).result()
        clean = s.write(StoreSnapshot(alarm_id, JPEG, taken_at=T0, kind="clean")).result()
        assert annotated is not None
        assert clean is not None
        kept = [s.snapshot_path(annotated), s.snapshot_path(clean)]
        day = s.snapshots_dir / "2026" / "11" / "30"
    day.mkdir(parents=True, exist_ok=True)
    unrecorded = [
        day / "alarm-6-010203000000-0123456789ab.jpg",
        day / "alarm-6-010203000000-clean-0123456789ab.jpg",
    ]
    others = [
        day / "walk-test-entrance.jpg",  # not a snapshot's name
        s.snapshots_dir / "alarm-6-010203000000-0123456789ab.jpg",  # not in a day folder
        s.snapshots_dir / "clips" / "2026" / "11" / "30" / "alarm-6-cam-1-010203000000.mkv",
    ]
    for path in unrecorded + others:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(JPEG)
        os.utime(path, (1_700_000_000, 1_700_000_000))
    later = day / "alarm-9-010203000000-0123456789ab.jpg"  # a live write's, after the opening
    later.write_bytes(JPEG)
    os.utime(later, (4_000_000_000, 4_000_000_000))
    db_path.with_name(db_path.name + ".lock").write_text(KILLED_HOLDER)
    with Store(url_of(db_path)) as again:
        assert again.flush(30)
        assert [p.exists() for p in unrecorded] == [False, False]
        assert all(p.read_bytes() == JPEG for p in kept + others + [later])
        assert again.read(verify_chain).ok


def test_after_a_clean_close_the_file_area_is_not_walked(db_path: Path) -> None:
    """Only a console that did not close the store can have left half-written files: after a
    clean close the next open does not walk the file area (years of snapshots) for them."""
    with Store(url_of(db_path)) as s:
        raise_alarm(s)
        part = s.snapshots_dir / "2026" / "11" / "30" / "alarm-7-0102-0123456789ab.jpg.part"
    part.parent.mkdir(parents=True, exist_ok=True)
    part.write_bytes(b"half")
    os.utime(part, (1_700_000_000, 1_700_000_000))
    assert db_path.with_name(db_path.name + ".lock").read_bytes() == b""  # released cleanly
    with Store(url_of(db_path)) as again:
        assert again.flush(30)
        assert part.exists()


def test_default_location_is_the_user_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    with Store() as s:
        s.write(RaiseAlarm(None, "cam-1", "after_hours", "medium")).result()
        assert s.db_path == tmp_path / "xdg" / "nightwatch" / "nightwatch.db"
    assert (tmp_path / "xdg" / "nightwatch" / "nightwatch.db").is_file()


def test_in_memory_url_works_for_quick_tools() -> None:
    with Store("sqlite://") as s:
        alarm_id = raise_alarm(s)
        assert s.read(get_alarm, alarm_id).state is AlarmState.RAISED
        assert s.read(verify_chain).ok


def test_unwritable_database_folder_names_it(tmp_path: Path) -> None:
    blocker = tmp_path / "plain-file"
    blocker.write_text("")
    with pytest.raises(StoreWriteError, match="plain-file"):
        Store(url_of(blocker / "sub" / "nw.db"))


# ----------------------------------------------------------------------------- write and read


@pytest.fixture
def bare_task() -> type:
    class CountTables:
        """A task of its own: anything with a name and run(session, files)."""

        name: ClassVar[str] = "test.count"

        def run(self, session: Session, files: StoreFiles) -> int:
            assert isinstance(files, StoreFiles)
            return session.execute(text("SELECT count(*) FROM sqlite_master")).scalar_one()

    return CountTables


def test_write_returns_a_future_of_the_tasks_result(store: Store, bare_task: type) -> None:
    future = store.write(bare_task())
    assert isinstance(future, Future)
    assert future.result() >= len(TABLES)
    alarm_future = store.write(RaiseAlarm(None, "cam-1", "proximity", "high"))
    assert isinstance(alarm_future, Future)
    assert store.read(get_alarm, alarm_future.result()).camera_id == "cam-1"


def test_read_passes_arguments_and_keywords(store: Store) -> None:
    ids = [raise_alarm(store, camera_id=f"cam-{n}") for n in range(3)]
    assert [a.id for a in store.read(list_alarms, camera_id="cam-1")] == [ids[1]]
    assert store.read(get_alarm, ids[2]).camera_id == "cam-2"
    assert store.read(count_alarms) == 3


def test_a_failing_task_stores_nothing_of_itself_and_the_next_one_runs(store: Store) -> None:
    class HalfThenFail:
        name: ClassVar[str] = "test.half"

        def run(self, session: Session, files: StoreFiles) -> None:
            RaiseAlarm(None, "cam-9", "proximity", "high").run(session, files)
            raise ValueError("changed my mind")

    with pytest.raises(ValueError, match="changed my mind"):
        store.write(HalfThenFail()).result()
    assert store.read(count_alarms) == 0  # the half-done alarm was rolled back
    assert raise_alarm(store) == 1
    assert store.read(verify_chain).ok


def test_tasks_are_checked_when_made_not_when_written() -> None:
    with pytest.raises(ValueError, match="naive"):
        RaiseAlarm(None, "cam-1", "proximity", "low", raised_at=datetime(2025, 3, 1, 22))
    with pytest.raises(TypeError):
        AppendAudit("ana", "odd", detail={"x": object()})


def test_a_task_keeps_the_detail_it_was_given(store: Store) -> None:
    detail = {"seen": "north door"}
    task = AppendAudit("ana", "note", "door:north", detail)
    detail["seen"] = "changed after queueing"
    assert store.write(task).result().detail == {"seen": "north door"}


def test_flush_waits_for_everything_queued_before(store: Store) -> None:
    futures = [store.write(AppendAudit("ana", "view", f"alarm:{n}")) for n in range(30)]
    assert store.flush(timeout_s=60)
    assert all(f.done() for f in futures)


def test_close_drains_the_queue_and_joins_the_writer(db_path: Path) -> None:
    before = len(writer_threads())
    s = Store(url_of(db_path))
    assert len(writer_threads()) == before + 1
    futures = [
        s.write(RaiseAlarm(None, "cam-1", "loitering", "low", track_id=i)) for i in range(50)
    ]
    s.close()
    assert s.closed
    assert len(writer_threads()) == before
    ids = [f.result() for f in futures]  # all written, none cancelled
    with pytest.raises(StoreClosedError):
        s.write(RaiseAlarm(None, "cam-1", "loitering", "low"))
    with pytest.raises(StoreClosedError):
        s.read(count_alarms)
    s.close()  # twice is harmless
    with Store(url_of(db_path)) as again:
        assert sorted(a.id for a in again.read(list_alarms)) == sorted(ids)


# ----------------------------------------------------------------------------- concurrency


def test_concurrent_callers_share_one_writer_and_never_meet_a_locked_database(
    db_path: Path,
) -> None:
    threads, per_thread = 8, 25
    store = Store(url_of(db_path))
    errors: list[BaseException] = []
    made: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def work(worker: int) -> None:
        try:
            start.wait()
            for n in range(per_thread):
                alarm_id = raise_alarm(store, camera_id=f"cam-{worker}", track_id=n)
                store.write(AddAlarmEvent(alarm_id, "comment", f"user-{worker}", {"n": n}))
                store.write(AppendAudit(f"user-{worker}", "view", f"alarm:{alarm_id}")).result()
                store.read(list_alarms, camera_id=f"cam-{worker}", limit=5)
                with lock:
                    made.append(alarm_id)
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    store.close()
    assert errors == []
    total = threads * per_thread
    assert len(set(made)) == total
    with Store(url_of(db_path)) as s:
        assert s.read(count_alarms) == total
        result = s.read(verify_chain)
        assert result.ok, result.reason
        # raise + comment + view per alarm, one store.open row per opening, and the row that
        # keyed the chain at the first opening
        assert result.rows_checked == 3 * total + 3


# ----------------------------------------------------------------------------- failures


def test_a_full_database_holds_the_write_and_retries_it_in_order(db_path: Path) -> None:
    heard: list[StoreHealth] = []
    with Store(url_of(db_path)) as s:
        s.add_fault_listener(heard.append)

        # Cap the file near its current size on the writer's connection: SQLite then reports
        # SQLITE_FULL exactly as for a full disk. The store retries on a fresh connection,
        # which has no cap: the space came back.
        class Cap:
            name: ClassVar[str] = "test.cap"

            def run(self, session: Session, files: StoreFiles) -> None:
                conn = session.connection()
                pages = conn.exec_driver_sql("PRAGMA page_count").scalar_one()
                conn.exec_driver_sql(f"PRAGMA max_page_count = {pages + 2}")

        s.write(Cap()).result()
        futures = [
            s.write(AppendAudit("ana", "note", f"n:{n}", {"text": "x" * 2000})) for n in range(20)
        ]
        entries = [f.result() for f in futures]  # none lost, none failed
        assert s.health().ok
    assert [h.ok for h in heard] == [False, True]  # the fault started, then cleared
    fault = heard[0].fault
    assert fault is not None
    assert fault.startswith(f"cannot write {db_path}: the disk is full")
    assert "audit.append" in fault
    assert "held and retried" in fault
    assert heard[0].since is not None
    assert heard[0].pending >= 1
    assert [e.target for e in entries] == [f"n:{n}" for n in range(20)]
    assert [e.seq for e in entries] == list(range(entries[0].seq, entries[0].seq + 20))
    with Store(url_of(db_path)) as again:
        assert again.read(verify_chain).ok


# ----------------------------------------------------------------------------- files and modes


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that lets everything through, so the modes seen are the store's own."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def test_database_lock_and_snapshots_are_private_to_the_console(
    tmp_path: Path, open_umask: None
) -> None:
    db = tmp_path / "new" / "folder" / "nightwatch.db"
    with Store(url_of(db)) as s:
        alarm_id = raise_alarm(s)
        record = s.write(StoreSnapshot(alarm_id, JPEG, taken_at=T0)).result()
        assert record is not None
        snapshot = s.snapshot_path(record)
        files = [db, Path(f"{db}-wal"), Path(f"{db}-shm"), db.with_name("nightwatch.db.lock")]
        assert {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in files} == {
            p.name: "0o600" for p in files
        }
        assert oct(stat.S_IMODE(snapshot.stat().st_mode)) == "0o600"
        snapshots_dir = db.parent / "snapshots"
        assert snapshot.parent.parent.parent.parent == snapshots_dir  # YYYY/MM/DD
        folders = [
            tmp_path / "new",
            db.parent,
            snapshots_dir,
            snapshot.parent.parent.parent,
            snapshot.parent.parent,
            snapshot.parent,
        ]
        assert {str(f): oct(stat.S_IMODE(f.stat().st_mode)) for f in folders} == {
            str(f): "0o700" for f in folders
        }


# ----------------------------------------------------------------------------- read-only


def test_read_only_store_reads_and_refuses_writes(db_path: Path) -> None:
    with Store(url_of(db_path)) as writer:
        alarm_id = raise_alarm(writer)
        with Store(url_of(db_path), read_only=True) as reader:  # beside the console
            assert reader.read(get_alarm, alarm_id).camera_id == "cam-1"
            assert reader.read(verify_chain).ok
            assert reader.health().ok
            assert reader.flush()
            with pytest.raises(StoreError, match=r"opened read-only; alarm\.raise refused"):
                reader.write(RaiseAlarm(None, "cam-1", "proximity", "high"))
            assert reader.settings()["foreign_keys"] == 1
        assert reader.close().all_stored
    actions = [e.action for e in Store(url_of(db_path), read_only=True).read(audit_entries)]
    # the reader wrote nothing, not even a row
    assert actions == ["audit.keyed", "store.open", "alarm.raise"]


def test_read_only_store_refuses_what_it_cannot_read(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"missing\.db: no database there"):
        Store(url_of(tmp_path / "missing.db"), read_only=True)
    with pytest.raises(ValueError, match="in-memory"):
        Store("sqlite://", read_only=True)
    bare = tmp_path / "bare.db"
    raw(bare).execute("CREATE TABLE t (x)")
    with pytest.raises(StoreError, match=r"at schema revision none.*open it once with a console"):
        Store(url_of(bare), read_only=True)


# ----------------------------------------------------------------------------- health


def test_a_healthy_store_says_so_and_listeners_come_and_go(store: Store) -> None:
    assert store.health() == StoreHealth(ok=True, fault=None, since=None, pending=0, unstored=0)
    heard: list[StoreHealth] = []
    store.add_fault_listener(heard.append)
    store.remove_fault_listener(heard.append)
    store.remove_fault_listener(heard.append)  # twice is harmless
    raise_alarm(store)
    assert heard == []


# ----------------------------------------------------------------------------- group commit


class SlowDisk:
    """A write task that holds the writer until `go_on` is set (`busy`: it has started), so that
    the tasks written meanwhile queue up behind it and are committed as one group."""

    name: ClassVar[str] = "test.slow"

    def __init__(self) -> None:
        self.busy = threading.Event()
        self.go_on = threading.Event()

    def run(self, session: Session, files: StoreFiles) -> None:
        self.busy.set()
        assert self.go_on.wait(30)


def test_writes_queued_behind_a_slow_disk_commit_together_and_a_refusal_stays_alone(
    db_path: Path,
) -> None:
    """While the writer is busy (a slow disk), the tasks queued behind it are committed in one
    transaction (one fsync), each in its own savepoint: a task refused for a reason of its own
    fails alone and the rest are stored, in order."""
    from sqlalchemy import event

    with Store(url_of(db_path)) as s:
        s.write(RaiseAlarm(7, "cam-1", "proximity", "high", raised_at=T0)).result()
        commits: list[int] = []
        writer_engine = s._engines[0]  # the writer's engine: count its commits
        event.listen(writer_engine, "commit", lambda _conn: commits.append(1))
        disk = SlowDisk()
        held = s.write(disk)
        assert disk.busy.wait(30)
        notes = [s.write(AppendAudit("ana", "note", f"n:{n}")) for n in range(40)]
        taken = s.write(RaiseAlarm(7, "cam-2", "after_hours", "high", raised_at=T0))  # id taken
        later = [s.write(AppendAudit("ana", "note", f"m:{n}")) for n in range(10)]
        disk.go_on.set()
        held.result(timeout=30)
        entries = [f.result(timeout=30) for f in notes + later]
        with pytest.raises(AlarmIdTakenError):
            taken.result(timeout=30)
    assert [e.target for e in entries] == [f"n:{n}" for n in range(40)] + [
        f"m:{n}" for n in range(10)
    ]
    assert [e.seq for e in entries] == list(range(entries[0].seq, entries[0].seq + 50))
    assert len(commits) <= 3  # the slow task, then the 51 queued ones together (not 51 fsyncs)
    with Store(url_of(db_path)) as again:
        assert again.read(verify_chain).ok


def test_a_task_of_a_group_that_fails_after_its_audit_row_leaves_no_gap_in_the_chain(
    db_path: Path,
) -> None:
    """A group's tasks know the chain's head from the one before (read once per transaction,
    not per row). A task that appends its audit row and then fails is rolled back to its
    savepoint, audit row and all: the next task's row takes the same number and links to the
    row before, and the chain verifies."""
    from console.store import audit

    class AuditedThenFails:
        name: ClassVar[str] = "test.audited_then_fails"

        def run(self, session: Session, files: StoreFiles) -> None:
            audit.append(session, "ana", "note", "lost", None, T0)
            raise ValueError("refused after its audit row")

    with Store(url_of(db_path)) as s:
        disk = SlowDisk()
        held = s.write(disk)
        assert disk.busy.wait(30)
        before = s.write(AppendAudit("ana", "note", "before"))
        failed = s.write(AuditedThenFails())
        after = [s.write(AppendAudit("ana", "note", f"after:{n}")) for n in range(3)]
        disk.go_on.set()
        held.result(timeout=30)
        with pytest.raises(ValueError, match="refused after its audit row"):
            failed.result(timeout=30)
        rows = [before.result(timeout=30)] + [f.result(timeout=30) for f in after]
        assert [r.seq for r in rows] == list(range(rows[0].seq, rows[0].seq + 4))
        assert [r.prev_hash for r in rows[1:]] == [r.row_hash for r in rows[:-1]]
        assert "lost" not in [e.target for e in s.read(audit_entries)]
        assert s.read(verify_chain).ok


def test_a_task_refused_when_its_savepoint_is_released_fails_alone_and_the_writer_goes_on(
    db_path: Path,
) -> None:
    """A task of a group may return with a change it never flushed; the savepoint's release
    flushes it, and the database may refuse it there (here, an alarm id already taken), after
    the task itself returned. That task is rolled back and fails on its own, reported once;
    the tasks around it commit, and the writer takes the next write."""
    from console.store.models import Alarm as AlarmRow

    class LeavesATakenIdUnflushed:
        name: ClassVar[str] = "test.unflushed_taken_id"

        def run(self, session: Session, files: StoreFiles) -> str:
            from console.store import audit

            audit.append(session, "ana", "note", "refused", None, T0)
            session.add(
                AlarmRow(
                    id=7,  # taken: the database refuses it when the savepoint flushes it
                    camera_id="cam-9",
                    rule="proximity",
                    severity="high",
                    state=AlarmState.RAISED,
                    raised_at=T0,
                    updated_at=T0,
                )
            )
            return "returned before its change was flushed"

    with Store(url_of(db_path)) as s:
        s.write(RaiseAlarm(7, "cam-1", "proximity", "high", raised_at=T0)).result()
        disk = SlowDisk()
        held = s.write(disk)
        assert disk.busy.wait(30)
        before = s.write(AppendAudit("ana", "note", "before"))
        refused = s.write(LeavesATakenIdUnflushed())
        after = s.write(AppendAudit("ana", "note", "after"))
        disk.go_on.set()
        held.result(timeout=30)
        with pytest.raises(IntegrityError):
            refused.result(timeout=30)
        rows = [before.result(timeout=30), after.result(timeout=30)]
        assert rows[1].seq == rows[0].seq + 1
        later = s.write(AppendAudit("ana", "note", "later")).result(timeout=30)
        assert later.seq == rows[1].seq + 1
        assert "refused" not in [e.target for e in s.read(audit_entries)]
        assert s.read(get_alarm, 7).camera_id == "cam-1"
        assert s.read(verify_chain).ok


def test_a_group_task_sees_its_alarm_as_stored_after_the_task_before_it_was_rolled_back(
    db_path: Path,
) -> None:
    """The tasks of a group keep the alarms they loaded for the rest of the transaction (so the
    next task on the same alarm need not read it again). A task that changed its alarm and then
    failed is rolled back to its savepoint: the next task on that alarm sees it as stored, not
    with the lost change, and the rows written afterwards hold what was stored."""
    from console.store.alarms import load_alarm

    class NotesThenFails:
        name: ClassVar[str] = "test.notes_then_fails"

        def run(self, session: Session, files: StoreFiles) -> None:
            alarm = load_alarm(session, 7)
            alarm.note = "lost with its savepoint"
            session.flush()
            raise ValueError("refused after changing the alarm")

    class ReadsTheNote:
        name: ClassVar[str] = "test.reads_the_note"

        def run(self, session: Session, files: StoreFiles) -> str | None:
            return load_alarm(session, 7).note

    with Store(url_of(db_path)) as s:
        disk = SlowDisk()
        held = s.write(disk)
        assert disk.busy.wait(30)
        raised = s.write(RaiseAlarm(7, "cam-1", "proximity", "high", raised_at=T0))
        noted = s.write(ReadsTheNote())
        failed = s.write(NotesThenFails())
        after = s.write(ReadsTheNote())
        commented = s.write(AddAlarmEvent(7, "comment", "ana", {"text": "seen"}, at=T0))
        disk.go_on.set()
        held.result(timeout=30)
        assert raised.result(timeout=30) == 7
        with pytest.raises(ValueError, match="refused after changing the alarm"):
            failed.result(timeout=30)
        assert noted.result(timeout=30) is None
        assert after.result(timeout=30) is None
        commented.result(timeout=30)
        assert s.read(get_alarm, 7).note is None
        assert s.read(verify_chain).ok


def test_files_of_a_group_are_durable_with_one_fsync_of_their_folder(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tasks queued behind a slow disk that write files into one folder wait for one fsync of
    that folder (before their rows commit), not one each; each file is still fsynced itself,
    and every file and row is there afterwards."""
    from console.store import tasks

    synced: list[Path] = []
    real_fsync_dir = tasks.fsync_dir

    def counting_fsync_dir(path: Path) -> None:  # the real fsync, counted
        synced.append(path)
        real_fsync_dir(path)

    monkeypatch.setattr(tasks, "fsync_dir", counting_fsync_dir)

    class WriteEvidence:
        name: ClassVar[str] = "test.evidence"

        def __init__(self, n: int) -> None:
            self.n = n

        def run(self, session: Session, files: StoreFiles) -> Path:
            return files.write_file(f"evidence/e-{self.n:02d}.jpg", JPEG)

    with Store(url_of(db_path), snapshots_dir=db_path.parent / "snaps") as s:
        s.write(WriteEvidence(99)).result(timeout=30)  # makes the folder (and fsyncs it alone)
        disk = SlowDisk()
        held = s.write(disk)
        assert disk.busy.wait(30)
        synced.clear()
        queued = [s.write(WriteEvidence(n)) for n in range(20)]
        disk.go_on.set()
        held.result(timeout=30)
        written = [f.result(timeout=30) for f in queued]
    assert all(p.read_bytes() == JPEG for p in written)
    folder = written[0].parent
    assert synced.count(folder) < len(written) / 4  # one per group, not twenty
    assert synced.count(folder) >= 1
