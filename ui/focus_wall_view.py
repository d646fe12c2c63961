"""The focus wall view: N big slots showing the cameras that hold risks, with the risk drawn on
the image.

The policy lives in `console.focus_wall.FocusWall`; this view only displays its `WallLayout` and
forwards the operator's intent to it. Each occupied slot paints its camera straight from the
camera's frame ring (a `FocusTile`, i.e. a video-wall `CameraTile` that adds the risk overlay):
the protected object's outline in the image, the person's box from the alarm, the distance in
metres when the rule measured one, and a banner with the severity, the rule and the subject as
words *and* a shape (triangle: high, diamond: medium, circle: low), so nothing rests on colour
alone. An unacknowledged alarm gives the slot a thick solid frame and the word NEW; a camera
that stays only for its hold time gets a dashed frame and the word HOLD. Empty slots stay dark
and calm.

    view = FocusWallView(focus_wall, site, pipeline.rings)
    view.listen_to(bridge)                         # live status and tracked people (optional)
    manager.add_listener(bridge.on_alarm)          # alarms reach the GUI thread
    bridge.alarm_changed.connect(lambda _: view.update_alarms(manager.open_alarms()))
    view.camera_activated.connect(main_window.show_camera_large)
    dock = QDockWidget("Focus wall"); dock.setWidget(view)
    float_on_screen(dock, second_screen)           # undock onto a second screen

Operator actions, each also in the slot's context menu:

    1, 2, 4, 6, 9   show that many slots (also the selector buttons in the header)
    [ / ]           fewer / more slots
    P               pin / unpin the camera of the focused slot
    Delete          dismiss the camera of the focused slot (it returns only with a new alarm)
    Enter, dbl-click  `camera_activated(camera_id)`
    arrows          move between slots

Two timers, both owned and stopped on hide and close: the display timer (`display_fps`) asks the
occupied slots to look at their rings; the policy timer (`reevaluate_s`) re-evaluates the wall
with the last alarms, so hold times and minimum slot times run out without a new alarm.

Undocking: put the view in a `QDockWidget`; floating the dock makes it a window of its own that
can live on any screen (`float_on_screen` does that and moves it to the screen given, the
second screen by default); `dock.setFloating(False)` brings it back.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

from PySide6.QtCore import QPointF, QRect, QRectF, Qt, QTimer, Signal, Slot
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QColor,
    QContextMenuEvent,
    QFocusEvent,
    QFont,
    QFontMetrics,
    QGuiApplication,
    QHideEvent,
    QKeyEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
    QPolygonF,
    QResizeEvent,
    QScreen,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QButtonGroup,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QMenu,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from console.alarms import Alarm
from console.focus_wall import SLOT_COUNTS, AlarmSummary, FocusWall, SlotAssignment, WallLayout
from console.rules.details import BehaviourDetail
from console.severity import Severity
from console.site_file import Site
from console.store import AlarmState
from inference.frame_ring import FrameRing
from inference.pipeline import TrackedFrame
from inference.sources import CameraStatus, StatusChange
from ui.alarm_words import advisory_reason, rule_words, severity_role, shown_state
from ui.bridge import PipelineBridge
from ui.display_budget import checked_factor
from ui.theme import PALETTE
from ui.video_wall import DEFAULT_STALE_AFTER_S, CameraTile, WallCamera

log = logging.getLogger(__name__)

__all__ = [
    "SLOT_GRID",
    "FocusSlot",
    "FocusTile",
    "FocusWallView",
    "RiskMark",
    "alarm_summary",
    "float_on_screen",
    "paint_severity_mark",
    "rule_words",
    "severity_role",
]

DEFAULT_DISPLAY_FPS = 12.0
DEFAULT_REEVALUATE_S = 1.0
SLOT_SPACING_PX = 4
MAX_BANNER_LINES = 3
BANNER_SHARE = 0.22  # the banner's band at the tile's foot: at most this share of its height
MIN_BANNER_PT = 7.0
GHOST_HOLD_S = 1.0  # a "last seen" box stays fully drawn this long after its person left ...
GHOST_FADE_S = 3.0  # ... and has faded away this long after

# (columns, rows) of the grid for each slot count
SLOT_GRID: dict[int, tuple[int, int]] = {1: (1, 1), 2: (2, 1), 4: (2, 2), 6: (3, 2), 9: (3, 3)}


def _severity(value: str) -> Severity:
    try:
        return Severity(value)
    except ValueError:
        return Severity.LOW


def alarm_cameras(alarm: Alarm) -> tuple[str, ...]:
    """The cameras an alarm wants on the wall: those that see its risk now; when none does,
    the one that saw it last (an incident across a zone follows the intruder)."""
    if alarm.cameras_now:
        return alarm.cameras_now
    if alarm.occurrences:
        last = max(alarm.occurrences, key=lambda o: o.last_seen_at)
        return (last.camera_id,)
    return (alarm.camera_id,)


def alarm_summary(alarm: Alarm, camera_id: str | None = None) -> AlarmSummary:
    """What the focus-wall policy needs of one alarm (on one of its cameras)."""
    return AlarmSummary(
        camera_id=camera_id or alarm_cameras(alarm)[0],
        severity=_severity(alarm.severity),
        acknowledged=alarm.acknowledged,
        raised_at=alarm.raised_at,
        active=alarm.active,
    )


def _urgency(alarm: Alarm) -> tuple[int, bool, float]:
    rank = _severity(alarm.severity).rank
    return (rank, alarm.acknowledged, -alarm.raised_at.timestamp())


def paint_severity_mark(painter: QPainter, rect: QRectF, severity: str, color: QColor) -> None:
    """The severity as a shape, so it reads without colour: a triangle with '!' (high), a
    diamond (medium), a ring (low)."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    r = QRectF(rect)
    if severity == "high":
        path = QPainterPath()
        path.moveTo(r.center().x(), r.top())
        path.lineTo(r.right(), r.bottom())
        path.lineTo(r.left(), r.bottom())
        path.closeSubpath()
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        painter.drawPath(path)
        painter.setPen(QPen(PALETTE.qcolor("wall"), max(1.5, r.width() / 8)))
        x = r.center().x()
        painter.drawLine(
            QPointF(x, r.top() + r.height() * 0.35), QPointF(x, r.bottom() - r.height() * 0.3)
        )
        painter.drawPoint(QPointF(x, r.bottom() - r.height() * 0.15))
    elif severity == "medium":
        poly = QPolygonF(
            [
                QPointF(r.center().x(), r.top()),
                QPointF(r.right(), r.center().y()),
                QPointF(r.center().x(), r.bottom()),
                QPointF(r.left(), r.center().y()),
            ]
        )
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        painter.drawPolygon(poly)
    else:
        width = max(1.5, r.width() / 6)
        painter.setPen(QPen(color, width))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawEllipse(r.adjusted(width, width, -width, -width))
    painter.restore()


# ---------------------------------------------------------------------------------------------
# one slot's camera, with the risk drawn over it
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RiskMark:
    """What one alarm drew on a tile at its last paint (tile coordinates), for tests and
    accessibility."""

    alarm_id: int
    severity: str
    text: str  # the banner line
    outline: QPolygonF | None = None  # the protected object's image outline
    box: QRectF | None = None  # the person's box (live, or where last seen)
    box_label: str = ""
    ghost: float = 0.0  # a "last seen" box: how opaque it was drawn (0: not a ghost)


class FocusTile(CameraTile):
    """A camera tile of the focus wall: the picture as on the video wall, plus the risk."""

    def __init__(
        self,
        camera: WallCamera,
        site: Site,
        *,
        clock: Callable[[], float] = time.time,
        stale_after_s: float = DEFAULT_STALE_AFTER_S,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            camera, clock=clock, stale_after_s=stale_after_s, enlarged=True, parent=parent
        )
        self._site = site
        self._alarms: tuple[Alarm, ...] = ()
        self._assignment: SlotAssignment | None = None
        self._gone_at: dict[int, float] = {}  # alarm id -> when its person was no longer found
        self.drawn_risks: list[RiskMark] = []
        self.banner_rect = QRect()  # the band the banner took at the last paint

    @property
    def alarms(self) -> tuple[Alarm, ...]:
        return self._alarms

    @property
    def assignment(self) -> SlotAssignment | None:
        return self._assignment

    def set_risk(self, alarms: Sequence[Alarm], assignment: SlotAssignment | None) -> None:
        """The camera's open alarms (most urgent first) and why it holds its slot."""
        alarms = tuple(sorted(alarms, key=_urgency))
        if alarms != self._alarms or assignment != self._assignment:
            before = {a.alarm_id: a for a in self._alarms}
            now = self._clock()
            for alarm in alarms:
                was = before.get(alarm.alarm_id)
                if alarm.active:
                    self._gone_at.pop(alarm.alarm_id, None)
                elif was is not None and was.active:
                    self._gone_at[alarm.alarm_id] = now  # its person just left
            self._gone_at = {
                i: t for i, t in self._gone_at.items() if i in {a.alarm_id for a in alarms}
            }
            self._alarms, self._assignment = alarms, assignment
            people: dict[int, str] = {}
            for alarm in reversed(alarms):  # the most urgent alarm's severity wins
                for track in self._tracks_here(alarm):
                    people[track] = str(alarm.severity)
            self.set_alarm_people(people)
            self._describe_risk()
            self.update()

    def _tracks_here(self, alarm: Alarm) -> set[int]:
        """The people (track ids) of this alarm that this camera saw."""
        tracks = {
            o.track_id
            for o in alarm.occurrences
            if o.camera_id == self.camera_id and o.track_id is not None
        }
        if not alarm.occurrences and alarm.camera_id == self.camera_id:
            tracks.update(alarm.track_ids)
        return tracks

    def ghost_opacity(self, alarm_id: int, now: float) -> float:
        """How opaque the "last seen" box of an alarm whose person left is drawn now: fully for
        GHOST_HOLD_S, then fading to nothing at GHOST_FADE_S."""
        gone = self._gone_at.get(alarm_id)
        if gone is None:
            return 0.0
        age = now - gone
        if age <= GHOST_HOLD_S:
            return 1.0
        if age >= GHOST_FADE_S:
            return 0.0
        return 1.0 - (age - GHOST_HOLD_S) / (GHOST_FADE_S - GHOST_HOLD_S)

    def _alarm_box_label(self, track_id: int) -> str:
        for alarm in self._alarms:
            if track_id in self._tracks_here(alarm):
                return self._box_label(alarm, track_id)
        return super()._alarm_box_label(track_id)

    def banner_lines(self) -> list[str]:
        """The banner text, one line per alarm (most urgent first)."""
        return [self._banner_text(a) for a in self._alarms]

    # -- painting ----------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)  # picture, live boxes, caption, focus frame
        painter = QPainter(self)
        try:
            self.drawn_risks = []
            picture = self.image_rect()
            if self.state.shows_image and not picture.isEmpty():
                self._paint_risk_shapes(painter, picture)
            else:
                self.drawn_risks = [
                    RiskMark(a.alarm_id, a.severity, self._banner_text(a)) for a in self._alarms
                ]
            self._paint_banner(painter)
            self._paint_reason(painter)
            self._paint_frame(painter)
        finally:
            painter.end()

    def _frame_scale(self, picture: QRect) -> tuple[float, float] | None:
        det_w, det_h = self._detect_size  # the frame the boxes and image regions refer to
        if det_w <= 0 or det_h <= 0:
            return None
        return picture.width() / det_w, picture.height() / det_h

    def _paint_risk_shapes(self, painter: QPainter, picture: QRect) -> None:
        scale = self._frame_scale(picture)
        if scale is None:
            return
        sx, sy = scale
        ox, oy = picture.x(), picture.y()
        font = QFont(self.font())
        metrics = QFontMetrics(font)
        now = self._clock()
        live = dict(zip(self.drawn_track_ids, (b for b, _ in self.drawn_boxes), strict=False))
        # "last seen" boxes fade within seconds and never outnumber the live boxes: the most
        # urgent alarms get them first
        ghosts_left = len(self.drawn_boxes)
        ghosts: dict[int, float] = {}
        for alarm in self._alarms:
            opacity = self.ghost_opacity(alarm.alarm_id, now)
            if not alarm.active and opacity > 0 and ghosts_left > 0:
                ghosts[alarm.alarm_id] = opacity
                ghosts_left -= 1
        painter.save()
        painter.setClipRect(picture)
        painter.setFont(font)
        # least urgent first, so the most urgent risk is drawn on top
        for alarm in reversed(self._alarms):
            color = PALETTE.qcolor(severity_role(alarm.severity))
            outline = None
            region = self._image_region(alarm)
            if region is not None:
                outline = QPolygonF([QPointF(ox + x * sx, oy + y * sy) for x, y in region])
                pen = QPen(color, 3)
                pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
                painter.setPen(pen)
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawPolygon(outline)
                name = self._subject_name(alarm)
                anchor = outline.boundingRect()
                self._label(
                    painter, metrics, QPointF(anchor.left(), anchor.top()), name, color, above=True
                )
            box_rect, box_label, ghost = None, "", 0.0
            mine = [t for t in self._tracks_here(alarm) if t in live]
            box = alarm.detail.box if self._last_seen_here(alarm) else None
            if mine:  # the person is boxed live, in the alarm's colour (CameraTile)
                box_rect = live[mine[0]]
                box_label = self._box_label(alarm, mine[0])
            elif box is not None and (alarm.active or alarm.alarm_id in ghosts):
                x1, y1, x2, y2 = box
                box_rect = QRectF(ox + x1 * sx, oy + y1 * sy, (x2 - x1) * sx, (y2 - y1) * sy)
                box_color = color  # the person who raised it: in the alarm's colour
                pen = QPen(box_color, 4)
                pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
                painter.save()
                if not alarm.active:  # the person has left: where last seen, fading
                    ghost = ghosts[alarm.alarm_id]
                    pen.setStyle(Qt.PenStyle.DashLine)
                    painter.setOpacity(ghost)
                painter.setPen(pen)
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawRect(box_rect)
                box_label = self._box_label(alarm)
                self._label(
                    painter, metrics, box_rect.bottomLeft(), box_label, box_color, above=False
                )
                painter.restore()
            self.drawn_risks.append(
                RiskMark(
                    alarm.alarm_id,
                    alarm.severity,
                    self._banner_text(alarm),
                    outline,
                    box_rect,
                    box_label,
                    ghost,
                )
            )
        painter.restore()
        self.drawn_risks.reverse()  # most urgent first, like the banner

    def _last_seen_here(self, alarm: Alarm) -> bool:
        """The alarm's newest finding (whose box `detail` holds) came from this camera."""
        if not alarm.occurrences:
            return alarm.camera_id == self.camera_id
        return max(alarm.occurrences, key=lambda o: o.last_seen_at).camera_id == self.camera_id

    def _label(
        self,
        painter: QPainter,
        metrics: QFontMetrics,
        at: QPointF,
        text: str,
        color: QColor,
        *,
        above: bool,
    ) -> None:
        if not text:
            return
        w, h = metrics.horizontalAdvance(text) + 8, metrics.height() + 2
        top = at.y() - h - 2 if above else at.y() + 2
        rect = QRectF(at.x(), top, w, h)
        painter.fillRect(rect, PALETTE.qcolor("label_backdrop", 200))
        painter.setPen(color)
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)

    def _banner_font(self, band_h: float) -> tuple[QFont, int]:
        """The banner's font and line height: smaller on a small tile, so that at least one
        line fits the band (never below MIN_BANNER_PT)."""
        font = QFont(self.font())
        font.setBold(True)
        size = font.pointSizeF() if font.pointSizeF() > 0 else 10.0
        while True:
            font.setPointSizeF(size)
            line_h = QFontMetrics(font).height() + 4
            if line_h <= band_h or size <= MIN_BANNER_PT:
                return font, line_h
            size = max(MIN_BANNER_PT, size - 0.5)

    def _paint_banner(self, painter: QPainter) -> None:
        """The alarms in words at the tile's foot, in a band of at most BANNER_SHARE of the
        tile's height: as many lines as fit, the last one saying how many more."""
        self.banner_rect = QRect()
        if not self._alarms:
            return
        rect = self.rect().adjusted(2, 0, -2, -2)
        font, line_h = self._banner_font(rect.height() * BANNER_SHARE)
        painter.setFont(font)
        metrics = QFontMetrics(font)
        fit = max(1, min(MAX_BANNER_LINES, int(rect.height() * BANNER_SHARE // line_h)))
        lines = list(self._alarms[:fit])
        extra = len(self._alarms) - len(lines)
        if extra > 0 and fit > 1:
            lines = lines[: fit - 1]
            extra = len(self._alarms) - len(lines)
        count = len(lines) + (1 if extra > 0 and fit > 1 else 0)
        band = QRect(rect.left(), rect.bottom() - count * line_h, rect.width(), count * line_h + 1)
        self.banner_rect = QRect(band)
        painter.fillRect(band, PALETTE.qcolor("label_backdrop", 210))
        y = band.top()
        mark = max(8, int(metrics.height() * 0.8))
        for index, alarm in enumerate(lines):
            color = PALETTE.qcolor(severity_role(alarm.severity))
            mark_rect = QRectF(band.left() + 6, y + (line_h - mark) / 2, mark, mark)
            paint_severity_mark(painter, mark_rect, alarm.severity, color)
            painter.setPen(color if not alarm.acknowledged else PALETTE.qcolor("text"))
            text_x = int(mark_rect.right()) + 8
            text_rect = QRect(text_x, y, band.right() - text_x - 4, line_h)
            text = self._banner_text(alarm)
            if extra > 0 and fit == 1 and index == 0:
                text = f"(+{extra}) {text}"  # one line only: it still says there are more
            text = metrics.elidedText(text, Qt.TextElideMode.ElideRight, text_rect.width())
            painter.drawText(
                text_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, text
            )
            y += line_h
        if extra > 0 and fit > 1:
            painter.setPen(PALETTE.qcolor("muted"))
            painter.drawText(
                QRect(band.left() + 6, y, band.width() - 10, line_h),
                Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                f"+ {extra} more alarm{'s' if extra > 1 else ''}",
            )

    def _paint_reason(self, painter: QPainter) -> None:
        """Why the camera holds the slot when it is not plainly an alarm: PINNED, WATCHED, HOLD."""
        assignment = self._assignment
        if assignment is None or assignment.reason == "alarm":
            return
        word = {"pinned": "PINNED", "watched": "WATCHED", "hold": "HOLD"}[assignment.reason]
        font = QFont(self.font())
        font.setBold(True)
        painter.setFont(font)
        metrics = QFontMetrics(font)
        w, h = metrics.horizontalAdvance(word) + 12, metrics.height() + 4
        top = metrics.height() + 10  # below the caption strip
        chip = QRect(self.width() - w - 6, top, w, h)
        painter.fillRect(chip, PALETTE.qcolor("label_backdrop", 210))
        painter.setPen(QPen(PALETTE.qcolor("focus"), 1))
        painter.drawRect(chip.adjusted(0, 0, -1, -1))
        painter.drawText(chip, Qt.AlignmentFlag.AlignCenter, word)

    def _paint_frame(self, painter: QPainter) -> None:
        """A frame in the most severe alarm's colour: thick and solid while unacknowledged,
        thin when handled, dashed while the camera only waits out its hold time."""
        if not self._alarms:
            return
        top = self._alarms[0]
        unacked = any(not a.acknowledged for a in self._alarms)
        pen = QPen(PALETTE.qcolor(severity_role(top.severity)), 5 if unacked else 2)
        pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
        if self._assignment is not None and self._assignment.reason == "hold":
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        inset = math.ceil(pen.widthF() / 2)
        painter.drawRect(self.rect().adjusted(inset, inset, -inset - 1, -inset - 1))

    # -- words -------------------------------------------------------------------------------

    def _image_region(self, alarm: Alarm) -> tuple[tuple[float, float], ...] | None:
        try:
            obj = self._site.protected_object(alarm.subject_id)
        except KeyError:
            return None
        region = obj.image_regions.get(self.camera_id)
        return tuple((float(x), float(y)) for x, y in region) if region else None

    def _subject_name(self, alarm: Alarm) -> str:
        return _subject_name(self._site, alarm)

    def _box_label(self, alarm: Alarm, track_id: int | None = None) -> str:
        if track_id is None and alarm.track_ids:
            track_id = alarm.track_ids[-1]
        parts = [f"#{track_id}"] if track_id is not None else []
        distance = _distance_m(alarm)
        if distance is not None:
            parts.append(f"{distance:.2f} m")
        if not alarm.active:
            parts.append("last seen")
        return " · ".join(parts)

    def _banner_text(self, alarm: Alarm) -> str:
        # the state right after the severity: on a small tile the line is cut at its end
        parts = [
            alarm.severity.upper(),
            shown_state(alarm).word,
            rule_words(alarm.rule),
            self._subject_name(alarm),
        ]
        condition = alarm.detail.condition
        if condition is not None:
            parts.append(condition.replace("_", " "))
        reason = advisory_reason(alarm)
        if reason is not None:  # a behaviour advisory: why, in one line
            parts.append(reason)
        distance = _distance_m(alarm)
        if distance is not None:
            parts.append(f"{distance:.2f} m")
        if alarm.people_now > 1:
            parts.append(f"{alarm.people_now} people")
        if not alarm.active:
            parts.append("risk cleared")
        return " · ".join(parts)

    def _describe_risk(self) -> None:
        lines = self.banner_lines()
        self.setAccessibleDescription("; ".join(lines) if lines else "no open alarm")
        if lines:
            self.setToolTip(f"{self.camera.title} ({self.camera_id})\n" + "\n".join(lines))


def _subject_name(site: Site, alarm: Alarm) -> str:
    if isinstance(alarm.detail, BehaviourDetail):  # an advisory is about a visitor
        return alarm.detail.visitor or alarm.subject_id
    for lookup in (site.protected_object, site.zone, site.camera):
        try:
            return str(lookup(alarm.subject_id).name)
        except KeyError:
            continue
    return alarm.subject_id


def _distance_m(alarm: Alarm) -> float | None:
    value = alarm.detail.distance_m
    return value if value is not None and math.isfinite(value) else None


# ---------------------------------------------------------------------------------------------
# a slot
# ---------------------------------------------------------------------------------------------


class FocusSlot(QWidget):
    """One position of the wall: a camera tile, or a calm dark empty slot."""

    def __init__(self, index: int, view: FocusWallView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.index = index
        self._view = view
        self._tile: FocusTile | None = None
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._describe()

    @property
    def tile(self) -> FocusTile | None:
        return self._tile

    @property
    def camera_id(self) -> str | None:
        return self._tile.camera_id if self._tile is not None else None

    def set_tile(self, tile: FocusTile | None) -> None:
        old = self._tile
        if old is tile:
            return
        self._tile = tile
        if old is not None:
            had_focus = old.hasFocus()
            old.hide()
            old.deleteLater()
            if had_focus:
                self.setFocus(Qt.FocusReason.OtherFocusReason)
        if tile is not None:
            tile.setParent(self)
            tile.setGeometry(self.rect())
            tile.show()
        # None clears the proxy: Qt takes a null pointer, the stubs do not say so
        self.setFocusProxy(tile)  # type: ignore[arg-type]
        self._describe()
        self.update()

    def _describe(self) -> None:
        name = f"focus wall slot {self.index + 1}"
        self.setAccessibleName(name)
        self.setAccessibleDescription(
            f"camera {self._tile.camera.title}" if self._tile is not None else "empty"
        )

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._tile is not None:
            self._tile.setGeometry(self.rect())

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        try:
            painter.fillRect(self.rect(), PALETTE.qcolor("wall"))
            if self._tile is None:
                painter.setPen(QPen(PALETTE.qcolor("border"), 1))
                painter.drawRect(self.rect().adjusted(0, 0, -1, -1))
                painter.setPen(PALETTE.qcolor("muted"))
                painter.drawText(
                    self.rect(), Qt.AlignmentFlag.AlignCenter, f"slot {self.index + 1} · quiet"
                )
                if self.hasFocus():
                    painter.setPen(QPen(PALETTE.qcolor("focus"), 2))
                    painter.drawRect(self.rect().adjusted(1, 1, -2, -2))
        finally:
            painter.end()

    def focusInEvent(self, event: QFocusEvent) -> None:
        super().focusInEvent(event)
        self.update()

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        self.update()

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        menu = self._view.slot_menu(self.index)
        try:
            menu.exec(event.globalPos())
        finally:
            menu.deleteLater()
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self._view.handle_slot_key(self.index, event.key()):
            event.accept()
            return
        super().keyPressEvent(event)


class _SlotGrid(QWidget):
    """Lays the slots out in SLOT_GRID's columns and rows (by hand: no posted layout events)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.slots: list[FocusSlot] = []
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    @property
    def shape(self) -> tuple[int, int]:
        return SLOT_GRID.get(len(self.slots), (1, 1))

    def relayout(self) -> None:
        cols, rows = self.shape
        if not self.slots:
            return
        gap = SLOT_SPACING_PX
        cell_w = (self.width() - gap * (cols - 1)) / cols
        cell_h = (self.height() - gap * (rows - 1)) / rows
        for index, slot in enumerate(self.slots):
            row, col = divmod(index, cols)
            x, y = round(col * (cell_w + gap)), round(row * (cell_h + gap))
            right, bottom = (
                round(col * (cell_w + gap) + cell_w),
                round(row * (cell_h + gap) + cell_h),
            )
            slot.setGeometry(x, y, max(1, right - x), max(1, bottom - y))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.relayout()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        try:
            painter.fillRect(self.rect(), PALETTE.qcolor("wall"))
        finally:
            painter.end()


# ---------------------------------------------------------------------------------------------
# the view
# ---------------------------------------------------------------------------------------------


class FocusWallView(QWidget):
    """The focus wall: displays a `FocusWall`'s layout and forwards the operator's actions."""

    camera_activated = Signal(str)  # Enter / double-click / menu "Show large": the camera id
    layout_changed = Signal(object)  # WallLayout, after each change of the shown layout
    slot_count_changed = Signal(int)  # the operator chose another N (persist it)
    watch_asked = Signal(str, int)  # menu "Watch person #N…": camera id, track id

    def __init__(
        self,
        focus_wall: FocusWall,
        site: Site,
        rings: Mapping[str, FrameRing],
        *,
        display_fps: float = DEFAULT_DISPLAY_FPS,
        reevaluate_s: float = DEFAULT_REEVALUATE_S,
        stale_after_s: float = DEFAULT_STALE_AFTER_S,
        frame_clock: Callable[[], float] = time.time,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        if not 0 < display_fps <= 120:
            raise ValueError(
                f"display rate must be in (0, 120] frames per second, got {display_fps}"
            )
        if not (math.isfinite(reevaluate_s) and reevaluate_s > 0):
            raise ValueError(f"reevaluate_s must be a finite number > 0, got {reevaluate_s}")
        self.focus_wall = focus_wall
        self.site = site
        self._rings = rings
        self._frame_clock = frame_clock
        self._stale_after_s = stale_after_s
        self._alarms: dict[int, Alarm] = {}
        self._summaries: tuple[AlarmSummary, ...] = ()
        # per alarm, as last seen: its summaries and cameras, worked out again only when the
        # alarm changed (a new Alarm object): a flood re-reads a thousand alarms at a time
        self._derived: dict[int, tuple[Alarm, tuple[AlarmSummary, ...], tuple[str, ...]]] = {}
        self._watched: frozenset[str] = frozenset()
        self._statuses: dict[str, tuple[CameraStatus, str]] = {}
        self._tracks: dict[str, TrackedFrame] = {}
        self._layout = focus_wall.layout
        self._failing: set[str] = set()

        self._display_fps = display_fps
        self._rate_factor = 1.0  # ui/display_budget.py
        self._display_timer = QTimer(self)
        self._display_timer.setInterval(max(1, round(1000.0 / display_fps)))
        self._display_timer.timeout.connect(self.refresh_now)
        self._policy_timer = QTimer(self)
        self._policy_timer.setInterval(max(1, round(reevaluate_s * 1000.0)))
        self._policy_timer.timeout.connect(self.reevaluate)

        self.setAccessibleName("focus wall")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(2)
        outer.addWidget(self._make_header())
        self._grid = _SlotGrid(self)
        outer.addWidget(self._grid, 1)
        self._build_slots(focus_wall.slot_count)
        self._apply(focus_wall.layout)

    # -- header: title, summary, slot-count selector -----------------------------------------

    def _make_header(self) -> QWidget:
        header = QWidget(self)
        row = QHBoxLayout(header)
        row.setContentsMargins(6, 2, 6, 2)
        title = QLabel("Focus wall", header)
        font = QFont(title.font())
        font.setBold(True)
        title.setFont(font)
        row.addWidget(title)
        self._summary = QLabel("", header)
        self._summary.setAccessibleName("focus wall summary")
        row.addWidget(self._summary, 1)
        row.addWidget(QLabel("Slots:", header))
        self._count_buttons = QButtonGroup(header)
        self._count_buttons.setExclusive(True)
        for count in SLOT_COUNTS:
            button = QToolButton(header)
            button.setText(str(count))
            button.setCheckable(True)
            button.setToolTip(f"Show {count} slot{'s' if count > 1 else ''} (key {count})")
            button.setAccessibleName(f"{count} slots")
            self._count_buttons.addButton(button, count)
            row.addWidget(button)
        self._count_buttons.idClicked.connect(self.set_slot_count)
        return header

    # -- reading -------------------------------------------------------------------------------

    @property
    def slot_count(self) -> int:
        return len(self._grid.slots)

    @property
    def grid_shape(self) -> tuple[int, int]:
        return self._grid.shape

    @property
    def shown_layout(self) -> WallLayout:
        return self._layout

    def slot(self, index: int) -> FocusSlot:
        return self._grid.slots[index]

    def tile(self, camera_id: str) -> FocusTile | None:
        """The tile showing this camera, or None when it holds no slot."""
        for slot in self._grid.slots:
            if slot.tile is not None and slot.tile.camera_id == camera_id:
                return slot.tile
        return None

    def slot_button(self, count: int) -> QToolButton:
        button = self._count_buttons.button(count)
        assert isinstance(button, QToolButton)
        return button

    @property
    def rate_factor(self) -> float:
        return self._rate_factor

    def set_rate_factor(self, factor: float) -> None:
        """Redraw at `factor` (0..1] of the display rate: the window's CPU budget
        (ui/display_budget.py) lowers it in an alarm storm on a busy machine."""
        self._rate_factor = checked_factor(factor)
        self._display_timer.setInterval(max(1, round(1000.0 / (self._display_fps * factor))))

    @property
    def is_running(self) -> bool:
        return self._display_timer.isActive() or self._policy_timer.isActive()

    # -- what the core says --------------------------------------------------------------------

    def set_site(self, site: Site) -> None:
        """An edited site applied without a restart: names and outlines from it from now on
        (a tile shown keeps its camera's picture; a camera removed leaves at the next layout)."""
        self.site = site
        for tile in self.findChildren(FocusTile):
            tile._site = site

    @Slot(list)
    def update_alarms(self, alarms: Iterable[Alarm]) -> None:
        """The current open alarms (GUI thread): the policy re-evaluates the wall with them.

        Pass every unresolved alarm (e.g. `AlarmManager.open_alarms()`); resolved ones are
        ignored."""
        self._alarms = {a.alarm_id: a for a in alarms if a.state != AlarmState.RESOLVED}
        derived = {}
        for alarm_id, alarm in self._alarms.items():
            known = self._derived.get(alarm_id)
            if known is None or known[0] is not alarm:  # alarms are immutable: a change is new
                summaries = tuple(alarm_summary(alarm, c) for c in alarm_cameras(alarm))
                known = (alarm, summaries, alarm.cameras)
            derived[alarm_id] = known
        self._derived = derived
        self._summaries = tuple(s for _, summaries, _ in derived.values() for s in summaries)
        self._apply(self.focus_wall.update(self._summaries, self._watched))

    def set_watched_cameras(self, camera_ids: Collection[str]) -> None:
        """The cameras that currently see a watched person (the wall follows them)."""
        self._watched = frozenset(camera_ids)
        self._apply(self.focus_wall.update(self._summaries, self._watched))

    @Slot()
    def reevaluate(self) -> None:
        """Ask the policy again with the last alarms (hold and minimum slot times run out)."""
        self._apply(self.focus_wall.update(self._summaries, self._watched))

    def listen_to(self, bridge: PipelineBridge) -> None:
        bridge.tracks_arrived.connect(self.show_tracks)
        bridge.status_changed.connect(self.show_status)

    @Slot(object)
    def show_tracks(self, frame: TrackedFrame) -> None:
        camera_id = frame.ref.camera_id
        self._tracks[camera_id] = frame
        tile = self.tile(camera_id)
        if tile is not None:
            tile.set_tracks(frame)

    @Slot(object)
    def show_status(self, change: StatusChange) -> None:
        self._statuses[change.camera_id] = (change.status, change.reason)
        if change.status is not CameraStatus.LIVE:
            self._tracks.pop(change.camera_id, None)
        tile = self.tile(change.camera_id)
        if tile is not None:
            tile.set_status(change.status, change.reason)

    # -- operator actions (forwarded to the model) ---------------------------------------------

    def pin(self, camera_id: str) -> None:
        self._apply(self.focus_wall.pin(camera_id))

    def unpin(self, camera_id: str) -> None:
        self._apply(self.focus_wall.unpin(camera_id))

    def toggle_pin(self, camera_id: str) -> None:
        if camera_id in self.focus_wall.pinned:
            self.unpin(camera_id)
        else:
            self.pin(camera_id)

    def dismiss(self, camera_id: str) -> None:
        self._apply(self.focus_wall.dismiss(camera_id))

    @Slot(str)
    def show_camera(self, camera_id: str) -> None:
        """Bring a camera onto the wall at the operator's request (e.g. a click on the floor plan):
        it is pinned, so it stays until unpinned or dismissed."""
        self.pin(camera_id)

    @Slot(int)
    def set_slot_count(self, count: int) -> None:
        """Show 1, 2, 4, 6 or 9 slots."""
        if count == self.slot_count:
            self._sync_selector()
            return
        layout = self.focus_wall.set_slot_count(count)  # raises ValueError for other counts
        self._build_slots(len(layout.slots))
        self._apply(layout)
        self.slot_count_changed.emit(count)

    def step_slot_count(self, step: int) -> None:
        """One size up (+1) or down (-1) in SLOT_COUNTS."""
        index = SLOT_COUNTS.index(self.slot_count) if self.slot_count in SLOT_COUNTS else 0
        self.set_slot_count(SLOT_COUNTS[min(len(SLOT_COUNTS) - 1, max(0, index + step))])

    def slot_menu(self, index: int) -> QMenu:
        """The context menu of one slot (the caller execs it and deletes it)."""
        menu = QMenu(self)
        slot = self._grid.slots[index]
        camera_id = slot.camera_id
        if camera_id is not None:
            title = slot.tile.camera.title if slot.tile is not None else camera_id
            menu.setTitle(title)
            pinned = camera_id in self.focus_wall.pinned
            pin = QAction("Unpin (P)" if pinned else "Pin (P)", menu)
            pin.setObjectName("unpin" if pinned else "pin")
            pin.triggered.connect(lambda: self.toggle_pin(camera_id))
            menu.addAction(pin)
            dismiss = QAction("Dismiss (Delete)", menu)
            dismiss.setObjectName("dismiss")
            dismiss.triggered.connect(lambda: self.dismiss(camera_id))
            menu.addAction(dismiss)
            show = QAction("Show large (Enter)", menu)
            show.setObjectName("activate")
            show.triggered.connect(lambda: self.camera_activated.emit(camera_id))
            menu.addAction(show)
            for track_id in self._people_on(index):
                watch = QAction(f"Watch person #{track_id}…", menu)
                watch.setObjectName(f"watch-{track_id}")
                watch.setToolTip("Put this person on the watch list: followed across cameras")
                watch.triggered.connect(
                    lambda _=False, t=track_id: self.watch_asked.emit(camera_id, t)
                )
                menu.addAction(watch)
            menu.addSeparator()
        sizes = menu.addMenu("Slots")
        for count in SLOT_COUNTS:
            action = QAction(f"{count} slot{'s' if count > 1 else ''} ({count})", sizes)
            action.setObjectName(f"slots-{count}")
            action.setCheckable(True)
            action.setChecked(count == self.slot_count)
            action.triggered.connect(lambda _=False, n=count: self.set_slot_count(n))
            sizes.addAction(action)
        return menu

    def _people_on(self, index: int) -> list[int]:
        """The track ids of the people the slot's tile shows now (for "Watch person")."""
        tile = self._grid.slots[index].tile
        frame = tile.tracks if tile is not None else None
        if frame is None:
            return []
        return sorted({int(t) for t in frame.people.track_id if int(t) >= 0})

    def handle_slot_key(self, index: int, key: int) -> bool:
        """A key pressed on a slot; True when the focus wall used it."""
        camera_id = self._grid.slots[index].camera_id if 0 <= index < self.slot_count else None
        if key == Qt.Key.Key_P and camera_id is not None:
            self.toggle_pin(camera_id)
        elif key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and camera_id is not None:
            self.dismiss(camera_id)
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and camera_id is not None:
            self.camera_activated.emit(camera_id)
        else:
            return self._handle_view_key(key)
        return True

    def _handle_view_key(self, key: int) -> bool:
        digits = {getattr(Qt.Key, f"Key_{n}"): n for n in SLOT_COUNTS}
        if key in digits:
            self.set_slot_count(digits[key])
        elif key == Qt.Key.Key_BracketLeft:
            self.step_slot_count(-1)
        elif key == Qt.Key.Key_BracketRight:
            self.step_slot_count(+1)
        else:
            return False
        return True

    def keyPressEvent(self, event: QKeyEvent) -> None:
        # keys that reach the view itself (no slot focused) act on the first occupied slot
        first = next((s.index for s in self._grid.slots if s.camera_id is not None), -1)
        if self.handle_slot_key(first, event.key()):
            event.accept()
            return
        super().keyPressEvent(event)

    # -- timers --------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the display and policy timers (done on show)."""
        self._display_timer.start()
        self._policy_timer.start()

    def stop(self) -> None:
        """Stop both timers (done on hide and close)."""
        self._display_timer.stop()
        self._policy_timer.stop()

    @Slot()
    def refresh_now(self) -> None:
        """Every occupied, visible slot looks at its ring now and repaints if it changed."""
        if not self.isVisible():
            return
        now = self._frame_clock()
        for slot in self._grid.slots:
            tile = slot.tile
            if tile is None or not tile.isVisible():
                continue
            try:
                tile.refresh(now)
            except Exception:  # one broken camera must not stop the others from painting
                if tile.camera_id not in self._failing:
                    log.exception("camera %s: focus wall refresh failed", tile.camera_id)
                self._failing.add(tile.camera_id)
            else:
                self._failing.discard(tile.camera_id)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.start()

    def hideEvent(self, event: QHideEvent) -> None:
        self.stop()
        super().hideEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.stop()
        super().closeEvent(event)

    # -- internals -----------------------------------------------------------------------------

    def _build_slots(self, count: int) -> None:
        slots = self._grid.slots
        while len(slots) > count:
            slot = slots.pop()
            slot.set_tile(None)
            slot.hide()
            slot.deleteLater()
        while len(slots) < count:
            slot = FocusSlot(len(slots), self, self._grid)
            slot.show()
            slots.append(slot)
        for a, b in pairwise(slots):
            QWidget.setTabOrder(a, b)
        self._grid.relayout()
        self._sync_selector()

    def _sync_selector(self) -> None:
        button = self._count_buttons.button(self.slot_count)
        if button is not None and not button.isChecked():
            button.setChecked(True)

    def _apply(self, layout: WallLayout) -> None:
        """Show a layout: keep tiles whose camera stays in place, make tiles for newcomers."""
        if len(layout.slots) != self.slot_count:
            self._build_slots(len(layout.slots))
        by_camera: dict[str, list[Alarm]] = {}
        for alarm_id, alarm in self._alarms.items():
            known = self._derived.get(alarm_id)
            cameras = known[2] if known is not None and known[0] is alarm else alarm.cameras
            for camera in cameras:
                by_camera.setdefault(camera, []).append(alarm)
        changed = layout != self._layout
        for slot, assignment in zip(self._grid.slots, layout.slots, strict=True):
            if assignment is None:
                slot.set_tile(None)
                continue
            tile = slot.tile
            if tile is None or tile.camera_id != assignment.camera_id:
                tile = self._make_tile(assignment.camera_id)
                slot.set_tile(tile)
                if self.isVisible():
                    tile.refresh(self._frame_clock())
            tile.set_risk(by_camera.get(assignment.camera_id, ()), assignment)
        self._layout = layout
        self._update_summary()
        if changed:
            log.debug("focus wall shows %s", layout.camera_ids)
            self.layout_changed.emit(layout)

    def _make_tile(self, camera_id: str) -> FocusTile:
        try:
            name = self.site.camera(camera_id).name
        except KeyError:
            name = camera_id
        status, reason = self._statuses.get(camera_id, (CameraStatus.CONNECTING, ""))
        ring = self._rings.get(camera_id)
        if ring is None:
            log.warning("focus wall: no frame ring for camera %s", camera_id)
        tile = FocusTile(
            WallCamera(camera_id, ring, name, status, reason),
            self.site,
            clock=self._frame_clock,
            stale_after_s=self._stale_after_s,
        )
        tile.activated.connect(self.camera_activated)
        tile.navigate_requested.connect(self._on_navigate)
        tracks = self._tracks.get(camera_id)
        if tracks is not None:
            tile.set_tracks(tracks)
        return tile

    @Slot(str, int, int)
    def _on_navigate(self, camera_id: str, dx: int, dy: int) -> None:
        slots = self._grid.slots
        index = next((s.index for s in slots if s.camera_id == camera_id), None)
        if index is None:
            return
        cols = self._grid.shape[0]
        target = index + dx + dy * cols
        if dy and not 0 <= target < len(slots):
            return
        slots[min(len(slots) - 1, max(0, target))].setFocus(Qt.FocusReason.TabFocusReason)

    def _update_summary(self) -> None:
        shown = [s for s in self._layout.slots if s is not None]
        unacked = sum(1 for a in self._alarms.values() if not a.acknowledged)
        if not shown:
            text = "quiet: no camera needs attention"
        else:
            text = f"{len(shown)} camera{'s' if len(shown) > 1 else ''}"
            if unacked:
                text += f" · {unacked} unacknowledged"
        self._summary.setText(text)


def beside_console(screen_area: QRect, keep_left_of: int | None = None) -> QRect:
    """Where the floated wall goes on the console's own screen: the left three fifths, below
    the console's title and menu bar and above its status line, ending before `keep_left_of`
    (the queue's left edge) when that comes sooner."""
    top, bottom = 80, 48
    width = round(screen_area.width() * 0.6)
    if keep_left_of is not None and keep_left_of - screen_area.left() > 200:
        width = min(width, keep_left_of - screen_area.left() - 4)
    height = screen_area.height() - top - bottom
    return QRect(screen_area.left(), screen_area.top() + top, width, height)


def float_on_screen(
    dock: QDockWidget,
    screen: QScreen | None = None,
    *,
    keep_visible: QWidget | None = None,
    keep_left_of: int | None = None,
) -> None:
    """Undock the focus wall's dock onto a screen (by default the second one, if there is one)
    and fill it; `dock.setFloating(False)` docks it back.

    On the screen of `keep_visible` (the console, when there is only one screen), it does not
    fill the screen: it takes the left three fifths below the console's menu bar and above its
    status line, so the alarm queue (docked on the right), the menus and the status line stay in
    sight and in reach (and F8 docks it back). `keep_left_of`: the screen x where what must stay
    in sight begins (the queue's left edge); the wall ends before it, however wide the docks."""
    if screen is None:
        screens = QGuiApplication.screens()
        screen = screens[1] if len(screens) > 1 else (screens[0] if screens else None)
    dock.setFloating(True)
    if screen is None:
        return
    area = screen.availableGeometry()
    shared = keep_visible is not None and keep_visible.screen() is screen
    if shared:
        area = beside_console(area, keep_left_of)
    dock.setGeometry(area)
    log.info(
        "focus wall floated onto screen %s (%dx%d%s)",
        screen.name(),
        area.width(),
        area.height(),
        ", beside the console" if shared else "",
    )
