"""The floor plan panel: the plan with cameras, protected objects, zones, alarms and people.

A `QGraphicsScene` per floor holds the plan image (dimmed, so a white drawing does not glare at
3 a.m.), the zones (outline and name; restricted zones hatched), the protected objects (outline
and name), a camera icon at each camera's `plan_position`, and the people the cameras track (a dot
with the track id at their foot point on the plan). The operator zooms with the wheel or +/-,
pans by dragging, fits the plan with 0, and picks the floor in the selector (shown only when the
site has several floors). Clicking a camera icon emits `camera_clicked(camera_id)`; the main
window shows that camera in the focus wall (`FocusWallView.show_camera`).

Alarm states are shown by shape and words, not by colour alone: an object, zone or camera with an
open alarm gets a thick outline, a severity mark (triangle: high, diamond: medium, ring: low)
and a tag such as "ALARM · HIGH · too close · NEW".

People positions come either as plan points (`update_people(camera_id, [(track_id, x, y)])`,
e.g. `TrackPresence.plan_px` from the core) or as the pipeline's `TrackedFrame`s
(`show_tracks`, via `listen_to(bridge)`), whose foot points are projected through the camera's
calibration. A person not reported again stays fully visible for `people_hold_s`, then fades out
and is removed after `people_fade_s`; the fade timer runs only while someone is shown and the
panel is visible, and stops on hide and close.

A missing or corrupt plan image shows a clear message above the plan and a hatched placeholder
of the plan's size; cameras, objects, zones, alarms and people are still drawn and clickable.

    plan = FloorPlanView(site)
    plan.camera_clicked.connect(focus_wall_view.show_camera)
    plan.listen_to(bridge)
    plan.update_alarms(manager.open_alarms())
"""

from __future__ import annotations

import functools
import itertools
import logging
import math
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal, Slot
from PySide6.QtGui import (
    QBrush,
    QCloseEvent,
    QFont,
    QFontMetricsF,
    QHideEvent,
    QImageReader,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
    QPolygonF,
    QResizeEvent,
    QShowEvent,
    QTransform,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QComboBox,
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsLineItem,
    QGraphicsPathItem,
    QGraphicsPixmapItem,
    QGraphicsPolygonItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSceneHoverEvent,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from console.alarms import Alarm
from console.behaviour.model import BehaviourView, WatchedPerson
from console.severity import Severity
from console.site_file import Camera, Floor, ProtectedObject, Site, Zone
from console.store import AlarmState
from inference.pipeline import TrackedFrame
from ui.alarm_words import rule_words, severity_role, state_word
from ui.bridge import PipelineBridge
from ui.pacing import Pacer
from ui.theme import PALETTE

log = logging.getLogger(__name__)

__all__ = ["CameraIcon", "FloorPlanView", "PersonMark", "PlanGraphicsView", "PlanOutline"]

DEFAULT_PEOPLE_HOLD_S = 1.5
DEFAULT_PEOPLE_FADE_S = 5.0
DEFAULT_FADE_FPS = 5.0
PLAN_OPACITY = 0.45  # the plan image, dimmed over the dark background
ZOOM_STEP = 1.25
MIN_ZOOM, MAX_ZOOM = 0.05, 40.0
CAMERA_ICON_PX = 22
MIN_CAMERA_ICON_PX = 14  # the whole plan in a small panel: smaller icons, more room for words
PERSON_DOT_PX = 12
LABELS_EVERY_MS = 250  # a flood of alarms places the labels again at most this often
LABELS_SLICE_MS = 12  # and a paced placing gives the event loop a turn this often
TAG_BOXES_KEPT = 32  # texts a label remembers the size of
TAG_MARGIN_X, TAG_MARGIN_Y = 3.0, 1.0  # a label's backdrop around its text, in screen pixels

Edges = tuple[float, float, float, float]  # a screen rectangle: left, top, right, bottom

_Z_PLAN, _Z_ZONE, _Z_OBJECT, _Z_PERSON, _Z_CAMERA, _Z_MARK = 0, 1, 2, 3, 4, 5
_SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}


def _pen(
    role: str, width: float, alpha: int = 255, style: Qt.PenStyle = Qt.PenStyle.SolidLine
) -> QPen:
    pen = QPen(PALETTE.qcolor(role, alpha), width)
    pen.setCosmetic(True)  # the same width on screen at any zoom
    pen.setStyle(style)
    pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
    return pen


def _most_urgent(alarms: Sequence[Alarm]) -> Alarm:
    return min(
        alarms,
        key=lambda a: (
            _SEVERITY_ORDER.get(a.severity, 3),
            a.acknowledged,
            -a.raised_at.timestamp(),
        ),
    )


def alarm_tag(alarms: Sequence[Alarm]) -> str:
    """The words shown next to an alarmed item: its most urgent alarm, and how many more."""
    top = _most_urgent(alarms)
    parts = ["ALARM", top.severity.upper(), state_word(top), rule_words(top.rule)]
    text = " · ".join(parts)
    if len(alarms) > 1:
        text += f" (+{len(alarms) - 1})"
    return text


# ---------------------------------------------------------------------------------------------
# items
# ---------------------------------------------------------------------------------------------


class _Tag(QGraphicsSimpleTextItem):
    """Text on a dark backdrop that keeps its size at any zoom.

    Made of Qt's own items only: the backdrop is a child rectangle behind the text, fitted to
    the text whenever the text or font changes. An item that overrides `boundingRect` or
    `paint` in Python is called back through the interpreter lock each time the scene
    processes, indexes or paints it, and while other threads run Python each such call waits
    for the lock: in an alarm burst the plan scene's deferred updates took up to 160 ms."""

    def __init__(self, text: str, role: str = "text", parent: QGraphicsItem | None = None) -> None:
        super().__init__(text, parent)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
        self.setBrush(PALETTE.qcolor(role))
        self.setPen(Qt.PenStyle.NoPen)
        self.backdrop = QGraphicsRectItem(self)
        self.backdrop.setFlag(QGraphicsItem.GraphicsItemFlag.ItemStacksBehindParent, True)
        self.backdrop.setPen(Qt.PenStyle.NoPen)
        self.backdrop.setBrush(PALETTE.qcolor("label_backdrop", 190))
        self.backdrop.setRect(self.box())
        self.full_text = text  # what it says when there is room (the layout may shorten it)
        self.wanted = True  # its owner wants it shown (the layout may still hide it)
        self.shown_text = text  # what it says now (text(), without a call into Qt)
        self._boxes: dict[str, Edges] = {}  # its box per text it was measured saying
        self._tip: str | None = None

    def setText(self, text: str) -> None:
        super().setText(text)
        self.shown_text = text
        self.backdrop.setRect(self.box())

    def setFont(self, font: QFont | str | Sequence[str]) -> None:
        super().setFont(font)
        self._boxes.clear()  # measured in the old font
        self.backdrop.setRect(self.box())

    def box(self) -> QRectF:
        """The text's box with the backdrop's margins, in the tag's own pixels."""
        mx, my = TAG_MARGIN_X, TAG_MARGIN_Y
        return self.boundingRect().adjusted(-mx, -my, mx, my)

    def box_of(self, text: str) -> Edges:
        """Its box (`box()`, as left, top, right, bottom) when it says `text`: measured once
        per text (it says `text` afterwards). The label layout asks for every form of every
        label on every pass, and each call into Qt may wait for the interpreter lock while
        other threads run Python: in an alarm flood that multiplied a pass's time."""
        box = self._boxes.get(text)
        if box is None:
            if len(self._boxes) >= TAG_BOXES_KEPT:  # an alarm's count changes its words
                self._boxes.clear()
            self.setText(text)
            box = self._boxes[text] = _edges(self.box())
        return box

    def say_shortly(self, text: str) -> None:
        """Say `text` (a form the layout chose), calling into Qt only if it changed."""
        if text != self.shown_text:
            self.setText(text)

    def tip(self, text: str) -> None:
        """Its tooltip (over its backdrop too), set only if it changed."""
        if text != self._tip:
            self._tip = text
            self.setToolTip(text)
            self.backdrop.setToolTip(text)

    def set_role(self, role: str) -> None:
        self.setBrush(PALETTE.qcolor(role))

    def say(self, text: str) -> None:
        """Its words (in full; the label layout shortens them where there is no room)."""
        self.full_text = text
        self.setText(text)

    def want(self, shown: bool) -> None:
        """Shown or not, as its owner wants it (the label layout then places it)."""
        self.wanted = shown
        self.setText(self.full_text)
        self.setVisible(shown)


class _SeverityMark(QGraphicsPathItem):
    """The alarm marker: a triangle with '!' (high), a diamond (medium), a ring (low)."""

    def __init__(self, parent: QGraphicsItem | None = None) -> None:
        super().__init__(parent)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
        self.setZValue(_Z_MARK)
        self.severity = ""

    def set_severity(self, severity: str) -> None:
        self.severity = severity
        s = 16.0
        path = QPainterPath()
        color = PALETTE.qcolor(severity_role(severity))
        if severity == "high":
            path.moveTo(0, -s)
            path.lineTo(s * 0.6, 0)
            path.lineTo(-s * 0.6, 0)
            path.closeSubpath()
            self.setBrush(color)
            self.setPen(QPen(PALETTE.qcolor("wall"), 1))
        elif severity == "medium":
            path.moveTo(0, -s)
            path.lineTo(s / 2, -s / 2)
            path.lineTo(0, 0)
            path.lineTo(-s / 2, -s / 2)
            path.closeSubpath()
            self.setBrush(color)
            self.setPen(QPen(PALETTE.qcolor("wall"), 1))
        else:
            path.addEllipse(QPointF(0, -s / 2), s / 2.5, s / 2.5)
            self.setBrush(Qt.BrushStyle.NoBrush)
            self.setPen(QPen(color, 3))
        self.setPath(path)


@dataclass(slots=True)
class _AlarmMarker:
    """A severity mark and a tag, shown next to an item while it has an open alarm."""

    mark: _SeverityMark
    tag: _Tag
    leader: QGraphicsLineItem  # from a tag moved away (to make room) back to its mark
    natural: QPointF = field(default_factory=QPointF)  # the tag's place beside the mark (px)

    @classmethod
    def make(cls, scene: QGraphicsScene) -> _AlarmMarker:
        mark = _SeverityMark()
        tag = _Tag("")
        tag.setZValue(_Z_MARK)
        leader = QGraphicsLineItem(tag)
        leader.setFlag(QGraphicsItem.GraphicsItemFlag.ItemStacksBehindParent, True)
        leader.hide()
        scene.addItem(mark)
        scene.addItem(tag)
        mark.hide()
        tag.want(False)
        return cls(mark, tag, leader)

    def lead(self, offset: QPointF) -> None:
        """A thin line from the tag, moved by `offset` from its place, back to its mark."""
        if offset.isNull():
            self.leader.hide()
            return
        mark = QPointF(self.mark.transform().dx(), self.mark.transform().dy() - 8)
        target = mark - (self.natural + offset)  # the mark, in the tag's own pixels
        box = self.tag.box()
        start = QPointF(
            min(max(target.x(), box.left()), box.right()),
            box.bottom() if target.y() > box.bottom() else box.top(),
        )
        pen = QPen(self.tag.brush().color(), 1.5, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        self.leader.setPen(pen)
        self.leader.setLine(start.x(), start.y(), target.x(), target.y())
        self.leader.show()

    def show(
        self, at: QPointF, alarms: Sequence[Alarm], offset: tuple[float, float] = (0.0, 0.0)
    ) -> None:
        """Show the mark at `at` (scene) moved by `offset` screen pixels, the tag beside it."""
        top = _most_urgent(alarms)
        dx, dy = offset
        self.mark.set_severity(top.severity)
        self.mark.setPos(at)
        self.mark.setTransform(QTransform.fromTranslate(dx, dy))  # screen px: it ignores zoom
        self.tag.say(alarm_tag(alarms))
        self.tag.set_role(severity_role(top.severity))
        self.tag.setPos(at)
        self.natural = QPointF(dx + 14, dy - 18)
        self.tag.setTransform(QTransform.fromTranslate(self.natural.x(), self.natural.y()))
        self.mark.show()
        self.tag.want(True)

    def hide(self) -> None:
        self.mark.hide()
        self.tag.want(False)

    @property
    def text(self) -> str | None:
        return self.tag.full_text if self.tag.wanted else None


class PlanOutline(QGraphicsPolygonItem):
    """A protected object's or a zone's outline on the plan, with its name."""

    def __init__(
        self,
        kind: str,
        subject_id: str,
        name: str,
        polygon: Sequence[Sequence[float]],
        *,
        restricted: bool = False,
    ) -> None:
        super().__init__(QPolygonF([QPointF(float(x), float(y)) for x, y in polygon]))
        self.kind = kind  # "object" or "zone"
        self.subject_id = subject_id
        self.name = name
        self.restricted = restricted
        self.alarms: tuple[Alarm, ...] = ()
        self.setZValue(_Z_OBJECT if kind == "object" else _Z_ZONE)
        self.setToolTip(f"{name} ({kind}{', staff only' if restricted else ''})")
        self._role = "focus" if kind == "object" else "muted"
        if restricted:
            self.setBrush(QBrush(PALETTE.qcolor("stalled", 150), Qt.BrushStyle.BDiagPattern))
        elif kind == "object":
            self.setBrush(PALETTE.qcolor("focus", 60))
        else:
            self.setBrush(Qt.BrushStyle.NoBrush)
        self.label = _Tag(name, "text", self)
        bounds = self.polygon().boundingRect()
        # offsets in screen pixels (the label ignores the zoom)
        if kind == "zone":
            self.label.setPos(bounds.topLeft())
            self.label_natural = QPointF(6, 6)
            self._marker_at, self._marker_offset = bounds.topLeft(), (10.0, 46.0)
        else:
            self.label.setPos(bounds.bottomLeft())
            self.label_natural = QPointF(0, 4)
            self._marker_at, self._marker_offset = bounds.topRight(), (0.0, 0.0)
        self.label.setTransform(
            QTransform.fromTranslate(self.label_natural.x(), self.label_natural.y())
        )
        self.marker: _AlarmMarker | None = None
        self._shown: tuple[str, Severity] | None = None  # its alarm words and colour, if any
        self._normal_pen()

    @property
    def alarmed(self) -> bool:
        return bool(self.alarms)

    def _normal_pen(self) -> None:
        width = 2.0 if self.kind == "object" else 1.5
        style = Qt.PenStyle.DashLine if self.restricted else Qt.PenStyle.SolidLine
        self.setPen(_pen(self._role, width, style=style))

    def set_alarms(self, alarms: Sequence[Alarm]) -> bool:
        """Its open alarms; True when what it shows changed (its pen, mark or words), so
        that the plan's labels are placed again only then (an alarm's people or sightings
        change on every look while the risk lasts, its words seldom)."""
        alarms = tuple(alarms)
        if alarms == self.alarms:
            return False
        self.alarms = alarms
        top = _most_urgent(alarms) if alarms else None
        shown = (alarm_tag(alarms), top.severity) if top is not None else None
        if shown == self._shown:
            return False
        self._shown = shown
        scene = self.scene()
        if top is not None:
            self.setPen(_pen(severity_role(top.severity), 5.0))
            if self.marker is None and scene is not None:
                self.marker = _AlarmMarker.make(scene)
            if self.marker is not None:
                self.marker.show(self._marker_at, alarms, self._marker_offset)
            self.setZValue(_Z_OBJECT + 0.5)
        else:
            self._normal_pen()
            if self.marker is not None:
                self.marker.hide()
            self.setZValue(_Z_OBJECT if self.kind == "object" else _Z_ZONE)
        return True


class CameraIcon(QGraphicsPathItem):
    """A camera at its plan position: a body and a lens, the same size on screen at any zoom."""

    def __init__(self, camera: Camera, position: tuple[float, float]) -> None:
        super().__init__()
        self.camera_id = camera.id
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
        self.setPos(QPointF(*position))
        self.setZValue(_Z_CAMERA)
        self.setBrush(PALETTE.qcolor("surface_raised"))
        self.setPen(QPen(PALETTE.qcolor("text"), 1.5))
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip(f"{camera.name} ({camera.id}): click to show it on the focus wall")
        self.setAcceptHoverEvents(True)
        self.hovered = False
        self.label = _Tag(camera.name, "text", self)
        self.label.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, False)
        self.label.want(False)  # a calm plan: a camera's name shows on hover or with an alarm
        self.ring = QGraphicsEllipseItem(self)
        self.ring.setBrush(Qt.BrushStyle.NoBrush)
        self.ring.hide()
        self.alarm_tag = _Tag("", "text", self)
        self.alarm_tag.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, False)
        self.alarm_tag.want(False)
        self.alarms: tuple[Alarm, ...] = ()
        self._shown: tuple[int, str] | None = None  # (count, role) the icon shows
        self.size_px = 0
        self.set_size(CAMERA_ICON_PX)

    def set_size(self, side_px: int) -> None:
        """The icon's size on screen (smaller when the whole plan is shown in a small panel)."""
        if side_px == self.size_px:
            return
        self.size_px = s = side_px
        path = QPainterPath()
        path.addRoundedRect(QRectF(-s / 2, -s / 3, s * 0.62, s * 0.66), 3, 3)
        lens = QPolygonF(
            [
                QPointF(s * 0.12, -s / 6),
                QPointF(s / 2, -s / 3),
                QPointF(s / 2, s / 3),
                QPointF(s * 0.12, s / 6),
            ]
        )
        path.addPolygon(lens)
        path.closeSubpath()
        self.setPath(path)
        self.ring.setRect(QRectF(-s * 0.85, -s * 0.85, s * 1.7, s * 1.7))
        self.label_natural = QPointF(-s / 2, s / 2 + 2)
        self.alarm_tag_natural = QPointF(-s / 2, -s * 0.85 - 20)
        self.label.setPos(self.label_natural)
        self.alarm_tag.setPos(self.alarm_tag_natural)

    @property
    def alarmed(self) -> bool:
        return bool(self.alarms)

    def hoverEnterEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        self.hovered = True
        self.label.want(True)
        self.label.setPos(self.label_natural)
        self.label.setZValue(1)  # on hover, in full, over whatever is near
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        self.hovered = False
        self.label.want(self.alarmed)
        self.label.setZValue(0)
        super().hoverLeaveEvent(event)

    def set_alarms(self, alarms: Sequence[Alarm]) -> bool:
        """Its camera's open alarms; True when what it shows changed."""
        alarms = tuple(alarms)
        if alarms == self.alarms:
            return False
        self.alarms = alarms
        # what the icon shows: redrawn only when that changes (in a burst the alarms change
        # many times a second, their count and worst severity seldom)
        shown = (len(alarms), severity_role(_most_urgent(alarms).severity)) if alarms else None
        if shown == self._shown:
            return False
        self._shown = shown
        self.label.want(bool(alarms) or self.hovered)
        if alarms:
            role = severity_role(_most_urgent(alarms).severity)
            self.ring.setPen(QPen(PALETTE.qcolor(role), 4))
            self.ring.show()
            self.setPen(QPen(PALETTE.qcolor(role), 3))
            self.alarm_tag.say("ALARM" + (f" ×{len(alarms)}" if len(alarms) > 1 else ""))
            self.alarm_tag.set_role(role)
            self.alarm_tag.want(True)
        else:
            self.ring.hide()
            self.alarm_tag.want(False)
            self.setPen(QPen(PALETTE.qcolor("text"), 1.5))
        return True


class PersonMark(QGraphicsEllipseItem):
    """A tracked person's foot point on the plan, with the track id; fades when not seen."""

    def __init__(self, camera_id: str, track_id: int, seen_at: float) -> None:
        r = PERSON_DOT_PX / 2
        super().__init__(QRectF(-r, -r, 2 * r, 2 * r))
        self.camera_id = camera_id
        self.track_id = track_id
        self.seen_at = seen_at
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
        self.setZValue(_Z_PERSON)
        self.setBrush(PALETTE.qcolor("person_box"))
        self.setPen(QPen(PALETTE.qcolor("wall"), 1.5))
        self.label = _Tag(f"#{track_id}", "person_box", self)
        self.label.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, False)
        self.label.setPos(r + 2, -r - 4)
        self.setToolTip(f"person #{track_id} seen by {camera_id}")


# ---------------------------------------------------------------------------------------------
# placing labels
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Placeable:
    """A label the layout may move (in screen pixels from where its owner puts it), shorten
    or hide. `by_transform`: it sits at a scene point and is offset by its transform (names of
    objects and zones, alarm tags); otherwise it is a camera icon's child, offset by its pos."""

    tag: _Tag
    rank: int
    natural: QPointF
    by_transform: bool
    essential: bool = False
    near: QRectF | None = None  # scene area it must stay by (its zone, object or camera) ...
    slack_px: float = 0.0  # ... give or take this many screen pixels
    bare: bool = False  # its first word alone may stand for it (a room's name)
    marker: _AlarmMarker | None = None  # an alarm's tag: a line leads back to its mark
    shorten: bool = True  # may say less when there is no room ("ALARM ×2" may not)

    def allowed(self, view: QGraphicsView) -> QRectF | None:
        if self.near is None:
            return None
        area = view.mapFromScene(self.near).boundingRect()
        return QRectF(area).adjusted(-self.slack_px, -self.slack_px, self.slack_px, self.slack_px)

    def move(self, offset: QPointF) -> None:
        at = self.natural + offset
        if self.by_transform:
            self.tag.setTransform(QTransform.fromTranslate(at.x(), at.y()))
        else:
            self.tag.setPos(at)
        if self.marker is not None:
            self.marker.lead(offset)

    def offset(self) -> QPointF:
        if self.by_transform:
            now = QPointF(self.tag.transform().dx(), self.tag.transform().dy())
        else:
            now = self.tag.pos()
        return now - self.natural

    def screen_at(self, view: QGraphicsView) -> tuple[float, float]:
        """Where its own pixels' origin is on screen at its owner's place (offset 0)."""
        at = self._origin(view)
        return at.x(), at.y()

    def screen_rect(self, view: QGraphicsView, offset: QPointF) -> QRectF:
        return self.tag.box().translated(self._origin(view) + offset)

    def _origin(self, view: QGraphicsView) -> QPointF:
        # (not scenePos(): for an item that ignores the zoom, it counts the item's own offset
        # in scene units)
        parent = self.tag.parentItem()
        if self.by_transform:
            anchor = parent.mapToScene(self.tag.pos()) if parent is not None else self.tag.pos()
        else:
            assert parent is not None
            anchor = parent.pos()  # a camera icon, at its place on the plan
        return QPointF(view.mapFromScene(anchor)) + self.natural


def _box_shifts_for(width: float, height: float, reach: int) -> np.ndarray:
    """Where to try a label, nearest first, as an (n, 4) array of shifts of its box's left,
    top, right and bottom edges (x, y, x, y): its own place, a line or a few below or above
    (stacked), or beside; `reach`: how many lines away at most. The same few label sizes come
    back on every pass, so they are worked out once per size in whole pixels (and in plain
    numbers: building a QPointF per place cost a call into Qt each, which in a flood of alarms
    waited for the interpreter lock every time)."""
    return _box_shifts(math.ceil(width), math.ceil(height), reach)


@functools.lru_cache(maxsize=512)
def _box_shifts(width: int, height: int, reach: int) -> np.ndarray:
    step = height + 2
    rows = [0] + [d * sign for d in range(1, reach + 1) for sign in (1, -1)]
    found = [(0.0, float(dy * step)) for dy in rows]
    across = [24.0, 48.0, 96.0, 144.0, width / 2 + 6]
    if reach > 3:
        across += [192.0, 240.0]
    for dx in across:  # along a wall, past a camera
        found += [(sign * dx, float(dy * step)) for sign in (1, -1) for dy in rows[: 2 * reach]]
    found.sort(key=lambda p: abs(p[0]) / 3 + abs(p[1]))
    boxes = np.array([(x, y, x, y) for x, y in found], dtype=np.float64)
    boxes.setflags(write=False)
    return boxes


def _edges(rect: QRectF) -> Edges:
    return rect.left(), rect.top(), rect.right(), rect.bottom()


class _Taken:
    """The screen rectangles labels must not cover (camera icons, alarm marks, labels placed),
    tested against all of a label's candidate places, in all its forms, at once: a flood of
    alarms places every label again several times a second, and one rectangle at a time froze
    the GUI. Only the rectangles within reach of the candidates are compared."""

    def __init__(self, rects: Iterable[Edges]) -> None:
        edges = list(rects)
        self._boxes = np.empty((max(64, 2 * len(edges)), 4), dtype=np.float64)
        self._count = len(edges)
        if edges:
            self._boxes[: self._count] = edges

    def add(self, edges: Edges) -> None:
        if self._count == len(self._boxes):
            self._boxes = np.concatenate([self._boxes, np.empty_like(self._boxes)])
        self._boxes[self._count] = edges
        self._count += 1

    @staticmethod
    def _candidates(tries: Sequence[tuple[Edges, np.ndarray]]) -> np.ndarray:
        """Every place of every form, in order: (left, top, right, bottom) per row."""
        parts = [box_shifts + np.array(base) for base, box_shifts in tries]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def _near(self, boxes: np.ndarray) -> np.ndarray:
        """The taken rectangles that could overlap one of `boxes` (the others cannot)."""
        taken = self._boxes[: self._count]
        low, high = boxes.min(axis=0), boxes.max(axis=0)
        reach = (
            (taken[:, 2] > low[0])
            & (taken[:, 0] < high[2])
            & (taken[:, 3] > low[1])
            & (taken[:, 1] < high[3])
        )
        return taken[reach]

    @staticmethod
    def _overlaps(boxes: np.ndarray, taken: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per candidate and taken rectangle: the overlap's width and height (0 when apart)."""
        wide = np.minimum(boxes[:, None, 2], taken[None, :, 2]) - np.maximum(
            boxes[:, None, 0], taken[None, :, 0]
        )
        high = np.minimum(boxes[:, None, 3], taken[None, :, 3]) - np.maximum(
            boxes[:, None, 1], taken[None, :, 1]
        )
        return wide, high

    def first_free(
        self, tries: Sequence[tuple[Edges, np.ndarray]], inside: QRectF
    ) -> tuple[int, int] | None:
        """The first form, and its first place, at which the form's box (`tries`: per form,
        its box at its owner's place and `_box_shifts_for` it) lies within `inside` and covers
        nothing taken (QRectF.contains and QRectF.intersects, for all at once)."""
        boxes = self._candidates(tries)
        left, top, right, bottom = _edges(inside)
        fits = (
            (boxes[:, 0] >= left)
            & (boxes[:, 1] >= top)
            & (boxes[:, 2] <= right)
            & (boxes[:, 3] <= bottom)
        )
        if self._count and fits.any():
            taken = self._near(boxes[fits])
            if len(taken):
                wide, high = self._overlaps(boxes, taken)
                fits &= ~((wide > 0) & (high > 0)).any(axis=1)
        found = np.flatnonzero(fits)
        if not found.size:
            return None
        at = int(found[0])
        for form, (_, box_shifts) in enumerate(tries):
            if at < len(box_shifts):
                return form, at
            at -= len(box_shifts)
        raise AssertionError("a candidate beyond the forms tried")  # unreachable

    def least_covered(self, base: Edges, box_shifts: np.ndarray, inside: QRectF) -> int:
        """The first place at which `base` moved is covered least by what is taken or lies
        outside `inside` (pixels²)."""
        boxes = self._candidates([(base, box_shifts)])
        area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        left, top, right, bottom = _edges(inside)
        within = np.maximum(np.minimum(boxes[:, 2], right) - np.maximum(boxes[:, 0], left), 0)
        within *= np.maximum(np.minimum(boxes[:, 3], bottom) - np.maximum(boxes[:, 1], top), 0)
        covered = area - within
        taken = self._near(boxes) if self._count else self._boxes[:0]
        if len(taken):
            wide, high = self._overlaps(boxes, taken)
            covered += (np.maximum(wide, 0) * np.maximum(high, 0)).sum(axis=1)
        return int(np.argmin(covered))


def _shorter_forms(text: str, *, essential: bool, bare: bool = False) -> list[str]:
    """The text, then shorter forms of it: up to a colon, comma or bracket ('Gallery 5:
    Ballet' -> 'Gallery 5'), its first two words, its first word (with `bare`, even without
    the ellipsis); an alarm's tag keeps its severity and state ('ALARM · HIGH · NEW', then
    'HIGH · NEW': the mark beside it says it is an alarm)."""
    forms = [text]
    if essential:  # "ALARM · HIGH · NEW · Too close" -> "ALARM · HIGH · NEW" -> "HIGH · NEW"
        parts = text.split(" · ")
        if len(parts) > 3:
            forms.append(" · ".join(parts[:3]))
        if len(parts) >= 3:
            forms.append(" · ".join(parts[1:3]))
        return forms
    for mark in (":", "(", ","):
        head = text.split(mark)[0].strip()
        if head and head not in forms:
            forms.append(head)
    words = forms[-1].split()
    for count in (2, 1):
        if len(words) > count and len(" ".join(words[:count])) >= 4:  # never a bare "The…"
            short = " ".join(words[:count]) + "…"
            if short not in forms:
                forms.append(short)
    if bare and len(words) > 1 and len(words[0]) >= 4:
        forms.append(words[0])  # a room's first word ("Entrance") still says where
    return forms


# ---------------------------------------------------------------------------------------------
# one floor
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _FloorScene:
    floor: Floor
    scene: QGraphicsScene
    problem: str | None = None  # why the plan image is not shown
    plan_item: QGraphicsPixmapItem | None = None
    cameras: dict[str, CameraIcon] = field(default_factory=dict)
    objects: dict[str, PlanOutline] = field(default_factory=dict)
    zones: dict[str, PlanOutline] = field(default_factory=dict)
    watched: list[QGraphicsItem] = field(default_factory=list)  # watched visitors' ways


def _read_plan(floor: Floor) -> tuple[QPixmap | None, str | None]:
    path = floor.plan_path
    if not path.is_file():
        return None, f"the file {path} is missing"
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)
    image = reader.read()
    if image.isNull():
        return None, f"the file {path} is not a readable image ({reader.errorString()})"
    return QPixmap.fromImage(image), None


# ---------------------------------------------------------------------------------------------
# the graphics view: zoom, pan, clicks on cameras
# ---------------------------------------------------------------------------------------------


class PlanGraphicsView(QGraphicsView):
    """Shows one floor's scene: wheel or +/- zooms, dragging pans, 0 fits the plan."""

    camera_clicked = Signal(str)
    view_changed = Signal()  # zoomed, fitted, resized or panned: labels are placed again

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setRenderHints(
            QPainter.RenderHint.Antialiasing | QPainter.RenderHint.SmoothPixmapTransform
        )
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setBackgroundBrush(PALETTE.qcolor("wall"))
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAccessibleName("floor plan")
        self._auto_fit = True  # follow the panel's size until the operator zooms

    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def fit_to_plan(self) -> None:
        scene = self.scene()
        if scene is None:
            return
        self.fitInView(scene.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)
        self._auto_fit = True
        self.view_changed.emit()

    def zoom_by(self, factor: float) -> None:
        target = min(MAX_ZOOM, max(MIN_ZOOM, self.zoom * factor))
        if self.zoom > 0:
            self.scale(target / self.zoom, target / self.zoom)
        self._auto_fit = False
        self.view_changed.emit()

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        super().scrollContentsBy(dx, dy)
        self.view_changed.emit()

    def camera_at(self, pos: QPointF) -> str | None:
        """The camera whose icon (or its label) is under this viewport position."""
        for item in self.items(pos.toPoint()):
            while item is not None:
                if isinstance(item, CameraIcon):
                    return item.camera_id
                item = item.parentItem()
        return None

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            camera_id = self.camera_at(event.position())
            if camera_id is not None:
                log.info("floor plan: camera %s clicked", camera_id)
                self.camera_clicked.emit(camera_id)
                event.accept()
                return
        super().mousePressEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.zoom_by(ZOOM_STEP**steps)
            event.accept()
            return
        super().wheelEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_by(ZOOM_STEP)
        elif key == Qt.Key.Key_Minus:
            self.zoom_by(1 / ZOOM_STEP)
        elif key == Qt.Key.Key_0:
            self.fit_to_plan()
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._auto_fit:
            self.fit_to_plan()
        self.view_changed.emit()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._auto_fit:
            self.fit_to_plan()
        self.view_changed.emit()


# ---------------------------------------------------------------------------------------------
# the panel
# ---------------------------------------------------------------------------------------------


class FloorPlanView(QWidget):
    """The floor plan panel over a `Site`."""

    camera_clicked = Signal(str)  # a camera icon was clicked: show it in the focus wall
    floor_changed = Signal(str)

    def __init__(
        self,
        site: Site,
        *,
        clock: Callable[[], float] = time.monotonic,
        people_hold_s: float = DEFAULT_PEOPLE_HOLD_S,
        people_fade_s: float = DEFAULT_PEOPLE_FADE_S,
        fade_fps: float = DEFAULT_FADE_FPS,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        if not (0 <= people_hold_s < people_fade_s and math.isfinite(people_fade_s)):
            raise ValueError(
                f"need 0 <= people_hold_s < people_fade_s (got {people_hold_s}, {people_fade_s})"
            )
        if not 0 < fade_fps <= 60:
            raise ValueError(f"fade_fps must be in (0, 60], got {fade_fps}")
        self.site = site
        self._clock = clock
        self._hold_s = float(people_hold_s)
        self._fade_s = float(people_fade_s)
        self._people: dict[tuple[str, int], PersonMark] = {}
        self._floors: dict[str, _FloorScene] = {}
        self._current: str | None = None
        self._watched_view: BehaviourView | None = None  # the newest, redrawn on a selection
        self.selected_watched: str | None = None  # the watch list's selection: drawn bolder
        self.setAccessibleName("floor plan panel")

        self._fade_timer = QTimer(self)
        self._fade_timer.setInterval(max(1, round(1000.0 / fade_fps)))
        self._fade_timer.timeout.connect(self.fade_people)

        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        top = QHBoxLayout()
        top.setContentsMargins(6, 2, 6, 2)
        self._floor_label = QLabel("Floor:", self)
        self.floor_selector = QComboBox(self)
        self.floor_selector.setAccessibleName("floor")
        top.addWidget(self._floor_label)
        top.addWidget(self.floor_selector, 1)
        column.addLayout(top)
        self.message = QLabel("", self)
        self.message.setObjectName("plan_message")
        self.message.setWordWrap(True)
        self.message.setAccessibleName("floor plan problem")
        self.message.setStyleSheet(
            f"QLabel {{ color: {PALETTE.text}; background: {PALETTE.surface_raised};"
            f" border: 2px solid {PALETTE.stalled}; padding: 6px; }}"
        )
        self.message.hide()
        column.addWidget(self.message)
        self.view = PlanGraphicsView(self)
        self.view.camera_clicked.connect(self.camera_clicked)
        column.addWidget(self.view, 1)
        # labels are placed again (after the event at hand) whenever the view or alarms change
        self._layout_timer = QTimer(self)
        self._layout_timer.setSingleShot(True)
        self._layout_timer.setInterval(0)
        self._layout_timer.timeout.connect(self.place_labels)
        self.view.view_changed.connect(self._layout_timer.start)
        # alarms place the labels again at once, or, in a flood, at most every LABELS_EVERY_MS
        # and less often when a placing costs more (ui/pacing.py)
        self._placing_pass = 0  # the newest pass of the labels (an older one stops)
        self._labels_pacer = Pacer(
            self._placing, LABELS_EVERY_MS, self, deferred=True, slice_ms=LABELS_SLICE_MS
        )
        self.labels_placed = 0  # layout passes done (for tests)

        for floor in site.floors:
            self._floors[floor.id] = self._build_floor(floor)
            self.floor_selector.addItem(floor.name, floor.id)
        several = len(site.floors) > 1
        self._floor_label.setVisible(several)
        self.floor_selector.setVisible(several)
        self.floor_selector.currentIndexChanged.connect(self._on_floor_selected)
        self.set_floor(site.floors[0].id)

    def set_site(self, site: Site) -> None:
        """Show an edited site (applied without a restart): every floor is drawn again from it;
        the floor shown stays when it still exists. People marks start afresh."""
        if site is self.site:
            return
        current = self._current
        self.site = site
        for mark in self._people.values():
            if mark.scene() is not None:
                mark.scene().removeItem(mark)
        self._people.clear()
        old = self._floors
        self._floors = {}
        self._current = None
        self.floor_selector.blockSignals(True)
        self.floor_selector.clear()
        for floor in site.floors:
            self._floors[floor.id] = self._build_floor(floor)
            self.floor_selector.addItem(floor.name, floor.id)
        self.floor_selector.blockSignals(False)
        several = len(site.floors) > 1
        self._floor_label.setVisible(several)
        self.floor_selector.setVisible(several)
        self.set_floor(current if current in self._floors else site.floors[0].id)
        for built in old.values():
            built.scene.deleteLater()

    # -- building a floor ----------------------------------------------------------------------

    def _build_floor(self, floor: Floor) -> _FloorScene:
        scene = QGraphicsScene(self)
        scene.setBackgroundBrush(PALETTE.qcolor("wall"))
        # no spatial index: a few hundred items, and the labels move on every placing (each
        # move would reindex the item; a linear look over the items is cheaper here)
        scene.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)
        built = _FloorScene(floor, scene)
        pixmap, problem = _read_plan(floor)
        if pixmap is not None:
            # made here, not by scene.addPixmap(): an item Python created tells Python when the
            # scene deletes it, so the reference kept below never dangles
            item = QGraphicsPixmapItem(pixmap)
            scene.addItem(item)
            item.setOpacity(PLAN_OPACITY)
            item.setZValue(_Z_PLAN)
            item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
            built.plan_item = item
        else:
            built.problem = problem
            log.warning("floor %s: plan image not shown: %s", floor.id, problem)
        for zone in self.site.zones_on(floor.id):
            built.zones[zone.id] = self._add_zone(scene, zone)
        for obj in self.site.objects_on(floor.id):
            outline = self._add_object(scene, obj)
            if outline is not None:
                built.objects[obj.id] = outline
        for camera in self.site.cameras_on(floor.id):
            if camera.plan_position is None:
                continue
            icon = CameraIcon(
                camera, (float(camera.plan_position[0]), float(camera.plan_position[1]))
            )
            scene.addItem(icon)
            built.cameras[camera.id] = icon
        if pixmap is not None:
            rect = QRectF(pixmap.rect())
        elif floor.plan_size_px is not None:
            rect = QRectF(0, 0, *floor.plan_size_px)
        else:
            rect = scene.itemsBoundingRect().adjusted(-40, -40, 40, 40)
        if pixmap is None:
            placeholder = QGraphicsRectItem(rect)
            placeholder.setBrush(QBrush(PALETTE.qcolor("border"), Qt.BrushStyle.BDiagPattern))
            placeholder.setPen(_pen("border", 1))
            placeholder.setZValue(_Z_PLAN)
            scene.addItem(placeholder)
        margin = 0.04 * max(rect.width(), rect.height())  # room for tags at the plan's edges
        scene.setSceneRect(rect.adjusted(-margin, -margin, margin, margin))
        return built

    @staticmethod
    def _add_zone(scene: QGraphicsScene, zone: Zone) -> PlanOutline:
        outline = PlanOutline(
            "zone", zone.id, zone.name, zone.plan_polygon, restricted=zone.kind == "restricted"
        )
        scene.addItem(outline)
        return outline

    @staticmethod
    def _add_object(scene: QGraphicsScene, obj: ProtectedObject) -> PlanOutline | None:
        if obj.plan_polygon is None:
            return None
        outline = PlanOutline("object", obj.id, obj.name, obj.plan_polygon)
        scene.addItem(outline)
        return outline

    # -- floors --------------------------------------------------------------------------------

    @property
    def current_floor(self) -> str:
        assert self._current is not None
        return self._current

    @property
    def floor_ids(self) -> tuple[str, ...]:
        return tuple(self._floors)

    def scene_of(self, floor_id: str) -> QGraphicsScene:
        return self._floors[floor_id].scene

    def set_floor(self, floor_id: str) -> None:
        built = self._floors[floor_id]  # KeyError names an unknown floor
        if floor_id == self._current:
            return
        self._current = floor_id
        index = self.floor_selector.findData(floor_id)
        if index != self.floor_selector.currentIndex():
            self.floor_selector.setCurrentIndex(index)
        self.view.setScene(built.scene)
        if built.problem:
            self.message.setText(
                f"Plan image of {built.floor.name} cannot be shown: {built.problem}. "
                "Cameras, objects, zones and alarms are drawn without it."
            )
            self.message.show()
        else:
            self.message.clear()
            self.message.hide()
        self.view.fit_to_plan()
        self.floor_changed.emit(floor_id)

    @Slot(int)
    def _on_floor_selected(self, index: int) -> None:
        floor_id = self.floor_selector.itemData(index)
        if isinstance(floor_id, str):
            self.set_floor(floor_id)

    @property
    def plan_problem(self) -> str | None:
        """Why the current floor's plan image is not shown (None when it is)."""
        return self._floors[self.current_floor].problem

    # -- items (for the main window and tests) -------------------------------------------------

    def camera_icon(self, camera_id: str) -> CameraIcon:
        for built in self._floors.values():
            if camera_id in built.cameras:
                return built.cameras[camera_id]
        raise KeyError(f"no camera icon for {camera_id!r} (unknown camera or no plan_position)")

    def outline(self, subject_id: str) -> PlanOutline:
        """The outline of a protected object or a zone."""
        for built in self._floors.values():
            found = built.objects.get(subject_id) or built.zones.get(subject_id)
            if found is not None:
                return found
        raise KeyError(f"no outline for {subject_id!r} on the plan")

    def alarm_text(self, subject_id: str) -> str | None:
        """The alarm tag shown at an object or zone, None when it has no open alarm."""
        marker = self.outline(subject_id).marker
        return marker.text if marker is not None else None

    def people(self) -> dict[tuple[str, int], PersonMark]:
        """The people marks shown now, by (camera id, track id)."""
        return dict(self._people)

    # -- alarms --------------------------------------------------------------------------------

    @Slot(list)
    def update_alarms(self, alarms: Iterable[Alarm]) -> None:
        """The open alarms (resolved ones are ignored): outlines and icons follow them, and
        the labels are placed again when an outline's or icon's words or marks changed (a
        pass costs about 12 ms on a plan of 32 alarmed cameras; an alarm whose people change
        on every look would otherwise cost one up to four times a second)."""
        by_subject: dict[str, list[Alarm]] = {}
        by_camera: dict[str, list[Alarm]] = {}
        for alarm in alarms:
            if alarm.state == AlarmState.RESOLVED:
                continue
            by_subject.setdefault(alarm.subject_id, []).append(alarm)
            by_camera.setdefault(alarm.camera_id, []).append(alarm)
        changed = False
        for built in self._floors.values():
            for subject_id, outline in (*built.objects.items(), *built.zones.items()):
                changed |= outline.set_alarms(by_subject.get(subject_id, ()))
            for camera_id, icon in built.cameras.items():
                changed |= icon.set_alarms(by_camera.get(camera_id, ()))
        if changed:
            self._labels_pacer.request()

    def catch_up(self) -> None:
        """Place the labels now if a paced pass is pending (tests that look right after a
        change; nothing else needs it sooner than LABELS_EVERY_MS)."""
        self._labels_pacer.flush()

    # -- watched visitors (console.behaviour) ---------------------------------------------------

    def show_watched(self, view: BehaviourView) -> None:
        """Draw each watched visitor's way (the last few minutes the model keeps) as a line
        that fades with age, and their label at its newest point (the watch list's selected
        visitor bolder)."""
        self._watched_view = view
        for built in self._floors.values():
            for item in built.watched:
                built.scene.removeItem(item)
            built.watched.clear()
        now_s = view.at.timestamp()
        for person in view.watched:
            points = person.path
            if not points:
                continue
            span = max(1.0, now_s - points[0].at_s)
            width = 6 if person.visitor_id == self.selected_watched else 3
            for a, b in itertools.pairwise(points):
                scene = self._floors.get(b.floor_id)
                if scene is None or a.floor_id != b.floor_id:
                    continue
                fresh = max(0.15, 1.0 - (now_s - b.at_s) / span)
                line = QGraphicsLineItem(a.x, a.y, b.x, b.y)
                line.setPen(QPen(PALETTE.qcolor("focus", round(255 * fresh)), width))
                line.setZValue(_Z_PERSON)
                scene.scene.addItem(line)
                scene.watched.append(line)
            last = points[-1]
            end = self._floors.get(last.floor_id)
            if end is not None:
                tag = _Tag(person.label, "text")
                tag.setPos(last.x + 6, last.y - 6)
                tag.setZValue(_Z_MARK)
                end.scene.addItem(tag)
                end.watched.append(tag)

    def focus_watched(self, person: WatchedPerson | None) -> None:
        """The watch list's selection: their floor, centred on where they were last placed
        (their newest path point, else the camera that saw them last), their way drawn
        bolder. None: no selection."""
        self.selected_watched = person.visitor_id if person is not None else None
        target: tuple[str, QPointF] | None = None
        if person is not None and person.path:
            last = person.path[-1]
            target = (last.floor_id, QPointF(last.x, last.y))
        elif person is not None and person.last_camera is not None:
            for floor_id, built in self._floors.items():
                icon = built.cameras.get(person.last_camera)
                if icon is not None:
                    target = (floor_id, icon.pos())
                    break
        if target is not None and target[0] in self._floors:
            self.set_floor(target[0])
            self.view.centerOn(target[1])
        if self._watched_view is not None:
            self.show_watched(self._watched_view)

    def watched_items(self, floor_id: str) -> list[QGraphicsItem]:
        """What `show_watched` drew on a floor (for tests)."""
        return list(self._floors[floor_id].watched)

    # -- people --------------------------------------------------------------------------------

    def listen_to(self, bridge: PipelineBridge) -> None:
        bridge.tracks_arrived.connect(self.show_tracks)

    @Slot(object)
    def show_tracks(self, frame: TrackedFrame) -> None:
        """People of a pipeline frame: foot points through the camera's calibration."""
        camera_id = frame.ref.camera_id
        try:
            calibration = self.site.calibration(camera_id)
        except KeyError:
            return
        if calibration is None or len(frame.people) == 0:
            return  # an uncalibrated camera cannot place people on the plan
        plan = calibration.image_to_plan_px(frame.people.foot_points)
        points = [
            (int(tid), float(x), float(y))
            for tid, (x, y) in zip(frame.people.track_id, plan, strict=True)
            if tid >= 0
        ]
        self.update_people(camera_id, points)

    @Slot(str, list)
    def update_people(
        self, camera_id: str, points_plan_px: Sequence[tuple[int, float, float]]
    ) -> None:
        """Where this camera's tracked people stand now, in plan pixels of the camera's floor."""
        try:
            floor_id = self.site.camera(camera_id).floor
        except KeyError:
            log.debug("people for unknown camera %s ignored", camera_id)
            return
        scene = self._floors[floor_id].scene
        now = self._clock()
        for track_id, x, y in points_plan_px:
            if not (math.isfinite(x) and math.isfinite(y)):
                continue  # beyond the horizon: not on the floor
            key = (camera_id, int(track_id))
            mark = self._people.get(key)
            if mark is None:
                mark = PersonMark(camera_id, int(track_id), now)
                scene.addItem(mark)
                self._people[key] = mark
            mark.seen_at = now
            mark.setOpacity(1.0)
            mark.setPos(QPointF(x, y))
        if self._people and self.isVisible() and not self._fade_timer.isActive():
            self._fade_timer.start()

    @Slot()
    def fade_people(self) -> None:
        """Fade people not seen lately; remove those not seen for `people_fade_s`."""
        now = self._clock()
        span = self._fade_s - self._hold_s
        for key, mark in list(self._people.items()):
            age = now - mark.seen_at
            if age >= self._fade_s:
                scene = mark.scene()
                if scene is not None:
                    scene.removeItem(mark)
                del self._people[key]
            elif age > self._hold_s:
                mark.setOpacity(max(0.0, 1.0 - (age - self._hold_s) / span))
        if not self._people:
            self._fade_timer.stop()

    # -- timers --------------------------------------------------------------------------------

    @property
    def is_running(self) -> bool:
        return self._fade_timer.isActive()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._people:
            self._fade_timer.start()

    def hideEvent(self, event: QHideEvent) -> None:
        self._fade_timer.stop()
        self._layout_timer.stop()
        super().hideEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        self._fade_timer.stop()
        self._layout_timer.stop()
        super().closeEvent(event)

    # -- labels that never cover each other or a camera ----------------------------------------

    def _placeables(self) -> list[_Placeable]:
        """The labels the operator wants shown on this floor, most important first."""
        built = self._floors[self.current_floor]
        found: list[_Placeable] = []
        outlines = [*built.objects.values(), *built.zones.values()]
        line = 20.0
        for outline in outlines:
            marker = outline.marker
            if marker is not None and marker.tag.wanted:
                near = outline.polygon().boundingRect()
                found.append(
                    _Placeable(
                        marker.tag, 0, marker.natural, True, True, near, 6 * line, marker=marker
                    )
                )
        for icon in built.cameras.values():
            spot = QRectF(icon.pos(), icon.pos())
            if icon.alarm_tag.wanted:
                # the camera's own words are needed where no object or zone on the plan says
                # the alarm (a camera fault); otherwise its ring says it, and the words may go
                said = {*built.objects, *built.zones}
                own = any(a.subject_id not in said for a in icon.alarms)
                found.append(
                    _Placeable(
                        icon.alarm_tag,
                        1,
                        icon.alarm_tag_natural,
                        False,
                        own,
                        spot,
                        3 * line,
                        shorten=False,
                    )
                )
            if icon.label.wanted and not icon.hovered:
                found.append(
                    _Placeable(icon.label, 2, icon.label_natural, False, False, spot, 2 * line)
                )
        for outline in outlines:
            if outline.label.wanted:
                rank = 3 if outline.alarmed else (4 if outline.kind == "zone" else 5)
                # a room's name stays in the room; an artwork's name next to it, centred below
                near = outline.polygon().boundingRect()
                natural = outline.label_natural
                slack = 8.0
                if outline.kind == "object":
                    wide = self.view.mapFromScene(near).boundingRect().width()
                    text_w = QFontMetricsF(outline.label.font()).horizontalAdvance(
                        outline.label.full_text
                    )
                    natural = QPointF((wide - text_w) / 2, 4)
                    slack = 2 * line
                found.append(
                    _Placeable(
                        outline.label,
                        rank,
                        natural,
                        True,
                        False,
                        near,
                        slack,
                        bare=outline.kind == "zone",
                    )
                )
        return sorted(found, key=lambda p: p.rank)

    def _obstacles(self) -> list[QRectF]:
        """Where the camera icons (with their alarm rings) and the alarm marks are on screen."""
        built = self._floors[self.current_floor]
        rects: list[QRectF] = []
        for icon in built.cameras.values():
            at = QPointF(self.view.mapFromScene(icon.pos()))
            shape = icon.boundingRect()
            if icon.ring.isVisible():
                shape = shape.united(icon.ring.boundingRect())
            rects.append(shape.translated(at))
        for outline in (*built.objects.values(), *built.zones.values()):
            marker = outline.marker
            if marker is not None and marker.mark.isVisible():
                at = QPointF(self.view.mapFromScene(marker.mark.pos()))
                shift = QPointF(marker.mark.transform().dx(), marker.mark.transform().dy())
                rects.append(marker.mark.boundingRect().translated(at + shift))
        return rects

    @Slot()
    def place_labels(self) -> None:
        """Place every wanted label where it covers no other label and no camera: where its
        owner puts it, else stacked a line or two above or below, or beside; else in a shorter
        form (its tooltip keeps the whole); else hidden (not an alarm's: that one always
        shows). So the whole plan in a small panel shows room names and alarms, and zooming in
        brings back the rest. A pass still under way in slices is superseded."""
        for _ in self._placing():
            pass

    def _placing(self) -> Iterator[None]:
        """`place_labels` one label at a time, yielding after each: the alarms' pacer runs it
        in slices of LABELS_SLICE_MS with the event loop's other work between them. A newer
        pass (a zoom, a floor change, the next paced pass) ends this one where it stands."""
        self._placing_pass += 1
        this_pass = self._placing_pass
        if self._current is None:
            return
        side = round(min(CAMERA_ICON_PX, max(MIN_CAMERA_ICON_PX, 10 + 40 * self.view.zoom)))
        for icon in self._floors[self.current_floor].cameras.values():
            icon.set_size(side)
        taken = _Taken(_edges(r) for r in self._obstacles())
        bounds = QRectF(self.view.viewport().rect())
        for label in self._placeables():
            yield
            if self._placing_pass != this_pass:
                return  # a newer pass took over
            tag = label.tag
            tag.tip(tag.full_text)
            area = label.allowed(self.view)
            inside = bounds if area is None else bounds.intersected(area)
            forms = [tag.full_text]
            if label.shorten:
                forms = _shorter_forms(tag.full_text, essential=label.essential, bare=label.bare)
            # every form's box at its owner's place, tried together (the longest that fits),
            # in plain numbers: the words' sizes are measured once (_Tag.box_of)
            x, y = label.screen_at(self.view)
            reach = 6 if label.essential else 3
            tries: list[tuple[Edges, np.ndarray]] = []
            for text in forms:
                left, top, right, bottom = tag.box_of(text)
                base = (x + left, y + top, x + right, y + bottom)
                tries.append((base, _box_shifts_for(right - left, bottom - top, reach)))
            free = taken.first_free(tries, inside)
            if free is not None:
                form, place = free
            elif label.essential:  # an alarm is always said: where it covers the least
                form = len(forms) - 1  # its shortest form
                place = taken.least_covered(*tries[form], inside)
            else:
                tag.setVisible(False)
                continue
            base, shifts = tries[form]
            dx, dy = float(shifts[place, 0]), float(shifts[place, 1])
            tag.say_shortly(forms[form])
            label.move(QPointF(dx, dy))
            tag.setVisible(True)
            taken.add((base[0] + dx, base[1] + dy, base[2] + dx, base[3] + dy))
        self.labels_placed += 1

    def shown_labels(self) -> list[tuple[str, QRectF]]:
        """The labels on screen now: their words and where (viewport pixels)."""
        return [
            (label.tag.text(), label.screen_rect(self.view, label.offset()))
            for label in self._placeables()
            if label.tag.isVisible()
        ]

    def outline_labels(self) -> list[_Tag]:
        """The name labels of this floor's objects and zones (shown, shortened or hidden)."""
        built = self._floors[self.current_floor]
        return [o.label for o in (*built.objects.values(), *built.zones.values())]

    def camera_rects(self) -> dict[str, QRectF]:
        """Where each camera icon is on screen now (viewport pixels)."""
        built = self._floors[self.current_floor]
        return {
            camera_id: icon.boundingRect().translated(QPointF(self.view.mapFromScene(icon.pos())))
            for camera_id, icon in built.cameras.items()
        }
