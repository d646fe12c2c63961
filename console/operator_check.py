"""The lone-operator check: at night, "still there?" at random intervals; silence escalates.

While the museum is closed (`Site.is_open` is false) the console asks the monitor, at a random
moment between `min_interval_min` and `max_interval_min` minutes after the last answer (or after
closing time), to confirm they are there. The prompt must be answered within `answer_within_s`.
An unanswered prompt escalates once, like an unacknowledged alarm: an `escalated` event reaches
every listener (the console makes it loud; `page_on_escalation` hands it to the alert router,
which pages the supervisor where one is configured and says exactly what was sent) and the
escalation is written into the store's hash-chained audit log. The prompt stays up until it is
answered; a late answer is logged too. While the museum is open nothing is asked, and a prompt
still pending at opening time is withdrawn.

Why the audit log and not an alarm row: an alarm belongs to a camera and a subject of the site
(it is shown on the focus wall, folded into episodes, resolved with an outcome); a silent console
is a fact about the control room. The audit log is the tamper-evident record of what people did
and did not do at the console, which is what an auditor looks for after a night with a silent
monitor. Every prompt, answer, escalation and withdrawal is one audit row
(`operator_check.<kind>`, target `console:<station>`).

The policy is pure: it reads a `Clock` and is driven by `tick()` (the console calls it every
second; tests advance a `FakeClock`). Intervals come from a seeded `random.Random`, so a test
knows exactly when the next prompt is due.

    check = OperatorCheck(site, clock, store, settings=OperatorCheckSettings(), seed=7)
    check.add_listener(on_check_event)   # prompt / answered / escalated / withdrawn
    check.tick()                         # once a second
    check.answer("ana")                  # the big button
"""

from __future__ import annotations

import logging
import math
import random
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, Protocol

from console.clock import Clock
from console.store.audit import AppendAudit

log = logging.getLogger(__name__)

__all__ = [
    "AUDIT_USER",
    "CheckState",
    "OperatorCheck",
    "OperatorCheckEvent",
    "OperatorCheckListener",
    "OperatorCheckSettings",
    "page_on_escalation",
]

AUDIT_USER = "system"
AUDIT_ACTION_PREFIX = "operator_check."

EventKind = Literal["prompt", "answered", "escalated", "withdrawn"]


class OpeningHours(Protocol):
    """What the check needs of a site (`console.site_file.Site` has it)."""

    def is_open(self, when: datetime) -> bool: ...


class AuditLog(Protocol):
    """What the check needs of a store (`console.store.Store` has it)."""

    def write(self, task: AppendAudit) -> Future[Any]: ...


@dataclass(frozen=True, slots=True)
class OperatorCheckSettings:
    """How often the monitor is asked and how long they have to answer."""

    enabled: bool = True
    min_interval_min: float = 20.0
    max_interval_min: float = 60.0
    answer_within_s: float = 120.0
    station: str = "control-room"  # names this console in the audit log

    def __post_init__(self) -> None:
        for name in ("min_interval_min", "max_interval_min", "answer_within_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"OperatorCheckSettings.{name} must be > 0 (got {value!r})")
        if self.max_interval_min < self.min_interval_min:
            raise ValueError(
                "OperatorCheckSettings.max_interval_min must be at least min_interval_min "
                f"(got {self.max_interval_min!r} < {self.min_interval_min!r})"
            )


class CheckState(StrEnum):
    OFF = "off"  # the museum is open, or the check is disabled
    WAITING = "waiting"  # closed: the next prompt is due at `due_at`
    PROMPTING = "prompting"  # the prompt is up, to be answered before `deadline`
    ESCALATED = "escalated"  # the prompt was not answered in time; still up


@dataclass(frozen=True, slots=True)
class OperatorCheckEvent:
    """What happened, for listeners (the prompt dialog, the sound, the supervisor route)."""

    kind: EventKind
    prompt_id: int
    at: datetime
    deadline_in_s: float | None = None  # prompt: seconds the monitor has to answer
    response_s: float | None = None  # answered: seconds from the prompt to the answer
    user: str | None = None  # answered: who
    late: bool = False  # answered after the escalation


OperatorCheckListener = Callable[[OperatorCheckEvent], None]


class OperatorCheck:
    """The "still there?" policy of one console. Thread-safe; listeners are called outside the
    lock, in the thread that called `tick()` or `answer()`."""

    def __init__(
        self,
        site: OpeningHours,
        clock: Clock,
        store: AuditLog | None = None,
        *,
        settings: OperatorCheckSettings | None = None,
        seed: int | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.site = site
        self.clock = clock
        self.store = store
        self.settings = settings or OperatorCheckSettings()
        if rng is None:
            rng = random.Random(seed)  # nosec B311 # when to prompt is no secret; tests seed it
        self._rng = rng
        self._lock = threading.Lock()
        self._listeners: list[OperatorCheckListener] = []
        self._state = CheckState.OFF
        self._due_at: float | None = None  # monotonic seconds
        self._prompted_at: float | None = None
        self._prompt_id = 0
        self.prompts = 0
        self.escalations = 0

    # -- reading -------------------------------------------------------------------------------

    @property
    def state(self) -> CheckState:
        with self._lock:
            return self._state

    @property
    def prompt_id(self) -> int:
        """The current (or last) prompt's number, counting from 1 in this console's run."""
        with self._lock:
            return self._prompt_id

    def due_in_s(self) -> float | None:
        """Seconds until the next prompt (WAITING), else None."""
        with self._lock:
            if self._state != CheckState.WAITING or self._due_at is None:
                return None
            return max(0.0, self._due_at - self.clock.monotonic())

    def deadline_in_s(self) -> float | None:
        """Seconds left to answer the prompt (PROMPTING; 0 once escalated), else None."""
        with self._lock:
            if self._prompted_at is None:
                return None
            left = self._prompted_at + self.settings.answer_within_s - self.clock.monotonic()
            return max(0.0, left)

    def add_listener(self, listener: OperatorCheckListener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: OperatorCheckListener) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    # -- time passes ---------------------------------------------------------------------------

    def tick(self) -> list[OperatorCheckEvent]:
        """Look at the clock: schedule, prompt, escalate or withdraw. Returns what happened."""
        now = self.clock.now()
        mono = self.clock.monotonic()
        night = self.settings.enabled and not self.site.is_open(now)
        events: list[OperatorCheckEvent] = []
        with self._lock:
            if not night:
                if self._state in (CheckState.PROMPTING, CheckState.ESCALATED):
                    events.append(OperatorCheckEvent("withdrawn", self._prompt_id, now))
                if self._state != CheckState.OFF:
                    log.info("operator check off: the museum is open (or the check disabled)")
                self._state, self._due_at, self._prompted_at = CheckState.OFF, None, None
            elif self._state == CheckState.OFF:
                self._schedule(mono)
            elif self._state == CheckState.WAITING:
                assert self._due_at is not None
                if mono >= self._due_at:
                    self._prompt_id += 1
                    self.prompts += 1
                    self._state, self._prompted_at, self._due_at = CheckState.PROMPTING, mono, None
                    within = self.settings.answer_within_s
                    events.append(OperatorCheckEvent("prompt", self._prompt_id, now, within))
                    log.info(
                        "operator check %d: still there? (%.0f s to answer)",
                        events[-1].prompt_id,
                        within,
                    )
            elif self._state == CheckState.PROMPTING:
                assert self._prompted_at is not None
                if mono - self._prompted_at >= self.settings.answer_within_s:
                    self._state = CheckState.ESCALATED
                    self.escalations += 1
                    events.append(OperatorCheckEvent("escalated", self._prompt_id, now, 0.0))
                    log.warning(
                        "operator check %d unanswered for %.0f s: escalated",
                        self._prompt_id,
                        self.settings.answer_within_s,
                    )
        self._emit(events)
        return events

    def answer(self, user: str) -> OperatorCheckEvent | None:
        """The monitor confirms they are there; None when no prompt was up."""
        now = self.clock.now()
        mono = self.clock.monotonic()
        with self._lock:
            if self._state not in (CheckState.PROMPTING, CheckState.ESCALATED):
                return None
            assert self._prompted_at is not None
            late = self._state == CheckState.ESCALATED
            event = OperatorCheckEvent(
                "answered",
                self._prompt_id,
                now,
                response_s=round(mono - self._prompted_at, 3),
                user=user,
                late=late,
            )
            self._prompted_at = None
            self._schedule(mono)
        log.info(
            "operator check %d answered by %s after %.1f s%s",
            event.prompt_id,
            user,
            event.response_s,
            " (late)" if late else "",
        )
        self._emit([event])
        return event

    # -- plumbing ------------------------------------------------------------------------------

    def _schedule(self, mono: float) -> None:
        """Next prompt a random time from now (the lock is held)."""
        low = self.settings.min_interval_min * 60.0
        high = self.settings.max_interval_min * 60.0
        wait_s = self._rng.uniform(low, high)
        self._state, self._due_at = CheckState.WAITING, mono + wait_s
        log.debug("operator check: next prompt in %.0f s", wait_s)

    def _emit(self, events: list[OperatorCheckEvent]) -> None:
        if not events:
            return
        for event in events:
            self._record(event)
        with self._lock:
            listeners = list(self._listeners)
        for event in events:
            for listener in listeners:
                try:
                    listener(event)
                except Exception:
                    log.exception("operator check listener failed on %s", event.kind)

    def _record(self, event: OperatorCheckEvent) -> None:
        """One audit row per event. A store that fails must not silence the escalation."""
        if self.store is None:
            return
        detail: dict[str, Any] = {"prompt": event.prompt_id}
        if event.kind == "prompt":
            detail["answer_within_s"] = self.settings.answer_within_s
        elif event.kind == "escalated":
            detail["unanswered_s"] = self.settings.answer_within_s
        elif event.kind == "answered":
            detail.update({"response_s": event.response_s, "late": event.late})
        user = event.user if event.kind == "answered" and event.user else AUDIT_USER
        task = AppendAudit(
            user,
            AUDIT_ACTION_PREFIX + event.kind,
            f"console:{self.settings.station}",
            detail,
            at=event.at,
        )
        try:  # queued, not waited for: the check never waits on the disk
            written = self.store.write(task)
        except Exception:
            log.exception(
                "operator check %d: %s not written to the store", event.prompt_id, event.kind
            )
            return

        def done(future: Future[Any]) -> None:
            if not future.cancelled() and future.exception() is not None:
                log.error(
                    "operator check %d: %s not written to the store: %s",
                    event.prompt_id,
                    event.kind,
                    future.exception(),
                )

        written.add_done_callback(done)


UNANSWERED_EVENT = "operator_check_unanswered"


def page_on_escalation(
    check: OperatorCheck, page: Callable[[str, str], object]
) -> OperatorCheckListener:
    """Hand each escalation of `check` to the alert router: `page(kind, text)` is
    `SiteRuntime.alert_event`, which runs `AlertRouter.control_room_event` on the core thread
    (the supervisor's page, audited, with a notice saying what was really sent). Returns the
    listener (for `check.remove_listener`)."""

    def listener(event: OperatorCheckEvent) -> None:
        if event.kind != "escalated":
            return
        text = (
            f"nobody answered the still-there check at console {check.settings.station} "
            f"within {check.settings.answer_within_s:.0f} s (check {event.prompt_id})"
        )
        try:
            page(UNANSWERED_EVENT, text)
        except Exception:  # the prompt stays up and loud whatever became of the page
            log.exception("operator check %d: the supervisor's page failed", event.prompt_id)

    check.add_listener(listener)
    return listener
