"""The site clock: the one `Clock` (from `inference.clock`) and the fake one of tests and replay.

The rules, the presence model and the focus wall never call `datetime.now()` or `time.time()`
themselves; they are handed a `Clock`. The console runs on `SystemClock`; tests and
`nightwatch replay` (whose clock starts at `--start`) run on `FakeClock`, which only moves when it
is told to:

    clock = FakeClock(datetime(2026, 3, 3, 22, 0, tzinfo=UTC))
    clock.advance(12.5)
    clock.now()        # 22:00:12.5 UTC
    clock.monotonic()  # 12.5
"""

from __future__ import annotations

import logging
import math
import threading
from datetime import UTC, datetime, timedelta

from inference.clock import Clock, SystemClock

log = logging.getLogger(__name__)

__all__ = ["Clock", "FakeClock", "SystemClock"]


def _as_utc(when: datetime) -> datetime:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"the clock needs a time-zone-aware datetime (got {when.isoformat()})")
    return when.astimezone(UTC)


class FakeClock:
    """A clock for tests and replay that stands still until it is advanced or set.

    `advance(s)` moves both the wall time and the monotonic counter; `set(when)` jumps the wall
    time only (like a machine's clock being corrected) and never moves the monotonic counter back.
    """

    def __init__(self, start: datetime | None = None, *, monotonic_s: float = 0.0) -> None:
        self._now = _as_utc(start) if start is not None else datetime(2026, 1, 1, tzinfo=UTC)
        self._monotonic = float(monotonic_s)

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._monotonic

    def time(self) -> float:
        return self._now.timestamp()

    def wait(self, event: threading.Event, seconds: float) -> bool:
        """A fake clock does not wait: the time the caller would have waited passes at once."""
        if not event.is_set():
            self.advance(max(0.0, seconds))
        return event.is_set()

    def advance(self, seconds: float) -> datetime:
        """Move time forward by `seconds` (>= 0); returns the new now()."""
        if not (math.isfinite(seconds) and seconds >= 0):
            raise ValueError(f"FakeClock.advance needs a finite number >= 0 (got {seconds!r})")
        self._now += timedelta(seconds=seconds)
        self._monotonic += seconds
        return self._now

    def set(self, when: datetime) -> None:
        """Jump the wall time to `when` (aware); the monotonic counter does not move."""
        self._now = _as_utc(when)
        log.debug("fake clock set to %s", self._now)

    def __repr__(self) -> str:
        return f"FakeClock({self._now.isoformat()}, monotonic={self._monotonic:.3f})"
