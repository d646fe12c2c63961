"""The alarm queue: every open alarm, most urgent first, handled from the keyboard.

A table over `AlarmManager.open_alarms()` in the manager's order (most severe, unacknowledged,
newest first). An unacknowledged alarm stands out by more than colour: its row is bold, its
status column shows a warning marker and the word NEW. Each row shows the snapshot (loaded from
`snapshot_path` when the row is first on screen, then cached), severity (word and bars), camera,
protected object or zone, rule, time raised (site time) and the escalation countdown (seconds
left, then ESCALATED), which one timer refreshes while the queue is visible.

Several alarms can be selected at once (Shift/Ctrl with the arrows or clicks, Ctrl+A for all).
Keys (also buttons, the context menu and `menu()` / `alarm_actions` for the menu bar):
A or Space acknowledges every selected alarm that can be (a re-flagged one is "seen"),
R resolves the selected alarms with one outcome and note (the dialog says how many and lists
them), D opens the dispatch dialog and G records that the dispatched guard arrived, both for the
current row only (they say so when several are selected). Enter or a double-click opens the
alarm's detail (`ui.alarm_detail`): its sightings, its snapshot, its steps. So a night of false
alarms is cleared with Ctrl+A, R, 1, Enter. A behaviour advisory (console.behaviour) shows its
reason in the rule column ("Unusual behaviour: stayed 9 min near The Milkmaid; usual is under
1 min") and its place as the anonymous visitor ("visitor 17 in East gallery"); N dismisses the
current one as normal (resolved as a false alarm, fed back to the model, audited).

The view changes nothing itself: it posts one action per alarm to the core through the bridge,
and the core answers each on the GUI thread; a refusal (an illegal step, an unknown guard) is
shown for its alarm in the queue's message line (or in the dialog that asked) and emitted as
`message`. The view reads the open alarms from the manager (a copy under its lock, no I/O) and
never touches the store.

The columns fit the panel: those whose words are short (state, severity, people, times) keep
their width, and camera, object and rule share what is left, elided, with the whole text in
their tooltip, so Raised and Escalation are never scrolled out of sight.

Wiring (the core calls its listeners from its own thread; the one `PipelineBridge` carries them
to the GUI thread as `alarm_changed`):

    runtime = SiteRuntime(site, store, on_alarm=bridge.on_alarm, **bridge.callbacks())
    bridge.serve(runtime.post)
    queue = AlarmQueueView(runtime.alarms, site, "monitor-1", clock, bridge)
    queue.alarms_changed.connect(sound.set_alarms)
    queue.message.connect(window.statusBar().showMessage)
    window.menuBar().addMenu(queue.menu())
"""

from __future__ import annotations

import bisect
import logging
import math
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QItemSelection,
    QItemSelectionModel,
    QObject,
    QPointF,
    QSize,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QColor,
    QFont,
    QFontMetrics,
    QHideEvent,
    QImage,
    QImageReader,
    QKeySequence,
    QPainter,
    QPen,
    QPixmap,
    QPolygonF,
    QResizeEvent,
    QShowEvent,
    QStandardItem,
    QStandardItemModel,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from console.actions import Acknowledge, Action, ActionAnswer, GuardArrived
from console.alarms import TRANSITIONS, Alarm, AlarmManager
from console.behaviour.actions import DismissAsNormal
from console.clock import Clock
from console.rules.details import BehaviourDetail
from console.site_file import Site
from console.store import AlarmState
from ui.alarm_detail import AlarmDetail
from ui.alarm_words import (
    SEVERITY_BARS,
    SEVERITY_COLOR_ROLE,
    ShownState,
    advisory_reason,
    outcome_words,
    rule_words,
    severity_words,
    shown_state,
)
from ui.bridge import PipelineBridge
from ui.dispatch_dialog import DispatchDialog, ResolveDialog, camera_name, place_name
from ui.pacing import QUEUE_SHARE, Pacer
from ui.theme import PALETTE

log = logging.getLogger(__name__)

__all__ = [
    "COLUMNS",
    "AlarmQueueModel",
    "AlarmQueueView",
    "SnapshotThumbnails",
    "escalation_left_s",
    "escalation_text",
]

COLUMNS: tuple[str, ...] = (
    "Status",
    "Snapshot",
    "Severity",
    "Camera",
    "Where",
    "Rule",
    "People",
    "Raised",
    "Escalation",
)
STATUS, SNAPSHOT, SEVERITY, CAMERA, PLACE, RULE, PEOPLE, RAISED, ESCALATION = range(len(COLUMNS))
_DISPLAY = Qt.ItemDataRole.DisplayRole
_FONT = Qt.ItemDataRole.FontRole
_BACKGROUND = Qt.ItemDataRole.BackgroundRole
_FOREGROUND = Qt.ItemDataRole.ForegroundRole
_DECORATION = Qt.ItemDataRole.DecorationRole
_TIP = Qt.ItemDataRole.ToolTipRole
_SPOKEN = Qt.ItemDataRole.AccessibleTextRole
_ALIGNMENT = Qt.ItemDataRole.TextAlignmentRole
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_OWN_TIPS = (CAMERA, PEOPLE, SNAPSHOT)  # the other columns' tooltips say the same

HEADER_TIPS: dict[int, str] = {
    STATUS: "NEW, NEW ACTIVITY, Acknowledged, Guard sent, Guard on scene",
    CAMERA: "the camera that saw it (+N: more cameras saw the same incident)",
    PLACE: "the protected object or zone",
    PEOPLE: "people there now, or when the last one left (site time)",
    RAISED: "when it was raised (site time)",
    ESCALATION: "time left before it escalates to the supervisor",
}
ELASTIC_COLUMNS = (PLACE, CAMERA, RULE)  # share what the others leave, elided
WRAPPING_COLUMNS = (STATUS, PEOPLE, ESCALATION)  # short words that may take two lines
READABLE_ELASTIC_PX = 110
MIN_ELASTIC_PX = 56
FIT_EVERY_MS = 250  # a flood refits the columns at most this often
WRITTEN_ROWS = 64  # rows of the queue kept written before the view says which are on screen
WRITTEN_AHEAD = 6  # and rows kept written beyond the last one on screen (a scroll writes
# the rows it brings into sight before they are painted: these only spare it a few)
REFRESH_EVERY_MS = 100  # and re-reads the open alarms at most this often
THUMBNAIL = QSize(72, 40)  # 16:9; the alarm's detail shows the snapshot large


# --------------------------------------------------------------------------- time left


def escalation_left_s(alarm: Alarm, site: Site, now_s: float) -> float | None:
    """Seconds until an unacknowledged (or re-flagged, not yet seen) alarm escalates (<= 0:
    due); None once acknowledged and seen."""
    if alarm.state == AlarmState.RAISED:
        since = alarm.raised_at
    elif alarm.needs_attention and alarm.attention_since is not None:
        since = alarm.attention_since
    else:
        return None
    limit = float(getattr(site.alarms.escalate_after_s, alarm.severity))
    return limit - (now_s - since.timestamp())


def escalation_text(alarm: Alarm, site: Site, now_s: float) -> str:
    """'25 s', '4:10', 'ESCALATED'; for a handled alarm '' or 'escalated earlier'."""
    left = escalation_left_s(alarm, site, now_s)
    if left is None:
        return "escalated earlier" if alarm.escalated else ""
    if alarm.escalated or left <= 0:
        return "ESCALATED"
    whole = math.ceil(left)
    return f"{whole} s" if whole < 60 else f"{whole // 60}:{whole % 60:02d}"


def people_text(alarm: Alarm, site: Site) -> str:
    """'2 now', or when nobody is found there any more 'left 02:13:40' (site time); '' for an
    alarm about no person (a camera fault, a moved object)."""
    if alarm.people_now:
        return f"{alarm.people_now} now"
    people = [o for o in alarm.occurrences if o.track_id is not None]
    if not people:
        return ""
    last = max(o.last_seen_at for o in people)
    return f"left {last.astimezone(site.tz):%H:%M:%S}"


def people_tooltip(alarm: Alarm, site: Site) -> str:
    people = [o for o in alarm.occurrences if o.track_id is not None]
    if not people:
        return "no person is part of this alarm"
    last = max(o.last_seen_at for o in people).astimezone(site.tz)
    now = alarm.people_now
    lines = [
        f"{now} {'person' if now == 1 else 'people'} there now" if now else "nobody there now",
        f"at least {alarm.people_seen} at once; {len(people)} sighting(s) in all",
        f"last seen {last:%H:%M:%S}",
    ]
    return "\n".join(lines)


def cameras_text(alarm: Alarm, site: Site) -> str:
    """'East gallery', or for an incident seen by several cameras 'East gallery +2'."""
    names = [camera_name(site, c) for c in alarm.cameras]
    return names[0] if len(names) == 1 else f"{names[0]} +{len(names) - 1}"


# --------------------------------------------------------------------------- pictures


class SnapshotThumbnails:
    """Alarm snapshots scaled to thumbnails, read from disk on first request, then cached
    (least recently used dropped past `capacity`; a missing file is remembered too)."""

    def __init__(self, size: QSize | None = None, capacity: int = 256) -> None:
        self.size = size or QSize(THUMBNAIL)
        self.capacity = capacity
        self._cache: OrderedDict[str, QPixmap | None] = OrderedDict()
        self.loads = 0  # files read, for tests and the health panel

    def cached(self, path: str | None) -> QPixmap | None:
        """The thumbnail if it was read already (no disk read)."""
        return self._cache.get(path) if path else None

    def get(self, path: str | None) -> QPixmap | None:
        if not path:
            return None
        if path in self._cache:
            self._cache.move_to_end(path)
            return self._cache[path]
        self.loads += 1
        image = self.read_small(path)
        thumb = None if image is None else QPixmap.fromImage(image)
        self._cache[path] = thumb
        while len(self._cache) > self.capacity:
            self._cache.popitem(last=False)
        return thumb

    def read_small(self, path: str) -> QImage | None:
        """The snapshot at thumbnail size (None: unreadable, logged). The JPEG is decoded
        at the size asked, not decoded whole and then scaled: libjpeg skips the detail a
        thumbnail cannot show (a 768x576 snapshot in 1.0 ms instead of 4.5,
        bench/queue_thumbnails.py)."""
        reader = QImageReader(path)
        full = reader.size()
        if full.isValid():
            reader.setScaledSize(full.scaled(self.size, Qt.AspectRatioMode.KeepAspectRatio))
        image = reader.read()
        if image.isNull():
            log.warning("snapshot %s not readable: %s", Path(path).name, reader.errorString())
            return None
        if not full.isValid():  # a format that does not say its size before it is read
            image = image.scaled(
                self.size,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        return image


_MARKS: dict[tuple[str, int], QPixmap] = {}


def _mark(kind: str, side: int = 16) -> QPixmap:
    """Small shapes that say what colour also says: a warning triangle for a new alarm, a tick
    for an acknowledged one, an arrow for a guard on the way, 1-3 bars for severity."""
    key = (kind, side)
    if key in _MARKS:
        return _MARKS[key]
    pixmap = QPixmap(side, side)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    s = float(side)
    if kind == "new":
        color = PALETTE.qcolor("offline")
        painter.setPen(QPen(color, 1.5))
        painter.setBrush(color)
        painter.drawPolygon(
            QPolygonF([QPointF(s / 2, 1), QPointF(s - 1, s - 1), QPointF(1, s - 1)])
        )
        painter.setPen(QPen(PALETTE.qcolor("wall"), 2))
        painter.drawLine(QPointF(s / 2, s * 0.38), QPointF(s / 2, s * 0.66))
        painter.drawPoint(QPointF(s / 2, s * 0.82))
    elif kind == "acknowledged":
        painter.setPen(QPen(PALETTE.qcolor("live"), 2))
        painter.drawPolyline(
            QPolygonF([QPointF(2, s * 0.55), QPointF(s * 0.4, s - 3), QPointF(s - 2, 3)])
        )
    elif kind == "dispatched":
        painter.setPen(QPen(PALETTE.qcolor("focus"), 2))
        painter.drawLine(QPointF(2, s / 2), QPointF(s - 3, s / 2))
        painter.drawPolyline(
            QPolygonF([QPointF(s * 0.55, 3), QPointF(s - 3, s / 2), QPointF(s * 0.55, s - 3)])
        )
    elif kind == "on_scene":  # a guard standing at a place: a pin
        color = PALETTE.qcolor("focus")
        painter.setPen(QPen(color, 2))
        painter.setBrush(color)
        painter.drawEllipse(QPointF(s / 2, s * 0.38), s * 0.26, s * 0.26)
        painter.drawLine(QPointF(s / 2, s * 0.6), QPointF(s / 2, s - 1))
    elif kind.startswith("bars-"):
        severity = kind.removeprefix("bars-")
        bars = SEVERITY_BARS.get(severity, 1)
        color = PALETTE.qcolor(SEVERITY_COLOR_ROLE.get(severity, "muted"))
        width = s / 4
        for i in range(3):
            height = s * (i + 1) / 3
            x = i * (width + 1.5) + 1
            fill = color if i < bars else QColor(PALETTE.border)
            painter.fillRect(int(x), int(s - height), int(width), int(height), fill)
    painter.end()
    _MARKS[key] = pixmap
    return pixmap


# --------------------------------------------------------------------------- the model


def _in_order(places: Sequence[int]) -> list[int]:
    """Indexes of a longest run of `places` that rises (not necessarily adjacent): the rows
    that can stay where they are when the rest move. -1 (a row that leaves) is never kept."""
    tails: list[int] = []  # tails[k]: where the rising run of k+1 with the lowest end ends
    ends: list[int] = []  # and that end (places[tails[k]]), for the search
    before: list[int] = [-1] * len(places)
    for i, place in enumerate(places):
        if place < 0:
            continue
        k = bisect.bisect_left(ends, place)
        before[i] = tails[k - 1] if k else -1
        if k == len(tails):
            tails.append(i)
            ends.append(place)
        else:
            tails[k], ends[k] = i, place
    kept: list[int] = []
    i = tails[-1] if tails else -1
    while i >= 0:
        kept.append(i)
        i = before[i]
    return kept[::-1]


def _same(old: Any, new: Any) -> bool:
    """Whether a cell's role still holds this value (Qt values compare by value, pixmaps by
    identity)."""
    if old is new:
        return True
    if old is None or new is None or type(old) is not type(new):
        return False
    try:
        return bool(old == new)
    except TypeError:
        return False


_BOLD: list[QFont] = []


def _bold_font() -> QFont:
    """The font of an alarm not acknowledged yet (made once, after the application)."""
    if not _BOLD:
        font = QFont()
        font.setBold(True)
        _BOLD.append(font)
    return _BOLD[0]


class AlarmQueueModel(QStandardItemModel):
    """Open alarms as table rows, in the order given (the manager's).

    Every cell's words, font, colours, marks and tooltip are kept in Qt's own items, written
    when an alarm's row changes, so painting the table calls no Python at all. A model that
    answers `data()` in Python is called back for every role of every visible cell on every
    paint (about 30,000 calls in a 10 s burst of 200 alarms), and while the core's threads run
    Python each call back waits for the interpreter lock: such a paint took 92 ms instead of
    16 ms with one busy thread (40 rows). A new order of the open alarms moves, inserts and
    removes only the rows that changed place.

    Only the rows on screen (and a few beyond: `show_rows`, which the view calls after each
    re-read, scroll and resize; the first WRITTEN_ROWS until it does) are written: in a flood
    of a thousand open alarms the core changes hundreds of them a second, and writing every
    changed row took 0.4 s a re-read. A row out of sight is written when it comes into sight.
    Snapshot thumbnails are read from disk the same way, then cached; the escalation column's
    time left is rewritten on each `refresh_countdown` (the view's countdown timer)."""

    def __init__(
        self,
        site: Site,
        clock: Clock,
        thumbnails: SnapshotThumbnails | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self._site = site
        self._clock = clock
        self.thumbnails = thumbnails or SnapshotThumbnails()
        self._alarms: list[Alarm] = []
        self._rows: dict[int, int] = {}
        self._store_fault: str | None = None
        # per row, what its cells were last set to, by (column, role): a changed alarm
        # rewrites only the roles whose value changed
        self._shown: list[dict[tuple[int, int], Any]] = []
        self._texts: list[list[str]] = []  # per row, each column's words (read without Qt)
        self._written: list[Alarm | None] = []  # per row, the alarm its cells were written from
        self._window = (0, WRITTEN_ROWS - 1)  # the rows kept written (on screen and near it)
        for column, name in enumerate(COLUMNS):
            heading = QStandardItem(name)
            if column in HEADER_TIPS:
                heading.setToolTip(HEADER_TIPS[column])
            self.setHorizontalHeaderItem(column, heading)

    @property
    def store_fault(self) -> str | None:
        """The store's fault now, if any (the status column says "not stored yet")."""
        return self._store_fault

    @store_fault.setter
    def store_fault(self, fault: str | None) -> None:
        if fault != self._store_fault:
            self._store_fault = fault
            self._rewrite_all()

    def set_site(self, site: Site) -> None:
        """An edited site: names and places are read from it from now on."""
        self._site = site
        self._rewrite_all()

    def kept_rows(self) -> range:
        """The rows kept written (on screen and a few beyond), as far as there are rows."""
        first, last = self._window
        return range(min(first, len(self._alarms)), min(last + 1, len(self._alarms)))

    def show_rows(self, first: int, last: int) -> None:
        """The rows kept written from now on (those on screen and a few beyond): the ones
        whose alarm changed are written, the snapshots read, and, when the rows kept are
        others than before (a scroll, a resize), the time left rewritten. The view calls this
        after every re-read too, ten times a second in a burst: there the rows kept are the
        same and their time left is the countdown's to rewrite, once a second (rewriting it
        on every re-read was a tenth to a fifth of the re-read's cost in the burst bench)."""
        window = (max(first, 0), max(last, first, 0))
        moved, self._window = window != self._window, window
        self._write_window(clocked=moved)
        first, last = self._window
        for row in range(first, min(last, len(self._alarms) - 1) + 1):
            path = self._alarms[row].snapshot_path
            if path and self._shown[row].get((SNAPSHOT, _DECORATION)) is None:
                self._set(row, SNAPSHOT, _DECORATION, self.thumbnails.get(path))

    # -- contents

    def set_alarms(self, alarms: Sequence[Alarm]) -> None:
        """Show these alarms in this order: rows that left are removed, rows out of place
        moved (as few as keep the rest in order), new ones inserted, changed ones rewritten."""
        alarms = list(alarms)
        place = {a.alarm_id: i for i, a in enumerate(alarms)}
        ids = [a.alarm_id for a in self._alarms]
        kept = set(_in_order([place.get(i, -1) for i in ids]))
        for row in reversed(range(len(ids))):
            if row not in kept or ids[row] not in place:
                self._remove_row(row)
        for row, alarm in enumerate(alarms):
            if row < len(self._alarms) and self._alarms[row].alarm_id == alarm.alarm_id:
                self._alarms[row] = alarm
            else:
                self._insert_row(row, alarm)
        self._rows = {a.alarm_id: row for row, a in enumerate(self._alarms)}
        self._write_window()

    def alarms(self) -> list[Alarm]:
        return list(self._alarms)

    def alarm_at(self, row: int) -> Alarm | None:
        return self._alarms[row] if 0 <= row < len(self._alarms) else None

    def row_of(self, alarm_id: int) -> int | None:
        return self._rows.get(alarm_id)

    def refresh_countdown(self) -> None:
        """Rewrite the escalation column of the rows kept written (the time left changed)."""
        self._write_window(clocked=True)

    def text_at(self, row: int, column: int) -> str:
        """What a cell says (the DisplayRole, without a round trip through Qt)."""
        return self.text_of(self._alarms[row], column)

    def text_of(self, alarm: Alarm, column: int) -> str:
        """What `alarm`'s cell in `column` says (written or not)."""
        row = self._rows.get(alarm.alarm_id)
        if row is not None and self._written[row] is alarm and column != ESCALATION:
            return self._texts[row][column]
        return self._text(alarm, column)

    def alarms_view(self) -> Sequence[Alarm]:
        """The rows' alarms in order, not copied (read it, do not keep it)."""
        return self._alarms

    def bold_at(self, row: int) -> bool:
        """Whether a row is in bold (an alarm not acknowledged yet)."""
        return not self._alarms[row].acknowledged

    # -- rows

    def _insert_row(self, row: int, alarm: Alarm) -> None:
        items = []
        for _ in COLUMNS:
            item = QStandardItem()
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            items.append(item)
        self._alarms.insert(row, alarm)
        self._shown.insert(row, {})
        self._texts.insert(row, [""] * len(COLUMNS))
        self._written.insert(row, None)
        self.insertRow(row, items)

    def _remove_row(self, row: int) -> None:
        del self._alarms[row], self._shown[row], self._texts[row], self._written[row]
        self.removeRow(row)

    def _rewrite_all(self) -> None:
        """Every row out of date (a new site, a store fault): those kept written now."""
        self._written = [None] * len(self._alarms)
        self._write_window()

    def _write_window(self, *, clocked: bool = False) -> None:
        """Write the rows kept written whose alarm changed (`clocked`: and the time left of
        the others)."""
        first, last = self._window
        for row in range(first, min(last, len(self._alarms) - 1) + 1):
            if self._written[row] is not self._alarms[row]:
                self._write_row(row)
            elif clocked:
                self._write_row(row, clocked=True)

    def _write_row(self, row: int, *, clocked: bool = False) -> None:
        """Set the row's cells from its alarm (`clocked`: only the escalation column's words
        and colour, which the passing time changes)."""
        alarm = self._alarms[row]
        if not clocked:
            self._written[row] = alarm
        unread = not alarm.acknowledged
        font = _bold_font() if unread else None
        background = PALETTE.qcolor("surface_raised") if unread else None
        shared_tip: str | None = None
        for column in (ESCALATION,) if clocked else range(len(COLUMNS)):
            text = self._texts[row][column] = self._text(alarm, column)
            self._set(row, column, _DISPLAY, text)
            self._set(row, column, _FOREGROUND, self._foreground(alarm, column, text))
            spoken = text or COLUMNS[column]
            if column == STATUS and unread:
                spoken = "new alarm, not acknowledged"
            self._set(row, column, _SPOKEN, spoken)
            if clocked:
                continue
            self._set(row, column, _FONT, font)
            self._set(row, column, _BACKGROUND, background)
            self._set(row, column, _DECORATION, self._decoration(alarm, column))
            if column in _OWN_TIPS:
                tip = self._tooltip(alarm, column)
            else:  # the other columns say the same
                tip = shared_tip = shared_tip or self._tooltip(alarm, column)
            self._set(row, column, _TIP, tip)
            if column in (RAISED, ESCALATION):
                self._set(row, column, _ALIGNMENT, _RIGHT)

    def _set(self, row: int, column: int, role: Qt.ItemDataRole, value: Any) -> None:
        """Set one role of one cell, calling into Qt only when its value changed."""
        shown = self._shown[row]
        key = (column, role)
        if key in shown:
            if _same(shown[key], value):
                return
        elif value is None:  # a new row's cell holds nothing yet
            shown[key] = None
            return
        shown[key] = value
        item = self.item(row, column)
        if item is not None:
            item.setData(value, role)

    def _text(self, alarm: Alarm, column: int) -> str:
        site = self._site
        if column == STATUS:
            word = shown_state(alarm).word
            if alarm.storage_fault is not None:
                return f"{word} · NOT STORED"
            if alarm.unsaved and self.store_fault is not None:
                return f"{word} · not stored yet"
            return word
        if column == SNAPSHOT:
            return "" if alarm.snapshot_path or alarm.unsaved else "no snapshot"
        if column == SEVERITY:
            return severity_words(alarm.severity)
        if column == CAMERA:
            return cameras_text(alarm, site)
        if column == PEOPLE:
            return people_text(alarm, site)
        if column == PLACE:
            return place_name(site, alarm)
        if column == RULE:
            reason = advisory_reason(alarm)
            return rule_words(alarm.rule) + (f": {reason}" if reason else "")
        if column == RAISED:
            return f"{alarm.raised_at.astimezone(site.tz):%H:%M:%S}"
        if column == ESCALATION:
            return escalation_text(alarm, site, self._clock.now().timestamp())
        return ""

    def _decoration(self, alarm: Alarm, column: int) -> QPixmap | None:
        if column == STATUS:
            return _mark(
                {
                    ShownState.NEW: "new",
                    ShownState.NEW_ACTIVITY: "new",
                    ShownState.GUARD_SENT: "dispatched",
                    ShownState.GUARD_ON_SCENE: "on_scene",
                }.get(shown_state(alarm), "acknowledged")
            )
        if column == SNAPSHOT:  # only if read already: `show_rows` reads those on screen
            return self.thumbnails.cached(alarm.snapshot_path)
        if column == SEVERITY:
            return _mark(f"bars-{alarm.severity}")
        return None

    def _foreground(self, alarm: Alarm, column: int, text: str) -> QColor | None:
        """The colour of a cell's words (`text`: what the cell says)."""
        if column == SEVERITY:
            return PALETTE.qcolor(SEVERITY_COLOR_ROLE.get(alarm.severity, "text"))
        if column == STATUS and not alarm.acknowledged:
            return PALETTE.qcolor("offline")
        if column == ESCALATION and text.startswith("ESCALATED"):
            return PALETTE.qcolor("offline")
        if alarm.acknowledged and column != ESCALATION:
            return PALETTE.qcolor("muted") if not alarm.active else None
        return None

    def _tooltip(self, alarm: Alarm, column: int) -> str:
        site = self._site
        local = alarm.raised_at.astimezone(site.tz)
        lines = [
            f"Alarm {alarm.alarm_id}: {rule_words(alarm.rule)} at {place_name(site, alarm)}",
            f"camera {camera_name(site, alarm.camera_id)} ({alarm.camera_id})",
            f"raised {local:%Y-%m-%d %H:%M:%S %Z}, {shown_state(alarm).word.lower()}",
            "risk still present" if alarm.active else "risk no longer seen",
        ]
        if column == CAMERA and len(alarm.cameras) > 1:
            now = set(alarm.cameras_now)
            lines = [
                f"Seen by {len(alarm.cameras)} cameras:",
                *(
                    f"  {camera_name(site, c)}{' (sees it now)' if c in now else ''}"
                    for c in alarm.cameras
                ),
                "",
                *lines,
            ]
        if column == PEOPLE:
            lines = [people_tooltip(alarm, site), "", *lines]
        if alarm.occurrences and column != CAMERA:
            lines.append(
                f"sightings: {len(alarm.occurrences)} ({alarm.people_seen} people at once at "
                f"most) on {', '.join(camera_name(site, c) for c in alarm.cameras)}"
            )
        if alarm.needs_attention:
            lines.append("new activity since it was acknowledged: press A to say you saw it")
        if isinstance(alarm.detail, BehaviourDetail):
            lines.append("an advisory: this visitor departs from what is usual here")
            lines.extend(f"  {words}" for words in alarm.detail.reasons)
            lines.append("N: dismiss as normal (the model learns it; audited)")
        closest = alarm.closest_m
        if closest is None:
            distance = alarm.detail.distance_m
            closest = float(distance) if isinstance(distance, int | float) else None
        if closest is not None:
            lines.append(f"closest: {closest:.1f} m")
        if column == SNAPSHOT and not alarm.snapshot_path and not alarm.unsaved:
            lines.append("no snapshot was stored")
        if alarm.storage_fault is not None:
            lines.append(f"NOT STORED: {alarm.storage_fault}")
        elif alarm.unsaved and self.store_fault is not None:
            lines.append(f"{alarm.unsaved} step(s) wait for the disk: {self.store_fault}")
        lines.append("Enter or double-click: the alarm's detail")
        return "\n".join(lines)


# --------------------------------------------------------------------------- the view


class _AlarmTable(QTableView):
    """The queue's table; says when its viewport changed size (the window, or a scroll bar
    that came or went). A Python event filter would be called for every event of the viewport,
    its paints included; this is called on a resize only."""

    resized = Signal()

    def resizeEvent(self, event: QResizeEvent) -> None:  # also the viewport's resizes
        super().resizeEvent(event)
        self.resized.emit()


class _Batch:
    """Actions the queue posted together (one per alarm), answered one by one."""

    def __init__(self, verb: str, actions: list[Action], note: str = "") -> None:
        self.verb = verb
        self.actions = actions
        self.note = note  # said after the outcome ("3 others were acknowledged already")
        self.answers: list[ActionAnswer] = []

    def holds(self, action: Action) -> bool:
        return any(action is a for a in self.actions)

    @property
    def complete(self) -> bool:
        return len(self.answers) == len(self.actions)


class AlarmQueueView(QWidget):
    """The alarm queue panel: table, action buttons, message line; keyboard first."""

    alarms_changed = Signal(list)  # list[Alarm], the open alarms after each refresh
    alarm_raised = Signal(object)  # Alarm: a new alarm reached the queue
    message = Signal(str)  # what happened, or why the model refused (for the status bar)

    def __init__(
        self,
        manager: AlarmManager,
        site: Site,
        user: str,
        clock: Clock,
        bridge: PipelineBridge,
        parent: QWidget | None = None,
        *,
        countdown_ms: int = 1000,
    ) -> None:
        super().__init__(parent)
        self._manager = manager  # read only: open_alarms()
        self._bridge = bridge
        self._site = site
        self._user = user
        self._clock = clock
        self._batches: list[_Batch] = []  # posted by the queue itself, not all answered yet
        self._known: set[int] = set()
        self.last_error: str | None = None
        self.active_dialog: QDialog | None = None
        self.detail: AlarmDetail | None = None
        self.setAccessibleName("alarm queue")

        self.model = AlarmQueueModel(site, clock, parent=self)
        self.table = _AlarmTable(self)
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setTabKeyNavigation(False)
        self.table.setWordWrap(True)  # two lines a row where a column must be narrow
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.setAccessibleName("open alarms")
        thumb = self.model.thumbnails.size
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(thumb.height() + 8)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header.setStretchLastSection(False)
        header.setMinimumSectionSize(24)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.table.doubleClicked.connect(lambda index: self.open_detail(index.row()))
        # after a resize, once the scroll bars settled: the rows in sight, the columns' fit
        # (a timer of the view's own: it goes with the view)
        self._after_resize = QTimer(self)
        self._after_resize.setSingleShot(True)
        self._after_resize.setInterval(0)
        self._after_resize.timeout.connect(self.show_visible_rows)
        self._after_resize.timeout.connect(self.fit_columns)
        self.table.resized.connect(self._after_resize.start)
        self.table.verticalScrollBar().valueChanged.connect(self.show_visible_rows)
        self.table.selectionModel().selectionChanged.connect(
            lambda *_: self._update_summary(self.model.alarms())
        )
        self.setFocusProxy(self.table)

        self.summary_label = QLabel()
        self.summary_label.setProperty("role", "heading")
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.message_label.setVisible(False)
        self.message_label.setTextFormat(Qt.TextFormat.PlainText)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.acknowledge_action = self._action(
            "&Acknowledge", "Acknowledge (A)", ["A", "Space"], self.acknowledge_selected
        )
        self.acknowledge_action.setToolTip("Acknowledge the selected alarms (A, Space)")
        self.dispatch_action = self._action(
            "&Dispatch guard…", "Dispatch (D)", ["D"], self.open_dispatch
        )
        self.dispatch_action.setToolTip("Dispatch a guard to the current alarm (D)")
        self.guard_arrived_action = self._action(
            "&Guard arrived", "Guard arrived (G)", ["G"], self.record_guard_arrival
        )
        self.guard_arrived_action.setToolTip("The guard sent to the current alarm arrived (G)")
        self.resolve_action = self._action("&Resolve…", "Resolve (R)", ["R"], self.open_resolve)
        self.resolve_action.setToolTip("Resolve the selected alarms with one outcome (R)")
        self.normal_action = self._action(
            "Dismiss as &normal", "Normal (N)", ["N"], self.dismiss_as_normal
        )
        self.normal_action.setToolTip(
            "Dismiss the current behaviour advisory as normal: the model learns from it (N)"
        )
        self.detail_action = self._action(
            "&Details…", "Details (Enter)", ["Return", "Enter"], self.open_detail
        )
        self.detail_action.setToolTip("The current alarm's sightings, snapshot and steps (Enter)")
        self.table.addActions([*self.alarm_actions, self.detail_action])
        self._menu = QMenu("&Alarm", self)
        self._menu.addActions(self.alarm_actions)
        self._menu.addAction(self.detail_action)

        buttons = QHBoxLayout()
        for action in [*self.alarm_actions, self.normal_action, self.detail_action]:
            button = QToolButton(self)
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
            buttons.addWidget(button)
        buttons.addStretch(1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.message_label)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)

        # a flood of alarms re-reads the queue at most every REFRESH_EVERY_MS and refits the
        # columns at most every FIT_EVERY_MS, each less often when it costs more (ui/pacing.py):
        # once per alarm made a flood quadratic and the GUI froze
        self._refresh_pacer = Pacer(self.refresh, REFRESH_EVERY_MS, self, QUEUE_SHARE)
        self._advances: dict[tuple[str, bool, str], int] = {}  # text widths, by font and text
        # per alarm: (the alarm object, the font's key, per column (text width, widest word))
        self._row_widths: dict[int, tuple[Alarm, str, list[tuple[int, int]]]] = {}
        self._fit_pacer = Pacer(self.fit_columns, FIT_EVERY_MS, self)
        self._shown_rows = (0, 0)  # the rows the model keeps written, as last told
        self._countdown = QTimer(self)
        self._countdown.setInterval(countdown_ms)
        self._countdown.timeout.connect(self.tick_countdown)
        bridge.alarm_changed.connect(self.on_alarm)
        bridge.action_answered.connect(self._on_answer)
        self.refresh()

    def _action(
        self, text: str, icon_text: str, keys: list[str], slot: Callable[[], object]
    ) -> QAction:
        action = QAction(text, self)
        action.setIconText(icon_text)
        action.setShortcuts([QKeySequence(k) for k in keys])
        # single keys act only while the queue (or something inside it) has the focus
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.setToolTip(f"{icon_text.split(' (')[0]} the selected alarm ({', '.join(keys)})")
        action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)
        return action

    # -- for the main window

    @property
    def alarm_actions(self) -> list[QAction]:
        """Acknowledge, dispatch, guard arrived, resolve (for a menu or toolbar)."""
        return [
            self.acknowledge_action,
            self.dispatch_action,
            self.guard_arrived_action,
            self.resolve_action,
        ]

    def menu(self) -> QMenu:
        """The "Alarm" menu with the queue's actions (owned by the queue)."""
        return self._menu

    def set_site(self, site: Site) -> None:
        """An edited site applied without a restart: places, cameras and guards named from it
        (an alarm on a subject the edit deleted keeps its id in the row)."""
        self._site = site
        self.model.set_site(site)

    def set_user(self, user: str) -> None:
        """Who acts from now on (the console's signed-in user; a hand-over changes it)."""
        self._user = user

    # -- contents

    @Slot(Alarm)
    def on_alarm(self, alarm: Alarm) -> None:
        """An alarm changed in the core (on the GUI thread: the bridge's `alarm_changed`).
        The queue is re-read at once, or, in a flood, once REFRESH_EVERY_MS after the last
        re-read: each re-read costs as much as the open alarms, and once per alarm a flood
        outran the screen (the event loop froze for seconds behind its backlog)."""
        self._refresh_soon()
        if self.detail is not None:
            self.detail.alarm_changed(alarm)

    def _refresh_soon(self) -> None:
        """Re-read the queue now, or once its pacing allows (ui/pacing.py)."""
        self._refresh_pacer.request()

    @Slot()
    def refresh(self) -> None:
        """Re-read the open alarms, keeping the current and the selected alarms selected."""
        current = self.selected_alarm()
        chosen = [a.alarm_id for a in self.selected_alarms()]
        row_before = self.table.currentIndex().row()
        alarms = self._manager.open_alarms()
        self.model.set_alarms(alarms)
        row = self.model.row_of(current.alarm_id) if current is not None else None
        if row is None and alarms:
            row = min(max(row_before, 0), len(alarms) - 1)  # the next one in line
        if row is not None and row != self.table.currentIndex().row():
            self.table.setCurrentIndex(self.model.index(row, STATUS))
        self._reselect(chosen)
        new = [a for a in alarms if a.alarm_id not in self._known]
        self._known = {a.alarm_id for a in alarms}
        self._update_summary(alarms)
        self.show_visible_rows()
        self._fit_soon()
        self.alarms_changed.emit(alarms)
        for alarm in new:
            if alarm.state == AlarmState.RAISED:
                self.alarm_raised.emit(alarm)

    @Slot()
    def show_visible_rows(self) -> None:
        """Tell the model which rows are on screen (and a few below): only those are written
        and read their snapshots, so a flood costs what is in sight."""
        rows_high = self.table.verticalHeader().defaultSectionSize()
        count = self.table.viewport().height() // max(rows_high, 1) + 1
        first = max(self.table.rowAt(0), 0)
        window = (first, first + count + WRITTEN_AHEAD)
        if window != self._shown_rows:  # scrolled or resized: other rows to fit
            self._shown_rows = window
            self._fit_soon()
        self.model.show_rows(*window)

    def _reselect(self, alarm_ids: Sequence[int]) -> None:
        """Select these alarms again (a new row order drops the selection); with none of them
        left, the current row is selected."""
        rows = [r for r in (self.model.row_of(i) for i in alarm_ids) if r is not None]
        selection_model = self.table.selectionModel()
        if not rows:
            current = self.table.currentIndex()
            if current.isValid() and not selection_model.isRowSelected(current.row()):
                selection_model.select(
                    current,
                    QItemSelectionModel.SelectionFlag.ClearAndSelect
                    | QItemSelectionModel.SelectionFlag.Rows,
                )
            return
        wanted = set(rows)
        selected = {i.row() for i in selection_model.selectedRows()}
        if selected == wanted:
            return
        selection = QItemSelection()
        last = len(COLUMNS) - 1
        for row in sorted(wanted):
            selection.select(self.model.index(row, 0), self.model.index(row, last))
        selection_model.select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)

    def set_store_fault(self, fault: str | None) -> None:
        """The store's fault now (None: healthy): rows whose steps wait for the disk say so."""
        self.model.store_fault = fault
        self.refresh()

    def _update_summary(self, alarms: list[Alarm]) -> None:
        waiting = sum(1 for a in alarms if not a.acknowledged)
        text = f"{len(alarms)} open alarm{'s' if len(alarms) != 1 else ''}"
        if waiting:
            text += f" · {waiting} NEW"
        chosen = len(self.table.selectionModel().selectedRows())
        if chosen > 1:
            text += f" · {chosen} selected"
        self.summary_label.setText(text)

    def selected_alarm(self) -> Alarm | None:
        """The alarm of the current row (what D, G and Enter act on)."""
        index = self.table.currentIndex()
        if not index.isValid():
            return None
        return self.model.alarm_at(index.row())

    def selected_alarms(self) -> list[Alarm]:
        """The selected alarms in the queue's order (A and R act on them all); with none
        selected, the current row's."""
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        alarms = [a for a in (self.model.alarm_at(r) for r in rows) if a is not None]
        if not alarms:
            current = self.selected_alarm()
            return [current] if current is not None else []
        return alarms

    def select_alarm(self, alarm_id: int) -> bool:
        row = self.model.row_of(alarm_id)
        if row is None:
            return False
        self.table.setCurrentIndex(self.model.index(row, STATUS))
        self.table.selectionModel().select(
            self.model.index(row, STATUS),
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )
        return True

    # -- columns that fit

    def column_widths(self) -> list[int]:
        header = self.table.horizontalHeader()
        return [header.sectionSize(c) for c in range(len(COLUMNS))]

    @Slot()
    def fit_columns(self) -> None:
        """Size the columns to the panel, so that nothing needs scrolling sideways: every column
        first gets its words on one line; when that is too wide, the object, camera and rule
        columns give way down to a readable width, then the state, people and escalation
        columns take two lines (a row holds two), then the object, camera and rule columns
        give way further (two lines, the rest elided; their tooltips say it all)."""
        header = self.table.horizontalHeader()
        available = self.table.viewport().width()
        rows = self.model.rowCount()
        wants: list[int] = []
        least: list[int] = []
        measured = self._text_widths() if rows else []
        for column in range(len(COLUMNS)):
            heading = header.sectionSizeHint(column)
            content = full = word = 0
            if rows:
                full, word = measured[column]
                content = full + self._cell_spending(column)
            wants.append(max(content, heading))
            if column in WRAPPING_COLUMNS and rows:
                least.append(max(heading, content - full + word))
            else:
                least.append(wants[-1])
        wants[SNAPSHOT] = least[SNAPSHOT] = self.model.thumbnails.size.width() + 8
        widths = list(wants)
        over = sum(widths) - available
        readable = [max(min(w, READABLE_ELASTIC_PX), MIN_ELASTIC_PX) for w in wants]
        for columns, floor in (
            (ELASTIC_COLUMNS, readable),
            (WRAPPING_COLUMNS, least),
            (ELASTIC_COLUMNS, [MIN_ELASTIC_PX] * len(COLUMNS)),
        ):
            if over <= 0:
                break
            over = _give_way(widths, columns, floor, over)
        if over < 0:
            widths[PLACE] -= over  # room to spare: the object's name gets it
        for column, width in enumerate(widths):
            if header.sectionSize(column) != width:
                header.resizeSection(column, width)

    @Slot()
    def catch_up(self) -> None:
        """Re-read now what a paced re-read would show within its spacing. Every action of
        the monitor's calls it first, so that it acts on the alarms as they are, not as the
        last re-read saw them (A then D at once: D sees the acknowledgement instead of
        refusing a dispatch to an alarm "raised"); tests that look right after a change."""
        self._refresh_pacer.flush()

    def _fit_soon(self) -> None:
        """Fit the columns now, or once its pacing allows (ui/pacing.py)."""
        self._fit_pacer.request()

    def _text_widths(self) -> list[tuple[int, int]]:
        """Per column, the widest text on one line and its widest word (in each row's font).
        Read from the model in Python and measured once per text and font: asking Qt for each
        cell's size calls back into Python for every role of every row, and in a flood (the
        core's threads busy) each call back waited for the interpreter, for seconds. A row's
        widths are kept while its alarm is the same object (the core replaces an alarm that
        changes), so a fit measures only the rows that changed; the escalation column, whose
        words change with the clock, is measured on each fit. Only the rows on screen and near
        it count (`AlarmQueueModel.kept_rows`), as Qt's own fit to contents does: in a flood
        a thousand changing rows made a fit take up to 230 ms; a scroll fits again."""
        font = self.table.font()
        key = font.key()
        widest = [(0, 0)] * len(COLUMNS)
        kept = self._row_widths
        rows = self.model.kept_rows()
        alarms = self.model.alarms_view()[rows.start : rows.stop]
        for alarm in alarms:
            known = kept.get(alarm.alarm_id)
            if known is None or known[0] is not alarm or known[1] != key:
                known = kept[alarm.alarm_id] = (alarm, key, self._measure_row(font, key, alarm))
            widest = [
                (max(a, c), max(b, d)) for (a, b), (c, d) in zip(widest, known[2], strict=True)
            ]
        full = word = 0
        for row, alarm in enumerate(alarms, start=rows.start):  # the time left: afresh
            bold, text = not alarm.acknowledged, self.model.text_at(row, ESCALATION)
            full = max(full, self._advance(font, key, bold, text))
            word = max(word, self._widest_word(font, key, bold, text))
        widest[ESCALATION] = (full, word)
        if len(kept) > 2 * max(64, len(alarms)):  # alarms resolved or out of sight
            showing = {a.alarm_id for a in alarms}
            for alarm_id in [i for i in kept if i not in showing]:
                del kept[alarm_id]
        return widest

    def _measure_row(self, font: QFont, key: str, alarm: Alarm) -> list[tuple[int, int]]:
        """Per column: the width of the alarm's row's text on one line, and of its widest word."""
        bold = not alarm.acknowledged
        found = []
        for column in range(len(COLUMNS)):
            text = self.model.text_of(alarm, column)
            found.append(
                (self._advance(font, key, bold, text), self._widest_word(font, key, bold, text))
            )
        return found

    def _widest_word(self, font: QFont, key: str, bold: bool, text: str) -> int:
        return max((self._advance(font, key, bold, w) for w in set(text.split())), default=0)

    def _advance(self, font: QFont, key: str, bold: bool, text: str) -> int:
        width = self._advances.get((key, bold, text))
        if width is None:
            if len(self._advances) > 4096:  # texts change (times, counts): keep it small
                self._advances.clear()
            if bold:
                font = QFont(font)
                font.setBold(True)
            width = self._advances[(key, bold, text)] = QFontMetrics(font).horizontalAdvance(text)
        return width

    def _cell_spending(self, column: int) -> int:
        """What a cell of `column` takes besides its text (margins, its mark), as the view's
        own one-line size hint of the first row says; plus the grid line, as Qt counts it."""
        index = self.model.index(0, column)
        hint = self.table.sizeHintForIndex(index).width()
        font = self.table.font()
        text, bold = self.model.text_at(0, column), self.model.bold_at(0)
        spent = hint - self._advance(font, font.key(), bold, text)
        return spent + (1 if self.table.showGrid() else 0)

    # -- messages

    def show_message(self, text: str) -> None:
        self.last_error = None
        self.message_label.setStyleSheet(f"color: {PALETTE.muted}; padding: 2px;")
        self.message_label.setText(text)
        self.message_label.setVisible(True)
        self.message.emit(text)

    def show_error(self, text: str) -> None:
        """Tell the operator why something was refused (also `message`, and the log)."""
        log.warning("alarm queue: %s", text)
        self.last_error = text
        self.message_label.setStyleSheet(
            f"color: {PALETTE.offline}; border: 2px solid {PALETTE.offline}; padding: 4px;"
        )
        self.message_label.setText("\n".join(f"⚠ {line}" for line in text.split("\n")))
        self.message_label.setAccessibleDescription(text)
        self.message_label.setVisible(True)
        self.message.emit(text)

    # -- the core's answers

    def _post(self, action: Action, dialog: DispatchDialog | ResolveDialog | None = None) -> None:
        if dialog is None:
            self._batches.append(_Batch(action.verb, [action]))
        self._bridge.post(action)

    def _post_batch(self, batch: _Batch) -> None:
        self._batches.append(batch)
        for action in batch.actions:
            self._bridge.post(action)

    @Slot(ActionAnswer)
    def _on_answer(self, answer: ActionAnswer) -> None:
        dialog = self.active_dialog
        if isinstance(dialog, DispatchDialog | ResolveDialog) and dialog.answered(answer):
            return
        batch = next((b for b in self._batches if b.holds(answer.action)), None)
        if batch is None:
            return  # another view's
        batch.answers.append(answer)
        if not batch.complete:
            return
        self._batches.remove(batch)
        if len(batch.actions) == 1:
            self._answered_one(answer, batch.note)
        else:
            self._answered_batch(batch)
        self._refresh_soon()  # in a flood, answers come as fast as alarms

    def _answered_one(self, answer: ActionAnswer, note: str) -> None:
        action = answer.action
        alarm_id = getattr(action, "alarm_id", "?")
        if not answer.ok:
            self.show_error(f"Cannot {action.verb} alarm {alarm_id}: {answer.refusal}")
            return
        text = ""
        if isinstance(action, Acknowledge):
            text = f"Alarm {alarm_id} acknowledged"
        elif isinstance(action, GuardArrived) and answer.alarm is not None:
            arrived = [d for d in answer.alarm.dispatches if d.arrived_at is not None]
            guard = self._guard_name(arrived[-1].guard_id) if arrived else "The guard"
            text = f"Guard {guard} arrived at alarm {alarm_id}"
        if text:
            self.show_message(f"{text}{note}")

    def _answered_batch(self, batch: _Batch) -> None:
        done = [a for a in batch.answers if a.ok]
        refused = [a for a in batch.answers if not a.ok]
        past = {"acknowledge": "acknowledged", "resolve": "resolved"}.get(batch.verb, batch.verb)
        summary = f"{len(done)} alarm{'s' if len(done) != 1 else ''} {past}{batch.note}"
        if not refused:
            self.show_message(summary)
            return
        lines = [
            f"Cannot {a.action.verb} alarm {getattr(a.action, 'alarm_id', '?')}: {a.refusal}"
            for a in refused
        ]
        self.show_error("\n".join([*lines, summary]))

    def _target(self, verb: str) -> Alarm | None:
        self.catch_up()
        alarm = self.selected_alarm()
        if alarm is None:
            self.show_error(f"Cannot {verb}: no alarm is selected")
        return alarm

    def _current_only_note(self, what: str, alarm: Alarm) -> str:
        """When several alarms are selected, D and G act on the current row only: say so."""
        others = [a for a in self.selected_alarms() if a.alarm_id != alarm.alarm_id]
        if not others:
            return ""
        if len(others) == 1:
            return (
                f" ({what} acts on the current row only: the other selected alarm is left as it is)"
            )
        return (
            f" ({what} acts on the current row only: the other {len(others)} selected alarms "
            "are left as they are)"
        )

    def _can_become(self, alarm: Alarm, target: AlarmState, verb: str) -> bool:
        if target in TRANSITIONS[alarm.state]:
            return True
        hint = " (acknowledge it first: A)" if alarm.state == AlarmState.RAISED else ""
        self.show_error(f"Cannot {verb} alarm {alarm.alarm_id}: it is {alarm.state.value}{hint}")
        return False

    # -- what the monitor does

    @Slot()
    def acknowledge_selected(self) -> None:
        """Acknowledge the selected alarms that can be (a re-flagged one is marked seen)."""
        self.catch_up()
        chosen = self.selected_alarms()
        if not chosen:
            self.show_error("Cannot acknowledge: no alarm is selected")
            return
        if len(chosen) == 1:  # one alarm asked for by name: the core says yes or why not
            self._post(Acknowledge(chosen[0].alarm_id, self._user))
            return
        waiting = [a for a in chosen if not a.acknowledged]
        handled = len(chosen) - len(waiting)
        if not waiting:
            self.show_error(
                f"Nothing to acknowledge: the {len(chosen)} selected alarms are acknowledged "
                "already"
            )
            return
        note = f"; {handled} acknowledged already" if handled else ""
        self._post_batch(
            _Batch("acknowledge", [Acknowledge(a.alarm_id, self._user) for a in waiting], note)
        )

    @Slot()
    def dismiss_as_normal(self) -> None:
        """N: the current behaviour advisory is normal behaviour (resolved as a false alarm, fed
        back to the model, audited); any other alarm is refused with the reason."""
        alarm = self._target("dismiss as normal")
        if alarm is None:
            return
        if not isinstance(alarm.detail, BehaviourDetail):
            self.show_error(
                f"Cannot dismiss alarm {alarm.alarm_id} as normal: only an advisory about "
                "unusual behaviour can be (resolve it instead: R)"
            )
            return
        if alarm.state == AlarmState.RESOLVED:
            self.show_error(f"Cannot dismiss alarm {alarm.alarm_id}: it is resolved already")
            return
        self._post(DismissAsNormal(self._user, alarm.alarm_id))

    @Slot()
    def record_guard_arrival(self) -> None:
        alarm = self._target("record a guard's arrival for")
        if alarm is None:
            return
        note = self._current_only_note("G", alarm)
        if alarm.guard_on_the_way is None:
            self.show_error(
                f"Cannot record a guard's arrival at alarm {alarm.alarm_id}: no guard is on "
                f"the way (dispatch one first: D){note}"
            )
            return
        action = GuardArrived(alarm.alarm_id, self._user)
        self._batches.append(_Batch(action.verb, [action], note))
        self._bridge.post(action)

    def _guard_name(self, guard_id: str) -> str:
        try:
            guard = self._site.guard(guard_id)
        except KeyError:
            return guard_id
        return f"{guard.name} ({guard.post})"

    @Slot()
    def open_dispatch(self) -> DispatchDialog | None:
        """Open the dispatch dialog for the current alarm (window-modal, not blocking)."""
        alarm = self._target("dispatch a guard to")
        if alarm is None or not self._can_become(alarm, AlarmState.DISPATCHED, "dispatch to"):
            return None
        if not self._site.guards:
            self.show_error("Cannot dispatch: the site file lists no guards")
            return None
        note = self._current_only_note("D", alarm)
        if note:
            self.show_message(f"Dispatching to alarm {alarm.alarm_id}{note}")
        dialog = DispatchDialog(
            lambda action: self._post(action, dialog), self._site, alarm, self._user, parent=self
        )
        dialog.accepted.connect(lambda: self._dispatched(dialog, note))
        self._open_dialog(dialog)
        return dialog

    def _dispatched(self, dialog: DispatchDialog, note: str) -> None:
        guard = self._guard_name(dialog.guard or "?")
        self.show_message(f"{guard} dispatched to alarm {dialog.alarm.alarm_id}{note}")
        self.refresh()

    @Slot()
    def open_resolve(self) -> ResolveDialog | None:
        """Open the resolve dialog for the selected alarms (window-modal, not blocking); one
        outcome and note for all of them, each resolved by its own action."""
        chosen = self.selected_alarms()
        if not chosen:
            self.show_error("Cannot resolve: no alarm is selected")
            return None
        dialog = ResolveDialog(
            lambda action: self._post(action, dialog), self._site, chosen, self._user, parent=self
        )
        dialog.accepted.connect(lambda: self._resolved(dialog))
        dialog.finished.connect(lambda _result: self._resolve_closed(dialog))
        self._open_dialog(dialog)
        return dialog

    def _resolved(self, dialog: ResolveDialog) -> None:
        outcome = outcome_words(dialog.outcome) if dialog.outcome else "?"
        if len(dialog.resolved) == 1:
            self.show_message(f"Alarm {dialog.resolved[0]} resolved: {outcome}")
        else:
            self.show_message(f"{len(dialog.resolved)} alarms resolved: {outcome}")
        self.refresh()

    def _resolve_closed(self, dialog: ResolveDialog) -> None:
        if dialog.result() != QDialog.DialogCode.Accepted.value and dialog.resolved:
            # some were resolved before the rest were left (Esc): say so in the queue too
            self.show_message(
                f"{len(dialog.resolved)} of the alarms resolved; "
                f"{len(dialog.listed_alarm_ids())} left open"
            )
            self.refresh()

    def _open_dialog(self, dialog: QDialog) -> None:
        if self.active_dialog is not None:
            self.active_dialog.close()
        self.active_dialog = dialog
        dialog.finished.connect(lambda _result: self._dialog_closed(dialog))
        dialog.open()

    def _dialog_closed(self, dialog: QDialog) -> None:
        if self.active_dialog is dialog:
            self.active_dialog = None
        if self.isVisible():  # back to the queue, ready for the next key
            self.window().activateWindow()
            self.table.setFocus(Qt.FocusReason.OtherFocusReason)

    @Slot()
    def open_detail(self, row: int | None = None) -> AlarmDetail | None:
        """Show the alarm's detail (non-modal; Esc closes it): its sightings, the cameras of
        an incident, its snapshot, and its steps read from the store off the GUI thread."""
        alarm = self.model.alarm_at(row) if row is not None else self.selected_alarm()
        if alarm is None:
            self.show_error("No alarm to show: the queue is empty")
            return None
        if self.detail is None:
            # the store's file area, for the pictures' and clips' paths (no database read)
            files = getattr(getattr(self._manager, "store", None), "files", None)
            detail = AlarmDetail(self._site, self._bridge, parent=self, files=files)
            detail.finished.connect(lambda _result: self._detail_closed(detail))
            self.detail = detail
        self.detail.show_alarm(alarm)
        self.detail.show()
        self.detail.raise_()
        self.detail.activateWindow()
        return self.detail

    def _detail_closed(self, detail: AlarmDetail) -> None:
        if self.detail is detail:
            self.detail = None
        detail.deleteLater()
        if self.isVisible():
            self.window().activateWindow()
            self.table.setFocus(Qt.FocusReason.OtherFocusReason)

    # -- the countdown timer

    @Slot()
    def tick_countdown(self) -> None:
        self.model.refresh_countdown()
        self._fit_soon()  # the time left may need a wider column (at most every FIT_EVERY_MS)

    @property
    def is_running(self) -> bool:
        return self._countdown.isActive()

    def start(self) -> None:
        """Start the countdown timer (done when shown)."""
        self._countdown.start()

    def stop(self) -> None:
        """Stop the countdown timer (done when hidden or closed)."""
        self._countdown.stop()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.tick_countdown()
        self.start()

    def hideEvent(self, event: QHideEvent) -> None:
        self.stop()
        super().hideEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.stop()
        if self.active_dialog is not None:
            self.active_dialog.close()
        if self.detail is not None:
            self.detail.close()
        super().closeEvent(event)


def _give_way(widths: list[int], columns: Sequence[int], floor: Sequence[int], over: int) -> int:
    """Narrow these columns by up to `over` pixels in all, each in proportion to what it can
    give (down to its floor); returns what is still too much."""
    spare = {c: max(0, widths[c] - floor[c]) for c in columns}
    total = sum(spare.values())
    if total <= 0:
        return over
    take = min(over, total)
    given = 0
    for c in columns:
        cut = min(spare[c], take * spare[c] // total)
        widths[c] -= cut
        given += cut
    for c in columns:  # what rounding left over, from the first that can still give
        extra = min(take - given, widths[c] - floor[c])
        if extra > 0:
            widths[c] -= extra
            given += extra
    return over - given
