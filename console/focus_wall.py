"""The focus wall: which cameras hold the N big slots, as a plain model the UI only displays.

Policy (DESIGN.md, "Alarms and the focus wall"):

- A camera is promoted while it has an alarm that is still active or not yet acknowledged.
  Candidates are ranked: pinned first, then cameras that see a watched person, then by their
  alarms' severity, then unacknowledged before acknowledged, then the most recent alarm first
  (the camera id breaks ties, so the order is total).
- A camera whose alarms are all handled and whose risk has cleared stays `hold_s` seconds more.
- A camera keeps its slot for at least `min_slot_s` seconds, and keeps the same slot position for
  as long as it stays on the wall: newcomers take the free positions (lowest first) or the
  position of the lowest-ranked camera they displace. So the wall never flickers, and evaluating
  the same input twice changes nothing.
- The operator can pin a camera (it holds a slot until unpinned, whatever else happens) and
  dismiss one (it leaves at once and comes back only with an alarm raised after the dismissal).
  Operator actions take effect at once; they are never delayed by `min_slot_s`.
- With a watched person, the cameras that currently see them are promoted (the wall follows).

    wall = FocusWall(clock, slots=4)
    layout = wall.update(alarms, watched_cameras={"cam-east"})
    layout.camera_ids   # ("cam-east", "cam-west", None, None)
"""

from __future__ import annotations

import logging
import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from console.clock import Clock
from console.severity import Severity

log = logging.getLogger(__name__)

__all__ = ["SLOT_COUNTS", "AlarmSummary", "FocusWall", "SlotAssignment", "WallLayout"]

SLOT_COUNTS = (1, 2, 4, 6, 9)

Reason = Literal["pinned", "watched", "alarm", "hold"]


@dataclass(frozen=True, slots=True)
class AlarmSummary:
    """What the focus wall needs to know of one alarm.

    `active`: the risk that raised it is still present (the rule still finds it).
    """

    camera_id: str
    severity: Severity
    acknowledged: bool
    raised_at: datetime
    active: bool

    @property
    def open(self) -> bool:
        """Whether the alarm still wants its camera on the wall."""
        return self.active or not self.acknowledged


@dataclass(frozen=True, slots=True)
class SlotAssignment:
    """One occupied slot: the camera, why it is there, and since when (clock monotonic s)."""

    camera_id: str
    reason: Reason
    since_s: float
    severity: Severity | None = None
    unacknowledged: bool = False


@dataclass(frozen=True, slots=True)
class WallLayout:
    """The wall, slot by slot (None: an empty slot)."""

    slots: tuple[SlotAssignment | None, ...]

    @property
    def camera_ids(self) -> tuple[str | None, ...]:
        return tuple(s.camera_id if s is not None else None for s in self.slots)

    def slot_of(self, camera_id: str) -> int | None:
        for index, slot in enumerate(self.slots):
            if slot is not None and slot.camera_id == camera_id:
                return index
        return None


# A candidate's rank: smaller is more important.
_Rank = tuple[int, int, int, float, str]


@dataclass(frozen=True, slots=True)
class _Candidate:
    camera_id: str
    reason: Reason
    rank: _Rank
    severity: Severity | None
    unacknowledged: bool


class FocusWall:
    """The focus-wall policy over a clock; call `update` whenever the alarms change or a second
    has passed, and show `layout`."""

    def __init__(
        self,
        clock: Clock,
        slots: int = 4,
        *,
        hold_s: float = 10.0,
        min_slot_s: float = 5.0,
    ) -> None:
        for name, value in (("hold_s", hold_s), ("min_slot_s", min_slot_s)):
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"FocusWall {name} must be a finite number >= 0 (got {value!r})")
        self.clock = clock
        self.hold_s = float(hold_s)
        self.min_slot_s = float(min_slot_s)
        self._slots: list[SlotAssignment | None] = [None] * _check_slots(slots)
        self._pins: dict[str, float] = {}  # camera -> when pinned (monotonic s)
        self._dismissed: dict[str, datetime] = {}  # camera -> when dismissed (clock.now())
        self._cleared_at: dict[str, float] = {}  # occupant -> when it stopped being wanted
        self._alarms: tuple[AlarmSummary, ...] = ()
        self._watched: frozenset[str] = frozenset()

    # -- reading

    @property
    def slot_count(self) -> int:
        return len(self._slots)

    @property
    def layout(self) -> WallLayout:
        return WallLayout(tuple(self._slots))

    @property
    def pinned(self) -> tuple[str, ...]:
        return tuple(sorted(self._pins, key=lambda c: (self._pins[c], c)))

    # -- operator actions (take effect at once)

    def pin(self, camera_id: str) -> WallLayout:
        """Keep this camera on the wall until it is unpinned."""
        self._pins.setdefault(camera_id, self.clock.monotonic())
        self._dismissed.pop(camera_id, None)
        log.info("focus wall: %s pinned", camera_id)
        return self._evaluate(operator=True)

    def unpin(self, camera_id: str) -> WallLayout:
        """Release a pin; the camera stays while it has alarms (or for its hold time)."""
        if self._pins.pop(camera_id, None) is not None:
            log.info("focus wall: %s unpinned", camera_id)
            if camera_id in self._occupants():
                self._cleared_at.setdefault(camera_id, self.clock.monotonic())
        return self._evaluate(operator=True)

    def dismiss(self, camera_id: str) -> WallLayout:
        """Take the camera off the wall now; only an alarm raised after this brings it back."""
        self._pins.pop(camera_id, None)
        self._dismissed[camera_id] = self.clock.now()
        for index, slot in enumerate(self._slots):
            if slot is not None and slot.camera_id == camera_id:
                self._slots[index] = None
        self._cleared_at.pop(camera_id, None)
        log.info("focus wall: %s dismissed", camera_id)
        return self._evaluate(operator=True)

    def set_slot_count(self, slots: int) -> WallLayout:
        """Change N (1, 2, 4, 6 or 9). Growing keeps every position; shrinking keeps the cameras
        in the first N positions where they are and moves the best-ranked others into free ones."""
        count = _check_slots(slots)
        if count == len(self._slots):
            return self.layout
        if count > len(self._slots):
            self._slots.extend([None] * (count - len(self._slots)))
        else:
            overflow = [s for s in self._slots[count:] if s is not None]
            self._slots = self._slots[:count]
            ranks = {c.camera_id: c.rank for c in self._candidates(self.clock.monotonic())}
            overflow.sort(key=lambda s: ranks.get(s.camera_id, _LAST))
            for slot in overflow:
                if None in self._slots:
                    self._slots[self._slots.index(None)] = slot
        log.info("focus wall: %d slots", count)
        return self._evaluate(operator=True)

    # -- the policy

    def update(
        self, alarms: Iterable[AlarmSummary], watched_cameras: Collection[str] = ()
    ) -> WallLayout:
        """Re-evaluate the wall from the current alarms and the cameras that see a watched
        person."""
        self._alarms = tuple(alarms)
        self._watched = frozenset(watched_cameras)
        return self._evaluate(operator=False)

    def _occupants(self) -> dict[str, int]:
        return {s.camera_id: i for i, s in enumerate(self._slots) if s is not None}

    def _candidates(self, now_s: float) -> list[_Candidate]:
        """Every camera that wants a slot now, best first."""
        out: dict[str, _Candidate] = {}
        for camera_id, pinned_at in self._pins.items():
            out[camera_id] = _Candidate(
                camera_id, "pinned", (0, 0, 0, pinned_at, camera_id), None, False
            )
        for camera_id in sorted(self._watched):
            if camera_id not in out and camera_id not in self._dismissed:
                out[camera_id] = _Candidate(
                    camera_id, "watched", (1, 0, 0, 0.0, camera_id), None, False
                )
        for alarm in self._alarms:
            dismissed_at = self._dismissed.get(alarm.camera_id)
            if dismissed_at is not None and alarm.raised_at > dismissed_at:
                log.info("focus wall: new alarm on dismissed camera %s", alarm.camera_id)
                del self._dismissed[alarm.camera_id]
        by_camera: dict[str, list[AlarmSummary]] = {}
        for alarm in self._alarms:
            dismissed_at = self._dismissed.get(alarm.camera_id)
            if dismissed_at is not None and alarm.raised_at <= dismissed_at:
                continue
            if alarm.open:
                by_camera.setdefault(alarm.camera_id, []).append(alarm)
        for camera_id, alarms in by_camera.items():
            if camera_id in out:
                continue
            severity = min((Severity(a.severity) for a in alarms), key=lambda s: s.rank)
            unacked = any(not a.acknowledged for a in alarms)
            latest = max(a.raised_at for a in alarms).timestamp()
            rank: _Rank = (2, severity.rank, 0 if unacked else 1, -latest, camera_id)
            out[camera_id] = _Candidate(camera_id, "alarm", rank, severity, unacked)
        # occupants that are no longer wanted stay for their hold time
        for camera_id in self._occupants():
            if camera_id in out:
                self._cleared_at.pop(camera_id, None)
                continue
            cleared = self._cleared_at.setdefault(camera_id, now_s)
            if now_s - cleared < self.hold_s:
                out[camera_id] = _Candidate(
                    camera_id, "hold", (3, 0, 0, -cleared, camera_id), None, False
                )
        return sorted(out.values(), key=lambda c: c.rank)

    def _evaluate(self, *, operator: bool) -> WallLayout:
        now_s = self.clock.monotonic()
        candidates = self._candidates(now_s)
        by_id = {c.camera_id: c for c in candidates}
        wanted = [c.camera_id for c in candidates[: len(self._slots)]]
        # pins beyond N: the earliest pins win, the others wait
        pinned = [c.camera_id for c in candidates if c.reason == "pinned"][: len(self._slots)]

        def protected(slot: SlotAssignment) -> bool:
            return now_s - slot.since_s < self.min_slot_s

        # 1. occupants leave when nobody wants them (after hold) or better cameras need the room,
        #    but never before their minimum slot time
        for index, slot in enumerate(self._slots):
            if slot is None:
                continue
            if slot.camera_id not in by_id:
                if not protected(slot):
                    self._leave(index, "cleared")
            elif slot.camera_id not in wanted and not protected(slot):
                self._leave(index, "displaced")
        # 2. newcomers, best first, into free positions; a pin may also displace the lowest-ranked
        #    occupant that is not pinned, even within its minimum slot time
        occupants = self._occupants()
        for camera_id in wanted:
            if camera_id in occupants:
                continue
            if None not in self._slots:
                if camera_id not in pinned:
                    continue
                victims = [
                    (by_id[s.camera_id].rank if s.camera_id in by_id else _LAST, i)
                    for i, s in enumerate(self._slots)
                    if s is not None and s.camera_id not in pinned
                ]
                if not victims:
                    continue
                self._leave(max(victims)[1], "displaced by a pin")
            index = self._slots.index(None)
            self._slots[index] = self._assignment(by_id[camera_id], now_s)
            occupants[camera_id] = index
            self._cleared_at.pop(camera_id, None)
            log.info(
                "focus wall: %s promoted to slot %d (%s)",
                camera_id,
                index,
                by_id[camera_id].reason,
            )
        # 3. occupants keep their position and start time; their reason and severity follow
        for index, slot in enumerate(self._slots):
            if slot is not None and slot.camera_id in by_id:
                fresh = self._assignment(by_id[slot.camera_id], slot.since_s)
                if fresh != slot:
                    self._slots[index] = fresh
        self._cleared_at = {c: t for c, t in self._cleared_at.items() if c in self._occupants()}
        if operator:
            log.debug("focus wall after operator action: %s", self.layout.camera_ids)
        return self.layout

    def _leave(self, index: int, why: str) -> None:
        slot = self._slots[index]
        if slot is None:
            return
        log.info("focus wall: %s leaves slot %d (%s)", slot.camera_id, index, why)
        self._slots[index] = None
        self._cleared_at.pop(slot.camera_id, None)

    @staticmethod
    def _assignment(candidate: _Candidate, since_s: float) -> SlotAssignment:
        return SlotAssignment(
            camera_id=candidate.camera_id,
            reason=candidate.reason,
            since_s=since_s,
            severity=candidate.severity,
            unacknowledged=candidate.unacknowledged,
        )


_LAST: _Rank = (9, 9, 9, math.inf, "")


def _check_slots(slots: int) -> int:
    if slots not in SLOT_COUNTS:
        raise ValueError(f"the focus wall has 1, 2, 4, 6 or 9 slots (got {slots!r})")
    return int(slots)
