"""Holds: an incident kept as evidence (a police case, an insurance claim). While a hold is in
force, retention purges none of the incident's snapshots or clips; releasing it lets the next
purge take them. Placing and releasing are audited with the hold row's digest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.store import audit
from console.store.alarms import load_alarm
from console.store.errors import AlarmNotFoundError, StaleStateError
from console.store.models import Hold
from console.store.tasks import StoreFiles, aware, iso, set_field


@dataclass(frozen=True, slots=True)
class HoldRecord:
    id: int
    alarm_id: int
    reason: str
    case_ref: str | None
    placed_by: str
    placed_at: datetime
    released_by: str | None
    released_at: datetime | None
    release_reason: str | None

    @property
    def active(self) -> bool:
        return self.released_at is None


def _record(h: Hold) -> HoldRecord:
    return HoldRecord(
        h.id,
        h.alarm_id,
        h.reason,
        h.case_ref,
        h.placed_by,
        h.placed_at,
        h.released_by,
        h.released_at,
        h.release_reason,
    )


@dataclass(frozen=True, slots=True)
class PlaceHold:
    """Put an incident under hold; returns the `HoldRecord`. A second hold on an incident already
    held is refused (`StaleStateError`, naming the hold in force)."""

    name: ClassVar[str] = "hold.place"

    alarm_id: int
    reason: str
    user: str
    case_ref: str | None = None
    at: datetime | None = None

    def __post_init__(self) -> None:
        if not self.reason.strip():
            raise ValueError("a hold needs a reason (the case, who asked for it)")
        if not self.user.strip():
            raise ValueError("a hold needs the name of who places it")
        set_field(self, "at", aware(self.at, "at"))

    def run(self, session: Session, files: StoreFiles) -> HoldRecord:
        assert self.at is not None
        alarm = load_alarm(session, self.alarm_id)
        held = session.scalars(
            select(Hold).where(Hold.alarm_id == alarm.id, Hold.released_at.is_(None))
        ).first()
        if held is not None:
            raise StaleStateError(
                f"alarm {alarm.id} is already under hold {held.id} ({held.reason!r}, placed by "
                f"{held.placed_by} at {iso(held.placed_at)})"
            )
        hold = Hold(
            alarm_id=alarm.id,
            reason=self.reason,
            case_ref=self.case_ref,
            placed_by=self.user,
            placed_at=self.at,
        )
        session.add(hold)
        session.flush()
        facts = {
            "hold_id": hold.id,
            "reason": self.reason,
            "case_ref": self.case_ref,
            "placed_by": self.user,
        }
        audit.append(
            session, self.user, "hold.place", f"alarm:{alarm.id}", facts, self.at, rows=[hold]
        )
        return _record(hold)


@dataclass(frozen=True, slots=True)
class ReleaseHold:
    """Release a hold (once); returns the `HoldRecord`."""

    name: ClassVar[str] = "hold.release"

    hold_id: int
    user: str
    reason: str | None = None
    at: datetime | None = None

    def __post_init__(self) -> None:
        set_field(self, "at", aware(self.at, "at"))

    def run(self, session: Session, files: StoreFiles) -> HoldRecord:
        assert self.at is not None
        hold = session.get(Hold, self.hold_id)
        if hold is None:
            raise AlarmNotFoundError(f"no hold {self.hold_id}")
        if hold.released_at is not None:
            raise StaleStateError(
                f"hold {hold.id} was already released by {hold.released_by} at "
                f"{iso(hold.released_at)}"
            )
        hold.released_by = self.user
        hold.released_at = self.at
        hold.release_reason = self.reason
        facts = {"hold_id": hold.id, "released_by": self.user, "reason": self.reason}
        audit.append(
            session,
            self.user,
            "hold.release",
            f"alarm:{hold.alarm_id}",
            facts,
            self.at,
            rows=[hold],
        )
        return _record(hold)


def list_holds(
    session: Session, *, alarm_id: int | None = None, active_only: bool = False
) -> list[HoldRecord]:
    query = select(Hold).order_by(Hold.id)
    if alarm_id is not None:
        query = query.where(Hold.alarm_id == alarm_id)
    if active_only:
        query = query.where(Hold.released_at.is_(None))
    return [_record(h) for h in session.scalars(query)]


def active_hold(session: Session, alarm_id: int) -> HoldRecord | None:
    holds = list_holds(session, alarm_id=alarm_id, active_only=True)
    return holds[0] if holds else None
