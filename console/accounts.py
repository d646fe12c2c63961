"""The core's own record of accounts, who is signed in at which console, and the sign-in back-off.

`AccountBook` is loaded from the store when the core starts and changed only on the core thread
(or, in a command-line tool, its one thread): every change is decided here, in memory, and
handed to the store's writer as a named task (`console.store.staff`), so the core never waits on
the disk. The service layer (`console.control_room.ControlRoom`) asks it who a user is before
anything is done in their name: the role comes from this record, never from the caller.

- **Accounts.** A name (1-64 letters, digits, `.`, `_`, `-`, `@`), unique whatever its case; a
  role (`console.roles`); an argon2id hash of the password (`console.passwords`); disabled or
  not. A disabled account cannot sign in, and its sessions end when it is disabled. The last
  enabled supervisor cannot be disabled.
- **Sessions.** One per console (`station`): the user signed in there, since when, whether the
  console is locked. A console sign-in starts a shift; a command-line sign-in does not. Acting
  needs an unlocked session: a locked console's user must give the password again.
- **Back-off.** Failed sign-ins in a row are counted per user name and per console. After
  `FREE_ATTEMPTS` failures, each next try must wait `FIRST_WAIT_S` doubling up to
  `MAX_WAIT_S`; a try during the wait is refused without checking the password. The counts are
  stored (they hold across restarts and command-line invocations); a success clears them.
- Every sign-in, failed or throttled sign-in, lock, unlock, sign-out, hand-over and account change
  is an audit row (with the name as typed for a failure); passwords never are.

Not thread-safe: the core thread is its only user in the console.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from console.clock import Clock
from console.passwords import PASSWORDS, Password, PasswordHashing, check_new_password
from console.roles import PERSON_ROLES, Act, PermissionRefused, Role
from console.store import (
    AddUser,
    AppendAudit,
    BackoffRecord,
    ChangeUser,
    CredentialRecord,
    HandOverShift,
    SignIn,
    SignInFailed,
    SignOut,
    Store,
    account_credentials,
    login_backoffs,
    user_key,
)
from console.store.tasks import SYSTEM_USER

log = logging.getLogger(__name__)

__all__ = [
    "FIRST_WAIT_S",
    "FREE_ATTEMPTS",
    "MAX_WAIT_S",
    "SERVICE_USER",
    "Account",
    "AccountBook",
    "AccountView",
    "SignInRefused",
    "SignedIn",
    "backoff_wait_s",
    "check_name",
]

SERVICE_USER = "nightwatch-service"  # what `--headless` runs as: never stored, never signs in
RESERVED_NAMES = frozenset({user_key(SYSTEM_USER), user_key(SERVICE_USER)})
NAME_PATTERN = re.compile(r"[\w.@-]{1,64}")

FREE_ATTEMPTS = 3  # failures in a row before the back-off starts
FIRST_WAIT_S = 2.0
MAX_WAIT_S = 300.0


def check_name(name: str) -> str:
    """The name, trimmed, or ValueError in words."""
    name = name.strip()
    if not NAME_PATTERN.fullmatch(name):
        raise ValueError(
            f"a user name has 1 to 64 letters, digits, '.', '_', '-' or '@' (got {name!r})"
        )
    if user_key(name) in RESERVED_NAMES:
        raise ValueError(f"the name {name!r} is reserved for the console itself")
    return name


def backoff_wait_s(failures: int) -> float:
    """Seconds to wait after `failures` failed sign-ins in a row."""
    if failures < FREE_ATTEMPTS:
        return 0.0
    return min(MAX_WAIT_S, FIRST_WAIT_S * 2.0 ** (failures - FREE_ATTEMPTS))


@dataclass(frozen=True, slots=True)
class Account:
    name: str
    role: Role
    disabled: bool = False
    password_hash: str | None = field(default=None, repr=False)
    created_at: datetime | None = None
    created_by: str | None = None

    @property
    def key(self) -> str:
        return user_key(self.name)


@dataclass(frozen=True, slots=True)
class AccountView:
    """An account as a listing shows it (no hash)."""

    name: str
    role: Role
    disabled: bool
    created_at: datetime | None
    created_by: str | None
    signed_in_at: tuple[str, ...] = ()  # the consoles where this account is signed in


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A session: who is signed in at a console, with what role, and whether it is locked."""

    user: str
    role: Role
    station: str
    since: datetime
    locked: bool = False
    shift: bool = True  # a console shift (False: a command-line sign-in)
    handed_over_by: str | None = None
    note: str | None = None  # the hand-over note this user confirmed reading
    lock_after_s: float | None = None  # the console's inactivity lock (set by the service layer)

    @property
    def acts(self) -> frozenset[Act]:
        return self.role.acts

    def may(self, act: Act) -> bool:
        return self.role.may(act)


class SignInRefused(PermissionRefused):
    """A refused sign-in, unlock or hand-over; already audited by the `AccountBook`."""

    def __init__(self, user: str, reason: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(user, None, reason, code="sign_in")
        self.retry_after_s = retry_after_s


@dataclass(slots=True)
class _Backoff:
    failures: int
    last_failed_at: datetime


class AccountBook:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        credentials: Iterable[CredentialRecord] = (),
        backoffs: Iterable[BackoffRecord] = (),
        hashing: PasswordHashing = PASSWORDS,
    ) -> None:
        self.store = store
        self.clock = clock
        self.hashing = hashing
        self._accounts: dict[str, Account] = {}
        for c in credentials:
            account = Account(
                c.name, c.role, c.disabled, c.password_hash, c.created_at, c.created_by
            )
            self._accounts[account.key] = account
        self._backoff: dict[str, _Backoff] = {
            b.key: _Backoff(b.failures, b.last_failed_at) for b in backoffs
        }
        self._sessions: dict[str, SignedIn] = {}
        self._write_errors: list[str] = []
        self._has_accounts = any(a.role in PERSON_ROLES for a in self._accounts.values())

    @classmethod
    def load(
        cls, store: Store, clock: Clock, *, hashing: PasswordHashing = PASSWORDS
    ) -> AccountBook:
        """The accounts and back-off as stored (read once, before the core starts)."""
        return cls(
            store,
            clock,
            credentials=store.read(account_credentials),
            backoffs=store.read(login_backoffs),
            hashing=hashing,
        )

    # -- reading -------------------------------------------------------------------------------

    @property
    def has_accounts(self) -> bool:
        """Whether any person's account exists (none: the first start asks for a supervisor).
        Safe to read from any thread."""
        return self._has_accounts

    def account(self, name: str) -> Account | None:
        return self._accounts.get(user_key(name))

    def session(self, station: str) -> SignedIn | None:
        return self._sessions.get(station)

    def views(self) -> list[AccountView]:
        where: dict[str, list[str]] = {}
        for station, s in self._sessions.items():
            where.setdefault(user_key(s.user), []).append(station)
        return [
            AccountView(
                a.name,
                a.role,
                a.disabled,
                a.created_at,
                a.created_by,
                tuple(sorted(where.get(a.key, ()))),
            )
            for a in sorted(self._accounts.values(), key=lambda a: a.key)
            if a.role in PERSON_ROLES
        ]

    def write_errors(self) -> list[str]:
        """Writes the store refused (for a command-line tool to report after `store.flush`)."""
        return list(self._write_errors)

    # -- the service layer's question ----------------------------------------------------------

    def authorize(self, user: str, act: Act | None) -> Account:
        """The account acting as `user`, if it exists, is enabled, holds an unlocked session and
        its role allows `act` (None: only signed in); else `PermissionRefused` in words."""
        account = self._accounts.get(user_key(user))
        if account is None:
            raise PermissionRefused(user, act, f"there is no account {user!r}", code="no_account")
        if account.disabled:
            raise PermissionRefused(
                user,
                act,
                f"the account {account.name} is disabled",
                role=account.role,
                code="disabled",
            )
        sessions = [s for s in self._sessions.values() if user_key(s.user) == account.key]
        if not sessions:
            raise PermissionRefused(
                user,
                act,
                f"{account.name} is not signed in",
                role=account.role,
                code="signed_out",
            )
        if all(s.locked for s in sessions):
            raise PermissionRefused(
                user,
                act,
                f"the console is locked: {account.name}'s password unlocks it",
                role=account.role,
                code="locked",
            )
        if act is not None and not account.role.may(act):
            raise PermissionRefused(
                user,
                act,
                f"{account.name} ({account.role.value}) may not {act.words}",
                role=account.role,
                code="role",
            )
        return account

    # -- signing in ----------------------------------------------------------------------------

    def sign_in(
        self, name: str, password: Password, station: str, *, shift: bool = True
    ) -> SignedIn:
        """Check the password (with the back-off), then open a session at `station` (a console
        shift when `shift`). The same user at their own locked console unlocks it; another user
        at a locked console replaces its session (that shift ends)."""
        current = self._sessions.get(station)
        if current is not None and user_key(current.user) == user_key(name):
            if current.locked:
                return self.unlock(current.user, password, station)
            return current
        if current is not None and not current.locked and current.shift:
            reason = f"{current.user} is signed in at this console: they sign out first"
            self._audit(name[:64], "login.refused", station, {"reason": reason})
            raise SignInRefused(name, reason)
        account = self._check_password(name, password, station, "login")
        now = self.clock.now()
        if current is not None:  # a locked console taken over
            del self._sessions[station]
            reason = f"replaced by {account.name} at the locked console"
            self._write(SignOut(current.user, station, reason, at=now))
        self._write(
            SignIn(
                account.name,
                station,
                shift=shift,
                clear_keys=self._keys(account.name, station),
                at=now,
            )
        )
        signed = SignedIn(account.name, account.role, station, now, shift=shift)
        self._sessions[station] = signed
        log.info("%s (%s) signed in at %s", account.name, account.role.value, station)
        return signed

    def unlock(self, user: str, password: Password, station: str) -> SignedIn:
        current = self._sessions.get(station)
        if current is None or not current.locked or user_key(current.user) != user_key(user):
            raise PermissionRefused(user, None, f"{user} has no locked session at {station}")
        account = self._check_password(current.user, password, station, "unlock")
        now = self.clock.now()
        keys = self._keys(account.name, station)
        self._write(
            SignIn(account.name, station, shift=False, clear_keys=keys, action="unlock", at=now)
        )
        unlocked = replace(current, locked=False)
        self._sessions[station] = unlocked
        log.info("%s unlocked %s at %s", account.name, station, now.isoformat())
        return unlocked

    def first_supervisor(
        self, name: str, password: Password, station: str, *, shift: bool = True
    ) -> SignedIn:
        """The first start: with no account at all, make `name` a supervisor and sign them in."""
        if self.has_accounts:
            raise PermissionRefused(
                name, None, "accounts exist already: a supervisor adds the next one"
            )
        name = check_name(name)
        check_new_password(password, name)
        now = self.clock.now()
        account = Account(name, Role.SUPERVISOR, False, self.hashing.hash(password), now, name)
        self._accounts[account.key] = account
        self._has_accounts = True
        self._write(
            AddUser(
                name,
                Role.SUPERVISOR,
                by=name,
                at=now,
                password_hash=account.password_hash,
                first_run=True,
            )
        )
        self._write(SignIn(name, station, shift=shift, at=now))
        signed = SignedIn(name, Role.SUPERVISOR, station, now, shift=shift)
        self._sessions[station] = signed
        log.info("first supervisor %s created at %s", name, station)
        return signed

    def lock(self, user: str, station: str, reason: str) -> SignedIn:
        current = self._own_session(user, station)
        if current.locked:
            return current
        locked = replace(current, locked=True)
        self._sessions[station] = locked
        self._audit(current.user, "console.lock", station, {"reason": reason})
        return locked

    def sign_out(self, user: str, station: str, reason: str = "signed out") -> None:
        current = self._own_session(user, station)
        del self._sessions[station]
        self._write(SignOut(current.user, station, reason, at=self.clock.now()))
        log.info("%s signed out at %s (%s)", current.user, station, reason)

    def hand_over(
        self,
        user: str,
        station: str,
        note: str,
        to_user: str,
        to_password: Password,
        *,
        note_confirmed: bool,
    ) -> SignedIn:
        """`user` hands the console at `station` to `to_user`, who signs in with their password
        and has confirmed reading `note`. Both names and the note are recorded."""
        current = self._own_session(user, station)
        if current.locked:
            raise PermissionRefused(user, None, "unlock the console before handing it over")
        if not note.strip():
            raise ValueError("write a note for the next monitor (even 'nothing to report')")
        if not note_confirmed:
            raise PermissionRefused(
                to_user, None, "the next monitor must confirm reading the hand-over note"
            )
        if user_key(to_user) == user_key(current.user):
            raise PermissionRefused(to_user, None, "a shift is handed over to someone else")
        account = self._check_password(to_user, to_password, station, "handover")
        if not account.role.may(Act.WATCH):
            reason = f"{account.name} ({account.role.value}) cannot take a shift at the console"
            self._audit(account.name, "handover.refused", station, {"reason": reason})
            raise SignInRefused(account.name, reason)
        now = self.clock.now()
        self._write(
            HandOverShift(
                current.user,
                account.name,
                station,
                note,
                confirmed_at=now,
                clear_keys=self._keys(account.name, station),
                at=now,
            )
        )
        signed = SignedIn(
            account.name, account.role, station, now, handed_over_by=current.user, note=note
        )
        self._sessions[station] = signed
        log.info("%s handed %s over to %s", current.user, station, account.name)
        return signed

    def end_sessions(self, reason: str) -> None:
        """The console stops: every shift open at it ends (locked ones too)."""
        now = self.clock.now()
        for station, s in list(self._sessions.items()):
            if s.shift:
                del self._sessions[station]
                self._write(SignOut(s.user, station, reason, at=now))

    def start_service(self, station: str) -> SignedIn:
        """`--headless`: the console runs as `SERVICE_USER`, which may do nothing a person asks."""
        account = Account(SERVICE_USER, Role.SERVICE, created_by=SYSTEM_USER)
        self._accounts[account.key] = account
        signed = SignedIn(SERVICE_USER, Role.SERVICE, station, self.clock.now(), shift=False)
        self._sessions[station] = signed
        self._audit(SERVICE_USER, "service.start", station, {})
        return signed

    def stop_service(self, station: str) -> None:
        if self._sessions.pop(station, None) is not None:
            self._audit(SERVICE_USER, "service.stop", station, {})

    # -- accounts (the caller has checked the role) ---------------------------------------------

    def add(self, by: str, name: str, role: Role | str, password: Password) -> AccountView:
        name = check_name(name)
        role = Role(role)
        if role not in PERSON_ROLES:
            allowed = ", ".join(r.value for r in PERSON_ROLES)
            raise ValueError(f"a role is one of {allowed} (got {role.value!r})")
        existing = self._accounts.get(user_key(name))
        if existing is not None:
            raise ValueError(f"the name {name!r} is taken (by {existing.name!r})")
        check_new_password(password, name)
        now = self.clock.now()
        account = Account(name, role, False, self.hashing.hash(password), now, by)
        self._accounts[account.key] = account
        self._has_accounts = True
        self._write(AddUser(name, role, by=by, at=now, password_hash=account.password_hash))
        log.info("account %s (%s) added by %s", name, role.value, by)
        return self._view(account)

    def set_disabled(self, by: str, name: str, disabled: bool) -> AccountView:
        account = self._known(name)
        if account.disabled == disabled:
            return self._view(account)
        if disabled:
            if account.key == user_key(by):
                raise ValueError("you cannot disable your own account")
            supervisors = [
                a for a in self._accounts.values() if a.role == Role.SUPERVISOR and not a.disabled
            ]
            if account.role == Role.SUPERVISOR and len(supervisors) <= 1:
                raise ValueError(f"{account.name} is the last enabled supervisor")
        now = self.clock.now()
        account = replace(account, disabled=disabled)
        self._accounts[account.key] = account
        self._write(ChangeUser(account.name, by, disabled=disabled, at=now))
        if disabled:
            for station, s in list(self._sessions.items()):
                if user_key(s.user) == account.key:
                    del self._sessions[station]
                    reason = f"account disabled by {by}"
                    self._write(SignOut(account.name, station, reason, at=now))
        log.info("account %s %s by %s", account.name, "disabled" if disabled else "enabled", by)
        return self._view(account)

    def set_password(self, by: str, name: str, password: Password) -> None:
        account = self._known(name)
        check_new_password(password, account.name)
        hashed = self.hashing.hash(password)
        self._accounts[account.key] = replace(account, password_hash=hashed)
        self._write(ChangeUser(account.name, by, password_hash=hashed, at=self.clock.now()))
        log.info("password of %s changed by %s", account.name, by)

    def change_own_password(
        self, user: str, station: str, current: Password, new: Password
    ) -> None:
        """A signed-in user's own password, the current one given again (back-off applies)."""
        session = self._own_session(user, station)
        account = self._check_password(session.user, current, station, "password")
        self.set_password(account.name, account.name, new)

    # -- inside --------------------------------------------------------------------------------

    def _known(self, name: str) -> Account:
        account = self._accounts.get(user_key(name))
        if account is None or account.role not in PERSON_ROLES:
            raise ValueError(f"there is no account {name!r}")
        return account

    def _view(self, account: Account) -> AccountView:
        stations = tuple(
            sorted(st for st, s in self._sessions.items() if user_key(s.user) == account.key)
        )
        return AccountView(
            account.name,
            account.role,
            account.disabled,
            account.created_at,
            account.created_by,
            stations,
        )

    def _own_session(self, user: str, station: str) -> SignedIn:
        current = self._sessions.get(station)
        if current is None or user_key(current.user) != user_key(user):
            raise PermissionRefused(
                user, None, f"{user} is not signed in at {station}", code="signed_out"
            )
        return current

    @staticmethod
    def _keys(name: str, station: str) -> tuple[str, str]:
        return (f"user:{user_key(name)}", f"console:{station}")

    def _wait_s(self, keys: Sequence[str], now: datetime) -> float:
        wait = 0.0
        for key in keys:
            b = self._backoff.get(key)
            if b is not None:
                left = backoff_wait_s(b.failures) - (now - b.last_failed_at).total_seconds()
                wait = max(wait, left)
        return wait

    def _check_password(self, name: str, password: Password, station: str, action: str) -> Account:
        """The account if `password` is its own; else `SignInRefused`, audited, counted."""
        now = self.clock.now()
        keys = self._keys(name, station)
        wait = self._wait_s(keys, now)
        if wait > 0:
            whole = math.ceil(wait)
            self._write(
                SignInFailed(
                    name,
                    station,
                    "too many failed attempts",
                    action=f"{action}.throttled",
                    retry_after_s=wait,
                    at=now,
                )
            )
            raise SignInRefused(
                name, f"too many failed attempts: try again in {whole} s", retry_after_s=wait
            )
        account = self._accounts.get(user_key(name))
        if account is not None and account.role not in PERSON_ROLES:
            account = None  # the service account never signs in
        if not self.hashing.verify(account.password_hash if account else None, password):
            rows = []
            for key in keys:
                b = self._backoff.get(key)
                failures = (b.failures if b else 0) + 1
                self._backoff[key] = _Backoff(failures, now)
                rows.append(BackoffRecord(key, failures, now))
            reason = "unknown name" if account is None else "wrong password"
            self._write(
                SignInFailed(name, station, reason, tuple(rows), action=f"{action}.failed", at=now)
            )
            next_wait = max(backoff_wait_s(r.failures) for r in rows)
            text = "wrong name or password"
            if next_wait > 0:
                text += f"; the next try waits {math.ceil(next_wait)} s"
            raise SignInRefused(name, text, retry_after_s=next_wait or None)
        assert account is not None
        if account.disabled:
            self._write(
                SignInFailed(name, station, "account disabled", action=f"{action}.failed", at=now)
            )
            raise SignInRefused(
                name, f"the account {account.name} is disabled: a supervisor can enable it"
            )
        for key in keys:
            self._backoff.pop(key, None)
        return account

    def _audit(self, user: str, action: str, station: str, detail: dict[str, Any]) -> None:
        facts = {"station": station, **detail}
        self._write(AppendAudit(user, action, f"console:{station}", facts, self.clock.now()))

    def _write(self, task: Any) -> Future[Any]:
        written: Future[Any] = self.store.write(task)
        written.add_done_callback(lambda done: self._written(task, done))
        return written

    def _written(self, task: Any, done: Future[Any]) -> None:
        error = None if done.cancelled() else done.exception()
        if error is not None:
            log.error("accounts: %s not stored: %s", task.name, error)
            self._write_errors.append(f"{task.name}: {error}")
