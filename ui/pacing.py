"""Pacing of the window's costly refreshes (the alarm queue, its columns, the walls, the plan's
labels) so that a flood of alarms cannot take the GUI thread away from the screen.

A `Pacer` runs its refresh at once when asked, or, when the last run is too recent, once when
its spacing has passed, however often it was asked meanwhile. The spacing is at least
`least_ms`, and grows with what the last run cost: after a run of `c` ms the next waits at
least ``c * (1 - share) / share`` ms, so the refresh takes at most `share` of the thread. A
refresh whose cost grows with the open alarms (a thousand in the flood battery) then runs less
often instead of filling the event loop, and the screen keeps painting and answering keys.
"""

from __future__ import annotations

import time
from collections.abc import Callable

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
        action: Callable[[], None],
        least_ms: int,
        parent: QObject,
        share: float = SHARE,
        *,
        deferred: bool = False,
    ) -> None:
        super().__init__(parent)
        self._action = action
        self.least_ms = least_ms
        self.share = share
        self.pending = False
        self.last_cost_s = 0.0
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

    def request(self) -> None:
        """Run now, or mark it pending for when the spacing has passed."""
        if self._timer.isActive() or (self._soon is not None and self._soon.isActive()):
            self.pending = True
        elif self._soon is not None:
            self._soon.start()
        else:
            self._run()

    def flush(self) -> None:
        """Run now if a run is pending or deferred (tests that look right after a change)."""
        queued = self._soon is not None and self._soon.isActive()
        if self.pending or queued:
            self._timer.stop()
            if self._soon is not None:
                self._soon.stop()
            self._run()

    def cancel(self) -> None:
        self.pending = False
        self._timer.stop()
        if self._soon is not None:
            self._soon.stop()

    def _due(self) -> None:
        if self.pending:
            self._run()

    def _run(self) -> None:
        self.pending = False
        began = time.perf_counter()
        try:
            self._action()
        finally:
            self.last_cost_s = time.perf_counter() - began
            self._timer.setInterval(spacing_ms(self.last_cost_s, self.least_ms, self.share))
            self._timer.start()
