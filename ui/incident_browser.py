"""The incident browser: the auditor's page (and a supervisor's view): find incidents, open one
with its steps, pictures and clip, and the figures of what was found.

    ┌ From [date] To [date]  Floor  Zone  Object  Camera  Rule  Severity  Outcome  Operator  ┐
    │ [Search]                                                         [Export…] (auditor)   │
    ├──────────────────────────────────────────┬──────────────────────────────────────────────┤
    │ Incidents │ Figures                      │ Alarm 7 · Proximity · The Night Watch · High │
    │  raised (site time) · place · camera ·   │ raise→ack 0:12 → dispatch 1:05 → on scene …  │
    │  rule · severity · outcome · handled by  │ steps (time, step, by, detail)               │
    │  … 200 a page, "Show more" for the next  │ Snapshot · Without boxes · Clip (boxes over) │
    └──────────────────────────────────────────┴──────────────────────────────────────────────┘

Every read goes through the service layer on the runtime's reader thread (`SearchIncidents`,
`ReadIncidentFigures`, `ViewIncident` in `console.record_actions`, allowed to auditors and
supervisors by the role table, each audited), one page at a time: 100,000 alarms never come
into the window. Names, not ids (cameras, objects, zones, rules, outcomes, guards); times in the
site's time zone. The figures (pyqtgraph): alarms per night, per object or zone, the
acknowledge-time distribution, the share of false alarms per rule, and per shift the share of
alarms acknowledged within 30 s and within 60 s.

Export (the auditor's): the incidents the filters find, with their snapshots and clips, as CSV,
JSON lines and a PDF report with a signed manifest: the one export of `nightwatch export`
(`console.export.run.export_incidents`, given as `exporter`). The role table is asked first
(`AuthorizeExport`, a refusal audited); the export then runs on a thread of this page's own
(never the GUI's or the core's), and its progress moves a bar.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QDate, Qt, Signal, Slot
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from console.actions import ActionAnswer
from console.clock import Clock
from console.evidence_actions import AuthorizeExport, ShowSigningKey, SigningKey
from console.export.query import ExportFilters
from console.export.run import ExportRequest, ExportResult
from console.record_actions import (
    ReadIncidentFigures,
    SearchIncidents,
    ViewIncident,
)
from console.site_file import Site
from console.store import EventKind, Outcome, StoreFiles
from console.store.incident_search import (
    OPEN,
    IncidentFigures,
    IncidentFilter,
    IncidentPage,
    IncidentRecord,
    IncidentRow,
)
from ui.alarm_detail import step_detail
from ui.alarm_words import outcome_words, rule_words, severity_words, step_words
from ui.dispatch_dialog import camera_name
from ui.evidence_view import EvidenceTabs
from ui.shift import ShiftDesk
from ui.theme import PALETTE

log = logging.getLogger(__name__)

__all__ = ["COLUMNS", "IncidentBrowser", "IncidentsDialog", "subject_name"]

PAGE_SIZE = 200
COLUMNS = (
    "Raised",
    "Alarm",
    "Where",
    "Camera",
    "Rule",
    "Severity",
    "Outcome",
    "Handled by",
    "Clip",
)
RULES = ("proximity", "after_hours", "loitering", "restricted", "object_missing", "camera_health")
ANY = "Any"
DEFAULT_DAYS = 30
SUBJECT_BARS = 12
SHIFT_BARS = 20
ACK_WORDS = {  # the histogram's buckets, short enough to stand under their bars
    "0-10 s": "<10 s",
    "10-30 s": "<30 s",
    "30-60 s": "<1 min",
    "60-120 s": "<2 min",
    "120-300 s": "<5 min",
    "300-900 s": "<15 min",
    "over 900 s": "longer",
    "never": "never",
}

# (the request, a progress callback (stage, done, total)) -> the result; blocking
Exporter = Callable[[ExportRequest, Callable[[str, int, int], None]], ExportResult]
EXPORT_FORMATS = ("csv", "jsonl", "pdf")


class ExportCancelled(Exception):
    """The page went away during an export (its folder has no manifest: it is not an export)."""


def subject_name(site: Site, subject: str | None) -> str:
    """An object's or zone's name (or a camera's, for its own alarm)."""
    if not subject:
        return "—"
    for find in (site.protected_object, site.zone, site.camera):
        try:
            return str(find(subject).name)
        except KeyError:
            continue
    return subject


def _inside(point: tuple[float, float], polygon: Sequence[Sequence[float]]) -> bool:
    x, y = point
    inside = False
    n = len(polygon)
    for i in range(n):
        x1, y1 = polygon[i]
        x2, y2 = polygon[(i + 1) % n]
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def zone_subjects(site: Site, zone_id: str) -> tuple[str, ...]:
    """A zone and the protected objects that stand in it (their outline's centre inside)."""
    zone = site.zone(zone_id)
    found = [zone.id]
    for obj in site.objects_on(zone.floor):
        if obj.plan_polygon:
            xs = [p[0] for p in obj.plan_polygon]
            ys = [p[1] for p in obj.plan_polygon]
            centre = (sum(xs) / len(xs), sum(ys) / len(ys))
            if _inside(centre, zone.plan_polygon):
                found.append(obj.id)
    return tuple(found)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}:{secs:02d}"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class _Charts(QWidget):
    """The figures of the incidents found, drawn with pyqtgraph."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.figures: IncidentFigures | None = None
        self.status = QLabel("The figures are read when this tab is shown.")
        self.status.setWordWrap(True)
        self.graphics = pg.GraphicsLayoutWidget(self)
        self.graphics.setBackground(PALETTE.surface)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.status)
        layout.addWidget(self.graphics, 1)
        axis_pen = pg.mkPen(PALETTE.muted)
        before = {id(w) for w in QApplication.topLevelWidgets()}
        self.plots: dict[str, pg.PlotItem] = {}
        spots = (
            ("nights", "Alarms per night", 0, 0, 2),
            ("subjects", "Alarms per object or zone (the most first)", 1, 0, 1),
            ("ack", "Time to acknowledge", 1, 1, 1),
            ("false", "False alarms per rule (% of resolved)", 2, 0, 1),
            (
                "shifts",
                f"The last {SHIFT_BARS} shifts: acknowledged within 30 s / 60 s (%)",
                2,
                1,
                1,
            ),
        )
        for key, title, row, col, span in spots:
            plot = self.graphics.addPlot(row=row, col=col, colspan=span)
            plot.setTitle(title, color=PALETTE.text)
            plot.setMouseEnabled(x=False, y=False)
            plot.setMenuEnabled(False)
            plot.showGrid(x=False, y=True, alpha=0.15)
            plot.hideButtons()
            for side in ("left", "bottom"):
                axis = plot.getAxis(side)
                axis.setPen(axis_pen)
                axis.setTextPen(axis_pen)
            self.plots[key] = plot
        legend = self.plots["shifts"].addLegend(offset=(-5, 5), labelTextColor=PALETTE.text)
        legend.setBrush(pg.mkBrush(PALETTE.qcolor("background", 200)))
        for widget in QApplication.topLevelWidgets():  # pyqtgraph's menus: adopted, not leaked
            if id(widget) not in before and widget is not self:
                widget.setParent(self, widget.windowFlags())

    def _bars(
        self,
        key: str,
        labels: Sequence[str],
        values: Sequence[float],
        *,
        role: str = "focus",
        x0: float = 0.0,
        width: float = 0.8,
        name: str | None = None,
        clear: bool = True,
        ticks: int = 12,
    ) -> None:
        plot = self.plots[key]
        if clear:
            plot.clear()
        xs = np.arange(len(values), dtype=float) + x0
        bars = pg.BarGraphItem(
            x=xs,
            height=np.asarray(values, dtype=float),
            width=width,
            brush=PALETTE.qcolor(role, 220),
            pen=pg.mkPen(PALETTE.qcolor(role)),
            name=name,  # a plot with a legend lists it
        )
        plot.addItem(bars)
        axis = plot.getAxis("bottom")
        step = max(1, math.ceil(len(labels) / ticks))
        axis.setTicks([[(i, str(labels[i])) for i in range(0, len(labels), step)]])

    def _side_bars(self, key: str, labels: Sequence[str], values: Sequence[float]) -> None:
        """Bars lying down, the names on the left (names too long to stand under a bar)."""
        plot = self.plots[key]
        plot.clear()
        ys = np.arange(len(values), dtype=float)[::-1]  # the first at the top
        plot.addItem(
            pg.BarGraphItem(
                x0=0,
                y=ys,
                height=0.7,
                width=np.asarray(values, dtype=float),
                brush=PALETTE.qcolor("focus", 220),
                pen=pg.mkPen(PALETTE.qcolor("focus")),
            )
        )
        plot.getAxis("left").setTicks(
            [[(y, str(label)) for y, label in zip(ys, labels, strict=True)]]
        )

    def show_figures(self, figures: IncidentFigures, site: Site) -> None:
        self.figures = figures
        for plot in self.plots.values():
            plot.clear()
            if plot.legend is not None:
                plot.legend.clear()
        nights = figures.per_night
        self._bars("nights", [n[5:] for n, _ in nights], [c for _, c in nights])
        subjects = figures.per_subject[:SUBJECT_BARS]
        self._side_bars(
            "subjects", [subject_name(site, s)[:22] for s, _ in subjects], [c for _, c in subjects]
        )
        self._bars(
            "ack",
            [ACK_WORDS.get(label, label) for label, _ in figures.ack_histogram],
            [n for _, n in figures.ack_histogram],
            role="live",
            ticks=len(figures.ack_histogram),
        )
        rules = [r for r in figures.false_alarms_per_rule if r[2] > 0]
        self._bars(
            "false",
            [rule_words(r)[:16] for r, _, _ in rules],
            [100.0 * f / n for _, f, n in rules],
            role="offline",
        )
        shifts = [s for s in figures.per_shift if s.alarms][-SHIFT_BARS:]
        labels = [f"{s.started_at.astimezone(site.tz):%d.%m %H:%M}" for s in shifts]
        within_30 = [100.0 * (s.share(s.within_30_s) or 0.0) for s in shifts]
        within_60 = [100.0 * (s.share(s.within_60_s) or 0.0) for s in shifts]
        for values, role, x0, name in (
            (within_30, "live", -0.2, "within 30 s"),
            (within_60, "focus", 0.2, "within 60 s"),
        ):
            self._bars(
                "shifts",
                labels,
                values,
                role=role,
                x0=x0,
                width=0.4,
                name=name,
                clear=False,
                ticks=5,
            )
        median = _duration(figures.ack_p50_s)
        p95 = _duration(figures.ack_p95_s)
        self.status.setText(
            f"{figures.total:,} incidents · acknowledged after {median} (median), "
            f"{p95} (95 %) · per shift: the last {len(shifts)} with alarms (a shift: a "
            "person's time at a console)" + "".join(f" · {note}" for note in figures.notes)
        )

    def bar_heights(self, key: str) -> list[float]:
        """What a chart shows now (for tests): every bar's height, in order."""
        heights: list[float] = []
        for item in self.plots[key].items:
            if isinstance(item, pg.BarGraphItem):
                lying = item.opts.get("x0") is not None  # bars lying down: their widths
                heights.extend(float(h) for h in item.opts["width" if lying else "height"])
        return heights


class IncidentBrowser(QWidget):
    """Filters, a page of incidents, one incident's record and clip, the figures."""

    incident_shown = Signal(int)  # an incident's record arrived and is shown
    export_progress = Signal(str, int, int)  # from the export's thread: stage, done, total
    exported = Signal(object)  # from the export's thread: the ExportResult, or the error text

    def __init__(
        self,
        desk: ShiftDesk,
        site: Site,
        clock: Clock,
        files: StoreFiles | None = None,
        *,
        may_export: bool = True,
        exporter: Exporter | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("incidentBrowser")
        self.desk = desk
        self.site = site
        self.clock = clock
        self.files = files
        self.rows: list[IncidentRow] = []
        self.page: IncidentPage | None = None
        self.filter = IncidentFilter()
        self.record: IncidentRecord | None = None
        self.exporter = exporter
        self._export_thread: threading.Thread | None = None
        self._export_cancel = threading.Event()
        self.last_export: ExportResult | None = None
        self.exported.connect(self._exported)
        self.export_progress.connect(self._export_progress)
        self._searching = 0  # searches asked whose answers are still to come (newest wins)
        self._viewing: int | None = None

        self.heading = QLabel("Incidents")
        self.heading.setProperty("role", "heading")
        self._build_filters()
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setAccessibleName("incidents")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._row_chosen)
        self.count_label = QLabel("")
        self.more_button = QPushButton("Show more")
        self.more_button.setEnabled(False)
        self.more_button.clicked.connect(self.show_more)
        list_page = QWidget()
        list_column = QVBoxLayout(list_page)
        list_column.setContentsMargins(0, 0, 0, 0)
        list_column.addWidget(self.table, 1)
        more = QHBoxLayout()
        more.addWidget(self.count_label, 1)
        more.addWidget(self.more_button)
        list_column.addLayout(more)
        self.charts = _Charts()
        self.tabs = QTabWidget()
        self.tabs.addTab(list_page, "Incidents")
        self.tabs.addTab(self.charts, "Figures")
        self.tabs.currentChanged.connect(self._tab_changed)
        self._figures_for: IncidentFilter | None = None

        # one incident
        self.incident_heading = QLabel("Choose an incident to see its steps, pictures and clip.")
        self.incident_heading.setProperty("role", "heading")
        self.incident_heading.setWordWrap(True)
        self.response_label = QLabel("")
        self.response_label.setWordWrap(True)
        self.response_label.setAccessibleName("response times")
        self.steps_table = QTableWidget(0, 4)
        self.steps_table.setHorizontalHeaderLabels(["Time", "Step", "By", "Detail"])
        self.steps_table.setAccessibleName("timeline")
        self.steps_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.steps_table.verticalHeader().setVisible(False)
        steps_header = self.steps_table.horizontalHeader()
        steps_header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        steps_header.setStretchLastSection(True)
        self.evidence = EvidenceTabs(site)
        pane = QWidget()
        pane_column = QVBoxLayout(pane)
        pane_column.setContentsMargins(0, 0, 0, 0)
        pane_column.addWidget(self.incident_heading)
        pane_column.addWidget(self.response_label)
        pane_column.addWidget(self.steps_table, 1)
        pane_column.addWidget(self.evidence, 2)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.tabs)
        splitter.addWidget(pane)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)

        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.progress.setMaximumWidth(320)
        self.progress.setFormat("%v / %m")
        may_export = may_export and exporter is not None
        self.export_button.setVisible(may_export)
        self.blur_box.setVisible(may_export)
        # the key exports are signed with, to compare with the public-key.pem beside an export
        self.key_label = QLabel("Export signing key: asking…")
        self.key_label.setAccessibleName("export signing key")
        self.key_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.copy_key_button = QPushButton("Copy public key")
        self.copy_key_button.setEnabled(False)
        self.copy_key_button.clicked.connect(self.copy_public_key)
        self.signing_key: SigningKey | None = None
        foot = QHBoxLayout()
        foot.addWidget(self.message_label, 1)
        foot.addWidget(self.key_label)
        foot.addWidget(self.copy_key_button)
        foot.addWidget(self.progress)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addLayout(self.filter_grid)
        layout.addWidget(splitter, 1)
        layout.addLayout(foot)
        self._dialog: QFileDialog | None = None

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self.signing_key is None and self.user:  # asked as whoever signed in to read
            self.desk.ask(ShowSigningKey(self.user), self._key_arrived)

    def _key_arrived(self, answer: ActionAnswer) -> None:
        key = answer.value if answer.ok else None
        if not isinstance(key, SigningKey):
            self.key_label.setText(f"Export signing key: {answer.refusal or 'none'}")
            return
        self.signing_key = key
        where = "the OS keyring" if key.location.startswith("the OS keyring") else "key files"
        self.key_label.setText(f"Export signing key: {key.fingerprint} (in {where})")
        self.key_label.setToolTip(f"{key.public_pem}\nkept in {key.location or key.folder}")
        self.copy_key_button.setEnabled(True)

    @Slot()
    def copy_public_key(self) -> None:
        """The public key (PEM) to the clipboard, to check an export elsewhere with it."""
        if self.signing_key is not None:
            QApplication.clipboard().setText(self.signing_key.public_pem)
            self._say("public key copied (PEM)", error=False)

    # -- the filters -------------------------------------------------------------------------

    def _combo(self, name: str, items: Sequence[tuple[str, str]]) -> QComboBox:
        box = QComboBox()
        box.setAccessibleName(name)
        # long names must not widen the window past the screen: the list shows them whole
        box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        box.setMinimumContentsLength(14)
        box.addItem(ANY, None)
        for text, value in items:
            box.addItem(text, value)
        return box

    def _build_filters(self) -> None:
        site = self.site
        today = self.clock.now().astimezone(site.tz).date()
        self.from_edit = QDateEdit(_qdate(today - timedelta(days=DEFAULT_DAYS)))
        self.to_edit = QDateEdit(_qdate(today))
        for edit, name in ((self.from_edit, "from"), (self.to_edit, "to")):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setAccessibleName(name)
        self.floor_box = self._combo("floor", [(f.name, f.id) for f in site.floors])
        self.zone_box = self._combo("zone", [(z.name, z.id) for z in site.zones])
        self.object_box = self._combo("object", [(o.name, o.id) for o in site.protected_objects])
        self.camera_box = self._combo("camera", [(c.name, c.id) for c in site.cameras])
        self.rule_box = self._combo("rule", [(rule_words(r), r) for r in RULES])
        self.severity_box = self._combo(
            "severity", [(severity_words(s), s) for s in ("high", "medium", "low")]
        )
        self.outcome_box = self._combo(
            "outcome",
            [(outcome_words(o), o.value) for o in Outcome] + [("Not resolved yet", OPEN)],
        )
        self.operator_edit = QLineEdit()
        self.operator_edit.setPlaceholderText("anyone")
        self.operator_edit.setAccessibleName("operator")
        self.operator_edit.returnPressed.connect(self.refresh)
        self.search_button = QPushButton("Search")
        self.search_button.setDefault(True)
        self.search_button.clicked.connect(self.refresh)
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip(
            "The incidents these filters find, with their snapshots and clips: CSV, JSON lines "
            "and a PDF report, signed (check it anywhere with nightwatch verify FOLDER)"
        )
        self.export_button.clicked.connect(self.choose_export)
        self.blur_box = QCheckBox("Blur people")
        self.blur_box.setToolTip(
            "Exported pictures are blurred except the incident's own subject and the object; "
            "clips go out as derived copies with everyone but the subject blurred, the "
            "original's SHA-256 in the manifest (privacy.blur_exported_people)"
        )
        self.blur_box.setChecked(self.site.privacy.blur_exported_people)
        grid = QGridLayout()
        cells: list[tuple[str, QWidget]] = [
            ("From", self.from_edit),
            ("To", self.to_edit),
            ("Floor", self.floor_box),
            ("Zone", self.zone_box),
            ("Object", self.object_box),
            ("Camera", self.camera_box),
            ("Rule", self.rule_box),
            ("Severity", self.severity_box),
            ("Outcome", self.outcome_box),
            ("Operator", self.operator_edit),
        ]
        for n, (words, widget) in enumerate(cells):
            row, col = divmod(n, 5)
            grid.addWidget(QLabel(words), row, col * 2)
            grid.addWidget(widget, row, col * 2 + 1)
        grid.addWidget(self.search_button, 0, 10)
        export_cell = QHBoxLayout()
        export_cell.addWidget(self.blur_box)
        export_cell.addWidget(self.export_button)
        grid.addLayout(export_cell, 1, 10)
        self.filter_grid = grid

    def _day_start(self, day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=self.site.tz).astimezone(UTC)

    def current_filter(self) -> IncidentFilter:
        """The filter the controls say, resolved against the site (names to ids)."""
        since = self._day_start(_pydate(self.from_edit.date()))
        until = self._day_start(_pydate(self.to_edit.date()) + timedelta(days=1))
        subjects: set[str] | None = None
        zone = self.zone_box.currentData()
        if zone:
            subjects = set(zone_subjects(self.site, zone))
        obj = self.object_box.currentData()
        if obj:
            subjects = {obj} if subjects is None else subjects & {obj}
        floor = self.floor_box.currentData()
        floor_ids = None
        if floor:
            floor_ids = (
                tuple(c.id for c in self.site.cameras_on(floor)),
                tuple(o.id for o in self.site.objects_on(floor))
                + tuple(z.id for z in self.site.zones_on(floor)),
            )
        camera = self.camera_box.currentData()
        return IncidentFilter(
            since=since,
            until=until,
            cameras=(camera,) if camera else (),
            subjects=tuple(sorted(subjects)) if subjects is not None else (),
            floor=floor_ids,
            rules=(r,) if (r := self.rule_box.currentData()) else (),
            severities=(s,) if (s := self.severity_box.currentData()) else (),
            outcomes=(o,) if (o := self.outcome_box.currentData()) else (),
            operator=self.operator_edit.text().strip() or None,
        )

    # -- searching -------------------------------------------------------------------------------

    @property
    def user(self) -> str:
        return self.desk.user or ""

    @Slot()
    def refresh(self) -> None:
        """Search with the filters as they are: the first page, and the count."""
        f = self.current_filter()
        if f.subjects == () and (self.zone_box.currentData() and self.object_box.currentData()):
            f = replace(f, subjects=("\x00none",))  # an object outside the chosen zone
        self.filter = f
        self._searching += 1
        token = self._searching
        self._say("searching…", error=False)
        self.desk.ask(SearchIncidents(self.user, f, PAGE_SIZE), lambda a: self._found(a, token))
        self._figures_for = None
        if self.tabs.currentWidget() is self.charts:
            self._ask_figures()

    @Slot()
    def show_more(self) -> None:
        page = self.page
        if page is None or page.next_key is None:
            return
        self.more_button.setEnabled(False)
        token = self._searching
        action = SearchIncidents(self.user, self.filter, PAGE_SIZE, page.next_key, count=False)
        self.desk.ask(action, lambda a: self._found(a, token, more=True))

    def _found(self, answer: ActionAnswer, token: int, *, more: bool = False) -> None:
        if token != self._searching:
            return  # a newer search was asked meanwhile
        if not answer.ok:
            self._say(answer.refusal or "refused", error=True)
            return
        page: IncidentPage = answer.value
        total = page.total if page.total is not None else (self.page.total if self.page else None)
        self.page = replace(page, total=total)
        if not more:
            self.rows = []
            self.table.setRowCount(0)
        first = len(self.rows)
        self.rows.extend(page.rows)
        self.table.setRowCount(len(self.rows))
        for r, row in enumerate(page.rows, start=first):
            for c, text in enumerate(self.row_cells(row)):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.table.setItem(r, c, item)
        self.more_button.setEnabled(page.next_key is not None)
        shown = len(self.rows)
        total_text = f"{total:,}" if total is not None else "?"
        self.count_label.setText(f"{total_text} incidents match; {shown:,} shown")
        self._say(
            f"{shown:,} of {total_text} incidents; this reading is in the audit log", error=False
        )

    def row_cells(self, row: IncidentRow) -> list[str]:
        site = self.site
        outcome = outcome_words(row.outcome) if row.outcome is not None else "not resolved yet"
        handled = ", ".join(dict.fromkeys(u for u in (row.acknowledged_by, row.resolved_by) if u))
        return [
            f"{row.raised_at.astimezone(site.tz):%Y-%m-%d %H:%M:%S}",
            str(row.alarm_id),
            subject_name(site, row.subject),
            camera_name(site, row.camera_id),
            rule_words(row.rule),
            severity_words(row.severity),
            outcome,
            handled or "—",
            "yes" if row.clips_kept else "—",
        ]

    # -- the figures -----------------------------------------------------------------------------

    def _tab_changed(self, _index: int) -> None:
        if self.tabs.currentWidget() is self.charts and self._figures_for != self.filter:
            self._ask_figures()

    def _ask_figures(self) -> None:
        f = self.filter
        self._figures_for = f
        self.charts.status.setText("counting…")
        action = ReadIncidentFigures(self.user, f, self.site.site.timezone)
        self.desk.ask(action, lambda answer: self._figures_arrived(answer, f))

    def _figures_arrived(self, answer: ActionAnswer, f: IncidentFilter) -> None:
        if f != self.filter:
            return
        if not answer.ok:
            self.charts.status.setText(f"⚠ {answer.refusal or 'refused'}")
            return
        self.charts.show_figures(answer.value, self.site)

    # -- one incident ----------------------------------------------------------------------------

    def _row_chosen(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return
        index = rows[0].row()
        if 0 <= index < len(self.rows):
            self.view(self.rows[index].alarm_id)

    def view(self, alarm_id: int) -> None:
        """Open one incident (audited by the core as `incident.viewed`)."""
        self._viewing = alarm_id
        self.incident_heading.setText(f"Alarm {alarm_id}: reading…")
        self.desk.ask(ViewIncident(self.user, alarm_id), self._incident_arrived)

    def _incident_arrived(self, answer: ActionAnswer) -> None:
        if not answer.ok:
            self._say(answer.refusal or "refused", error=True)
            return
        record: IncidentRecord = answer.value
        if record.alarm.id != self._viewing:
            return
        self.record = record
        site = self.site
        alarm = record.alarm
        place = subject_name(site, alarm.subject)
        state = outcome_words(alarm.outcome) if alarm.outcome else alarm.state.value
        self.incident_heading.setText(
            f"Alarm {alarm.id} · {rule_words(alarm.rule)} at {place} · "
            f"{severity_words(alarm.severity)} · {state}"
        )
        self.response_label.setText(self.response_text(record))
        rows = self.timeline_rows(record)
        self.steps_table.setRowCount(len(rows))
        for r, cells in enumerate(rows):
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.steps_table.setItem(r, c, item)
        self.evidence.show_snapshots(record.snapshots, self.files)
        self.evidence.show_clips(record.clips, self.files, alarm.severity)
        self.incident_shown.emit(alarm.id)

    def response_text(self, record: IncidentRecord) -> str:
        """raise → acknowledge 12 s → dispatch 53 s → on scene 3:05 → resolve 2:20 (total)."""
        parts = ["Raised"]
        for name, seconds in record.response.steps():
            parts.append(f"{name} {_duration(seconds)}" if seconds is not None else f"no {name}")
        total = record.response.resolved_s
        text = " → ".join(parts)
        if total is not None:
            text += f" · resolved {_duration(total)} after it was raised"
        return text

    def timeline_rows(self, record: IncidentRecord) -> list[list[str]]:
        """Every step, sighting, picture and clip in time order (site time, names)."""
        site = self.site
        items: list[tuple[datetime, int, list[str]]] = []

        def local(at: datetime) -> str:
            return f"{at.astimezone(site.tz):%Y-%m-%d %H:%M:%S}"

        for n, e in enumerate(record.events):
            kind = EventKind(e.kind)
            said = step_detail(site, kind, e.detail)
            if kind == EventKind.RAISE:
                seen = f"on {camera_name(site, record.alarm.camera_id)}"
                said = f"{seen} · {said}" if said else seen
            items.append((e.at, n, [local(e.at), step_words(kind), e.user, said]))
        for o in record.occurrences:
            who = f"person #{o.track_id}" if o.track_id is not None else (o.condition or "")
            until = local(o.ended_at) if o.ended_at else "still there"
            closest = f", {o.closest_m:.2f} m closest" if o.closest_m is not None else ""
            said = f"{camera_name(site, o.camera_id)}: {who} until {until}{closest}"
            items.append((o.started_at, 1000, [local(o.started_at), "Sighting", "", said]))
        for s in record.snapshots:
            shot = "Snapshot" if s.kind.value == "annotated" else "Snapshot without boxes"
            digest = f"SHA-256 {s.sha256[:16]}…"
            items.append((s.taken_at, 2000, [local(s.taken_at), shot, "", digest]))
        for c in record.clips:
            at = c.start_at or c.window_start_at
            items.append((at, 3000, [local(at), "Clip", "", self._clip_line(c)]))
        items.sort(key=lambda item: (item[0], item[1]))
        return [cells for _, _, cells in items]

    def _clip_line(self, clip: Any) -> str:
        camera = camera_name(self.site, clip.camera_id)
        if clip.playable and clip.start_at and clip.end_at:
            length = (clip.end_at - clip.start_at).total_seconds()
            return f"{camera}: {length:.0f} s, SHA-256 {(clip.sha256 or '')[:16]}…"
        if clip.purged_at is not None:
            return f"{camera}: deleted by retention, SHA-256 {(clip.sha256 or '')[:16]}… kept"
        return f"{camera}: {clip.state.value}" + (f" ({clip.reason})" if clip.reason else "")

    # -- export ----------------------------------------------------------------------------------

    @Slot()
    def choose_export(self) -> None:
        dialog = QFileDialog(self, "Export into a new, empty folder", str(Path.home()))
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        dialog.fileSelected.connect(lambda path: self.export_to(Path(path)))
        self._dialog = dialog
        dialog.open()

    def export_request(
        self, folder: Path, formats: Sequence[str] = EXPORT_FORMATS
    ) -> ExportRequest:
        """What the filters say, as the export's request (ValueError when they cannot be)."""
        f = self.current_filter()
        assert f.since is not None  # the page always has its dates
        assert f.until is not None
        floor = self.floor_box.currentData()
        filters = ExportFilters(
            f.since,
            f.until,
            cameras=f.cameras,
            rules=f.rules,
            severities=f.severities,
            outcomes=f.outcomes,
            operators=(f.operator,) if f.operator else (),
            subjects=f.subjects,
            floors=(floor,) if floor else (),
            floor_cameras=f.floor[0] if f.floor else (),
            floor_subjects=f.floor[1] if f.floor else (),
        )
        return ExportRequest(
            filters, tuple(formats), folder, self.user, blur=self.blur_box.isChecked()
        )

    def export_to(self, folder: Path, formats: Sequence[str] = EXPORT_FORMATS) -> None:
        """Export what the filters find into `folder` (new or empty): the role table first, then
        the export on this page's thread, its progress on the bar."""
        if self.exporter is None or self.export_running:
            return
        try:
            request = self.export_request(folder, formats)
        except ValueError as exc:
            self._say(str(exc), error=True)
            return
        self.export_button.setEnabled(False)
        self._say(f"exporting to {folder}…", error=False)
        self.desk.ask(AuthorizeExport(self.user), lambda a: self._authorized(a, request))

    def _authorized(self, answer: ActionAnswer, request: ExportRequest) -> None:
        if not answer.ok:
            self.export_button.setEnabled(True)
            self._say(answer.refusal or "refused", error=True)
            return
        exporter = self.exporter
        assert exporter is not None
        self.progress.setRange(0, 0)  # busy until the first count
        self.progress.setVisible(True)
        self._export_cancel.clear()

        def progress(stage: str, done: int, total: int) -> None:
            if self._export_cancel.is_set():
                raise ExportCancelled("the incident browser was closed during the export")
            self.export_progress.emit(stage, done, total)

        def work() -> None:
            try:
                result: object = exporter(request, progress)
            except Exception as exc:  # ExportError, a cancel, a fault: said on the page
                log.warning("export to %s failed: %s", request.out_dir, exc)
                result = f"the export to {request.out_dir} failed: {exc}"
            self.exported.emit(result)

        self._export_thread = threading.Thread(target=work, name="nightwatch-export", daemon=True)
        self._export_thread.start()

    @property
    def export_running(self) -> bool:
        return self._export_thread is not None and self._export_thread.is_alive()

    @Slot(str, int, int)
    def _export_progress(self, stage: str, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(min(done, max(total, 1)))
        words = {"summary": "counting", "incidents": "incidents", "manifest": "signing"}
        self.progress.setFormat(f"{words.get(stage, stage)} %v / %m")

    @Slot(object)
    def _exported(self, result: object) -> None:
        if self._export_thread is not None:
            self._export_thread.join()
            self._export_thread = None
        self.progress.setVisible(False)
        self.export_button.setEnabled(True)
        if isinstance(result, str):
            self._say(result, error=True)
            return
        assert isinstance(result, ExportResult)
        self.last_export = result
        self._say(
            f"{result.incidents:,} incident(s), {result.snapshots:,} snapshot(s) and "
            f"{result.media:,} clip(s) and clean snapshot(s) exported to {result.out_dir}, "
            f"signed (manifest SHA-256 {result.manifest_sha256[:16]}…); check it with "
            f"nightwatch verify {result.out_dir}",
            error=False,
        )

    # -- words -----------------------------------------------------------------------------------

    def _say(self, text: str, *, error: bool) -> None:
        self.message_label.setStyleSheet(f"color: {PALETTE.offline if error else PALETTE.muted};")
        self.message_label.setText(f"⚠ {text}" if error else text)

    def stop(self) -> None:
        """The page goes away: the player's decoder is joined, an export running is stopped
        at its next step (its folder keeps no manifest) and its thread joined."""
        self.evidence.stop()
        self._export_cancel.set()
        if self._export_thread is not None:
            self._export_thread.join()
            self._export_thread = None

    def closeEvent(self, event: Any) -> None:
        self.stop()
        super().closeEvent(event)

    @property
    def is_running(self) -> bool:
        return self.evidence.player.is_running


class IncidentsDialog(QDialog):
    """The incident browser in a window of its own (the supervisor's menu): the wall stays live
    behind it; Esc closes it."""

    def __init__(
        self,
        desk: ShiftDesk,
        site: Site,
        clock: Clock,
        files: StoreFiles | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Incidents")
        self.setModal(False)
        self.browser = IncidentBrowser(desk, site, clock, files, may_export=False)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        self.resize(1500, 900)
        self.finished.connect(lambda _result: self.browser.stop())
        self.browser.refresh()


def _qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


def _pydate(day: QDate) -> date:
    return date(day.year(), day.month(), day.day())
