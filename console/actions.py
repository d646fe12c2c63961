"""What the people at the console ask of the core, as values; the core's answers.

The window never changes an alarm itself: it posts an action (`SiteRuntime.post`), the core
thread applies it through the service layer (`console.control_room.ControlRoom`), and the answer
comes back as an `ActionAnswer`: the alarm as it is now (or another value), or the refusal in
words. So the GUI thread never waits for a lock held across the disk, and every change happens
on one thread, in the order asked.

    runtime.post(Acknowledge(alarm_id=7, user="ana"))   # -> Future[ActionAnswer]

Every action names the `Act` of the role table (`console.roles`) it needs in `act`; the service
layer refuses it unless the acting user's role (from the core's own record of accounts) allows
it, and an action that names none is refused, never let through. This module holds the alarm
steps and the still-there answer; `console.shift_actions` (sign in, lock, hand over),
`console.account_actions` (users) and `console.record_actions` (incident log, export,
escalations, settings) hold the rest.
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from console.roles import Act
from console.store import Outcome

if TYPE_CHECKING:
    from console.alarms import Alarm, AlarmManager
    from console.control_room import ControlRoom
    from console.operator_check import OperatorCheck, OperatorCheckEvent

__all__ = [
    "Acknowledge",
    "Action",
    "ActionAnswer",
    "AlarmAction",
    "AnswerStillThere",
    "Comment",
    "Dispatch",
    "GuardArrived",
    "Resolve",
    "answer_when_ready",
    "apply_action",
]


class Action(Protocol):
    """A request to the core: who asks, what it is called, the act the role table must allow
    (None: only signed in), and what it does through the service layer."""

    verb: ClassVar[str]  # in words: "acknowledge", "dispatch", ...
    act: ClassVar[Act | None]

    @property
    def user(self) -> str:
        """Who asks (a frozen dataclass field on every action)."""
        ...

    def perform(self, room: ControlRoom) -> object: ...


class AlarmAction:
    """An alarm step: performed on the alarm manager."""

    __slots__ = ()

    def perform(self, room: ControlRoom) -> Alarm:
        return self.apply(room.alarm_manager())

    def apply(self, alarms: AlarmManager) -> Alarm:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Acknowledge(AlarmAction):
    alarm_id: int
    user: str
    note: str | None = None
    verb: ClassVar[str] = "acknowledge"
    act: ClassVar[Act | None] = Act.ACKNOWLEDGE

    def apply(self, alarms: AlarmManager) -> Alarm:
        return alarms.acknowledge(self.alarm_id, self.user, note=self.note)


@dataclass(frozen=True, slots=True)
class Dispatch(AlarmAction):
    alarm_id: int
    guard_id: str
    user: str
    verb: ClassVar[str] = "dispatch"
    act: ClassVar[Act | None] = Act.DISPATCH

    def apply(self, alarms: AlarmManager) -> Alarm:
        return alarms.dispatch(self.alarm_id, self.guard_id, self.user)


@dataclass(frozen=True, slots=True)
class GuardArrived(AlarmAction):
    alarm_id: int
    user: str
    outcome: str | None = None
    verb: ClassVar[str] = "record the guard's arrival"
    act: ClassVar[Act | None] = Act.DISPATCH

    def apply(self, alarms: AlarmManager) -> Alarm:
        return alarms.guard_arrived(self.alarm_id, self.user, outcome=self.outcome)


@dataclass(frozen=True, slots=True)
class Resolve(AlarmAction):
    alarm_id: int
    outcome: Outcome
    user: str
    note: str | None = None
    verb: ClassVar[str] = "resolve"
    act: ClassVar[Act | None] = Act.RESOLVE

    def apply(self, alarms: AlarmManager) -> Alarm:
        return alarms.resolve(self.alarm_id, self.outcome, self.user, note=self.note)


@dataclass(frozen=True, slots=True)
class Comment(AlarmAction):
    alarm_id: int
    user: str
    text: str
    verb: ClassVar[str] = "comment"
    act: ClassVar[Act | None] = Act.COMMENT

    def apply(self, alarms: AlarmManager) -> Alarm:
        return alarms.comment(self.alarm_id, self.user, self.text)


@dataclass(frozen=True, slots=True)
class AnswerStillThere:
    """The monitor answers the still-there check (`console.operator_check`)."""

    check: OperatorCheck
    user: str
    verb: ClassVar[str] = "answer the still-there check"
    act: ClassVar[Act | None] = Act.ANSWER_CHECK

    def perform(self, room: ControlRoom) -> OperatorCheckEvent | None:
        return self.check.answer(self.user)


@dataclass(frozen=True, slots=True)
class ActionAnswer:
    """The core's answer: the alarm after the action (or another `value`), or why it was
    refused (`refusal` in words; `code` says which check refused, see `PermissionRefused`)."""

    action: Action
    alarm: Alarm | None
    refusal: str | None = None
    value: Any = None
    code: str | None = None

    @property
    def ok(self) -> bool:
        return self.refusal is None

    @property
    def pending(self) -> bool:
        """The value is still being read or written (a future of the store's writer)."""
        return isinstance(self.value, Future)


def apply_action(action: Action, room: ControlRoom) -> ActionAnswer:
    """Apply on the core thread through the service layer (`ControlRoom.apply`): the role table
    is checked, a refusal is audited; a refusal of the model (an illegal step, an unknown guard,
    a store that is closed) is an answer, not an exception."""
    return room.apply(action)


def answer_when_ready(answer: ActionAnswer) -> Future[ActionAnswer]:
    """A future of the answer with its value read or written (a pending store task's error
    becomes the refusal)."""
    ready: Future[ActionAnswer] = Future()
    if not answer.pending:
        ready.set_result(answer)
        return ready

    def done(value: Future[Any]) -> None:
        error = value.exception()
        if error is not None:
            ready.set_result(replace(answer, value=None, refusal=str(error), code="failed"))
        else:
            ready.set_result(replace(answer, value=value.result()))

    answer.value.add_done_callback(done)
    return ready
