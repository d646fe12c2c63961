"""When to start a supervised process again: at once at first, backing off while it keeps dying,
and at once again after it has run well for a while.

Capture processes and detector workers are restarted when they die. A process that dies again
and again right after its start (a broken driver, a file that crashes the decoder) must not be
restarted in a tight loop, so each consecutive failure doubles the wait, up to `max_s`. But a
process that ran well for `healthy_after_s` before it died is a fresh case: its count starts
over, so the sixth crash in a week costs the same `first_s` as the first, not the cap.

Plain logic over a clock, so it is tested with a fake one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_HEALTHY_AFTER_S = 60.0


@dataclass(frozen=True, slots=True)
class RestartPolicy:
    """Wait `first_s` after the first failure, x `factor` per further consecutive failure, at most
    `max_s`; a process that ran `healthy_after_s` or longer before failing counts as a first."""

    first_s: float = 0.2
    max_s: float = 30.0
    factor: float = 2.0
    healthy_after_s: float = DEFAULT_HEALTHY_AFTER_S

    def __post_init__(self) -> None:
        if not 0 <= self.first_s <= self.max_s:
            raise ValueError(
                f"restart policy needs 0 <= first_s <= max_s, got first_s={self.first_s}, "
                f"max_s={self.max_s}"
            )
        if self.factor < 1:
            raise ValueError(f"restart policy factor must be >= 1, got {self.factor}")
        if self.healthy_after_s <= 0:
            raise ValueError(
                f"restart policy healthy_after_s must be positive, got {self.healthy_after_s}"
            )

    def delay_s(self, failures: int) -> float:
        """Seconds to wait after `failures` consecutive failures (1 = the first)."""
        exponent = min(max(0, failures - 1), 64)
        return min(self.max_s, self.first_s * self.factor**exponent)


class RestartBackoff:
    """The restart state of one supervised process: call `started()` when it starts and
    `failed()` when it dies; `failed()` says how long to wait before starting it again."""

    def __init__(self, policy: RestartPolicy, clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy
        self._clock = clock
        self.failures = 0  # consecutive failures, each after less than healthy_after_s
        self._started_at: float | None = None

    def started(self) -> None:
        self._started_at = self._clock()

    def ran_s(self) -> float:
        """How long the process has been running (0 when it is not)."""
        return 0.0 if self._started_at is None else self._clock() - self._started_at

    def failed(self) -> float:
        ran = self.ran_s()
        if ran >= self.policy.healthy_after_s:
            self.failures = 0
        self.failures += 1
        self._started_at = None
        return self.policy.delay_s(self.failures)
