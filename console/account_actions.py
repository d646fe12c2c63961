"""Managing accounts (a supervisor's act): add, disable, enable, set a password, list.

    room.apply(AddAccount("boss", "ana", "operator", Password(typed)))   # -> AccountView
    room.apply(DisableAccount("boss", "ana"))
    room.apply(ListAccounts("boss"))                                    # -> list[AccountView]

`nightwatch users ...` and the window's Users dialog both go through these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from console.accounts import AccountView
from console.passwords import Password
from console.roles import Act, Role

if TYPE_CHECKING:
    from console.control_room import ControlRoom

__all__ = ["AddAccount", "DisableAccount", "EnableAccount", "ListAccounts", "SetPassword"]


@dataclass(frozen=True, slots=True)
class AddAccount:
    user: str  # the supervisor asking
    name: str
    role: Role | str
    password: Password
    verb: ClassVar[str] = "add an account"
    act: ClassVar[Act | None] = Act.MANAGE_USERS

    def perform(self, room: ControlRoom) -> AccountView:
        return room.accounts.add(self.user, self.name, self.role, self.password)


@dataclass(frozen=True, slots=True)
class DisableAccount:
    user: str
    name: str
    verb: ClassVar[str] = "disable an account"
    act: ClassVar[Act | None] = Act.MANAGE_USERS

    def perform(self, room: ControlRoom) -> AccountView:
        return room.accounts.set_disabled(self.user, self.name, True)


@dataclass(frozen=True, slots=True)
class EnableAccount:
    user: str
    name: str
    verb: ClassVar[str] = "enable an account"
    act: ClassVar[Act | None] = Act.MANAGE_USERS

    def perform(self, room: ControlRoom) -> AccountView:
        return room.accounts.set_disabled(self.user, self.name, False)


@dataclass(frozen=True, slots=True)
class SetPassword:
    """A supervisor sets someone's password (their own: `ChangeOwnPassword`)."""

    user: str
    name: str
    password: Password
    verb: ClassVar[str] = "set a password"
    act: ClassVar[Act | None] = Act.MANAGE_USERS

    def perform(self, room: ControlRoom) -> None:
        room.accounts.set_password(self.user, self.name, self.password)


@dataclass(frozen=True, slots=True)
class ListAccounts:
    user: str
    verb: ClassVar[str] = "list the accounts"
    act: ClassVar[Act | None] = Act.MANAGE_USERS

    def perform(self, room: ControlRoom) -> list[AccountView]:
        return room.accounts.views()
