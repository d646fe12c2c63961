"""AlarmStore on real SQLite files in temporary folders: every method, migrations, the writer
thread under concurrent callers, failures that must surface, and the audit hash chain."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from console.store import (
    AlarmNotFoundError,
    AlarmState,
    AlarmStore,
    EventKind,
    Outcome,
    Role,
    StaleStateError,
    StoreClosedError,
    StoreError,
    StoreWriteError,
    upgrade_to_head,
)
from console.store.migrations import head_revision
from console.store.models import Base

JPEG = b"\xff\xd8\xff\xe0" + b"nightwatch test frame" * 10 + b"\xff\xd9"
T0 = datetime(2025, 3, 1, 22, 0, tzinfo=UTC)
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


def url_of(path: Path) -> str:
    return f"sqlite:///{path}"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "nightwatch.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[AlarmStore]:
    s = AlarmStore(url_of(db_path))
    yield s
    s.close()
    assert not s._thread.is_alive()


def writer_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "nightwatch-store-writer"]


def raw(db_path: Path) -> sqlite3.Connection:
    return sqlite3.connect(db_path, isolation_level=None)


# ----------------------------------------------------------------------------- opening


def test_fresh_file_is_migrated_to_head_and_reopens(db_path: Path) -> None:
    with AlarmStore(url_of(db_path)) as s:
        alarm_id = s.create_alarm("cam-1", "proximity", "high", subject="milkmaid")
    tables = set(inspect(create_engine(url_of(db_path))).get_table_names())
    assert tables >= TABLES | {"alembic_version"}
    with raw(db_path) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [
            (head_revision(),)
        ]
    with AlarmStore(url_of(db_path)) as again:  # re-open: migrations are a no-op, data stays
        assert again.get_alarm(alarm_id).subject == "milkmaid"
    assert upgrade_to_head(url_of(db_path)) == head_revision()


def test_models_match_the_migrations(db_path: Path) -> None:
    db_path.parent.mkdir()
    upgrade_to_head(url_of(db_path))
    engine = create_engine(url_of(db_path))
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    engine.dispose()


def test_sqlite_settings_wal_full_foreign_keys(store: AlarmStore, db_path: Path) -> None:
    settings = store.settings()
    assert settings["journal_mode"] == "wal"
    assert settings["synchronous"] == 2  # FULL
    assert settings["foreign_keys"] == 1
    assert int(settings["busy_timeout"]) > 0
    assert store.snapshots_dir == db_path.parent / "snapshots"


def test_default_location_is_the_user_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    with AlarmStore() as s:
        s.create_alarm("cam-1", "after_hours", "medium")
        assert s.db_path == tmp_path / "xdg" / "nightwatch" / "nightwatch.db"
    assert (tmp_path / "xdg" / "nightwatch" / "nightwatch.db").is_file()


def test_in_memory_url_works_for_quick_tools() -> None:
    with AlarmStore("sqlite://") as s:
        alarm_id = s.create_alarm("cam-1", "proximity", "low")
        assert s.get_alarm(alarm_id).state is AlarmState.RAISED
        assert s.verify_audit_chain().ok


def test_close_drains_the_queue_and_joins_the_writer(db_path: Path) -> None:
    before = len(writer_threads())
    s = AlarmStore(url_of(db_path))
    assert len(writer_threads()) == before + 1
    futures = [s.create_alarm_async("cam-1", "loitering", "low", track_id=i) for i in range(50)]
    s.close()
    assert len(writer_threads()) == before
    ids = [f.result() for f in futures]  # all written, none cancelled
    with pytest.raises(StoreClosedError):
        s.create_alarm("cam-1", "loitering", "low")
    s.close()  # twice is harmless
    with AlarmStore(url_of(db_path)) as again:
        assert sorted(a.id for a in again.list_alarms()) == sorted(ids)


# ----------------------------------------------------------------------------- alarms


def test_create_alarm_and_read_it_back(store: AlarmStore) -> None:
    future = store.create_alarm_async(
        "cam-2", "proximity", "high", subject="milkmaid", track_id=7, episode_key="ep", raised_at=T0
    )
    assert isinstance(future, Future)
    alarm = store.get_alarm(future.result())
    assert (alarm.camera_id, alarm.rule, alarm.subject, alarm.severity, alarm.track_id) == (
        "cam-2",
        "proximity",
        "milkmaid",
        "high",
        7,
    )
    assert alarm.state is AlarmState.RAISED
    assert alarm.raised_at == T0
    assert alarm.raised_at.tzinfo is not None
    [event] = store.alarm_events(alarm.id)
    assert event.kind is EventKind.RAISE
    assert event.detail is not None
    assert event.detail["subject"] == "milkmaid"


def test_times_are_stored_as_utc(store: AlarmStore, db_path: Path) -> None:
    paris = timezone(timedelta(hours=1))
    alarm_id = store.create_alarm("cam-1", "proximity", "low", raised_at=T0.astimezone(paris))
    assert store.get_alarm(alarm_id).raised_at == T0
    assert store.get_alarm(alarm_id).raised_at.utcoffset() == timedelta(0)
    with raw(db_path) as conn:
        [(stored,)] = conn.execute("SELECT raised_at FROM alarms WHERE id = ?", (alarm_id,))
    assert stored.startswith("2025-03-01 22:00:00")
    with pytest.raises(ValueError, match="naive"):
        store.create_alarm("cam-1", "proximity", "low", raised_at=datetime(2025, 3, 1, 22))


def test_full_lifecycle_records_every_step(store: AlarmStore) -> None:
    alarm_id = store.create_alarm("cam-1", "proximity", "high", raised_at=T0)
    acked = store.set_state(
        alarm_id, AlarmState.ACKNOWLEDGED, "ana", expected="raised", at=T0 + timedelta(seconds=5)
    )
    assert acked.state is AlarmState.ACKNOWLEDGED
    assert acked.updated_at == T0 + timedelta(seconds=5)
    dispatch_id = store.record_dispatch(
        alarm_id, "guard-3", "ana", post="north-stair", at=T0 + timedelta(seconds=9)
    )
    assert store.get_alarm(alarm_id).state is AlarmState.DISPATCHED
    store.record_arrival(dispatch_id, "ana", outcome="visitor spoken to", at=T0 + timedelta(60))
    resolved = store.set_state(
        alarm_id, "resolved", "ana", outcome=Outcome.VISITOR_WARNED, note="leaned on the frame"
    )
    assert resolved.state is AlarmState.RESOLVED
    assert resolved.outcome is Outcome.VISITOR_WARNED
    assert resolved.note == "leaned on the frame"
    kinds = [e.kind for e in store.alarm_events(alarm_id)]
    assert kinds == [
        EventKind.RAISE,
        EventKind.ACKNOWLEDGE,
        EventKind.DISPATCH,
        EventKind.ARRIVE,
        EventKind.RESOLVE,
    ]
    assert [e.user for e in store.alarm_events(alarm_id)][1:] == ["ana"] * 4
    [dispatch] = store.dispatches(alarm_id)
    assert (dispatch.id, dispatch.guard_id, dispatch.post) == (
        dispatch_id,
        "guard-3",
        "north-stair",
    )
    assert dispatch.sent_at == T0 + timedelta(seconds=9)
    assert dispatch.arrived_at == T0 + timedelta(60)
    assert dispatch.outcome == "visitor spoken to"
    actions = [e.action for e in store.audit_entries()]
    assert actions == [
        "alarm.raise",
        "alarm.acknowledge",
        "alarm.dispatch",
        "alarm.arrive",
        "alarm.resolve",
    ]


def test_state_changes_refused_with_clear_errors(store: AlarmStore) -> None:
    alarm_id = store.create_alarm("cam-1", "proximity", "high")
    with pytest.raises(ValueError, match="outcome is required"):
        store.set_state(alarm_id, "resolved", "ana")
    with pytest.raises(ValueError, match="only to resolve"):
        store.set_state(alarm_id, "acknowledged", "ana", outcome="other")
    with pytest.raises(ValueError, match="record_dispatch"):
        store.set_state(alarm_id, "dispatched", "ana")
    with pytest.raises(StaleStateError, match="is raised, expected acknowledged"):
        store.set_state(alarm_id, "resolved", "ana", outcome="other", expected="acknowledged")
    store.set_state(alarm_id, "resolved", "ana", outcome="false_alarm")
    with pytest.raises(StaleStateError, match="resolved alarm is final"):
        store.set_state(alarm_id, "acknowledged", "bob")
    with pytest.raises(StaleStateError, match="final"):
        store.record_dispatch(alarm_id, "guard-1", "bob")
    with pytest.raises(AlarmNotFoundError, match="no alarm 999"):
        store.set_state(999, "acknowledged", "ana")
    with pytest.raises(AlarmNotFoundError, match="no dispatch 999"):
        store.record_arrival(999, "ana")
    assert store.get_alarm(alarm_id).outcome is Outcome.FALSE_ALARM


def test_arrival_is_recorded_once(store: AlarmStore) -> None:
    alarm_id = store.create_alarm("cam-1", "proximity", "high")
    dispatch_id = store.record_dispatch(alarm_id, "guard-1", "ana")
    store.record_arrival(dispatch_id, "ana")
    with pytest.raises(StaleStateError, match="already arrived"):
        store.record_arrival(dispatch_id, "ana")


def test_add_event_comment_and_escalate(store: AlarmStore) -> None:
    alarm_id = store.create_alarm("cam-1", "loitering", "medium")
    comment_id = store.add_event(alarm_id, "comment", "ana", {"text": "same man as yesterday"})
    escalate_id = store.add_event_async(alarm_id, EventKind.ESCALATE, "system").result()
    events = store.alarm_events(alarm_id)
    assert [(e.id, e.kind) for e in events[1:]] == [
        (comment_id, EventKind.COMMENT),
        (escalate_id, EventKind.ESCALATE),
    ]
    assert events[1].detail == {"text": "same man as yesterday"}
    with pytest.raises(ValueError, match="use set_state"):
        store.add_event(alarm_id, "acknowledge", "ana")
    with pytest.raises(ValueError, match="shout"):
        store.add_event(alarm_id, "shout", "ana")
    with pytest.raises(AlarmNotFoundError):
        store.add_event(12345, "comment", "ana")


def test_list_alarms_by_date_camera_subject_state_outcome(store: AlarmStore) -> None:
    ids = {}
    for n, (cam, subject, rule) in enumerate(
        [
            ("cam-1", "milkmaid", "proximity"),
            ("cam-1", "vermeer-room", "after_hours"),
            ("cam-2", "milkmaid", "proximity"),
            ("cam-3", None, "camera_health"),
        ]
    ):
        ids[n] = store.create_alarm(
            cam, rule, "high", subject=subject, raised_at=T0 + timedelta(hours=n)
        )
    store.set_state(ids[0], "resolved", "ana", outcome="false_alarm")
    store.set_state(ids[2], "resolved", "ana", outcome="police_called")
    store.set_state(ids[1], "acknowledged", "ana")

    def listed(**kw: object) -> list[int]:
        return [a.id for a in store.list_alarms(**kw)]  # type: ignore[arg-type]

    assert listed(newest_first=False) == [ids[0], ids[1], ids[2], ids[3]]
    assert listed() == [ids[3], ids[2], ids[1], ids[0]]
    assert listed(since=T0 + timedelta(hours=1), until=T0 + timedelta(hours=3)) == [
        ids[2],
        ids[1],
    ]
    assert listed(camera_id="cam-1") == [ids[1], ids[0]]
    assert listed(camera_id=["cam-2", "cam-3"]) == [ids[3], ids[2]]
    assert listed(subject="milkmaid") == [ids[2], ids[0]]
    assert listed(state="acknowledged") == [ids[1]]
    assert listed(state=[AlarmState.RAISED, AlarmState.ACKNOWLEDGED]) == [ids[3], ids[1]]
    assert listed(outcome=Outcome.POLICE_CALLED) == [ids[2]]
    assert listed(rule="proximity", outcome=["false_alarm", "police_called"]) == [ids[2], ids[0]]
    assert listed(limit=2, offset=1) == [ids[2], ids[1]]
    assert [a.id for a in store.open_alarms()] == [ids[1], ids[3]]
    assert store.count_alarms() == 4


def test_find_open_alarm_by_episode(store: AlarmStore) -> None:
    first = store.create_alarm("cam-1", "proximity", "high", episode_key="cam-1/milkmaid/7")
    found = store.find_open_alarm("cam-1/milkmaid/7")
    assert found is not None
    assert found.id == first
    store.set_state(first, "resolved", "ana", outcome="other")
    assert store.find_open_alarm("cam-1/milkmaid/7") is None


# ----------------------------------------------------------------------------- snapshots


def test_store_snapshot_bytes_writes_file_then_row(store: AlarmStore, db_path: Path) -> None:
    alarm_id = store.create_alarm("cam-1", "proximity", "high")
    path, sha = store.store_snapshot(alarm_id, JPEG, taken_at=T0)
    assert sha == hashlib.sha256(JPEG).hexdigest()
    assert path.is_file()
    assert path.read_bytes() == JPEG
    assert path.is_relative_to(db_path.parent / "snapshots")
    assert not list(path.parent.glob("*.part"))
    [snap] = store.snapshots(alarm_id)
    assert (snap.path, snap.sha256, snap.taken_at) == (path, sha, T0)
    assert store.get_alarm(alarm_id).snapshot_id == snap.id
    assert store.verify_snapshot(snap.id)
    path.write_bytes(JPEG + b"tampered")
    assert not store.verify_snapshot(snap.id)
    assert store.audit_entries()[-1].detail["sha256"] == sha


def test_store_snapshot_from_a_file_keeps_the_first_as_the_alarms(
    store: AlarmStore, tmp_path: Path
) -> None:
    alarm_id = store.create_alarm("cam-1", "proximity", "high")
    first, _ = store.store_snapshot(alarm_id, JPEG)
    source = tmp_path / "frame.jpg"
    source.write_bytes(JPEG + b"second")
    second, sha = store.store_snapshot_async(alarm_id, source).result()
    assert second != first
    assert second.read_bytes() == source.read_bytes()
    assert sha == hashlib.sha256(source.read_bytes()).hexdigest()
    snaps = store.snapshots(alarm_id)
    assert [s.path for s in snaps] == [first, second]
    assert store.get_alarm(alarm_id).snapshot_id == snaps[0].id


def test_store_snapshot_refuses_what_is_not_a_jpeg(store: AlarmStore, tmp_path: Path) -> None:
    alarm_id = store.create_alarm("cam-1", "proximity", "high")
    with pytest.raises(ValueError, match="not a JPEG"):
        store.store_snapshot(alarm_id, b"\x89PNG....")
    with pytest.raises(StoreError, match=r"missing\.jpg"):
        store.store_snapshot(alarm_id, tmp_path / "missing.jpg")
    with pytest.raises(AlarmNotFoundError):
        store.store_snapshot(4242, JPEG)
    assert store.snapshots(alarm_id) == []


def test_snapshot_write_failure_names_the_file_and_stores_nothing(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the snapshots folder should be")
    with AlarmStore(url_of(tmp_path / "nw.db"), snapshots_dir=blocker / "snaps") as s:
        alarm_id = s.create_alarm("cam-1", "proximity", "high")
        with pytest.raises(StoreWriteError, match="not-a-folder") as err:
            s.store_snapshot(alarm_id, JPEG)
        assert "nothing stored" in str(err.value)
        assert s.snapshots(alarm_id) == []
        assert s.get_alarm(alarm_id).snapshot_id is None
        assert [e.action for e in s.audit_entries()] == ["alarm.raise"]


def test_purge_expired_snapshots_deletes_files_keeps_hashes(store: AlarmStore) -> None:
    alarm_id = store.create_alarm("cam-1", "proximity", "high")
    old, _ = store.store_snapshot(alarm_id, JPEG, taken_at=T0, expires_at=T0 + timedelta(days=30))
    fresh, _ = store.store_snapshot(alarm_id, JPEG + b"2", expires_at=T0 + timedelta(days=900))
    kept, _ = store.store_snapshot(alarm_id, JPEG + b"3")  # no expiry
    assert store.purge_expired_snapshots(now=T0 + timedelta(days=31)) == 1
    assert not old.exists()
    assert fresh.exists()
    assert kept.exists()
    snaps = store.snapshots(alarm_id)
    assert snaps[0].purged_at == T0 + timedelta(days=31)
    assert snaps[0].sha256 == hashlib.sha256(JPEG).hexdigest()
    assert store.purge_expired_snapshots(now=T0 + timedelta(days=31)) == 0
    assert store.audit_entries()[-1].action == "snapshot.purge"


# ----------------------------------------------------------------------------- users etc.


def test_users_shifts_and_config_changes(store: AlarmStore) -> None:
    ana = store.add_user("ana", Role.MONITOR, by="boss")
    store.add_user("boss", "supervisor")
    with pytest.raises(StoreError, match="already exists"):
        store.add_user("ana", "auditor")
    with pytest.raises(ValueError, match="janitor"):
        store.add_user("eve", "janitor")
    user = store.get_user("ana")
    assert user is not None
    assert (user.id, user.role) == (ana, Role.MONITOR)
    assert store.get_user("nobody") is None
    assert [u.name for u in store.list_users()] == ["ana", "boss"]

    shift = store.start_shift("ana", at=T0)
    with pytest.raises(AlarmNotFoundError, match="no user"):
        store.start_shift("nobody")
    store.end_shift(shift, at=T0 + timedelta(hours=8))
    with pytest.raises(StaleStateError):
        store.end_shift(shift)
    [record] = store.list_shifts(user="ana")
    assert (record.id, record.user, record.started_at, record.ended_at) == (
        shift,
        "ana",
        T0,
        T0 + timedelta(hours=8),
    )
    assert store.list_shifts(user="boss") == []

    change = store.record_config_change("boss", "site.yaml", "a: 1\n", b"a: 2\n", at=T0)
    [c] = store.list_config_changes()
    assert c.id == change
    assert (c.user, c.what, c.at) == ("boss", "site.yaml", T0)
    assert c.before_digest == hashlib.sha256(b"a: 1\n").hexdigest()
    assert c.after_digest == hashlib.sha256(b"a: 2\n").hexdigest()
    assert store.list_config_changes(since=T0 + timedelta(seconds=1)) == []
    actions = [e.action for e in store.audit_entries()]
    assert actions == ["user.add", "user.add", "shift.start", "shift.end", "config.change"]


# ----------------------------------------------------------------------------- audit log


def test_append_audit_chains_rows(store: AlarmStore) -> None:
    first = store.append_audit("ana", "login", "user:ana", at=T0)
    second = store.append_audit_async(
        "ana", "export.pdf", "alarm:1", {"rows": 3, "when": T0}
    ).result()
    assert (first.seq, second.seq) == (1, 2)
    assert first.prev_hash == "0" * 64
    assert second.prev_hash == first.row_hash
    assert second.detail == {"rows": 3, "when": T0.isoformat(timespec="microseconds")}
    result = store.verify_audit_chain()
    assert result.ok
    assert (result.rows_checked, result.head_seq, result.head_hash) == (2, 2, second.row_hash)
    assert store.verify_audit_chain(expected_head=first.row_hash).ok
    with pytest.raises(TypeError):
        store.append_audit("ana", "odd", detail={"x": object()})


def test_audit_log_refuses_update_and_delete(store: AlarmStore, db_path: Path) -> None:
    store.append_audit("ana", "login")
    with raw(db_path) as conn:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("UPDATE audit_log SET user = 'eve'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("DELETE FROM audit_log")
    assert store.verify_audit_chain().ok


def _tamper(db_path: Path, sql: str) -> None:
    """What someone with the file and a SQLite shell could do: drop the guard, change rows."""
    with raw(db_path) as conn:
        conn.execute("DROP TRIGGER audit_log_no_update")
        conn.execute("DROP TRIGGER audit_log_no_delete")
        conn.execute(sql)


def _five_rows(store: AlarmStore) -> list[int]:
    return [store.append_audit("ana", "view", f"alarm:{n}").id for n in range(5)]


def test_verify_finds_an_edited_row(store: AlarmStore, db_path: Path) -> None:
    ids = _five_rows(store)
    _tamper(db_path, f"UPDATE audit_log SET user = 'eve' WHERE id = {ids[2]}")
    result = store.verify_audit_chain()
    assert not result.ok
    assert result.first_bad_id == ids[2]
    assert result.reason is not None
    assert "altered" in result.reason
    assert result.rows_checked == 2


def test_verify_finds_an_edited_row_whose_hash_was_recomputed(
    store: AlarmStore, db_path: Path
) -> None:
    ids = _five_rows(store)
    _tamper(db_path, f"UPDATE audit_log SET row_hash = '{'f' * 64}' WHERE id = {ids[1]}")
    result = store.verify_audit_chain()
    assert not result.ok
    assert result.first_bad_id == ids[1]


def test_verify_finds_a_deleted_row(store: AlarmStore, db_path: Path) -> None:
    ids = _five_rows(store)
    _tamper(db_path, f"DELETE FROM audit_log WHERE id = {ids[3]}")
    result = store.verify_audit_chain()
    assert not result.ok
    assert result.first_bad_id == ids[4]
    assert result.reason is not None
    assert "seq 4 missing" in result.reason


def test_verify_finds_rows_cut_from_the_end_given_the_noted_head(
    store: AlarmStore, db_path: Path
) -> None:
    _five_rows(store)
    noted = store.verify_audit_chain().head_hash
    store.append_audit("ana", "view", "alarm:9")  # later, legitimate rows are fine
    assert store.verify_audit_chain(expected_head=noted).ok
    _tamper(db_path, "DELETE FROM audit_log WHERE seq >= 5")
    assert store.verify_audit_chain().ok  # the chain alone cannot see a cut tail
    result = store.verify_audit_chain(expected_head=noted)
    assert not result.ok
    assert result.reason is not None
    assert "no longer in the log" in result.reason


# ----------------------------------------------------------------------------- concurrency


def test_concurrent_writers_never_meet_a_locked_database(db_path: Path) -> None:
    threads_per_store, per_thread = 4, 25
    stores = [AlarmStore(url_of(db_path)), AlarmStore(url_of(db_path))]  # two writers, one file
    errors: list[BaseException] = []
    made: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(threads_per_store * len(stores))

    def work(s: AlarmStore, worker: int) -> None:
        try:
            start.wait()
            for n in range(per_thread):
                alarm_id = s.create_alarm(f"cam-{worker}", "proximity", "high", track_id=n)
                s.add_event(alarm_id, "comment", f"user-{worker}", {"n": n})
                s.append_audit(f"user-{worker}", "view", f"alarm:{alarm_id}")
                s.list_alarms(camera_id=f"cam-{worker}", limit=5)
                with lock:
                    made.append(alarm_id)
        except BaseException as exc:
            errors.append(exc)

    workers = [
        threading.Thread(target=work, args=(s, i * threads_per_store + j))
        for i, s in enumerate(stores)
        for j in range(threads_per_store)
    ]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    for s in stores:
        s.close()
    assert errors == []
    total = threads_per_store * len(stores) * per_thread
    assert len(set(made)) == total
    with AlarmStore(url_of(db_path)) as s:
        assert s.count_alarms() == total
        result = s.verify_audit_chain()
        assert result.ok, result.reason
        assert result.rows_checked == 3 * total  # raise + comment + view per alarm


# ----------------------------------------------------------------------------- failures


def test_full_database_is_a_clear_error_and_loses_nothing_committed(db_path: Path) -> None:
    with AlarmStore(url_of(db_path)) as s:
        # Cap the file at its current size on the writer's connection: SQLite then reports
        # SQLITE_FULL exactly as for a full disk.
        def cap(session: object) -> None:
            conn = session.connection()  # type: ignore[attr-defined]
            pages = conn.exec_driver_sql("PRAGMA page_count").scalar_one()
            conn.exec_driver_sql(f"PRAGMA max_page_count = {pages + 2}")

        s.submit(cap).result()
        stored: list[int] = []

        def fill() -> None:
            for n in range(10_000):
                stored.append(s.create_alarm("cam-1", "proximity", "high", track_id=n))
                s.add_event(stored[-1], "comment", "ana", {"text": "x" * 2000})

        with pytest.raises(StoreWriteError) as err:
            fill()
        message = str(err.value)
        assert str(db_path) in message
        assert "full" in message
        assert "nothing stored" in message
        assert stored  # some fitted before the cap
    with AlarmStore(url_of(db_path)) as again:
        assert sorted(a.id for a in again.list_alarms()) == sorted(stored)
        assert again.verify_audit_chain().ok


def test_unwritable_database_folder_names_it(tmp_path: Path) -> None:
    blocker = tmp_path / "plain-file"
    blocker.write_text("")
    with pytest.raises(StoreWriteError, match="plain-file"):
        AlarmStore(url_of(blocker / "sub" / "nw.db"))
