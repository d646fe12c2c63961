"""The watch list in the console window: who is followed, where they were last seen, why, by
whose word, and the way to stop following them.

    view = WatchListView(desk, site)
    bridge.behaviour_changed.connect(view.show_view)   # the core's BehaviourView, on each change
    view.person_selected.connect(plan.focus_watched)   # their floor, their way drawn bolder
    view.ask_unwatch()                                 # U or the button: why? then the core

The list only shows and asks. Taking a person off the list is an `UnwatchPerson` action posted
through the `ShiftDesk` to the core, which checks the role, refuses a missing reason and audits
who and why (`behaviour.unwatch`); the row and the person's way on the floor plan go when the
core's next view arrives without them. Entries that expire (the watch list and the appearance
vectors behind it are kept for a bounded time only) leave the same way, by themselves. A refusal
is said in the dialog, under the list and in the status line.
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.actions import ActionAnswer
from console.behaviour.actions import UnwatchPerson
from console.behaviour.model import BehaviourView, WatchedPerson
from console.site_file import Site
from console.store import SYSTEM_USER
from ui.shift import ShiftDesk
from ui.theme import PALETTE

__all__ = ["UNWATCH_KEY", "UnwatchDialog", "WatchListView", "ago", "duration"]

UNWATCH_KEY = "U"  # acts while the list has the focus (the queue's A, D, G, R, N are the queue's)
EMPTY_TEXT = "Nobody is on the watch list."


def ago(seconds: float) -> str:
    """A short age in words: "now" (under 3 s), else its `duration`."""
    return "now" if seconds < 3 else duration(seconds)


def duration(seconds: float) -> str:
    """A short span in words: "2 s", "40 s", "3 min", "1 h 5 min"."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


class UnwatchDialog(QDialog):
    """Why is this person no longer to be watched? The answer is the core's: the dialog closes
    when the person is off the list and says the refusal when not."""

    submit_requested = Signal(str, str)  # visitor id, reason

    def __init__(self, person: WatchedPerson, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.person = person
        self.setWindowTitle(f"Stop watching {person.label}")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        self.reason_edit = QLineEdit()
        self.reason_edit.setPlaceholderText("why (audited with your name)")
        self.reason_edit.setAccessibleName("reason for taking them off the watch list")
        self.said = QLabel("")
        self.said.setWordWrap(True)
        self.said.setStyleSheet(f"color: {PALETTE.offline};")
        self.said.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.unwatch_button = self.buttons.addButton(
            "Unwatch", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.buttons.rejected.connect(self.reject)
        self.buttons.accepted.connect(self.submit)
        form = QFormLayout(self)
        why = QLabel(f"{person.label}: on the watch list because “{person.reason}”")
        why.setWordWrap(True)
        form.addRow(why)
        form.addRow("Reason", self.reason_edit)
        form.addRow(self.said)
        form.addRow(self.buttons)

    @Slot()
    def submit(self) -> None:
        self.unwatch_button.setEnabled(False)
        self.said.hide()
        self.submit_requested.emit(self.person.visitor_id, self.reason_edit.text())

    def answered(self, answer: ActionAnswer) -> None:
        if answer.ok:
            self.accept()
            return
        self.unwatch_button.setEnabled(True)
        self.said.setText(f"⚠ {answer.refusal or 'refused'}")
        self.said.show()


class WatchListView(QWidget):
    """The people on the watch list, one row each, in the order they were added."""

    COLUMNS = ("Person", "Last seen", "Since", "Reason", "Added by", "Path")
    person_selected = Signal(object)  # WatchedPerson, or None when the selection went
    person_activated = Signal(object)  # Enter or a double click: show their camera
    message = Signal(str)  # for the status line

    def __init__(self, desk: ShiftDesk, site: Site, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.desk = desk
        self.site = site
        self.setObjectName("watch_list")
        self.setAccessibleName("watch list")
        self.view: BehaviourView | None = None
        self.people: tuple[WatchedPerson, ...] = ()
        self.dialog: UnwatchDialog | None = None
        self._selected_id: str | None = None

        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)  # the reason
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.table.itemActivated.connect(lambda _item: self._activate())
        self.empty = QLabel(EMPTY_TEXT)
        self.empty.setStyleSheet(f"color: {PALETTE.muted};")
        self.said = QLabel("")
        self.said.setObjectName("watch_list_said")
        self.said.setWordWrap(True)
        self.said.hide()

        self.unwatch_action = QAction("&Unwatch…", self)
        self.unwatch_action.setShortcut(QKeySequence(UNWATCH_KEY))
        self.unwatch_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.unwatch_action.setToolTip(
            f"Take the selected person off the watch list ({UNWATCH_KEY}); asks why"
        )
        self.unwatch_action.triggered.connect(lambda _checked=False: self.ask_unwatch())
        self.addAction(self.unwatch_action)
        self.unwatch_button = QPushButton(f"Unwatch… ({UNWATCH_KEY})")
        self.unwatch_button.setToolTip(self.unwatch_action.toolTip())
        self.unwatch_button.clicked.connect(self.unwatch_action.trigger)
        self.show_button = QPushButton("Show camera (Enter)")
        self.show_button.setToolTip("Bring the camera that sees them (or saw them last) up")
        self.show_button.clicked.connect(self._activate)

        buttons = QHBoxLayout()
        buttons.addWidget(self.show_button)
        buttons.addWidget(self.unwatch_button)
        buttons.addStretch(1)
        column = QVBoxLayout(self)
        column.setContentsMargins(6, 4, 6, 4)
        column.addWidget(self.empty)
        column.addWidget(self.table, 1)
        column.addWidget(self.said)
        column.addLayout(buttons)
        self._fill()

    # -- what the core says --------------------------------------------------------------------

    @Slot(object)
    def show_view(self, view: BehaviourView) -> None:
        """The core's newest view of the watch list (its order: who was added first)."""
        self.view = view
        self.people = view.watched
        self._fill()

    def set_site(self, site: Site) -> None:
        """An edited site: cameras and rooms named from it."""
        self.site = site
        self._fill()

    def row_texts(self) -> list[tuple[str, ...]]:
        """What each row says, column by column (for tests and screen readers)."""
        return [
            tuple(
                (item.text() if (item := self.table.item(row, c)) is not None else "")
                for c in range(self.table.columnCount())
            )
            for row in range(self.table.rowCount())
        ]

    def _fill(self) -> None:
        keep = self._selected_id
        self.table.blockSignals(True)
        self.table.setRowCount(len(self.people))
        at = self.view.at if self.view is not None else None
        for row, person in enumerate(self.people):
            for column, text in enumerate(self._texts(person, at)):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, person.visitor_id)
                item.setToolTip(self._tooltip(person))
                self.table.setItem(row, column, item)
        self.table.clearSelection()
        for row, person in enumerate(self.people):
            if person.visitor_id == keep:
                self.table.selectRow(row)
        self.table.blockSignals(False)
        self.table.resizeRowsToContents()
        self.empty.setText(self._empty_text())
        self.empty.setVisible(not self.people)
        self.table.setVisible(bool(self.people))
        gone = keep is not None and self.selected() is None
        self._selected_id = keep if not gone else None
        self._enable()
        if gone:  # taken off or expired: the plan no longer shows them as selected
            self.person_selected.emit(None)
        # the same person still selected: nothing is emitted, so the plan is not centred on
        # them again with every view (the operator may have panned it); it redraws their newer
        # way from the same view itself

    def _empty_text(self) -> str:
        if self.view is not None and not self.view.enabled:
            return f"Behaviour learning is {self.view.status}: nobody is watched."
        return EMPTY_TEXT

    def _texts(self, person: WatchedPerson, at: datetime | None) -> tuple[str, ...]:
        tz = self.site.tz
        camera = person.cameras_now[0] if person.cameras_now else person.last_camera
        if camera is None:
            last_seen = "not placed on a camera yet"
        else:
            place = self._name(camera)
            room = self._name(person.last_room) if person.last_room is not None else None
            if room is not None and room != place:  # "East gallery" camera in the East gallery
                place = f"{place} · {room}"
            if person.cameras_now:
                when = "now"
            elif at is not None:
                when = f"{ago((at - person.last_seen_at).total_seconds())} ago"
            else:
                when = f"at {person.last_seen_at.astimezone(tz):%H:%M:%S}"
            last_seen = f"{place}, {when}"
        since = f"{person.added_at.astimezone(tz):%H:%M:%S}"
        if at is not None:
            since += f" ({ago((at - person.added_at).total_seconds())})"
        added_by = "system (advisory)" if person.added_by == SYSTEM_USER else person.added_by
        path_age = person.path_age_s
        path = "none on the plan" if path_age is None else f"last {duration(path_age)}"
        return (person.label, last_seen, since, person.reason, added_by, path)

    def _tooltip(self, person: WatchedPerson) -> str:
        lines = [f"{person.label}: {person.reason}"]
        if person.advisory and person.advisory != person.reason:
            lines.append(f"advisory: {person.advisory}")
        lines.append(f"expires {person.expires_at.astimezone(self.site.tz):%H:%M:%S}")
        lines.append("Enter: show their camera · U: unwatch (asks why)")
        return "\n".join(lines)

    def _name(self, place_id: str) -> str:
        for items in (self.site.cameras, self.site.zones):
            for item in items:
                if item.id == place_id:
                    return str(item.name)
        return place_id

    # -- selection -----------------------------------------------------------------------------

    def selected(self) -> WatchedPerson | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self.people):
            return None
        return self.people[rows[0].row()]

    def select(self, visitor_id: str) -> bool:
        """Select a person's row (as a click would); False when they are not on the list."""
        for row, person in enumerate(self.people):
            if person.visitor_id == visitor_id:
                self.table.selectRow(row)
                return True
        return False

    def _selection_changed(self) -> None:
        person = self.selected()
        self._selected_id = person.visitor_id if person is not None else None
        self._enable()
        self.person_selected.emit(person)

    def _enable(self) -> None:
        chosen = self.selected() is not None
        self.unwatch_action.setEnabled(chosen)
        self.unwatch_button.setEnabled(chosen)
        self.show_button.setEnabled(chosen)

    def _activate(self) -> None:
        person = self.selected()
        if person is not None:
            self.person_activated.emit(person)

    # -- taking a person off -------------------------------------------------------------------

    def ask_unwatch(self) -> UnwatchDialog | None:
        """Ask why the selected person is no longer to be watched (a dialog that does not
        block); None when nobody is selected."""
        person = self.selected()
        if person is None:
            self._say("Select a person on the watch list first.", error=True)
            return None
        if self.dialog is not None:
            self.dialog.close()
        dialog = UnwatchDialog(person, self.window())
        dialog.submit_requested.connect(self.unwatch)
        dialog.finished.connect(lambda _result, d=dialog: self._dialog_gone(d))
        self.dialog = dialog
        dialog.open()
        return dialog

    def _dialog_gone(self, dialog: UnwatchDialog) -> None:
        if self.dialog is dialog:
            self.dialog = None

    @Slot(str, str)
    def unwatch(self, visitor_id: str, reason: str) -> None:
        """Post `UnwatchPerson` to the core; its answer is said here (and in the dialog)."""
        action = UnwatchPerson(self.desk.user or "", visitor_id, reason)
        self.desk.ask(action, lambda answer: self._unwatched(visitor_id, answer))

    def _unwatched(self, visitor_id: str, answer: ActionAnswer) -> None:
        label = visitor_id.replace("-", " ", 1)
        if answer.ok:
            self._say(f"{label} is off the watch list (audited)", error=False)
        else:
            self._say(f"{label} not taken off: {answer.refusal or 'refused'}", error=True)
        dialog = self.dialog
        if dialog is not None and dialog.person.visitor_id == visitor_id:
            dialog.answered(answer)

    def _say(self, text: str, *, error: bool) -> None:
        self.said.setStyleSheet(f"color: {PALETTE.offline if error else PALETTE.muted};")
        self.said.setText(f"⚠ {text}" if error else text)
        self.said.show()
        self.message.emit(text)
