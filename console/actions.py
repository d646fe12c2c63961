"""What the people at the console ask of the core, as values.

The window never changes an alarm itself: it posts an action (`SiteRuntime.post`), the core
thread applies it to the alarm manager, and the answer comes back as an `ActionAnswer`, either
the alarm as it is now or the refusal in words. So the GUI thread never waits for a lock held
across the disk, and every change of an alarm happens on one thread, in the order asked.

    runtime.post(Acknowledge(alarm_id=7, user="ana"))   # -> Future[ActionAnswer]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol

from console.store import Outcome, StoreError

if TYPE_CHECKING:
    from console.alarms import Alarm, AlarmManager

__all__ = [
    "Acknowledge",
    "Action",
    "ActionAnswer",
    "Comment",
    "Dispatch",
    "GuardArrived",
    "Resolve",
    "apply_action",
]


class Action(Protocol):
    """An operator's request: who asks, what it is called, and what it does to the alarms."""

    user: str
    verb: ClassVar[str]  # in words: "acknowledge", "dispatch", ...

    def apply(self, alarms: AlarmManager) -> Alarm: ...


@dataclass(frozen=True, slots=True)
class Acknowledge:
    alarm_id: int
    user: str
    note: str | None = None
    verb: ClassVar[str] = "acknowledge"

    def apply(self, alarms: AlarmManager) -> Alarm:
        return alarms.acknowledge(self.alarm_id, self.user, note=self.note)


@dataclass(frozen=True, slots=True)
class Dispatch:
    alarm_id: int
    guard_id: str
    user: str
    verb: ClassVar[str] = "dispatch"

    def apply(self, alarms: AlarmManager) -> Alarm:
        return alarms.dispatch(self.alarm_id, self.guard_id, self.user)


@dataclass(frozen=True, slots=True)
class GuardArrived:
    alarm_id: int
    user: str
    outcome: str | None = None
    verb: ClassVar[str] = "record the guard's arrival"

    def apply(self, alarms: AlarmManager) -> Alarm:
        return alarms.guard_arrived(self.alarm_id, self.user, outcome=self.outcome)


@dataclass(frozen=True, slots=True)
class Resolve:
    alarm_id: int
    outcome: Outcome
    user: str
    note: str | None = None
    verb: ClassVar[str] = "resolve"

    def apply(self, alarms: AlarmManager) -> Alarm:
        return alarms.resolve(self.alarm_id, self.outcome, self.user, note=self.note)


@dataclass(frozen=True, slots=True)
class Comment:
    alarm_id: int
    user: str
    text: str
    verb: ClassVar[str] = "comment"

    def apply(self, alarms: AlarmManager) -> Alarm:
        return alarms.comment(self.alarm_id, self.user, self.text)


@dataclass(frozen=True, slots=True)
class ActionAnswer:
    """The core's answer: the alarm after the action, or why it was refused."""

    action: Action
    alarm: Alarm | None
    refusal: str | None = None

    @property
    def ok(self) -> bool:
        return self.refusal is None


def apply_action(action: Action, alarms: AlarmManager) -> ActionAnswer:
    """Apply on the core thread; a refusal of the model (an illegal step, an unknown guard, a
    store that is closed) is an answer, not an exception."""
    from console.alarms import IllegalTransition

    try:
        return ActionAnswer(action, action.apply(alarms))
    except (IllegalTransition, StoreError, KeyError, ValueError) as exc:
        text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
        return ActionAnswer(action, None, text)
