"""The one clock of Nightwatch: what time it is, a counter that never goes back, and waiting.

Nothing in the vision layer or the core calls `time.time()`, `time.monotonic()` or
`datetime.now()` for a decision; each is handed a `Clock`, so tests and `nightwatch replay` run
on a fake one (`console.clock.FakeClock`, and small fakes of their own in the vision layer's
tests) and the console on `SystemClock`:

- `now()`: the current instant, time-zone aware, in UTC (the site clock: rules, alarms);
- `time()`: the same as seconds since the epoch (frame and status time stamps);
- `monotonic()`: seconds on a counter that never goes backwards (intervals, deadlines);
- `wait(event, seconds)`: wait up to `seconds` or until `event` is set; True when it is set.

It lives in `inference` (the lowest layer) so that the core can share it; `console.clock`
re-exports it.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

__all__ = ["SYSTEM_CLOCK", "Clock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """Where Nightwatch's notion of time comes from."""

    def now(self) -> datetime:
        """The current instant, time-zone aware, in UTC."""
        ...

    def time(self) -> float:
        """Wall-clock seconds since the epoch."""
        ...

    def monotonic(self) -> float:
        """Seconds on a counter that never goes backwards (its origin means nothing)."""
        ...

    def wait(self, event: threading.Event, seconds: float) -> bool:
        """Wait up to `seconds` or until `event` is set; True when it is set."""
        ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def wait(self, event: threading.Event, seconds: float) -> bool:
        return event.wait(max(0.0, seconds))

    def __repr__(self) -> str:
        return "SystemClock()"


SYSTEM_CLOCK = SystemClock()
