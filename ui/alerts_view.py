"""What the console says about alerts beyond the control room, in the alert router's own words.

- `EscalationBanner`: every escalation across the top of the window, on every console window
  connected to the site: an alarm nobody acknowledged, a still-there check nobody answered, and
  what became of the supervisor's page ("escalated: supervisor paged via MQTT at 02:14:07",
  "escalated: NO supervisor destination configured — only this console knows", "... supervisor
  NOT paged: ..."). An alarm's line goes once it is acknowledged; the check's once answered.
- `AlertSetupBanner`: what is wrong with the alert setup, above the walls, one warning a line in
  red, word-wrapped (never cut at the window's edge), each with its fix where the code knows it:
  "⚠ ALERTS · gallery alerts go nowhere: no gallery destination is configured
  (alert_destinations.gallery) — fix: add alert_destinations.gallery ...". It stays until an
  edit of the site that cures it is applied.
- `AlertStatusLine`: a permanent line in the status bar for what is off: "NO SOUND: no audio
  output device — alarms are silent on this console", the count of alert setup warnings ("ALERTS:
  2 setup warnings, see above the walls"), and the last alert that could not be delivered (until
  a later one to the same destination gets through).
- `AlertsView` wires them to the runtime and the bridge, audits a missing sound device, and
  pages the supervisor when the still-there check escalates:

    alerts = AlertsView(runtime, bridge, sound, parent=window)
    column.insertWidget(1, alerts.banner)                    # under the storage banner
    column.insertWidget(2, alerts.setup_banner)              # above the walls
    window.statusBar().addPermanentWidget(alerts.status_line)
    alerts.follow_operator_check(operator_check_controller)
    ...
    alerts.close()

Colour follows the words (NO SOUND, NOT, NO), never replaces them.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from console.alarms import Alarm
from console.alerts.config import AlertWarning
from console.alerts.router import AlertNotice
from console.operator_check import (
    UNANSWERED_EVENT,
    OperatorCheckListener,
    page_on_escalation,
)
from console.runtime import SiteNotice, SiteRuntime
from console.store import SYSTEM_USER
from console.store.audit import AppendAudit
from ui.bridge import PipelineBridge
from ui.operator_check import OperatorCheckController
from ui.sound import AlarmSoundPlayer
from ui.theme import PALETTE

log = logging.getLogger(__name__)

__all__ = [
    "ESCALATIONS",
    "AlertSetupBanner",
    "AlertStatusLine",
    "AlertsView",
    "EscalationBanner",
    "no_sound_text",
    "setup_count_text",
    "setup_line",
]

ESCALATIONS = frozenset({"escalated", UNANSWERED_EVENT})


def no_sound_text(reason: str) -> str:
    return f"NO SOUND: {reason} — alarms are silent on this console"


def setup_line(warning: AlertWarning) -> str:
    """One alert setup warning in words, with its fix where known."""
    fix = f" — fix: {warning.fix}" if warning.fix else ""
    return f"⚠ ALERTS · {warning.text}{fix}"


def setup_count_text(count: int) -> str:
    return f"ALERTS: {count} setup warning{'s' if count != 1 else ''}, see above the walls"


def _outcome(notice: AlertNotice) -> str:
    """The notice's text without its leading label ('escalated: ...' -> '...')."""
    return notice.text.split(": ", 1)[-1]


class EscalationBanner(QFrame):
    """Hidden while nothing is escalated; one line per escalation otherwise."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("escalationBanner")
        self.setAccessibleName("escalations")
        self._label = QLabel(self)
        self._label.setWordWrap(True)
        self._label.setTextFormat(Qt.TextFormat.PlainText)
        self._label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.addWidget(self._label)
        self._entries: dict[tuple[str, str], AlertNotice] = {}
        self.hide()

    @property
    def text(self) -> str:
        return self._label.text()

    @property
    def notices(self) -> list[AlertNotice]:
        return list(self._entries.values())

    @Slot(object)
    def show_notice(self, notice: AlertNotice) -> None:
        if notice.what not in ESCALATIONS or notice.destination != "supervisor":
            return
        self._entries[(notice.subject, notice.what)] = notice
        self._render()

    @Slot(Alarm)
    def alarm_changed(self, alarm: Alarm) -> None:
        """An acknowledged (or resolved) alarm's escalation is handled: its line goes."""
        if alarm.acknowledged:
            self.clear(f"alarm:{alarm.alarm_id}", "escalated")

    def clear(self, subject: str, what: str) -> None:
        if self._entries.pop((subject, what), None) is not None:
            self._render()

    def clear_event(self, what: str) -> None:
        """Every line of a console event (the still-there check was answered)."""
        for key in [k for k in self._entries if k[1] == what]:
            del self._entries[key]
        self._render()

    def _render(self) -> None:
        if not self._entries:
            self._label.clear()
            self.hide()
            return
        lines = []
        for notice in self._entries.values():
            about = f"{notice.about} — " if notice.about else ""
            lines.append(f"⚠ ESCALATED · {about}{notice.text}")
        self._label.setText("\n".join(lines))
        bad = any(n.bad for n in self._entries.values())
        background = PALETTE.offline if bad else PALETTE.stalled
        self.setStyleSheet(
            f"#escalationBanner {{ background: {background}; }}"
            f" QLabel {{ color: {PALETTE.background}; background: transparent;"
            " font-weight: bold; }"
        )
        self.show()


class AlertSetupBanner(QFrame):
    """The alert setup's warnings, one a line, in red, whole: hidden while there are none."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("alertSetupBanner")
        self.setAccessibleName("alert setup warnings")
        self.setStyleSheet(
            f"#alertSetupBanner {{ border-left: 6px solid {PALETTE.offline}; }}"
            f" QLabel {{ color: {PALETTE.offline}; font-weight: bold; }}"
        )
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(10, 4, 10, 4)
        self._layout.setSpacing(2)
        self.labels: list[QLabel] = []
        self._warnings: tuple[AlertWarning, ...] = ()
        self.hide()

    @property
    def warnings(self) -> tuple[AlertWarning, ...]:
        return self._warnings

    def set_warnings(self, warnings: tuple[AlertWarning, ...]) -> None:
        if warnings == self._warnings:
            return
        self._warnings = warnings
        for label in self.labels:
            self._layout.removeWidget(label)
            label.deleteLater()
        self.labels = []
        for warning in warnings:
            label = QLabel(setup_line(warning), self)
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setWordWrap(True)  # a long warning wraps; it is never cut at the window's edge
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setToolTip(f"site file field: {warning.path}")
            self._layout.addWidget(label)
            self.labels.append(label)
        self.setVisible(bool(warnings))


class AlertStatusLine(QWidget):
    """The status bar's alert line: permanent warnings and the last failed delivery."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("alertStatusLine")
        self._label = QLabel(self)
        self._label.setTextFormat(Qt.TextFormat.PlainText)
        self._label.setStyleSheet(f"color: {PALETTE.offline}; font-weight: bold;")
        # a long line must not widen the window past the screen (the auditor's page, 1920 px):
        # it is cut at the window's edge, and the tooltip holds every warning whole
        self._label.setMinimumWidth(240)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 0, 6, 0)
        layout.addWidget(self._label)
        self._warnings: dict[str, str] = {}
        self._failures: dict[str, AlertNotice] = {}  # by destination
        self.hide()

    @property
    def text(self) -> str:
        return self._label.text()

    def set_warning(self, key: str, text: str) -> None:
        """A warning that stays (NO SOUND, the count of alert setup warnings)."""
        self._warnings[key] = text
        self._render()

    def clear_warning(self, key: str) -> None:
        if self._warnings.pop(key, None) is not None:
            self._render()

    @Slot(object)
    def show_notice(self, notice: AlertNotice) -> None:
        """A delivery that failed stays shown until a later one to its destination succeeds."""
        if not notice.final or notice.state == "warning":
            return
        if notice.state in ("failed", "partly_sent"):
            self._failures[notice.destination] = notice
        elif notice.state == "sent":
            self._failures.pop(notice.destination, None)
        else:
            return
        self._render()

    def _render(self) -> None:
        parts = list(self._warnings.values())
        parts += [
            f"ALERT NOT DELIVERED: {n.about + ' — ' if n.about else ''}{n.text}"
            for n in self._failures.values()
        ]
        self._label.setText(" | ".join(parts))
        self.setToolTip("\n".join(parts))
        self.setVisible(bool(parts))


class AlertsView(QObject):
    """The banner and the status line over one runtime; audits a missing sound device."""

    message = Signal(str)  # each final alert outcome, for the status bar's passing messages

    def __init__(
        self,
        runtime: SiteRuntime,
        bridge: PipelineBridge,
        sound: AlarmSoundPlayer,
        *,
        station: str = "control-room",
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._runtime = runtime
        self._station = station
        self.banner = EscalationBanner()
        self.status_line = AlertStatusLine()
        self.setup_banner = AlertSetupBanner()
        self.show_setup(runtime.alerts.warnings)
        bridge.site_notice.connect(self._site_notice)
        self._sound_audited = False
        self._controller: OperatorCheckController | None = None
        self._check_listener: OperatorCheckListener | None = None
        bridge.alert_notice.connect(self._on_notice)
        bridge.alarm_changed.connect(self.banner.alarm_changed)
        sound.silenced.connect(self.no_sound)
        if sound.silent_reason is not None:
            self.no_sound(sound.silent_reason)

    def show_setup(self, warnings: tuple[AlertWarning, ...]) -> None:
        """The alert setup's warnings in the banner, their count in the status line."""
        self.setup_banner.set_warnings(warnings)
        if warnings:
            self.status_line.set_warning("setup", setup_count_text(len(warnings)))
        else:
            self.status_line.clear_warning("setup")

    @Slot(object)
    def _site_notice(self, notice: SiteNotice) -> None:
        """An edited site runs now: its routes are the router's, and so are its warnings."""
        if notice.kind == "applied":
            self.show_setup(self._runtime.alerts.warnings)

    def follow_operator_check(self, controller: OperatorCheckController) -> None:
        """An unanswered still-there check pages the supervisor (through the runtime's alert
        router); the prompt and the banner then say what became of the page."""
        self._controller = controller
        self._check_listener = page_on_escalation(controller.check, self._runtime.alert_event)
        controller.answered.connect(lambda _event: self.banner.clear_event(UNANSWERED_EVENT))
        controller.withdrawn.connect(lambda _event: self.banner.clear_event(UNANSWERED_EVENT))

    @Slot(str)
    def no_sound(self, reason: str) -> None:
        """The alarm sound is off for good: said in the status line, and audited once."""
        self.status_line.set_warning("sound", no_sound_text(reason))
        if self._sound_audited:
            return
        self._sound_audited = True
        task = AppendAudit(SYSTEM_USER, "sound.off", f"console:{self._station}", {"reason": reason})
        self._runtime.write_audit(task).add_done_callback(self._audit_written)

    @staticmethod
    def _audit_written(future: Future[object]) -> None:
        error = future.exception()
        if error is not None:
            log.error("the missing sound device was not written to the audit log: %s", error)

    @Slot(object)
    def _on_notice(self, notice: AlertNotice) -> None:
        self.banner.show_notice(notice)
        self.status_line.show_notice(notice)
        controller = self._controller
        if notice.what == UNANSWERED_EVENT and controller is not None:
            controller.prompt.show_escalation_outcome(_outcome(notice))
        if notice.final and notice.state != "warning":
            about = f"{notice.about}: " if notice.about else ""
            self.message.emit(f"{about}{notice.text}")

    def close(self) -> None:
        controller = self._controller
        if controller is not None and self._check_listener is not None:
            controller.check.remove_listener(self._check_listener)
            self._check_listener = None
        self.banner.close()
        self.setup_banner.close()
        self.status_line.close()
