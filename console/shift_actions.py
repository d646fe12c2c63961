"""Signing in and out at a console, locking it, handing the shift over, watching: actions.

    runtime.post(LogIn("ana", Password(typed), station="control-room"))   # -> SignedIn
    runtime.post(Lock("ana", "control-room", reason="inactivity"))        # -> SignedIn (locked)
    runtime.post(Unlock("ana", "control-room", Password(typed)))          # -> SignedIn
    runtime.post(HandOver("ana", "control-room", note, "bob", Password(typed), True))
    runtime.post(LogOut("ana", "control-room"))

`LogIn`, `Unlock` and `CreateFirstSupervisor` prove who is asking with a password (`signs_in`);
everything else needs the asking user to hold an unlocked session (see `console.accounts`).
A password travels only inside these values, whose repr never shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from console.accounts import SignedIn
from console.passwords import Password
from console.roles import Act

if TYPE_CHECKING:
    from console.alarms import Alarm
    from console.control_room import ControlRoom

__all__ = [
    "ChangeOwnPassword",
    "CreateFirstSupervisor",
    "HandOver",
    "Lock",
    "LogIn",
    "LogOut",
    "Unlock",
    "Watch",
]


@dataclass(frozen=True, slots=True)
class LogIn:
    """Sign in at `station` (a console shift starts; `shift=False` for a command-line tool)."""

    user: str
    password: Password
    station: str
    shift: bool = True
    verb: ClassVar[str] = "sign in"
    act: ClassVar[Act | None] = None
    signs_in: ClassVar[bool] = True

    def perform(self, room: ControlRoom) -> SignedIn:
        signed = room.accounts.sign_in(self.user, self.password, self.station, shift=self.shift)
        return room.with_settings(signed)


@dataclass(frozen=True, slots=True)
class Unlock:
    """The locked console's own user gives their password again."""

    user: str
    station: str
    password: Password
    verb: ClassVar[str] = "unlock the console"
    act: ClassVar[Act | None] = None
    signs_in: ClassVar[bool] = True

    def perform(self, room: ControlRoom) -> SignedIn:
        return room.with_settings(room.accounts.unlock(self.user, self.password, self.station))


@dataclass(frozen=True, slots=True)
class CreateFirstSupervisor:
    """The first start, with no account at all: this person becomes the first supervisor."""

    user: str
    password: Password
    station: str
    shift: bool = True
    verb: ClassVar[str] = "create the first supervisor"
    act: ClassVar[Act | None] = None
    signs_in: ClassVar[bool] = True

    def perform(self, room: ControlRoom) -> SignedIn:
        signed = room.accounts.first_supervisor(
            self.user, self.password, self.station, shift=self.shift
        )
        return room.with_settings(signed)


@dataclass(frozen=True, slots=True)
class Lock:
    """Lock the console (asked, or after inactivity): the wall stays live, acting needs the
    password again."""

    user: str
    station: str
    reason: str = "asked"
    verb: ClassVar[str] = "lock the console"
    act: ClassVar[Act | None] = None

    def perform(self, room: ControlRoom) -> SignedIn:
        return room.with_settings(room.accounts.lock(self.user, self.station, self.reason))


@dataclass(frozen=True, slots=True)
class LogOut:
    """Sign out: the shift ends."""

    user: str
    station: str
    reason: str = "signed out"
    verb: ClassVar[str] = "sign out"
    act: ClassVar[Act | None] = None

    def perform(self, room: ControlRoom) -> None:
        room.accounts.sign_out(self.user, self.station, self.reason)


@dataclass(frozen=True, slots=True)
class HandOver:
    """`user` hands the console to `to_user` (who signs in with their password and confirmed
    reading `note`); the wall stays open and every alarm stays where it is."""

    user: str
    station: str
    note: str
    to_user: str
    to_password: Password
    note_confirmed: bool
    verb: ClassVar[str] = "hand the shift over"
    act: ClassVar[Act | None] = Act.WATCH

    def perform(self, room: ControlRoom) -> SignedIn:
        signed = room.accounts.hand_over(
            self.user,
            self.station,
            self.note,
            self.to_user,
            self.to_password,
            note_confirmed=self.note_confirmed,
        )
        return room.with_settings(signed)


@dataclass(frozen=True, slots=True)
class ChangeOwnPassword:
    """A signed-in user changes their own password, giving the current one."""

    user: str
    station: str
    current: Password
    new: Password
    verb: ClassVar[str] = "change your password"
    act: ClassVar[Act | None] = None

    def perform(self, room: ControlRoom) -> None:
        room.accounts.change_own_password(self.user, self.station, self.current, self.new)


@dataclass(frozen=True, slots=True)
class Watch:
    """Open the live wall at `station`: answered with the open alarms; audited (who watched
    the cameras, from when)."""

    user: str
    station: str
    verb: ClassVar[str] = "watch the cameras"
    act: ClassVar[Act | None] = Act.WATCH

    def perform(self, room: ControlRoom) -> list[Alarm]:
        room.audit(self.user, "console.watch", f"console:{self.station}", {})
        return room.alarm_manager().open_alarms()
