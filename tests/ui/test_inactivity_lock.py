"""The inactivity lock watches input on the console's windows, not every event of the
application: real widgets offscreen, input sent to their windows with QTest."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from PySide6.QtCore import QEvent, QObject, QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialog, QLabel, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from ui.shift import InactivityLock


class CountingLock(InactivityLock):
    """The real lock, counting the events its filter is asked about and noting the input
    among them (with the time left on the lock's count just after)."""

    def __init__(self) -> None:
        super().__init__()
        # to the millisecond (a coarse minute may fire, and say it will, up to 3 s early)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.asked = 0
        self.input: list[tuple[QEvent.Type, int]] = []

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        self.asked += 1
        kind = event.type()
        answer = super().eventFilter(watched, event)
        if kind in self._INPUT:
            self.input.append((kind, self._timer.remainingTime()))
        return answer


@pytest.fixture
def lock() -> Iterator[CountingLock]:
    """A lock with a minute's quiet time (the test starts it, as signing in does once the
    window is up), stopped at the end."""
    lock = CountingLock()
    lock.set_timeout_s(60)
    yield lock
    lock.stop()
    assert not lock.is_running


def window_with_labels(widgets: Callable[[QWidget], QWidget]) -> tuple[QWidget, list[QLabel]]:
    window = widgets(QWidget())
    column = QVBoxLayout(window)
    labels = [QLabel(f"tile {i}") for i in range(16)]
    for label in labels:
        column.addWidget(label)
    window.resize(400, 600)
    window.show()
    return window, labels


def test_input_on_a_window_restarts_the_count(
    widgets: Callable[[QWidget], QWidget], qtbot: QtBot, lock: CountingLock
) -> None:
    window, _ = window_with_labels(widgets)
    qtbot.waitExposed(window)
    lock.start()
    qtbot.wait(400)
    assert lock._timer.remainingTime() <= 59_700
    handle = window.windowHandle()
    assert handle is not None
    QTest.keyClick(handle, Qt.Key.Key_A)
    QTest.mouseClick(handle, Qt.MouseButton.LeftButton, pos=QPoint(60, 70))
    qtbot.waitUntil(lambda: len({kind for kind, _ in lock.input}) >= 2, timeout=5000)
    kinds = {kind for kind, _ in lock.input}
    assert QEvent.Type.KeyPress in kinds
    assert QEvent.Type.MouseButtonPress in kinds
    # each input counted the quiet time again from its moment: the whole minute was left
    assert all(left > 59_700 for _, left in lock.input)


def test_a_dialog_opened_later_is_watched_too(
    widgets: Callable[[QWidget], QWidget], qtbot: QtBot, lock: CountingLock
) -> None:
    window, _ = window_with_labels(widgets)
    qtbot.waitExposed(window)
    lock.start()
    dialog = widgets(QDialog())
    dialog.resize(200, 100)
    dialog.show()
    qtbot.waitExposed(dialog)
    lock._watch_windows()  # the look round (every 2 s), or the dialog taking the focus
    handle = dialog.windowHandle()
    assert handle is not None
    QTest.keyClick(handle, Qt.Key.Key_B)
    qtbot.waitUntil(lambda: bool(lock.input), timeout=5000)
    assert lock.input[0][0] == QEvent.Type.KeyPress


def test_painting_the_wall_does_not_call_the_lock(
    widgets: Callable[[QWidget], QWidget], qtbot: QtBot, lock: CountingLock
) -> None:
    """An application-wide filter was asked about every paint of every tile: thousands of
    calls into Python a second on a busy wall, each waiting for the interpreter lock."""
    window, labels = window_with_labels(widgets)
    qtbot.waitExposed(window)
    lock.start()
    qtbot.wait(100)
    before = lock.asked
    for round_ in range(20):
        for label in labels:
            label.setText(f"tile {round_}")
            label.repaint()
    qtbot.wait(100)
    # 320 repaints of the tiles: the window's own few events at most, not one per paint
    assert lock.asked - before < 40
    # and the lock does watch this window: a key on it is seen
    handle = window.windowHandle()
    assert handle is not None
    QTest.keyClick(handle, Qt.Key.Key_C)
    qtbot.waitUntil(lambda: bool(lock.input), timeout=5000)
