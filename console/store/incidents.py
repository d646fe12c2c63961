"""The incident log as a reader sees it: alarms with their steps and dispatches, and the
escalations (the export is `console.export`). Each read is itself audited (who read what,
when), so these are write tasks: they run on the store's writer thread, never on the GUI thread
or the core's.

    store.write(ReadIncidents("ana", since=t0))          # list[Incident]; incident_log.read
    store.write(ReadEscalations("boss", since=t0))       # list[Escalation]; escalations.view

"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.store import audit
from console.store.alarms import (
    AlarmEventRecord,
    AlarmRecord,
    DispatchRecord,
    alarm_events,
    dispatches,
    list_alarms,
)
from console.store.models import Alarm as AlarmRow
from console.store.models import AlarmEvent, AuditRecord, EventKind, Snapshot
from console.store.tasks import StoreFiles, aware, iso, set_field

MAX_ROWS = 100_000


@dataclass(frozen=True, slots=True)
class Incident:
    alarm: AlarmRecord
    events: tuple[AlarmEventRecord, ...]
    dispatches: tuple[DispatchRecord, ...]
    snapshot_sha256: str | None = None

    def as_json(self) -> dict[str, Any]:
        a = self.alarm
        return {
            "alarm_id": a.id,
            "camera": a.camera_id,
            "rule": a.rule,
            "subject": a.subject,
            "severity": a.severity,
            "state": a.state.value,
            "outcome": a.outcome.value if a.outcome is not None else None,
            "note": a.note,
            "raised_at": iso(a.raised_at),
            "updated_at": iso(a.updated_at),
            "snapshot_sha256": self.snapshot_sha256,
            "events": [
                {"kind": e.kind.value, "at": iso(e.at), "user": e.user, "detail": e.detail}
                for e in self.events
            ],
            "dispatches": [
                {
                    "guard": d.guard_id,
                    "post": d.post,
                    "sent_at": iso(d.sent_at),
                    "arrived_at": iso(d.arrived_at) if d.arrived_at is not None else None,
                }
                for d in self.dispatches
            ],
        }


@dataclass(frozen=True, slots=True)
class Escalation:
    """An alarm that escalated, or a still-there check nobody answered."""

    at: datetime
    what: str  # "alarm" or "operator_check"
    target: str  # "alarm:7", "console:control-room"
    detail: dict[str, Any]


def _incidents(
    session: Session, since: datetime | None, until: datetime | None, limit: int
) -> list[Incident]:
    alarms = list_alarms(session, since=since, until=until, limit=limit, newest_first=False)
    found: list[Incident] = []
    for alarm in alarms:
        digest = None
        if alarm.snapshot_id is not None:
            digest = session.scalar(select(Snapshot.sha256).where(Snapshot.id == alarm.snapshot_id))
        found.append(
            Incident(
                alarm,
                tuple(alarm_events(session, alarm.id)),
                tuple(dispatches(session, alarm.id)),
                digest,
            )
        )
    return found


def _span(since: datetime | None, until: datetime | None) -> dict[str, Any]:
    return {
        "since": iso(since) if since is not None else None,
        "until": iso(until) if until is not None else None,
    }


@dataclass(frozen=True, slots=True)
class ReadIncidents:
    """The alarms raised in [since, until) with their steps, oldest first; audited."""

    name: ClassVar[str] = "incident_log.read"

    user: str
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 1000
    at: datetime | None = None

    def __post_init__(self) -> None:
        set_field(self, "at", aware(self.at, "at"))
        if self.since is not None:
            set_field(self, "since", aware(self.since, "since"))
        if self.until is not None:
            set_field(self, "until", aware(self.until, "until"))
        if not 1 <= self.limit <= MAX_ROWS:
            raise ValueError(f"limit must be 1..{MAX_ROWS} (got {self.limit})")

    def run(self, session: Session, files: StoreFiles) -> list[Incident]:
        assert self.at is not None
        found = _incidents(session, self.since, self.until, self.limit)
        facts = {**_span(self.since, self.until), "rows": len(found)}
        audit.append(session, self.user, "incident_log.read", "incident_log", facts, self.at)
        return found


@dataclass(frozen=True, slots=True)
class ReadEscalations:
    """Escalated alarms and unanswered still-there checks since `since`, oldest first; audited
    as `escalations.view`."""

    name: ClassVar[str] = "escalations.read"

    user: str
    since: datetime | None = None
    limit: int = 500
    at: datetime | None = None

    def __post_init__(self) -> None:
        set_field(self, "at", aware(self.at, "at"))
        if self.since is not None:
            set_field(self, "since", aware(self.since, "since"))

    def run(self, session: Session, files: StoreFiles) -> list[Escalation]:
        assert self.at is not None
        found: list[Escalation] = []
        events = (
            select(AlarmEvent, AlarmRow)
            .join(AlarmRow, AlarmEvent.alarm_id == AlarmRow.id)
            .where(AlarmEvent.kind == EventKind.ESCALATE)
        )
        checks = select(AuditRecord).where(AuditRecord.action == "operator_check.escalated")
        if self.since is not None:
            events = events.where(AlarmEvent.at >= self.since)
            checks = checks.where(AuditRecord.at >= self.since)
        for event, alarm in session.execute(events.limit(self.limit)):
            detail = {
                "camera": alarm.camera_id,
                "rule": alarm.rule,
                "subject": alarm.subject,
                "severity": alarm.severity,
                **(event.detail or {}),
            }
            found.append(Escalation(event.at, "alarm", f"alarm:{alarm.id}", detail))
        for row in session.scalars(checks.limit(self.limit)):
            entry = audit.audit_entry(row)
            found.append(Escalation(entry.at, "operator_check", entry.target or "", entry.detail))
        found.sort(key=lambda e: e.at)
        facts = {**_span(self.since, None), "rows": len(found)}
        audit.append(session, self.user, "escalations.view", "escalations", facts, self.at)
        return found
