"""The storage banner: a fault of the alarm store, across the top of the window, in words.

"Every alarm is stored" is what the monitor assumes; when it stops being true, the console says
so at once, where it cannot be missed, and says what still holds: alarms stay on screen and are
written, in order, when the disk is back. When the disk is back the banner says that too, for a
while, then goes. The store reports faults on its writer thread; the runtime hands them to the
core, and the bridge carries them here (`PipelineBridge.store_health_changed`).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QWidget

from console.store import StoreHealth
from ui.theme import PALETTE

__all__ = ["StorageBanner", "storage_fault_text"]

RECOVERED_SHOWN_MS = 20_000


def storage_fault_text(health: StoreHealth) -> str:
    """The banner's words for a fault (empty when the store is healthy)."""
    if health.fault is None:
        return ""
    since = f" since {health.since.astimezone():%H:%M:%S}" if health.since else ""
    waiting = f"; {health.pending} write(s) waiting" if health.pending else ""
    return (
        f"ALARMS ARE NOT BEING STORED{since}: {health.fault}. New alarms still appear here and "
        f"are written, in order, as soon as the disk is back{waiting}. Call the technician."
    )


class StorageBanner(QFrame):
    """Hidden while the store is healthy; red with the fault while it is not; a short note
    once it recovers."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("storageBanner")
        self.setAccessibleName("storage fault")
        self._label = QLabel(self)
        self._label.setWordWrap(True)
        self._label.setTextFormat(Qt.TextFormat.PlainText)
        self._label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.addWidget(self._label, 1)
        self._hide_later = QTimer(self)
        self._hide_later.setSingleShot(True)
        self._hide_later.timeout.connect(self.hide)
        self._faulted = False
        self.hide()

    @property
    def text(self) -> str:
        return self._label.text()

    @property
    def faulted(self) -> bool:
        return self._faulted

    @Slot(StoreHealth)
    def show_health(self, health: StoreHealth) -> None:
        if health.fault is not None:
            self._hide_later.stop()
            self._faulted = True
            self._label.setText(f"⚠ {storage_fault_text(health)}")
            self.setStyleSheet(
                f"#storageBanner {{ background: {PALETTE.offline}; }}"
                f" QLabel {{ color: {PALETTE.background}; background: transparent;"
                " font-weight: bold; }"
            )
            self.show()
            return
        if not self._faulted:
            return
        self._faulted = False
        lost = (
            f" {health.unstored} write(s) could NOT be stored: see the log."
            if health.unstored
            else " Every alarm that waited is now stored."
        )
        self._label.setText(f"Storage is back.{lost}")
        self.setStyleSheet(
            f"#storageBanner {{ background: {PALETTE.surface_raised}; }}"
            f" QLabel {{ color: {PALETTE.text}; background: transparent; }}"
        )
        self.show()
        if not health.unstored:
            self._hide_later.start(RECOVERED_SHOWN_MS)

    def closeEvent(self, event: QCloseEvent) -> None:
        self._hide_later.stop()
        super().closeEvent(event)
