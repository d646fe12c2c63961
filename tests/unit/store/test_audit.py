"""The hash-chained audit log on a real SQLite file: appending, refusing UPDATE and DELETE, and
verification finding edited, removed and cut rows."""

from __future__ import annotations

import os
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from console.store import AppendAudit, Store, audit_entries, verify_chain
from tests.unit.store.support import T0, raw


def test_append_audit_chains_rows(store: Store) -> None:
    keyed, opened = store.read(audit_entries)  # the store proved at open that it can write
    assert (keyed.seq, keyed.user, keyed.action) == (1, "system", "audit.keyed")
    assert keyed.prev_hash == "0" * 64
    assert keyed.detail["unkeyed_rows"] == 0
    assert keyed.detail["chain_id"] == store.chain_id
    assert (opened.seq, opened.user, opened.action) == (2, "system", "store.open")
    assert opened.detail["pid"] == os.getpid()
    assert opened.target == f"process:{os.getpid()}"
    assert opened.prev_hash == keyed.row_hash
    first = store.write(AppendAudit("ana", "login", "user:ana", at=T0)).result()
    second = store.write(
        AppendAudit("ana", "export.pdf", "alarm:1", {"rows": 3, "when": T0})
    ).result()
    assert (first.seq, second.seq) == (3, 4)
    assert first.prev_hash == opened.row_hash
    assert second.prev_hash == first.row_hash
    assert second.detail == {"rows": 3, "when": T0.isoformat(timespec="microseconds")}
    assert second.payload_hash is not None
    result = store.read(verify_chain)
    assert result.ok
    assert (result.rows_checked, result.head_seq, result.head_hash) == (4, 4, second.row_hash)
    assert result.keyed_from == 1
    assert store.read(verify_chain, expected_head=first.row_hash).ok
    with pytest.raises(TypeError):
        AppendAudit("ana", "odd", detail={"x": object()})
    assert [e.seq for e in store.read(audit_entries, limit=1)] == [1]
    assert store.read(audit_entries, since=T0 + timedelta(days=36500)) == []


def test_audit_log_refuses_update_and_delete(store: Store, db_path: Path) -> None:
    store.write(AppendAudit("ana", "login")).result()
    with raw(db_path) as conn:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("UPDATE audit_log SET user = 'eve'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("DELETE FROM audit_log")
    assert store.read(verify_chain).ok


def _tamper(db_path: Path, sql: str) -> None:
    """What someone with the file and a SQLite shell could do: drop the guard, change rows."""
    with raw(db_path) as conn:
        conn.execute("DROP TRIGGER audit_log_no_update")
        conn.execute("DROP TRIGGER audit_log_no_delete")
        conn.execute(sql)


def _five_rows(store: Store) -> list[int]:
    return [store.write(AppendAudit("ana", "view", f"alarm:{n}")).result().id for n in range(5)]


def test_verify_finds_an_edited_row(store: Store, db_path: Path) -> None:
    ids = _five_rows(store)
    _tamper(db_path, f"UPDATE audit_log SET user = 'eve' WHERE id = {ids[2]}")
    result = store.read(verify_chain)
    assert not result.ok
    assert result.first_bad_id == ids[2]
    assert result.reason is not None
    assert "altered" in result.reason
    assert result.first_bad_seq == 5  # audit.keyed, store.open and the two views before it
    assert len(result.problems) == 1  # the rows after it still link to its stored hash


def test_verify_finds_an_edited_row_whose_hash_was_recomputed(store: Store, db_path: Path) -> None:
    ids = _five_rows(store)
    _tamper(db_path, f"UPDATE audit_log SET row_hash = '{'f' * 64}' WHERE id = {ids[1]}")
    result = store.read(verify_chain)
    assert not result.ok
    assert result.first_bad_id == ids[1]


def test_verify_finds_a_mangled_time(store: Store, db_path: Path) -> None:
    ids = _five_rows(store)
    _tamper(db_path, f"UPDATE audit_log SET at = 'yesterday' WHERE id = {ids[3]}")
    result = store.read(verify_chain)
    assert not result.ok
    assert result.first_bad_id == ids[3]
    assert result.reason is not None
    assert "unreadable time 'yesterday'" in result.reason


def test_verify_finds_a_deleted_row(store: Store, db_path: Path) -> None:
    ids = _five_rows(store)
    _tamper(db_path, f"DELETE FROM audit_log WHERE id = {ids[3]}")
    result = store.read(verify_chain)
    assert not result.ok
    assert result.first_bad_id == ids[4]
    assert result.reason is not None
    assert "seq 6 missing" in result.reason  # audit.keyed is seq 1, store.open seq 2


def test_verify_finds_rows_cut_from_the_end_given_the_noted_head(
    store: Store, db_path: Path
) -> None:
    _five_rows(store)
    noted = store.read(verify_chain).head_hash
    store.write(AppendAudit("ana", "view", "alarm:9")).result()  # later rows are fine
    assert store.read(verify_chain, expected_head=noted).ok
    _tamper(db_path, "DELETE FROM audit_log WHERE seq >= 6")
    assert store.read(verify_chain).ok  # the chain alone cannot see a cut tail
    result = store.read(verify_chain, expected_head=noted)
    assert not result.ok
    assert result.reason is not None
    assert "no longer in the log" in result.reason
