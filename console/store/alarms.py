"""Alarms, their lifecycle events and guard dispatches: the write tasks and the queries.

Each task stores its step and the step's `alarm_events` row and audit row in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from console.store import audit
from console.store.errors import AlarmIdTakenError, AlarmNotFoundError, StaleStateError
from console.store.models import (
    Alarm,
    AlarmEvent,
    AlarmState,
    Base,
    Dispatch,
    EventKind,
    Occurrence,
    Outcome,
)
from console.store.tasks import (
    SYSTEM_USER,
    StoreFiles,
    aware,
    frozen_detail,
    hold,
    iso,
    set_field,
)

STATE_EVENTS: dict[AlarmState, EventKind] = {
    AlarmState.ACKNOWLEDGED: EventKind.ACKNOWLEDGE,
    AlarmState.RESOLVED: EventKind.RESOLVE,
}
FREE_EVENTS = frozenset({EventKind.COMMENT, EventKind.ESCALATE, EventKind.ACTIVITY, EventKind.SEEN})


# --------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class AlarmRecord:
    id: int
    camera_id: str
    rule: str
    subject: str | None
    severity: str
    track_id: int | None
    state: AlarmState
    raised_at: datetime
    updated_at: datetime
    outcome: Outcome | None
    note: str | None
    episode_key: str | None
    snapshot_id: int | None
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class OccurrenceRecord:
    """One sighting folded into an alarm (`ended_at` None: still seen when last written)."""

    id: int
    alarm_id: int
    camera_id: str
    track_id: int | None
    started_at: datetime
    ended_at: datetime | None
    video_start_s: float | None
    video_end_s: float | None
    closest_m: float | None
    condition: str | None = None


@dataclass(frozen=True, slots=True)
class AlarmEventRecord:
    id: int
    alarm_id: int
    kind: EventKind
    at: datetime
    user: str
    detail: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class DispatchRecord:
    id: int
    alarm_id: int
    guard_id: str
    post: str | None
    sent_at: datetime
    arrived_at: datetime | None
    outcome: str | None


def alarm_record(a: Alarm) -> AlarmRecord:
    return AlarmRecord(
        id=a.id,
        camera_id=a.camera_id,
        rule=a.rule,
        subject=a.subject,
        severity=a.severity,
        track_id=a.track_id,
        state=AlarmState(a.state),
        raised_at=a.raised_at,
        updated_at=a.updated_at,
        outcome=Outcome(a.outcome) if a.outcome is not None else None,
        note=a.note,
        episode_key=a.episode_key,
        snapshot_id=a.snapshot_id,
        replayed=bool(a.replayed),
    )


def _occurrence_record(o: Occurrence) -> OccurrenceRecord:
    return OccurrenceRecord(
        o.id,
        o.alarm_id,
        o.camera_id,
        o.track_id,
        o.started_at,
        o.ended_at,
        o.video_start_s,
        o.video_end_s,
        o.closest_m,
        o.condition,
    )


def _event_record(e: AlarmEvent) -> AlarmEventRecord:
    return AlarmEventRecord(e.id, e.alarm_id, EventKind(e.kind), e.at, e.user, e.detail)


def _dispatch_record(d: Dispatch) -> DispatchRecord:
    return DispatchRecord(d.id, d.alarm_id, d.guard_id, d.post, d.sent_at, d.arrived_at, d.outcome)


# --------------------------------------------------------------------------- inside tasks


def load_alarm(session: Session, alarm_id: int) -> Alarm:
    alarm = session.get(Alarm, alarm_id)
    if alarm is None:
        raise AlarmNotFoundError(f"no alarm {alarm_id}")
    hold(session, alarm)  # the next task of the group on this alarm finds it without a query
    return alarm


def add_event(
    session: Session,
    alarm: Alarm,
    kind: EventKind,
    user: str,
    detail: Mapping[str, Any] | None,
    at: datetime,
    rows: Iterable[Base] = (),
) -> AlarmEvent:
    """One `alarm_events` row and its audit row, which records the digests of the event, the
    alarm and any other `rows` the step wrote (as they are now)."""
    detail_dict = frozen_detail(detail)
    ev = AlarmEvent(alarm_id=alarm.id, kind=kind, at=at, user=user, detail=detail_dict)
    session.add(ev)
    session.flush()
    audit_detail = {"event_id": ev.id, **(detail_dict or {})}
    audit.append(
        session,
        user,
        f"alarm.{kind.value}",
        f"alarm:{alarm.id}",
        audit_detail,
        at,
        rows=[alarm, ev, *rows],
    )
    return ev


def _check_expected(alarm: Alarm, expected: AlarmState | None) -> None:
    if alarm.state == AlarmState.RESOLVED:
        raise StaleStateError(f"alarm {alarm.id} is resolved; a resolved alarm is final")
    if expected is not None and alarm.state != expected:
        raise StaleStateError(f"alarm {alarm.id} is {alarm.state.value}, expected {expected.value}")


# --------------------------------------------------------------------------- tasks


@dataclass(frozen=True, slots=True)
class RaiseAlarm:
    """A newly raised alarm and its `raise` event; returns its id.

    `alarm_id`: the id the alarm manager gave it (so it is on screen before its row is written),
    or None to let the database choose. Writing the same alarm twice is harmless (the second time
    finds it stored); an id that another alarm holds is refused with `AlarmIdTakenError`.
    """

    name: ClassVar[str] = "alarm.raise"

    alarm_id: int | None
    camera_id: str
    rule: str
    severity: str
    subject: str | None = None
    track_id: int | None = None
    episode_key: str | None = None
    raised_at: datetime | None = None
    detail: Mapping[str, Any] | None = None
    user: str = SYSTEM_USER
    replayed: bool = False  # written by `nightwatch replay`, not by a live console

    def __post_init__(self) -> None:
        set_field(self, "severity", str(self.severity))
        set_field(self, "raised_at", aware(self.raised_at, "raised_at"))
        set_field(self, "detail", frozen_detail(self.detail))

    def run(self, session: Session, files: StoreFiles) -> int:
        at = self.raised_at
        assert at is not None
        if self.alarm_id is not None:
            stored = session.get(Alarm, self.alarm_id)
            if stored is not None:
                same = (stored.camera_id, stored.rule, stored.raised_at, stored.episode_key)
                if same == (self.camera_id, self.rule, at, self.episode_key):
                    return stored.id
                raise AlarmIdTakenError(
                    f"alarm id {self.alarm_id} is taken by another alarm ({stored.rule} on "
                    f"{stored.camera_id} raised {iso(stored.raised_at)})"
                )
        alarm = Alarm(
            id=self.alarm_id,
            camera_id=self.camera_id,
            rule=self.rule,
            subject=self.subject,
            severity=self.severity,
            track_id=self.track_id,
            state=AlarmState.RAISED,
            raised_at=at,
            updated_at=at,
            episode_key=self.episode_key,
            replayed=self.replayed,
        )
        session.add(alarm)
        session.flush()
        hold(session, alarm)
        if self.alarm_id is not None and session.get_bind().dialect.name == "postgresql":
            # An id given by the caller does not move the table's sequence: move it past.
            session.execute(
                text("SELECT setval(pg_get_serial_sequence('alarms', 'id'), MAX(id)) FROM alarms")
            )
        facts = {
            "camera_id": self.camera_id,
            "rule": self.rule,
            "subject": self.subject,
            "severity": self.severity,
            "track_id": self.track_id,
            "episode_key": self.episode_key,
            **({"replayed": True} if self.replayed else {}),
            **(self.detail or {}),
        }
        add_event(session, alarm, EventKind.RAISE, self.user, facts, at)
        return alarm.id


@dataclass(frozen=True, slots=True)
class AddAlarmEvent:
    """A comment on an alarm, its escalation, new activity on it once acknowledged, or the
    monitor having seen that activity; returns the event id."""

    name: ClassVar[str] = "alarm.event"

    alarm_id: int
    kind: EventKind | str
    user: str
    detail: Mapping[str, Any] | None = None
    at: datetime | None = None

    def __post_init__(self) -> None:
        kind = EventKind(self.kind)
        if kind not in FREE_EVENTS:
            raise ValueError(
                f"event kind {kind.value!r} changes the alarm's state: use ChangeAlarmState, "
                "RecordDispatch or RecordArrival (AddAlarmEvent takes comment, escalate, "
                "activity or seen)"
            )
        set_field(self, "kind", kind)
        set_field(self, "detail", frozen_detail(self.detail))
        set_field(self, "at", aware(self.at, "at"))

    def run(self, session: Session, files: StoreFiles) -> int:
        assert self.at is not None
        alarm = load_alarm(session, self.alarm_id)
        alarm.updated_at = self.at
        return add_event(session, alarm, EventKind(self.kind), self.user, self.detail, self.at).id


@dataclass(frozen=True, slots=True)
class ChangeAlarmState:
    """Acknowledge, or resolve with an outcome, an alarm; returns the `AlarmRecord` after.

    `expected`: refuse (`StaleStateError`) unless the alarm is in that state now, so two
    consoles cannot both act on the same alarm. A resolved alarm never changes.
    """

    name: ClassVar[str] = "alarm.state"

    alarm_id: int
    state: AlarmState | str
    user: str
    outcome: Outcome | str | None = None
    note: str | None = None
    expected: AlarmState | str | None = None
    detail: Mapping[str, Any] | None = None
    at: datetime | None = None

    def __post_init__(self) -> None:
        state = AlarmState(self.state)
        if state not in STATE_EVENTS:
            raise ValueError(
                f"ChangeAlarmState takes acknowledged or resolved, not {state.value!r} "
                "(RaiseAlarm raises, RecordDispatch dispatches)"
            )
        outcome = Outcome(self.outcome) if self.outcome is not None else None
        if (state == AlarmState.RESOLVED) != (outcome is not None):
            raise ValueError("an outcome is required to resolve, and only to resolve")
        set_field(self, "state", state)
        set_field(self, "outcome", outcome)
        if self.expected is not None:
            set_field(self, "expected", AlarmState(self.expected))
        set_field(self, "detail", frozen_detail(self.detail))
        set_field(self, "at", aware(self.at, "at"))

    def run(self, session: Session, files: StoreFiles) -> AlarmRecord:
        assert self.at is not None
        state = AlarmState(self.state)
        outcome = Outcome(self.outcome) if self.outcome is not None else None
        alarm = load_alarm(session, self.alarm_id)
        _check_expected(alarm, AlarmState(self.expected) if self.expected else None)
        previous = alarm.state
        alarm.state = state
        alarm.updated_at = self.at
        if outcome is not None:
            alarm.outcome = outcome
        if self.note is not None:
            alarm.note = self.note
        facts: dict[str, Any] = {"from": previous.value, "to": state.value}
        if outcome is not None:
            facts["outcome"] = outcome.value
        if self.note is not None:
            facts["note"] = self.note
        detail = {**facts, **(self.detail or {})}
        add_event(session, alarm, STATE_EVENTS[state], self.user, detail, self.at)
        return alarm_record(alarm)


@dataclass(frozen=True, slots=True)
class RecordDispatch:
    """A guard was sent: stores the dispatch, moves the alarm to `dispatched`; returns the
    dispatch id."""

    name: ClassVar[str] = "alarm.dispatch"

    alarm_id: int
    guard_id: str
    user: str
    post: str | None = None
    expected: AlarmState | str | None = None
    at: datetime | None = None

    def __post_init__(self) -> None:
        if self.expected is not None:
            set_field(self, "expected", AlarmState(self.expected))
        set_field(self, "at", aware(self.at, "at"))

    def run(self, session: Session, files: StoreFiles) -> int:
        assert self.at is not None
        alarm = load_alarm(session, self.alarm_id)
        _check_expected(alarm, AlarmState(self.expected) if self.expected else None)
        previous = alarm.state
        dispatch = Dispatch(
            alarm_id=alarm.id, guard_id=self.guard_id, post=self.post, sent_at=self.at
        )
        session.add(dispatch)
        session.flush()
        alarm.state = AlarmState.DISPATCHED
        alarm.updated_at = self.at
        facts = {
            "from": previous.value,
            "to": AlarmState.DISPATCHED.value,
            "dispatch_id": dispatch.id,
            "guard_id": self.guard_id,
            "post": self.post,
        }
        add_event(session, alarm, EventKind.DISPATCH, self.user, facts, self.at, rows=[dispatch])
        return dispatch.id


@dataclass(frozen=True, slots=True)
class RecordArrival:
    """The dispatched guard arrived on site (once)."""

    name: ClassVar[str] = "alarm.arrive"

    dispatch_id: int
    user: str
    outcome: str | None = None
    at: datetime | None = None

    def __post_init__(self) -> None:
        set_field(self, "at", aware(self.at, "at"))

    def run(self, session: Session, files: StoreFiles) -> None:
        assert self.at is not None
        dispatch = session.get(Dispatch, self.dispatch_id)
        if dispatch is None:
            raise AlarmNotFoundError(f"no dispatch {self.dispatch_id}")
        if dispatch.arrived_at is not None:
            raise StaleStateError(
                f"dispatch {self.dispatch_id} already arrived at {iso(dispatch.arrived_at)}"
            )
        dispatch.arrived_at = self.at
        if self.outcome is not None:
            dispatch.outcome = self.outcome
        alarm = load_alarm(session, dispatch.alarm_id)
        alarm.updated_at = self.at
        facts = {
            "dispatch_id": self.dispatch_id,
            "guard_id": dispatch.guard_id,
            "outcome": self.outcome,
        }
        add_event(session, alarm, EventKind.ARRIVE, self.user, facts, self.at, rows=[dispatch])


@dataclass(frozen=True, slots=True)
class RecordOccurrence:
    """A sighting folded into an alarm: written when it starts and again when it ends (the same
    row, found by alarm, camera, track and start), each time audited (`alarm.occurrence`, with
    the row's digest). Returns the row's id."""

    name: ClassVar[str] = "alarm.occurrence"

    alarm_id: int
    camera_id: str
    track_id: int | None
    started_at: datetime
    ended_at: datetime | None = None
    video_start_s: float | None = None
    video_end_s: float | None = None
    closest_m: float | None = None
    condition: str | None = None  # a camera's own alarm: which condition (video_loss, ...)

    def __post_init__(self) -> None:
        set_field(self, "started_at", aware(self.started_at, "started_at"))
        if self.ended_at is not None:
            set_field(self, "ended_at", aware(self.ended_at, "ended_at"))

    def run(self, session: Session, files: StoreFiles) -> int:
        load_alarm(session, self.alarm_id)
        row = session.scalars(
            select(Occurrence).where(
                Occurrence.alarm_id == self.alarm_id,
                Occurrence.camera_id == self.camera_id,
                Occurrence.track_id.is_(None)
                if self.track_id is None
                else Occurrence.track_id == self.track_id,
                Occurrence.started_at == self.started_at,
            )
        ).first()
        if row is None:
            row = Occurrence(
                alarm_id=self.alarm_id,
                camera_id=self.camera_id,
                track_id=self.track_id,
                condition=self.condition,
                started_at=self.started_at,
            )
            session.add(row)
        row.ended_at = self.ended_at
        row.video_start_s = self.video_start_s
        row.video_end_s = self.video_end_s
        row.closest_m = self.closest_m
        session.flush()
        facts = {
            "occurrence_id": row.id,
            "camera_id": self.camera_id,
            "track_id": self.track_id,
            "condition": row.condition,
            "started_at": iso(self.started_at),
            "ended_at": iso(self.ended_at) if self.ended_at is not None else None,
            "closest_m": self.closest_m,
        }
        at = self.ended_at or self.started_at
        target = f"alarm:{self.alarm_id}"
        audit.append(session, SYSTEM_USER, "alarm.occurrence", target, facts, at, rows=[row])
        return row.id


# --------------------------------------------------------------------------- queries


def get_alarm(session: Session, alarm_id: int) -> AlarmRecord:
    """The alarm with that id; `AlarmNotFoundError` if there is none."""
    return alarm_record(load_alarm(session, alarm_id))


def list_alarms(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    camera_id: str | Collection[str] | None = None,
    subject: str | Collection[str] | None = None,
    state: AlarmState | str | Collection[AlarmState | str] | None = None,
    outcome: Outcome | str | Collection[Outcome | str] | None = None,
    rule: str | Collection[str] | None = None,
    limit: int | None = None,
    offset: int = 0,
    newest_first: bool = True,
) -> list[AlarmRecord]:
    """Alarms raised in [since, until), filtered by any of camera, subject, state, outcome,
    rule (each one value or several)."""
    query = select(Alarm)
    if since is not None:
        query = query.where(Alarm.raised_at >= aware(since, "since"))
    if until is not None:
        query = query.where(Alarm.raised_at < aware(until, "until"))

    def values(value: object, convert: Callable[[Any], Any]) -> list[Any]:
        if isinstance(value, str):
            return [convert(value)]
        assert isinstance(value, Collection)
        return [convert(v) for v in value]

    if camera_id is not None:
        query = query.where(Alarm.camera_id.in_(values(camera_id, str)))
    if subject is not None:
        query = query.where(Alarm.subject.in_(values(subject, str)))
    if rule is not None:
        query = query.where(Alarm.rule.in_(values(rule, str)))
    if state is not None:
        query = query.where(Alarm.state.in_(values(state, AlarmState)))
    if outcome is not None:
        query = query.where(Alarm.outcome.in_(values(outcome, Outcome)))
    if newest_first:
        query = query.order_by(Alarm.raised_at.desc(), Alarm.id.desc())
    else:
        query = query.order_by(Alarm.raised_at, Alarm.id)
    query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return [alarm_record(a) for a in session.scalars(query)]


def open_alarms(session: Session) -> list[AlarmRecord]:
    """Every alarm not yet resolved, oldest first (what a restarted console latches)."""
    unresolved = [st for st in AlarmState if st != AlarmState.RESOLVED]
    return list_alarms(session, state=unresolved, newest_first=False)


def find_open_alarm(session: Session, episode_key: str) -> AlarmRecord | None:
    """The newest unresolved alarm of an episode, if any."""
    query = (
        select(Alarm)
        .where(Alarm.episode_key == episode_key, Alarm.state != AlarmState.RESOLVED)
        .order_by(Alarm.id.desc())
        .limit(1)
    )
    alarm = session.scalars(query).first()
    return alarm_record(alarm) if alarm is not None else None


def count_alarms(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Alarm)) or 0


def next_alarm_id(session: Session) -> int:
    """The id after the highest stored (1 for an empty store): where an alarm manager that gives
    ids itself starts counting."""
    return (session.scalar(select(func.max(Alarm.id))) or 0) + 1


def alarm_events(session: Session, alarm_id: int) -> list[AlarmEventRecord]:
    query = select(AlarmEvent).where(AlarmEvent.alarm_id == alarm_id).order_by(AlarmEvent.id)
    return [_event_record(e) for e in session.scalars(query)]


def occurrences(session: Session, alarm_id: int) -> list[OccurrenceRecord]:
    """The alarm's sightings, in the order they started."""
    query = (
        select(Occurrence)
        .where(Occurrence.alarm_id == alarm_id)
        .order_by(Occurrence.started_at, Occurrence.id)
    )
    return [_occurrence_record(o) for o in session.scalars(query)]


def dispatches(session: Session, alarm_id: int) -> list[DispatchRecord]:
    query = select(Dispatch).where(Dispatch.alarm_id == alarm_id).order_by(Dispatch.id)
    return [_dispatch_record(d) for d in session.scalars(query)]
