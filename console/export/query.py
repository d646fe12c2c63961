"""The incidents an export takes, read in batches (bounded memory, whatever the log's size).

An incident is an alarm with everything that belongs to it: its steps (events, with time and
user), its sightings (occurrences), its guard dispatches, its snapshots and its holds. Alarms
are read in order of raising, `BATCH` at a time by keyset (`raised_at, id` after the last one
read), with Core selects (no ORM identity map that would grow), and each batch's children in one
query per table. The whole export runs inside one read transaction, so what it writes is one
consistent state of the database, the chain head included.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from console.site_file import Site
from console.store.models import (
    Alarm,
    AlarmEvent,
    Clip,
    ClipState,
    Dispatch,
    Hold,
    Occurrence,
    Snapshot,
    SnapshotKind,
)
from console.store.tasks import aware, iso

Query = TypeVar("Query", bound=Select)  # a select of any row shape

BATCH = 500
OPEN = "open"  # an outcome filter: alarms not resolved yet


@dataclass(frozen=True, slots=True)
class ExportFilters:
    """Alarms raised in [since, until) (aware times), narrowed by any of the lists (empty: all;
    several lists: each must match). `subjects`: the protected object or zone the alarm is
    about. `operators`: alarms on which one of these users took a step. `floors`: alarms seen by
    a camera on one of these floors, or about an object or zone on them; the site says which
    (`for_site`, which also checks every id against the site)."""

    since: datetime
    until: datetime
    cameras: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    severities: tuple[str, ...] = ()
    outcomes: tuple[str, ...] = ()
    operators: tuple[str, ...] = ()
    subjects: tuple[str, ...] = ()
    floors: tuple[str, ...] = ()
    floor_cameras: tuple[str, ...] = ()  # filled by for_site from `floors`
    floor_subjects: tuple[str, ...] = ()

    @classmethod
    def for_site(cls, site: Site, since: datetime, until: datetime, **lists: Any) -> ExportFilters:
        """Filters whose camera, object, zone and floor ids are checked against `site` (an
        unknown id is a ValueError naming it and the known ones), floors resolved to their
        cameras, objects and zones."""
        known = {
            "cameras": ("camera", [c.id for c in site.cameras]),
            "subjects": (
                "protected object or zone",
                [o.id for o in site.protected_objects] + [z.id for z in site.zones],
            ),
            "floors": ("floor", [f.id for f in site.floors]),
        }
        for name, (word, ids) in known.items():
            for value in lists.get(name, ()):
                if value not in ids:
                    raise ValueError(
                        f"no {word} {value!r} in the site {site.site.name!r} "
                        f"(known: {', '.join(ids) or 'none'})"
                    )
        floors = tuple(lists.get("floors", ()))
        cams = tuple(c.id for f in floors for c in site.cameras_on(f))
        things = tuple(
            [o.id for f in floors for o in site.objects_on(f)]
            + [z.id for f in floors for z in site.zones_on(f)]
        )
        return cls(since, until, floor_cameras=cams, floor_subjects=things, **lists)

    def __post_init__(self) -> None:
        object.__setattr__(self, "since", aware(self.since, "since"))
        object.__setattr__(self, "until", aware(self.until, "until"))
        if self.until <= self.since:
            raise ValueError(
                f"the export's period is empty: from {iso(self.since)} to {iso(self.until)}"
            )

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": iso(self.since),
            "to": iso(self.until),
            "cameras": list(self.cameras),
            "rules": list(self.rules),
            "severities": list(self.severities),
            "outcomes": list(self.outcomes),
            "operators": list(self.operators),
            "subjects": list(self.subjects),
            "floors": list(self.floors),
        }


@dataclass(frozen=True, slots=True)
class Step:
    id: int
    kind: str
    at: datetime
    user: str
    detail: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class Sighting:
    id: int
    camera_id: str
    track_id: int | None
    condition: str | None
    started_at: datetime
    ended_at: datetime | None
    video_start_s: float | None
    video_end_s: float | None
    closest_m: float | None


@dataclass(frozen=True, slots=True)
class GuardSent:
    id: int
    guard_id: str
    post: str | None
    sent_at: datetime
    arrived_at: datetime | None
    outcome: str | None


@dataclass(frozen=True, slots=True)
class SnapshotFile:
    id: int
    path: str  # relative to the store's snapshots folder
    sha256: str
    taken_at: datetime
    purged_at: datetime | None


@dataclass(frozen=True, slots=True)
class HoldInfo:
    id: int
    reason: str
    case_ref: str | None
    placed_by: str
    placed_at: datetime
    released_at: datetime | None


@dataclass(frozen=True, slots=True)
class Incident:
    id: int
    camera_id: str
    rule: str
    subject: str | None
    severity: str
    track_id: int | None
    state: str
    raised_at: datetime
    updated_at: datetime
    outcome: str | None
    note: str | None
    replayed: bool
    steps: tuple[Step, ...] = ()
    sightings: tuple[Sighting, ...] = ()
    dispatches: tuple[GuardSent, ...] = ()
    snapshots: tuple[SnapshotFile, ...] = ()
    holds: tuple[HoldInfo, ...] = ()

    def first_step(self, kind: str) -> Step | None:
        return next((s for s in self.steps if s.kind == kind), None)

    @property
    def raise_detail(self) -> dict[str, Any]:
        step = self.first_step("raise")
        return dict(step.detail or {}) if step is not None else {}

    @property
    def acknowledged(self) -> Step | None:
        return self.first_step("acknowledge")

    @property
    def resolved(self) -> Step | None:
        return self.first_step("resolve")

    @property
    def escalated(self) -> bool:
        return any(s.kind == "escalate" for s in self.steps)

    @property
    def ack_s(self) -> float | None:
        """Seconds from raising to the first acknowledgement (None: never acknowledged)."""
        ack = self.acknowledged
        return None if ack is None else (ack.at - self.raised_at).total_seconds()

    @property
    def on_hold(self) -> HoldInfo | None:
        return next((h for h in self.holds if h.released_at is None), None)


@dataclass
class _Children:
    steps: dict[int, list[Step]] = field(default_factory=lambda: defaultdict(list))
    sightings: dict[int, list[Sighting]] = field(default_factory=lambda: defaultdict(list))
    dispatches: dict[int, list[GuardSent]] = field(default_factory=lambda: defaultdict(list))
    snapshots: dict[int, list[SnapshotFile]] = field(default_factory=lambda: defaultdict(list))
    holds: dict[int, list[HoldInfo]] = field(default_factory=lambda: defaultdict(list))


def _where(query: Query, f: ExportFilters) -> Query:
    query = query.where(Alarm.raised_at >= f.since, Alarm.raised_at < f.until)
    if f.cameras:
        query = query.where(Alarm.camera_id.in_(f.cameras))
    if f.rules:
        query = query.where(Alarm.rule.in_(f.rules))
    if f.severities:
        query = query.where(Alarm.severity.in_(f.severities))
    if f.outcomes:  # "open": not resolved yet (the incident browser's "Not resolved yet")
        named = [o for o in f.outcomes if o != OPEN]
        either = [Alarm.outcome.in_(named)] if named else []
        if OPEN in f.outcomes:
            either.append(Alarm.outcome.is_(None))
        query = query.where(or_(*either))
    if f.operators:
        acted = select(AlarmEvent.alarm_id).where(AlarmEvent.user.in_(f.operators))
        query = query.where(Alarm.id.in_(acted))
    if f.subjects:
        query = query.where(Alarm.subject.in_(f.subjects))
    if f.floors:
        query = query.where(
            or_(Alarm.camera_id.in_(f.floor_cameras), Alarm.subject.in_(f.floor_subjects))
        )
    return query


def count_incidents(session: Session, filters: ExportFilters) -> int:
    return session.scalar(_where(select(func.count()).select_from(Alarm), filters)) or 0


def count_kept_clips(session: Session, filters: ExportFilters) -> int:
    """The clips an export of `filters` would put out (kept, not purged): what a blurring
    export's progress counts."""
    alarms = _where(select(Alarm.id), filters)
    query = select(func.count(Clip.id)).where(
        Clip.alarm_id.in_(alarms), Clip.state == ClipState.KEPT, Clip.purged_at.is_(None)
    )
    return session.scalar(query) or 0


_ALARM_COLUMNS = (
    Alarm.id,
    Alarm.camera_id,
    Alarm.rule,
    Alarm.subject,
    Alarm.severity,
    Alarm.track_id,
    Alarm.state,
    Alarm.raised_at,
    Alarm.updated_at,
    Alarm.outcome,
    Alarm.note,
    Alarm.replayed,
)


def _children(session: Session, ids: Sequence[int]) -> _Children:
    kids = _Children()
    for e in session.execute(
        select(
            AlarmEvent.id,
            AlarmEvent.alarm_id,
            AlarmEvent.kind,
            AlarmEvent.at,
            AlarmEvent.user,
            AlarmEvent.detail,
        )
        .where(AlarmEvent.alarm_id.in_(ids))
        .order_by(AlarmEvent.alarm_id, AlarmEvent.id)
    ):
        kids.steps[e.alarm_id].append(Step(e.id, str(e.kind), e.at, e.user, e.detail))
    for o in session.execute(
        select(Occurrence.__table__)
        .where(Occurrence.alarm_id.in_(ids))
        .order_by(Occurrence.alarm_id, Occurrence.started_at, Occurrence.id)
    ):
        kids.sightings[o.alarm_id].append(
            Sighting(
                o.id,
                o.camera_id,
                o.track_id,
                o.condition,
                o.started_at,
                o.ended_at,
                o.video_start_s,
                o.video_end_s,
                o.closest_m,
            )
        )
    for d in session.execute(
        select(Dispatch.__table__)
        .where(Dispatch.alarm_id.in_(ids))
        .order_by(Dispatch.alarm_id, Dispatch.id)
    ):
        kids.dispatches[d.alarm_id].append(
            GuardSent(d.id, d.guard_id, d.post, d.sent_at, d.arrived_at, d.outcome)
        )
    for s in session.execute(
        select(Snapshot.__table__)
        # the annotated snapshots; the clean ones (without boxes) go with the clips
        # (console/export/clips.py)
        .where(Snapshot.alarm_id.in_(ids), Snapshot.kind == SnapshotKind.ANNOTATED)
        .order_by(Snapshot.alarm_id, Snapshot.id)
    ):
        kids.snapshots[s.alarm_id].append(
            SnapshotFile(s.id, s.path, s.sha256, s.taken_at, s.purged_at)
        )
    for h in session.execute(
        select(Hold.__table__).where(Hold.alarm_id.in_(ids)).order_by(Hold.alarm_id, Hold.id)
    ):
        kids.holds[h.alarm_id].append(
            HoldInfo(h.id, h.reason, h.case_ref, h.placed_by, h.placed_at, h.released_at)
        )
    return kids


def stream_incidents(
    session: Session, filters: ExportFilters, *, batch: int = BATCH
) -> Iterator[Incident]:
    """The incidents the filters take, oldest first, `batch` alarms read at a time."""
    after: tuple[datetime, int] | None = None
    while True:
        query = _where(select(*_ALARM_COLUMNS), filters)
        if after is not None:
            raised, last_id = after
            query = query.where(
                or_(Alarm.raised_at > raised, and_(Alarm.raised_at == raised, Alarm.id > last_id))
            )
        rows = session.execute(query.order_by(Alarm.raised_at, Alarm.id).limit(batch)).all()
        if not rows:
            return
        kids = _children(session, [r.id for r in rows])
        for r in rows:
            yield Incident(
                id=r.id,
                camera_id=r.camera_id,
                rule=r.rule,
                subject=r.subject,
                severity=r.severity,
                track_id=r.track_id,
                state=str(r.state.value if hasattr(r.state, "value") else r.state),
                raised_at=r.raised_at,
                updated_at=r.updated_at,
                outcome=(
                    None
                    if r.outcome is None
                    else str(r.outcome.value if hasattr(r.outcome, "value") else r.outcome)
                ),
                note=r.note,
                replayed=bool(r.replayed),
                steps=tuple(kids.steps.get(r.id, ())),
                sightings=tuple(kids.sightings.get(r.id, ())),
                dispatches=tuple(kids.dispatches.get(r.id, ())),
                snapshots=tuple(kids.snapshots.get(r.id, ())),
                holds=tuple(kids.holds.get(r.id, ())),
            )
        last = rows[-1]
        after = (last.raised_at, last.id)
        if len(rows) < batch:
            return
