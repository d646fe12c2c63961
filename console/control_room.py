"""The service layer: every action a person or a script asks of the core comes through here.

    room = ControlRoom.load(store, clock, alarms=alarm_manager)   # before the core starts
    answer = room.apply(Acknowledge(7, "ana"))                     # on the core thread

`apply` is the one door. It

1. takes the `Act` the action names (`console.roles.ROLE_TABLE`'s column); an action that names
   none is refused, never let through;
2. unless the action proves who asks with a password (`signs_in`: sign in, unlock, the first
   supervisor), asks the core's own record of accounts (`AccountBook.authorize`) whether the
   user exists, is enabled, holds an unlocked session and has a role that allows the act;
3. performs it, or answers the refusal in words, and writes each refusal into the audit log
   (who, what, when, why) through the store's writer, without waiting for it.

The console window posts actions to the core thread (`SiteRuntime.post`); the command-line
tools (`nightwatch users`, `export`, `settings`) build a `ControlRoom` over the store and apply
the same actions after signing in with `LogIn(..., shift=False)`. One table, one door, both ways.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any, TypeVar, cast

from console.accounts import AccountBook, SignedIn, SignInRefused
from console.actions import Action, ActionAnswer, AlarmAction
from console.clock import Clock
from console.passwords import PASSWORDS, PasswordHashing
from console.roles import Act, PermissionRefused
from console.store import AppendAudit, ChangeConsoleSetting, Store, StoreError, console_settings

if TYPE_CHECKING:
    from console.alarms import Alarm, AlarmManager
    from console.behaviour.model import BehaviourModel
    from console.reader import StoreReader
    from console.site_actions import SiteDesk

T = TypeVar("T")

log = logging.getLogger(__name__)

__all__ = ["ConsoleSettings", "ControlRoom", "settings_from", "with_setting"]

_UNDECLARED = object()


@dataclass(frozen=True, slots=True)
class ConsoleSettings:
    """What a supervisor configures for the console (stored, each change audited)."""

    lock_after_min: float = 10.0  # lock after this many minutes without input; 0: never

    @property
    def lock_after_s(self) -> float | None:
        return self.lock_after_min * 60.0 if self.lock_after_min > 0 else None


SETTING_LIMITS: dict[str, tuple[float, float, str]] = {
    "lock_after_min": (0.0, 240.0, "minutes without input before the console locks (0: never)"),
}


def with_setting(settings: ConsoleSettings, key: str, value: Any) -> ConsoleSettings:
    """`settings` with `key` set to `value`, or ValueError naming the key and the value."""
    if key not in SETTING_LIMITS:
        known = ", ".join(sorted(SETTING_LIMITS))
        raise ValueError(f"there is no console setting {key!r} (settings: {known})")
    low, high, words = SETTING_LIMITS[key]
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{key}: {words}; a number (got {value!r})") from None
    if not (math.isfinite(number) and low <= number <= high):
        raise ValueError(f"{key}: {words}; {low:g} to {high:g} (got {value!r})")
    return replace(settings, **{key: number})


def settings_from(stored: dict[str, Any]) -> ConsoleSettings:
    """The settings as stored; a value that is no longer valid is reported and left default."""
    settings = ConsoleSettings()
    names = {f.name for f in fields(ConsoleSettings)}
    for key, value in stored.items():
        if key not in names:
            log.warning("console setting %s is stored but unknown here: ignored", key)
            continue
        try:
            settings = with_setting(settings, key, value)
        except ValueError as exc:
            log.error("stored console setting refused, default kept: %s", exc)
    return settings


class ControlRoom:
    def __init__(
        self,
        store: Store,
        accounts: AccountBook,
        *,
        alarms: AlarmManager | None = None,
        settings: ConsoleSettings | None = None,
        behaviour: BehaviourModel | None = None,
    ) -> None:
        self.store = store
        self.accounts = accounts
        self._alarms = alarms
        self.behaviour = behaviour  # console.behaviour: the watch list, advisories
        self.settings = settings or ConsoleSettings()
        self.refusals = 0
        # the site file and its save thread (console.site_actions): set by the runtime, or by
        # `nightwatch site apply`; None: the site cannot be changed from here
        self.site_desk: SiteDesk | None = None
        self.reader: StoreReader | None = None  # the runtime's reader thread, for `read`

    @classmethod
    def load(
        cls,
        store: Store,
        clock: Clock,
        *,
        alarms: AlarmManager | None = None,
        hashing: PasswordHashing = PASSWORDS,
        behaviour: BehaviourModel | None = None,
    ) -> ControlRoom:
        """Accounts, back-off and settings as stored (read once, before the core starts)."""
        accounts = AccountBook.load(store, clock, hashing=hashing)
        return cls(
            store,
            accounts,
            alarms=alarms,
            settings=settings_from(store.read(console_settings)),
            behaviour=behaviour,
        )

    def alarm_manager(self) -> AlarmManager:
        if self._alarms is None:
            raise ValueError("no alarms are watched here (a command-line tool)")
        return self._alarms

    def behaviour_model(self) -> BehaviourModel:
        """The behaviour model of the running console (console.behaviour)."""
        if self.behaviour is None:
            raise ValueError("behaviour learning does not run here (a command-line tool)")
        return self.behaviour

    def site_office(self) -> SiteDesk:
        if self.site_desk is None:
            raise ValueError("the site cannot be changed from here (no site desk)")
        return self.site_desk

    # -- the one door --------------------------------------------------------------------------

    def apply(self, action: Action) -> ActionAnswer:
        user = str(getattr(action, "user", "?"))
        try:
            declared = getattr(type(action), "act", _UNDECLARED)
            if declared is _UNDECLARED:
                raise PermissionRefused(
                    user,
                    None,
                    f"{getattr(action, 'verb', type(action).__name__)} names no act of the "
                    "role table: refused",
                    code="undeclared",
                )
            if not getattr(type(action), "signs_in", False):
                self.accounts.authorize(user, cast(Act | None, declared))
            value = action.perform(self)
        except SignInRefused as exc:  # audited by the account book, with the back-off
            return ActionAnswer(action, None, exc.reason, code=exc.code)
        except PermissionRefused as exc:
            self._refused(action, exc)
            return ActionAnswer(action, None, exc.reason, code=exc.code)
        except (StoreError, KeyError, ValueError) as exc:  # IllegalTransition is a ValueError
            text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
            return ActionAnswer(action, None, text, code="refused")
        alarm = cast("Alarm", value) if isinstance(action, AlarmAction) else None  # their perform
        return ActionAnswer(action, alarm, value=value)

    def _refused(self, action: Action, refused: PermissionRefused) -> None:
        self.refusals += 1
        account = self.accounts.account(refused.user)
        role = refused.role or (account.role if account is not None else None)
        detail: dict[str, Any] = {
            "act": refused.act.value if refused.act is not None else None,
            "verb": getattr(action, "verb", type(action).__name__),
            "role": role.value if role is not None else None,
            "reason": refused.reason,
            "code": refused.code,
        }
        log.warning("refused: %s", refused.reason)
        self.audit(refused.user, "permission.refused", _target(action), detail)

    # -- what actions use ----------------------------------------------------------------------

    def audit(self, user: str, action: str, target: str | None, detail: dict[str, Any]) -> None:
        """An audit row through the store's writer (not waited for)."""
        task = AppendAudit(user[:64], action, target, detail, self.accounts.clock.now())
        written = self.store.write(task)
        written.add_done_callback(
            lambda done: (
                None
                if done.cancelled() or done.exception() is None
                else log.error("audit row %s not stored: %s", action, done.exception())
            )
        )

    def read(self, query: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        """A read for an action: on the runtime's reader thread when one serves this room
        (`reader`, set by the runtime), else here and now (the command-line tools)."""
        reader = self.reader
        if reader is not None:
            return reader.submit(query, *args, **kwargs)
        done: Future[T] = Future()
        try:
            done.set_result(self.store.read(query, *args, **kwargs))
        except Exception as exc:
            done.set_exception(exc)
        return done

    def with_settings(self, signed: SignedIn) -> SignedIn:
        return replace(signed, lock_after_s=self.settings.lock_after_s)

    def change_setting(self, user: str, key: str, value: Any) -> ConsoleSettings:
        changed = with_setting(self.settings, key, value)
        self.settings = changed
        self.store.write(ChangeConsoleSetting(user, key, getattr(changed, key)))
        log.info("console setting %s set to %r by %s", key, getattr(changed, key), user)
        return changed


def _target(action: Action) -> str:
    for field_name, prefix in (("alarm_id", "alarm"), ("name", "user"), ("station", "console")):
        value = getattr(action, field_name, None)
        if value is not None:
            return f"{prefix}:{value}"
    return f"action:{type(action).__name__}"
