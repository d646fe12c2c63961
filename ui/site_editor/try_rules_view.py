"""Try before arming: the edited rules, not saved yet, on recorded footage of one camera, and
the alarms they would have raised on a timeline with their snapshots.

Pick the camera, the site time the footage starts at (02:00 by default, so the after-hours
rules are tried too) and, for a stream camera, a recording of it. "Try the edited rules" runs
`console.try_rules.try_rules` on the draft as the check last found it valid, on a thread of
this panel's own (it blocks for as long as the footage takes to judge), into a store of its
own in a temporary folder: the console's store, its alarms and its pages are untouched. The
progress bar follows the footage; "Stop" cancels (the alarms found so far are shown).

The timeline has one row per rule and subject, a bar per alarm from its first to its last
sighting (video seconds), coloured by severity; below it, each alarm's snapshot. Clicking a
bar shows its snapshot large.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from PySide6.QtCore import (
    QDateTime,
    QObject,
    QPointF,
    QRectF,
    QSize,
    Qt,
    QTime,
    QTimeZone,
    Signal,
    Slot,
)
from PySide6.QtGui import QBrush, QColor, QIcon, QPen, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDateTimeEdit,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from console.try_rules import TriedAlarm, TryProgress, TryReport, try_rules
from inference.worker_pool import DetectorSpec
from ui.alarm_words import severity_role
from ui.site_editor.draft import SiteDraft
from ui.theme import PALETTE

log = logging.getLogger(__name__)

__all__ = ["TryRulesPanel"]

ROW_PX = 26
SECOND_PX = 8.0  # timeline width per video second
THUMB = QSize(200, 150)


class _Relay(QObject):
    """Carries the try's thread's news to the GUI thread (queued signals)."""

    progressed = Signal(object)  # TryProgress
    finished = Signal(object)  # TryReport, or the error in words (str)


class TryRulesPanel(QWidget):
    """See the module doc."""

    def __init__(
        self,
        draft: SiteDraft,
        *,
        detector: DetectorSpec | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.draft = draft
        self.detector = detector
        self.report: TryReport | None = None
        self.bars: dict[int, QGraphicsRectItem] = {}
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()
        self._relay = _Relay(self)
        self._relay.progressed.connect(self._progressed)
        self._relay.finished.connect(self._finished)

        self.camera = QComboBox()
        self.camera.setAccessibleName("camera to try")
        self.start = QDateTimeEdit()
        self.start.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.start.setCalendarPopup(True)
        self.start.setAccessibleName("site time of the footage's start")
        self.footage = QLineEdit()
        self.footage.setPlaceholderText("a recording of a stream camera (a file camera: its own)")
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._choose_footage)
        self.every = QDoubleSpinBox()
        self.every.setRange(0.1, 5.0)
        self.every.setSingleStep(0.1)
        self.every.setValue(0.5)
        self.every.setSuffix(" s")
        self.run_button = QPushButton("Try the edited rules")
        self.run_button.clicked.connect(self.run)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.said = QLabel(
            "Runs the rules as edited (not saved) on recorded footage, in a store of their own: "
            "nothing is paged, the console's alarms are untouched."
        )
        self.said.setWordWrap(True)
        self.said.setAccessibleName("try result")
        form = QFormLayout()
        form.addRow("Camera", self.camera)
        form.addRow("Footage starts at (site time)", self.start)
        footage_row = QHBoxLayout()
        footage_row.addWidget(self.footage, 1)
        footage_row.addWidget(browse)
        form.addRow("Footage", footage_row)
        form.addRow("Look every", self.every)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.progress, 1)

        self.timeline = QGraphicsView()
        self.timeline.setScene(QGraphicsScene(self.timeline))
        self.timeline.setBackgroundBrush(PALETTE.qcolor("surface"))
        self.timeline.setAccessibleName("alarms timeline")
        self.timeline.setMinimumHeight(150)
        self.timeline.scene().selectionChanged.connect(self._bar_chosen)
        self.snapshots = QListWidget()
        self.snapshots.setViewMode(QListWidget.ViewMode.IconMode)
        self.snapshots.setIconSize(THUMB)
        self.snapshots.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.snapshots.setWordWrap(True)
        self.snapshots.setAccessibleName("alarm snapshots")
        self.snapshots.currentItemChanged.connect(self._snapshot_chosen)
        self.large = QLabel()
        self.large.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.large.setMinimumSize(320, 240)
        below = QSplitter()
        below.addWidget(self.snapshots)
        below.addWidget(self.large)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.said)
        layout.addWidget(QLabel("Alarms the rules would have raised (video seconds):"))
        layout.addWidget(self.timeline, 1)
        layout.addWidget(below, 2)
        draft.changed.connect(self._fill_cameras)
        self._fill_cameras()
        self._default_start()

    # -- choices ---------------------------------------------------------------------------

    def _fill_cameras(self) -> None:
        current = self.camera.currentData()
        self.camera.clear()
        for camera in self.draft.items("cameras"):
            self.camera.addItem(f"{camera.get('name', '')} ({camera.get('id')})", camera.get("id"))
        index = self.camera.findData(current)
        if index >= 0:
            self.camera.setCurrentIndex(index)

    def _site_zone(self) -> QTimeZone:
        zone = (self.draft.get(("site", "timezone")) or "UTC").encode()
        found = QTimeZone(zone)
        return found if found.isValid() else QTimeZone(b"UTC")

    def _default_start(self) -> None:
        """Last night at 02:00, site time: the museum closed."""
        zone = self._site_zone()
        now = QDateTime.currentDateTime(zone)
        night = QDateTime(now.date(), QTime(2, 0), zone)
        self.start.setTimeZone(zone)
        self.start.setDateTime(night)

    def start_time(self) -> datetime:
        value = self.start.dateTime().toPython()
        assert isinstance(value, datetime)
        zone_name = self.draft.get(("site", "timezone")) or "UTC"
        from zoneinfo import ZoneInfo

        try:
            zone = ZoneInfo(str(zone_name))
        except Exception:
            zone = ZoneInfo("UTC")
        return value.replace(tzinfo=zone) if value.tzinfo is None else value.astimezone(zone)

    def _choose_footage(self) -> None:
        found, _ = QFileDialog.getOpenFileName(self, "Recorded footage", "", "Video (*.*)")
        if found:
            self.footage.setText(found)

    # -- the run ---------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @Slot()
    def run(self) -> None:
        """Try the draft's rules on the chosen camera's footage (refused, in words, while the
        draft has problems)."""
        if self.running:
            return
        check = self.draft.last_check
        if self.draft.check_pending or check is None:
            self._say("⚠ The edit is still being checked: try again in a moment", error=True)
            return
        if not check.ok or check.site is None:
            self._say(
                f"⚠ Refused: the edited site has {len(check.problems)} problem(s); put them right "
                "first (see Problems)",
                error=True,
            )
            return
        camera_id = self.camera.currentData()
        if camera_id is None:
            self._say("⚠ No camera to try", error=True)
            return
        footage = self.footage.text().strip() or None
        site, start, every = check.site, self.start_time(), float(self.every.value())
        self._discard()
        self._cancel = threading.Event()
        cancel = self._cancel
        relay = self._relay

        def work() -> None:
            try:
                report = try_rules(
                    site,
                    str(camera_id),
                    start=start,
                    footage=footage,
                    detect_every_s=every,
                    detector=self.detector,
                    progress=relay.progressed.emit,
                    cancel=cancel,
                )
            except Exception as exc:  # said in the panel, never lost
                log.exception("try before arming failed")
                relay.finished.emit(f"{type(exc).__name__}: {exc}")
                return
            relay.finished.emit(report)

        self._thread = threading.Thread(target=work, name="nightwatch-try-rules", daemon=True)
        self.run_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.progress.setValue(0)
        self._say(f"Trying the edited rules on {camera_id} from {start:%Y-%m-%d %H:%M} …")
        self._thread.start()

    @Slot()
    def stop(self) -> None:
        self._cancel.set()

    @Slot(object)
    def _progressed(self, progress: TryProgress) -> None:
        if progress.duration_s:
            self.progress.setValue(int(1000 * min(1.0, progress.video_s / progress.duration_s)))
        self._say(f"{progress.video_s:.0f} s of footage judged: {progress.alarms} alarm(s) so far")

    @Slot(object)
    def _finished(self, result: object) -> None:
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.run_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        if isinstance(result, str):
            self._say(f"⚠ The try failed: {result}", error=True)
            return
        assert isinstance(result, TryReport)
        self.report = result
        if result.error:
            self._say(f"⚠ {result.error}", error=True)
        elif result.cancelled:
            self._say(f"Stopped at {result.video_s:.0f} s: {len(result.alarms)} alarm(s) so far")
        else:
            self.progress.setValue(1000)
            self._say(
                f"{len(result.alarms)} alarm(s) in {result.video_s:.0f} s of footage "
                f"({result.frames_judged} frames judged)"
            )
        self.show_report(result)

    def _say(self, text: str, *, error: bool = False) -> None:
        self.said.setText(text)
        self.said.setStyleSheet(f"color: {PALETTE.offline};" if error else "")

    # -- the timeline ----------------------------------------------------------------------

    def show_report(self, report: TryReport) -> None:
        scene = self.timeline.scene()
        scene.clear()
        self.bars = {}
        self.snapshots.clear()
        length = report.duration_s or report.video_s or 1.0
        rows: dict[tuple[str, str], int] = {}
        for alarm in report.alarms:
            rows.setdefault((alarm.rule, alarm.subject_id), len(rows))
        label_px = 220.0
        width = label_px + length * SECOND_PX
        axis_y = len(rows) * ROW_PX + 4
        for (rule, subject), row in rows.items():
            name = next(a.subject_name for a in report.alarms if a.subject_id == subject)
            text = QGraphicsSimpleTextItem(f"{rule} · {name}")
            text.setBrush(PALETTE.qcolor("text"))
            text.setPos(QPointF(4, row * ROW_PX + 4))
            scene.addItem(text)
        for second in range(0, int(length) + 1, 10):
            tick = QGraphicsSimpleTextItem(f"{second} s")
            tick.setBrush(PALETTE.qcolor("muted"))
            tick.setPos(QPointF(label_px + second * SECOND_PX, axis_y))
            scene.addItem(tick)
        for alarm in report.alarms:
            row = rows[(alarm.rule, alarm.subject_id)]
            start = alarm.start_s or 0.0
            end = max(alarm.end_s or start, start + 0.5)
            bar = QGraphicsRectItem(
                QRectF(
                    label_px + start * SECOND_PX,
                    row * ROW_PX + 3,
                    (end - start) * SECOND_PX,
                    ROW_PX - 6,
                )
            )
            colour = PALETTE.qcolor(severity_role(alarm.severity))
            bar.setBrush(QBrush(colour))
            bar.setPen(QPen(QColor(colour).lighter(140), 1))
            bar.setFlag(QGraphicsRectItem.GraphicsItemFlag.ItemIsSelectable, True)
            bar.setToolTip(self._words(alarm))
            bar.setData(0, alarm.alarm_id)
            scene.addItem(bar)
            self.bars[alarm.alarm_id] = bar
            item = QListWidgetItem(self._words(alarm))
            item.setData(Qt.ItemDataRole.UserRole, alarm.alarm_id)
            if alarm.snapshot_path is not None and alarm.snapshot_path.is_file():
                pixmap = QPixmap(str(alarm.snapshot_path))
                item.setIcon(QIcon(pixmap.scaled(THUMB, Qt.AspectRatioMode.KeepAspectRatio)))
            self.snapshots.addItem(item)
        scene.setSceneRect(QRectF(0, 0, width + 20, axis_y + 24))

    @staticmethod
    def _words(alarm: TriedAlarm) -> str:
        start = f"{alarm.start_s:.1f}" if alarm.start_s is not None else "?"
        end = f"{alarm.end_s:.1f}" if alarm.end_s is not None else "?"
        return f"{alarm.severity.upper()} {alarm.rule}: {alarm.subject_name}\n{start}–{end} s"

    def _bar_chosen(self) -> None:
        chosen = [i for i in self.timeline.scene().selectedItems() if i.data(0) is not None]
        if not chosen:
            return
        alarm_id = chosen[0].data(0)
        for row in range(self.snapshots.count()):
            if self.snapshots.item(row).data(Qt.ItemDataRole.UserRole) == alarm_id:
                self.snapshots.setCurrentRow(row)
                return

    def _snapshot_chosen(self, item: QListWidgetItem | None) -> None:
        if item is None or self.report is None:
            self.large.clear()
            return
        alarm_id = item.data(Qt.ItemDataRole.UserRole)
        alarm = next((a for a in self.report.alarms if a.alarm_id == alarm_id), None)
        if alarm is None or alarm.snapshot_path is None:
            self.large.setText("no snapshot")
            return
        pixmap = QPixmap(str(alarm.snapshot_path))
        self.large.setPixmap(
            pixmap.scaled(
                self.large.size(),
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        )

    # -- the end ---------------------------------------------------------------------------

    def _discard(self) -> None:
        if self.report is not None:
            self.report.discard()
            self.report = None

    def close_panel(self) -> None:
        """Stop a try under way (joined), and remove the last try's folder."""
        self._cancel.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._discard()
