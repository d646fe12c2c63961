"""The site editor: the supervisor's window over a copy of the site the console runs.

    ┌ Select · Zone · Object · Camera · Scale │ Undo · Redo │ Floor ▾ · Add floor… │ Save · Revert
    │ refusal banner (a save refused: why)
    │ [Plan] plan canvas (ui.site_editor.canvas)   │ side panel: the selected item's fields
    │ [Hours and rules] ui.site_editor.schedule
    │ [Try before arming] ui.site_editor.try_rules_view
    │ Problems (dock): what `nightwatch check` says of the edit now, and its warnings
    └ status line

The editor edits a draft (`ui.site_editor.draft`): nothing reaches the console or the file
until Save, every edit is undoable, and the check `nightwatch check` runs is run after each
edit, off the GUI thread, its problems shown where they are. Save posts the edited text to the
core (`console.site_actions.ApplySite`, the supervisor's act), which checks it again, keeps the
previous version, writes it atomically, records who changed what, and applies it to the
running console without a restart; the answer comes back here. An edit with problems is
refused, saying why, and nothing is written. Revert starts again from the file; closing with
unsaved edits asks first.

The camera dialogs (stream and connection test, calibration, outlines) read a camera's live
picture from its frame ring while the console runs it, else open its stream off the GUI thread
(`ui.site_editor.frames`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QFileDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from console.actions import ActionAnswer
from console.runtime import SiteNotice, SiteRuntime
from console.site_actions import ApplySite
from console.site_apply import SaveReport
from console.site_file import SiteFileError, read_site_text
from inference.worker_pool import DetectorSpec
from ui.bridge import PipelineBridge
from ui.shift import ShiftDesk
from ui.site_editor.calibration_view import CalibrationDialog
from ui.site_editor.camera_dialog import CameraDialog
from ui.site_editor.canvas import PlanCanvas, Tool
from ui.site_editor.draft import DraftCheck, SiteDraft, item_of_problem
from ui.site_editor.frames import FrameGrabber, Grab, live_frame
from ui.site_editor.item_panel import ItemPanel
from ui.site_editor.outline_dialog import OutlineDialog
from ui.site_editor.plan_import import PlanImportError, import_plan
from ui.site_editor.schedule import ScheduleEditor
from ui.site_editor.try_rules_view import TryRulesPanel
from ui.theme import PALETTE

log = logging.getLogger(__name__)

__all__ = ["ScaleDialog", "SiteEditorWindow"]


class ScaleDialog(QDialog):
    """The length, in metres, of the line just drawn on the plan."""

    def __init__(self, length_px: float, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Scale of the plan")
        self.length_px = length_px
        self.metres = QLineEdit()
        self.metres.setAccessibleName("length in metres")
        self.metres.setPlaceholderText("e.g. 12.5")
        self.said = QLabel(f"The line is {length_px:.0f} px long on the plan. How long is it?")
        self.said.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("Length, metres", self.metres)
        layout = QVBoxLayout(self)
        layout.addWidget(self.said)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def value_m(self) -> float | None:
        try:
            value = float(self.metres.text().replace(",", ".").strip())
        except ValueError:
            return None
        return value if 0 < value < 100_000 else None

    def _accept(self) -> None:
        if self.value_m() is None:
            self.said.setText("⚠ A length in metres, more than 0 (e.g. 12.5)")
            return
        self.accept()


class SiteEditorWindow(QMainWindow):
    """See the module doc."""

    message = Signal(str)  # for the console's status line

    def __init__(
        self,
        runtime: SiteRuntime,
        desk: ShiftDesk,
        bridge: PipelineBridge,
        *,
        detector: DetectorSpec | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setObjectName("SiteEditor")
        self.runtime = runtime
        self.desk = desk
        self.bridge = bridge
        self.site_path: Path | None = runtime.site_desk.path
        path = self.site_path or runtime.site.base_dir / "site.yaml"
        text, note = self._read(path)
        self.draft = SiteDraft(path, text, parent=self)
        self.dialog: QDialog | None = None
        self.question: QMessageBox | None = None
        self.saving = False
        self.last_save: SaveReport | None = None
        self._close_after_save = False
        self._closing = False
        self._frame_wanted: tuple[str, Callable[[np.ndarray], None]] | None = None
        self.grabber = FrameGrabber(self)
        self.grabber.grabbed.connect(self._grabbed)

        self.canvas = PlanCanvas(self.draft)
        self.panel = ItemPanel(self.draft)
        self.schedule = ScheduleEditor(self.draft)
        self.trial = TryRulesPanel(self.draft, detector=detector)
        plan_page = QSplitter()
        plan_page.addWidget(self.canvas)
        plan_page.addWidget(self.panel)
        plan_page.setStretchFactor(0, 3)
        plan_page.setStretchFactor(1, 1)
        self.tabs = QTabWidget()
        self.tabs.addTab(plan_page, "Plan")
        self.tabs.addTab(self.schedule, "Hours and rules")
        self.tabs.addTab(self.trial, "Try before arming")
        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setObjectName("editor_banner")
        self.banner.setStyleSheet(
            f"QLabel {{ color: {PALETTE.text}; background: {PALETTE.surface_raised};"
            f" border: 2px solid {PALETTE.offline}; padding: 6px; }}"
        )
        self.banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner.hide()
        centre = QWidget()
        column = QVBoxLayout(centre)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.banner)
        column.addWidget(self.tabs, 1)
        self.setCentralWidget(centre)
        self.problems = QListWidget()
        self.problems.setAccessibleName("problems of the edit")
        self.problems.itemActivated.connect(self._problem_chosen)
        self.problems.itemClicked.connect(self._problem_chosen)
        dock = QDockWidget("Problems", self)
        dock.setObjectName("dock-problems")
        dock.setWidget(self.problems)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        self.resizeDocks([dock], [130], Qt.Orientation.Vertical)
        self.problem_count = QLabel()
        self.statusBar().addPermanentWidget(self.problem_count)
        self._build_tools()

        self.canvas.selection_changed.connect(self._selected)
        self.canvas.message.connect(self.say)
        self.canvas.camera_placed.connect(self.add_camera)
        self.canvas.scale_line_drawn.connect(self.ask_scale)
        self.panel.connection_requested.connect(self.edit_connection)
        self.panel.calibration_requested.connect(self.calibrate)
        self.panel.outline_requested.connect(self.outline)
        self.panel.plan_image_requested.connect(self.choose_plan_image)
        self.panel.scale_requested.connect(lambda: self.set_tool(Tool.SCALE))
        self.draft.checked.connect(self._checked)
        self.draft.changed.connect(self._changed)
        self.draft.stack.cleanChanged.connect(lambda _clean: self._title())
        bridge.site_notice.connect(self._site_notice)

        self._fill_floors()
        floors = self.draft.ids("floors")
        self.show_floor(floors[0] if floors else None)
        self._title()
        self.resize(1600, 950)
        if note:
            self._banner(f"The site file does not load as it is: {note}. Put it right here.")
        if self.site_path is None:
            self._banner(
                "This console was started without its site file: the edit can be tried but not "
                "saved here (start it with `nightwatch run SITE`)."
            )

    @staticmethod
    def _read(path: Path) -> tuple[str, str | None]:
        try:
            return read_site_text(path), None
        except SiteFileError as exc:
            return "", "; ".join(exc.problems)

    # -- tools -----------------------------------------------------------------------------

    def _build_tools(self) -> None:
        bar = QToolBar("Site editor")
        bar.setObjectName("editor-tools")
        bar.setMovable(False)
        self.addToolBar(bar)
        self.tool_actions: dict[Tool, QAction] = {}
        group = QActionGroup(self)
        for tool, words, key in (
            (Tool.SELECT, "Select", "S"),
            (Tool.ZONE, "Zone", "Z"),
            (Tool.OBJECT, "Object", "O"),
            (Tool.CAMERA, "Camera", "C"),
            (Tool.SCALE, "Scale", "L"),
        ):
            action = QAction(words, self)
            action.setCheckable(True)
            action.setShortcut(QKeySequence(key))
            action.setToolTip(f"{words} ({key})")
            action.triggered.connect(lambda _c=False, t=tool: self.set_tool(t))
            group.addAction(action)
            bar.addAction(action)
            self.tool_actions[tool] = action
        self.tool_actions[Tool.SELECT].setChecked(True)
        bar.addSeparator()
        self.undo_action = self.draft.stack.createUndoAction(self, "Undo")
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.redo_action = self.draft.stack.createRedoAction(self, "Redo")
        self.redo_action.setShortcuts(
            [
                QKeySequence(QKeySequence.StandardKey.Redo),
                QKeySequence("Ctrl+Shift+Z"),
                QKeySequence("Ctrl+Y"),
            ]
        )
        bar.addAction(self.undo_action)
        bar.addAction(self.redo_action)
        bar.addSeparator()
        bar.addWidget(QLabel(" Floor: "))
        self.floor_box = QComboBox()
        self.floor_box.setAccessibleName("floor")
        self.floor_box.activated.connect(
            lambda index: self.show_floor(self.floor_box.itemData(index))
        )
        bar.addWidget(self.floor_box)
        add_floor = QAction("Add floor…", self)
        add_floor.triggered.connect(self.choose_new_floor)
        bar.addAction(add_floor)
        self.snap = QCheckBox("Snap to grid (0.25 m)")
        self.snap.toggled.connect(lambda on: setattr(self.canvas, "snap_to_grid", on))
        bar.addWidget(self.snap)
        bar.addSeparator()
        self.save_action = QAction("Save", self)
        self.save_action.setShortcut(QKeySequence.StandardKey.Save)
        self.save_action.triggered.connect(self.save)
        self.revert_action = QAction("Revert", self)
        self.revert_action.triggered.connect(self.revert)
        bar.addAction(self.save_action)
        bar.addAction(self.revert_action)

    def set_tool(self, tool: Tool) -> None:
        self.tool_actions[tool].setChecked(True)
        self.tabs.setCurrentIndex(0)
        self.canvas.set_tool(tool)
        self.canvas.setFocus()

    # -- floors ----------------------------------------------------------------------------

    def _fill_floors(self) -> None:
        current = self.floor_box.currentData()
        self.floor_box.blockSignals(True)
        self.floor_box.clear()
        for floor in self.draft.items("floors"):
            self.floor_box.addItem(str(floor.get("name") or floor.get("id")), floor.get("id"))
        index = self.floor_box.findData(current)
        self.floor_box.setCurrentIndex(max(0, index))
        self.floor_box.blockSignals(False)

    def show_floor(self, floor_id: str | None) -> None:
        index = self.floor_box.findData(floor_id)
        if index >= 0:
            self.floor_box.setCurrentIndex(index)
        self.canvas.set_floor(floor_id)
        if self.canvas.selected is None:
            self.panel.show_item(None, floor_id)

    def choose_new_floor(self) -> None:
        found, _ = QFileDialog.getOpenFileName(
            self, "The new floor's plan", "", "Plans (*.png *.jpg *.jpeg *.pdf *.svg)"
        )
        if found:
            self.add_floor(Path(found))

    def add_floor(self, plan: Path, name: str | None = None) -> str | None:
        """A new floor with this plan (PDF and SVG rendered to PNG); its scale is then set by a
        line of known length."""
        floor_id = self.draft.new_id("floors", "floor")
        try:
            relative, size = import_plan(plan, self.draft.path.resolve().parent, floor_id)
        except (PlanImportError, OSError) as exc:
            self.say(f"Refused: the plan cannot be used: {exc}")
            return None
        number = floor_id.rsplit("-", 1)[1]
        self.draft.insert_item(
            ("floors",),
            {
                "id": floor_id,
                "name": name or f"Floor {number}",
                "plan": relative,
                "metres_per_pixel": 0.02,
            },
            f"add floor {floor_id}",
        )
        self._fill_floors()
        self.show_floor(floor_id)
        self.say(
            f"Floor {floor_id} added ({size[0]} x {size[1]} px): now set its scale: drag a line "
            "along a wall of known length (Scale)"
        )
        self.set_tool(Tool.SCALE)
        return floor_id

    def choose_plan_image(self, floor_id: str) -> None:
        found, _ = QFileDialog.getOpenFileName(
            self, "The floor's plan", "", "Plans (*.png *.jpg *.jpeg *.pdf *.svg)"
        )
        if found:
            self.replace_plan(floor_id, Path(found))

    def replace_plan(self, floor_id: str, plan: Path) -> None:
        index = self.draft.index_of("floors", floor_id)
        if index is None:
            return
        try:
            relative, size = import_plan(plan, self.draft.path.resolve().parent, floor_id)
        except (PlanImportError, OSError) as exc:
            self.say(f"Refused: the plan cannot be used: {exc}")
            return
        self.draft.set_value(("floors", index, "plan"), relative, f"plan image of {floor_id}")
        self.say(f"Plan of {floor_id} replaced ({size[0]} x {size[1]} px): check its scale")

    def ask_scale(self, floor_id: str, length_px: float) -> None:
        dialog = ScaleDialog(length_px, self)
        dialog.accepted.connect(lambda: self._scaled(floor_id, length_px, dialog))
        self._open(dialog)

    def _scaled(self, floor_id: str, length_px: float, dialog: ScaleDialog) -> None:
        metres = dialog.value_m()
        index = self.draft.index_of("floors", floor_id)
        if metres is None or index is None:
            return
        mpp = round(metres / length_px, 6)
        self.draft.set_value(
            ("floors", index, "metres_per_pixel"), mpp, f"scale of {floor_id}: {mpp:g} m/px"
        )
        self.say(f"Scale of {floor_id}: {mpp:g} m per pixel ({metres:g} m over {length_px:.0f} px)")
        self.set_tool(Tool.SELECT)

    # -- selection and the panel -----------------------------------------------------------

    def _selected(self, key: tuple[str, int] | None) -> None:
        self.panel.show_item(key, self.canvas.floor_id)

    def _changed(self) -> None:
        self._fill_floors()
        floors = self.draft.ids("floors")
        if self.canvas.floor_id not in floors:
            self.show_floor(floors[0] if floors else None)
        self._title()

    def _title(self) -> None:
        name = self.draft.get(("site", "name")) or "site"
        star = " · unsaved edits" if self.draft.dirty else ""
        where = self.site_path or "(no site file)"
        self.setWindowTitle(f"Site editor · {name} · {where}{star}")
        self.save_action.setEnabled(not self.saving and self.site_path is not None)

    # -- the check -------------------------------------------------------------------------

    def _checked(self, check: DraftCheck) -> None:
        self.problems.clear()
        for problem in check.problems:
            item = QListWidgetItem(f"⚠ {problem.path}: {problem.message}")
            item.setForeground(PALETTE.qcolor("offline"))
            item.setData(Qt.ItemDataRole.UserRole, problem)
            self.problems.addItem(item)
        for line in check.warnings:
            item = QListWidgetItem(f"warning: {line.split(': warning: ', 1)[-1]}")
            item.setForeground(PALETTE.qcolor("stalled"))
            self.problems.addItem(item)
        count = len(check.problems)
        self.problem_count.setText(
            f"{count} problem(s)" if count else f"no problems · {len(check.warnings)} warning(s)"
        )
        self.problem_count.setStyleSheet(f"color: {PALETTE.offline};" if count else "")
        if count == 0 and self.banner.isVisible() and self.banner.property("kind") == "refused":
            self.banner.hide()

    def _problem_chosen(self, item: QListWidgetItem) -> None:
        problem = item.data(Qt.ItemDataRole.UserRole)
        if problem is None:
            return
        found = item_of_problem(problem)
        if found is not None:
            self.tabs.setCurrentIndex(0)
            self.canvas.select(found)
            self.floor_box.setCurrentIndex(max(0, self.floor_box.findData(self.canvas.floor_id)))
        elif problem.path.startswith(("opening_hours", "rules", "alarms", "alert_routes", "site")):
            self.tabs.setCurrentIndex(1)

    # -- messages --------------------------------------------------------------------------

    def say(self, text: str) -> None:
        self.statusBar().showMessage(text, 12000)

    def _banner(self, text: str, kind: str = "note") -> None:
        self.banner.setText(text)
        self.banner.setProperty("kind", kind)
        self.banner.show()

    def _site_notice(self, notice: SiteNotice) -> None:
        if notice.kind == "applied":
            self.say(f"The console runs the edited site: {notice.text}")
        else:
            self._banner(f"The console refused an edit of the site file: {notice.text}")

    # -- cameras ---------------------------------------------------------------------------

    def add_camera(self, floor_id: str, x: float, y: float) -> None:
        camera_id = self.draft.new_id("cameras", "cam")
        camera = {
            "id": camera_id,
            "name": f"Camera {camera_id.rsplit('-', 1)[1]}",
            "floor": floor_id,
            "source": "",
            "plan_position": [x, y],
        }
        dialog = CameraDialog(
            camera,
            base_dir=self.draft.path.resolve().parent,
            taken_ids=set(self.draft.ids("cameras")),
            new=True,
            parent=self,
        )
        dialog.accepted.connect(lambda: self._camera_added(dialog))
        self._open(dialog)

    def _camera_added(self, dialog: CameraDialog) -> None:
        values = dialog.values()
        index = self.draft.insert_item(("cameras",), values, f"add camera {values.get('id')}")
        self.set_tool(Tool.SELECT)
        self.canvas.select(("cameras", index))

    def edit_connection(self, index: int) -> None:
        camera = self.draft.get(("cameras", index))
        if not isinstance(camera, dict):
            return
        others = {c for i, c in enumerate(self.draft.ids("cameras")) if i != index}
        dialog = CameraDialog(
            camera,
            base_dir=self.draft.path.resolve().parent,
            taken_ids=others,
            new=False,
            parent=self,
        )
        dialog.accepted.connect(lambda: self._connection_edited(index, dialog))
        self._open(dialog)

    def _connection_edited(self, index: int, dialog: CameraDialog) -> None:
        values = dialog.values()
        camera = self.draft.get(("cameras", index)) or {}
        with self.draft.macro(f"stream of camera {camera.get('id')}"):
            for key in ("name", "source", "substream", "credentials", "frame_size_px"):
                new = values.get(key)
                if new != camera.get(key):
                    from ui.site_editor.draft import MISSING

                    self.draft.set_value(
                        ("cameras", index, key), MISSING if new is None else new, key
                    )

    def _with_frame(self, camera_index: int, then: Callable[[np.ndarray], None]) -> None:
        """The camera's live picture: from its ring while the console runs it as edited, else
        from its stream, opened off the GUI thread."""
        camera = self.draft.get(("cameras", camera_index))
        if not isinstance(camera, dict):
            return
        camera_id = str(camera.get("id"))
        running = self._running_camera(camera_id)
        if (
            running is not None
            and running.source == camera.get("source")
            and (running.substream == camera.get("substream"))
        ):
            frame = live_frame(self.runtime.pipeline.rings, camera_id)
            if frame is not None:
                then(frame)
                return
        source = str(camera.get("substream") or camera.get("source") or "")
        self.say(f"Opening camera {camera_id} for a picture…")
        self._frame_wanted = (source, then)
        self.grabber.grab(
            source,
            credentials=camera.get("credentials"),
            base_dir=self.draft.path.resolve().parent,
        )

    def _running_camera(self, camera_id: str) -> Any:
        try:
            return self.runtime.site.camera(camera_id)
        except KeyError:
            return None

    def _grabbed(self, grab: Grab) -> None:
        wanted, self._frame_wanted = self._frame_wanted, None
        if wanted is None or wanted[0] != grab.source:
            return
        if grab.image is None:
            self.say(f"Refused: no picture from the camera: {grab.reason}")
            self._banner(f"No picture from the camera ({grab.reason}): check its stream first")
            return
        wanted[1](grab.image)

    def calibrate(self, index: int) -> None:
        camera = self.draft.get(("cameras", index)) or {}
        camera_id = str(camera.get("id"))

        def open_with(frame: np.ndarray) -> None:
            rings = self.runtime.pipeline.rings
            dialog = CalibrationDialog(
                self.draft,
                index,
                frame,
                live=(lambda: live_frame(rings, camera_id))
                if self._running_camera(camera_id) is not None
                else None,
                parent=self,
            )
            self._open(dialog)

        self._with_frame(index, open_with)

    def outline(self, object_index: int, camera_id: str) -> None:
        camera_index = self.draft.index_of("cameras", camera_id)
        if camera_index is None:
            self.say(f"Refused: there is no camera {camera_id!r} in the site")
            return

        def open_with(frame: np.ndarray) -> None:
            self._open(OutlineDialog(self.draft, object_index, camera_id, frame, parent=self))

        self._with_frame(camera_index, open_with)

    def _open(self, dialog: QDialog) -> None:
        if self.dialog is not None:
            self.dialog.reject()
        self.dialog = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(lambda _r: self._dialog_done(dialog))
        dialog.open()

    def _dialog_done(self, dialog: QDialog) -> None:
        if self.dialog is dialog:
            self.dialog = None

    # -- save, revert, close ---------------------------------------------------------------

    @Slot()
    def save(self) -> None:
        """Post the edit to the core (refused here at once when the check found problems)."""
        if self.saving:
            return
        user = self.desk.user
        if user is None:
            self._banner("Not saved: nobody is signed in", "refused")
            return
        if self.site_path is None:
            self._banner("Not saved: this console was started without its site file", "refused")
            return
        if not self.draft.dirty:
            self.say("Nothing to save: no edit since the site file was opened or saved")
            return
        text = self.draft.text()
        check = self.draft.last_check
        if check is not None and check.text == text and not check.ok:
            self._refused(tuple(p.line for p in check.problems))
            return
        self.saving = True
        self._title()
        self.say("Saving: the console checks the edit, keeps the previous version, writes it…")
        self.desk.ask(
            ApplySite(user, text, self.draft.opened_digest), lambda a: self._saved(a, text)
        )

    def _saved(self, answer: ActionAnswer, text: str) -> None:
        self.saving = False
        self._title()
        if not answer.ok:
            self._refused((answer.refusal or "refused",))
            return
        report = answer.value
        assert isinstance(report, SaveReport)
        self.last_save = report
        if report.problems:
            self._refused(report.problems)
            return
        self.banner.hide()
        self.draft.mark_saved(text)
        if report.unchanged:
            self.say("Nothing to save: the site file already holds this")
        else:
            kept = report.backup.name if report.backup is not None else "none (a new file)"
            self.say(
                f"Saved by {self.desk.user}; the previous version is kept as {kept}; the "
                "console applies it now, without a restart"
            )
            self.message.emit(f"Site saved by {self.desk.user}")
        self._title()
        if self._close_after_save:
            self.close()

    def _refused(self, problems: tuple[str, ...]) -> None:
        self._close_after_save = False
        file = str(self.draft.path)
        lines = [p.removeprefix(file + ": ") for p in problems]
        shown = "\n".join(f"• {line}" for line in lines[:12])
        more = f"\n… and {len(lines) - 12} more (see Problems)" if len(lines) > 12 else ""
        self._banner(
            f"Not saved, nothing was written: {len(lines)} problem(s)\n{shown}{more}", "refused"
        )
        self.say(f"Refused: not saved ({len(lines)} problem(s))")

    @Slot()
    def revert(self) -> None:
        """Drop every edit and start again from the site file (asks first)."""
        if not self.draft.dirty:
            self._revert_now()
            return
        self._ask(
            "Drop every unsaved edit and start again from the site file?",
            QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            lambda button: (
                self._revert_now() if button == QMessageBox.StandardButton.Discard else None
            ),
        )

    def _revert_now(self) -> None:
        text, note = self._read(self.draft.path)
        self.draft.reset(text)
        self.banner.hide()
        if note:
            self._banner(f"The site file does not load as it is: {note}")
        self.say("Reverted to the site file")

    def _ask(
        self,
        text: str,
        buttons: QMessageBox.StandardButton,
        then: Callable[[QMessageBox.StandardButton], None],
    ) -> None:
        box = QMessageBox(QMessageBox.Icon.Question, "Site editor", text, buttons, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def answered(button: Any) -> None:
            self.question = None
            then(box.standardButton(button))

        box.buttonClicked.connect(answered)
        self.question = box
        box.open()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.draft.dirty and not self._closing:
            event.ignore()
            self._ask(
                "The site has unsaved edits. Save them before closing?",
                QMessageBox.StandardButton.Save
                | QMessageBox.StandardButton.Discard
                | QMessageBox.StandardButton.Cancel,
                self._close_answered,
            )
            return
        self._shut_down()
        super().closeEvent(event)

    def _close_answered(self, button: QMessageBox.StandardButton) -> None:
        if button == QMessageBox.StandardButton.Save:
            self._close_after_save = True
            self._closing = True
            self._closing = False  # closes once saved (see _saved)
            self.save()
        elif button == QMessageBox.StandardButton.Discard:
            self._closing = True
            self.close()

    def close_for_console(self) -> None:
        """The console signs out or closes: unsaved edits are dropped, no question asked."""
        if self.draft.dirty:
            log.warning("site editor closed with the console: unsaved edits dropped")
        self._closing = True
        self.close()

    def _shut_down(self) -> None:
        if self.dialog is not None:
            self.dialog.reject()
        # the draft and its undo stack go with the window: nothing they say is shown any more
        self.draft.stack.blockSignals(True)
        self.draft.blockSignals(True)
        self.trial.close_panel()
        self.grabber.close()
        self.draft.close()

    @property
    def is_running(self) -> bool:
        return self.trial.running
