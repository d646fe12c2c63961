"""Alarms: findings folded into incidents, latched until handled, escalated when ignored.

The rules report findings every time they look; an alarm is what a monitor handles. The
`AlarmManager` turns one into the other:

- **Incidents, not floods.** While an alarm for a camera, rule and subject (a protected object,
  a zone, or the camera itself) is open, every finding for it folds into it, whoever it names:
  another person, the same person back, the tracker's new id for a person it lost. Each person
  (track) a camera sees is one `Occurrence` of the alarm (camera, track, from when to when, how
  close), kept with the alarm and in the store. A finding about a zone (after hours, restricted,
  loitering in it) folds across cameras: one intruder crossing a closed gallery seen by three
  cameras is one incident that lists its cameras, and the cameras that see them now.
- **Latching.** An alarm stays until it is resolved, even when the person has left; `active`
  says whether its risk is present now (an occurrence still being found). A sighting ends when
  its rule has not found it for `clear_after_s` and for 2.5 times the usual time between its
  findings, so a camera judged every few seconds does not flicker between present and cleared.
- **Re-flagging.** New activity (a new occurrence after the risk had gone) on an alarm already
  acknowledged marks it `needs_attention` (an `activity` event; the console makes it bold and
  sounds again) without a new row; acknowledging it again records `seen`.
- **No secret silence.** Nothing is muted. After an alarm is resolved, the same person at the
  same place raises no new alarm for `rearm_s` (the visitor just warned is stepping back), never
  for high severity, and every such suppression is written to the audit log and counted.
- **Lifecycle.** `raised -> acknowledged -> dispatched -> resolved(outcome, note)`, each step
  stored with its time and user; anything else is refused with `IllegalTransition`.
- **Escalation.** An alarm still unacknowledged (or re-flagged and not yet seen)
  `escalate_after_s[severity]` after it was raised escalates (an `escalate` event).
- **Snapshots.** A new alarm stores the JPEG the runtime gives for its first finding (the
  frame with the person's box drawn), and the same frame without boxes beside it (`clean`),
  their SHA-256 in the database.

Nothing here waits on the disk. The manager changes its in-memory alarms under its lock (short,
no I/O), hands each write to the store's writer as a named task and tells its listeners at once,
so an alarm is on screen as soon as it is decided. The alarm ids are the manager's own (the next
free id at start; one console owns a database, see `console.store`). When the writer has written
(or failed to write) a step, `settle()`, called on the core thread, folds the outcome back in:
`Alarm.unsaved` counts the steps not yet on disk and `Alarm.storage_fault` says which step the
store refused, so a monitor is never told an alarm is stored when it is not.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, wait
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from console.clock import Clock
from console.rules import Finding
from console.rules.camera_health import RULE as CAMERA_HEALTH
from console.rules.details import RuleDetail
from console.severity import Severity
from console.site_file import Site
from console.store import (
    AlarmState,
    AppendAudit,
    EventKind,
    Outcome,
    SnapshotKind,
    Store,
    StoreError,
)
from console.store import alarms as stored_alarms
from console.store import snapshots as stored_snapshots

log = logging.getLogger(__name__)

SYSTEM_USER = "system"

# state -> the states it may move to
TRANSITIONS: dict[AlarmState, frozenset[AlarmState]] = {
    AlarmState.RAISED: frozenset({AlarmState.ACKNOWLEDGED}),
    AlarmState.ACKNOWLEDGED: frozenset({AlarmState.DISPATCHED, AlarmState.RESOLVED}),
    AlarmState.DISPATCHED: frozenset({AlarmState.DISPATCHED, AlarmState.RESOLVED}),
    AlarmState.RESOLVED: frozenset(),
}


class IllegalTransition(ValueError):
    """An alarm cannot make this step from its current state; the message says why."""


@dataclass(frozen=True, slots=True)
class AlarmPolicy:
    """How findings become alarms. Times in seconds (the site file's `alarms:` section)."""

    clear_after_s: float = 3.0
    rearm_s: float = 30.0
    hold_looks: float = 2.5  # a sighting outlives this many of its usual gaps between findings

    @classmethod
    def of_site(cls, site: Site) -> AlarmPolicy:
        settings = site.alarms
        return cls(clear_after_s=float(settings.clear_after_s), rearm_s=float(settings.rearm_s))


ANY_CAMERA = "*"  # the camera part of a zone-wide incident's key
BEHAVIOUR_RULE = "behaviour"  # console.rules.behaviour: advisories follow their visitor


@dataclass(frozen=True, slots=True)
class GuardDispatch:
    """A guard sent to an alarm; `dispatch_id` is the store's, known once the step is written."""

    guard_id: str
    sent_at: datetime
    arrived_at: datetime | None = None
    dispatch_id: int | None = None


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One person (track) one camera saw at the alarm's subject: from when to when (`ended_at`
    None: still being found), the video seconds, and how close they came."""

    camera_id: str
    track_id: int | None
    started_at: datetime
    last_seen_at: datetime
    ended_at: datetime | None = None
    video_start_s: float | None = None
    video_end_s: float | None = None
    closest_m: float | None = None
    findings: int = 1
    gap_s: float | None = None  # the usual time between its findings (smoothed)
    condition: str | None = None  # a camera's own alarm: video_loss, frozen, covered, moved

    @property
    def open(self) -> bool:
        return self.ended_at is None

    def same_sighting(
        self, camera_id: str, track_id: int | None, condition: str | None = None
    ) -> bool:
        return (self.camera_id, self.track_id, self.condition) == (camera_id, track_id, condition)


@dataclass(frozen=True, slots=True)
class Alarm:
    """An alarm as the console shows it (immutable; every change makes a new one)."""

    alarm_id: int
    camera_id: str  # the camera that saw it first
    rule: str
    subject_id: str
    severity: Severity
    state: AlarmState
    raised_at: datetime
    updated_at: datetime
    last_seen_at: datetime
    track_ids: tuple[int, ...]
    video_start_s: float | None
    video_end_s: float | None
    detail: RuleDetail = field(default_factory=RuleDetail)  # the latest finding's
    active: bool = True
    escalated: bool = False
    outcome: Outcome | None = None
    snapshot_path: str | None = None
    dispatches: tuple[GuardDispatch, ...] = ()
    unsaved: int = 0  # steps of this alarm handed to the store and not yet written
    storage_fault: str | None = None  # the step the store refused, in words
    occurrences: tuple[Occurrence, ...] = ()
    zone_wide: bool = False  # folds the findings of every camera that sees its zone
    needs_attention: bool = False  # new activity since it was acknowledged, not yet seen
    attention_since: datetime | None = None
    replayed: bool = False

    @property
    def acknowledged(self) -> bool:
        """Handled by a person and nothing new since (a re-flagged alarm is not)."""
        return self.state != AlarmState.RAISED and not self.needs_attention

    @property
    def episode(self) -> tuple[str, str, str]:
        camera = ANY_CAMERA if self.zone_wide else self.camera_id
        return (camera, self.rule, self.subject_id)

    @property
    def stored(self) -> bool:
        """Every step of this alarm is on disk."""
        return self.unsaved == 0 and self.storage_fault is None

    @property
    def guard_on_the_way(self) -> GuardDispatch | None:
        """The newest dispatch whose guard has not arrived yet."""
        for dispatch in reversed(self.dispatches):
            if dispatch.arrived_at is None:
                return dispatch
        return None

    @property
    def cameras(self) -> tuple[str, ...]:
        """Every camera that saw it, first sighting first."""
        seen = [self.camera_id, *(o.camera_id for o in self.occurrences)]
        return tuple(dict.fromkeys(seen))

    @property
    def cameras_now(self) -> tuple[str, ...]:
        """The cameras that see its risk now (where the focus wall should look)."""
        return tuple(dict.fromkeys(o.camera_id for o in self.occurrences if o.open))

    @property
    def people_now(self) -> int:
        """People found at it now (open occurrences that name a person)."""
        return sum(1 for o in self.occurrences if o.open and o.track_id is not None)

    @property
    def people_seen(self) -> int:
        """The most people found at it at once on one camera: how many people at least."""
        best = 0
        for camera in self.cameras:
            spans = [
                (o.started_at, o.ended_at or datetime.max.replace(tzinfo=UTC))
                for o in self.occurrences
                if o.camera_id == camera and o.track_id is not None
            ]
            for start, _ in spans:
                best = max(best, sum(1 for s, e in spans if s <= start <= e))
        return best

    @property
    def closest_m(self) -> float | None:
        distances = [o.closest_m for o in self.occurrences if o.closest_m is not None]
        return min(distances) if distances else None


AlarmListener = Callable[[Alarm], None]
SnapshotMaker = Callable[[Finding], bytes | None]
AuditWriter = Callable[[str, str, dict[str, object]], None]
_Then = Callable[[Alarm, Any], Alarm]


def episode_key(camera_id: str, rule: str, subject_id: str) -> str:
    return f"{camera_id}/{rule}/{subject_id}"


def _condition(finding: Finding) -> str | None:
    """For findings about no person (a camera's own health): which condition, so that video
    loss folded into an open "covered" alarm is a sighting of its own, kept and stored."""
    if finding.track_id is not None:
        return None
    return finding.detail.condition


def _distance(finding: Finding) -> float | None:
    return finding.detail.distance_m


def _least(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    return a if b is None else min(a, b)


@dataclass(frozen=True, slots=True)
class _Written:
    """A store write that finished (or failed), waiting for `settle()`."""

    alarm_id: int
    task_name: str
    future: Future[Any]
    then: _Then | None


class AlarmManager:
    """Owns the open alarms of one site. One thread changes them (the core's); any thread may
    read them (`open_alarms`, `get`, `is_alarmed`)."""

    def __init__(
        self,
        store: Store,
        site: Site,
        clock: Clock,
        *,
        policy: AlarmPolicy | None = None,
        listener: AlarmListener | None = None,
        on_written: Callable[[], None] | None = None,
        replay: bool = False,
    ) -> None:
        self.store = store
        self.site = site
        self.clock = clock
        self.policy = policy or AlarmPolicy.of_site(site)
        self.replay = replay
        self._listeners: list[AlarmListener] = [listener] if listener else []
        self._on_written = on_written
        self._lock = threading.RLock()  # in-memory state only: never held across I/O
        self._open: dict[int, Alarm] = {}  # by alarm id
        self._closing: dict[int, Alarm] = {}  # resolved, with steps still being written
        self._resolved_ids: deque[int] = deque(maxlen=1000)
        # episode -> (resolved alarm, when, severity, the sightings it had)
        self._recently_resolved: dict[tuple[str, str, str], tuple[Alarm, datetime]] = {}
        self._suppressions_audited: set[tuple[int, str, int | None]] = set()
        self._looks: dict[str, deque[datetime]] = {}  # per camera, the last judged frames
        self._written: deque[_Written] = deque()
        self._pending: set[Future[Any]] = set()
        self.suppressed = 0  # findings not raised because of re-arming (each one audited)
        self.unstored: list[str] = []  # steps the store refused (of alarms no longer open too)
        if not replay:  # a replay never resumes alarms it did not raise
            self._reload_open()
        self._next_id = max([store.read(stored_alarms.next_alarm_id), *(a + 1 for a in self._open)])

    def add_listener(self, listener: AlarmListener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def set_on_written(self, wake: Callable[[], None] | None) -> None:
        """Who to wake when a write finishes (the core loop, which then calls `settle`)."""
        self._on_written = wake

    # -- reading (any thread) ------------------------------------------------------------------

    def open_alarms(self) -> list[Alarm]:
        """Unresolved alarms, most urgent first: severity, unacknowledged, newest."""
        with self._lock:
            alarms = list(self._open.values())
        return sorted(
            alarms,
            key=lambda a: (a.severity.rank, a.acknowledged, -a.raised_at.timestamp()),
        )

    def get(self, alarm_id: int) -> Alarm:
        with self._lock:
            alarm = self._open.get(alarm_id)
            if alarm is not None:
                return alarm
            if alarm_id in self._resolved_ids:
                raise IllegalTransition(f"alarm {alarm_id} is resolved; it is no longer open")
        raise IllegalTransition(f"alarm {alarm_id} is not open")

    def is_alarmed(self, camera_id: str) -> bool:
        with self._lock:
            return any(camera_id in a.cameras for a in self._open.values())

    def pending_writes(self) -> int:
        with self._lock:
            return len(self._pending)

    # -- findings in (the core thread) ---------------------------------------------------------

    def incident_key(self, finding: Finding) -> tuple[str, str, str]:
        """What a finding folds on: camera, rule, subject; a zone's findings on every camera,
        and a behaviour advisory's (its subject is the visitor) on every camera too."""
        if finding.rule == BEHAVIOUR_RULE or self._is_zone(finding.subject_id):
            return (ANY_CAMERA, finding.rule, finding.subject_id)
        return (finding.camera_id, finding.rule, finding.subject_id)

    def _is_zone(self, subject_id: str) -> bool:
        try:
            self.site.zone(subject_id)
        except KeyError:
            return False
        return True

    def looked(self, camera_id: str, at: datetime) -> None:
        """A frame of this camera was judged (whatever it found): its usual cadence tells how
        long a sighting may go unseen before it has ended."""
        looks = self._looks.setdefault(camera_id, deque(maxlen=8))
        if not looks or at > looks[-1]:
            looks.append(at)

    def ingest(
        self,
        findings: list[Finding],
        snapshot: SnapshotMaker | None = None,
        clean: SnapshotMaker | None = None,
    ) -> list[Alarm]:
        """Fold findings into alarms; returns the alarms raised by this call. The snapshot makers
        (the annotated frame, and the clean one kept beside it) run on the store's writer
        thread, not here."""
        raised: list[Alarm] = []
        changed: dict[int, Alarm] = {}
        with self._lock:
            for finding in findings:
                key = self.incident_key(finding)
                alarm = self._episode(key)
                if alarm is not None:
                    updated = self._fold(alarm, finding)
                    self._open[alarm.alarm_id] = updated
                    visible = (
                        updated.active != alarm.active
                        or updated.severity != alarm.severity
                        or updated.needs_attention != alarm.needs_attention
                        or len(updated.occurrences) != len(alarm.occurrences)
                    )
                    if visible:
                        changed[updated.alarm_id] = self._open[alarm.alarm_id]
                    continue
                if self._rearming(key, finding):
                    continue
                alarm = self._raise(key, finding, snapshot, clean)
                raised.append(alarm)
        for alarm in [
            *raised,
            *(a for i, a in changed.items() if i not in {r.alarm_id for r in raised}),
        ]:
            self._notify(alarm)
        return raised

    def _episode(self, key: tuple[str, str, str]) -> Alarm | None:
        """The open alarm of this incident, if any (the newest, should there be two)."""
        found = [a for a in self._open.values() if a.episode == key]
        return max(found, key=lambda a: a.raised_at) if found else None

    def _fold(self, alarm: Alarm, finding: Finding) -> Alarm:
        tracks = alarm.track_ids
        if finding.track_id is not None and finding.track_id not in tracks:
            tracks = (*tracks, finding.track_id)
        start, end = alarm.video_start_s, alarm.video_end_s
        if finding.video_ts is not None:
            start = finding.video_ts if start is None else min(start, finding.video_ts)
            end = finding.video_ts if end is None else max(end, finding.video_ts)
        occurrences = list(alarm.occurrences)
        index = next(
            (
                i
                for i, o in enumerate(occurrences)
                if o.open
                and o.same_sighting(finding.camera_id, finding.track_id, _condition(finding))
            ),
            None,
        )
        new_activity = False
        if index is None:
            occurrence = Occurrence(
                finding.camera_id,
                finding.track_id,
                finding.at,
                finding.at,
                video_start_s=finding.video_ts,
                video_end_s=finding.video_ts,
                closest_m=_distance(finding),
                condition=_condition(finding),
            )
            occurrences.append(occurrence)
            # the risk had gone and comes back: an acknowledged alarm wants a look again
            new_activity = not alarm.active and alarm.state != AlarmState.RAISED
        else:
            before = occurrences[index]
            gap = (finding.at - before.last_seen_at).total_seconds()
            occurrences[index] = replace(
                before,
                last_seen_at=max(before.last_seen_at, finding.at),
                video_end_s=finding.video_ts
                if finding.video_ts is not None
                else before.video_end_s,
                closest_m=_least(before.closest_m, _distance(finding)),
                findings=before.findings + 1,
                gap_s=gap if before.gap_s is None else 0.7 * before.gap_s + 0.3 * gap,
            )
        updated = replace(
            alarm,
            track_ids=tracks,
            video_start_s=start,
            video_end_s=end,
            last_seen_at=max(alarm.last_seen_at, finding.at),
            active=True,
            # a risk that grows is shown as what it is now
            severity=alarm.severity.graver(Severity(finding.severity)),
            detail=finding.detail,
            occurrences=tuple(occurrences),
        )
        self._open[alarm.alarm_id] = updated
        if index is None:
            self._write_occurrence(updated, occurrences[-1])
        if new_activity and not updated.needs_attention:
            updated = replace(
                self._open[alarm.alarm_id],
                needs_attention=True,
                attention_since=finding.at,
                escalated=False,
            )
            self._open[alarm.alarm_id] = updated
            self._write(
                alarm.alarm_id,
                stored_alarms.AddAlarmEvent(
                    alarm_id=alarm.alarm_id,
                    kind=EventKind.ACTIVITY,
                    user=SYSTEM_USER,
                    detail={"camera_id": finding.camera_id, "track_id": finding.track_id},
                    at=finding.at,
                ),
            )
            log.warning(
                "alarm %d: new activity at %s on %s", alarm.alarm_id, alarm.subject_id,
                finding.camera_id,
            )  # fmt: skip
        return self._open[alarm.alarm_id]

    def _rearming(self, key: tuple[str, str, str], finding: Finding) -> bool:
        """Right after a resolve, the same person at the same place (not a high risk) is the
        visitor stepping back: not raised again, but audited once and counted."""
        recent = self._recently_resolved.get(key)
        if recent is None or Severity(finding.severity) == Severity.HIGH:
            return False
        if finding.rule == CAMERA_HEALTH:  # a camera lost again is a new outage, not a visitor
            return False
        resolved, at = recent
        if (finding.at - at).total_seconds() >= self.policy.rearm_s:
            return False
        same = any(
            o.camera_id == finding.camera_id and o.track_id == finding.track_id
            for o in resolved.occurrences
        )
        if not same:
            return False
        self.suppressed += 1
        mark = (resolved.alarm_id, finding.camera_id, finding.track_id)
        if mark not in self._suppressions_audited:
            self._suppressions_audited.add(mark)
            self._audit(
                "alarm.rearm_suppressed",
                f"alarm:{resolved.alarm_id}",
                {
                    "camera_id": finding.camera_id,
                    "track_id": finding.track_id,
                    "rule": finding.rule,
                    "subject": finding.subject_id,
                    "until": (at + timedelta(seconds=self.policy.rearm_s)).isoformat(),
                },
                finding.at,
            )
            log.info(
                "alarm %d was resolved %.0f s ago: %s on %s not raised again (re-arm)",
                resolved.alarm_id,
                (finding.at - at).total_seconds(),
                finding.rule,
                finding.subject_id,
            )
        return True

    def _raise(
        self,
        key: tuple[str, str, str],
        finding: Finding,
        snapshot: SnapshotMaker | None,
        clean: SnapshotMaker | None = None,
    ) -> Alarm:
        """A new alarm, in memory at once; its row and snapshot are queued for the writer."""
        alarm_id = self._next_id
        self._next_id += 1
        detail = finding.detail
        tracks = () if finding.track_id is None else (finding.track_id,)
        occurrence = Occurrence(
            finding.camera_id,
            finding.track_id,
            finding.at,
            finding.at,
            video_start_s=finding.video_ts,
            video_end_s=finding.video_ts,
            closest_m=_distance(finding),
            condition=_condition(finding),
        )
        alarm = Alarm(
            alarm_id,
            finding.camera_id,
            finding.rule,
            finding.subject_id,
            Severity(finding.severity),
            AlarmState.RAISED,
            finding.at,
            finding.at,
            finding.at,
            tracks,
            finding.video_ts,
            finding.video_ts,
            detail,
            occurrences=(occurrence,),
            zone_wide=key[0] == ANY_CAMERA,
            replayed=self.replay,
        )
        self._open[alarm_id] = alarm
        self._write(
            alarm_id,
            stored_alarms.RaiseAlarm(
                alarm_id=alarm_id,
                camera_id=finding.camera_id,
                rule=finding.rule,
                severity=str(finding.severity),
                subject=finding.subject_id,
                track_id=finding.track_id,
                episode_key=episode_key(*key),
                raised_at=finding.at,
                detail={"video_ts": finding.video_ts, **detail.as_json()},
                replayed=self.replay,
            ),
        )
        self._write_occurrence(self._open[alarm_id], occurrence)
        if snapshot is not None:

            def jpeg() -> bytes | None:  # runs on the writer thread
                return snapshot(finding)

            self._write(
                alarm_id,
                stored_snapshots.StoreSnapshot(alarm_id=alarm_id, jpeg=jpeg, taken_at=finding.at),
                then=self._with_snapshot,
            )
        if clean is not None:  # evidence: the same frame without boxes, kept beside it

            def clean_jpeg() -> bytes | None:  # runs on the writer thread
                return clean(finding)

            self._write(
                alarm_id,
                stored_snapshots.StoreSnapshot(
                    alarm_id=alarm_id,
                    jpeg=clean_jpeg,
                    taken_at=finding.at,
                    kind=SnapshotKind.CLEAN,
                ),
            )
        log.warning(
            "alarm %d raised: %s on %s at %s (%s)",
            alarm_id,
            finding.rule,
            finding.subject_id,
            finding.camera_id,
            finding.severity,
        )
        return self._open[alarm_id]

    def _write_occurrence(self, alarm: Alarm, occurrence: Occurrence) -> None:
        self._write(
            alarm.alarm_id,
            stored_alarms.RecordOccurrence(
                alarm_id=alarm.alarm_id,
                camera_id=occurrence.camera_id,
                track_id=occurrence.track_id,
                started_at=occurrence.started_at,
                ended_at=occurrence.ended_at,
                video_start_s=occurrence.video_start_s,
                video_end_s=occurrence.video_end_s,
                closest_m=occurrence.closest_m,
                condition=occurrence.condition,
            ),
        )

    # -- time passes ---------------------------------------------------------------------------

    def _hold_s(self, occurrence: Occurrence) -> float:
        """How long a sighting may go unfound before it has ended: `clear_after_s`, or longer
        where its findings (or its camera's looks) come further apart."""
        gap = occurrence.gap_s
        if gap is None:
            looks = self._looks.get(occurrence.camera_id)
            if looks is not None and len(looks) >= 2:
                gap = (looks[-1] - looks[0]).total_seconds() / (len(looks) - 1)
        hold = self.policy.clear_after_s
        if gap is not None:
            hold = max(hold, self.policy.hold_looks * gap)
        return hold

    def tick(self) -> list[Alarm]:
        """End sightings no longer found, clear risks, escalate ignored alarms; returns what
        changed."""
        now = self.clock.now()
        changed: list[Alarm] = []
        with self._lock:
            for alarm_id, alarm in list(self._open.items()):
                updated = alarm
                ended: list[Occurrence] = []
                occurrences = []
                for occurrence in alarm.occurrences:
                    quiet_s = (now - occurrence.last_seen_at).total_seconds()
                    if occurrence.open and quiet_s >= self._hold_s(occurrence):
                        occurrence = replace(occurrence, ended_at=occurrence.last_seen_at)
                        ended.append(occurrence)
                    occurrences.append(occurrence)
                if ended:
                    updated = replace(updated, occurrences=tuple(occurrences))
                active = any(o.open for o in updated.occurrences)
                if updated.active != active:
                    updated = replace(updated, active=active)
                waiting_since = (
                    alarm.raised_at
                    if alarm.state == AlarmState.RAISED
                    else alarm.attention_since
                    if alarm.needs_attention
                    else None
                )
                if not alarm.escalated and waiting_since is not None:
                    limit = self._escalate_after_s(alarm.severity)
                    if (now - waiting_since).total_seconds() >= limit:
                        updated = replace(updated, escalated=True)
                        self._open[alarm_id] = updated
                        self._write(
                            alarm_id,
                            stored_alarms.AddAlarmEvent(
                                alarm_id=alarm_id,
                                kind=EventKind.ESCALATE,
                                user=SYSTEM_USER,
                                detail={"after_s": limit},
                                at=now,
                            ),
                        )
                        updated = self._open[alarm_id]
                        log.warning(
                            "alarm %d escalated: unacknowledged for %.0f s", alarm.alarm_id, limit
                        )
                if updated is not alarm:
                    self._open[alarm_id] = updated
                    for occurrence in ended:
                        self._write_occurrence(updated, occurrence)
                    changed.append(self._open[alarm_id])
            horizon = now - timedelta(seconds=max(self.policy.rearm_s, 1.0) * 2)
            for key, (_, at) in list(self._recently_resolved.items()):
                if at < horizon:
                    del self._recently_resolved[key]
        for alarm in changed:
            self._notify(alarm)
        return changed

    def _escalate_after_s(self, severity: Severity) -> float:
        return float(getattr(self.site.alarms.escalate_after_s, severity.value))

    # -- what the monitor does (the core thread) -----------------------------------------------

    def acknowledge(self, alarm_id: int, user: str, note: str | None = None) -> Alarm:
        """Acknowledge a new alarm, or (on an alarm re-flagged by new activity) say it was
        seen."""
        with self._lock:
            alarm = self.get(alarm_id)
            if alarm.needs_attention and alarm.state != AlarmState.RAISED:
                now = self.clock.now()
                self._open[alarm_id] = replace(
                    alarm, needs_attention=False, attention_since=None, updated_at=now
                )
                self._write(
                    alarm_id,
                    stored_alarms.AddAlarmEvent(
                        alarm_id=alarm_id,
                        kind=EventKind.SEEN,
                        user=user,
                        detail={"note": note} if note else None,
                        at=now,
                    ),
                )
                updated = self._open[alarm_id]
            else:
                updated = None
        if updated is not None:
            self._notify(updated)
            return updated
        return self._step(alarm_id, AlarmState.ACKNOWLEDGED, user, note=note)

    def dispatch(self, alarm_id: int, guard_id: str, user: str) -> Alarm:
        """Send a guard (one of the site's guards); returns the alarm with the dispatch."""
        try:
            guard = self.site.guard(guard_id)
        except KeyError as exc:
            raise IllegalTransition(str(exc.args[0]) if exc.args else str(exc)) from None
        with self._lock:
            alarm = self._check(alarm_id, AlarmState.DISPATCHED)
            now = self.clock.now()
            sent = GuardDispatch(guard.id, now)
            index = len(alarm.dispatches)
            self._open[alarm_id] = replace(
                alarm,
                state=AlarmState.DISPATCHED,
                updated_at=now,
                dispatches=(*alarm.dispatches, sent),
            )

            def learn_id(current: Alarm, dispatch_id: object) -> Alarm:
                dispatches = list(current.dispatches)
                if index < len(dispatches) and isinstance(dispatch_id, int):
                    dispatches[index] = replace(dispatches[index], dispatch_id=dispatch_id)
                return replace(current, dispatches=tuple(dispatches))

            self._write(
                alarm_id,
                stored_alarms.RecordDispatch(
                    alarm_id=alarm_id,
                    guard_id=guard.id,
                    user=user,
                    post=guard.post,
                    expected=alarm.state,
                    at=now,
                ),
                then=learn_id,
            )
            updated = self._open[alarm_id]
        self._notify(updated)
        return updated

    def guard_arrived(self, alarm_id: int, user: str, outcome: str | None = None) -> Alarm:
        """The guard on the way to this alarm arrived."""
        with self._lock:
            alarm = self.get(alarm_id)
            on_the_way = alarm.guard_on_the_way
            if on_the_way is None:
                raise IllegalTransition(f"alarm {alarm_id}: no guard is on the way")
            if on_the_way.dispatch_id is None:
                raise IllegalTransition(
                    f"alarm {alarm_id}: the dispatch of {on_the_way.guard_id} is still being "
                    "stored; try again in a moment"
                )
            now = self.clock.now()
            dispatches = tuple(
                replace(d, arrived_at=now) if d is on_the_way else d for d in alarm.dispatches
            )
            self._open[alarm_id] = replace(alarm, dispatches=dispatches, updated_at=now)
            self._write(
                alarm_id,
                stored_alarms.RecordArrival(
                    dispatch_id=on_the_way.dispatch_id, user=user, outcome=outcome, at=now
                ),
            )
            updated = self._open[alarm_id]
        self._notify(updated)
        return updated

    def resolve(
        self, alarm_id: int, outcome: Outcome | str, user: str, note: str | None = None
    ) -> Alarm:
        try:
            code = Outcome(outcome)
        except ValueError:
            choices = ", ".join(o.value for o in Outcome)
            raise IllegalTransition(
                f"alarm {alarm_id}: outcome {outcome!r} is not one of {choices}"
            ) from None
        return self._step(alarm_id, AlarmState.RESOLVED, user, note=note, outcome=code)

    def comment(self, alarm_id: int, user: str, text: str) -> Alarm:
        with self._lock:
            self.get(alarm_id)
            self._write(
                alarm_id,
                stored_alarms.AddAlarmEvent(
                    alarm_id=alarm_id,
                    kind=EventKind.COMMENT,
                    user=user,
                    detail={"text": text},
                    at=self.clock.now(),
                ),
            )
            return self._open[alarm_id]

    def _check(self, alarm_id: int, target: AlarmState) -> Alarm:
        alarm = self.get(alarm_id)
        if target not in TRANSITIONS[alarm.state]:
            allowed = ", ".join(s.value for s in TRANSITIONS[alarm.state]) or "nothing"
            raise IllegalTransition(
                f"alarm {alarm_id} is {alarm.state.value}: it cannot become {target.value} "
                f"(from {alarm.state.value} it can become {allowed})"
            )
        return alarm

    def _step(
        self,
        alarm_id: int,
        target: AlarmState,
        user: str,
        *,
        note: str | None = None,
        outcome: Outcome | None = None,
    ) -> Alarm:
        with self._lock:
            alarm = self._check(alarm_id, target)
            now = self.clock.now()
            updated = replace(alarm, state=target, updated_at=now, outcome=outcome)
            self._open[alarm_id] = updated
            self._write(
                alarm_id,
                stored_alarms.ChangeAlarmState(
                    alarm_id=alarm_id,
                    state=target,
                    user=user,
                    outcome=outcome,
                    note=note,
                    expected=alarm.state,
                    at=now,
                ),
            )
            updated = self._open[alarm_id]
            if target == AlarmState.RESOLVED:
                # its sightings end with it (the store keeps when each was last found)
                ended = [replace(o, ended_at=o.last_seen_at) for o in updated.occurrences if o.open]
                if ended:
                    closed = {(o.camera_id, o.track_id, o.started_at): o for o in ended}
                    updated = replace(
                        updated,
                        active=False,
                        needs_attention=False,
                        occurrences=tuple(
                            closed.get((o.camera_id, o.track_id, o.started_at), o)
                            for o in updated.occurrences
                        ),
                    )
                    self._open[alarm_id] = updated
                    for occurrence in ended:
                        self._write_occurrence(updated, occurrence)
                    updated = self._open[alarm_id]
                del self._open[alarm_id]
                self._closing[alarm_id] = updated
                self._resolved_ids.append(alarm_id)
                self._recently_resolved[alarm.episode] = (updated, now)
            elif target == AlarmState.ACKNOWLEDGED and updated.needs_attention:
                updated = replace(updated, needs_attention=False, attention_since=None)
                self._open[alarm_id] = updated
        self._notify(updated)
        return updated

    # -- the writer's answers ------------------------------------------------------------------

    def _write(self, alarm_id: int, task: Any, then: _Then | None = None) -> None:
        """Hand one step to the store's writer (under the lock: only a queue put, no I/O)."""
        alarm = self._open.get(alarm_id) or self._closing.get(alarm_id)
        try:
            future = self.store.write(task)
        except StoreError as exc:
            reason = f"{task.name} not stored: {exc}"
            log.error("alarm %d: %s", alarm_id, reason)
            self.unstored.append(f"alarm {alarm_id}: {reason}")
            if alarm is not None:
                self._put(replace(alarm, storage_fault=reason))
            return
        if alarm is not None:
            self._put(replace(alarm, unsaved=alarm.unsaved + 1))
        self._pending.add(future)
        written = _Written(alarm_id, task.name, future, then)
        future.add_done_callback(lambda _f: self._finished(written))

    def _put(self, alarm: Alarm) -> None:
        if alarm.alarm_id in self._open:
            self._open[alarm.alarm_id] = alarm
        else:
            self._closing[alarm.alarm_id] = alarm

    def _finished(self, written: _Written) -> None:
        """From the writer thread: queue the answer for `settle()` and wake the core."""
        with self._lock:
            self._written.append(written)
        wake = self._on_written
        if wake is not None:
            wake()

    def settle(self) -> list[Alarm]:
        """Fold the writer's answers into the alarms (the core thread); returns those whose
        storage state a monitor can see changed (stored, refused, snapshot arrived)."""
        changed: dict[int, Alarm] = {}
        with self._lock:
            while self._written:
                written = self._written.popleft()
                self._pending.discard(written.future)
                alarm = self._open.get(written.alarm_id) or self._closing.get(written.alarm_id)
                error = written.future.exception()
                if error is not None:
                    reason = f"{written.task_name} not stored: {error}"
                    log.error("alarm %d: %s", written.alarm_id, reason)
                    self.unstored.append(f"alarm {written.alarm_id}: {reason}")
                if alarm is None:
                    continue
                updated = replace(alarm, unsaved=max(0, alarm.unsaved - 1))
                if error is not None:
                    updated = replace(updated, storage_fault=reason)
                elif written.then is not None:
                    updated = written.then(updated, written.future.result())
                self._put(updated)
                visible = (
                    updated.unsaved == 0
                    or updated.storage_fault != alarm.storage_fault
                    or updated.snapshot_path != alarm.snapshot_path
                )
                if visible:
                    changed[updated.alarm_id] = updated
                if updated.alarm_id in self._closing and updated.unsaved == 0:
                    del self._closing[updated.alarm_id]
        for alarm in changed.values():
            self._notify(alarm)
        return list(changed.values())

    def flush(self, timeout_s: float | None = 30.0) -> bool:
        """Wait until every write handed out so far has finished, then settle; True when none is
        left waiting (a disk fault may keep writes waiting longer than `timeout_s`)."""
        with self._lock:
            pending = list(self._pending)
        _done, left = wait(pending, timeout=timeout_s)
        self.settle()
        return not left

    # -- plumbing ------------------------------------------------------------------------------

    def _notify(self, alarm: Alarm) -> None:
        for listener in list(self._listeners):
            try:
                listener(alarm)
            except Exception:
                log.exception("alarm listener failed on alarm %d", alarm.alarm_id)

    def _audit(self, action: str, target: str, detail: dict[str, object], at: datetime) -> None:
        """An audit row of the alarm layer's own (a suppression), handed to the writer."""
        try:
            written = self.store.write(
                AppendAudit(user=SYSTEM_USER, action=action, target=target, detail=detail, at=at)
            )
        except StoreError as exc:
            self.unstored.append(f"{action} {target}: {exc}")
            return

        self._pending.add(written)

        def check(done: Future[Any]) -> None:
            with self._lock:
                self._pending.discard(done)
                if done.exception() is not None:
                    self.unstored.append(f"{action} {target}: {done.exception()}")

        written.add_done_callback(check)

    def _reload_open(self) -> None:
        """Alarms latch across restarts: the store's open alarms are open again here, with their
        occurrences, escalation, new activity not yet seen, snapshot and guards (the start of
        the console, before any thread runs)."""
        for record in self.store.read(stored_alarms.open_alarms):
            tracks = () if record.track_id is None else (record.track_id,)
            events = self.store.read(stored_alarms.alarm_events, record.id)
            flags = [
                e
                for e in events
                if e.kind in (EventKind.ACTIVITY, EventKind.SEEN, EventKind.ACKNOWLEDGE)
            ]
            needs_attention = bool(flags) and flags[-1].kind == EventKind.ACTIVITY
            since_flag = events if not needs_attention else events[events.index(flags[-1]) :]
            escalated = any(e.kind == EventKind.ESCALATE for e in since_flag)
            occurrences = tuple(
                Occurrence(
                    o.camera_id,
                    o.track_id,
                    o.started_at,
                    o.ended_at or o.started_at,
                    ended_at=o.ended_at or o.started_at,  # nobody knows where they went since
                    video_start_s=o.video_start_s,
                    video_end_s=o.video_end_s,
                    closest_m=o.closest_m,
                    condition=o.condition,
                )
                for o in self.store.read(stored_alarms.occurrences, record.id)
            )
            snapshots = (
                self.store.read(stored_snapshots.snapshots, record.id) if record.snapshot_id else []
            )
            dispatches = tuple(
                GuardDispatch(d.guard_id, d.sent_at, d.arrived_at, d.id)
                for d in self.store.read(stored_alarms.dispatches, record.id)
            )
            self._open[record.id] = Alarm(
                record.id,
                record.camera_id,
                record.rule,
                record.subject or record.camera_id,
                Severity(record.severity),
                record.state,
                record.raised_at,
                record.updated_at,
                record.updated_at,
                tracks,
                None,
                None,
                active=False,
                escalated=escalated,
                snapshot_path=str(self.store.snapshot_path(snapshots[0])) if snapshots else None,
                dispatches=dispatches,
                occurrences=occurrences,
                zone_wide=(record.episode_key or "").startswith(f"{ANY_CAMERA}/"),
                needs_attention=needs_attention,
                attention_since=flags[-1].at if needs_attention else None,
            )

    def _with_snapshot(self, alarm: Alarm, record: object) -> Alarm:
        if not isinstance(record, stored_snapshots.SnapshotRecord):
            return alarm  # the maker gave no picture
        return replace(alarm, snapshot_path=str(self.store.snapshot_path(record)))
