"""Alarms: findings folded into episodes, latched until handled, escalated when ignored.

The rules report findings every time they look; an alarm is what a monitor handles. The
`AlarmManager` turns one into the other:

- **Folding.** Findings of one camera, rule and subject (a protected object, a zone, or the
  camera itself) fold into that subject's open alarm while its risk lasts (a finding within
  `clear_after_s` of the last), whichever track they name: the tracker may lose and re-find a
  person, and two people at one painting are one situation. After a quiet spell, the same
  person coming back still folds into their alarm; somebody else starts a new episode. Each
  alarm keeps the track ids it has seen and the video seconds it spans.
- **Latching.** An alarm stays until it is resolved, even when the person has left; `active`
  says whether its risk is still present (a finding within `clear_after_s`).
- **Damping.** After an alarm is resolved, the same track at the same subject raises nothing
  new for `rearm_s`; a camera, rule and subject that raised `chatter_max` alarms within
  `chatter_window_s` is muted for `chatter_mute_s`, and the muting is logged and counted.
- **Lifecycle.** `raised -> acknowledged -> dispatched -> resolved(outcome, note)`, each step
  stored with its time and user; anything else is refused with `IllegalTransition`.
- **Escalation.** An alarm still unacknowledged `escalate_after_s[severity]` after it was
  raised escalates once (an `escalate` event; the console makes it louder).
- **Snapshots.** A new alarm stores the JPEG the runtime gives for its first finding (the
  frame with the person's box drawn), its SHA-256 in the database.

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
from datetime import datetime, timedelta
from typing import Any

from console.clock import Clock
from console.rules import Finding
from console.severity import Severity
from console.site_file import Site
from console.store import AlarmState, EventKind, Outcome, Store, StoreError
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
    """How findings become alarms. Times in seconds."""

    clear_after_s: float = 3.0
    rearm_s: float = 60.0
    chatter_window_s: float = 600.0
    chatter_max: int = 4
    chatter_mute_s: float = 600.0


@dataclass(frozen=True, slots=True)
class GuardDispatch:
    """A guard sent to an alarm; `dispatch_id` is the store's, known once the step is written."""

    guard_id: str
    sent_at: datetime
    arrived_at: datetime | None = None
    dispatch_id: int | None = None


@dataclass(frozen=True, slots=True)
class Alarm:
    """An alarm as the console shows it (immutable; every change makes a new one)."""

    alarm_id: int
    camera_id: str
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
    detail: dict[str, object] = field(default_factory=dict)
    active: bool = True
    escalated: bool = False
    outcome: Outcome | None = None
    snapshot_path: str | None = None
    dispatches: tuple[GuardDispatch, ...] = ()
    unsaved: int = 0  # steps of this alarm handed to the store and not yet written
    storage_fault: str | None = None  # the step the store refused, in words

    @property
    def acknowledged(self) -> bool:
        return self.state != AlarmState.RAISED

    @property
    def episode(self) -> tuple[str, str, str]:
        return (self.camera_id, self.rule, self.subject_id)

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


AlarmListener = Callable[[Alarm], None]
SnapshotMaker = Callable[[Finding], bytes | None]
_Then = Callable[[Alarm, Any], Alarm]


def episode_key(camera_id: str, rule: str, subject_id: str) -> str:
    return f"{camera_id}/{rule}/{subject_id}"


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
    ) -> None:
        self.store = store
        self.site = site
        self.clock = clock
        self.policy = policy or AlarmPolicy()
        self._listeners: list[AlarmListener] = [listener] if listener else []
        self._on_written = on_written
        self._lock = threading.RLock()  # in-memory state only: never held across I/O
        self._open: dict[int, Alarm] = {}  # by alarm id
        self._closing: dict[int, Alarm] = {}  # resolved, with steps still being written
        self._resolved_ids: deque[int] = deque(maxlen=1000)
        self._recently_resolved: dict[tuple[str, str, str], tuple[datetime, tuple[int, ...]]] = {}
        self._raises: dict[tuple[str, str, str], deque[datetime]] = {}
        self._muted_until: dict[tuple[str, str, str], datetime] = {}
        self._written: deque[_Written] = deque()
        self._pending: set[Future[Any]] = set()
        self.damped = 0  # findings dropped by damping, for the health panel
        self.unstored: list[str] = []  # steps the store refused (of alarms no longer open too)
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
            return any(a.camera_id == camera_id for a in self._open.values())

    def pending_writes(self) -> int:
        with self._lock:
            return len(self._pending)

    # -- findings in ---------------------------------------------------------------------------

    def ingest(self, findings: list[Finding], snapshot: SnapshotMaker | None = None) -> list[Alarm]:
        """Fold findings into alarms; returns the alarms raised by this call. The snapshot maker
        runs on the store's writer thread, not here."""
        raised: list[Alarm] = []
        changed: list[Alarm] = []
        with self._lock:
            for finding in findings:
                key = (finding.camera_id, finding.rule, finding.subject_id)
                alarm = self._episode(key, finding)
                if alarm is not None:
                    updated = self._fold(alarm, finding)
                    if updated.active != alarm.active or updated.severity != alarm.severity:
                        changed.append(updated)
                    self._open[alarm.alarm_id] = updated
                    continue
                if self._damped(key, finding):
                    self.damped += 1
                    continue
                alarm = self._raise(finding, snapshot)
                raised.append(alarm)
        for alarm in [*raised, *changed]:
            self._notify(alarm)
        return raised

    def _episode(self, key: tuple[str, str, str], finding: Finding) -> Alarm | None:
        """The open alarm this finding belongs to: its subject's risk still present, or the same
        person (or, for findings about no person, the camera) back at it."""
        for alarm in sorted(self._open.values(), key=lambda a: -a.last_seen_at.timestamp()):
            if alarm.episode != key:
                continue
            quiet_s = (finding.at - alarm.last_seen_at).total_seconds()
            if quiet_s < self.policy.clear_after_s or finding.track_id is None:
                return alarm
            if finding.track_id in alarm.track_ids:
                return alarm
        return None

    def _fold(self, alarm: Alarm, finding: Finding) -> Alarm:
        tracks = alarm.track_ids
        if finding.track_id is not None and finding.track_id not in tracks:
            tracks = (*tracks, finding.track_id)
        start, end = alarm.video_start_s, alarm.video_end_s
        if finding.video_ts is not None:
            start = finding.video_ts if start is None else min(start, finding.video_ts)
            end = finding.video_ts if end is None else max(end, finding.video_ts)
        return replace(
            alarm,
            track_ids=tracks,
            video_start_s=start,
            video_end_s=end,
            last_seen_at=max(alarm.last_seen_at, finding.at),
            active=True,
            # a risk that grows is shown as what it is now
            severity=alarm.severity.graver(Severity(finding.severity)),
            detail={**alarm.detail, **dict(finding.detail)},
        )

    def _damped(self, key: tuple[str, str, str], finding: Finding) -> bool:
        policy = self.policy
        muted = self._muted_until.get(key)
        if muted is not None and finding.at < muted:
            return True
        resolved = self._recently_resolved.get(key)
        if resolved is not None:
            at, tracks = resolved
            recent = (finding.at - at).total_seconds() < policy.rearm_s
            if recent and (finding.track_id is None or finding.track_id in tracks):
                return True
        history = self._raises.setdefault(key, deque())
        window = timedelta(seconds=policy.chatter_window_s)
        while history and finding.at - history[0] > window:
            history.popleft()
        if len(history) >= policy.chatter_max:
            self._muted_until[key] = finding.at + timedelta(seconds=policy.chatter_mute_s)
            history.clear()
            log.warning(
                "%s: %s on %s raised %d alarms in %.0f s; muted for %.0f s",
                key[0],
                key[1],
                key[2],
                policy.chatter_max,
                policy.chatter_window_s,
                policy.chatter_mute_s,
            )
            return True
        return False

    def _raise(self, finding: Finding, snapshot: SnapshotMaker | None) -> Alarm:
        """A new alarm, in memory at once; its row and snapshot are queued for the writer."""
        key = (finding.camera_id, finding.rule, finding.subject_id)
        alarm_id = self._next_id
        self._next_id += 1
        detail = dict(finding.detail)
        tracks = () if finding.track_id is None else (finding.track_id,)
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
        )
        self._open[alarm_id] = alarm
        self._raises.setdefault(key, deque()).append(finding.at)
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
                detail={"video_ts": finding.video_ts, **detail},
            ),
        )
        if snapshot is not None:

            def jpeg() -> bytes | None:  # runs on the writer thread
                return snapshot(finding)

            self._write(
                alarm_id,
                stored_snapshots.StoreSnapshot(alarm_id=alarm_id, jpeg=jpeg, taken_at=finding.at),
                then=self._with_snapshot,
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

    # -- time passes ---------------------------------------------------------------------------

    def tick(self) -> list[Alarm]:
        """Clear risks no longer seen and escalate ignored alarms; returns what changed."""
        now = self.clock.now()
        changed: list[Alarm] = []
        with self._lock:
            for alarm_id, alarm in list(self._open.items()):
                updated = alarm
                quiet_s = (now - alarm.last_seen_at).total_seconds()
                if alarm.active and quiet_s >= self.policy.clear_after_s:
                    updated = replace(updated, active=False)
                if not alarm.escalated and alarm.state == AlarmState.RAISED:
                    limit = self._escalate_after_s(alarm.severity)
                    if (now - alarm.raised_at).total_seconds() >= limit:
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
                    changed.append(updated)
        for alarm in changed:
            self._notify(alarm)
        return changed

    def _escalate_after_s(self, severity: Severity) -> float:
        return float(getattr(self.site.alarms.escalate_after_s, severity.value))

    # -- what the monitor does (the core thread) -----------------------------------------------

    def acknowledge(self, alarm_id: int, user: str, note: str | None = None) -> Alarm:
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
                del self._open[alarm_id]
                self._closing[alarm_id] = updated
                self._resolved_ids.append(alarm_id)
                self._recently_resolved[alarm.episode] = (now, alarm.track_ids)
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

    def _reload_open(self) -> None:
        """Alarms latch across restarts: the store's open alarms are open again here, with their
        escalation, snapshot and guards (the start of the console, before any thread runs)."""
        for record in self.store.read(stored_alarms.open_alarms):
            tracks = () if record.track_id is None else (record.track_id,)
            events = self.store.read(stored_alarms.alarm_events, record.id)
            escalated = any(e.kind == EventKind.ESCALATE for e in events)
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
            )

    def _with_snapshot(self, alarm: Alarm, record: object) -> Alarm:
        if not isinstance(record, stored_snapshots.SnapshotRecord):
            return alarm  # the maker gave no picture
        return replace(alarm, snapshot_path=str(self.store.snapshot_path(record)))
