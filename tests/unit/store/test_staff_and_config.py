"""Users, shifts and config changes on a real SQLite file, each with its audit row."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

from console.store import (
    AddUser,
    AlarmNotFoundError,
    EndShift,
    RecordConfigChange,
    Role,
    StaleStateError,
    StartShift,
    Store,
    StoreError,
    audit_entries,
    get_user,
    list_config_changes,
    list_shifts,
    list_users,
)
from tests.unit.store.support import T0


def test_users_shifts_and_config_changes(store: Store) -> None:
    ana = store.write(AddUser("ana", Role.OPERATOR, by="boss")).result()
    store.write(AddUser("boss", "supervisor")).result()
    with pytest.raises(StoreError, match="already exists"):
        store.write(AddUser("ana", "auditor")).result()
    with pytest.raises(StoreError, match=r"'ANA' already exists \(as 'ana'\)"):
        store.write(AddUser("ANA", "auditor")).result()
    with pytest.raises(ValueError, match="janitor"):
        AddUser("eve", "janitor")
    with pytest.raises(ValueError, match="not a person's role"):
        AddUser("eve", Role.SERVICE)
    user = store.read(get_user, "ana")
    assert user is not None
    assert (user.id, user.role, user.created_by) == (ana, Role.OPERATOR, "boss")
    assert store.read(get_user, "ANA") == user
    assert store.read(get_user, "nobody") is None
    assert [u.name for u in store.read(list_users)] == ["ana", "boss"]

    shift = store.write(StartShift("ana", at=T0)).result()
    with pytest.raises(AlarmNotFoundError, match="no user"):
        store.write(StartShift("nobody")).result()
    store.write(EndShift(shift, at=T0 + timedelta(hours=8))).result()
    with pytest.raises(StaleStateError):
        store.write(EndShift(shift)).result()
    with pytest.raises(AlarmNotFoundError, match="no shift 99"):
        store.write(EndShift(99)).result()
    [record] = store.read(list_shifts, user="ana")
    assert (record.id, record.user, record.started_at, record.ended_at) == (
        shift,
        "ana",
        T0,
        T0 + timedelta(hours=8),
    )
    assert store.read(list_shifts, user="boss") == []
    assert store.read(list_shifts, since=T0 + timedelta(seconds=1)) == []

    change = store.write(RecordConfigChange("boss", "site.yaml", "a: 1\n", b"a: 2\n", at=T0))
    change_id = change.result()
    [c] = store.read(list_config_changes)
    assert c.id == change_id
    assert (c.user, c.what, c.at) == ("boss", "site.yaml", T0)
    assert c.before_digest == hashlib.sha256(b"a: 1\n").hexdigest()
    assert c.after_digest == hashlib.sha256(b"a: 2\n").hexdigest()
    assert store.read(list_config_changes, since=T0 + timedelta(seconds=1)) == []
    actions = [e.action for e in store.read(audit_entries)]
    assert actions == [
        "audit.keyed",
        "store.open",
        "user.add",
        "user.add",
        "shift.start",
        "shift.end",
        "config.change",
    ]


def test_a_config_change_task_keeps_digests_not_content() -> None:
    task = RecordConfigChange("boss", "site.yaml", None, "secret: do not keep\n", at=T0)
    assert task.before_digest is None
    assert task.after_digest == hashlib.sha256(b"secret: do not keep\n").hexdigest()
    assert "do not keep" not in repr(task)


def test_a_monitor_of_the_first_schema_becomes_an_operator(db_path) -> None:
    """Revision 0003 (accounts) carries rows over: `monitor` becomes `operator`, `name_key` is
    filled, and a second name differing only in case is refused by the database itself."""
    import sqlite3

    from alembic import command

    from console.store.migrations import alembic_config

    url = f"sqlite:///{db_path}"
    db_path.parent.mkdir(parents=True)
    command.upgrade(alembic_config(url), "0001")
    with sqlite3.connect(db_path) as conn:
        conn.execute(
            "INSERT INTO users (name, role, created_at) VALUES ('Ana', 'monitor', "
            "'2025-03-01 22:00:00.000000')"
        )
    with Store(url) as store:
        user = store.read(get_user, "ana")
        assert user is not None
        assert (user.name, user.role, user.disabled) == ("Ana", Role.OPERATOR, False)
    with sqlite3.connect(db_path) as conn:
        with pytest.raises(sqlite3.IntegrityError, match="name_key"):
            conn.execute(
                "INSERT INTO users (name, name_key, role, created_at) VALUES "
                "('ANA', 'ana', 'operator', '2025-03-01 22:00:00.000000')"
            )
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
            conn.execute(
                "INSERT INTO users (name, name_key, role, created_at) VALUES "
                "('bob', 'bob', 'monitor', '2025-03-01 22:00:00.000000')"
            )
