"""Ctrl-C and SIGTERM close the console window cleanly, as its close button does.

Qt's event loop runs in C++, so Python's own SIGINT handling would raise KeyboardInterrupt in
whichever paint or slot happened to run, where PySide prints it and carries on: the console
could not be stopped from its terminal or by a service manager. Here the signal's number is
written to a socket (`signal.set_wakeup_fd`) that a QSocketNotifier watches, so the stop runs on
the GUI thread at once, even while the loop sleeps.
"""

from __future__ import annotations

import logging
import signal
import socket
from collections.abc import Callable

from PySide6.QtCore import QObject, QSocketNotifier, Slot

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class SignalStop(QObject):
    """While it lives, SIGINT and SIGTERM call `on_stop(signal_name)` on the GUI thread."""

    def __init__(self, on_stop: Callable[[str], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._on_stop = on_stop
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)
        self._writer.setblocking(False)
        self._previous_fd = signal.set_wakeup_fd(self._writer.fileno())
        self._previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
        for sig in STOP_SIGNALS:
            signal.signal(sig, _noted_by_the_wakeup_fd)
        self._notifier = QSocketNotifier(self._reader.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._drain)
        self._closed = False

    @Slot()
    def _drain(self) -> None:
        try:
            data = self._reader.recv(64)
        except BlockingIOError:
            return
        for number in data:
            if number in {int(sig) for sig in STOP_SIGNALS}:
                name = signal.Signals(number).name
                log.warning("%s received: closing the console", name)
                self._on_stop(name)

    def close(self) -> None:
        """Give the signals back to what handled them before (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._notifier.setEnabled(False)
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        signal.set_wakeup_fd(self._previous_fd)
        self._reader.close()
        self._writer.close()


def _noted_by_the_wakeup_fd(signum: int, frame: object) -> None:
    """The Python-level handler does nothing: the wakeup socket already carries the signal."""
