"""Users and their shifts: accounts, sign-ins, the sign-in back-off, hand-overs. Write tasks and
queries.

The tasks record what the core decided (`console.accounts.AccountBook` checks passwords, roles
and the back-off); each one appends its audit row in the same transaction. A password hash is
stored in `users.password_hash` only: never in an audit row, a log line or a record's repr.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from console.roles import PERSON_ROLES, Role
from console.store import audit
from console.store.errors import AlarmNotFoundError, StaleStateError, StoreError
from console.store.models import LoginBackoff, Shift, User
from console.store.tasks import SYSTEM_USER, StoreFiles, aware, set_field

MAX_NOTE_CHARS = 4000


def user_key(name: str) -> str:
    """What makes two names the same account: NFKC, trimmed, case-folded ('Ana' == 'ana')."""
    return unicodedata.normalize("NFKC", name).strip().casefold()


def _person_role(role: Role | str) -> Role:
    value = Role(role)
    if value not in PERSON_ROLES:
        raise ValueError(f"role {value.value!r} is not a person's role ({_roles_text()})")
    return value


def _roles_text() -> str:
    return ", ".join(r.value for r in PERSON_ROLES)


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: int
    name: str
    role: Role
    created_at: datetime
    created_by: str | None = None
    disabled_at: datetime | None = None
    disabled_by: str | None = None

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None


@dataclass(frozen=True, slots=True)
class CredentialRecord:
    """What the core needs to check a sign-in (the hash never shows in a repr)."""

    name: str
    role: Role
    disabled: bool
    password_hash: str | None = field(repr=False)
    created_at: datetime | None = None
    created_by: str | None = None


@dataclass(frozen=True, slots=True)
class ShiftRecord:
    id: int
    user: str
    started_at: datetime
    ended_at: datetime | None
    station: str | None = None
    end_reason: str | None = None
    handover_note: str | None = None
    handed_to: str | None = None
    taken_over_from: int | None = None  # the shift this one took over at a hand-over
    note_confirmed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class BackoffRecord:
    """Failed sign-ins in a row for one key (`user:<key>` or `console:<station>`)."""

    key: str
    failures: int
    last_failed_at: datetime


def _user(session: Session, name: str) -> User:
    user = session.scalars(select(User).where(User.name_key == user_key(name))).first()
    if user is None:
        raise AlarmNotFoundError(f"no user {name!r}")
    return user


# --------------------------------------------------------------------------- accounts


@dataclass(frozen=True, slots=True)
class AddUser:
    """Create an account; returns its id. A name taken in any case raises `StoreError`."""

    name: ClassVar[str] = "user.add"

    user: str
    role: Role | str
    by: str = SYSTEM_USER
    at: datetime | None = None
    password_hash: str | None = field(default=None, repr=False)
    first_run: bool = False  # the first supervisor, made when the database had no account

    def __post_init__(self) -> None:
        set_field(self, "role", _person_role(self.role))
        set_field(self, "at", aware(self.at, "at"))
        if not user_key(self.user) or len(self.user) > 64:
            raise ValueError(f"a user name has 1 to 64 characters (got {self.user!r})")

    def run(self, session: Session, files: StoreFiles) -> int:
        assert self.at is not None
        key = user_key(self.user)
        taken = session.scalar(select(User.name).where(User.name_key == key))
        if taken is not None:
            raise StoreError(f"user {self.user!r} already exists (as {taken!r})")
        role = Role(self.role)
        user = User(
            name=self.user,
            name_key=key,
            role=role,
            created_at=self.at,
            created_by=self.by,
            password_hash=self.password_hash,
            password_changed_at=self.at if self.password_hash else None,
        )
        session.add(user)
        session.flush()
        facts: dict[str, Any] = {"user_id": user.id, "role": role.value}
        if self.first_run:
            facts["first_run"] = True
        audit.append(session, self.by, "user.add", f"user:{self.user}", facts, self.at)
        return user.id


@dataclass(frozen=True, slots=True)
class ChangeUser:
    """Disable or enable an account, or give it a new password hash (audited as
    `user.disable`, `user.enable`, `user.password`; the hash itself is never audited)."""

    name: ClassVar[str] = "user.change"

    user: str
    by: str
    disabled: bool | None = None
    password_hash: str | None = field(default=None, repr=False)
    at: datetime | None = None

    def __post_init__(self) -> None:
        set_field(self, "at", aware(self.at, "at"))
        if self.disabled is None and self.password_hash is None:
            raise ValueError("ChangeUser changes nothing: give disabled= or password_hash=")

    def run(self, session: Session, files: StoreFiles) -> None:
        assert self.at is not None
        user = _user(session, self.user)
        target = f"user:{user.name}"
        if self.disabled is not None:
            user.disabled_at = self.at if self.disabled else None
            user.disabled_by = self.by if self.disabled else None
            action = "user.disable" if self.disabled else "user.enable"
            audit.append(session, self.by, action, target, {"user_id": user.id}, self.at)
        if self.password_hash is not None:
            user.password_hash = self.password_hash
            user.password_changed_at = self.at
            audit.append(session, self.by, "user.password", target, {"user_id": user.id}, self.at)


# --------------------------------------------------------------------------- shifts


@dataclass(frozen=True, slots=True)
class StartShift:
    """Open a shift for a known user; returns the shift id."""

    name: ClassVar[str] = "shift.start"

    user: str
    at: datetime | None = None
    station: str | None = None

    def __post_init__(self) -> None:
        set_field(self, "at", aware(self.at, "at"))

    def run(self, session: Session, files: StoreFiles) -> int:
        assert self.at is not None
        user = _user(session, self.user)
        shift = Shift(user_id=user.id, started_at=self.at, station=self.station)
        session.add(shift)
        session.flush()
        facts = {"station": self.station} if self.station else {}
        audit.append(session, user.name, "shift.start", f"shift:{shift.id}", facts, self.at)
        return shift.id


@dataclass(frozen=True, slots=True)
class EndShift:
    """Close an open shift (once)."""

    name: ClassVar[str] = "shift.end"

    shift_id: int
    at: datetime | None = None
    reason: str | None = None

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
        shift.end_reason = self.reason
        target = f"shift:{self.shift_id}"
        facts = {"reason": self.reason} if self.reason else {}
        audit.append(session, shift.user.name, "shift.end", target, facts, self.at)


def _open_shift(session: Session, user: User, station: str) -> Shift | None:
    return session.scalars(
        select(Shift)
        .where(Shift.user_id == user.id, Shift.station == station, Shift.ended_at.is_(None))
        .order_by(Shift.id.desc())
    ).first()


def _clear_backoff(session: Session, keys: Sequence[str]) -> None:
    if keys:
        session.execute(delete(LoginBackoff).where(LoginBackoff.key.in_(list(keys))))


@dataclass(frozen=True, slots=True)
class SignIn:
    """A successful sign-in at `station` (audited `login`); with `shift`, a shift starts and its
    id is returned. The back-off of `clear_keys` is cleared."""

    name: ClassVar[str] = "user.sign_in"

    user: str
    station: str
    shift: bool = True
    clear_keys: tuple[str, ...] = ()
    action: str = "login"  # "unlock": the same user back at a locked console
    at: datetime | None = None

    def __post_init__(self) -> None:
        set_field(self, "at", aware(self.at, "at"))
        set_field(self, "clear_keys", tuple(self.clear_keys))

    def run(self, session: Session, files: StoreFiles) -> int | None:
        assert self.at is not None
        user = _user(session, self.user)
        _clear_backoff(session, self.clear_keys)
        shift_id: int | None = None
        if self.shift:
            shift = Shift(user_id=user.id, started_at=self.at, station=self.station)
            session.add(shift)
            session.flush()
            shift_id = shift.id
        facts: dict[str, Any] = {"station": self.station, "role": Role(user.role).value}
        if shift_id is not None:
            facts["shift_id"] = shift_id
        audit.append(session, user.name, self.action, f"console:{self.station}", facts, self.at)
        return shift_id


@dataclass(frozen=True, slots=True)
class SignInFailed:
    """A refused sign-in (`login.failed`, `login.throttled`, `unlock.failed`): the name as typed,
    why, and the back-off after it (rows upserted in the same transaction)."""

    name: ClassVar[str] = "user.sign_in_failed"

    typed_name: str
    station: str
    reason: str
    backoff: tuple[BackoffRecord, ...] = ()
    action: str = "login.failed"
    retry_after_s: float | None = None
    at: datetime | None = None

    def __post_init__(self) -> None:
        set_field(self, "at", aware(self.at, "at"))
        set_field(self, "backoff", tuple(self.backoff))
        set_field(self, "typed_name", self.typed_name[:64])

    def run(self, session: Session, files: StoreFiles) -> None:
        assert self.at is not None
        for record in self.backoff:
            row = session.get(LoginBackoff, record.key)
            if row is None:
                session.add(LoginBackoff(key=record.key, failures=0, last_failed_at=self.at))
                session.flush()
                row = session.get(LoginBackoff, record.key)
            assert row is not None
            row.failures = record.failures
            row.last_failed_at = aware(record.last_failed_at, "last_failed_at")
        facts: dict[str, Any] = {"station": self.station, "reason": self.reason}
        if self.retry_after_s is not None:
            facts["retry_after_s"] = round(self.retry_after_s, 1)
        audit.append(
            session, self.typed_name, self.action, f"console:{self.station}", facts, self.at
        )


@dataclass(frozen=True, slots=True)
class SignOut:
    """The user leaves `station` (audited `logout`); their open shift there ends with `reason`.
    Returns the ended shift's id, or None when no shift was open (a command-line sign-in)."""

    name: ClassVar[str] = "user.sign_out"

    user: str
    station: str
    reason: str = "signed out"
    at: datetime | None = None

    def __post_init__(self) -> None:
        set_field(self, "at", aware(self.at, "at"))

    def run(self, session: Session, files: StoreFiles) -> int | None:
        assert self.at is not None
        user = _user(session, self.user)
        shift = _open_shift(session, user, self.station)
        facts: dict[str, Any] = {"station": self.station, "reason": self.reason}
        if shift is not None:
            shift.ended_at = self.at
            shift.end_reason = self.reason[:64]
            facts["shift_id"] = shift.id
        audit.append(session, user.name, "logout", f"console:{self.station}", facts, self.at)
        return shift.id if shift is not None else None


@dataclass(frozen=True, slots=True)
class HandOverShift:
    """`from_user` hands the console at `station` to `to_user` with a note that `to_user`
    confirmed reading at `confirmed_at`: the outgoing shift ends (note, next user), the incoming
    one starts (the shift it took over, the confirmation), one audit row `shift.handover` names
    both. Returns the new shift's id."""

    name: ClassVar[str] = "shift.handover"

    from_user: str
    to_user: str
    station: str
    note: str
    confirmed_at: datetime | None = None
    clear_keys: tuple[str, ...] = ()
    at: datetime | None = None

    def __post_init__(self) -> None:
        set_field(self, "at", aware(self.at, "at"))
        set_field(self, "confirmed_at", aware(self.confirmed_at or self.at, "confirmed_at"))
        set_field(self, "clear_keys", tuple(self.clear_keys))
        if not self.note.strip():
            raise ValueError("a hand-over needs a note for the next monitor")
        if len(self.note) > MAX_NOTE_CHARS:
            raise ValueError(f"a hand-over note has at most {MAX_NOTE_CHARS} characters")

    def run(self, session: Session, files: StoreFiles) -> int:
        assert self.at is not None
        outgoing = _user(session, self.from_user)
        incoming = _user(session, self.to_user)
        _clear_backoff(session, self.clear_keys)
        before = _open_shift(session, outgoing, self.station)
        if before is not None:
            before.ended_at = self.at
            before.end_reason = "handed over"
            before.handover_note = self.note
            before.handed_to_id = incoming.id
        after = Shift(
            user_id=incoming.id,
            started_at=self.at,
            station=self.station,
            taken_over_from_id=before.id if before is not None else None,
            note_confirmed_at=self.confirmed_at,
        )
        session.add(after)
        session.flush()
        facts: dict[str, Any] = {
            "from": outgoing.name,
            "to": incoming.name,
            "station": self.station,
            "note": self.note,
            "note_confirmed_at": self.confirmed_at,
            "from_shift": before.id if before is not None else None,
            "to_shift": after.id,
        }
        audit.append(session, incoming.name, "shift.handover", f"shift:{after.id}", facts, self.at)
        return after.id


# --------------------------------------------------------------------------- queries


def _user_record(u: User) -> UserRecord:
    return UserRecord(
        u.id, u.name, Role(u.role), u.created_at, u.created_by, u.disabled_at, u.disabled_by
    )


def get_user(session: Session, name: str) -> UserRecord | None:
    """The account named `name` in any case, or None."""
    u = session.scalars(select(User).where(User.name_key == user_key(name))).first()
    return _user_record(u) if u is not None else None


def list_users(session: Session) -> list[UserRecord]:
    return [_user_record(u) for u in session.scalars(select(User).order_by(User.name_key))]


def account_credentials(session: Session) -> list[CredentialRecord]:
    """Every account with what a sign-in is checked against (for the core's own record)."""
    return [
        CredentialRecord(
            u.name,
            Role(u.role),
            u.disabled_at is not None,
            u.password_hash,
            u.created_at,
            u.created_by,
        )
        for u in session.scalars(select(User).order_by(User.id))
    ]


def login_backoffs(session: Session) -> list[BackoffRecord]:
    return [
        BackoffRecord(r.key, r.failures, r.last_failed_at)
        for r in session.scalars(select(LoginBackoff).order_by(LoginBackoff.key))
    ]


def _shift_record(sh: Shift, name: str) -> ShiftRecord:
    return ShiftRecord(
        sh.id,
        name,
        sh.started_at,
        sh.ended_at,
        sh.station,
        sh.end_reason,
        sh.handover_note,
        sh.handed_to.name if sh.handed_to is not None else None,
        sh.taken_over_from_id,
        sh.note_confirmed_at,
    )


def list_shifts(
    session: Session, *, user: str | None = None, since: datetime | None = None
) -> list[ShiftRecord]:
    query = (
        select(Shift, User.name)
        .join(User, Shift.user_id == User.id)
        .order_by(Shift.started_at, Shift.id)
    )
    if user is not None:
        query = query.where(User.name_key == user_key(user))
    if since is not None:
        query = query.where(Shift.started_at >= aware(since, "since"))
    return [_shift_record(sh, name) for sh, name in session.execute(query)]
