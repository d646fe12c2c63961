"""The "still there?" prompt of the lone-operator check (the policy is `console.operator_check`).

`StillTherePrompt` is a small non-modal dialog with one big button, "I'm here", also answered by
one key (F9 by default, anywhere in the application while the prompt is up; Enter or Space when
the prompt has the focus). It cannot be closed without answering. It shows how long is left to
answer, and after an escalation says so in words (and a mark), not only in colour.

`OperatorCheckController` drives the policy from a one-second timer on the GUI thread, shows and
hides the prompt, forwards the answer, and re-emits the policy's events as Qt signals for the
main window (sound; `escalated` is what pages the supervisor, through the runtime's alert router,
and the router's notice comes back to `show_escalation_outcome`, so the prompt never claims a
page that was not acknowledged):

    check = OperatorCheck(site, SystemClock(), store, settings=settings)
    controller = OperatorCheckController(
        check, user=lambda: session.user, post=desk_post, parent=window
    )
    controller.escalated.connect(sound.escalation)
    controller.start()          # ... controller.stop() on shutdown

With `post`, the answer is an action (`AnswerStillThere`) for the core's service layer, which
checks that the user may answer (signed in, console unlocked); when it refuses, the window
calls `ask_again(reason)` and the prompt comes back with the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QCloseEvent, QFont, QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QDialog, QLabel, QPushButton, QVBoxLayout, QWidget

from console.actions import Action, AnswerStillThere
from console.operator_check import CheckState, OperatorCheck, OperatorCheckEvent

log = logging.getLogger(__name__)

__all__ = ["ANSWER_KEY", "OperatorCheckController", "StillTherePrompt", "format_countdown"]

ANSWER_KEY = QKeySequence(Qt.Key.Key_F9)
TICK_MS = 1000


def format_countdown(seconds: float) -> str:
    """'1:45' for 105 s (rounded up: never shows 0:00 while time is left)."""
    whole = max(0, int(-(-seconds // 1)))
    return f"{whole // 60}:{whole % 60:02d}"


class StillTherePrompt(QDialog):
    """Non-modal: the monitor can keep working the alarms while it is up."""

    answered = Signal()

    def __init__(self, parent: QWidget | None = None, key: QKeySequence = ANSWER_KEY) -> None:
        super().__init__(parent)
        self.setObjectName("stillTherePrompt")
        self.setWindowTitle("Night check: still there?")
        self.setModal(False)
        self.setWindowFlag(Qt.WindowType.WindowStaysOnTopHint, True)
        self.setWindowFlag(Qt.WindowType.WindowCloseButtonHint, False)
        self._pending = False
        self._escalated = False
        self._outcome = ""
        key_text = key.toString(QKeySequence.SequenceFormat.NativeText)

        self._headline = QLabel("Still there?", self)
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        self._headline.setFont(font)
        self._headline.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self._detail = QLabel("", self)
        self._detail.setWordWrap(True)
        self._detail.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self.button = QPushButton(f"I'm here   [{key_text}]", self)
        self.button.setObjectName("stillThereButton")
        self.button.setMinimumSize(320, 96)
        big = QFont(self.button.font())
        big.setPointSizeF(big.pointSizeF() * 1.5)
        big.setBold(True)
        self.button.setFont(big)
        self.button.setDefault(True)
        self.button.setAutoDefault(True)
        self.button.clicked.connect(self._answer)

        self.shortcut = QShortcut(key, self)
        self.shortcut.setContext(Qt.ShortcutContext.ApplicationShortcut)
        self.shortcut.activated.connect(self._answer)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 20)
        layout.setSpacing(14)
        layout.addWidget(self._headline)
        layout.addWidget(self._detail)
        layout.addWidget(self.button)

    # -- state ---------------------------------------------------------------------------------

    @property
    def pending(self) -> bool:
        """A prompt is up and not yet answered."""
        return self._pending

    @property
    def escalated(self) -> bool:
        return self._escalated

    @property
    def detail_text(self) -> str:
        return self._detail.text()

    @property
    def headline_text(self) -> str:
        return self._headline.text()

    def ask(self, prompt_id: int, seconds_left: float) -> None:
        """Show the prompt (without stealing the keyboard from an operator typing a note)."""
        self._pending, self._escalated, self._outcome = True, False, ""
        self._headline.setText("Still there?")
        self.setProperty("escalated", False)
        self.set_countdown(seconds_left)
        self.setWindowTitle(f"Night check {prompt_id}: still there?")
        self.show()
        self.raise_()

    def set_countdown(self, seconds_left: float | None) -> None:
        if not self._pending:
            return
        if self._escalated or seconds_left is None:
            return
        self._detail.setText(
            f"Night check: please confirm you are at the console.\n"
            f"Answer within {format_countdown(seconds_left)}, or it is escalated."
        )

    def mark_escalated(self) -> None:
        if not self._pending:
            return
        self._escalated = True
        self._headline.setText("⚠ NOT ANSWERED: still there?")
        self._show_escalated()
        self.setProperty("escalated", True)
        self.style().unpolish(self)
        self.style().polish(self)

    def show_escalation_outcome(self, text: str) -> None:
        """What became of the escalation, in the alert router's words ('supervisor paged via
        MQTT at 02:14:07', 'NO supervisor destination configured — only this console knows')."""
        self._outcome = text
        if self._pending and self._escalated:
            self._show_escalated()

    def _show_escalated(self) -> None:
        outcome = f" — {self._outcome}" if self._outcome else ""
        self._detail.setText(
            f"The check was not answered in time: escalated{outcome}.\n"
            "Confirm now that you are at the console."
        )

    def add_reason(self, reason: str) -> None:
        """Why the last answer did not count (in words, under the detail)."""
        self._detail.setText(f"{self._detail.text()}\n⚠ Not counted: {reason}")

    def withdraw(self) -> None:
        """Hide without an answer (the museum opened, or the check was switched off)."""
        self._pending = False
        self.hide()

    # -- input ---------------------------------------------------------------------------------

    @Slot()
    def _answer(self) -> None:
        if not self._pending:
            return
        self._pending = False
        self.hide()
        self.answered.emit()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape and self._pending:
            event.accept()  # Esc does not answer and does not dismiss
            return
        super().keyPressEvent(event)

    def reject(self) -> None:
        if self._pending:
            return
        super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._pending:
            event.ignore()  # the prompt is only closed by answering it
            return
        super().closeEvent(event)


class OperatorCheckController(QObject):
    """Ticks the policy once a second and connects it to the prompt."""

    prompted = Signal(object)  # OperatorCheckEvent
    answered = Signal(object)
    escalated = Signal(object)
    withdrawn = Signal(object)

    _event_in = Signal(object)  # from the policy's listener, any thread

    def __init__(
        self,
        check: OperatorCheck,
        user: str | Callable[[], str],
        *,
        prompt_parent: QWidget | None = None,
        tick_ms: int = TICK_MS,
        parent: QObject | None = None,
        post: Callable[[Action], None] | None = None,
    ) -> None:
        super().__init__(parent)
        self.check = check
        self._user = user
        self._post = post
        self.prompt = StillTherePrompt(prompt_parent)
        self.prompt.answered.connect(self._on_answered)
        self._timer = QTimer(self)
        self._timer.setInterval(tick_ms)
        self._timer.timeout.connect(self.tick)
        # direct on the GUI thread, queued from any other thread
        self._event_in.connect(self._on_event, Qt.ConnectionType.AutoConnection)
        self._listener = self._event_in.emit
        check.add_listener(self._listener)
        self._closed = False

    @property
    def is_running(self) -> bool:
        return self._timer.isActive()

    def start(self) -> None:
        self.tick()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def close(self) -> None:
        """Stop, detach from the policy and delete the prompt (on shutdown)."""
        if self._closed:
            return
        self._closed = True
        self.stop()
        self.check.remove_listener(self._listener)
        self.prompt.withdraw()
        self.prompt.close()
        self.prompt.deleteLater()

    @Slot()
    def tick(self) -> None:
        self.check.tick()
        if self.check.state == CheckState.PROMPTING:
            self.prompt.set_countdown(self.check.deadline_in_s())

    @Slot(object)
    def _on_event(self, event: OperatorCheckEvent) -> None:
        if self._closed:
            return
        if event.kind == "prompt":
            self.prompt.ask(event.prompt_id, event.deadline_in_s or 0.0)
            self.prompted.emit(event)
        elif event.kind == "escalated":
            self.prompt.mark_escalated()
            self.escalated.emit(event)
        elif event.kind == "withdrawn":
            self.prompt.withdraw()
            self.withdrawn.emit(event)
        elif event.kind == "answered":
            self.prompt.withdraw()  # answered elsewhere (another view called check.answer)
            self.answered.emit(event)

    @Slot()
    def _on_answered(self) -> None:
        user = self._user() if callable(self._user) else self._user
        if self._post is not None:
            self._post(AnswerStillThere(self.check, user))
        else:
            self.check.answer(user)

    def ask_again(self, reason: str) -> None:
        """The answer was refused (nobody signed in, the console locked): the prompt is back,
        saying why, until it is answered."""
        if self._closed or self.check.state not in (CheckState.PROMPTING, CheckState.ESCALATED):
            return
        self.prompt.ask(self.check.prompt_id, self.check.deadline_in_s() or 0.0)
        if self.check.state == CheckState.ESCALATED:
            self.prompt.mark_escalated()
        self.prompt.add_reason(reason)
