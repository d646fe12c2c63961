"""The Hours and rules tab: when the museum is open, which zones are armed when, how the rules
are tuned, where alarms are announced.

- **Opening hours** per weekday ("10:00-17:00", several periods "10:00-13:00, 14:00-17:00",
  past midnight "18:00-02:00", "closed"), checked as typed with the site file's own rules;
- **dated exceptions** (a holiday closed, a late opening, an evening event past midnight);
- **per-zone arming** (after hours, always, never) and a zone's own hours per weekday (a cafe
  open late; empty: the site's);
- **rule tuning**: every switch and threshold of `rules:` and the escalation times of
  `alarms:`, with their defaults shown where the file leaves them out;
- **alert routes**: which alarms (severity, zones) go where (control room, gallery,
  supervisor).

Every change is one undoable edit of the draft; what the check finds wrong is said beside it.
"""

from __future__ import annotations

import typing
from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.site_file import WEEKDAYS, AlarmSettings, EscalationTimes, RuleSettings, SiteInfo
from console.site_file.schema import OpeningHours
from ui.site_editor.draft import MISSING, SiteDraft
from ui.site_editor.fields import BoolField, Field, NumberField, ProblemLabel, TextField, field_help
from ui.site_editor.item_panel import DESTINATIONS, SEVERITIES

__all__ = ["ScheduleEditor"]

DAY_WORDS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
ARMING = (("after_hours", "after hours"), ("always", "always"), ("never", "never"))


def _model_of(model: type[BaseModel], name: str) -> type[BaseModel]:
    annotation = model.model_fields[name].annotation
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    raise TypeError(f"{model.__name__}.{name} is not a model")


class ScheduleEditor(QScrollArea):
    """See the module doc."""

    def __init__(self, draft: SiteDraft, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.draft = draft
        self.setWidgetResizable(True)
        self.fields: dict[str, Field] = {}
        self._filling = False
        body = QWidget()
        column = QVBoxLayout(body)
        column.setAlignment(Qt.AlignmentFlag.AlignTop)
        column.addWidget(self._site_box())
        column.addWidget(self._hours_box())
        column.addWidget(self._exceptions_box())
        column.addWidget(self._zones_box())
        column.addWidget(self._rules_box())
        column.addWidget(self._routes_box())
        self.setWidget(body)
        draft.changed.connect(self.refresh)
        draft.checked.connect(lambda _c: self.refresh())
        self.refresh()

    # -- boxes -----------------------------------------------------------------------------

    def _field(self, key: str, row: Field, layout: QVBoxLayout | QGridLayout) -> Field:
        self.fields[key] = row
        layout.addWidget(row)
        return row

    def _site_box(self) -> QGroupBox:
        box = QGroupBox("The museum")
        layout = QVBoxLayout(box)
        for name in ("name", "timezone"):
            title, help_text = field_help(SiteInfo, name)
            self._field(
                f"site.{name}",
                TextField(self.draft, ("site", name), title, tooltip=help_text, what=title),
                layout,
            )
        return box

    def _hours_box(self) -> QGroupBox:
        box = QGroupBox("Opening hours")
        layout = QVBoxLayout(box)
        note = QLabel(
            "Per weekday: 'closed', '10:00-17:00', several periods '10:00-13:00, 14:00-17:00'. "
            "A closing time before the opening time runs past midnight: '18:00-02:00'."
        )
        note.setWordWrap(True)
        layout.addWidget(note)
        for day, words in zip(WEEKDAYS, DAY_WORDS, strict=True):
            self._field(
                f"hours.{day}",
                TextField(
                    self.draft,
                    ("opening_hours", day),
                    words,
                    tooltip=field_help(OpeningHours, day)[1],
                    what=f"opening hours on {words}",
                ),
                layout,
            )
        return box

    def _exceptions_box(self) -> QGroupBox:
        box = QGroupBox("Dated exceptions (holidays, late openings, evening events)")
        layout = QVBoxLayout(box)
        self.exceptions = QTableWidget(0, 3)
        self.exceptions.setHorizontalHeaderLabels(["Date (YYYY-MM-DD)", "Hours", "Note"])
        self.exceptions.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.exceptions.verticalHeader().setVisible(False)
        self.exceptions.setAccessibleName("dated exceptions")
        self.exceptions.setMinimumHeight(140)
        self.exceptions.cellChanged.connect(self._exception_edited)
        self.exceptions_problems = ProblemLabel()
        add = QPushButton("Add a date")
        add.clicked.connect(self.add_exception)
        remove = QPushButton("Remove the selected date")
        remove.clicked.connect(self.remove_exception)
        row = QHBoxLayout()
        row.addWidget(add)
        row.addWidget(remove)
        row.addStretch(1)
        layout.addWidget(self.exceptions)
        layout.addWidget(self.exceptions_problems)
        layout.addLayout(row)
        return box

    def _zones_box(self) -> QGroupBox:
        box = QGroupBox("Zones: when armed, and their own hours (empty: the site's)")
        layout = QVBoxLayout(box)
        self.zones = QTableWidget(0, 2 + len(WEEKDAYS))
        self.zones.setHorizontalHeaderLabels(["Zone", "Armed", *[d[:3] for d in DAY_WORDS]])
        self.zones.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.zones.verticalHeader().setVisible(False)
        self.zones.setAccessibleName("zone arming")
        self.zones.setMinimumHeight(140)
        self.zones.cellChanged.connect(self._zone_hours_edited)
        self.zones_problems = ProblemLabel()
        layout.addWidget(self.zones)
        layout.addWidget(self.zones_problems)
        return box

    def _rules_box(self) -> QGroupBox:
        box = QGroupBox("Rule tuning")
        grid = QGridLayout(box)
        for n, name in enumerate(RuleSettings.model_fields):
            model = _model_of(RuleSettings, name)
            title, help_text = field_help(RuleSettings, name)
            group = QGroupBox(title)
            group.setToolTip(help_text)
            layout = QVBoxLayout(group)
            for field_name, info in model.model_fields.items():
                path = ("rules", name, field_name)
                field_title, field_text = field_help(model, field_name)
                if info.annotation is bool or str(info.annotation).endswith("StrictBool"):
                    row: Field = BoolField(
                        self.draft,
                        path,
                        field_title,
                        default=bool(info.default),
                        tooltip=field_text,
                        what=f"{title}: {field_title}",
                    )
                else:
                    row = NumberField(
                        self.draft,
                        path,
                        field_title,
                        default=info.default,
                        tooltip=field_text,
                        what=f"{title}: {field_title}",
                    )
                self._field(f"rules.{name}.{field_name}", row, layout)
            grid.addWidget(group, n // 2, n % 2)
        alarms = QGroupBox("Escalation and re-arming")
        layout = QVBoxLayout(alarms)
        for severity in SEVERITIES:
            title, text = field_help(EscalationTimes, severity)
            self._field(
                f"alarms.escalate_after_s.{severity}",
                NumberField(
                    self.draft,
                    ("alarms", "escalate_after_s", severity),
                    f"Escalate {severity} after, s",
                    default=getattr(AlarmSettings().escalate_after_s, severity),
                    tooltip=text,
                    what=f"escalation time of {severity} alarms",
                ),
                layout,
            )
        for name in ("clear_after_s", "rearm_s"):
            title, text = field_help(AlarmSettings, name)
            self._field(
                f"alarms.{name}",
                NumberField(
                    self.draft,
                    ("alarms", name),
                    title,
                    default=AlarmSettings.model_fields[name].default,
                    tooltip=text,
                    what=title,
                ),
                layout,
            )
        count = len(RuleSettings.model_fields)
        grid.addWidget(alarms, count // 2, count % 2)
        return box

    def _routes_box(self) -> QGroupBox:
        box = QGroupBox("Alert routes: which alarms are announced where")
        layout = QVBoxLayout(box)
        self.routes_grid = QGridLayout()
        layout.addLayout(self.routes_grid)
        self.routes_problems = ProblemLabel()
        layout.addWidget(self.routes_problems)
        add = QPushButton("Add a route")
        add.clicked.connect(self.add_route)
        row = QHBoxLayout()
        row.addWidget(add)
        row.addStretch(1)
        layout.addLayout(row)
        self.route_widgets: list[dict[str, Any]] = []
        return box

    # -- filling from the draft ------------------------------------------------------------

    def refresh(self) -> None:
        self._filling = True
        try:
            for row in self.fields.values():
                row.refresh()
            self._fill_exceptions()
            self._fill_zones()
            self._fill_routes()
        finally:
            self._filling = False

    def _exception_list(self) -> list[Any]:
        found = self.draft.get(("opening_hours", "exceptions"))
        return list(found) if isinstance(found, list) else []

    def _fill_exceptions(self) -> None:
        items = self._exception_list()
        table = self.exceptions
        table.blockSignals(True)
        table.setRowCount(len(items))
        for row, item in enumerate(items):
            item = item if isinstance(item, dict) else {}
            for column, key in enumerate(("date", "hours", "note")):
                value = item.get(key)
                cell = QTableWidgetItem("" if value is None else str(value))
                problems = self.draft.problems_at(("opening_hours", "exceptions", row, key))
                if problems:
                    cell.setForeground(Qt.GlobalColor.red)
                    cell.setToolTip(problems[0].message)
                table.setItem(row, column, cell)
        table.blockSignals(False)
        self.exceptions_problems.say(
            [
                f"{p.path.removeprefix('opening_hours.')}: {p.message}"
                for p in self.draft.problems_at(("opening_hours", "exceptions"))
            ]
        )

    def _exception_edited(self, row: int, column: int) -> None:
        if self._filling:
            return
        key = ("date", "hours", "note")[column]
        cell = self.exceptions.item(row, column)
        text = cell.text().strip() if cell is not None else ""
        value: Any = text if text or key != "note" else MISSING
        self.draft.set_value(("opening_hours", "exceptions", row, key), value, f"exception's {key}")

    def add_exception(self) -> None:
        taken = {str(e.get("date")) for e in self._exception_list() if isinstance(e, dict)}
        day = date.today() + timedelta(days=1)
        while day.isoformat() in taken:
            day += timedelta(days=1)
        self.draft.insert_item(
            ("opening_hours", "exceptions"),
            {"date": day.isoformat(), "hours": "closed"},
            f"add the exception of {day.isoformat()}",
        )

    def remove_exception(self) -> None:
        rows = sorted({i.row() for i in self.exceptions.selectedIndexes()}, reverse=True)
        with self.draft.macro("remove exceptions"):
            for row in rows:
                self.draft.remove_item(("opening_hours", "exceptions"), row, "remove exception")
            if rows and not self._exception_list():
                self.draft.set_value(("opening_hours", "exceptions"), MISSING, "no exceptions")

    def _fill_zones(self) -> None:
        zones = self.draft.items("zones")
        table = self.zones
        table.blockSignals(True)
        table.setRowCount(len(zones))
        for row, zone in enumerate(zones):
            name = QTableWidgetItem(str(zone.get("name", zone.get("id", ""))))
            name.setFlags(name.flags() & ~Qt.ItemFlag.ItemIsEditable)
            table.setItem(row, 0, name)
            combo = table.cellWidget(row, 1)
            if not isinstance(combo, QComboBox):
                combo = QComboBox()
                for value, words in ARMING:
                    combo.addItem(words, value)
                combo.setAccessibleName(f"armed: {zone.get('id')}")
                combo.activated.connect(lambda _i, r=row: self._armed_chosen(r))
                table.setCellWidget(row, 1, combo)
            armed = zone.get("armed", "after_hours")
            armed = {True: "after_hours", False: "never"}.get(armed, armed)
            combo.setCurrentIndex(max(0, combo.findData(armed)))
            own = zone.get("opening_hours")
            hours: dict[str, Any] = own if isinstance(own, dict) else {}
            for offset, day in enumerate(WEEKDAYS):
                day_hours = hours.get(day)
                cell = QTableWidgetItem("" if day_hours is None else str(day_hours))
                problems = self.draft.problems_at(("zones", row, "opening_hours", day))
                if problems:
                    cell.setForeground(Qt.GlobalColor.red)
                    cell.setToolTip(problems[0].message)
                table.setItem(row, 2 + offset, cell)
        table.blockSignals(False)
        self.zones_problems.say(
            [
                f"{p.path}: {p.message}"
                for row in range(len(zones))
                for p in self.draft.problems_at(("zones", row, "opening_hours"))
            ]
        )

    def _armed_chosen(self, row: int) -> None:
        combo = self.zones.cellWidget(row, 1)
        if not isinstance(combo, QComboBox):
            return
        value = combo.currentData()
        present = self.draft.get(("zones", row, "armed"), MISSING)
        new = MISSING if value == "after_hours" and present is MISSING else value
        self.draft.set_value(("zones", row, "armed"), new, "arming of a zone")

    def _zone_hours_edited(self, row: int, column: int) -> None:
        if self._filling or column < 2:
            return
        day = WEEKDAYS[column - 2]
        cell = self.zones.item(row, column)
        text = cell.text().strip() if cell is not None else ""
        hours = dict(self.draft.get(("zones", row, "opening_hours")) or {})
        if text:
            hours[day] = text
        else:
            hours.pop(day, None)
        self.draft.set_value(
            ("zones", row, "opening_hours"), hours if hours else MISSING, f"a zone's {day} hours"
        )

    # -- routes ----------------------------------------------------------------------------

    def _routes(self) -> list[Any]:
        routes = self.draft.get(("alert_routes",), MISSING)
        if routes is MISSING:
            return [{"to": ["control_room"]}]
        return list(routes) if isinstance(routes, list) else []

    def _fill_routes(self) -> None:
        grid = self.routes_grid
        while grid.count():
            child = grid.takeAt(0)
            widget = child.widget() if child is not None else None
            if widget is not None:
                widget.deleteLater()
        headers = ["Severities", "Zones (empty: all)", "To", ""]
        for column, text in enumerate(headers):
            grid.addWidget(QLabel(f"<b>{text}</b>"), 0, column)
        self.route_widgets = []
        for row, route in enumerate(self._routes(), start=1):
            route = route if isinstance(route, dict) else {}
            match = route.get("match") or {}
            severities = match.get("severity") or list(SEVERITIES)
            widgets: dict[str, Any] = {}
            sev_box = QWidget()
            sev_row = QHBoxLayout(sev_box)
            sev_row.setContentsMargins(0, 0, 0, 0)
            for severity in SEVERITIES:
                check = QCheckBox(severity)
                check.setChecked(severity in severities)
                check.clicked.connect(self._route_edited)
                sev_row.addWidget(check)
                widgets[f"severity:{severity}"] = check
            zones = QLineEdit(", ".join(match.get("zones") or []))
            zones.setAccessibleName(f"zones of route {row}")
            zones.editingFinished.connect(self._route_edited)
            widgets["zones"] = zones
            to_box = QWidget()
            to_row = QHBoxLayout(to_box)
            to_row.setContentsMargins(0, 0, 0, 0)
            for dest, words in DESTINATIONS:
                check = QCheckBox(words)
                check.setChecked(dest in (route.get("to") or []))
                check.clicked.connect(self._route_edited)
                to_row.addWidget(check)
                widgets[f"to:{dest}"] = check
            remove = QPushButton("Remove")
            remove.clicked.connect(lambda _c=False, i=row - 1: self.remove_route(i))
            grid.addWidget(sev_box, row, 0)
            grid.addWidget(zones, row, 1)
            grid.addWidget(to_box, row, 2)
            grid.addWidget(remove, row, 3)
            self.route_widgets.append(widgets)
        self.routes_problems.say(
            [f"{p.path}: {p.message}" for p in self.draft.problems_at(("alert_routes",))]
        )

    def _route_edited(self) -> None:
        if self._filling:
            return
        routes = []
        for widgets in self.route_widgets:
            severities = [s for s in SEVERITIES if widgets[f"severity:{s}"].isChecked()]
            zones = [z.strip() for z in widgets["zones"].text().split(",") if z.strip()]
            match: dict[str, Any] = {}
            if set(severities) != set(SEVERITIES):
                match["severity"] = severities
            if zones:
                match["zones"] = zones
            route: dict[str, Any] = {
                "to": [d for d, _ in DESTINATIONS if widgets[f"to:{d}"].isChecked()]
            }
            if match:
                route = {"match": match, **route}
            routes.append(route)
        if routes != self._routes():
            self.draft.set_value(("alert_routes",), routes, "alert routes")

    def add_route(self) -> None:
        self.draft.set_value(
            ("alert_routes",), [*self._routes(), {"to": ["control_room"]}], "add an alert route"
        )

    def remove_route(self, index: int) -> None:
        routes = self._routes()
        if 0 <= index < len(routes):
            del routes[index]
            self.draft.set_value(("alert_routes",), routes, "remove an alert route")
