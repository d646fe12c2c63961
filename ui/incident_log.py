"""The incident log, for an auditor: alarms with who handled them, read and exported through the
core (each read and each export is audited there, by name).

The auditor's page of the window (an auditor does not watch the cameras): a table of the alarms
raised in the last `days`, newest last, with every step's user, and an export to JSON lines
whose SHA-256 the core records.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.actions import ActionAnswer
from console.clock import Clock
from console.record_actions import ExportIncidentLog, ReadIncidentLog
from console.store import Incident
from ui.shift import ShiftDesk
from ui.theme import PALETTE

__all__ = ["IncidentLogView"]

COLUMNS = ("Raised", "Alarm", "Camera", "Object / zone", "Rule", "Severity", "State", "Handled by")


class IncidentLogView(QWidget):
    def __init__(
        self, desk: ShiftDesk, clock: Clock, days: float = 7.0, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.desk = desk
        self.clock = clock
        self.days = days
        self.incidents: list[Incident] = []
        self.heading = QLabel(f"Incident log: the last {days:g} days")
        self.heading.setProperty("role", "heading")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setAccessibleName("incident log")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.export_button = QPushButton("Export …")
        self.export_button.clicked.connect(self.choose_export)
        buttons = QHBoxLayout()
        buttons.addWidget(self.refresh_button)
        buttons.addWidget(self.export_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.message_label)
        layout.addLayout(buttons)
        self._dialog: QFileDialog | None = None

    def _since(self) -> datetime:
        return self.clock.now() - timedelta(days=self.days)

    @Slot()
    def refresh(self) -> None:
        self.desk.ask(ReadIncidentLog(self.desk.user or "", since=self._since()), self._read)

    def _read(self, answer: ActionAnswer) -> None:
        if not answer.ok:
            self._say(answer.refusal or "refused", error=True)
            return
        self.incidents = list(answer.value)
        self.table.setRowCount(len(self.incidents))
        for r, incident in enumerate(self.incidents):
            a = incident.alarm
            users = sorted({e.user for e in incident.events if e.kind.value != "raise"})
            cells = (
                f"{a.raised_at.astimezone():%Y-%m-%d %H:%M:%S}",
                str(a.id),
                a.camera_id,
                a.subject or "",
                a.rule,
                a.severity,
                a.state.value + (f" ({a.outcome.value})" if a.outcome else ""),
                ", ".join(users),
            )
            for c, text in enumerate(cells):
                self.table.setItem(r, c, QTableWidgetItem(text))
        self._say(f"{len(self.incidents)} alarm(s); this reading is in the audit log", error=False)

    @Slot()
    def choose_export(self) -> None:
        dialog = QFileDialog(
            self, "Export the incident log", str(Path.home()), "JSON lines (*.jsonl)"
        )
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("jsonl")
        dialog.fileSelected.connect(lambda path: self.export_to(Path(path)))
        self._dialog = dialog
        dialog.open()

    def export_to(self, path: Path) -> None:
        action = ExportIncidentLog(self.desk.user or "", path, since=self._since())
        self.desk.ask(action, self._exported)

    def _exported(self, answer: ActionAnswer) -> None:
        if not answer.ok:
            self._say(answer.refusal or "refused", error=True)
            return
        r = answer.value
        self._say(f"{r.rows} alarm(s) exported to {r.path} (SHA-256 {r.sha256})", error=False)

    def _say(self, text: str, *, error: bool) -> None:
        self.message_label.setStyleSheet(f"color: {PALETTE.offline if error else PALETTE.muted};")
        self.message_label.setText(f"⚠ {text}" if error else text)
