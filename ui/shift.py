"""The shift at this console, seen from the window: who is signed in, locked or not, and the
requests that change it (sign in, lock, unlock, hand over, sign out).

`ShiftDesk` posts its requests to the core through the bridge and follows the answers: the core
checks every password (argon2, on the core thread: the GUI thread never hashes) and decides; the
desk only mirrors what the core answered and tells the window (`signed_in`, `signed_out`,
`lock_changed`, `watching`). Any view asks the core through `desk.ask(action, on_answer)` and
gets its own answer back on the GUI thread. A refusal that says the console is locked or the user
is no longer signed in (an account disabled by a supervisor) puts the window in that state too.

`InactivityLock` watches the application's input and asks for the lock after the console's
configured quiet time; `HandOverDialog` is the hand-over to the next monitor: a note, then the
next monitor's name and password and their confirmation that they read it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QGuiApplication, QWindow
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from console.accounts import SignedIn
from console.actions import Action, ActionAnswer
from console.passwords import Password
from console.roles import Act
from console.shift_actions import (
    ChangeOwnPassword,
    CreateFirstSupervisor,
    HandOver,
    Lock,
    LogIn,
    LogOut,
    Unlock,
    Watch,
)
from ui.bridge import PipelineBridge
from ui.theme import PALETTE

log = logging.getLogger(__name__)

__all__ = ["ChangePasswordDialog", "HandOverDialog", "InactivityLock", "ShiftDesk"]

AnswerSlot = Callable[[ActionAnswer], None]


class ShiftDesk(QObject):
    """This console's session as the core answered it, and the one way views ask the core."""

    signed_in = Signal(object)  # SignedIn: a sign-in, an unlock, a hand-over, a lock
    signed_out = Signal(str)  # why
    lock_changed = Signal(bool)
    watching = Signal(list)  # list[Alarm]: the core let this user watch; the open alarms
    refused = Signal(str)  # a request of the desk itself was refused (in words)

    def __init__(self, bridge: PipelineBridge, station: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.station = station
        self.session: SignedIn | None = None
        self._asked: list[tuple[Action, AnswerSlot]] = []
        bridge.action_answered.connect(self._answered)

    # -- what the window reads -----------------------------------------------------------------

    @property
    def user(self) -> str | None:
        return self.session.user if self.session is not None else None

    @property
    def locked(self) -> bool:
        return self.session is not None and self.session.locked

    @property
    def waiting(self) -> int:
        """Requests asked and not answered yet."""
        return len(self._asked)

    # -- asking the core -----------------------------------------------------------------------

    def ask(self, action: Action, on_answer: AnswerSlot | None = None) -> None:
        """Post `action` to the core; `on_answer(answer)` on the GUI thread when it is answered."""
        self._asked.append((action, on_answer or (lambda _answer: None)))
        self.bridge.post(action)

    def sign_in(self, name: str, password: Password) -> None:
        self.ask(LogIn(name.strip(), password, self.station), self._session_answer)

    def create_first_supervisor(self, name: str, password: Password) -> None:
        action = CreateFirstSupervisor(name.strip(), password, self.station)
        self.ask(action, self._session_answer)

    def unlock(self, password: Password) -> None:
        if self.session is not None:
            self.ask(Unlock(self.session.user, self.station, password), self._session_answer)

    def lock(self, reason: str = "asked") -> None:
        if self.session is not None and not self.session.locked:
            self.ask(Lock(self.session.user, self.station, reason), self._session_answer)

    def sign_out(self, reason: str = "signed out") -> None:
        if self.session is not None:
            self.ask(LogOut(self.session.user, self.station, reason), self._signed_out_answer)

    def hand_over(
        self,
        note: str,
        to_user: str,
        to_password: Password,
        confirmed: bool,
        on_answer: AnswerSlot | None = None,
    ) -> None:
        if self.session is None:
            return
        action = HandOver(
            self.session.user, self.station, note, to_user.strip(), to_password, confirmed
        )

        def answered(answer: ActionAnswer) -> None:
            self._session_answer(answer)
            if on_answer is not None:
                on_answer(answer)

        self.ask(action, answered)

    # -- answers -------------------------------------------------------------------------------

    @Slot(ActionAnswer)
    def _answered(self, answer: ActionAnswer) -> None:
        mine = next((i for i, (a, _) in enumerate(self._asked) if a is answer.action), None)
        if mine is not None:
            _action, slot = self._asked.pop(mine)
            slot(answer)
        self._follow_refusal(answer)

    def _follow_refusal(self, answer: ActionAnswer) -> None:
        """A refusal of any view's action that says the session changed in the core."""
        session = self.session
        if answer.ok or session is None or getattr(answer.action, "user", None) != session.user:
            return
        if answer.code == "locked" and not session.locked:
            self._set_session(replace(session, locked=True))
        elif answer.code in ("signed_out", "disabled"):
            self.session = None
            self.signed_out.emit(answer.refusal or "signed out")

    def _session_answer(self, answer: ActionAnswer) -> None:
        if not answer.ok:
            self.refused.emit(answer.refusal or "refused")
            return
        signed = answer.value
        assert isinstance(signed, SignedIn)
        before = self.session
        self._set_session(signed)
        starts = isinstance(answer.action, LogIn | CreateFirstSupervisor | HandOver)
        if signed.may(Act.WATCH) and not signed.locked and (starts or before is None):
            self.ask(Watch(signed.user, self.station), self._watch_answer)

    def _watch_answer(self, answer: ActionAnswer) -> None:
        if answer.ok:
            self.watching.emit(list(answer.value))

    def _signed_out_answer(self, answer: ActionAnswer) -> None:
        if not answer.ok:
            self.refused.emit(answer.refusal or "refused")
            return
        self.session = None
        self.signed_out.emit("signed out")

    def _set_session(self, signed: SignedIn) -> None:
        was_locked = self.locked
        self.session = signed
        self.signed_in.emit(signed)
        if signed.locked != was_locked:
            self.lock_changed.emit(signed.locked)


class InactivityLock(QObject):
    """Emits `idle` after `timeout_s` without a key, click, wheel or mouse move in any of the
    console's windows (restarted by each); `set_timeout_s(None)` switches it off.

    Input is watched on each top-level window (every key and mouse event reaches its window
    first), not on the whole application: an application-wide filter ran Python for every
    paint, timer and signal event of the video wall, and in a burst of alarms each of those
    calls waited for the interpreter lock. Windows opened later (a floated focus wall, a
    dialog) are watched from when they get the focus, or from the next look round
    (`LOOK_ROUND_MS`)."""

    idle = Signal()

    LOOK_ROUND_MS = 2000

    _INPUT = frozenset(
        {
            QEvent.Type.KeyPress,
            QEvent.Type.MouseButtonPress,
            QEvent.Type.MouseMove,
            QEvent.Type.Wheel,
            QEvent.Type.TouchBegin,
        }
    )

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.idle)
        self._look_round = QTimer(self)
        self._look_round.setInterval(self.LOOK_ROUND_MS)
        self._look_round.timeout.connect(self._watch_windows)
        self._timeout_s: float | None = None
        self._watching = False

    @property
    def is_running(self) -> bool:
        return self._timer.isActive()

    @property
    def timeout_s(self) -> float | None:
        return self._timeout_s

    def set_timeout_s(self, timeout_s: float | None) -> None:
        self._timeout_s = timeout_s if timeout_s and timeout_s > 0 else None

    def start(self) -> None:
        """Count from now (called when a session starts or the console is unlocked)."""
        app = QApplication.instance()
        if self._timeout_s is None or not isinstance(app, QGuiApplication):
            self.stop()
            return
        if not self._watching:
            app.focusWindowChanged.connect(self._watch_window)
            self._look_round.start()
            self._watching = True
        self._watch_windows()
        self._timer.start(max(1, round(self._timeout_s * 1000)))

    def stop(self) -> None:
        self._timer.stop()
        self._look_round.stop()
        app = QApplication.instance()
        if self._watching and isinstance(app, QGuiApplication):
            app.focusWindowChanged.disconnect(self._watch_window)
            for window in QGuiApplication.topLevelWindows():
                window.removeEventFilter(self)
        self._watching = False

    def _watch_windows(self) -> None:
        for window in QGuiApplication.topLevelWindows():
            window.installEventFilter(self)  # Qt keeps one copy of a filter per object

    def _watch_window(self, window: QWindow | None) -> None:
        if window is not None:
            window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in self._INPUT and self._timer.isActive():
            self._timer.start()
        return False


def _password_field(placeholder: str) -> QLineEdit:
    field = QLineEdit()
    field.setEchoMode(QLineEdit.EchoMode.Password)
    field.setPlaceholderText(placeholder)
    field.setAccessibleName(placeholder)
    return field


def _error_label() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setStyleSheet(f"color: {PALETTE.offline};")
    label.setVisible(False)
    return label


class HandOverDialog(QDialog):
    """Hand the console to the next monitor without closing the wall or losing an alarm.

    Step 1, the outgoing monitor writes the note. Step 2, the next monitor reads it, gives their
    name and password and ticks that they read it; only then can they take over. The core
    records both names, the note and the confirmation."""

    def __init__(self, desk: ShiftDesk, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.desk = desk
        self.setWindowTitle("Hand over the shift")
        self.setModal(False)
        self.setWindowModality(Qt.WindowModality.WindowModal)
        outgoing = desk.user or "?"

        self.pages = QStackedWidget(self)
        write = QWidget()
        write_layout = QVBoxLayout(write)
        write_layout.addWidget(QLabel(f"{outgoing}: a note for the next monitor"))
        self.note_edit = QPlainTextEdit()
        self.note_edit.setAccessibleName("hand-over note")
        self.note_edit.setPlaceholderText("Open alarms, guards out, cameras to watch …")
        write_layout.addWidget(self.note_edit, 1)
        self.next_button = QPushButton("Next: the next monitor signs in")
        self.next_button.clicked.connect(self.show_take_over)
        write_layout.addWidget(self.next_button)

        take = QWidget()
        take_layout = QVBoxLayout(take)
        take_layout.addWidget(QLabel(f"Note from {outgoing}:"))
        self.note_view = QLabel()
        self.note_view.setWordWrap(True)
        self.note_view.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.note_view.setStyleSheet(f"padding: 8px; border: 1px solid {PALETTE.border};")
        take_layout.addWidget(self.note_view)
        form = QFormLayout()
        self.name_edit = QLineEdit()
        self.name_edit.setAccessibleName("next monitor's name")
        self.password_edit = _password_field("next monitor's password")
        form.addRow("Next monitor", self.name_edit)
        form.addRow("Password", self.password_edit)
        take_layout.addLayout(form)
        self.read_box = QCheckBox("I have read the hand-over note")
        take_layout.addWidget(self.read_box)
        self.error_label = _error_label()
        take_layout.addWidget(self.error_label)
        self.take_button = QPushButton("Take over")
        self.take_button.setDefault(True)
        self.take_button.setEnabled(False)
        self.take_button.clicked.connect(self.take_over)
        self.read_box.toggled.connect(self._update_take)
        self.name_edit.textChanged.connect(self._update_take)
        self.password_edit.textChanged.connect(self._update_take)
        take_layout.addWidget(self.take_button)

        self.pages.addWidget(write)
        self.pages.addWidget(take)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.pages, 1)
        layout.addWidget(buttons)
        self.resize(520, 420)

    @Slot()
    def show_take_over(self) -> None:
        note = self.note_edit.toPlainText().strip()
        if not note:
            self.note_edit.setPlaceholderText("Write a note first (even 'nothing to report')")
            return
        self.note_view.setText(note)
        self.pages.setCurrentIndex(1)
        self.name_edit.setFocus()

    def _update_take(self) -> None:
        ready = self.read_box.isChecked() and bool(self.name_edit.text().strip())
        self.take_button.setEnabled(ready and bool(self.password_edit.text()))

    @Slot()
    def take_over(self) -> None:
        self.take_button.setEnabled(False)
        password = Password(self.password_edit.text())
        self.password_edit.clear()
        self.desk.hand_over(
            self.note_edit.toPlainText().strip(),
            self.name_edit.text(),
            password,
            self.read_box.isChecked(),
            self._answered,
        )

    def _answered(self, answer: ActionAnswer) -> None:
        if answer.ok:
            self.accept()
            return
        self.error_label.setText(f"⚠ {answer.refusal}")
        self.error_label.setVisible(True)
        self._update_take()


class ChangePasswordDialog(QDialog):
    """The signed-in user's own password: the current one, the new one twice."""

    def __init__(self, desk: ShiftDesk, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.desk = desk
        self.setWindowTitle(f"Change the password of {desk.user}")
        self.current_edit = _password_field("current password")
        self.new_edit = _password_field("new password (12 characters or more)")
        self.repeat_edit = _password_field("new password again")
        self.error_label = _error_label()
        form = QFormLayout(self)
        form.addRow("Current", self.current_edit)
        form.addRow("New", self.new_edit)
        form.addRow("Again", self.repeat_edit)
        form.addRow(self.error_label)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.submit)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    @Slot()
    def submit(self) -> None:
        if self.new_edit.text() != self.repeat_edit.text():
            self._say("the two new passwords differ")
            return
        if self.desk.session is None:
            return
        action = ChangeOwnPassword(
            self.desk.session.user,
            self.desk.station,
            Password(self.current_edit.text()),
            Password(self.new_edit.text()),
        )
        for field in (self.current_edit, self.new_edit, self.repeat_edit):
            field.clear()
        self.desk.ask(action, self._answered)

    def _answered(self, answer: ActionAnswer) -> None:
        if answer.ok:
            self.accept()
        else:
            self._say(answer.refusal or "refused")

    def _say(self, text: str) -> None:
        self.error_label.setText(f"⚠ {text}")
        self.error_label.setVisible(True)
