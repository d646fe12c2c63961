"""The plan canvas: one floor's plan with its zones, protected objects and cameras, drawn from
the draft and edited with the mouse.

Tools (the editor's tool bar):

- **Select**: click a zone, object or camera to select it (its fields show in the side panel);
  drag it to move it; drag a corner (a square handle) to reshape it; double-click an edge to
  add a corner there; Delete removes the corner last touched, or else the item. A shape whose
  edges would cross is refused (it springs back, and the status line says why).
- **Zone**, **Object**: click the corners, then Enter (or double-click, or a click on the first
  corner) closes the outline; Backspace takes the last corner back, Esc drops it. A corner that
  would make the edges cross is refused.
- **Camera**: click where the camera hangs; the camera dialog asks for its stream.
- **Scale**: drag a line along something of known length; the length in metres sets the
  floor's scale.

Corners snap to the corners of the other shapes nearby (and, with "snap to grid", to a grid
every 0.25 m). Every change is one step on the draft's undo stack. An object's minimum
distance is drawn as a halo around it; a calibrated camera's footprint (what it sees of the
floor, from `console.calibration`) as its view cone. What the check finds wrong is outlined in
red. The wheel zooms, the middle (or right) button pans, 0 fits the plan.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from PySide6.QtCore import QLineF, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QImageReader,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPainterPathStroker,
    QPen,
    QPixmap,
    QPolygonF,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsLineItem,
    QGraphicsPathItem,
    QGraphicsPixmapItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QWidget,
)

from console.calibration import footprint_on_plan
from console.floor_plan import polygon_area, polygon_self_intersects
from ui.site_editor.draft import SiteDraft, number, path_text, points
from ui.theme import PALETTE

log = logging.getLogger(__name__)

__all__ = ["PlanCanvas", "Tool", "shape_fault"]

Pt = tuple[float, float]
Key = tuple[str, int]  # (section, index) of the draft

HANDLE_PX = 9  # a corner handle's side on screen
GRAB_PX = 8  # how near (screen px) a click must be to grab a corner or an edge
CAMERA_GRAB_PX = 9  # a camera's icon is 14 px across
SNAP_PX = 10  # how near (screen px) a corner snaps to another
GRID_STEP_M = 0.25
ZOOM_STEP = 1.2
MIN_ZOOM, MAX_ZOOM = 0.05, 40.0
_Z_PLAN, _Z_ZONE, _Z_HALO, _Z_OBJECT, _Z_CAMERA, _Z_HANDLE, _Z_DRAW = 0, 1, 2, 3, 4, 5, 6


class Tool(StrEnum):
    SELECT = "select"
    ZONE = "zone"
    OBJECT = "object"
    CAMERA = "camera"
    SCALE = "scale"


def shape_fault(polygon: Sequence[Pt]) -> str | None:
    """Why an outline cannot be one (in words), or None."""
    if len(polygon) < 3:
        return "an outline needs at least 3 corners"
    if polygon_self_intersects(polygon):
        return "its edges would cross each other"
    if polygon_area(polygon) <= 0.0:
        return "it would have no area (its corners lie on one line)"
    return None


def _cross(o: Pt, a: Pt, b: Pt) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def _segments_touch(a: Pt, b: Pt, c: Pt, d: Pt) -> bool:
    d1, d2, d3, d4 = _cross(c, d, a), _cross(c, d, b), _cross(a, b, c), _cross(a, b, d)
    if ((d1 > 0) != (d2 > 0)) and ((d3 > 0) != (d4 > 0)) and 0 not in (d1, d2, d3, d4):
        return True

    def on(p: Pt, q: Pt, r: Pt) -> bool:
        return min(p[0], q[0]) <= r[0] <= max(p[0], q[0]) and min(p[1], q[1]) <= r[1] <= max(
            p[1], q[1]
        )

    return (
        (d1 == 0 and on(c, d, a))
        or (d2 == 0 and on(c, d, b))
        or (d3 == 0 and on(a, b, c))
        or (d4 == 0 and on(a, b, d))
    )


def next_corner_fault(corners: Sequence[Pt], point: Pt) -> str | None:
    """Why `point` cannot be the next corner of an outline being drawn, or None."""
    if corners and math.dist(corners[-1], point) < 1e-6:
        return "that corner is the one before"
    if len(corners) >= 2:
        new = (corners[-1], point)
        for i in range(len(corners) - 2):
            if _segments_touch(corners[i], corners[i + 1], *new):
                return "that corner would make the outline's edges cross"
    return None


def polygon_path(polygon: Sequence[Pt]) -> QPainterPath:
    path = QPainterPath()
    path.addPolygon(QPolygonF([QPointF(x, y) for x, y in polygon]))
    path.closeSubpath()
    return path


def halo_path(polygon: Sequence[Pt], radius_px: float) -> QPainterPath:
    """The outline grown by `radius_px` all round: where a person raises a proximity alarm."""
    path = polygon_path(polygon)
    if radius_px <= 0:
        return path
    stroker = QPainterPathStroker()
    stroker.setWidth(2 * radius_px)
    stroker.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    stroker.setCapStyle(Qt.PenCapStyle.RoundCap)
    return stroker.createStroke(path).united(path).simplified()


@dataclass
class _Drag:
    kind: str  # vertex | shape | camera | pan | scale
    key: Key | None = None
    vertex: int | None = None
    start: QPointF = field(default_factory=QPointF)
    start_view: QPointF = field(default_factory=QPointF)
    original: Any = None
    now: Any = None
    moved: bool = False


class _Handle(QGraphicsRectItem):
    def __init__(self, key: Key, vertex: int, at: Pt) -> None:
        half = HANDLE_PX / 2
        super().__init__(QRectF(-half, -half, HANDLE_PX, HANDLE_PX))
        self.key = key
        self.vertex = vertex
        self.setPos(QPointF(*at))
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
        self.setBrush(PALETTE.qcolor("text"))
        self.setPen(QPen(PALETTE.qcolor("wall"), 1))
        self.setZValue(_Z_HANDLE)


class PlanCanvas(QGraphicsView):
    """See the module doc."""

    selection_changed = Signal(object)  # (section, index) or None
    message = Signal(str)  # a refusal or a hint, for the status line
    camera_placed = Signal(str, float, float)  # floor id, plan x, y: the editor asks the rest
    scale_line_drawn = Signal(str, float)  # floor id, the line's length in plan px

    def __init__(self, draft: SiteDraft, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.draft = draft
        self.setScene(QGraphicsScene(self))
        self.setRenderHints(
            QPainter.RenderHint.Antialiasing | QPainter.RenderHint.SmoothPixmapTransform
        )
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setBackgroundBrush(PALETTE.qcolor("wall"))
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.setAccessibleName("plan editor")
        self.floor_id: str | None = None
        self.tool = Tool.SELECT
        self.snap_to_grid = False
        self.selected: Key | None = None
        self.active_vertex: int | None = None
        self.drawing: list[Pt] = []
        self._drag: _Drag | None = None
        self._fit_pending = True
        self._auto_fit = True  # follow the view's size until the supervisor zooms or pans
        self._pixmaps: dict[tuple[Path, float], QPixmap | None] = {}
        self._footprints: dict[tuple[Any, ...], tuple[Pt, ...]] = {}
        self.plan_size: tuple[int, int] | None = None
        self.shapes: dict[Key, list[Pt]] = {}  # what is drawn now, by (section, index)
        self.outline_items: dict[Key, QGraphicsPathItem] = {}
        self.halo_items: dict[Key, QGraphicsPathItem] = {}
        self.camera_items: dict[Key, QGraphicsEllipseItem] = {}
        self.footprint_items: dict[Key, QGraphicsPathItem] = {}
        self.handles: list[_Handle] = []
        self._draw_item: QGraphicsPathItem | None = None
        self._scale_item: QGraphicsLineItem | None = None
        self._snap_mark: QGraphicsEllipseItem | None = None
        draft.changed.connect(self.rebuild)
        draft.checked.connect(lambda _check: self._mark_problems())

    # -- what the editor sets ------------------------------------------------------------

    def set_floor(self, floor_id: str | None) -> None:
        if floor_id == self.floor_id:
            return
        self.floor_id = floor_id
        self.drawing = []
        self._select(None)
        self._fit_pending = True
        self.rebuild()

    def set_tool(self, tool: Tool) -> None:
        self.tool = Tool(tool)
        self.drawing = []
        self._drag = None
        self._draw_preview(None)
        self.viewport().setCursor(
            Qt.CursorShape.ArrowCursor if self.tool is Tool.SELECT else Qt.CursorShape.CrossCursor
        )
        hints = {
            Tool.ZONE: "Click the zone's corners; Enter closes it, Backspace takes one back",
            Tool.OBJECT: "Click the object's corners; Enter closes it, Backspace takes one back",
            Tool.CAMERA: "Click where the camera hangs",
            Tool.SCALE: "Drag a line along something whose length you know",
        }
        if self.tool in hints:
            self.message.emit(hints[self.tool])

    def select(self, key: Key | None) -> None:
        """Select an item of the draft (the problems list, the panel's list)."""
        if key is not None:
            item = self.draft.get(key)
            floor = item.get("floor") if isinstance(item, dict) else None
            if (
                isinstance(floor, str)
                and floor != self.floor_id
                and floor in self.draft.ids("floors")
            ):
                self.floor_id = floor
                self._fit_pending = True
        self._select(key)
        self.rebuild()

    def _select(self, key: Key | None) -> None:
        changed = key != self.selected
        self.selected = key
        self.active_vertex = None
        if changed:
            self.selection_changed.emit(key)

    # -- drawing from the draft ----------------------------------------------------------

    def rebuild(self) -> None:
        """Draw the floor from the draft as it is now."""
        scene = self.scene()
        scene.clear()
        self.shapes.clear()
        self.outline_items.clear()
        self.halo_items.clear()
        self.camera_items.clear()
        self.footprint_items.clear()
        self.handles = []
        self._draw_item = None
        self._scale_item = None
        self._snap_mark = None
        if self.selected is not None and not isinstance(self.draft.get(self.selected), dict):
            self._select(None)  # deleted, or undone
        floor = self.floor_id
        if floor is None:
            return
        mpp = self.draft.metres_per_pixel(floor)
        pixmap = self._plan_pixmap(floor)
        if pixmap is not None:
            item = QGraphicsPixmapItem(pixmap)
            item.setZValue(_Z_PLAN)
            item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
            scene.addItem(item)
            rect = QRectF(pixmap.rect())
            self.plan_size = (pixmap.width(), pixmap.height())
        else:
            self.plan_size = None
            rect = QRectF(0, 0, 1200, 800)
            placeholder = QGraphicsRectItem(rect)
            placeholder.setBrush(QBrush(PALETTE.qcolor("border"), Qt.BrushStyle.BDiagPattern))
            placeholder.setZValue(_Z_PLAN)
            scene.addItem(placeholder)
        for index, zone in enumerate(self.draft.get(("zones",)) or []):
            if isinstance(zone, dict) and zone.get("floor") == floor:
                self._add_shape(("zones", index), zone, None)
        for index, obj in enumerate(self.draft.get(("protected_objects",)) or []):
            if isinstance(obj, dict) and obj.get("floor") == floor:
                self._add_shape(("protected_objects", index), obj, mpp)
        for index, camera in enumerate(self.draft.get(("cameras",)) or []):
            if isinstance(camera, dict) and camera.get("floor") == floor:
                self._add_camera(("cameras", index), camera, mpp)
        self._add_handles()
        self._draw_preview(None)
        margin = 0.04 * max(rect.width(), rect.height())
        scene.setSceneRect(rect.adjusted(-margin, -margin, margin, margin))
        self._mark_problems()
        if (self._fit_pending or self._auto_fit) and self.viewport().width() > 10:
            self.fit()

    def _plan_pixmap(self, floor_id: str) -> QPixmap | None:
        path = self.draft.plan_path(floor_id)
        if path is None or not path.is_file():
            return None
        key = (path, path.stat().st_mtime)
        if key not in self._pixmaps:
            reader = QImageReader(str(path))
            reader.setAutoTransform(True)
            image = reader.read()
            self._pixmaps[key] = None if image.isNull() else QPixmap.fromImage(image)
        return self._pixmaps[key]

    def _add_shape(self, key: Key, item: dict[str, Any], mpp: float | None) -> None:
        polygon = points(item.get("plan_polygon"))
        if not polygon or len(polygon) < 2:
            return
        self.shapes[key] = polygon
        section = key[0]
        is_object = section == "protected_objects"
        colour = self._colour(key, item)
        if is_object:
            radius = number(item.get("min_distance_m"))
            halo = QGraphicsPathItem()
            halo.setZValue(_Z_HALO)
            halo.setPen(QPen(QColor(colour.red(), colour.green(), colour.blue(), 110), 1))
            halo.setBrush(QColor(colour.red(), colour.green(), colour.blue(), 45))
            halo.setData(0, (radius / mpp) if radius and mpp else 0.0)
            halo.setToolTip(f"minimum distance {radius:g} m" if radius else "")
            self.scene().addItem(halo)
            self.halo_items[key] = halo
        outline = QGraphicsPathItem()
        outline.setZValue(_Z_OBJECT if is_object else _Z_ZONE)
        brush = QColor(colour)
        brush.setAlpha(70 if is_object else 28)
        outline.setBrush(
            QBrush(brush, Qt.BrushStyle.BDiagPattern)
            if item.get("kind") == "restricted"
            else QBrush(brush)
        )
        pen = QPen(colour, 3.2 if key == self.selected else 1.6)
        pen.setCosmetic(True)
        outline.setPen(pen)
        outline.setToolTip(f"{item.get('name', '')} ({item.get('id', '')})")
        self.scene().addItem(outline)
        self.outline_items[key] = outline
        _label(str(item.get("name") or item.get("id") or ""), outline)
        self._place_shape(key, polygon)

    def _place_shape(self, key: Key, polygon: Sequence[Pt]) -> None:
        """Put a shape (and its halo, label, handles) at these corners (also while dragging)."""
        outline = self.outline_items.get(key)
        if outline is None:
            return
        outline.setPath(polygon_path(polygon))
        halo = self.halo_items.get(key)
        if halo is not None:
            halo.setPath(halo_path(polygon, float(halo.data(0) or 0.0)))
        for child in outline.childItems():
            if isinstance(child, QGraphicsRectItem):  # the label's backdrop
                xs = [p[0] for p in polygon]
                ys = [p[1] for p in polygon]
                child.setPos(QPointF(min(xs), min(ys)))
        for handle in self.handles:
            if handle.key == key and handle.vertex < len(polygon):
                handle.setPos(QPointF(*polygon[handle.vertex]))

    def _colour(self, key: Key, item: dict[str, Any]) -> QColor:
        if key[0] == "protected_objects":
            return PALETTE.qcolor("stalled")
        if item.get("kind") == "restricted":
            return PALETTE.qcolor("offline")
        return PALETTE.qcolor("focus")

    def _add_camera(self, key: Key, camera: dict[str, Any], mpp: float | None) -> None:
        at = points([camera.get("plan_position")]) if camera.get("plan_position") else None
        cone = self._footprint(camera, mpp)
        if cone:
            item = QGraphicsPathItem(polygon_path(cone))
            item.setZValue(_Z_ZONE)
            item.setBrush(PALETTE.qcolor("live", 40))
            pen = QPen(PALETTE.qcolor("live", 170), 1.2, Qt.PenStyle.DashLine)
            pen.setCosmetic(True)
            item.setPen(pen)
            item.setToolTip(f"what {camera.get('name', camera.get('id'))} sees of the floor")
            self.scene().addItem(item)
            self.footprint_items[key] = item
        if not at:
            return
        x, y = at[0]
        icon = QGraphicsEllipseItem(QRectF(-7, -7, 14, 14))
        icon.setPos(QPointF(x, y))
        icon.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
        icon.setZValue(_Z_CAMERA)
        selected = key == self.selected
        icon.setBrush(PALETTE.qcolor("live" if cone else "connecting"))
        icon.setPen(QPen(PALETTE.qcolor("text" if selected else "wall"), 3 if selected else 1.5))
        icon.setToolTip(f"camera {camera.get('name', '')} ({camera.get('id', '')})")
        label = _label(str(camera.get("name") or camera.get("id") or ""), icon)
        label.setPos(QPointF(9, -8))
        self.scene().addItem(icon)
        self.camera_items[key] = icon

    def _footprint(self, camera: dict[str, Any], mpp: float | None) -> tuple[Pt, ...]:
        calibration = camera.get("calibration")
        if not isinstance(calibration, dict) or mpp is None:
            return ()
        image, plan = points(calibration.get("image")), points(calibration.get("plan"))
        if not image or not plan or len(image) != len(plan) or len(image) < 4:
            return ()
        size = camera.get("frame_size_px")
        frame = self._probed_frame_size(str(camera.get("id")))
        if isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) for v in size):
            frame = (int(size[0]), int(size[1]))
        if frame is None:
            xs = [p[0] for p in image]
            ys = [p[1] for p in image]
            frame = (max(16, math.ceil(max(xs))), max(16, math.ceil(max(ys))))
        key = (tuple(image), tuple(plan), mpp, frame, self.plan_size)
        if key not in self._footprints:
            self._footprints[key] = footprint_on_plan(image, plan, mpp, frame, self.plan_size)
        return self._footprints[key]

    def _probed_frame_size(self, camera_id: str) -> tuple[int, int] | None:
        check = self.draft.last_check
        if check is None or check.site is None:
            return None
        try:
            return check.site.camera(camera_id).frame_size
        except KeyError:
            return None

    def _add_handles(self) -> None:
        key = self.selected
        if key is None or key not in self.shapes or self.tool is not Tool.SELECT:
            return
        for vertex, at in enumerate(self.shapes[key]):
            handle = _Handle(key, vertex, at)
            self.scene().addItem(handle)
            self.handles.append(handle)

    def _mark_problems(self) -> None:
        """Outline in red (dashed) what the check finds wrong."""
        for key, outline in self.outline_items.items():
            wrong = bool(self.draft.problems_at(path_text(key)))
            item = self.draft.get(key)
            colour = PALETTE.qcolor("offline") if wrong else self._colour(key, item or {})
            pen = QPen(colour, 3.2 if key == self.selected else 1.6)
            pen.setStyle(Qt.PenStyle.DashLine if wrong else Qt.PenStyle.SolidLine)
            pen.setCosmetic(True)
            outline.setPen(pen)
        for key, icon in self.camera_items.items():
            if self.draft.problems_at(path_text(key)):
                icon.setBrush(PALETTE.qcolor("offline"))

    # -- the view ------------------------------------------------------------------------

    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def fit(self) -> None:
        rect = self.scene().sceneRect()
        if rect.isEmpty():
            return
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        self._fit_pending = False

    def zoom_by(self, factor: float) -> None:
        self._auto_fit = False
        target = min(MAX_ZOOM, max(MIN_ZOOM, self.zoom * factor))
        if self.zoom > 0:
            self.scale(target / self.zoom, target / self.zoom)

    def view_point(self, plan: Pt) -> QPointF:
        """Where a plan point is on the viewport (for tests: where to click)."""
        return QPointF(self.mapFromScene(QPointF(*plan)))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._fit_pending or self._auto_fit:
            self.fit()

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.zoom_by(ZOOM_STEP**steps)
            event.accept()

    # -- the mouse -------------------------------------------------------------------------

    def _scene_point(self, event: QMouseEvent) -> QPointF:
        return self.mapToScene(event.position().toPoint())

    def _tolerance(self, px: float) -> float:
        return px / max(self.zoom, 1e-6)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        at = self._scene_point(event)
        if event.button() in (Qt.MouseButton.MiddleButton, Qt.MouseButton.RightButton):
            self._auto_fit = False
            self._drag = _Drag("pan", start=at, start_view=event.position())
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        if event.button() != Qt.MouseButton.LeftButton or self.floor_id is None:
            super().mousePressEvent(event)
            return
        event.accept()
        if self.tool is Tool.SELECT:
            self._press_select(at)
        elif self.tool in (Tool.ZONE, Tool.OBJECT):
            self._add_corner(self._snap((at.x(), at.y()), None))
        elif self.tool is Tool.CAMERA:
            x, y = self._snap((at.x(), at.y()), None)
            self.camera_placed.emit(self.floor_id, round(x, 1), round(y, 1))
        elif self.tool is Tool.SCALE:
            self._drag = _Drag("scale", start=at, original=(at.x(), at.y()))

    def _press_select(self, at: QPointF) -> None:
        key, vertex = self._vertex_at(at)
        if key is not None and vertex is not None:
            self.active_vertex = vertex
            self._drag = _Drag("vertex", key, vertex, at, original=list(self.shapes[key]), now=None)
            return
        camera = self._camera_at(at)
        if camera is not None:
            self._select(camera)
            self.rebuild()
            position = points([self.draft.get((*camera, "plan_position"))])
            self._drag = _Drag(
                "camera", camera, None, at, original=position[0] if position else None
            )
            return
        shape = self._shape_at(at)
        self._select(shape)
        self.rebuild()
        if shape is not None:
            self._drag = _Drag("shape", shape, None, at, original=list(self.shapes[shape]))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        drag = self._drag
        at = self._scene_point(event)
        if drag is None:
            if self.tool in (Tool.ZONE, Tool.OBJECT) and self.drawing:
                self._draw_preview(self._snap((at.x(), at.y()), None))
            super().mouseMoveEvent(event)
            return
        event.accept()
        if drag.kind == "pan":
            delta = event.position() - drag.start_view
            drag.start_view = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(delta.y()))
            return
        if drag.kind == "scale":
            self._scale_preview(drag.original, (at.x(), at.y()))
            drag.now = (at.x(), at.y())
            drag.moved = True
            return
        if drag.key is None:
            return
        dx, dy = at.x() - drag.start.x(), at.y() - drag.start.y()
        if not drag.moved and math.hypot(dx, dy) < self._tolerance(3):
            return  # a click, not yet a drag
        drag.moved = True
        if drag.kind == "vertex":
            assert drag.vertex is not None
            moved = list(drag.original)
            moved[drag.vertex] = self._snap((at.x(), at.y()), (drag.key, drag.vertex))
            drag.now = moved
            self.shapes[drag.key] = moved
            self._place_shape(drag.key, moved)
        elif drag.kind == "shape":
            moved = [(x + dx, y + dy) for x, y in drag.original]
            drag.now = moved
            self.shapes[drag.key] = moved
            self._place_shape(drag.key, moved)
        elif drag.kind == "camera" and drag.original is not None:
            drag.now = self._snap((drag.original[0] + dx, drag.original[1] + dy), None)
            icon = self.camera_items.get(drag.key)
            if icon is not None:
                icon.setPos(QPointF(*drag.now))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        drag, self._drag = self._drag, None
        if drag is None:
            super().mouseReleaseEvent(event)
            return
        event.accept()
        if drag.kind == "pan":
            select = self.tool is Tool.SELECT
            self.viewport().setCursor(
                Qt.CursorShape.ArrowCursor if select else Qt.CursorShape.CrossCursor
            )
            return
        if drag.kind == "scale":
            self._scale_preview(None, None)
            if drag.now is not None and self.floor_id is not None:
                length = math.dist(drag.original, drag.now)
                if length < 5:
                    self.message.emit("The scale line is too short: drag it along a longer wall")
                else:
                    self.scale_line_drawn.emit(self.floor_id, length)
            return
        if not drag.moved or drag.key is None or drag.now is None:
            return
        key = drag.key
        name = self._name(key)
        if drag.kind == "camera":
            x, y = drag.now
            self.draft.set_value(
                (*key, "plan_position"), [round(x, 1), round(y, 1)], f"move camera {name}"
            )
            return
        polygon = [(round(x, 1), round(y, 1)) for x, y in drag.now]
        fault = shape_fault(polygon)
        if fault is not None:
            self.shapes[key] = drag.original
            self._place_shape(key, drag.original)
            self.message.emit(f"Refused: {name}'s outline not changed: {fault}")
            return
        what = "move" if drag.kind == "shape" else "reshape"
        self.draft.set_value((*key, "plan_polygon"), [list(p) for p in polygon], f"{what} {name}")

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        event.accept()
        if self.tool in (Tool.ZONE, Tool.OBJECT):
            self.close_outline()
            return
        if self.tool is not Tool.SELECT or self.selected not in self.shapes:
            return
        at = self._scene_point(event)
        key = self.selected
        assert key is not None
        polygon = self.shapes[key]
        edge = self._edge_at(polygon, at)
        if edge is None:
            return
        a, b = polygon[edge], polygon[(edge + 1) % len(polygon)]
        line = QLineF(QPointF(*a), QPointF(*b))
        t = _project(line, at)
        point = (round(a[0] + t * (b[0] - a[0]), 1), round(a[1] + t * (b[1] - a[1]), 1))
        added = [*polygon[: edge + 1], point, *polygon[edge + 1 :]]
        self.draft.set_value(
            (*key, "plan_polygon"), [list(p) for p in added], f"add a corner to {self._name(key)}"
        )
        self.active_vertex = edge + 1

    # -- keys ------------------------------------------------------------------------------

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.drawing:
            self.close_outline()
        elif key == Qt.Key.Key_Escape:
            if self.drawing:
                self.drawing = []
                self._draw_preview(None)
                self.message.emit("Outline dropped")
            else:
                self._select(None)
                self.rebuild()
        elif key == Qt.Key.Key_Backspace and self.drawing:
            self.drawing.pop()
            self._draw_preview(None)
        elif key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and self.selected is not None:
            self.delete_selected()
        elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_by(ZOOM_STEP)
        elif key == Qt.Key.Key_Minus:
            self.zoom_by(1 / ZOOM_STEP)
        elif key == Qt.Key.Key_0:
            self._auto_fit = True
            self.fit()
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def delete_selected(self) -> None:
        """Delete the corner last touched (a shape keeps at least 3), else the selected item."""
        key = self.selected
        if key is None:
            return
        name = self._name(key)
        if self.active_vertex is not None and key in self.shapes:
            polygon = self.shapes[key]
            if len(polygon) <= 3:
                self.message.emit(f"Refused: {name} keeps at least 3 corners")
                return
            kept = [p for i, p in enumerate(polygon) if i != self.active_vertex]
            fault = shape_fault(kept)
            if fault is not None:
                self.message.emit(f"Refused: without that corner {fault}")
                return
            self.active_vertex = None
            self.draft.set_value(
                (*key, "plan_polygon"), [list(p) for p in kept], f"remove a corner of {name}"
            )
            return
        section, index = key
        self._select(None)
        self.draft.remove_item((section,), index, f"delete {name}")

    # -- drawing a new outline -------------------------------------------------------------

    def _add_corner(self, point: Pt) -> None:
        if len(self.drawing) >= 3 and math.dist(point, self.drawing[0]) <= self._tolerance(SNAP_PX):
            self.close_outline()
            return
        fault = next_corner_fault(self.drawing, point)
        if fault is not None:
            self.message.emit(f"Refused: {fault}")
            return
        self.drawing.append((round(point[0], 1), round(point[1], 1)))
        self._draw_preview(None)

    def close_outline(self) -> None:
        """Close the outline being drawn into a new zone or object."""
        corners = list(self.drawing)
        fault = shape_fault(corners)
        if fault is not None:
            self.message.emit(f"Refused: the outline is not closed: {fault}")
            return
        floor = self.floor_id
        assert floor is not None
        polygon = [list(p) for p in corners]
        if self.tool is Tool.ZONE:
            zone_id = self.draft.new_id("zones", "zone")
            item: dict[str, Any] = {
                "id": zone_id,
                "name": f"New zone {zone_id.rsplit('-', 1)[1]}",
                "floor": floor,
                "kind": "gallery",
                "plan_polygon": polygon,
            }
            section = "zones"
        else:
            object_id = self.draft.new_id("protected_objects", "object")
            item = {
                "id": object_id,
                "name": f"New object {object_id.rsplit('-', 1)[1]}",
                "floor": floor,
                "kind": "other",
                "value": "medium",
                "plan_polygon": polygon,
                "min_distance_m": 1.0,
            }
            section = "protected_objects"
        self.drawing = []
        self._draw_preview(None)
        index = self.draft.insert_item((section,), item, f"draw {item['name']}")
        self.set_tool(Tool.SELECT)
        self.select((section, index))

    def _draw_preview(self, cursor: Pt | None) -> None:
        if self._draw_item is None:
            self._draw_item = QGraphicsPathItem()
            self._draw_item.setZValue(_Z_DRAW)
            pen = QPen(PALETTE.qcolor("person_box"), 2, Qt.PenStyle.DashLine)
            pen.setCosmetic(True)
            self._draw_item.setPen(pen)
            self.scene().addItem(self._draw_item)
        path = QPainterPath()
        corners = list(self.drawing) + ([cursor] if cursor and self.drawing else [])
        for i, (x, y) in enumerate(corners):
            if i == 0:
                path.moveTo(x, y)
            else:
                path.lineTo(x, y)
        for x, y in self.drawing:
            r = self._tolerance(3)
            path.addEllipse(QPointF(x, y), r, r)
        self._draw_item.setPath(path)

    def _scale_preview(self, a: Pt | None, b: Pt | None) -> None:
        if a is None or b is None:
            if self._scale_item is not None:
                self.scene().removeItem(self._scale_item)
                self._scale_item = None
            return
        if self._scale_item is None:
            self._scale_item = QGraphicsLineItem()
            pen = QPen(PALETTE.qcolor("person_box"), 2)
            pen.setCosmetic(True)
            self._scale_item.setPen(pen)
            self._scale_item.setZValue(_Z_DRAW)
            self.scene().addItem(self._scale_item)
        self._scale_item.setLine(QLineF(QPointF(*a), QPointF(*b)))

    # -- hit tests and snapping ------------------------------------------------------------

    def _vertex_at(self, at: QPointF) -> tuple[Key | None, int | None]:
        key = self.selected
        if key is None or key not in self.shapes:
            return None, None
        reach = self._tolerance(GRAB_PX)
        best = None
        for vertex, (x, y) in enumerate(self.shapes[key]):
            d = math.hypot(x - at.x(), y - at.y())
            if d <= reach and (best is None or d < best[0]):
                best = (d, vertex)
        return (key, best[1]) if best is not None else (None, None)

    def _camera_at(self, at: QPointF) -> Key | None:
        reach = self._tolerance(CAMERA_GRAB_PX)
        for key, icon in self.camera_items.items():
            if math.hypot(icon.pos().x() - at.x(), icon.pos().y() - at.y()) <= reach:
                return key
        return None

    def _shape_at(self, at: QPointF) -> Key | None:
        """The object (drawn above) or zone under the point, or whose edge is near it."""
        for section in ("protected_objects", "zones"):
            for key, polygon in self.shapes.items():
                if key[0] != section:
                    continue
                poly = QPolygonF([QPointF(x, y) for x, y in polygon])
                if poly.containsPoint(at, Qt.FillRule.OddEvenFill):
                    return key
                if self._edge_at(polygon, at) is not None:
                    return key
        return None

    def _edge_at(self, polygon: Sequence[Pt], at: QPointF) -> int | None:
        reach = self._tolerance(GRAB_PX)
        for i in range(len(polygon)):
            a, b = polygon[i], polygon[(i + 1) % len(polygon)]
            line = QLineF(QPointF(*a), QPointF(*b))
            t = _project(line, at)
            foot = line.pointAt(t)
            if 0 < t < 1 and math.hypot(foot.x() - at.x(), foot.y() - at.y()) <= reach:
                return i
        return None

    def _snap(self, point: Pt, moving: tuple[Key, int] | None) -> Pt:
        """The corner of another shape within reach, else (with snap to grid) the grid point,
        else the point itself."""
        reach = self._tolerance(SNAP_PX)
        best: tuple[float, Pt] | None = None
        for key, polygon in self.shapes.items():
            for vertex, corner in enumerate(polygon):
                if moving is not None and moving == (key, vertex):
                    continue
                d = math.dist(corner, point)
                if d <= reach and (best is None or d < best[0]):
                    best = (d, corner)
        if best is not None:
            return best[1]
        mpp = self.draft.metres_per_pixel(self.floor_id) if self.floor_id else None
        if self.snap_to_grid and mpp:
            step = GRID_STEP_M / mpp
            return (round(point[0] / step) * step, round(point[1] / step) * step)
        return point

    def _name(self, key: Key) -> str:
        item = self.draft.get(key)
        if isinstance(item, dict):
            return str(item.get("name") or item.get("id") or key[0])
        return key[0]


def _label(text: str, parent: QGraphicsItem) -> QGraphicsRectItem:
    """A name on the plan: light words on a dark backdrop (readable on any plan), at a fixed
    size whatever the zoom."""
    backdrop = QGraphicsRectItem(parent)
    backdrop.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
    backdrop.setBrush(PALETTE.qcolor("label_backdrop", 190))
    backdrop.setPen(QPen(Qt.PenStyle.NoPen))
    words = QGraphicsSimpleTextItem(text, backdrop)
    words.setBrush(PALETTE.qcolor("text"))
    words.setPos(QPointF(3, 1))
    box = words.boundingRect()
    backdrop.setRect(QRectF(0, 0, box.width() + 6, box.height() + 2))
    return backdrop


def _project(line: QLineF, at: QPointF) -> float:
    """Where along the segment (0..1) the point's foot lies."""
    dx, dy = line.dx(), line.dy()
    length2 = dx * dx + dy * dy
    if length2 == 0:
        return 0.0
    return ((at.x() - line.x1()) * dx + (at.y() - line.y1()) * dy) / length2
