"""An alarm's detail: who was seen where and when, its snapshot and clip, and every step taken.

Opened from the alarm queue (Enter or a double-click on a row); a window of its own that does not
block the console (the monitor can keep handling alarms while it is open) and closes with Esc.
It shows:

- the alarm in the words of the queue (`ui.alarm_words`): severity, rule, place, state;
- its sightings (`Alarm.occurrences`): camera, person (track), from, to ("still there" while
  the rule still finds them), the closest distance; for an incident across a zone, the cameras
  that saw it and those that see it now;
- the snapshot taken when it was raised, at a readable size, the same frame without boxes, and
  its clip from each camera that saw it (`ui.evidence_view`): the camera's own video from the
  pre-roll before the alarm to the post-roll after its risk cleared, with the tracked boxes
  drawn over it as it plays; while the clip is still being recorded the detail says so and asks
  again every few seconds;
- its steps as stored (raised, acknowledged, new activity, seen, escalated, guard sent, guard on
  scene, resolved, comments), each with its time in the site's time zone and who took it.

The sightings come with the alarm itself (the core's in-memory copy, live). The steps, pictures
and clips are in the store, and the GUI thread never touches the store: they are asked for
through the bridge
(`PipelineBridge.ask`), read on the runtime's reader thread, and shown when the answer arrives;
every change of the alarm asks again (one read at a time).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.alarms import Alarm
from console.site_file import Site
from console.store import (
    AlarmEventRecord,
    EventKind,
    Outcome,
    SnapshotKind,
    StoreFiles,
    alarm_events,
)
from console.store.incident_search import AlarmEvidence, alarm_evidence
from ui.alarm_words import outcome_words, rule_words, shown_state, step_words
from ui.bridge import PipelineBridge, QueryAnswer
from ui.dispatch_dialog import alarm_summary, camera_name, place_name
from ui.evidence_view import EvidenceTabs

log = logging.getLogger(__name__)

__all__ = ["AlarmDetail", "step_detail"]

SNAPSHOT_SIZE = QSize(640, 360)
EVIDENCE_POLL_MS = 3000  # while a clip is being recorded, its row is read again this often
OCCURRENCE_COLUMNS = ("Camera", "Person", "From", "To", "Closest")
STEP_COLUMNS = ("Time", "Step", "By", "Detail")


def _time(site: Site, at: datetime, day: datetime | None = None) -> str:
    local = at.astimezone(site.tz)
    if day is not None and local.date() != day.astimezone(site.tz).date():
        return f"{local:%Y-%m-%d %H:%M:%S}"
    return f"{local:%H:%M:%S}"


def _guard(site: Site, guard_id: object, post: object = None) -> str:
    try:
        guard = site.guard(str(guard_id))
    except KeyError:
        return f"{guard_id}" + (f" ({post})" if post else "")
    return f"{guard.name} ({post or guard.post})"


def step_detail(site: Site, kind: EventKind, detail: Mapping[str, Any] | None) -> str:
    """What a step's stored detail says, in words ('Anna (East wing)', 'False alarm: ...')."""
    facts = dict(detail or {})
    parts: list[str] = []
    if kind == EventKind.RAISE:
        distance = facts.get("distance_m")
        if isinstance(distance, int | float):
            parts.append(f"{distance:.2f} m from it")
        condition = facts.get("condition")
        if isinstance(condition, str):
            parts.append(condition.replace("_", " "))
    elif kind == EventKind.ACTIVITY:
        camera = facts.get("camera_id")
        if camera:
            parts.append(f"on {camera_name(site, str(camera))}")
        if facts.get("track_id") is not None:
            parts.append(f"person #{facts['track_id']}")
    elif kind == EventKind.ESCALATE:
        after = facts.get("after_s")
        if isinstance(after, int | float):
            parts.append(f"nobody acknowledged it within {after:.0f} s")
    elif kind in (EventKind.DISPATCH, EventKind.ARRIVE):
        if facts.get("guard_id"):
            parts.append(_guard(site, facts["guard_id"], facts.get("post")))
        if facts.get("outcome"):
            parts.append(str(facts["outcome"]))
    elif kind == EventKind.RESOLVE:
        outcome = facts.get("outcome")
        if outcome:
            try:
                parts.append(outcome_words(Outcome(outcome)))
            except ValueError:
                parts.append(str(outcome))
    elif kind == EventKind.COMMENT and facts.get("text"):
        parts.append(str(facts["text"]))
    if kind != EventKind.COMMENT and facts.get("note"):
        parts.append(f"note: {facts['note']}")
    return " · ".join(parts)


def _table(columns: Sequence[str], name: str) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(list(columns))
    table.setAccessibleName(name)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setWordWrap(False)
    table.verticalHeader().setVisible(False)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setStretchLastSection(True)
    return table


def _fill(table: QTableWidget, rows: Sequence[Sequence[str]]) -> None:
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            item = QTableWidgetItem(text)
            item.setToolTip(text)
            table.setItem(r, c, item)


class AlarmDetail(QDialog):
    """One alarm's sightings, snapshot and steps; non-modal, Esc closes it."""

    def __init__(
        self,
        site: Site,
        bridge: PipelineBridge,
        parent: QWidget | None = None,
        *,
        files: StoreFiles | None = None,
    ) -> None:
        super().__init__(parent)
        self.site = site
        self._bridge = bridge
        self.files = files  # the store's file area: where pictures and clips are
        self.alarm: Alarm | None = None
        self._asked: tuple[int, int] | None = None  # (token, alarm id) of the read in flight
        self._ask_again = False
        self._snapshot_path: str | None = None
        self.steps: list[AlarmEventRecord] = []
        self.steps_error: str | None = None
        self.reads = 0  # answers received (for tests)
        self.setModal(False)
        self.setWindowModality(Qt.WindowModality.NonModal)
        self.setAccessibleName("alarm detail")

        self.heading = QLabel()
        self.heading.setProperty("role", "heading")
        self.heading.setWordWrap(True)
        self.state_label = QLabel()
        self.state_label.setWordWrap(True)
        self.cameras_label = QLabel()
        self.cameras_label.setWordWrap(True)
        self.evidence = EvidenceTabs(site)
        self.evidence.setFixedSize(SNAPSHOT_SIZE + QSize(24, 150))
        self.snapshot = self.evidence.snapshot
        self.snapshot.setFixedSize(SNAPSHOT_SIZE)
        self.evidence_read: AlarmEvidence | None = None
        self._evidence_asked: tuple[int, int] | None = None  # (token, alarm id)
        self._evidence_timer = QTimer(self)
        self._evidence_timer.setSingleShot(True)
        self._evidence_timer.setInterval(EVIDENCE_POLL_MS)
        self._evidence_timer.timeout.connect(self._ask_evidence)
        self.occurrences = _table(OCCURRENCE_COLUMNS, "sightings")
        self.steps_table = _table(STEP_COLUMNS, "steps")
        self.steps_status = QLabel()
        self.steps_status.setProperty("role", "muted")
        self.steps_status.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        close = buttons.button(QDialogButtonBox.StandardButton.Close)
        close.setText("Close (Esc)")
        close.setIcon(QIcon())  # words only: the style's icon is no help

        sightings = QVBoxLayout()
        sightings.addWidget(QLabel("Sightings:"))
        sightings.addWidget(self.occurrences, 1)
        sightings.addWidget(self.cameras_label)
        top = QHBoxLayout()
        top.addWidget(self.evidence, 0, Qt.AlignmentFlag.AlignTop)
        top.addLayout(sightings, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.state_label)
        layout.addLayout(top)
        layout.addWidget(QLabel(f"Steps (time in {site.site.timezone}):"))
        layout.addWidget(self.steps_table, 1)
        layout.addWidget(self.steps_status)
        layout.addWidget(buttons)
        self.resize(1180, 900)
        self.finished.connect(self._forget)

    # -- what it shows -------------------------------------------------------------------------

    def show_alarm(self, alarm: Alarm) -> None:
        """Show this alarm (another one, or the same one changed) and read its steps again."""
        other = self.alarm is None or self.alarm.alarm_id != alarm.alarm_id
        self.alarm = alarm
        site = self.site
        self.setWindowTitle(f"Alarm {alarm.alarm_id}: {rule_words(alarm.rule)} at "
                            f"{place_name(site, alarm)}")  # fmt: skip
        self.heading.setText(alarm_summary(site, alarm))
        state = shown_state(alarm)
        facts = [f"Now: {state.word}"]
        facts.append("risk still present" if alarm.active else "risk no longer seen")
        if alarm.escalated:
            facts.append("escalated")
        if alarm.storage_fault is not None:
            facts.append(f"NOT STORED: {alarm.storage_fault}")
        self.state_label.setText(" · ".join(facts))
        self.cameras_label.setText(self.cameras_text())
        self.cameras_label.setToolTip(self.cameras_label.text())
        _fill(self.occurrences, self.occurrence_rows())
        self._show_snapshot(alarm)
        if other:
            self.steps = []
            self.steps_error = None
            _fill(self.steps_table, [])
            self.evidence.forget()
            self.evidence_read = None
        self._ask_steps()
        if other:
            self._ask_evidence()

    def alarm_changed(self, alarm: Alarm) -> None:
        """An alarm changed in the core: follow it when it is the one shown."""
        if self.alarm is not None and alarm.alarm_id == self.alarm.alarm_id:
            self.show_alarm(alarm)

    def cameras_text(self) -> str:
        alarm = self.alarm
        if alarm is None:
            return ""
        names = [camera_name(self.site, c) for c in alarm.cameras]
        now = [camera_name(self.site, c) for c in alarm.cameras_now]
        if len(names) == 1 and not alarm.zone_wide:
            return f"Camera: {names[0]}" + (" (sees it now)" if now else "")
        kind = "Incident across the zone, seen by" if alarm.zone_wide else "Seen by"
        text = f"{kind} {len(names)} camera{'s' if len(names) != 1 else ''}: {', '.join(names)}"
        return text + (f" · sees it now: {', '.join(now)}" if now else " · none sees it now")

    def occurrence_rows(self) -> list[list[str]]:
        """Camera, person, from, to ('still there' while found), closest; oldest first."""
        alarm = self.alarm
        if alarm is None:
            return []
        rows = []
        for o in sorted(alarm.occurrences, key=lambda o: o.started_at):
            person = f"#{o.track_id}" if o.track_id is not None else "—"
            until = "still there" if o.open else _time(self.site, o.last_seen_at, o.started_at)
            # no distance where the rule judged in the image (an uncalibrated camera)
            closest = f"{o.closest_m:.2f} m" if o.closest_m is not None else "—"
            rows.append(
                [
                    camera_name(self.site, o.camera_id),
                    person,
                    _time(self.site, o.started_at, alarm.raised_at),
                    until,
                    closest,
                ]
            )
        return rows

    def step_rows(self) -> list[list[str]]:
        """Time (site time), step, who, what: as read from the store, in order."""
        alarm = self.alarm
        day = alarm.raised_at if alarm is not None else None
        rows = []
        for e in self.steps:
            kind = EventKind(e.kind)
            said = step_detail(self.site, kind, e.detail)
            if kind == EventKind.RAISE and alarm is not None:
                seen = f"on {camera_name(self.site, alarm.camera_id)}"
                said = f"{seen} · {said}" if said else seen
            rows.append([_time(self.site, e.at, day), step_words(kind), e.user, said])
        return rows

    @property
    def snapshot_size(self) -> QSize:
        pixmap = self.snapshot.pixmap()
        return QSize() if pixmap is None or pixmap.isNull() else pixmap.size()

    def _show_snapshot(self, alarm: Alarm) -> None:
        path = alarm.snapshot_path
        if path == self._snapshot_path and not self.snapshot.pixmap().isNull():
            return
        self._snapshot_path = path
        if not path:
            self.snapshot.setPixmap(QPixmap())
            self.snapshot.setText(
                "the snapshot is being stored" if alarm.unsaved else "no snapshot was stored"
            )
            return
        image = QImage(path)
        if image.isNull():
            log.warning("alarm %d: snapshot %s not readable", alarm.alarm_id, path)
            self.snapshot.setPixmap(QPixmap())
            self.snapshot.setText("the snapshot cannot be read")
            return
        scaled = image.scaled(
            SNAPSHOT_SIZE,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        self.snapshot.setPixmap(QPixmap.fromImage(scaled))
        self.snapshot.setToolTip(f"snapshot of alarm {alarm.alarm_id}")

    # -- its steps, read off the GUI thread ----------------------------------------------------

    @property
    def reading(self) -> bool:
        return self._asked is not None

    def _ask_steps(self) -> None:
        alarm = self.alarm
        if alarm is None:
            return
        if self._asked is not None:
            self._ask_again = True  # one read at a time; the newest state is asked for next
            return
        self._ask_again = False
        if not self.steps:
            self.steps_status.setText("reading the steps…")
        token = self._bridge.ask(alarm_events, alarm.alarm_id, then=self._steps_arrived)
        self._asked = (token, alarm.alarm_id)

    def _steps_arrived(self, answer: QueryAnswer) -> None:
        asked, self._asked = self._asked, None
        self.reads += 1
        alarm = self.alarm
        if asked is None or alarm is None or asked[1] != alarm.alarm_id:
            self._ask_steps()  # an answer about the alarm shown before: ask for this one
            return
        if answer.ok:
            self.steps = list(answer.value)
            self.steps_error = None
            _fill(self.steps_table, self.step_rows())
            waiting = alarm.unsaved
            self.steps_status.setText(
                f"{waiting} step{'s are' if waiting != 1 else ' is'} still being written"
                if waiting
                else ""
            )
        else:
            self.steps_error = answer.error
            self.steps_status.setText(f"⚠ The steps cannot be read now: {answer.error}")
        if self._ask_again:
            self._ask_steps()

    def _forget(self) -> None:
        if self._asked is not None:
            self._bridge.forget(self._asked[0])
            self._asked = None
        self._ask_again = False
        self._evidence_timer.stop()
        if self._evidence_asked is not None:
            self._bridge.forget(self._evidence_asked[0])
            self._evidence_asked = None
        self.evidence.stop()

    # -- its pictures and clips, read off the GUI thread ---------------------------------------

    @property
    def is_running(self) -> bool:
        """A timer of its own still runs (the evidence poll, the clip player)."""
        return self._evidence_timer.isActive() or self.evidence.player.is_running

    def _ask_evidence(self) -> None:
        alarm = self.alarm
        if alarm is None or self._evidence_asked is not None:
            return
        token = self._bridge.ask(alarm_evidence, alarm.alarm_id, then=self._evidence_arrived)
        self._evidence_asked = (token, alarm.alarm_id)

    def _evidence_arrived(self, answer: QueryAnswer) -> None:
        asked, self._evidence_asked = self._evidence_asked, None
        alarm = self.alarm
        if asked is None or alarm is None or asked[1] != alarm.alarm_id:
            self._ask_evidence()
            return
        if not answer.ok:
            self.evidence.clip_status.setText(f"⚠ The clip cannot be read now: {answer.error}")
            return
        found: AlarmEvidence = answer.value
        self.evidence_read = found
        # the annotated snapshot comes with the alarm itself; the clean one from the store
        self.evidence.show_snapshots(found.snapshots, self.files, kinds=(SnapshotKind.CLEAN,))
        self.evidence.show_clips(found.clips, self.files, alarm.severity.value)
        if found.recording:
            self._evidence_timer.start()
