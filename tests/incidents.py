"""A varied incident log written through the store's own write tasks (tests of the incident
browser's queries and of its window)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from console.store import (
    AlarmState,
    ChangeAlarmState,
    Outcome,
    RaiseAlarm,
    RecordArrival,
    RecordDispatch,
    Store,
)

T0 = datetime(2026, 3, 2, 21, 0, tzinfo=UTC)  # 22:00 in Amsterdam
CAMERAS = ("cam-a", "cam-b", "cam-c")
SUBJECTS = ("object-1", "object-2", "zone-1")


@dataclass(frozen=True)
class Made:
    alarm_id: int
    camera: str
    subject: str
    rule: str
    severity: str
    raised_at: datetime
    ack_s: float | None
    operator: str
    outcome: Outcome | None


def make(
    store: Store, n: int, cameras: tuple[str, ...] = CAMERAS, subjects: tuple[str, ...] = SUBJECTS
) -> Made:
    """The n-th alarm of a varied log: cameras, subjects, rules, severities, outcomes, delays."""
    camera = cameras[n % len(cameras)]
    subject = subjects[n % len(subjects) if n % 4 else 0]
    rule = ("proximity", "after_hours", "loitering")[n % 3]
    severity = ("high", "medium", "low")[(n // 3) % 3]
    raised = T0 + timedelta(hours=3 * n)  # a few a night, over a couple of weeks
    operator = ("ana", "bert")[n % 2]
    alarm_id = store.write(
        RaiseAlarm(None, camera, rule, severity, subject=subject, raised_at=raised)
    ).result()
    ack_s = None
    outcome = None
    if n % 5 != 4:
        ack_s = float(5 + 20 * (n % 4))  # 5, 25, 45, 65 s
        store.write(
            ChangeAlarmState(
                alarm_id, AlarmState.ACKNOWLEDGED, operator, at=raised + timedelta(seconds=ack_s)
            )
        ).result()
        if n % 3 == 0:
            sent = raised + timedelta(seconds=ack_s + 30)
            dispatch_id = store.write(
                RecordDispatch(alarm_id, "g-anna", operator, post="Main hall", at=sent)
            ).result()
            store.write(
                RecordArrival(dispatch_id, operator, at=sent + timedelta(seconds=120))
            ).result()
        if n % 2 == 0:
            outcome = (Outcome.FALSE_ALARM, Outcome.VISITOR_WARNED)[(n // 2) % 2]
            store.write(
                ChangeAlarmState(
                    alarm_id,
                    AlarmState.RESOLVED,
                    operator,
                    outcome=outcome,
                    at=raised + timedelta(seconds=ack_s + 300),
                )
            ).result()
    return Made(alarm_id, camera, subject, rule, severity, raised, ack_s, operator, outcome)
