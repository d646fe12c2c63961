"""Tampering with a console's database, as someone with the file and a SQLite shell would, and
`nightwatch audit verify` naming each change: the row (or file), and what kind of change.

Each test fills a real SQLite store with a night of incidents through the store's own tasks,
closes it, changes the file (the append-only triggers dropped first, as an attacker would), and
runs the command as an auditor does. The console's keys live in the test session's key folder.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from console.cli import main
from console.store import (
    FinishWalkTest,
    StartShift,
    StartWalkTest,
    Store,
    WalkTestResultRow,
    default_keys_dir,
)
from console.store.audit import audit_content, chain_hash
from tests.evidence import SUBJECT_BOX, Night, fill_night, signed_as, snapshot_jpeg


@pytest.fixture
def night_db(tmp_path: Path) -> tuple[Path, Night]:
    db = tmp_path / "data" / "nightwatch.db"
    with Store(f"sqlite:///{db}") as store:
        night = fill_night(store)
    return db, night


def verify(db: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    code = main(["audit", "verify", "--db", f"sqlite:///{db}", *extra])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def sql(db: Path, *statements: str) -> None:
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        conn.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
        conn.execute("PRAGMA ignore_check_constraints = ON")
        for statement in statements:
            conn.execute(statement)
    finally:
        conn.close()


def rows_of(db: Path, query: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(query).fetchall()
    finally:
        conn.close()


def one(db: Path, query: str) -> object:
    return rows_of(db, query)[0][0]


def test_an_untouched_night_verifies(night_db: tuple[Path, Night], capsys) -> None:
    db, _ = night_db
    code, out = verify(db, capsys)
    assert code == 0, out
    assert out.startswith("ok: ")
    assert "files (snapshots, clips, walk test frames)" in out
    assert "signed heads" in out
    assert "audit keys: key files in " in out  # no OS keyring in tests (tests/conftest.py)


# ------------------------------------------------------------------------ the chain itself


def test_an_edited_audit_row_is_named(night_db: tuple[Path, Night], capsys) -> None:
    db, _ = night_db
    seq = one(db, "SELECT seq FROM audit_log WHERE action = 'alarm.acknowledge' LIMIT 1")
    sql(db, f"UPDATE audit_log SET user = 'eve' WHERE seq = {seq}")
    code, out = verify(db, capsys)
    assert code == 1
    first = out.splitlines()[0]
    assert f"audit row seq {seq} " in first
    assert "keyed hash (HMAC) does not match" in first


def test_an_edited_audit_payload_is_named(night_db: tuple[Path, Night], capsys) -> None:
    db, _ = night_db
    seq = one(db, "SELECT seq FROM audit_log WHERE action = 'alarm.resolve' LIMIT 1")
    detail = json.loads(str(one(db, f"SELECT detail FROM audit_log WHERE seq = {seq}")))
    detail["outcome"] = "false_alarm"
    text = json.dumps(detail, sort_keys=True, separators=(",", ":"))
    sql(db, f"UPDATE audit_log SET detail = '{text}' WHERE seq = {seq}")
    code, out = verify(db, capsys)
    assert code == 1
    assert f"audit row seq {seq} " in out.splitlines()[0]
    assert "payload altered" in out.splitlines()[0]


def test_a_deleted_audit_row_is_named(night_db: tuple[Path, Night], capsys) -> None:
    db, _ = night_db
    sql(db, "DELETE FROM audit_log WHERE seq = 10")
    code, out = verify(db, capsys)
    assert code == 1
    assert "audit row seq 11 " in out
    assert "row(s) seq 10 missing before it (removed)" in out


def test_reordered_audit_rows_are_named(night_db: tuple[Path, Night], capsys) -> None:
    db, _ = night_db
    sql(
        db,
        "UPDATE audit_log SET seq = -1 WHERE seq = 8",
        "UPDATE audit_log SET seq = 8 WHERE seq = 9",
        "UPDATE audit_log SET seq = 9 WHERE seq = -1",
    )
    code, out = verify(db, capsys)
    assert code == 1
    first = out.splitlines()[0]
    assert "audit row seq 8 " in first
    assert "does not link to the row before it (rows reordered" in first


def test_rows_cut_from_the_end_are_caught_by_the_signed_heads(
    night_db: tuple[Path, Night], capsys
) -> None:
    db, _ = night_db
    last = int(str(one(db, "SELECT MAX(seq) FROM audit_log")))
    sql(db, f"DELETE FROM audit_log WHERE seq > {last - 5}")
    code, out = verify(db, capsys)
    assert code == 1
    assert (
        f"the audit log ends at seq {last - 5}, but the console signed its head at seq {last}"
        in out
    )
    assert f"rows seq {last - 4}..{last} were cut from the end" in out


def test_a_chain_rebuilt_without_the_key_is_named(night_db: tuple[Path, Night], capsys) -> None:
    """An attacker edits a note in a row and recomputes every hash after it as plain SHA-256
    (all they can do without the key): the first rebuilt row is named."""
    db, _ = night_db
    rows = rows_of(
        db,
        "SELECT seq, at, user, action, target, detail, prev_hash, row_hash FROM audit_log "
        "ORDER BY seq",
    )
    edited = 12
    statements = []
    prev = None
    for seq, at, user, action, target, detail, _prev_hash, _row_hash in rows:
        if seq < edited:
            prev = _row_hash
            continue
        if seq == edited:
            user = "mallory"
        when = datetime.fromisoformat(at).replace(tzinfo=UTC)
        new = chain_hash(prev, audit_content(seq, when, user, action, target, detail))
        statements.append(
            f"UPDATE audit_log SET user = '{user}', prev_hash = '{prev}', row_hash = '{new}', "
            f"payload_hash = NULL WHERE seq = {seq}"
        )
        prev = new
    sql(db, *statements)
    code, out = verify(db, capsys)
    assert code == 1, out
    first = out.splitlines()[0]
    assert f"audit row seq {edited} " in first
    assert "rebuilt without the key" in first


def test_a_chain_stripped_of_its_keying_is_named(night_db: tuple[Path, Night], capsys) -> None:
    db, _ = night_db
    sql(db, "UPDATE audit_log SET action = 'store.open' WHERE action = 'audit.keyed'")
    code, out = verify(db, capsys)
    assert code == 1
    assert "audit row seq 1 " in out.splitlines()[0]
    assert "the chain is not keyed (no audit.keyed row)" in out


def test_another_key_folder_is_named(night_db: tuple[Path, Night], tmp_path: Path, capsys) -> None:
    db, _ = night_db
    other = tmp_path / "other-keys"
    assert main(["audit", "public-key", "--keys", str(other)]) == 2  # never created by a reader
    capsys.readouterr()
    with Store(f"sqlite:///{tmp_path / 'elsewhere.db'}", keys_dir=other):
        pass  # another console: keys of its own
    code, out = verify(db, capsys, "--keys", str(other))
    assert code == 1
    assert "audit row seq 1 " in out
    assert "not with the key given" in out


def test_an_altered_signed_head_is_named(night_db: tuple[Path, Night], capsys) -> None:
    db, _ = night_db
    chain_id = json.loads(str(one(db, "SELECT detail FROM audit_log WHERE seq = 1")))["chain_id"]
    heads = default_keys_dir() / "heads" / f"{chain_id}.jsonl"
    lines = heads.read_text().splitlines()
    line = json.loads(lines[-1])
    line["seq"] -= 1
    lines[-1] = json.dumps(line, sort_keys=True)
    heads.write_text("\n".join(lines) + "\n")
    code, out = verify(db, capsys)
    assert code == 1
    assert f"{heads} line {len(lines)}: the signature of the head" in out


# ------------------------------------------------------------------------ the records


def test_an_alarm_outcome_edited_in_the_table_is_named(
    night_db: tuple[Path, Night], capsys
) -> None:
    db, night = night_db
    sql(db, f"UPDATE alarms SET outcome = 'false_alarm' WHERE id = {night.police}")
    code, out = verify(db, capsys)
    assert code == 1
    assert out.splitlines()[0] == (
        f"FAILED: 1 problem(s); the first: alarm {night.police} (alarms id={night.police}) was "
        f"altered after audit row seq {_last_seq_of(db, f'alarms:{night.police}')} recorded it: "
        "outcome is 'false_alarm' where the audit log recorded 'police_called'"
    )


def test_a_note_edited_in_the_table_is_named(night_db: tuple[Path, Night], capsys) -> None:
    db, night = night_db
    sql(db, f"UPDATE alarms SET note = 'nothing happened' WHERE id = {night.resolved}")
    code, out = verify(db, capsys)
    assert code == 1
    assert f"alarm {night.resolved} (alarms id={night.resolved}) was altered" in out
    assert (
        "note is 'nothing happened' where the audit log recorded "
        "'Visitor leaned over the rope, warned'" in out
    )


def test_an_event_user_edited_is_named(night_db: tuple[Path, Night], capsys) -> None:
    db, night = night_db
    event = one(
        db,
        f"SELECT id FROM alarm_events WHERE alarm_id = {night.resolved} AND kind = 'acknowledge'",
    )
    sql(db, f"UPDATE alarm_events SET user = 'eve' WHERE id = {event}")
    code, out = verify(db, capsys)
    assert code == 1
    assert f"alarm event {event} (alarm_events id={event}) was altered" in out
    assert "user is 'eve' where the audit log recorded 'ana'" in out


def test_a_dispatch_guard_edited_is_named(night_db: tuple[Path, Night], capsys) -> None:
    db, night = night_db
    sql(db, f"UPDATE dispatches SET guard_id = 'g-ben' WHERE id = {night.dispatch_id}")
    code, out = verify(db, capsys)
    assert code == 1
    assert f"dispatch {night.dispatch_id} (dispatches id={night.dispatch_id}) was altered" in out
    assert "guard_id is 'g-ben' where the audit log recorded 'g-anna'" in out


def test_occurrence_times_edited_are_named(night_db: tuple[Path, Night], capsys) -> None:
    db, night = night_db
    occurrence = one(db, f"SELECT id FROM alarm_occurrences WHERE alarm_id = {night.resolved}")
    sql(
        db,
        "UPDATE alarm_occurrences SET ended_at = '2026-11-28 21:00:05.000000' "
        f"WHERE id = {occurrence}",
    )
    code, out = verify(db, capsys)
    assert code == 1
    assert f"occurrence {occurrence} (alarm_occurrences id={occurrence}) was altered" in out
    assert (
        "ended_at is '2026-11-28T21:00:05.000000+00:00' where the audit log recorded "
        "'2026-11-28T21:00:40.000000+00:00'" in out
    )


def test_a_deleted_event_and_an_added_alarm_are_named(night_db: tuple[Path, Night], capsys) -> None:
    db, night = night_db
    event = one(
        db, f"SELECT id FROM alarm_events WHERE alarm_id = {night.police} AND kind = 'comment'"
    )
    sql(
        db,
        f"DELETE FROM alarm_events WHERE id = {event}",
        "INSERT INTO alarms (id, camera_id, rule, severity, state, raised_at, updated_at, "
        "replayed) VALUES (99, 'cam-east', 'proximity', 'high', 'resolved', "
        "'2026-11-28 21:00:00.000000', '2026-11-28 21:00:00.000000', 0)",
    )
    code, out = verify(db, capsys)
    assert code == 1
    assert f"alarm event {event} (alarm_events id={event}) is gone" in out
    assert "(deleted from the table)" in out
    assert "alarm 99 (alarms id=99): no audit row records it (added to the table by hand)" in out


def test_a_replaced_and_a_deleted_snapshot_file_are_named(
    night_db: tuple[Path, Night], capsys
) -> None:
    db, _ = night_db
    snapshots = db.parent / "snapshots"
    first, second = rows_of(db, "SELECT id, path FROM snapshots ORDER BY id")
    replaced = snapshots / first[1]
    replaced.write_bytes(replaced.read_bytes()[:-10] + b"\x00" * 8 + b"\xff\xd9")
    (snapshots / second[1]).unlink()
    code, out = verify(db, capsys)
    assert code == 1
    assert f"snapshot {first[0]} ({replaced}): the file was replaced or altered" in out
    assert f"snapshot {second[0]} ({snapshots / second[1]}): the file is missing" in out


def test_a_copy_of_the_database_verifies_elsewhere_with_the_key_folder(
    night_db: tuple[Path, Night], tmp_path: Path, capsys
) -> None:
    """The auditor's machine: the database and its snapshots copied, the console's key folder
    copied (with heads/), no console running."""
    db, _ = night_db
    copy = tmp_path / "copy"
    shutil.copytree(db.parent, copy)
    keys = tmp_path / "keys-copy"
    shutil.copytree(default_keys_dir(), keys)
    code, out = verify(copy / db.name, capsys, "--keys", str(keys))
    assert code == 0, out
    sql(copy / db.name, "UPDATE alarms SET outcome = 'other' WHERE outcome = 'police_called'")
    code, out = verify(copy / db.name, capsys, "--keys", str(keys))
    assert code == 1
    assert "outcome is 'other' where the audit log recorded 'police_called'" in out


def test_verify_records_who_checked(night_db: tuple[Path, Night], capsys) -> None:
    db, _ = night_db
    code, out = verify(db, capsys, *signed_as("audrey"))
    assert code == 0, out
    [(user, detail)] = rows_of(
        db, "SELECT user, detail FROM audit_log WHERE action = 'audit.verify'"
    )
    assert user == "audrey"
    assert json.loads(detail)["ok"] is True


def _last_seq_of(db: Path, key: str) -> int:
    rows = rows_of(
        db, "SELECT seq, row_digests FROM audit_log WHERE row_digests IS NOT NULL ORDER BY seq"
    )
    return max(int(str(seq)) for seq, digests in rows if key in json.loads(str(digests)))


def test_the_key_file_open_to_others_is_refused(tmp_path: Path, capsys) -> None:
    keys = tmp_path / "keys"
    with Store(f"sqlite:///{tmp_path / 'a.db'}", keys_dir=keys):
        pass
    (keys / "audit.key").chmod(0o640)
    code = main(["audit", "verify", "--db", f"sqlite:///{tmp_path / 'a.db'}", "--keys", str(keys)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{keys / 'audit.key'}: the key file is open to other users (mode 640)" in err
    assert f"chmod 600 {keys / 'audit.key'}" in err
    assert (keys / "audit.key").read_text().strip() not in err  # never the key itself


def test_a_role_edited_a_shift_deleted_and_an_account_added_are_named(
    night_db: tuple[Path, Night], capsys
) -> None:
    db, _ = night_db
    user = one(db, "SELECT id FROM users WHERE name = 'monitor-1'")
    with Store(f"sqlite:///{db}") as store:
        shift = store.write(StartShift("monitor-1", station="desk-1")).result()
    sql(
        db,
        f"UPDATE users SET role = 'supervisor' WHERE id = {user}",
        f"DELETE FROM shifts WHERE id = {shift}",
        "INSERT INTO users (id, name, name_key, role, created_at, created_by) VALUES "
        "(77, 'mallory', 'mallory', 'auditor', '2026-11-28 21:00:00.000000', 'boss')",
    )
    code, out = verify(db, capsys)
    assert code == 1
    assert f"user account {user} (users id={user}) was altered" in out
    assert "role is 'supervisor' where the audit log recorded 'operator'" in out
    assert f"shift {shift} (shifts id={shift}) is gone" in out
    assert (
        "user account 77 (users id=77): no audit row records it (added to the table by hand)" in out
    )


def test_a_walk_test_result_and_its_frame_altered_are_named(
    night_db: tuple[Path, Night], capsys
) -> None:
    db, _ = night_db
    with Store(f"sqlite:///{db}") as store:
        test_id = store.write(
            StartWalkTest("boss", "Example Museum", (("object", "milkmaid", "The Milkmaid"),))
        ).result()
        result = WalkTestResultRow(
            "object",
            "milkmaid",
            "The Milkmaid",
            passed=False,
            reason="nobody came within 1.5 m",
            evidence_jpeg=snapshot_jpeg(SUBJECT_BOX),
        )
        store.write(FinishWalkTest(test_id, (result,), "boss")).result()
    code, out = verify(db, capsys)
    assert code == 0, out
    row_id, path = rows_of(db, "SELECT id, evidence_path FROM walk_test_results")[0]
    sql(db, f"UPDATE walk_test_results SET passed = 1 WHERE id = {row_id}")
    frame = db.parent / "snapshots" / str(path)
    frame.write_bytes(snapshot_jpeg((10, 10, 50, 50)))
    code, out = verify(db, capsys)
    assert code == 1
    assert f"walk test result {row_id} (walk_test_results id={row_id}) was altered" in out
    assert f"walk test {test_id}'s evidence frame (walk_test_results id={row_id})" in out
    assert "the file was replaced or altered" in out
