"""What people ask of the behaviour model, as actions through the service layer
(`console.control_room.ControlRoom`: the role table is checked, refusals are audited).

    runtime.post(WatchPerson("ana", "cam-03", 12, "hid a bag behind the plinth"))  # operator
    runtime.post(UnwatchPerson("ana", "visitor-17", "a restorer at work"))         # operator
    runtime.post(DismissAsNormal("ana", alarm_id=41, note="a restorer at work"))   # operator
    runtime.post(SwitchBehaviour("boss", False, "filming night"))                  # supervisor

Each addition to the watch list, each removal and each dismissal is audited with its reason; a
switch is stored (it survives a restart) and audited.
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from console.actions import AlarmAction
from console.behaviour.model import BehaviourRefused, BehaviourView, WatchedPerson
from console.roles import Act
from console.rules.behaviour import RULE
from console.rules.details import BehaviourDetail
from console.store import (
    AlarmState,
    BehaviourSwitchRecord,
    ForgetBehaviourBaseline,
    Outcome,
    RecordBehaviourSwitch,
)

if TYPE_CHECKING:
    from console.alarms import Alarm
    from console.control_room import ControlRoom

__all__ = [
    "DismissAsNormal",
    "ShowBehaviour",
    "SwitchBehaviour",
    "UnwatchPerson",
    "WatchPerson",
]

DISMISS_NOTE = "dismissed as normal behaviour"


@dataclass(frozen=True, slots=True)
class WatchPerson:
    """Put the person boxed as `track_id` on camera `camera_id` on the watch list."""

    user: str
    camera_id: str
    track_id: int
    reason: str
    verb: ClassVar[str] = "put a person on the watch list"
    act: ClassVar[Act | None] = Act.WATCH_PERSON

    def perform(self, room: ControlRoom) -> WatchedPerson:
        model = room.behaviour_model()
        return model.watch(
            self.camera_id, self.track_id, self.reason, self.user, room.accounts.clock.now()
        )


@dataclass(frozen=True, slots=True)
class UnwatchPerson:
    """Take visitor `visitor_id` off the watch list: no longer followed, their path leaves
    the plan. The reason is required and audited (`behaviour.unwatch`, with the actor)."""

    user: str
    visitor_id: str
    reason: str
    verb: ClassVar[str] = "take a person off the watch list"
    act: ClassVar[Act | None] = Act.WATCH_PERSON

    def perform(self, room: ControlRoom) -> str:
        room.behaviour_model().unwatch(
            self.visitor_id, self.user, room.accounts.clock.now(), self.reason
        )
        return self.visitor_id


@dataclass(frozen=True, slots=True)
class DismissAsNormal(AlarmAction):
    """The operator calls an advisory normal behaviour: the model learns from it, the visitor
    is not flagged again for the same reasons, and the advisory is resolved as a false alarm
    (acknowledged first when it was new). Audited as `behaviour.dismiss`."""

    user: str
    alarm_id: int
    note: str | None = None
    verb: ClassVar[str] = "dismiss an advisory as normal"
    act: ClassVar[Act | None] = Act.DISMISS_ADVISORY

    def perform(self, room: ControlRoom) -> Alarm:
        alarms = room.alarm_manager()
        alarm = alarms.get(self.alarm_id)
        if alarm.rule != RULE:
            raise BehaviourRefused(
                f"alarm {self.alarm_id} is not an advisory about behaviour: resolve it instead"
            )
        now = room.accounts.clock.now()
        reasons: tuple[str, ...] = ()
        learned = False
        model = room.behaviour
        if model is not None and model.enabled:
            reasons = model.dismiss(alarm.subject_id, self.user, now)
            learned = bool(reasons)
        note = DISMISS_NOTE + (f": {self.note.strip()}" if self.note and self.note.strip() else "")
        if alarm.state == AlarmState.RAISED:
            alarms.acknowledge(self.alarm_id, self.user, note=DISMISS_NOTE)
        resolved = alarms.resolve(self.alarm_id, Outcome.FALSE_ALARM, self.user, note=note)
        room.audit(
            self.user,
            "behaviour.dismiss",
            f"alarm:{self.alarm_id}",
            {
                "visitor": alarm.subject_id.replace("-", " ", 1),
                "advisory": (
                    alarm.detail.reason if isinstance(alarm.detail, BehaviourDetail) else None
                ),
                "reasons_dismissed": list(reasons),
                "fed_back": learned,
                "note": self.note,
            },
        )
        return resolved


@dataclass(frozen=True, slots=True)
class SwitchBehaviour:
    """Switch behaviour learning, advisories and the watch list on or off for this site (a
    supervisor). Off: every visitor and the watch list are forgotten at once. `forget_learned`
    also deletes the learned normal."""

    user: str
    enabled: bool
    reason: str | None = None
    forget_learned: bool = False
    verb: ClassVar[str] = "switch behaviour learning on or off"
    act: ClassVar[Act | None] = Act.SWITCH_BEHAVIOUR

    def perform(self, room: ControlRoom) -> Future[BehaviourSwitchRecord]:
        model = room.behaviour_model()
        now = room.accounts.clock.now()
        forgotten = model.switch(self.enabled, self.user, now)
        detail: tuple[tuple[str, object], ...] = (("visitors_forgotten", forgotten),)
        if self.forget_learned:
            model.baseline.clear()
            model.take_changes()  # nothing of it is written again
            room.store.write(ForgetBehaviourBaseline(self.user, self.reason, now))
        return room.store.write(
            RecordBehaviourSwitch(self.user, self.enabled, self.reason, now, detail)
        )


@dataclass(frozen=True, slots=True)
class ShowBehaviour:
    """What the behaviour model is doing now (on, learning or judging, the watch list), for the
    supervisor's switch."""

    user: str
    verb: ClassVar[str] = "see the behaviour learning's state"
    act: ClassVar[Act | None] = Act.SWITCH_BEHAVIOUR

    def perform(self, room: ControlRoom) -> BehaviourView:
        return room.behaviour_model().view(room.accounts.clock.now())
