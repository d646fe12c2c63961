"""The audit keys outside the database, and the move of an older database to a keyed chain."""

from __future__ import annotations

import sqlite3
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine

from console.store import (
    AlarmNotFoundError,
    Store,
    StoreError,
    audit_entries,
    load_audit_keys,
    verify_chain,
    verify_store,
)
from console.store.audit import GENESIS_HASH, audit_content, chain_hash
from console.store.migrations import alembic_config
from tests.unit.store.support import url_of


def test_keys_are_made_private_on_first_use_and_read_back(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    made = load_audit_keys(folder)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for name in ("audit.key", "signing.key"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600
    assert (folder / "signing.pub").read_bytes() == made.public_pem
    again = load_audit_keys(folder, create=False)
    assert (again.key_id, again.fingerprint) == (made.key_id, made.fingerprint)
    assert len(made.fingerprint.split()) == 16
    assert made.mac(b"x") == again.mac(b"x") != load_audit_keys(tmp_path / "other").mac(b"x")
    assert again.verify(made.sign(b"head"), b"head")
    assert not again.verify(made.sign(b"head"), b"another head")


def test_a_key_file_open_to_others_is_refused_by_the_store(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    load_audit_keys(folder)
    (folder / "signing.key").chmod(0o644)
    with pytest.raises(StoreError) as err:
        Store(url_of(tmp_path / "a.db"), keys_dir=folder)
    assert f"{folder / 'signing.key'}: the key file is open to other users (mode 644)" in str(
        err.value
    )
    assert f"chmod 600 {folder / 'signing.key'}" in str(err.value)


def test_a_reader_never_creates_keys(tmp_path: Path) -> None:
    with Store(url_of(tmp_path / "a.db")):
        pass
    with Store(url_of(tmp_path / "a.db"), read_only=True, keys_dir=tmp_path / "none") as reader:
        assert reader.keys is None
        result = reader.read(verify_chain)
    assert not result.ok
    assert result.reason == "2 keyed row(s) not checked: no audit key given"
    assert not (tmp_path / "none").exists()


def test_a_database_keyed_with_another_key_is_not_continued(tmp_path: Path) -> None:
    db = url_of(tmp_path / "a.db")
    with Store(db, keys_dir=tmp_path / "first"):
        pass
    with pytest.raises(StoreError) as err:
        Store(db, keys_dir=tmp_path / "second")
    first, second = load_audit_keys(tmp_path / "first"), load_audit_keys(tmp_path / "second")
    assert f"keyed (row seq 1) with audit key {first.key_id}" in str(err.value)
    assert f"is key {second.key_id}: restore the console's own key folder" in str(err.value)


def _legacy_database(path: Path) -> None:
    """A database as the release before keys left it: schema 0004, one alarm with its raise
    event, and three audit rows chained with plain SHA-256."""
    engine = create_engine(url_of(path))
    with engine.begin() as conn:
        command.upgrade(alembic_config(connection=conn), "0004")
    engine.dispose()
    at = datetime(2025, 3, 1, 22, 0, tzinfo=UTC)
    stamp = "2025-03-01 22:00:00.000000"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute(
            "INSERT INTO alarms (id, camera_id, rule, severity, state, raised_at, updated_at, "
            f"replayed) VALUES (1, 'cam-1', 'proximity', 'high', 'raised', '{stamp}', '{stamp}', 0)"
        )
        conn.execute(
            "INSERT INTO alarm_events (id, alarm_id, kind, at, user, detail) VALUES "
            f"(1, 1, 'raise', '{stamp}', 'system', '{{}}')"
        )
        prev = GENESIS_HASH
        for seq, (action, target) in enumerate(
            [("store.open", "process:1"), ("alarm.raise", "alarm:1"), ("login", "user:ana")],
            start=1,
        ):
            detail = "{}"
            row_hash = chain_hash(prev, audit_content(seq, at, "system", action, target, detail))
            conn.execute(
                "INSERT INTO audit_log (seq, at, user, action, target, detail, prev_hash, "
                "row_hash) VALUES (?, ?, 'system', ?, ?, ?, ?, ?)",
                (seq, stamp, action, target, detail, prev, row_hash),
            )
            prev = row_hash
    finally:
        conn.close()


def test_an_older_database_is_keyed_at_its_next_opening(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _legacy_database(path)
    with Store(url_of(path)) as store:
        entries = store.read(audit_entries)
        report = store.read(verify_store, store.keys, store.files)
    keyed = entries[3]
    assert (keyed.seq, keyed.action) == (4, "audit.keyed")
    assert keyed.detail["unkeyed_rows"] == 3
    assert keyed.detail["unkeyed_head"] == entries[2].row_hash
    assert keyed.prev_hash == entries[2].row_hash
    baseline = [e for e in entries if e.action == "audit.baseline"]
    assert [e.target for e in baseline] == ["alarms", "alarm_events"]
    assert set(baseline[0].row_digests) == {"alarms:1"}
    assert report.ok, [str(f) for f in report.findings]
    assert report.keyed_from == 4
    assert report.warnings[0].startswith("audit rows seq 1..3 were written before the chain was")

    # the plain part can be re-hashed by anyone, but the keyed row's link then breaks
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("DROP TRIGGER audit_log_no_update")
        at = datetime(2025, 3, 1, 22, 0, tzinfo=UTC)
        prev = GENESIS_HASH
        for seq, action, target in [
            (1, "store.open", "process:1"),
            (2, "alarm.raise", "alarm:1"),
            (3, "login", "user:mallory"),
        ]:
            row_hash = chain_hash(prev, audit_content(seq, at, "system", action, target, "{}"))
            conn.execute(
                "UPDATE audit_log SET target = ?, prev_hash = ?, row_hash = ? WHERE seq = ?",
                (target, prev, row_hash, seq),
            )
            prev = row_hash
    finally:
        conn.close()
    with Store(url_of(path), read_only=True) as reader:
        result = reader.read(verify_chain)
    assert result.first_bad_seq == 4
    assert "does not link to the row before it" in (result.reason or "")


def test_a_refused_task_leaves_no_audit_row(tmp_path: Path) -> None:
    from console.store import ChangeAlarmState

    with Store(url_of(tmp_path / "a.db")) as store, pytest.raises(AlarmNotFoundError):
        store.write(ChangeAlarmState(9, "acknowledged", "ana")).result()
    with Store(url_of(tmp_path / "a.db"), read_only=True) as reader:
        assert [e.action for e in reader.read(audit_entries)] == ["audit.keyed", "store.open"]
        assert reader.read(verify_chain).ok


def test_a_chain_keyed_by_an_earlier_release_covers_the_newer_tables_at_its_next_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The release that keyed the chain cross-checked seven tables (its audit.keyed row names
    no others); accounts and shifts written then are covered at the next open by a console
    that checks them: an `audit.cover` row and their baseline. Until then verify says which
    tables it did not check, and reports none of their rows as added by hand."""
    from console.store import AddUser, StartShift, digests

    db = url_of(tmp_path / "a.db")
    first = tuple(m for m in digests.CROSS_CHECKED if m.__tablename__ in digests.FIRST_TABLES)
    with monkeypatch.context() as earlier:
        earlier.setattr(digests, "CROSS_CHECKED", first)
        earlier.setattr(digests, "TABLE_NAMES", digests.FIRST_TABLES)
        with Store(db) as store:
            store.write(AddUser("ana", "operator")).result()
            store.write(StartShift("ana")).result()
    with Store(db, read_only=True) as reader:
        keyed = reader.read(audit_entries)[0]
        assert keyed.detail["tables"] == list(digests.FIRST_TABLES)
        report = reader.read(verify_store, reader.keys, reader.files)
    assert report.ok, report.findings
    assert any(
        w.startswith("clips, users, shifts, walk_tests, walk_test_results: not cross-checked")
        for w in report.warnings
    )
    with Store(db):
        pass  # the next open by this release
    conn = sqlite3.connect(tmp_path / "a.db")
    try:
        actions = [a for (a,) in conn.execute("SELECT action FROM audit_log ORDER BY seq")]
        assert actions[-4:] == ["audit.cover", "audit.baseline", "audit.baseline", "store.open"]
        conn.execute("UPDATE users SET role = 'supervisor' WHERE name = 'ana'")
        conn.commit()
    finally:
        conn.close()
    with Store(db, read_only=True) as reader:
        report = reader.read(verify_store, reader.keys, reader.files)
    assert not any("not cross-checked" in w for w in report.warnings)
    [finding] = report.findings
    assert "user account 1 (users id=1) was altered" in finding.message
    assert "(the baseline)" in finding.message or "does not spell out" in finding.message
