"""Sending a guard to an alarm, and closing an alarm with its outcome.

- `DispatchDialog`: the site's guards with their posts (number keys 1-9 pick one), the alarm's
  place on the floor plan (`AlarmLocationMap`: the plan image scaled, the protected object's or
  zone's outline highlighted, the camera's position), Enter sends a `Dispatch` action,
  Esc cancels.
- `ResolveDialog`: an outcome code is required (number keys 1-5 pick one, shown by its label),
  an optional note; Enter sends a `Resolve` action, Esc cancels.

Both post their action to the core (through the function they are given) and wait for its
answer without blocking: the core's yes closes the dialog (accepted means the core made the
step), its refusal is shown in the dialog, which stays open.

The words alarms are described in (`rule_label`, `place_name`, `camera_name`,
`severity_label`, `alarm_summary`) live here and are shared with the alarm queue.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, QSize, Qt, Slot
from PySide6.QtGui import (
    QBrush,
    QColor,
    QIcon,
    QImage,
    QKeyEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPolygonF,
    QTransform,
)
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from console.actions import Acknowledge, Action, ActionAnswer, Dispatch, Resolve
from console.alarms import Alarm, IllegalTransition
from console.site_file import Site
from console.store import AlarmState, Outcome, StoreError
from ui.alarm_words import (
    OUTCOME_WORDS,
    RULE_WORDS,
    SEVERITY_BARS,
    SEVERITY_COLOR_ROLE,
    outcome_words,
    rule_words,
    severity_words,
    state_word,
)
from ui.theme import PALETTE

log = logging.getLogger(__name__)

__all__ = [
    "OUTCOME_LABELS",
    "RULE_LABELS",
    "SEVERITY_BARS",
    "SEVERITY_COLOR_ROLE",
    "AlarmLocationMap",
    "AlarmTarget",
    "DispatchDialog",
    "ResolveDialog",
    "alarm_summary",
    "alarm_target",
    "camera_name",
    "outcome_label",
    "place_name",
    "refusal_text",
    "rule_label",
    "severity_label",
]


# --------------------------------------------------------------------------- words

# The words themselves live in ui.alarm_words (one table for every view); these names stay for
# the views that import them from here.
RULE_LABELS = RULE_WORDS
OUTCOME_LABELS = OUTCOME_WORDS
rule_label = rule_words
outcome_label = outcome_words
severity_label = severity_words

# Errors the model raises when it refuses a step: shown to the operator, never only logged.
REFUSALS: tuple[type[Exception], ...] = (IllegalTransition, StoreError, KeyError, ValueError)


def camera_name(site: Site, camera_id: str) -> str:
    try:
        return site.camera(camera_id).name
    except KeyError:
        return camera_id


def place_name(site: Site, alarm: Alarm) -> str:
    """The protected object's or zone's name; for a camera's own alarm, the camera."""
    subject = alarm.subject_id
    for find in (site.protected_object, site.zone):
        try:
            return find(subject).name
        except KeyError:
            continue
    if subject == alarm.camera_id:
        return f"camera {camera_name(site, subject)}"
    return subject


def refusal_text(exc: BaseException) -> str:
    """The model's refusal in words (a KeyError's message without its quotes)."""
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])
    return str(exc) or type(exc).__name__


def alarm_summary(site: Site, alarm: Alarm) -> str:
    local = alarm.raised_at.astimezone(site.tz)
    return (
        f"Alarm {alarm.alarm_id} · {severity_label(alarm.severity)} · {rule_label(alarm.rule)} · "
        f"{place_name(site, alarm)} · {camera_name(site, alarm.camera_id)} · "
        f"raised {local:%H:%M:%S} · {state_word(alarm)}"
    )


# --------------------------------------------------------------------------- the map


@dataclass(frozen=True, slots=True)
class AlarmTarget:
    """Where an alarm is on the plan: its floor, the outline to highlight, the camera."""

    floor_id: str | None
    name: str
    outline: tuple[tuple[float, float], ...] | None
    camera_position: tuple[float, float] | None


def alarm_target(site: Site, alarm: Alarm) -> AlarmTarget:
    camera = None
    try:
        camera = site.camera(alarm.camera_id)
    except KeyError:
        log.warning("alarm %d names unknown camera %s", alarm.alarm_id, alarm.camera_id)
    floor_id = camera.floor if camera is not None else None
    outline = None
    for find in (site.protected_object, site.zone):
        try:
            subject = find(alarm.subject_id)
        except KeyError:
            continue
        floor_id, outline = subject.floor, subject.plan_polygon
        break
    position = None
    if camera is not None and camera.floor == floor_id:
        position = camera.plan_position
    return AlarmTarget(floor_id, place_name(site, alarm), outline, position)


class AlarmLocationMap(QWidget):
    """The alarm's floor plan, scaled to fit, with its object or zone outlined and its camera."""

    def __init__(self, site: Site, alarm: Alarm, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.target = alarm_target(site, alarm)
        self._severity = alarm.severity
        self._camera = camera_name(site, alarm.camera_id)
        self._floor_name = ""
        self._plan: QImage | None = None
        self._plan_size: tuple[float, float] = (1.0, 1.0)
        self._zones: list[tuple[tuple[float, float], ...]] = []
        if self.target.floor_id is not None:
            floor = site.floor(self.target.floor_id)
            self._floor_name = floor.name
            image = QImage(str(floor.plan_path))
            if image.isNull():
                log.warning("floor %s: plan image %s not readable", floor.id, floor.plan_path)
            else:
                self._plan = image
            size: tuple[float, float] | None = floor.plan_size_px or (
                (image.width(), image.height()) if not image.isNull() else None
            )
            self._zones = [z.plan_polygon for z in site.zones_on(floor.id)]
            self._zones += [o.plan_polygon for o in site.objects_on(floor.id) if o.plan_polygon]
            if size is None:
                points = [p for poly in self._zones for p in poly]
                size = (
                    max((x for x, _ in points), default=1.0),
                    max((y for _, y in points), default=1.0),
                )
            self._plan_size = (float(size[0]), float(size[1]))
        self.setMinimumSize(QSize(320, 220))
        self.setAccessibleName("alarm location on the floor plan")
        self.setAccessibleDescription(
            f"{self.target.name} on {self._floor_name or 'an unknown floor'}, "
            f"seen by {self._camera}"
        )

    def sizeHint(self) -> QSize:
        return QSize(480, 320)

    def plan_transform(self) -> QTransform:
        """Plan pixels -> widget pixels: the whole plan, aspect kept, centred."""
        width, height = self._plan_size
        margin = 8.0
        scale = min((self.width() - 2 * margin) / width, (self.height() - 2 * margin) / height)
        scale = max(scale, 1e-6)
        dx = (self.width() - width * scale) / 2
        dy = (self.height() - height * scale) / 2
        return QTransform(scale, 0, 0, scale, dx, dy)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.fillRect(self.rect(), PALETTE.qcolor("surface"))
            if self.target.floor_id is None:
                painter.setPen(PALETTE.qcolor("muted"))
                painter.drawText(
                    self.rect(), Qt.AlignmentFlag.AlignCenter, "location unknown: no floor plan"
                )
                return
            transform = self.plan_transform()
            width, height = self._plan_size
            plan_rect = transform.mapRect(QRectF(0, 0, width, height))
            if self._plan is not None:
                painter.setOpacity(0.55)  # the plan stays in the background; dark room
                painter.drawImage(plan_rect, self._plan)
                painter.setOpacity(1.0)
            else:
                painter.setPen(QPen(PALETTE.qcolor("border"), 1, Qt.PenStyle.DashLine))
                painter.drawRect(plan_rect)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(QPen(PALETTE.qcolor("border"), 1))
            for polygon in self._zones:
                painter.drawPolygon(transform.map(_polygon(polygon)))
            self._paint_target(painter, transform)
            painter.setPen(PALETTE.qcolor("text"))
            painter.drawText(
                self.rect().adjusted(10, 6, -10, -6),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
                f"{self._floor_name}: {self.target.name}",
            )
        finally:
            painter.end()

    def _paint_target(self, painter: QPainter, transform: QTransform) -> None:
        color = PALETTE.qcolor(SEVERITY_COLOR_ROLE.get(self._severity, "focus"))
        if self.target.outline is not None:
            shape = transform.map(_polygon(self.target.outline))
            fill = QColor(color)
            fill.setAlpha(110)
            painter.setBrush(QBrush(fill))
            painter.setPen(QPen(color, 3))
            painter.drawPolygon(shape)
            # a second, dashed outline a little outside: the target is found by shape too
            bounds = shape.boundingRect().adjusted(-7, -7, 7, 7)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(QPen(PALETTE.qcolor("text"), 2, Qt.PenStyle.DashLine))
            painter.drawRect(bounds)
        if self.target.camera_position is not None:
            at = transform.map(QPointF(*self.target.camera_position))
            painter.setPen(QPen(PALETTE.qcolor("wall"), 2))
            painter.setBrush(PALETTE.qcolor("focus"))
            painter.drawEllipse(at, 7, 7)
            painter.setPen(PALETTE.qcolor("text"))
            painter.drawText(at + QPointF(10, 4), f"camera: {self._camera}")


def _polygon(points: tuple[tuple[float, float], ...]) -> QPolygonF:
    return QPolygonF([QPointF(x, y) for x, y in points])


# --------------------------------------------------------------------------- dialogs


class _NumberPicker(QObject):
    """Number keys 1-9 pick the list's rows (instead of the list's type-ahead search)."""

    def __init__(self, target: QListWidget, after_pick: QWidget | None = None) -> None:
        super().__init__(target)
        self._list = target
        self._after_pick = after_pick
        target.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._list and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            key = event.key()
            if Qt.Key.Key_1.value <= key <= Qt.Key.Key_9.value:
                row = key - Qt.Key.Key_1.value
                if row < self._list.count():
                    self._list.setCurrentRow(row)
                    if self._after_pick is not None:
                        self._after_pick.setFocus(Qt.FocusReason.ShortcutFocusReason)
                return True
        return False


class _AlarmDialog(QDialog):
    """What both dialogs share: the alarms' summary, the refusal line, Enter and Esc, and waiting
    for the core's answers to the actions the dialog posted."""

    def __init__(
        self, site: Site, alarms: Sequence[Alarm], title: str, parent: QWidget | None
    ) -> None:
        super().__init__(parent)
        if not alarms:
            raise ValueError("a dialog about alarms needs at least one alarm")
        self.alarms: tuple[Alarm, ...] = tuple(alarms)
        self.alarm = self.alarms[0]
        self._site = site
        self.setWindowTitle(title)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.pending: list[Action] = []  # posted, not answered yet
        self._answers: list[ActionAnswer] = []
        self.summary_label = QLabel(self._summary_text())
        self.summary_label.setWordWrap(True)
        self.summary_label.setProperty("role", "heading")
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setVisible(False)
        self.error_label.setTextFormat(Qt.TextFormat.PlainText)
        self.error_label.setStyleSheet(
            f"color: {PALETTE.offline}; border: 2px solid {PALETTE.offline}; padding: 4px;"
        )
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        cancel = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        cancel.setText("Cancel (Esc)")
        for button in self.buttons.buttons():
            button.setIcon(QIcon())  # words only (the keys are in them)
        self.ok_button.setDefault(True)
        self._body = QVBoxLayout(self)
        self._body.addWidget(self.summary_label)

    def _summary_text(self) -> str:
        return alarm_summary(self._site, self.alarm)

    @property
    def ok_button(self) -> QPushButton:
        return self.buttons.button(QDialogButtonBox.StandardButton.Ok)

    @property
    def last_error(self) -> str | None:
        return self.error_label.text() if self.error_label.isVisible() else None

    def show_refusal(self, what: str, exc: BaseException | str) -> None:
        reason = exc if isinstance(exc, str) else refusal_text(exc)
        self._show_error_lines([f"{what}: {reason}"])

    def _show_error_lines(self, lines: Sequence[str]) -> None:
        for line in lines:
            log.warning("%s", line)
        self.error_label.setText("\n".join(f"⚠ {line}" for line in lines))
        self.error_label.setVisible(True)
        self.error_label.setAccessibleDescription("; ".join(lines))

    def _finish_layout(self) -> None:
        self._body.addWidget(self.error_label)
        self._body.addWidget(self.buttons)

    # -- waiting for the core's answers

    def _send(self, post: Callable[[Action], None], *actions: Action) -> None:
        self.pending = list(actions)
        self._answers = []
        self.ok_button.setEnabled(False)  # one round of answers at a time
        self.ok_button.setText("Sending…")
        for action in actions:
            post(action)

    def answered(self, answer: ActionAnswer) -> bool:
        """The core's answer to one of this dialog's actions (False: not ours)."""
        if not any(answer.action is a for a in self.pending):
            return False
        self.pending = [a for a in self.pending if a is not answer.action]
        self._answers.append(answer)
        if self.pending:
            return True  # more answers to come
        answers, self._answers = self._answers, []
        self._restore_ok()
        refused = [a for a in answers if not a.ok]
        if not refused:
            self._done(answers)
            super().accept()
        else:
            self._refused(answers)
        return True

    def _restore_ok(self) -> None:
        self.ok_button.setEnabled(True)

    def _done(self, answers: list[ActionAnswer]) -> None:
        """Every step was made (subclasses note what)."""

    def _refused(self, answers: list[ActionAnswer]) -> None:
        """Some step was refused: say which and why (the dialog stays open)."""
        lines = []
        for answer in answers:
            if not answer.ok:
                alarm_id = getattr(answer.action, "alarm_id", "?")
                lines.append(
                    f"Cannot {answer.action.verb} alarm {alarm_id}: {answer.refusal or 'refused'}"
                )
        self._show_error_lines(lines)


class DispatchDialog(_AlarmDialog):
    """Pick a guard (1-9), see where to send them, Enter sends, Esc cancels.

    After `accepted`, `guard` says who was sent."""

    def __init__(
        self,
        post: Callable[[Action], None],
        site: Site,
        alarm: Alarm,
        user: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(site, [alarm], f"Dispatch a guard: alarm {alarm.alarm_id}", parent)
        self._post = post
        self._user = user
        self.guard: str | None = None
        self.guard_list = QListWidget()
        self.guard_list.setAccessibleName("guards")
        for number, guard in enumerate(site.guards, start=1):
            key = f"{number}  " if number <= 9 else "    "
            item = QListWidgetItem(f"{key}{guard.name} — {guard.post}")
            item.setData(Qt.ItemDataRole.UserRole, guard.id)
            item.setToolTip(f"guard {guard.id}, posted at {guard.post}")
            self.guard_list.addItem(item)
        if self.guard_list.count():
            self.guard_list.setCurrentRow(0)
        _NumberPicker(self.guard_list)
        self.map = AlarmLocationMap(site, alarm)
        hint = QLabel("1-9 pick a guard · Enter sends · Esc cancels")
        hint.setProperty("role", "muted")
        left = QVBoxLayout()
        left.addWidget(QLabel("Guard (post):"))
        left.addWidget(self.guard_list)
        left.addWidget(hint)
        row = QHBoxLayout()
        row.addLayout(left, 1)
        row.addWidget(self.map, 2)
        self._body.addLayout(row)
        self.ok_button.setText("Send guard (Enter)")
        self._finish_layout()
        self.guard_list.setFocus()

    def selected_guard_id(self) -> str | None:
        item = self.guard_list.currentItem()
        return None if item is None else str(item.data(Qt.ItemDataRole.UserRole))

    @Slot()
    def accept(self) -> None:
        guard_id = self.selected_guard_id()
        if guard_id is None:
            self.show_refusal("Cannot dispatch", ValueError("pick a guard first (1-9)"))
            return
        if not self.pending:
            self._send(self._post, Dispatch(self.alarm.alarm_id, guard_id, self._user))

    def _restore_ok(self) -> None:
        super()._restore_ok()
        self.ok_button.setText("Send guard (Enter)")

    def _done(self, answers: list[ActionAnswer]) -> None:
        action = answers[-1].action
        assert isinstance(action, Dispatch)
        self.guard = action.guard_id
        log.info("alarm %d: guard %s dispatched by %s", self.alarm.alarm_id, self.guard, self._user)

    def _refused(self, answers: list[ActionAnswer]) -> None:
        answer = answers[-1]
        self.show_refusal(f"Cannot {answer.action.verb}", answer.refusal or "refused")


class ResolveDialog(_AlarmDialog):
    """Pick an outcome (1-5; required), type an optional note, Enter resolves, Esc cancels.

    Picking an outcome by its number moves to the note, so `2`, a note, Enter is the whole job.
    Given several alarms, it says how many and lists them, and resolves each with the one
    outcome and note: each alarm is its own action, answered by the core on its own; a refusal
    is shown for its alarm, the alarms that were resolved leave the list, and the dialog stays
    open for the rest. A NEW alarm is acknowledged first (both steps stored in the monitor's
    name): choosing its outcome is looking at it."""

    def __init__(
        self,
        post: Callable[[Action], None],
        site: Site,
        alarms: Alarm | Sequence[Alarm],
        user: str,
        parent: QWidget | None = None,
    ) -> None:
        group = (alarms,) if isinstance(alarms, Alarm) else tuple(alarms)
        super().__init__(site, group, self._title_of(group), parent)
        self._post = post
        self._user = user
        self.outcome: Outcome | None = None
        self.resolved: list[int] = []  # the alarms the core resolved through this dialog
        self.alarm_list = QListWidget()
        self.alarm_list.setAccessibleName("alarms to resolve")
        self.alarm_list.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.alarm_list.setSelectionMode(QListWidget.SelectionMode.NoSelection)
        self.alarm_list.setVisible(len(group) > 1)
        self.new_label = QLabel()
        self.new_label.setWordWrap(True)
        self.outcome_list = QListWidget()
        self.outcome_list.setAccessibleName("outcome")
        for number, outcome in enumerate(Outcome, start=1):
            item = QListWidgetItem(f"{number}  {outcome_label(outcome)}")
            item.setData(Qt.ItemDataRole.UserRole, outcome.value)
            self.outcome_list.addItem(item)
        self.outcome_list.setCurrentRow(-1)  # no default: the operator must choose
        self.outcome_list.itemSelectionChanged.connect(self._outcome_changed)
        self.note_edit = QLineEdit()
        self.note_edit.setAccessibleName("note")
        _NumberPicker(self.outcome_list, after_pick=self.note_edit)
        hint = QLabel("1-5 pick the outcome · then type a note · Enter resolves · Esc cancels")
        hint.setProperty("role", "muted")
        self._body.addWidget(self.alarm_list)
        self._body.addWidget(self.new_label)
        self._body.addWidget(QLabel("Outcome (required):"))
        self._body.addWidget(self.outcome_list)
        self._body.addWidget(self.note_edit)
        self._body.addWidget(hint)
        self.ok_button.setEnabled(False)
        self._finish_layout()
        self._show_alarms()
        self.outcome_list.setFocus()

    @staticmethod
    def _title_of(alarms: Sequence[Alarm]) -> str:
        if len(alarms) == 1:
            return f"Resolve alarm {alarms[0].alarm_id}"
        return f"Resolve {len(alarms)} alarms"

    def _summary_text(self) -> str:
        if len(self.alarms) == 1:
            return super()._summary_text()
        return f"Resolve {len(self.alarms)} alarms with one outcome and note:"

    def _show_alarms(self) -> None:
        several = len(self.alarms) > 1
        self.setWindowTitle(self._title_of(self.alarms))
        self.summary_label.setText(self._summary_text())
        self.alarm_list.clear()
        for alarm in self.alarms:
            item = QListWidgetItem(alarm_summary(self._site, alarm))
            item.setData(Qt.ItemDataRole.UserRole, alarm.alarm_id)
            self.alarm_list.addItem(item)
        self.alarm_list.setVisible(several)
        if several:
            rows = min(len(self.alarms), 8)
            frame = 2 * self.alarm_list.frameWidth()
            scroll = self.alarm_list.horizontalScrollBar().sizeHint().height()
            self.alarm_list.setFixedHeight(
                self.alarm_list.sizeHintForRow(0) * rows + frame + scroll
            )
            self.setMinimumWidth(min(900, self.alarm_list.sizeHintForColumn(0) + 40))
        self.alarm = self.alarms[0]
        new = [a for a in self.alarms if a.state == AlarmState.RAISED]
        if not new:
            self.new_label.setVisible(False)
        elif not several:
            self.new_label.setText("This alarm is NEW: resolving it acknowledges it first.")
            self.new_label.setVisible(True)
        else:
            count = "1 of them is" if len(new) == 1 else f"{len(new)} of them are"
            self.new_label.setText(
                f"{count} NEW: resolving acknowledges {'it' if len(new) == 1 else 'them'} first."
            )
            self.new_label.setVisible(True)
        self.note_edit.setPlaceholderText(
            "Note (optional): what happened, who was there"
            + (f" (the same note on all {len(self.alarms)})" if several else "")
        )
        self._restore_ok()

    def listed_alarm_ids(self) -> list[int]:
        """The alarms the dialog lists now (those still to resolve)."""
        return [a.alarm_id for a in self.alarms]

    def selected_outcome(self) -> Outcome | None:
        # the selection, not the current row: a list that gets the focus makes its first row
        # current without selecting it, and that must not count as the operator's choice
        items = self.outcome_list.selectedItems()
        if not items:
            return None
        return Outcome(str(items[0].data(Qt.ItemDataRole.UserRole)))

    @Slot()
    def _outcome_changed(self) -> None:
        self.ok_button.setEnabled(self.selected_outcome() is not None and not self.pending)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if enter and self.selected_outcome() is None:
            # QDialog would skip a disabled default button silently: say what is missing
            self.show_refusal("Cannot resolve", ValueError("pick an outcome first (1-5)"))
            return
        super().keyPressEvent(event)

    @Slot()
    def accept(self) -> None:
        outcome = self.selected_outcome()
        if outcome is None:
            self.show_refusal("Cannot resolve", ValueError("pick an outcome first (1-5)"))
            return
        if self.pending:
            return
        note = self.note_edit.text().strip() or None
        actions: list[Action] = []
        for alarm in self.alarms:
            if alarm.state == AlarmState.RAISED:
                actions.append(Acknowledge(alarm.alarm_id, self._user))
            actions.append(Resolve(alarm.alarm_id, outcome, self._user, note))
        self._send(self._post, *actions)

    def _restore_ok(self) -> None:
        super()._restore_ok()
        self.ok_button.setEnabled(self.selected_outcome() is not None)
        several = len(self.alarms) > 1
        self.ok_button.setText(
            f"Resolve {len(self.alarms)} (Enter)" if several else "Resolve (Enter)"
        )

    def _note_resolved(self, answers: list[ActionAnswer]) -> set[int]:
        done = {a.action.alarm_id for a in answers if a.ok and isinstance(a.action, Resolve)}
        for answer in answers:
            if answer.ok and isinstance(answer.action, Resolve):
                self.outcome = answer.action.outcome
        self.resolved.extend(sorted(done - set(self.resolved)))
        return done

    def _done(self, answers: list[ActionAnswer]) -> None:
        self._note_resolved(answers)
        log.info(
            "alarms %s resolved by %s: %s",
            ", ".join(str(i) for i in self.resolved),
            self._user,
            self.outcome.value if self.outcome else "?",
        )

    def _refused(self, answers: list[ActionAnswer]) -> None:
        done = self._note_resolved(answers)
        lines: list[str] = []
        seen: set[object] = set()
        for answer in answers:
            alarm_id = getattr(answer.action, "alarm_id", "?")
            if answer.ok or alarm_id in seen:
                continue  # one line per alarm: its first refusal says why
            seen.add(alarm_id)
            lines.append(
                f"Alarm {alarm_id}: cannot {answer.action.verb}: {answer.refusal or 'refused'}"
            )
        if done:
            lines.append(f"{len(done)} of them {'was' if len(done) == 1 else 'were'} resolved.")
        # the resolved ones leave the list; the rest wait for another Enter (or Esc)
        now = {a.alarm.alarm_id: a.alarm for a in answers if a.ok and a.alarm is not None}
        left = tuple(now.get(a.alarm_id, a) for a in self.alarms if a.alarm_id not in done)
        if not left:  # a step was refused, yet every alarm is resolved (another console)
            self._done(answers)
            QDialog.accept(self)
            return
        self.alarms = left
        self._show_alarms()
        self._show_error_lines(lines)
