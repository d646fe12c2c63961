"""The export's summary figures, read in one streaming pass before the incidents themselves:
counts per rule, outcome, severity and camera, how long acknowledging took (a distribution in
buckets and its median), how many escalated, how many are under hold."""

from __future__ import annotations

from array import array
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from console.export.query import ExportFilters, _where
from console.store.models import Alarm, AlarmEvent, EventKind, Hold

# acknowledgement time buckets: (upper bound in seconds, label); None: never acknowledged
ACK_BUCKETS: tuple[tuple[float, str], ...] = (
    (30.0, "< 30 s"),
    (60.0, "30-60 s"),
    (120.0, "1-2 min"),
    (300.0, "2-5 min"),
    (900.0, "5-15 min"),
    (float("inf"), "> 15 min"),
)
NEVER = "never"


@dataclass
class Summary:
    incidents: int = 0
    by_rule: Counter[str] = field(default_factory=Counter)
    by_outcome: Counter[str] = field(default_factory=Counter)
    by_severity: Counter[str] = field(default_factory=Counter)
    by_camera: Counter[str] = field(default_factory=Counter)
    by_state: Counter[str] = field(default_factory=Counter)
    ack_buckets: Counter[str] = field(default_factory=Counter)
    escalated: int = 0
    on_hold: int = 0
    _ack_s: array[float] = field(default_factory=lambda: array("d"))

    def add(
        self,
        *,
        rule: str,
        outcome: str | None,
        severity: str,
        camera_id: str,
        state: str,
        ack_s: float | None,
        escalated: bool,
        on_hold: bool,
    ) -> None:
        self.incidents += 1
        self.by_rule[rule] += 1
        self.by_outcome[outcome or "open"] += 1
        self.by_severity[severity] += 1
        self.by_camera[camera_id] += 1
        self.by_state[state] += 1
        self.escalated += int(escalated)
        self.on_hold += int(on_hold)
        if ack_s is None:
            self.ack_buckets[NEVER] += 1
        else:
            self._ack_s.append(ack_s)
            label = next(label for bound, label in ACK_BUCKETS if ack_s < bound)
            self.ack_buckets[label] += 1

    @property
    def acknowledged(self) -> int:
        return len(self._ack_s)

    @property
    def median_ack_s(self) -> float | None:
        if not self._ack_s:
            return None
        ordered = sorted(self._ack_s)
        middle = len(ordered) // 2
        if len(ordered) % 2:
            return ordered[middle]
        return (ordered[middle - 1] + ordered[middle]) / 2

    def ack_distribution(self) -> list[tuple[str, int]]:
        return [(label, self.ack_buckets[label]) for _, label in ACK_BUCKETS] + [
            (NEVER, self.ack_buckets[NEVER])
        ]

    def as_dict(self) -> dict[str, Any]:
        return {
            "incidents": self.incidents,
            "by_rule": dict(self.by_rule),
            "by_outcome": dict(self.by_outcome),
            "by_severity": dict(self.by_severity),
            "by_state": dict(self.by_state),
            "acknowledged": self.acknowledged,
            "median_ack_s": self.median_ack_s,
            "ack_distribution": dict(self.ack_distribution()),
            "escalated": self.escalated,
            "on_hold": self.on_hold,
        }


def summarise(session: Session, filters: ExportFilters) -> Summary:
    """The figures of every incident the filters take (one streaming query)."""
    ack = (
        select(func.min(AlarmEvent.at))
        .where(AlarmEvent.alarm_id == Alarm.id, AlarmEvent.kind == EventKind.ACKNOWLEDGE)
        .correlate(Alarm)
        .scalar_subquery()
    )
    escalated = exists().where(
        AlarmEvent.alarm_id == Alarm.id, AlarmEvent.kind == EventKind.ESCALATE
    )
    held = exists().where(Hold.alarm_id == Alarm.id, Hold.released_at.is_(None))
    query = _where(
        select(
            Alarm.rule,
            Alarm.outcome,
            Alarm.severity,
            Alarm.camera_id,
            Alarm.state,
            Alarm.raised_at,
            ack.label("ack_at"),
            escalated.label("escalated"),
            held.label("held"),
        ),
        filters,
    )
    summary = Summary()
    for row in session.execute(query.execution_options(yield_per=5000)):
        ack_at = row.ack_at  # min() keeps the column's type: an aware UTC datetime
        summary.add(
            rule=row.rule,
            outcome=None if row.outcome is None else str(row.outcome),
            severity=row.severity,
            camera_id=row.camera_id,
            state=str(row.state),
            ack_s=None if ack_at is None else (ack_at - row.raised_at).total_seconds(),
            escalated=bool(row.escalated),
            on_hold=bool(row.held),
        )
    return summary
