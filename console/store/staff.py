"""Users (name and role) and their shifts: the write tasks and the queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.store import audit
from console.store.errors import AlarmNotFoundError, StaleStateError, StoreError
from console.store.models import Role, Shift, User
from console.store.tasks import SYSTEM_USER, StoreFiles, aware, set_field


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: int
    name: str
    role: Role
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ShiftRecord:
    id: int
    user: str
    started_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True, slots=True)
class AddUser:
    """Create a user; returns its id. A taken name raises `StoreError`."""

    name: ClassVar[str] = "user.add"

    user: str
    role: Role | str
    by: str = SYSTEM_USER
    at: datetime | None = None

    def __post_init__(self) -> None:
        set_field(self, "role", Role(self.role))
        set_field(self, "at", aware(self.at, "at"))

    def run(self, session: Session, files: StoreFiles) -> int:
        assert self.at is not None
        if session.scalar(select(User.id).where(User.name == self.user)) is not None:
            raise StoreError(f"user {self.user!r} already exists")
        role = Role(self.role)
        user = User(name=self.user, role=role, created_at=self.at)
        session.add(user)
        session.flush()
        facts = {"user_id": user.id, "role": role.value}
        audit.append(session, self.by, "user.add", f"user:{self.user}", facts, self.at)
        return user.id


@dataclass(frozen=True, slots=True)
class StartShift:
    """Open a shift for a known user; returns the shift id."""

    name: ClassVar[str] = "shift.start"

    user: str
    at: datetime | None = None

    def __post_init__(self) -> None:
        set_field(self, "at", aware(self.at, "at"))

    def run(self, session: Session, files: StoreFiles) -> int:
        assert self.at is not None
        user_id = session.scalar(select(User.id).where(User.name == self.user))
        if user_id is None:
            raise AlarmNotFoundError(f"no user {self.user!r}")
        shift = Shift(user_id=user_id, started_at=self.at)
        session.add(shift)
        session.flush()
        audit.append(session, self.user, "shift.start", f"shift:{shift.id}", {}, self.at)
        return shift.id


@dataclass(frozen=True, slots=True)
class EndShift:
    """Close an open shift (once)."""

    name: ClassVar[str] = "shift.end"

    shift_id: int
    at: datetime | None = None

    def __post_init__(self) -> None:
        set_field(self, "at", aware(self.at, "at"))

    def run(self, session: Session, files: StoreFiles) -> None:
        assert self.at is not None
        shift = session.get(Shift, self.shift_id)
        if shift is None:
            raise AlarmNotFoundError(f"no shift {self.shift_id}")
        if shift.ended_at is not None:
            raise StaleStateError(f"shift {self.shift_id} already ended")
        shift.ended_at = self.at
        target = f"shift:{self.shift_id}"
        audit.append(session, shift.user.name, "shift.end", target, {}, self.at)


# --------------------------------------------------------------------------- queries


def _user_record(u: User) -> UserRecord:
    return UserRecord(u.id, u.name, Role(u.role), u.created_at)


def get_user(session: Session, name: str) -> UserRecord | None:
    u = session.scalars(select(User).where(User.name == name)).first()
    return _user_record(u) if u is not None else None


def list_users(session: Session) -> list[UserRecord]:
    return [_user_record(u) for u in session.scalars(select(User).order_by(User.name))]


def list_shifts(
    session: Session, *, user: str | None = None, since: datetime | None = None
) -> list[ShiftRecord]:
    query = select(Shift, User.name).join(User).order_by(Shift.started_at, Shift.id)
    if user is not None:
        query = query.where(User.name == user)
    if since is not None:
        query = query.where(Shift.started_at >= aware(since, "since"))
    return [
        ShiftRecord(sh.id, name, sh.started_at, sh.ended_at) for sh, name in session.execute(query)
    ]
