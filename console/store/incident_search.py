"""Finding incidents in a large log: filtered pages, an incident's whole record, and the figures
of a filtered set, as query functions for the reader thread (`store.read(fn, ...)`).

    store.read(search_incidents, IncidentFilter(rules=("proximity",)), 200)       # first page
    store.read(search_incidents, f, 200, after=page.next_key, count=False)         # the next one
    store.read(incident_record, 7)                   # steps, guards, sightings, pictures, clips
    store.read(incident_figures, f, "Europe/Amsterdam")                            # the charts

Pages are keyset pages, newest first (`raised_at`, `id`): asking for page 500 costs what page 1
does, and a window never holds more than one page of rows. The figures are computed in the
database where SQL can (counts by object, rule and outcome, the acknowledge-time histogram, per
shift the share acknowledged within 30 s and 60 s) and from one column of times where the
site's time zone decides (alarms per night, a night running from noon to noon, local time).
`bench/incident_browser.py` measures them on 100,000 alarms against loading every row.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    or_,
    select,
    tuple_,
)
from sqlalchemy.orm import Session

from console.store.alarms import (
    AlarmEventRecord,
    AlarmRecord,
    DispatchRecord,
    OccurrenceRecord,
    alarm_events,
    dispatches,
    get_alarm,
    occurrences,
)
from console.store.clips import ClipRecord, clips
from console.store.models import (
    Alarm,
    AlarmEvent,
    AlarmState,
    Clip,
    ClipState,
    EventKind,
    Outcome,
    Shift,
    User,
)
from console.store.snapshots import SnapshotRecord, snapshots
from console.store.tasks import aware

__all__ = [
    "ACK_BUCKETS_S",
    "AlarmEvidence",
    "IncidentFigures",
    "IncidentFilter",
    "IncidentPage",
    "IncidentRecord",
    "IncidentRow",
    "ResponseTimes",
    "ShiftFigure",
    "alarm_evidence",
    "incident_figures",
    "incident_record",
    "search_incidents",
]

MAX_PAGE = 1000
ACK_BUCKETS_S = (10, 30, 60, 120, 300, 900)  # acknowledge-time histogram edges, seconds
OPEN = "open"  # the outcome filter's word for alarms not yet resolved
HANDLED = (
    EventKind.ACKNOWLEDGE,
    EventKind.DISPATCH,
    EventKind.ARRIVE,
    EventKind.RESOLVE,
    EventKind.COMMENT,
    EventKind.SEEN,
)


@dataclass(frozen=True, slots=True)
class IncidentFilter:
    """What to look for; every field left empty matches everything. The console resolves a
    floor, a zone or an object into camera and subject ids from the site before asking."""

    since: datetime | None = None
    until: datetime | None = None
    cameras: tuple[str, ...] = ()  # the alarm's camera is one of these
    subjects: tuple[str, ...] = ()  # its object or zone is one of these
    # a floor: its camera is one of the first, or its subject one of the second
    floor: tuple[tuple[str, ...], tuple[str, ...]] | None = None
    rules: tuple[str, ...] = ()
    severities: tuple[str, ...] = ()
    outcomes: tuple[str, ...] = ()  # Outcome values, and/or "open" (not yet resolved)
    operator: str | None = None  # someone who handled it (acknowledged, dispatched, ...)
    include_replayed: bool = False

    def __post_init__(self) -> None:
        if self.since is not None:
            object.__setattr__(self, "since", aware(self.since, "since"))
        if self.until is not None:
            object.__setattr__(self, "until", aware(self.until, "until"))
        known = {o.value for o in Outcome} | {OPEN}
        wrong = [o for o in self.outcomes if o not in known]
        if wrong:
            raise ValueError(f"outcome {wrong[0]!r} is not one of {', '.join(sorted(known))}")

    def as_json(self) -> dict[str, Any]:
        """The filter as the audit log records it."""
        facts: dict[str, Any] = {}
        if self.since is not None:
            facts["since"] = self.since.isoformat()
        if self.until is not None:
            facts["until"] = self.until.isoformat()
        for name in ("cameras", "subjects", "rules", "severities", "outcomes"):
            values = getattr(self, name)
            if values:
                facts[name] = list(values)
        if self.floor is not None:
            facts["floor"] = {"cameras": list(self.floor[0]), "subjects": list(self.floor[1])}
        if self.operator:
            facts["operator"] = self.operator
        return facts


def _conditions(f: IncidentFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if f.since is not None:
        where.append(Alarm.raised_at >= f.since)
    if f.until is not None:
        where.append(Alarm.raised_at < f.until)
    if f.cameras:
        where.append(Alarm.camera_id.in_(f.cameras))
    if f.subjects:
        where.append(Alarm.subject.in_(f.subjects))
    if f.floor is not None:
        cams, subjects = f.floor
        where.append(or_(Alarm.camera_id.in_(cams), Alarm.subject.in_(subjects)))
    if f.rules:
        where.append(Alarm.rule.in_(f.rules))
    if f.severities:
        where.append(Alarm.severity.in_(f.severities))
    if f.outcomes:
        outcomes = [Outcome(o) for o in f.outcomes if o != OPEN]
        either: list[ColumnElement[bool]] = []
        if outcomes:
            either.append(and_(Alarm.state == AlarmState.RESOLVED, Alarm.outcome.in_(outcomes)))
        if OPEN in f.outcomes:
            either.append(Alarm.state != AlarmState.RESOLVED)
        where.append(or_(*either))
    if f.operator:
        where.append(
            exists().where(
                AlarmEvent.alarm_id == Alarm.id,
                AlarmEvent.user == f.operator,
                AlarmEvent.kind.in_(HANDLED),
            )
        )
    if not f.include_replayed:
        where.append(Alarm.replayed.is_(False))
    return where


def _seconds(session: Session, later: Any, earlier: Any) -> ColumnElement[float]:
    """`later - earlier` in seconds, in the database's own arithmetic."""
    if session.get_bind().dialect.name == "sqlite":  # julianday's doubles: to the millisecond
        return func.round((func.julianday(later) - func.julianday(earlier)) * 86400.0, 3)
    return cast(func.extract("epoch", later - earlier), Float)


def _first(kind: EventKind) -> Any:
    """The time of an alarm's first step of this kind (a correlated subquery)."""
    return (
        select(func.min(AlarmEvent.at))
        .where(AlarmEvent.alarm_id == Alarm.id, AlarmEvent.kind == kind)
        .scalar_subquery()
    )


def _first_user(kind: EventKind) -> Any:
    return (
        select(AlarmEvent.user)
        .where(AlarmEvent.alarm_id == Alarm.id, AlarmEvent.kind == kind)
        .order_by(AlarmEvent.id)
        .limit(1)
        .scalar_subquery()
    )


# --------------------------------------------------------------------------- pages


@dataclass(frozen=True, slots=True)
class IncidentRow:
    """One incident as the browser's table shows it."""

    alarm_id: int
    raised_at: datetime
    camera_id: str
    subject: str | None
    rule: str
    severity: str
    state: AlarmState
    outcome: Outcome | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_by: str | None
    clips_kept: int


@dataclass(frozen=True, slots=True)
class IncidentPage:
    rows: tuple[IncidentRow, ...]
    next_key: tuple[datetime, int] | None  # ask with after=next_key for the next page
    total: int | None  # how many match in all (None: not counted this time)


def search_incidents(
    session: Session,
    f: IncidentFilter,
    page_size: int = 200,
    *,
    after: tuple[datetime, int] | None = None,
    count: bool = True,
) -> IncidentPage:
    """One page of the incidents matching `f`, newest first, after `after` (the previous page's
    `next_key`); `count` also counts every match."""
    if not 1 <= page_size <= MAX_PAGE:
        raise ValueError(f"page_size must be 1..{MAX_PAGE} (got {page_size})")
    where = _conditions(f)
    kept = (
        select(func.count())
        .select_from(Clip)
        .where(Clip.alarm_id == Alarm.id, Clip.state == ClipState.KEPT)
        .scalar_subquery()
    )
    query = select(
        Alarm.id,
        Alarm.raised_at,
        Alarm.camera_id,
        Alarm.subject,
        Alarm.rule,
        Alarm.severity,
        Alarm.state,
        Alarm.outcome,
        _first(EventKind.ACKNOWLEDGE),
        _first_user(EventKind.ACKNOWLEDGE),
        _first_user(EventKind.RESOLVE),
        kept,
    ).where(*where)
    if after is not None:
        at, alarm_id = after
        query = query.where(tuple_(Alarm.raised_at, Alarm.id) < tuple_(aware(at), alarm_id))
    query = query.order_by(Alarm.raised_at.desc(), Alarm.id.desc()).limit(page_size + 1)
    found = session.execute(query).all()
    rows = tuple(
        IncidentRow(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            r[5],
            AlarmState(r[6]),
            Outcome(r[7]) if r[7] is not None else None,
            r[8] if r[8] is None or r[8].tzinfo else r[8].replace(tzinfo=UTC),
            r[9],
            r[10],
            int(r[11] or 0),
        )
        for r in found[:page_size]
    )
    more = len(found) > page_size
    next_key = (rows[-1].raised_at, rows[-1].alarm_id) if more and rows else None
    total = None
    if count:
        total = session.scalar(select(func.count()).select_from(Alarm).where(*where)) or 0
    return IncidentPage(rows, next_key, total)


# --------------------------------------------------------------------------- one incident


@dataclass(frozen=True, slots=True)
class ResponseTimes:
    """Seconds from the raise to each step (None: not taken), and between the steps."""

    acknowledged_s: float | None
    dispatched_s: float | None
    on_scene_s: float | None
    resolved_s: float | None

    def steps(self) -> list[tuple[str, float | None]]:
        """(step, seconds since the step before it) for raise→ack→dispatch→on scene→resolve."""
        out: list[tuple[str, float | None]] = []
        previous: float | None = 0.0
        for name, value in (
            ("acknowledge", self.acknowledged_s),
            ("dispatch", self.dispatched_s),
            ("on scene", self.on_scene_s),
            ("resolve", self.resolved_s),
        ):
            if value is None:
                out.append((name, None))
                continue
            out.append((name, value - previous if previous is not None else None))
            previous = value
        return out


@dataclass(frozen=True, slots=True)
class IncidentRecord:
    """An incident's whole record: the alarm, its steps, guards, sightings, pictures, clips."""

    alarm: AlarmRecord
    events: tuple[AlarmEventRecord, ...]
    dispatches: tuple[DispatchRecord, ...]
    occurrences: tuple[OccurrenceRecord, ...]
    snapshots: tuple[SnapshotRecord, ...]
    clips: tuple[ClipRecord, ...]
    response: ResponseTimes


def _since(raised: datetime, at: datetime | None) -> float | None:
    return None if at is None else (at - raised).total_seconds()


def incident_record(session: Session, alarm_id: int) -> IncidentRecord:
    alarm = get_alarm(session, alarm_id)
    events = tuple(alarm_events(session, alarm_id))
    sent = tuple(dispatches(session, alarm_id))

    def first(kind: EventKind) -> datetime | None:
        return next((e.at for e in events if e.kind == kind), None)

    arrived = min((d.arrived_at for d in sent if d.arrived_at is not None), default=None)
    response = ResponseTimes(
        _since(alarm.raised_at, first(EventKind.ACKNOWLEDGE)),
        _since(alarm.raised_at, min((d.sent_at for d in sent), default=None)),
        _since(alarm.raised_at, arrived),
        _since(alarm.raised_at, first(EventKind.RESOLVE)),
    )
    return IncidentRecord(
        alarm,
        events,
        sent,
        tuple(occurrences(session, alarm_id)),
        tuple(snapshots(session, alarm_id)),
        tuple(clips(session, alarm_id)),
        response,
    )


@dataclass(frozen=True, slots=True)
class AlarmEvidence:
    """An alarm's pictures and clips (paths relative to the store's file area)."""

    snapshots: tuple[SnapshotRecord, ...]
    clips: tuple[ClipRecord, ...]

    @property
    def recording(self) -> bool:
        """A clip of it is still being collected."""
        return any(c.state == ClipState.RECORDING for c in self.clips)


def alarm_evidence(session: Session, alarm_id: int) -> AlarmEvidence:
    """What the alarm's detail shows besides its steps: snapshots (annotated, clean), clips."""
    return AlarmEvidence(tuple(snapshots(session, alarm_id)), tuple(clips(session, alarm_id)))


# --------------------------------------------------------------------------- figures


@dataclass(frozen=True, slots=True)
class ShiftFigure:
    shift_id: int
    user: str
    started_at: datetime
    ended_at: datetime | None
    alarms: int
    within_30_s: int
    within_60_s: int

    def share(self, within: int) -> float | None:
        return within / self.alarms if self.alarms else None


@dataclass(frozen=True, slots=True)
class IncidentFigures:
    total: int
    per_night: tuple[tuple[str, int], ...]  # local date the night began (YYYY-MM-DD), count
    per_subject: tuple[tuple[str, int], ...]  # object or zone id, count; most first
    ack_histogram: tuple[tuple[str, int], ...]  # "0-10 s", ..., "over 900 s", "never"
    false_alarms_per_rule: tuple[tuple[str, int, int], ...]  # rule, false alarms, resolved
    per_shift: tuple[ShiftFigure, ...]
    ack_p50_s: float | None = None
    ack_p95_s: float | None = None
    notes: tuple[str, ...] = field(default=())


def _bucket_labels() -> list[str]:
    labels = []
    low = 0
    for edge in ACK_BUCKETS_S:
        labels.append(f"{low}-{edge} s")
        low = edge
    labels.append(f"over {ACK_BUCKETS_S[-1]} s")
    return labels


def _night_of(raised: datetime, tz: ZoneInfo) -> str:
    """The night an alarm belongs to: local noon to noon, named by the day it began."""
    local = raised.astimezone(tz) - timedelta(hours=12)
    return local.date().isoformat()


def incident_figures(
    session: Session, f: IncidentFilter, timezone: str, max_shifts: int = 60
) -> IncidentFigures:
    """The charts' figures for the incidents matching `f` (times of day in `timezone`)."""
    tz = ZoneInfo(timezone)
    where = _conditions(f)
    total = session.scalar(select(func.count()).select_from(Alarm).where(*where)) or 0

    per_subject = tuple(
        (subject or "—", n)
        for subject, n in session.execute(
            select(Alarm.subject, func.count())
            .where(*where)
            .group_by(Alarm.subject)
            .order_by(func.count().desc())
        )
    )
    resolved = Alarm.state == AlarmState.RESOLVED
    false = and_(resolved, Alarm.outcome == Outcome.FALSE_ALARM)
    per_rule = tuple(
        (rule, int(n_false or 0), int(n_resolved or 0))
        for rule, n_false, n_resolved in session.execute(
            select(
                Alarm.rule,
                func.sum(case((false, 1), else_=0)),
                func.sum(case((resolved, 1), else_=0)),
            )
            .where(*where)
            .group_by(Alarm.rule)
            .order_by(Alarm.rule)
        )
    )

    ack_s = _seconds(session, _first(EventKind.ACKNOWLEDGE), Alarm.raised_at)
    delays = sorted(
        float(seconds)
        for (seconds,) in session.execute(select(ack_s).where(*where))
        if seconds is not None
    )
    labels = _bucket_labels()
    counts = [0] * len(labels)
    for seconds in delays:
        counts[bisect_right(ACK_BUCKETS_S, seconds) if seconds >= 0 else 0] += 1
    histogram = [*zip(labels, counts, strict=True), ("never", total - len(delays))]

    def quantile(q: float) -> float | None:
        if not delays:
            return None
        return delays[max(0, math.ceil(q * len(delays)) - 1)]

    per_shift, notes = _per_shift(session, f, where, ack_s, max_shifts)
    return IncidentFigures(
        total,
        _per_night(session, where, tz),
        per_subject,
        tuple(histogram),
        per_rule,
        per_shift,
        quantile(0.5),
        quantile(0.95),
        notes,
    )


def _per_night(
    session: Session, where: list[ColumnElement[bool]], tz: ZoneInfo
) -> tuple[tuple[str, int], ...]:
    """Alarms per night (local noon to noon). On SQLite the database counts per quarter hour of
    UTC (every time zone's offset is a whole number of quarter hours, so a quarter never
    straddles local noon) and Python names each quarter's night; elsewhere per alarm."""
    nights: Counter[str] = Counter()
    if session.get_bind().dialect.name == "sqlite":
        # stored as 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC): the hour, and the quarter of the minute
        quarter = func.substr(Alarm.raised_at, 1, 13).concat(
            ":" + cast(cast(func.substr(Alarm.raised_at, 15, 2), Integer) // 15 * 15, String)
        )
        for text, n in session.execute(
            select(quarter, func.count()).where(*where).group_by(quarter)
        ):
            hour, minute = str(text).rsplit(":", 1)
            at = datetime.fromisoformat(f"{hour}:{int(minute):02d}").replace(tzinfo=UTC)
            nights[_night_of(at, tz)] += int(n)
    else:
        for (raised,) in session.execute(select(Alarm.raised_at).where(*where)):
            nights[_night_of(raised, tz)] += 1
    return tuple(sorted(nights.items()))


def _per_shift(
    session: Session,
    f: IncidentFilter,
    where: list[ColumnElement[bool]],
    ack_s: ColumnElement[float],
    max_shifts: int,
) -> tuple[tuple[ShiftFigure, ...], tuple[str, ...]]:
    """Per shift (a person's time at a console, from `shifts`) in the filter's time span: the
    alarms raised during it and how many were acknowledged within 30 s and 60 s."""
    shifts = select(Shift.id, User.name, Shift.started_at, Shift.ended_at).join(
        User, Shift.user_id == User.id
    )
    if f.since is not None:
        shifts = shifts.where(or_(Shift.ended_at.is_(None), Shift.ended_at >= f.since))
    if f.until is not None:
        shifts = shifts.where(Shift.started_at < f.until)
    found = session.execute(shifts.order_by(Shift.started_at.desc()).limit(max_shifts + 1)).all()
    notes: list[str] = []
    if len(found) > max_shifts:
        notes.append(f"only the {max_shifts} latest shifts of the span were read")
        found = found[:max_shifts]
    figures: list[ShiftFigure] = []
    for shift_id, user, started, ended in reversed(found):
        during = [*where, Alarm.raised_at >= started]
        if ended is not None:
            during.append(Alarm.raised_at < ended)
        n, within_30, within_60 = session.execute(
            select(
                func.count(Alarm.id),
                func.sum(case((ack_s <= 30, 1), else_=0)),
                func.sum(case((ack_s <= 60, 1), else_=0)),
            ).where(*during)
        ).one()
        figures.append(
            ShiftFigure(
                shift_id, user, started, ended, int(n), int(within_30 or 0), int(within_60 or 0)
            )
        )
    return tuple(figures), tuple(notes)
