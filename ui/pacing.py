"""Pacing of the window's costly refreshes (the alarm queue, its columns, the walls, the plan's
labels) so that a flood of alarms cannot take the GUI thread away from the screen.

A `Pacer` runs its refresh at once when asked, or, when the last run is too recent, once when
its spacing has passed, however often it was asked meanwhile. The spacing is at least
`least_ms`, and grows with what the last run cost: after a run of `c` ms the next waits at
least ``c * (1 - share) / share`` ms, so the refresh takes at most `share` of the thread. A
refresh whose cost grows with the open alarms (a thousand in the flood battery) then runs less
often instead of filling the event loop, and the screen keeps painting and answering keys.

A refresh that is a generator (it yields between steps) runs in slices of `slice_ms` at most,
with the event loop's other work between them: a long run then delays a paint or a key by one
slice, not by the whole run. Its cost for the spacing is the sum of its slices.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator

from PySide6.QtCore import QObject, QTimer

# At most this share of the GUI thread goes to one paced refresh. The window paces four: the
# queue's re-read (new alarms show with it) gets QUEUE_SHARE, its column fit, the walls and the
# plan's labels SHARE each: together at most 60%, so the screen keeps at least 40% of the
# thread for painting and keys, whatever the flood.
SHARE = 0.1
QUEUE_SHARE = 0.3


def spacing_ms(cost_s: float, least_ms: int, share: float = SHARE) -> int:
    """The wait after a run that took `cost_s` seconds: `least_ms`, or longer when the run was
    costly, so that such runs take at most `share` of the time."""
    if not 0 < share <= 1:
        raise ValueError(f"share must be in (0, 1], got {share}")
    return max(least_ms, round(cost_s * 1000 * (1 - share) / share))


class Pacer(QObject):
    """`request()` runs `action` now, or once its spacing after the last run has passed.

    `deferred`: "now" is the event loop's next turn rather than inside `request()`, so that
    the other changes of the same turn are in before the action looks (the floor plan places
    its labels once its outlines and icons have taken the new alarms and the view its size)."""

    def __init__(
        self,
        action: Callable[[], Iterator[None] | None],
        least_ms: int,
        parent: QObject,
        share: float = SHARE,
        *,
        deferred: bool = False,
        slice_ms: float | None = None,
    ) -> None:
        super().__init__(parent)
        self._action = action
        self.least_ms = least_ms
        self.share = share
        self.slice_ms = slice_ms
        self.pending = False
        self.last_cost_s = 0.0
        self.slices = 0  # slices the last sliced run took
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(least_ms)
        self._timer.timeout.connect(self._due)
        self._soon: QTimer | None = None
        if deferred:
            self._soon = QTimer(self)
            self._soon.setSingleShot(True)
            self._soon.setInterval(0)
            self._soon.timeout.connect(self._run)
        self._steps: Iterator[None] | None = None  # a sliced run under way
        self._spent_s = 0.0
        self._next_slice = QTimer(self)
        self._next_slice.setSingleShot(True)
        self._next_slice.setInterval(0)
        self._next_slice.timeout.connect(self._slice)

    @property
    def running(self) -> bool:
        """A sliced run is under way (more slices to come)."""
        return self._steps is not None

    @property
    def idle(self) -> bool:
        """Nothing under way, pending or spacing: a request now runs at once (or next turn)."""
        soon = self._soon is not None and self._soon.isActive()
        return not (self._timer.isActive() or self._steps is not None or soon or self.pending)

    def request(self) -> None:
        """Run now, or mark it pending for when the spacing has passed."""
        if (
            self._timer.isActive()
            or self._steps is not None
            or (self._soon is not None and self._soon.isActive())
        ):
            self.pending = True
        elif self._soon is not None:
            self._soon.start()
        else:
            self._run()

    def flush(self) -> None:
        """Finish a run under way, and run now if a run is pending or deferred (tests that
        look right after a change)."""
        if self._steps is not None:
            self._next_slice.stop()
            self._slice(until_done=True)
        queued = self._soon is not None and self._soon.isActive()
        if self.pending or queued:
            self._timer.stop()
            if self._soon is not None:
                self._soon.stop()
            self._run(until_done=True)

    def cancel(self) -> None:
        self.pending = False
        self._timer.stop()
        self._next_slice.stop()
        self._steps = None
        if self._soon is not None:
            self._soon.stop()

    def _due(self) -> None:
        if self.pending:
            self._run()

    def _run(self, until_done: bool = False) -> None:
        self.pending = False
        began = time.perf_counter()
        try:
            steps = self._action()
        except BaseException:
            self._done(time.perf_counter() - began)
            raise
        if steps is None:
            self._done(time.perf_counter() - began)
            return
        self._steps, self._spent_s, self.slices = steps, time.perf_counter() - began, 0
        self._slice(until_done)

    def _slice(self, until_done: bool = False) -> None:
        """Step the run under way for up to `slice_ms` (to its end: `until_done`), then leave
        the rest to the event loop's next turn."""
        steps = self._steps
        if steps is None:
            return
        began = time.perf_counter()
        budget = math.inf if until_done or self.slice_ms is None else self.slice_ms / 1000
        finished = True
        try:
            for _ in steps:
                if time.perf_counter() - began >= budget:
                    finished = False
                    break
        except BaseException:
            self._steps = None
            self._done(self._spent_s + time.perf_counter() - began)
            raise
        self._spent_s += time.perf_counter() - began
        self.slices += 1
        if finished:
            self._steps = None
            self._done(self._spent_s)
        else:
            self._next_slice.start()

    def _done(self, cost_s: float) -> None:
        self.last_cost_s = cost_s
        self._timer.setInterval(spacing_ms(cost_s, self.least_ms, self.share))
        self._timer.start()
