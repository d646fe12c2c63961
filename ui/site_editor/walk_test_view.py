"""The walk test, guided: a guard walks up to each protected object and into each armed zone
while the console records, per object and zone, pass or fail, with the evidence frame and the
measured distance.

1. Choose what is tested (every object and every armed zone by default) and press Start: the
   core starts the test (`console.site_actions.BeginWalkTest`, the supervisor's act); from then
   on the findings of the subjects under test raise no alarm, sound or page (see
   `console.walk_test`).
2. The table follows the guard: each subject turns PASS when its rule fires (an object: a
   person within its minimum distance, the distance in metres; a zone: a person inside it), with
   the camera, the time and the evidence frame.
3. Finish: what was not passed fails, with why ("not seen close enough: closest 1.41 m, min
   distance 0.6 m"); the report is stored with its evidence (`EndWalkTest`) and shown here, and
   "Export…" writes it as `nightwatch walk-test report` does (JSON, CSV and the evidence frames).

Earlier walk tests are listed from the store (read on the runtime's reader thread) and shown
the same way. Closing the window while a test runs asks whether to finish it. A site applied
while no test runs (a save in the editor) refreshes the list of what can be tested.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtGui import QCloseEvent, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.actions import ActionAnswer
from console.runtime import SiteNotice, SiteRuntime
from console.site_actions import BeginWalkTest, EndWalkTest
from console.store import get_walk_test, list_walk_tests
from console.store.tasks import StoreFiles
from console.walk_test import WalkTest, WalkTestReport, export_walk_test
from ui.bridge import PipelineBridge, QueryAnswer
from ui.shift import ShiftDesk
from ui.theme import PALETTE

log = logging.getLogger(__name__)

__all__ = ["WalkTestWindow"]

COLUMNS = ("", "Kind", "Object or zone", "Distance", "Camera", "When", "Why")
POLL_MS = 500


def stored_report(session: Any, walk_test_id: int, files: StoreFiles) -> WalkTestReport:
    """(the reader thread) A stored walk test as a report, evidence paths made absolute."""
    record = get_walk_test(session, walk_test_id)
    report = WalkTestReport.of_record(record)
    results = tuple(
        r if r.evidence_path is None else _with_path(r, str(files.path(r.evidence_path)))
        for r in report.results
    )
    return WalkTestReport(
        report.walk_test_id,
        report.user,
        report.site_name,
        report.started_at,
        report.ended_at,
        report.status,
        results,
    )


def _with_path(result: Any, path: str) -> Any:
    from dataclasses import replace

    return replace(result, evidence_path=path)


class WalkTestWindow(QWidget):
    """See the module doc."""

    def __init__(
        self,
        runtime: SiteRuntime,
        desk: ShiftDesk,
        bridge: PipelineBridge,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowTitle("Walk test")
        self.runtime = runtime
        self.desk = desk
        self.bridge = bridge
        self.test: WalkTest | None = None
        self.report: WalkTestReport | None = None
        self.question: QMessageBox | None = None
        self._asked: list[int] = []
        self._closing = False

        self.subjects = QListWidget()
        self.subjects.setAccessibleName("objects and zones to test")
        self._fill_subjects()
        self.start_button = QPushButton("Start the walk test")
        self.start_button.clicked.connect(self.start)
        self.finish_button = QPushButton("Finish and store the report")
        self.finish_button.setEnabled(False)
        self.finish_button.clicked.connect(lambda: self.finish())
        self.export_button = QPushButton("Export…")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self._choose_export)
        self.earlier = QComboBox()
        self.earlier.setAccessibleName("earlier walk tests")
        self.earlier.activated.connect(self._earlier_chosen)
        self.said = QLabel(
            "Choose what the guard tests, then Start. During the test the findings of these "
            "objects and zones raise no alarm: the test records them."
        )
        self.said.setWordWrap(True)
        self.said.setAccessibleName("walk test state")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setSectionResizeMode(
            len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch
        )
        self.table.setAccessibleName("walk test results")
        self.table.currentCellChanged.connect(lambda row, *_: self._show_evidence(row))
        self.evidence = QLabel("Evidence frame")
        self.evidence.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.evidence.setMinimumSize(360, 270)
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._poll)

        left = QWidget()
        left_column = QVBoxLayout(left)
        left_column.addWidget(QLabel("Tested:"))
        left_column.addWidget(self.subjects, 1)
        left_column.addWidget(self.start_button)
        left_column.addWidget(self.finish_button)
        left_column.addWidget(QLabel("Earlier walk tests:"))
        left_column.addWidget(self.earlier)
        left_column.addWidget(self.export_button)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.table)
        right.addWidget(self.evidence)
        split = QSplitter()
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(1, 3)
        layout = QVBoxLayout(self)
        layout.addWidget(self.said)
        layout.addWidget(split, 1)
        self.resize(1400, 800)
        self.refresh_earlier()
        bridge.site_notice.connect(self._site_notice)

    # -- subjects --------------------------------------------------------------------------

    def _site_notice(self, notice: SiteNotice) -> None:
        """An edited site applied: the objects and zones to test are the new site's (a test
        under way keeps what it started with)."""
        if notice.kind == "applied" and self.test is None:
            self.subjects.clear()
            self._fill_subjects()

    def _fill_subjects(self) -> None:
        site = self.runtime.site
        for obj in site.protected_objects:
            item = QListWidgetItem(f"object: {obj.name}")
            item.setData(Qt.ItemDataRole.UserRole, ("object", obj.id))
            item.setCheckState(Qt.CheckState.Checked)
            self.subjects.addItem(item)
        for zone in site.zones:
            armed = str(zone.armed) != "never"
            item = QListWidgetItem(f"zone: {zone.name}" + ("" if armed else " (never armed)"))
            item.setData(Qt.ItemDataRole.UserRole, ("zone", zone.id))
            item.setCheckState(Qt.CheckState.Checked if armed else Qt.CheckState.Unchecked)
            self.subjects.addItem(item)

    def chosen(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        objects: list[str] = []
        zones: list[str] = []
        for row in range(self.subjects.count()):
            item = self.subjects.item(row)
            if item.checkState() == Qt.CheckState.Checked:
                kind, subject_id = item.data(Qt.ItemDataRole.UserRole)
                (objects if kind == "object" else zones).append(subject_id)
        return tuple(objects), tuple(zones)

    # -- the test --------------------------------------------------------------------------

    @Slot()
    def start(self) -> None:
        user = self.desk.user
        if user is None:
            return
        objects, zones = self.chosen()
        self.start_button.setEnabled(False)
        self._say("Starting…")
        self.desk.ask(BeginWalkTest(user, objects=objects, zones=zones), self._started)

    def _started(self, answer: ActionAnswer) -> None:
        if not answer.ok:
            self.start_button.setEnabled(True)
            self._say(f"⚠ Not started: {answer.refusal}", error=True)
            return
        test = answer.value
        assert isinstance(test, WalkTest)
        self.test = test
        self.report = None
        self.subjects.setEnabled(False)
        self.finish_button.setEnabled(True)
        self.export_button.setEnabled(False)
        self._say(
            "Walk test running: the guard walks up to each object and into each zone. Their "
            "alarms are held; a real intruder elsewhere still raises one."
        )
        self._timer.start()
        self._poll()

    def _poll(self) -> None:
        if self.test is not None:
            self.show_report(self.test.progress())

    def finish(self, cancelled: bool = False) -> None:
        test = self.test
        user = self.desk.user
        if test is None or user is None:
            return
        self._timer.stop()
        self.finish_button.setEnabled(False)
        self._say("Finishing: storing the report and its evidence…")
        self.desk.ask(EndWalkTest(user, test, cancelled=cancelled), self._finished)

    def _finished(self, answer: ActionAnswer) -> None:
        self.test = None
        self.subjects.setEnabled(True)
        self.start_button.setEnabled(True)
        if not answer.ok:
            self._say(f"⚠ The report was not stored: {answer.refusal}", error=True)
            return
        report = answer.value
        assert isinstance(report, WalkTestReport)
        self.report = report
        self.show_report(report)
        passed = sum(r.passed for r in report.results)
        self._say(
            f"Walk test {report.walk_test_id} {report.status}: {passed} passed, "
            f"{len(report.failed)} failed. Stored; Export… writes it out.",
            error=bool(report.failed),
        )
        self.export_button.setEnabled(True)
        self.refresh_earlier()
        if self._closing:
            self.close()

    # -- showing a report ------------------------------------------------------------------

    def show_report(self, report: WalkTestReport) -> None:
        tz = self.runtime.site.tz
        self.table.setRowCount(len(report.results))
        self._evidence_paths: list[str | None] = []
        for row, result in enumerate(report.results):
            state = "PASS" if result.passed else ("FAIL" if report.status != "running" else "…")
            distance = (
                f"{result.distance_m:.2f} m"
                if result.distance_m is not None
                else (f"closest {result.closest_m:.2f} m" if result.closest_m is not None else "")
            )
            when = result.at.astimezone(tz).strftime("%H:%M:%S") if result.at else ""
            cells = (
                state,
                result.kind,
                result.name,
                distance,
                result.camera_id or "",
                when,
                result.reason,
            )
            for column, text in enumerate(cells):
                cell = QTableWidgetItem(text)
                if column == 0:
                    role = "live" if result.passed else ("offline" if state == "FAIL" else "muted")
                    cell.setForeground(PALETTE.qcolor(role))
                self.table.setItem(row, column, cell)
            self._evidence_paths.append(result.evidence_path)
        self.table.resizeColumnsToContents()

    def _show_evidence(self, row: int) -> None:
        paths = getattr(self, "_evidence_paths", [])
        path = paths[row] if 0 <= row < len(paths) else None
        if path is None or not Path(path).is_file():
            self.evidence.setText("no evidence frame (not passed, or not stored yet)")
            return
        pixmap = QPixmap(path)
        self.evidence.setPixmap(
            pixmap.scaled(
                self.evidence.size(),
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        )

    def _say(self, text: str, *, error: bool = False) -> None:
        self.said.setText(text)
        self.said.setStyleSheet(f"color: {PALETTE.offline};" if error else "")

    # -- stored reports --------------------------------------------------------------------

    def refresh_earlier(self) -> None:
        self.bridge.ask(list_walk_tests, then=self._listed)

    def _listed(self, answer: QueryAnswer) -> None:
        self.earlier.clear()
        if not answer.ok:
            self.earlier.addItem(f"cannot read them: {answer.error}", None)
            return
        tz = self.runtime.site.tz
        for record in answer.value:
            self.earlier.addItem(
                f"{record.id}: {record.started_at.astimezone(tz):%Y-%m-%d %H:%M} "
                f"{record.status} by {record.user}",
                record.id,
            )

    def _earlier_chosen(self, index: int) -> None:
        walk_test_id = self.earlier.itemData(index)
        if walk_test_id is None or self.test is not None:
            return
        self.bridge.ask(stored_report, walk_test_id, self.runtime.store.files, then=self._loaded)

    def _loaded(self, answer: QueryAnswer) -> None:
        if not answer.ok:
            self._say(f"⚠ Cannot read that walk test: {answer.error}", error=True)
            return
        self.report = answer.value
        self.show_report(answer.value)
        self.export_button.setEnabled(True)
        report = answer.value
        self._say(
            f"Walk test {report.walk_test_id} by {report.user}: {report.status}, "
            f"{len(report.failed)} failed"
        )

    def _choose_export(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export the walk test to")
        if folder:
            self.export_to(Path(folder))

    def export_to(self, folder: Path) -> list[Path]:
        """Write the report shown as `nightwatch walk-test report` does (a few small files)."""
        assert self.report is not None
        written = export_walk_test(self.report, folder)
        self._say(f"Exported {len(written)} file(s) to {folder}")
        return written

    # -- closing ---------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.test is not None and not self._closing:
            event.ignore()
            self._ask_finish()
            return
        self._timer.stop()
        super().closeEvent(event)

    def _ask_finish(self) -> None:
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Walk test running",
            "A walk test is running. Finish it now and store its report?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            self,
        )
        box.finished.connect(lambda result: self._answered_finish(result))
        self.question = box
        box.open()

    def _answered_finish(self, result: int) -> None:
        self.question = None
        if result == QMessageBox.StandardButton.Yes:
            self._closing = True
            self.finish()

    def close_for_console(self) -> None:
        """The console signs out or closes: a running test is finished (stored)."""
        if self.test is not None:
            self._closing = True
            self.finish()
            return
        self.close()

    @property
    def is_running(self) -> bool:
        return self._timer.isActive()
