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

Every change is written through the `AlarmStore` before listeners hear of it.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from console.clock import Clock
from console.rules import Finding, severity_rank
from console.site_file import Site
from console.store import AlarmState, AlarmStore, Outcome

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
class Alarm:
    """An alarm as the console shows it (immutable; every change makes a new one)."""

    alarm_id: int
    camera_id: str
    rule: str
    subject_id: str
    severity: str
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

    @property
    def acknowledged(self) -> bool:
        return self.state != AlarmState.RAISED

    @property
    def episode(self) -> tuple[str, str, str]:
        return (self.camera_id, self.rule, self.subject_id)


AlarmListener = Callable[[Alarm], None]
SnapshotMaker = Callable[[Finding], bytes | None]


def episode_key(camera_id: str, rule: str, subject_id: str) -> str:
    return f"{camera_id}/{rule}/{subject_id}"


class AlarmManager:
    """Owns the open alarms of one site; thread-safe (the runtime ingests, the UI acts)."""

    def __init__(
        self,
        store: AlarmStore,
        site: Site,
        clock: Clock,
        *,
        policy: AlarmPolicy | None = None,
        listener: AlarmListener | None = None,
    ) -> None:
        self.store = store
        self.site = site
        self.clock = clock
        self.policy = policy or AlarmPolicy()
        self._listeners: list[AlarmListener] = [listener] if listener else []
        self._lock = threading.RLock()
        self._open: dict[int, Alarm] = {}  # by alarm id
        self._recently_resolved: dict[tuple[str, str, str], tuple[datetime, tuple[int, ...]]] = {}
        self._raises: dict[tuple[str, str, str], deque[datetime]] = {}
        self._muted_until: dict[tuple[str, str, str], datetime] = {}
        self.damped = 0  # findings dropped by damping, for the health panel
        self._reload_open()

    def add_listener(self, listener: AlarmListener) -> None:
        with self._lock:
            self._listeners.append(listener)

    # -- reading -------------------------------------------------------------------------------

    def open_alarms(self) -> list[Alarm]:
        """Unresolved alarms, most urgent first: severity, unacknowledged, newest."""
        with self._lock:
            alarms = list(self._open.values())
        return sorted(
            alarms,
            key=lambda a: (severity_rank(a.severity), a.acknowledged, -a.raised_at.timestamp()),
        )

    def get(self, alarm_id: int) -> Alarm:
        with self._lock:
            alarm = self._open.get(alarm_id)
            if alarm is not None:
                return alarm
        record = self.store.get_alarm(alarm_id)  # raises AlarmNotFoundError
        raise IllegalTransition(f"alarm {alarm_id} is {record.state.value}; it is no longer open")

    def is_alarmed(self, camera_id: str) -> bool:
        with self._lock:
            return any(a.camera_id == camera_id for a in self._open.values())

    # -- findings in ---------------------------------------------------------------------------

    def ingest(self, findings: list[Finding], snapshot: SnapshotMaker | None = None) -> list[Alarm]:
        """Fold findings into alarms; returns the alarms raised by this call."""
        raised: list[Alarm] = []
        changed: list[Alarm] = []
        with self._lock:
            for finding in findings:
                key = (finding.camera_id, finding.rule, finding.subject_id)
                alarm = self._episode(key, finding)
                if alarm is not None:
                    updated = self._fold(alarm, finding)
                    if updated.active != alarm.active:
                        changed.append(updated)
                    self._open[alarm.alarm_id] = updated
                    continue
                if self._damped(key, finding):
                    self.damped += 1
                    continue
                alarm = self._raise(finding, snapshot)
                self._open[alarm.alarm_id] = alarm
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
        severity = alarm.severity
        if severity_rank(finding.severity) < severity_rank(severity):
            severity = finding.severity  # a risk that grows is shown as what it is now
        return replace(
            alarm,
            track_ids=tracks,
            video_start_s=start,
            video_end_s=end,
            last_seen_at=max(alarm.last_seen_at, finding.at),
            active=True,
            severity=severity,
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
        key = (finding.camera_id, finding.rule, finding.subject_id)
        detail = dict(finding.detail)
        alarm_id = self.store.create_alarm(
            finding.camera_id,
            finding.rule,
            finding.severity,
            subject=finding.subject_id,
            track_id=finding.track_id,
            episode_key=episode_key(*key),
            raised_at=finding.at,
            detail={"video_ts": finding.video_ts, **detail},
        )
        self._raises.setdefault(key, deque()).append(finding.at)
        snapshot_path = None
        jpeg = snapshot(finding) if snapshot is not None else None
        if jpeg:
            try:
                path, _ = self.store.store_snapshot(alarm_id, jpeg, taken_at=finding.at)
                snapshot_path = str(path)
            except Exception:  # a full disk must not lose the alarm itself
                log.exception("alarm %d: snapshot not stored", alarm_id)
        tracks = () if finding.track_id is None else (finding.track_id,)
        alarm = Alarm(
            alarm_id,
            finding.camera_id,
            finding.rule,
            finding.subject_id,
            finding.severity,
            AlarmState.RAISED,
            finding.at,
            finding.at,
            finding.at,
            tracks,
            finding.video_ts,
            finding.video_ts,
            detail,
            snapshot_path=snapshot_path,
        )
        log.warning(
            "alarm %d raised: %s on %s at %s (%s)",
            alarm_id,
            finding.rule,
            finding.subject_id,
            finding.camera_id,
            finding.severity,
        )
        return alarm

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
                        self.store.add_event(
                            alarm.alarm_id, "escalate", SYSTEM_USER, {"after_s": limit}, at=now
                        )
                        updated = replace(updated, escalated=True)
                        log.warning(
                            "alarm %d escalated: unacknowledged for %.0f s", alarm.alarm_id, limit
                        )
                if updated is not alarm:
                    self._open[alarm_id] = updated
                    changed.append(updated)
        for alarm in changed:
            self._notify(alarm)
        return changed

    def _escalate_after_s(self, severity: str) -> float:
        return float(getattr(self.site.alarms.escalate_after_s, severity))

    # -- what the monitor does -----------------------------------------------------------------

    def acknowledge(self, alarm_id: int, user: str, note: str | None = None) -> Alarm:
        return self._step(alarm_id, AlarmState.ACKNOWLEDGED, user, note=note)

    def dispatch(self, alarm_id: int, guard_id: str, user: str) -> int:
        """Send a guard (one of the site's guards); returns the dispatch id."""
        guard = self.site.guard(guard_id)  # KeyError names an unknown guard
        with self._lock:
            alarm = self._check(alarm_id, AlarmState.DISPATCHED)
            dispatch_id = self.store.record_dispatch(
                alarm_id, guard.id, user, post=guard.post, expected=alarm.state, at=self.clock.now()
            )
            updated = replace(alarm, state=AlarmState.DISPATCHED, updated_at=self.clock.now())
            self._open[alarm_id] = updated
        self._notify(updated)
        return dispatch_id

    def guard_arrived(self, dispatch_id: int, user: str, outcome: str | None = None) -> None:
        self.store.record_arrival(dispatch_id, user, outcome=outcome, at=self.clock.now())

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

    def comment(self, alarm_id: int, user: str, text: str) -> None:
        self.get(alarm_id)
        self.store.add_event(alarm_id, "comment", user, {"text": text}, at=self.clock.now())

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
            self.store.set_state(
                alarm_id, target, user, outcome=outcome, note=note, expected=alarm.state, at=now
            )
            updated = replace(alarm, state=target, updated_at=now, outcome=outcome)
            if target == AlarmState.RESOLVED:
                del self._open[alarm_id]
                self._recently_resolved[alarm.episode] = (now, alarm.track_ids)
            else:
                self._open[alarm_id] = updated
        self._notify(updated)
        return updated

    # -- plumbing ------------------------------------------------------------------------------

    def _notify(self, alarm: Alarm) -> None:
        for listener in list(self._listeners):
            try:
                listener(alarm)
            except Exception:
                log.exception("alarm listener failed on alarm %d", alarm.alarm_id)

    def _reload_open(self) -> None:
        """Alarms latch across restarts: the store's open alarms are open again here."""
        for record in self.store.open_alarms():
            tracks = () if record.track_id is None else (record.track_id,)
            snapshots = self.store.snapshots(record.id) if record.snapshot_id else []
            self._open[record.id] = Alarm(
                record.id,
                record.camera_id,
                record.rule,
                record.subject or record.camera_id,
                record.severity,
                record.state,
                record.raised_at,
                record.updated_at,
                record.updated_at,
                tracks,
                None,
                None,
                active=False,
                snapshot_path=str(snapshots[0].path) if snapshots else None,
            )
