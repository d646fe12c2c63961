"""A supervisor's tools in the window: accounts, escalations, console settings.

Each dialog only shows and asks: every request goes through the desk to the core's service
layer, which checks the role again (a refusal is shown in words and audited there). The window
shows these tools only to a role that may use them.
"""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.account_actions import (
    AddAccount,
    DisableAccount,
    EnableAccount,
    ListAccounts,
    SetPassword,
)
from console.accounts import AccountView
from console.actions import ActionAnswer
from console.clock import Clock
from console.control_room import SETTING_LIMITS
from console.passwords import Password
from console.record_actions import ChangeSetting, ShowSettings, ViewEscalations
from console.roles import PERSON_ROLES
from console.store import Escalation
from ui.shift import ShiftDesk
from ui.theme import PALETTE

__all__ = ["EscalationsDialog", "SettingsDialog", "UsersDialog"]


class _Said(QLabel):
    def __init__(self) -> None:
        super().__init__()
        self.setWordWrap(True)
        self.setVisible(False)

    def say(self, text: str, *, error: bool) -> None:
        self.setStyleSheet(f"color: {PALETTE.offline if error else PALETTE.muted};")
        self.setText(f"⚠ {text}" if error else text)
        self.setVisible(True)


class UsersDialog(QDialog):
    """Every account; add one, disable or enable one, set a password."""

    COLUMNS = ("Name", "Role", "State", "Signed in at", "Created by")

    def __init__(self, desk: ShiftDesk, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.desk = desk
        self.setWindowTitle("Users")
        self.accounts: list[AccountView] = []
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.said = _Said()

        self.name_edit = QLineEdit()
        self.name_edit.setAccessibleName("new account's name")
        self.role_box = QComboBox()
        for role in PERSON_ROLES:
            self.role_box.addItem(role.value, role.value)
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setAccessibleName("password")
        self.repeat_edit = QLineEdit()
        self.repeat_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.repeat_edit.setAccessibleName("password again")
        form = QFormLayout()
        form.addRow("Name", self.name_edit)
        form.addRow("Role", self.role_box)
        form.addRow("Password", self.password_edit)
        form.addRow("Again", self.repeat_edit)

        self.add_button = QPushButton("Add account")
        self.add_button.clicked.connect(self.add_account)
        self.disable_button = QPushButton("Disable selected")
        self.disable_button.clicked.connect(lambda: self.set_disabled(True))
        self.enable_button = QPushButton("Enable selected")
        self.enable_button.clicked.connect(lambda: self.set_disabled(False))
        self.password_button = QPushButton("Set password of selected")
        self.password_button.clicked.connect(self.set_password)
        row = QHBoxLayout()
        for button in (
            self.add_button,
            self.disable_button,
            self.enable_button,
            self.password_button,
        ):
            row.addWidget(button)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.said)
        layout.addLayout(form)
        layout.addLayout(row)
        layout.addWidget(close)
        self.resize(720, 520)
        self.refresh()

    def _user(self) -> str:
        return self.desk.user or ""

    @Slot()
    def refresh(self) -> None:
        self.desk.ask(ListAccounts(self._user()), self._listed)

    def _listed(self, answer: ActionAnswer) -> None:
        if not answer.ok:
            self.said.say(answer.refusal or "refused", error=True)
            return
        self.accounts = list(answer.value)
        self.table.setRowCount(len(self.accounts))
        for r, a in enumerate(self.accounts):
            cells = (
                a.name,
                a.role.value,
                "disabled" if a.disabled else "enabled",
                ", ".join(a.signed_in_at),
                a.created_by or "",
            )
            for c, text in enumerate(cells):
                self.table.setItem(r, c, QTableWidgetItem(text))

    def _selected(self) -> str | None:
        row = self.table.currentRow()
        return self.accounts[row].name if 0 <= row < len(self.accounts) else None

    def _passwords(self) -> Password | None:
        if self.password_edit.text() != self.repeat_edit.text():
            self.said.say("the two passwords differ", error=True)
            return None
        password = Password(self.password_edit.text())
        self.password_edit.clear()
        self.repeat_edit.clear()
        return password

    @Slot()
    def add_account(self) -> None:
        password = self._passwords()
        if password is None:
            return
        name = self.name_edit.text().strip()
        role = str(self.role_box.currentData())
        self.desk.ask(AddAccount(self._user(), name, role, password), self._changed)

    def set_disabled(self, disabled: bool) -> None:
        name = self._selected()
        if name is None:
            self.said.say("select an account first", error=True)
            return
        action = (DisableAccount if disabled else EnableAccount)(self._user(), name)
        self.desk.ask(action, self._changed)

    @Slot()
    def set_password(self) -> None:
        name = self._selected()
        if name is None:
            self.said.say("select an account first", error=True)
            return
        password = self._passwords()
        if password is not None:
            self.desk.ask(SetPassword(self._user(), name, password), self._changed)

    def _changed(self, answer: ActionAnswer) -> None:
        if not answer.ok:
            self.said.say(answer.refusal or "refused", error=True)
            return
        action = answer.action
        name = getattr(action, "name", "")
        self.said.say(f"{action.verb}: {name} — done", error=False)
        if isinstance(action, AddAccount):
            self.name_edit.clear()
        self.refresh()


class EscalationsDialog(QDialog):
    """Alarms that escalated and still-there checks nobody answered, in the last `hours`."""

    def __init__(
        self, desk: ShiftDesk, clock: Clock, hours: float = 24.0, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.desk = desk
        self.setWindowTitle(f"Escalations in the last {hours:g} h")
        self.list = QListWidget()
        self.list.setAccessibleName("escalations")
        self.said = _Said()
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.said)
        layout.addWidget(close)
        self.resize(640, 420)
        since = clock.now() - timedelta(hours=hours)
        self.desk.ask(ViewEscalations(desk.user or "", since), self._shown)

    def _shown(self, answer: ActionAnswer) -> None:
        if not answer.ok:
            self.said.say(answer.refusal or "refused", error=True)
            return
        found: list[Escalation] = list(answer.value)
        for e in found:
            self.list.addItem(escalation_line(e))
        if not found:
            self.said.say("Nothing escalated.", error=False)


def escalation_line(e: Escalation) -> str:
    when = f"{e.at.astimezone():%Y-%m-%d %H:%M:%S}"
    if e.what == "alarm":
        d = e.detail
        after = f" after {d['after_s']:g} s unacknowledged" if "after_s" in d else ""
        place = d.get("subject") or "-"
        return f"{when}  {e.target}: {d.get('rule')} at {place} ({d.get('camera')}){after}"
    return f"{when}  still-there check not answered at {e.target}"


class SettingsDialog(QDialog):
    """The console settings (today: the inactivity lock)."""

    def __init__(self, desk: ShiftDesk, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.desk = desk
        self.setWindowTitle("Console settings")
        low, high, words = SETTING_LIMITS["lock_after_min"]
        self.lock_box = QDoubleSpinBox()
        self.lock_box.setRange(low, high)
        self.lock_box.setDecimals(1)
        self.lock_box.setSuffix(" min")
        self.lock_box.setSpecialValueText("never")
        self.lock_box.setAccessibleName("lock after minutes")
        self.lock_box.setToolTip(words)
        self.said = _Said()
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Close
        )
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Lock after no input for", self.lock_box)
        form.addRow(self.said)
        form.addRow(buttons)
        self.desk.ask(ShowSettings(desk.user or ""), self._shown)

    def _shown(self, answer: ActionAnswer) -> None:
        if answer.ok:
            self.lock_box.setValue(answer.value.lock_after_min)
        else:
            self.said.say(answer.refusal or "refused", error=True)

    @Slot()
    def save(self) -> None:
        action = ChangeSetting(self.desk.user or "", "lock_after_min", self.lock_box.value())
        self.desk.ask(action, self._saved)

    def _saved(self, answer: ActionAnswer) -> None:
        if answer.ok:
            self.said.say("Saved: it applies from the next sign-in or unlock.", error=False)
        else:
            self.said.say(answer.refusal or "refused", error=True)
