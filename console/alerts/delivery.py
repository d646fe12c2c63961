"""Delivery threads: each alert endpoint (a broker, a webhook) has one, owned and joined.

    core thread ── submit(Delivery) ──► queue (due times) ──► delivery thread: transport.send()
                                                                   │ acknowledged / failed /
    core thread ◄── a core job ◄── report(DeliveryOutcome) ◄───────┘ trying again in N s

`submit` never blocks and never touches the network: the core thread hands a message over and
moves on. The thread sends what is due; a try that fails is tried again after a pause that
doubles (`RetryPolicy`), for at most the destination's `retry_for_s`, and is then reported as
failed with the last reason; a failure that trying again cannot mend (refused credentials, an
HTTP 404) is reported at once. While one message waits out its pause, the others are sent.
One thread per endpoint, so a webhook that hangs for its whole timeout never holds up the
supervisor's MQTT page.

Every outcome goes to `report` from this thread: the runtime turns it into a core job, and the
core writes the audit row (nothing here touches the store).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from console.alerts.transports import DeliveryError, OutgoingMessage, Transport

log = logging.getLogger(__name__)

__all__ = ["Delivery", "DeliveryOutcome", "DeliveryWorker", "OutcomeState", "RetryPolicy"]

OutcomeState = Literal["sent", "failed", "retrying"]
STOPPED_REASON = "the console stopped before it was acknowledged"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Pauses between tries: `first_pause_s`, then doubling up to `max_pause_s`."""

    first_pause_s: float = 1.0
    factor: float = 2.0
    max_pause_s: float = 15.0

    def pause_s(self, tries: int) -> float:
        """The pause after the `tries`-th failed try (1, 2, ...)."""
        return min(self.max_pause_s, self.first_pause_s * self.factor ** max(0, tries - 1))


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message for one destination (sent by every transport of that destination)."""

    destination: str  # "gallery", "supervisor"
    subject: str  # "alarm:7", "console:operator_check"
    what: str  # "raised", "escalated", "operator_check_unanswered", ...
    message: OutgoingMessage
    message_id: str  # in the payload: the receiver drops a repeat
    retry_for_s: float
    alarm_id: int | None = None


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    """What became of a delivery on one transport. `state` "retrying" is news on the way (a try
    failed, another follows); "sent" and "failed" are final."""

    delivery: Delivery
    transport: str  # "MQTT", "webhook"
    endpoint: str  # without credentials
    state: OutcomeState
    tries: int
    at: datetime  # when acknowledged, or when given up (UTC)
    reason: str | None = None  # the last failure, in words
    took_s: float = 0.0  # from submit to this outcome
    next_try_in_s: float | None = None  # retrying: the pause before the next try

    @property
    def final(self) -> bool:
        return self.state != "retrying"

    @property
    def sent(self) -> bool:
        return self.state == "sent"


@dataclass(order=True)
class _Waiting:
    due: float
    order: int
    delivery: Delivery = field(compare=False)
    submitted: float = field(compare=False)
    tries: int = field(default=0, compare=False)
    last_reason: str | None = field(default=None, compare=False)


Report = Callable[[DeliveryOutcome], None]


class DeliveryWorker:
    """Sends one endpoint's messages on its own thread; `start()` then `stop()` (joined)."""

    def __init__(
        self,
        transport: Transport,
        report: Report,
        *,
        retry: RetryPolicy | None = None,
        name: str = "nightwatch-alerts",
    ) -> None:
        self.transport = transport
        self._report = report
        self._retry = retry or RetryPolicy()
        self._name = name
        self._cond = threading.Condition()
        self._queue: list[_Waiting] = []
        self._order = itertools.count()
        self._stopping = False
        self._thread: threading.Thread | None = None

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    def waiting(self) -> int:
        """Messages not yet acknowledged or given up (in the queue)."""
        with self._cond:
            return len(self._queue)

    def start(self) -> None:
        with self._cond:
            if self._thread is not None:
                return
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def submit(self, delivery: Delivery) -> None:
        """Queue a message to be sent now (any thread; never blocks)."""
        now = time.monotonic()
        with self._cond:
            if not self._stopping and self._thread is not None:
                heapq.heappush(self._queue, _Waiting(now, next(self._order), delivery, now))
                self._cond.notify_all()
                return
        self._emit(_Waiting(now, 0, delivery, now), "failed", "the alert service is not running")

    def stop(self, timeout_s: float = 30.0) -> None:
        """Try once more what was never tried (news of the last moment), give up the messages
        that wait to be tried again (reported as failed), and join the thread."""
        with self._cond:
            thread = self._thread
            self._stopping = True
            self._cond.notify_all()
        if thread is not None:
            thread.join(timeout_s)
            if thread.is_alive():
                log.error(
                    "alert delivery thread %s did not stop within %.0f s", self._name, timeout_s
                )
        with self._cond:
            self._thread = None
            left, self._queue = self._queue, []
        for waiting in sorted(left):
            reason = STOPPED_REASON
            if waiting.last_reason:
                reason += f" (last try: {waiting.last_reason})"
            self._emit(waiting, "failed", reason)

    # -- the delivery thread ---------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    now = time.monotonic()
                    if self._stopping:
                        fresh = [w for w in self._queue if w.tries == 0]
                        if not fresh:
                            return
                        waiting = min(fresh)
                        self._queue.remove(waiting)
                        heapq.heapify(self._queue)
                        break
                    if self._queue and self._queue[0].due <= now:
                        waiting = heapq.heappop(self._queue)
                        break
                    timeout = self._queue[0].due - now if self._queue else None
                    self._cond.wait(timeout)
            self._try(waiting)

    def _try(self, waiting: _Waiting) -> None:
        waiting.tries += 1
        try:
            self.transport.send(waiting.delivery.message)
        except DeliveryError as exc:
            failure, permanent = exc.reason, exc.permanent
        except Exception as exc:  # a bug or a library surprise: reported, never fatal here
            log.exception("alert to %s: unexpected error", self.transport.endpoint)
            failure, permanent = f"{type(exc).__name__}: {exc}", False
        else:
            self._emit(waiting, "sent")
            return
        waiting.last_reason = failure
        pause_s = self._retry.pause_s(waiting.tries)
        spent_s = time.monotonic() - waiting.submitted
        if permanent or spent_s + pause_s > waiting.delivery.retry_for_s:
            log.error(
                "alert %s to %s via %s failed after %d tries: %s",
                waiting.delivery.what,
                waiting.delivery.destination,
                self.transport.endpoint,
                waiting.tries,
                failure,
            )
            self._emit(waiting, "failed", failure)
            return
        log.warning(
            "alert %s to %s via %s: try %d failed (%s); again in %.1f s",
            waiting.delivery.what,
            waiting.delivery.destination,
            self.transport.endpoint,
            waiting.tries,
            failure,
            pause_s,
        )
        with self._cond:
            if self._stopping:
                stopped = True
            else:
                stopped = False
                waiting.due = time.monotonic() + pause_s
                heapq.heappush(self._queue, waiting)
        if stopped:
            self._emit(waiting, "failed", f"{STOPPED_REASON} (last try: {failure})")
        else:
            self._emit(waiting, "retrying", failure, next_try_in_s=pause_s)

    def _emit(
        self,
        waiting: _Waiting,
        state: OutcomeState,
        reason: str | None = None,
        *,
        next_try_in_s: float | None = None,
    ) -> None:
        outcome = DeliveryOutcome(
            delivery=waiting.delivery,
            transport=self.transport.kind,
            endpoint=self.transport.endpoint,
            state=state,
            tries=waiting.tries,
            at=datetime.now(UTC),
            reason=reason,
            took_s=round(time.monotonic() - waiting.submitted, 3),
            next_try_in_s=next_try_in_s,
        )
        try:
            self._report(outcome)
        except Exception:
            log.exception("reporting an alert outcome failed (%s)", outcome)
