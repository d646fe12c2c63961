"""Snapshots on real files: written and fsynced before their row, made on the writer thread from
a callable, refused when not a JPEG, removed when their row fails, purged after retention."""

from __future__ import annotations

import hashlib
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from console.store import (
    AlarmNotFoundError,
    PurgeExpiredSnapshots,
    RaiseAlarm,
    Store,
    StoreError,
    StoreSnapshot,
    StoreWriteError,
    audit_entries,
    get_alarm,
    get_snapshot,
    verify_snapshot,
)
from console.store.engine import WRITER_THREAD_NAME
from console.store.snapshots import snapshots
from tests.unit.store.support import JPEG, T0, url_of


def raise_alarm(store: Store) -> int:
    return store.write(RaiseAlarm(None, "cam-1", "proximity", "high")).result()


def test_store_snapshot_bytes_writes_file_then_row(store: Store, db_path: Path) -> None:
    alarm_id = raise_alarm(store)
    record = store.write(StoreSnapshot(alarm_id, JPEG, taken_at=T0)).result()
    assert record is not None
    path = store.snapshot_path(record)
    assert record.sha256 == hashlib.sha256(JPEG).hexdigest()
    assert path.is_file()
    assert path.read_bytes() == JPEG
    assert path.is_relative_to(db_path.parent / "snapshots")
    assert record.relative_path == path.relative_to(db_path.parent / "snapshots").as_posix()
    assert record.relative_path.startswith("2025/03/01/")
    assert not list(path.parent.glob("*.part"))
    [snap] = store.read(snapshots, alarm_id)
    assert snap == record
    assert (snap.sha256, snap.taken_at) == (record.sha256, T0)
    assert store.read(get_snapshot, snap.id) == record
    assert store.read(get_alarm, alarm_id).snapshot_id == snap.id
    assert store.read(verify_snapshot, snap.id, store.files)
    path.write_bytes(JPEG + b"tampered")
    assert not store.read(verify_snapshot, snap.id, store.files)
    path.unlink()
    assert not store.read(verify_snapshot, snap.id, store.files)
    assert store.read(audit_entries)[-1].detail["sha256"] == record.sha256
    with pytest.raises(AlarmNotFoundError, match="no snapshot 99"):
        store.read(get_snapshot, 99)


def test_a_callable_snapshot_is_made_on_the_writer_thread(store: Store) -> None:
    alarm_id = raise_alarm(store)
    made_on: list[str] = []

    def encode() -> bytes:
        made_on.append(threading.current_thread().name)
        return JPEG + b"encoded late"

    record = store.write(StoreSnapshot(alarm_id, encode, taken_at=T0)).result()
    assert made_on == [WRITER_THREAD_NAME]
    assert record is not None
    assert store.snapshot_path(record).read_bytes() == JPEG + b"encoded late"
    # No image (the frame was gone): nothing stored, no row, no audit.
    audit_before = len(store.read(audit_entries))
    assert store.write(StoreSnapshot(alarm_id, lambda: None)).result() is None
    assert len(store.read(snapshots, alarm_id)) == 1
    assert len(store.read(audit_entries)) == audit_before


def test_later_snapshots_keep_the_first_as_the_alarms(store: Store) -> None:
    alarm_id = raise_alarm(store)
    first = store.write(StoreSnapshot(alarm_id, JPEG)).result()
    second = store.write(StoreSnapshot(alarm_id, lambda: JPEG + b"second")).result()
    assert first is not None
    assert second is not None
    assert second.relative_path != first.relative_path
    assert store.snapshot_path(second).read_bytes() == JPEG + b"second"
    assert second.sha256 == hashlib.sha256(JPEG + b"second").hexdigest()
    snaps = store.read(snapshots, alarm_id)
    assert [s.id for s in snaps] == [first.id, second.id]
    assert store.read(get_alarm, alarm_id).snapshot_id == first.id


def test_store_snapshot_refuses_what_is_not_a_jpeg(store: Store) -> None:
    alarm_id = raise_alarm(store)
    with pytest.raises(ValueError, match="not a JPEG"):
        StoreSnapshot(alarm_id, b"\x89PNG....")
    with pytest.raises(TypeError, match="bytes or a callable"):
        StoreSnapshot(alarm_id, "frame.jpg")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a JPEG"):
        store.write(StoreSnapshot(alarm_id, lambda: b"\x89PNG....")).result()

    def broken() -> bytes:
        raise OSError("camera ring gone")

    with pytest.raises(ValueError, match="could not be made: camera ring gone"):
        store.write(StoreSnapshot(alarm_id, broken)).result()
    with pytest.raises(AlarmNotFoundError):
        store.write(StoreSnapshot(4242, JPEG)).result()
    assert store.read(snapshots, alarm_id) == []


def test_snapshot_write_failure_names_the_file_and_stores_nothing(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the snapshots folder should be")
    with Store(url_of(tmp_path / "nw.db"), snapshots_dir=blocker / "snaps") as s:
        alarm_id = raise_alarm(s)
        with pytest.raises(StoreWriteError, match="not-a-folder") as err:
            s.write(StoreSnapshot(alarm_id, JPEG)).result()
        assert "nothing stored" in str(err.value)
        assert s.read(snapshots, alarm_id) == []
        assert s.read(get_alarm, alarm_id).snapshot_id is None
        assert [e.action for e in s.read(audit_entries)] == [
            "audit.keyed",
            "store.open",
            "alarm.raise",
        ]


def test_the_file_is_removed_when_its_row_fails(store: Store, db_path: Path) -> None:
    alarm_id = raise_alarm(store)

    class SnapshotThenFail(StoreSnapshot):  # the file is written, then the transaction fails
        def run(self, session, files):  # type: ignore[no-untyped-def]
            super().run(session, files)
            raise RuntimeError("the row could not be written")

    with pytest.raises(RuntimeError, match="could not be written"):
        store.write(SnapshotThenFail(alarm_id, JPEG, taken_at=T0)).result()
    assert store.read(snapshots, alarm_id) == []
    snapshots_dir = db_path.parent / "snapshots"
    assert [p for p in snapshots_dir.rglob("*") if p.is_file()] == []


def test_in_memory_store_without_a_snapshots_folder_says_so() -> None:
    with Store("sqlite://") as s:
        alarm_id = raise_alarm(s)
        with pytest.raises(StoreError, match="snapshots_dir"):
            s.write(StoreSnapshot(alarm_id, JPEG)).result()


def test_purge_expired_snapshots_deletes_files_keeps_hashes(store: Store) -> None:
    alarm_id = raise_alarm(store)
    old = store.write(
        StoreSnapshot(alarm_id, JPEG, taken_at=T0, expires_at=T0 + timedelta(days=30))
    ).result()
    fresh = store.write(
        StoreSnapshot(alarm_id, JPEG + b"2", expires_at=T0 + timedelta(days=900))
    ).result()
    kept = store.write(StoreSnapshot(alarm_id, JPEG + b"3")).result()  # no expiry
    assert old is not None
    assert fresh is not None
    assert kept is not None
    purge = PurgeExpiredSnapshots(now=T0 + timedelta(days=31))
    assert store.write(purge).result() == 1
    assert not store.snapshot_path(old).exists()
    assert store.snapshot_path(fresh).exists()
    assert store.snapshot_path(kept).exists()
    snaps = store.read(snapshots, alarm_id)
    assert snaps[0].purged_at == T0 + timedelta(days=31)
    assert snaps[0].sha256 == hashlib.sha256(JPEG).hexdigest()
    assert store.write(purge).result() == 0
    assert store.read(audit_entries)[-1].action == "snapshot.purge"
