"""The walls' frame rate gives way when the window takes more than its share of the CPU.

The helper processes run lower in CPU priority than the console (inference/priority.py), so on
a busy machine the window gets the CPU whenever it asks, and it asks more in an alarm storm:
every alarmed camera is on the focus wall, painted at full rate with its boxes and banner. Left
alone, the window would then take the detectors' share, and cameras would be judged less often
just when it matters.

`DisplayBudget` measures the GUI thread's own CPU time twice a second. Above `share` of one
core, the walls' frame rate steps down (to 75%, 50%, 35%, 25% of what the monitor chose);
after `calm_samples` samples in a row well below it, it steps back up. The queue, the plan
and the keys are untouched: only how often live pictures are redrawn. The main window says so
in its status line while the rate is lowered.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

RATE_STEPS = (1.0, 0.75, 0.5, 0.35, 0.25)
DEFAULT_SHARE = 0.3  # of one core (the demo's 32-camera window takes about 0.2 when quiet)
CALM_BELOW = 0.6  # of the share: a second this quiet counts towards stepping back up
CALM_SAMPLES = 3


def checked_factor(factor: float) -> float:
    """A wall's rate factor: in (0, 1], else ValueError with the value."""
    if not 0 < factor <= 1:
        raise ValueError(f"rate factor must be in (0, 1], got {factor}")
    return factor


class DisplayBudget(QObject):
    """Samples the calling (GUI) thread's CPU time every `every_ms` and emits `rate_changed`
    with the walls' rate factor (1.0: as chosen) whenever it steps.

    `thread_time` and `clock` are the thread's CPU clock and a wall clock (tests pass fakes)."""

    rate_changed = Signal(float)

    def __init__(
        self,
        parent: QObject,
        *,
        share: float = DEFAULT_SHARE,
        every_ms: int = 500,
        calm_samples: int = CALM_SAMPLES,
        thread_time: Callable[[], float] = time.thread_time,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        super().__init__(parent)
        if not 0 < share <= 1:
            raise ValueError(f"share must be in (0, 1] of one core, got {share}")
        if calm_samples < 1:
            raise ValueError(f"calm_samples must be at least 1, got {calm_samples}")
        self.share = share
        self.calm_samples = calm_samples
        self._thread_time = thread_time
        self._clock = clock
        self._step = 0
        self._calm = 0
        self.last_used = 0.0  # the GUI thread's share of one core in the last sample
        self._last: tuple[float, float] | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(every_ms)
        self._timer.timeout.connect(self.sample)

    @property
    def factor(self) -> float:
        return RATE_STEPS[self._step]

    def start(self) -> None:
        self._last = (self._thread_time(), self._clock())
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        self._last = None

    def sample(self) -> None:
        """One measurement (the timer's; tests call it directly)."""
        now = (self._thread_time(), self._clock())
        last, self._last = self._last, now
        if last is None or now[1] <= last[1]:
            return
        used = max(0.0, now[0] - last[0]) / (now[1] - last[1])
        self.last_used = used
        step = self._step
        if used > self.share:
            self._calm = 0
            step = min(len(RATE_STEPS) - 1, step + 1)
        elif used < self.share * CALM_BELOW:
            self._calm += 1
            if self._calm >= self.calm_samples:
                self._calm = 0
                step = max(0, step - 1)
        else:
            self._calm = 0
        if step != self._step:
            self._step = step
            self.rate_changed.emit(self.factor)
