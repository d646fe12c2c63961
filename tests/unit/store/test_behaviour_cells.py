"""The learned normal and the supervisor's switch in a real SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from console.store import (
    ForgetBehaviourBaseline,
    RecordBehaviourSwitch,
    SaveBehaviourCells,
    Store,
    audit_entries,
    behaviour_cells,
    behaviour_switch,
    verify_chain,
)
from console.store.behaviour import CellRow
from tests.unit.store.support import url_of

AT = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)


def test_cells_are_upserted_deleted_and_survive_a_reopen(store: Store, db_path: Path) -> None:
    first = CellRow("zone", "east-gallery", 35, '{"dwell_s": [1]}', AT)
    other = CellRow("zone", "east-gallery", -1, '{"dwell_s": [2]}', AT)
    assert store.write(SaveBehaviourCells((first, other))).result(timeout=30) == (2, 0)
    changed = CellRow("zone", "east-gallery", 35, '{"dwell_s": [3]}', AT + timedelta(hours=1))
    done = store.write(SaveBehaviourCells((changed,), gone=(("zone", "east-gallery", -1),)))
    assert done.result(timeout=30) == (1, 1)
    assert store.read(behaviour_cells) == [changed]
    assert store.close().all_stored
    with Store(url_of(db_path)) as again:
        assert again.read(behaviour_cells) == [changed]


def test_a_naive_time_or_an_oversized_cell_is_refused_when_made() -> None:
    with pytest.raises(ValueError, match="updated_at"):
        SaveBehaviourCells((CellRow("zone", "a", 1, "{}", datetime(2026, 3, 3)),))
    with pytest.raises(ValueError, match="zone/a: data too long"):
        SaveBehaviourCells((CellRow("zone", "a", 1, "x" * 70_000, AT),))


def test_switching_and_forgetting_are_stored_and_audited(store: Store) -> None:
    assert store.read(behaviour_switch) is None
    store.write(SaveBehaviourCells((CellRow("zone", "a", 1, "{}", AT),))).result(timeout=30)
    off = RecordBehaviourSwitch("boss", False, "filming night", AT, (("visitors_forgotten", 3),))
    store.write(off).result(timeout=30)
    store.write(ForgetBehaviourBaseline("boss", "a new hang", AT + timedelta(minutes=1)))
    store.write(RecordBehaviourSwitch("boss", True, None, AT + timedelta(minutes=2)))
    store.flush()
    newest = store.read(behaviour_switch)
    assert newest is not None
    assert (newest.user, newest.enabled) == ("boss", True)
    assert store.read(behaviour_cells) == []
    rows = [(e.action, e.detail) for e in store.read(audit_entries) if e.target == "behaviour"]
    assert rows == [
        (
            "behaviour.switch",
            {"enabled": False, "reason": "filming night", "visitors_forgotten": 3},
        ),
        ("behaviour.forget", {"cells": 1, "reason": "a new hang"}),
        ("behaviour.switch", {"enabled": True, "reason": None}),
    ]
    assert store.read(verify_chain).ok
