"""The learned normal of the behaviour model and the supervisor's switch, in the store.

    store.write(SaveBehaviourCells(rows, gone))       # changed cells upserted, dropped ones deleted
    store.read(behaviour_cells)                       -> list[CellRow]
    store.write(RecordBehaviourSwitch(user, False, "works at night"))  # audited
    store.read(behaviour_switch)                      -> BehaviourSwitchRecord | None (newest)
    store.write(ForgetBehaviourBaseline(user, why))   # every cell deleted, audited

Only aggregated histograms are stored (see console.behaviour.baseline); saving them is not
audited (it happens every few minutes and changes no alarm), forgetting them and switching the
feature are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from console.store import audit
from console.store.models import BehaviourCell, BehaviourSwitch
from console.store.tasks import StoreFiles, aware, set_field

__all__ = [
    "BehaviourSwitchRecord",
    "CellRow",
    "ForgetBehaviourBaseline",
    "RecordBehaviourSwitch",
    "SaveBehaviourCells",
    "behaviour_cells",
    "behaviour_switch",
]

MAX_CELL_CHARS = 64_000  # a cell's JSON: a few hundred numbers (a bigger one is refused)


@dataclass(frozen=True, slots=True)
class CellRow:
    """One cell as stored: its place, hour (-1: all hours), its histograms as JSON text, and
    when it was last updated."""

    kind: str
    place_id: str
    hour: int
    data: str
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class BehaviourSwitchRecord:
    at: datetime
    user: str
    enabled: bool
    reason: str | None


@dataclass(frozen=True, slots=True)
class SaveBehaviourCells:
    """Upsert the changed cells, delete the dropped ones (keys: kind, place, hour); returns
    how many rows were written and deleted."""

    name: ClassVar[str] = "behaviour.save"

    rows: tuple[CellRow, ...]
    gone: tuple[tuple[str, str, int], ...] = ()

    def __post_init__(self) -> None:
        set_field(self, "rows", tuple(self.rows))
        set_field(self, "gone", tuple(tuple(k) for k in self.gone))
        for row in self.rows:
            aware(row.updated_at, "updated_at")
            if len(row.data) > MAX_CELL_CHARS:
                raise ValueError(f"behaviour cell {row.kind}/{row.place_id}: data too long")

    def run(self, session: Session, files: StoreFiles) -> tuple[int, int]:
        written = 0
        for row in self.rows:
            found = session.execute(
                select(BehaviourCell).where(
                    BehaviourCell.kind == row.kind,
                    BehaviourCell.place_id == row.place_id,
                    BehaviourCell.hour == row.hour,
                )
            ).scalar_one_or_none()
            if found is None:
                session.add(
                    BehaviourCell(
                        kind=row.kind,
                        place_id=row.place_id,
                        hour=row.hour,
                        data=row.data,
                        updated_at=row.updated_at,
                    )
                )
            else:
                found.data = row.data
                found.updated_at = row.updated_at
            written += 1
        deleted = 0
        for kind, place_id, hour in self.gone:
            result = session.execute(
                delete(BehaviourCell).where(
                    BehaviourCell.kind == kind,
                    BehaviourCell.place_id == place_id,
                    BehaviourCell.hour == hour,
                )
            )
            deleted += int(getattr(result, "rowcount", 0) or 0)
        return written, deleted


@dataclass(frozen=True, slots=True)
class ForgetBehaviourBaseline:
    """Delete the whole learned normal (a supervisor's choice, audited as `behaviour.forget`);
    returns how many cells were deleted."""

    name: ClassVar[str] = "behaviour.forget"

    user: str
    reason: str | None = None
    at: datetime | None = None

    def __post_init__(self) -> None:
        set_field(self, "at", aware(self.at, "at"))

    def run(self, session: Session, files: StoreFiles) -> int:
        assert self.at is not None
        result = session.execute(delete(BehaviourCell))
        count = int(getattr(result, "rowcount", 0) or 0)
        audit.append(
            session,
            self.user,
            "behaviour.forget",
            "behaviour",
            {"cells": count, "reason": self.reason},
            self.at,
        )
        return count


@dataclass(frozen=True, slots=True)
class RecordBehaviourSwitch:
    """The supervisor switched the behaviour features on or off (audited as
    `behaviour.switch`); returns the record."""

    name: ClassVar[str] = "behaviour.switch"

    user: str
    enabled: bool
    reason: str | None = None
    at: datetime | None = None
    detail: tuple[tuple[str, object], ...] = ()

    def __post_init__(self) -> None:
        set_field(self, "at", aware(self.at, "at"))
        set_field(self, "enabled", bool(self.enabled))

    def run(self, session: Session, files: StoreFiles) -> BehaviourSwitchRecord:
        assert self.at is not None
        session.add(
            BehaviourSwitch(at=self.at, user=self.user, enabled=self.enabled, reason=self.reason)
        )
        facts: dict[str, object] = {"enabled": self.enabled, "reason": self.reason}
        facts.update(dict(self.detail))
        audit.append(session, self.user, "behaviour.switch", "behaviour", facts, self.at)
        return BehaviourSwitchRecord(self.at, self.user, self.enabled, self.reason)


def behaviour_cells(session: Session) -> list[CellRow]:
    rows = session.execute(select(BehaviourCell).order_by(BehaviourCell.id)).scalars()
    return [CellRow(r.kind, r.place_id, r.hour, r.data, r.updated_at) for r in rows]


def behaviour_switch(session: Session) -> BehaviourSwitchRecord | None:
    """The newest switch, None when nobody ever switched the feature at the console."""
    row = (
        session.execute(
            select(BehaviourSwitch).order_by(BehaviourSwitch.at.desc(), BehaviourSwitch.id.desc())
        )
        .scalars()
        .first()
    )
    if row is None:
        return None
    return BehaviourSwitchRecord(row.at, row.user, row.enabled, row.reason)


def cells_for(rows: Sequence[CellRow], kind: str) -> list[CellRow]:
    """The stored cells of one kind of place (for tests and the docs)."""
    return [r for r in rows if r.kind == kind]
