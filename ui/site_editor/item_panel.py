"""The side panel: the fields of the item selected on the plan (a protected object, a zone, a
camera) or, with nothing selected, of the floor shown; what the check finds wrong is said under
the field it is about, as it is typed.

- an **object**: id, name, floor, kind, value tier, minimum distance (drawn as its halo), and
  its outlines in the camera images (a wall piece is outlined on a live frame of each camera
  that sees it);
- a **zone**: id, name, floor, kind, loiter time, when it is armed, and the alert routes that
  send its alarms somewhere, per severity (its own hours are on the Hours and rules tab);
- a **camera**: id, name, floor, stream, sub-stream, credentials entry, frame size, and the
  buttons for the stream dialog (with its connection test) and the calibration;
- a **floor**: id, name, plan image, scale.

Renaming an id renames what refers to it (a camera's outlines, a zone's routes, a floor's
items), in the same undo step.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from console.site_file import Camera, Floor, ProtectedObject, Zone
from ui.site_editor.draft import MISSING, SiteDraft, path_text, points
from ui.site_editor.fields import (
    ChoiceField,
    Field,
    NumberField,
    ProblemLabel,
    TextField,
    field_help,
)

__all__ = ["ItemPanel", "rename_references"]

SEVERITIES = ("high", "medium", "low")
DESTINATIONS = (
    ("control_room", "control room"),
    ("gallery", "gallery"),
    ("supervisor", "supervisor"),
)


def rename_references(draft: SiteDraft, section: str, old: str, new: str) -> None:
    """Within a macro: what refers to `old` (of `section`) refers to `new`."""
    if section == "cameras":
        for index, obj in enumerate(draft.items("protected_objects")):
            regions = obj.get("image_regions")
            if isinstance(regions, dict) and old in regions:
                renamed = {(new if k == old else k): v for k, v in regions.items()}
                draft.set_value(
                    ("protected_objects", index, "image_regions"), renamed, "rename outline"
                )
    elif section == "zones":
        routes = draft.get(("alert_routes",))
        if isinstance(routes, list):
            changed = []
            for route in routes:
                zones = (route.get("match") or {}).get("zones") if isinstance(route, dict) else None
                if isinstance(zones, list) and old in zones:
                    route = {
                        **route,
                        "match": {
                            **route["match"],
                            "zones": [new if z == old else z for z in zones],
                        },
                    }
                changed.append(route)
            draft.set_value(("alert_routes",), changed, "rename zone in routes")
    elif section == "floors":
        for other in ("cameras", "protected_objects", "zones"):
            for index, item in enumerate(draft.items(other)):
                if item.get("floor") == old:
                    draft.set_value((other, index, "floor"), new, "rename floor")


class ItemPanel(QScrollArea):
    """See the module doc."""

    connection_requested = Signal(int)  # camera index: the stream dialog
    calibration_requested = Signal(int)  # camera index
    outline_requested = Signal(int, str)  # object index, camera id
    plan_image_requested = Signal(str)  # floor id: replace its plan image
    scale_requested = Signal()  # draw a line of known length

    def __init__(self, draft: SiteDraft, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.draft = draft
        self.key: tuple[str, int] | None = None
        self.floor_id: str | None = None
        self.fields: dict[str, Field] = {}
        self._rebuild_on_change = False
        self.setWidgetResizable(True)
        self.setMinimumWidth(360)
        self._body: QWidget | None = None
        draft.changed.connect(self._draft_changed)
        draft.checked.connect(lambda _check: self.refresh())
        self.show_item(None, None)

    # -- what is shown ---------------------------------------------------------------------

    def show_item(self, key: tuple[str, int] | None, floor_id: str | None) -> None:
        self.key = key
        self.floor_id = floor_id
        self.fields = {}
        body = QWidget()
        self.layout_ = QVBoxLayout(body)
        self.layout_.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.heading = QLabel()
        self.heading.setObjectName("heading")
        self.heading.setStyleSheet("font-weight: bold; font-size: 120%;")
        self.layout_.addWidget(self.heading)
        self.general = ProblemLabel()
        self.layout_.addWidget(self.general)
        item = self.draft.get(key) if key is not None else None
        if key is not None and isinstance(item, dict):
            {
                "protected_objects": self._object,
                "zones": self._zone,
                "cameras": self._camera,
            }[key[0]](key[1], item)
        elif floor_id is not None and self.draft.index_of("floors", floor_id) is not None:
            self._floor(self.draft.index_of("floors", floor_id) or 0)
        else:
            self.heading.setText("Nothing selected")
        self.layout_.addStretch(1)
        self.setWidget(body)
        self._body = body
        self.refresh()

    def _draft_changed(self) -> None:
        if self.key is not None and not isinstance(self.draft.get(self.key), dict):
            self.show_item(None, self.floor_id)  # deleted or undone
            return
        if self._rebuild_on_change:
            self.show_item(self.key, self.floor_id)
            return
        self.refresh()

    def refresh(self) -> None:
        for row in self.fields.values():
            row.refresh()
        if self.key is not None:
            prefix = path_text(self.key)
            covered = {path_text(f.path) for f in self.fields.values()}
            general = [
                f"{p.path[len(prefix) :].lstrip('.') or 'this item'}: {p.message}"
                for p in self.draft.problems_at(prefix)
                if not any(p.under(c) for c in covered)
            ]
            self.general.say(general)
        elif self.floor_id is not None:
            index = self.draft.index_of("floors", self.floor_id)
            if index is not None:
                covered = {path_text(f.path) for f in self.fields.values()}
                self.general.say(
                    [
                        p.message
                        for p in self.draft.problems_at(("floors", index))
                        if not any(p.under(c) for c in covered)
                    ]
                )
        self._refresh_extras()

    def _add(self, name: str, row: Field) -> Field:
        self.fields[name] = row
        self.layout_.addWidget(row)
        return row

    def _id_field(self, section: str, index: int, label: str) -> None:
        def rename(text: str) -> None:
            old = self.draft.get((section, index, "id"))
            new = text.strip()
            with self.draft.macro(f"rename {old} to {new}"):
                self.draft.set_value((section, index, "id"), new, "rename")
                if isinstance(old, str) and new and old != new:
                    rename_references(self.draft, section, old, new)

        models: dict[str, type[BaseModel]] = {
            "protected_objects": ProtectedObject,
            "zones": Zone,
            "cameras": Camera,
        }
        model = models.get(section, Floor)
        self._add(
            "id",
            TextField(
                self.draft,
                (section, index, "id"),
                label,
                on_finish=rename,
                tooltip=field_help(model, "id")[1],
                what="id",
            ),
        )

    def _text(self, section: str, index: int, name: str, model: Any, **kwargs: Any) -> None:
        title, help_text = field_help(model, name)
        self._add(
            name,
            TextField(
                self.draft, (section, index, name), title, tooltip=help_text, what=title, **kwargs
            ),
        )

    def _floor_choice(self, section: str, index: int) -> None:
        self._add(
            "floor",
            ChoiceField(
                self.draft,
                (section, index, "floor"),
                "Floor",
                [(f, f) for f in self.draft.ids("floors")],
                what="floor",
            ),
        )

    # -- the items -------------------------------------------------------------------------

    def _object(self, index: int, item: dict[str, Any]) -> None:
        section = "protected_objects"
        self.heading.setText(f"Protected object: {item.get('name', '')}")
        self._id_field(section, index, "Id")
        self._text(section, index, "name", ProtectedObject)
        self._floor_choice(section, index)
        title, help_text = field_help(ProtectedObject, "kind")
        self._add(
            "kind",
            ChoiceField(
                self.draft,
                (section, index, "kind"),
                title,
                ["painting", "sculpture", "case", "other"],
                default="other",
                tooltip=help_text,
                what="kind",
            ),
        )
        title, help_text = field_help(ProtectedObject, "value")
        self._add(
            "value",
            ChoiceField(
                self.draft,
                (section, index, "value"),
                title,
                list(SEVERITIES),
                tooltip=help_text,
                what="value tier",
            ),
        )
        title, help_text = field_help(ProtectedObject, "min_distance_m")
        self._add(
            "min_distance_m",
            NumberField(
                self.draft,
                (section, index, "min_distance_m"),
                title,
                tooltip=help_text + " Drawn on the plan as a halo around the object.",
                what="minimum distance",
            ),
        )
        box = QGroupBox("Outlines in the camera images")
        box.setToolTip(field_help(ProtectedObject, "image_regions")[1])
        self.outlines = QVBoxLayout(box)
        self.outline_rows = QVBoxLayout()
        self.outlines.addLayout(self.outline_rows)
        row = QHBoxLayout()
        self.outline_camera = QComboBox()
        self.outline_camera.setAccessibleName("camera to outline in")
        for camera in self.draft.items("cameras"):
            self.outline_camera.addItem(str(camera.get("name", camera.get("id"))), camera.get("id"))
        draw = QPushButton("Outline on a live frame…")
        draw.clicked.connect(
            lambda: self.outline_requested.emit(index, str(self.outline_camera.currentData()))
        )
        draw.setEnabled(self.outline_camera.count() > 0)
        row.addWidget(self.outline_camera, 1)
        row.addWidget(draw)
        self.outlines.addLayout(row)
        self.layout_.addWidget(box)

    def _outline_rows(self, index: int) -> None:
        while self.outline_rows.count():
            child = self.outline_rows.takeAt(0)
            widget = child.widget() if child is not None else None
            if widget is not None:
                widget.deleteLater()
        regions = self.draft.get(("protected_objects", index, "image_regions"))
        if not isinstance(regions, dict) or not regions:
            self.outline_rows.addWidget(QLabel("No outline in any camera image"))
            return
        for camera_id, polygon in regions.items():
            line = QWidget()
            row = QHBoxLayout(line)
            row.setContentsMargins(0, 0, 0, 0)
            corners = points(polygon)
            label = QLabel(f"{camera_id}: {len(corners) if corners else '?'} corners")
            problems = self.draft.problems_at(
                f"protected_objects[{index}].image_regions.{camera_id}"
            )
            if problems:
                label.setText(label.text() + "  ⚠ " + problems[0].message)
                label.setStyleSheet("color: #d06a64;")
                label.setWordWrap(True)
            edit = QPushButton("Edit…")
            edit.clicked.connect(
                lambda _checked=False, c=camera_id: self.outline_requested.emit(index, c)
            )
            remove = QPushButton("Remove")
            remove.clicked.connect(
                lambda _checked=False, c=camera_id: self._remove_outline(index, c)
            )
            row.addWidget(label, 1)
            row.addWidget(edit)
            row.addWidget(remove)
            self.outline_rows.addWidget(line)

    def _remove_outline(self, index: int, camera_id: str) -> None:
        regions = dict(self.draft.get(("protected_objects", index, "image_regions")) or {})
        regions.pop(camera_id, None)
        self.draft.set_value(
            ("protected_objects", index, "image_regions"),
            regions if regions else MISSING,
            f"remove the outline in {camera_id}",
        )

    def _zone(self, index: int, item: dict[str, Any]) -> None:
        section = "zones"
        self.heading.setText(f"Zone: {item.get('name', '')}")
        self._id_field(section, index, "Id")
        self._text(section, index, "name", Zone)
        self._floor_choice(section, index)
        title, help_text = field_help(Zone, "kind")
        self._add(
            "kind",
            ChoiceField(
                self.draft,
                (section, index, "kind"),
                title,
                ["gallery", "restricted", "exit", "corridor"],
                tooltip=help_text,
                what="kind",
            ),
        )
        title, help_text = field_help(Zone, "loiter_s")
        self._add(
            "loiter_s",
            NumberField(
                self.draft,
                (section, index, "loiter_s"),
                title,
                optional=True,
                tooltip=help_text,
                what="loiter time",
            ),
        )
        title, help_text = field_help(Zone, "armed")
        self._add(
            "armed",
            ChoiceField(
                self.draft,
                (section, index, "armed"),
                title,
                [
                    ("after_hours", "after hours (while closed)"),
                    ("always", "always"),
                    ("never", "never"),
                ],
                default="after_hours",
                tooltip=help_text,
                what="arming",
            ),
        )
        self.own_hours = QLabel()
        self.own_hours.setWordWrap(True)
        self.layout_.addWidget(self.own_hours)
        box = QGroupBox("Alert routes of this zone's alarms")
        grid = QGridLayout(box)
        self.route_boxes: dict[tuple[str, str], QCheckBox] = {}
        for column, (_dest, words) in enumerate(DESTINATIONS, start=1):
            grid.addWidget(QLabel(words), 0, column)
        for row, severity in enumerate(SEVERITIES, start=1):
            grid.addWidget(QLabel(severity), row, 0)
            for column, (dest, words) in enumerate(DESTINATIONS, start=1):
                check = QCheckBox()
                check.setAccessibleName(f"{severity} alarms to {words}")
                check.clicked.connect(lambda _c=False, i=index: self._route_clicked(i))
                grid.addWidget(check, row, column)
                self.route_boxes[(severity, dest)] = check
        self.routes_note = QLabel()
        self.routes_note.setWordWrap(True)
        grid.addWidget(self.routes_note, len(SEVERITIES) + 1, 0, 1, len(DESTINATIONS) + 1)
        self.layout_.addWidget(box)

    def _zone_routes(self, zone_id: str) -> tuple[dict[str, set[str]], list[str]]:
        """This zone's own routes (severity -> destinations) and, in words, those of every
        zone."""
        own: dict[str, set[str]] = {s: set() for s in SEVERITIES}
        everyone: list[str] = []
        routes = self.draft.get(("alert_routes",), MISSING)
        if routes is MISSING:
            routes = [{"to": ["control_room"]}]
        for route in routes if isinstance(routes, list) else []:
            if not isinstance(route, dict):
                continue
            match = route.get("match") or {}
            severities = match.get("severity") or list(SEVERITIES)
            to = route.get("to") or []
            zones = match.get("zones")
            if zones == [zone_id]:
                for severity in severities:
                    own.setdefault(severity, set()).update(to)
            elif zones is None:
                everyone.append(f"{', '.join(severities)} → {', '.join(to)}")
        return own, everyone

    def _route_clicked(self, index: int) -> None:
        zone_id = self.draft.get(("zones", index, "id"))
        routes = self.draft.get(("alert_routes",), MISSING)
        if routes is MISSING:
            routes = [{"to": ["control_room"]}]
        kept = [
            r
            for r in (routes if isinstance(routes, list) else [])
            if not (isinstance(r, dict) and (r.get("match") or {}).get("zones") == [zone_id])
        ]
        for severity in SEVERITIES:
            to = [d for d, _w in DESTINATIONS if self.route_boxes[(severity, d)].isChecked()]
            if to:
                kept.append({"match": {"severity": [severity], "zones": [zone_id]}, "to": to})
        self.draft.set_value(("alert_routes",), kept, f"alert routes of zone {zone_id}")

    def _camera(self, index: int, item: dict[str, Any]) -> None:
        section = "cameras"
        self.heading.setText(f"Camera: {item.get('name', '')}")
        self._id_field(section, index, "Id")
        self._text(section, index, "name", Camera)
        self._floor_choice(section, index)
        self._text(section, index, "source", Camera)
        self._text(section, index, "substream", Camera, optional=True)
        self._text(section, index, "credentials", Camera, optional=True)
        buttons = QHBoxLayout()
        connection = QPushButton("Stream and connection test…")
        connection.clicked.connect(lambda: self.connection_requested.emit(index))
        calibrate = QPushButton("Calibrate…")
        calibrate.clicked.connect(lambda: self.calibration_requested.emit(index))
        buttons.addWidget(connection)
        buttons.addWidget(calibrate)
        self.layout_.addLayout(buttons)
        self.calibration_note = QLabel()
        self.calibration_note.setWordWrap(True)
        self.layout_.addWidget(self.calibration_note)

    def _floor(self, index: int) -> None:
        section = "floors"
        item = self.draft.get((section, index)) or {}
        self.heading.setText(f"Floor: {item.get('name', '')}")
        self._id_field(section, index, "Id")
        self._text(section, index, "name", Floor)
        self._text(section, index, "plan", Floor)
        title, help_text = field_help(Floor, "metres_per_pixel")
        self._add(
            "metres_per_pixel",
            NumberField(
                self.draft,
                (section, index, "metres_per_pixel"),
                title,
                tooltip=help_text,
                what="scale",
            ),
        )
        buttons = QHBoxLayout()
        image = QPushButton("Replace the plan image…")
        image.clicked.connect(lambda: self.plan_image_requested.emit(str(item.get("id"))))
        scale = QPushButton("Set the scale by a line…")
        scale.clicked.connect(self.scale_requested)
        buttons.addWidget(image)
        buttons.addWidget(scale)
        self.layout_.addLayout(buttons)

    # -- what is worked out, refreshed at each change --------------------------------------

    def _refresh_extras(self) -> None:
        if self.key is None:
            return
        section, index = self.key
        item = self.draft.get(self.key)
        if not isinstance(item, dict):
            return
        if section == "protected_objects":
            self._outline_rows(index)
        elif section == "zones":
            hours = item.get("opening_hours")
            self.own_hours.setText(
                "Own opening hours: "
                + (
                    ", ".join(f"{k} {v}" for k, v in hours.items() if k != "exceptions")
                    if isinstance(hours, dict) and hours
                    else "none, the site's (set them on the Hours and rules tab)"
                )
            )
            own, everyone = self._zone_routes(str(item.get("id")))
            for (severity, dest), check in self.route_boxes.items():
                check.setChecked(dest in own.get(severity, set()))
            self.routes_note.setText(
                "Routes of every zone, also used: " + ("; ".join(everyone) or "none")
            )
        elif section == "cameras":
            calibration = item.get("calibration")
            if isinstance(calibration, dict):
                pairs = points(calibration.get("image")) or []
                self.calibration_note.setText(f"Calibrated with {len(pairs)} point pairs")
            else:
                self.calibration_note.setText(
                    "Not calibrated: proximity is judged in the image; no view cone on the plan"
                )
