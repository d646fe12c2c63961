"""The sign-in screen and the lock bar.

`SignInPanel` is what the console opens on: a name and a password, or, at the very first start
of a database with no account, the first supervisor's name and password (twice). It only
collects what is typed: the desk (`ui.shift.ShiftDesk`) posts it to the core, which checks the
password off the GUI thread, and the panel shows the answer (a refusal in words, the back-off).

`LockBar` sits above the live wall while the console is locked: the wall keeps playing, alarms
keep sounding and showing, but acting on them needs the signed-in user's password again (or
another person signs in, which ends the locked shift).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from console.passwords import Password
from ui.theme import PALETTE

__all__ = ["LockBar", "SignInPanel"]


def _password_field(name: str) -> QLineEdit:
    field = QLineEdit()
    field.setEchoMode(QLineEdit.EchoMode.Password)
    field.setAccessibleName(name)
    return field


class SignInPanel(QWidget):
    """The console's first screen: sign in, or create the first supervisor."""

    sign_in_requested = Signal(str, object)  # name, Password
    first_supervisor_requested = Signal(str, object)

    def __init__(
        self, site_name: str, station: str, notice: str | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("signInPanel")
        self._first_run = False
        self._busy = False

        title = QLabel("Nightwatch")
        title.setObjectName("signInTitle")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.place_label = QLabel(f"{site_name} · {station}")
        self.place_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.place_label.setStyleSheet(f"color: {PALETTE.muted};")
        self.heading = QLabel()
        self.heading.setWordWrap(True)
        self.heading.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self.name_edit = QLineEdit()
        self.name_edit.setAccessibleName("name")
        self.password_edit = _password_field("password")
        self.repeat_edit = _password_field("password again")
        self.form = QFormLayout()
        self.form.addRow("Name", self.name_edit)
        self.form.addRow("Password", self.password_edit)
        self.form.addRow("Again", self.repeat_edit)

        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.message_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message_label.setVisible(False)
        self.submit_button = QPushButton()
        self.submit_button.setDefault(True)
        self.submit_button.clicked.connect(self.submit)
        self.name_edit.returnPressed.connect(self.password_edit.setFocus)
        self.password_edit.returnPressed.connect(self._password_entered)
        self.repeat_edit.returnPressed.connect(self.submit)
        self.notice_label = QLabel(notice or "")
        self.notice_label.setWordWrap(True)
        self.notice_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.notice_label.setStyleSheet(f"color: {PALETTE.muted};")
        self.notice_label.setVisible(bool(notice))

        box = QFrame()
        box.setObjectName("signInBox")
        box.setMaximumWidth(460)
        box.setStyleSheet(
            f"#signInBox {{ background: {PALETTE.surface}; border: 1px solid "
            f"{PALETTE.border}; border-radius: 6px; }}"
            "#signInBox QLabel { background: transparent; }"
            "#signInTitle { font-size: 20pt; font-weight: bold; }"
        )
        column = QVBoxLayout(box)
        column.setContentsMargins(28, 24, 28, 24)
        column.setSpacing(12)
        for widget in (title, self.place_label, self.heading):
            column.addWidget(widget)
        column.addLayout(self.form)
        column.addWidget(self.message_label)
        column.addWidget(self.submit_button)
        column.addWidget(self.notice_label)
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(box, 2)
        row.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(2)
        self.set_first_run(False)

    # -- state ---------------------------------------------------------------------------------

    @property
    def first_run(self) -> bool:
        return self._first_run

    @property
    def message(self) -> str:
        return self.message_label.text() if self.message_label.isVisible() else ""

    def set_first_run(self, first_run: bool) -> None:
        """No account exists yet: ask for the first supervisor instead of a sign-in."""
        self._first_run = first_run
        self.repeat_edit.setVisible(first_run)
        self.form.labelForField(self.repeat_edit).setVisible(first_run)
        if first_run:
            self.heading.setText(
                "No account exists yet. Create the first supervisor: they add the operators "
                "and auditors. The password needs 12 characters or more."
            )
            self.submit_button.setText("Create the supervisor and sign in")
        else:
            self.heading.setText("Sign in to start your shift.")
            self.submit_button.setText("Sign in")

    def reset(self, message: str | None = None) -> None:
        """Back to an empty form (after a sign-out), with a message if any."""
        self.set_busy(False)
        for field in (self.name_edit, self.password_edit, self.repeat_edit):
            field.clear()
        self.show_message(message, error=False)
        self.name_edit.setFocus(Qt.FocusReason.OtherFocusReason)

    def set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.submit_button.setEnabled(not busy)
        if busy:
            self.show_message("Checking …", error=False)

    def show_message(self, text: str | None, *, error: bool = True) -> None:
        self.message_label.setVisible(bool(text))
        self.message_label.setText(f"⚠ {text}" if text and error else (text or ""))
        color = PALETTE.offline if error else PALETTE.muted
        self.message_label.setStyleSheet(f"color: {color};")

    def refused(self, text: str) -> None:
        self.set_busy(False)
        self.show_message(text)
        self.password_edit.setFocus(Qt.FocusReason.OtherFocusReason)

    # -- input ---------------------------------------------------------------------------------

    def _password_entered(self) -> None:
        if self._first_run:
            self.repeat_edit.setFocus()
        else:
            self.submit()

    @Slot()
    def submit(self) -> None:
        if self._busy:
            return
        name = self.name_edit.text().strip()
        if not name:
            self.show_message("type your name")
            self.name_edit.setFocus()
            return
        if self._first_run and self.password_edit.text() != self.repeat_edit.text():
            self.show_message("the two passwords differ")
            self.password_edit.clear()
            self.repeat_edit.clear()
            self.password_edit.setFocus()
            return
        password = Password(self.password_edit.text())
        self.password_edit.clear()
        self.repeat_edit.clear()
        self.set_busy(True)
        if self._first_run:
            self.first_supervisor_requested.emit(name, password)
        else:
            self.sign_in_requested.emit(name, password)


class LockBar(QFrame):
    """Across the top of the live wall while the console is locked."""

    unlock_requested = Signal(object)  # Password
    switch_user_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("lockBar")
        self.setAccessibleName("console locked")
        self.setStyleSheet(
            f"#lockBar {{ background: {PALETTE.surface_raised}; border-bottom: 2px solid "
            f"{PALETTE.stalled}; }}"
        )
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.password_edit = _password_field("password to unlock")
        self.password_edit.setMinimumWidth(160)
        self.password_edit.setPlaceholderText("password")
        self.password_edit.returnPressed.connect(self.submit)
        self.unlock_button = QPushButton("Unlock")
        self.unlock_button.clicked.connect(self.submit)
        self.switch_button = QPushButton("Sign in as someone else")
        self.switch_button.clicked.connect(self.switch_user_requested)
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(f"color: {PALETTE.offline};")
        self.error_label.setVisible(False)
        controls = QHBoxLayout()
        controls.addWidget(self.password_edit, 1)
        controls.addWidget(self.unlock_button)
        controls.addWidget(self.switch_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.addWidget(self.label)
        layout.addLayout(controls)
        layout.addWidget(self.error_label)
        self.hide()

    @property
    def text(self) -> str:
        return self.label.text()

    def show_locked(self, user: str) -> None:
        self.label.setText(
            f"LOCKED. The cameras and alarms stay live; acting on them needs {user}'s password."
        )
        self.error_label.setVisible(False)
        self.password_edit.clear()
        self.unlock_button.setEnabled(True)
        self.show()
        self.password_edit.setFocus(Qt.FocusReason.OtherFocusReason)

    def refused(self, text: str) -> None:
        self.unlock_button.setEnabled(True)
        self.error_label.setText(f"⚠ {text}")
        self.error_label.setVisible(True)
        self.password_edit.setFocus(Qt.FocusReason.OtherFocusReason)

    @Slot()
    def submit(self) -> None:
        password = Password(self.password_edit.text())
        self.password_edit.clear()
        self.unlock_button.setEnabled(False)
        self.unlock_requested.emit(password)
