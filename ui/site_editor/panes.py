"""A picture to click on: a camera frame or a floor plan, with numbered points that can be
dragged, shared by the calibration and the outline dialogs.

Clicks and drags are in the picture's own pixels (scene coordinates = image or plan pixels).
The wheel zooms, the middle or right button pans, 0 fits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent, QMouseEvent, QPainter, QPen, QPixmap, QWheelEvent
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QWidget,
)

from ui.theme import PALETTE

__all__ = ["PicturePane"]

Pt = tuple[float, float]
MARK_PX = 12
GRAB_PX = 9


class _Mark(QGraphicsEllipseItem):
    def __init__(self, index: int, label: str, colour: QColor) -> None:
        half = MARK_PX / 2
        super().__init__(QRectF(-half, -half, MARK_PX, MARK_PX))
        self.index = index
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
        self.setPen(QPen(colour, 2.5))
        self.setBrush(QColor(0, 0, 0, 90))
        self.setZValue(10)
        text = QGraphicsSimpleTextItem(label, self)
        text.setBrush(colour)
        text.setPos(QPointF(half + 1, -half - 8))


class PicturePane(QGraphicsView):
    """A picture with numbered marks (see the module doc)."""

    clicked = Signal(float, float)  # a click away from every mark: picture pixels
    mark_moved = Signal(int, float, float)  # a mark dragged to here
    mark_pressed = Signal(int)

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setAccessibleName(name)
        self.setRenderHints(
            QPainter.RenderHint.Antialiasing | QPainter.RenderHint.SmoothPixmapTransform
        )
        self.setBackgroundBrush(PALETTE.qcolor("wall"))
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.picture: QGraphicsPixmapItem | None = None
        self.size_px: tuple[int, int] | None = None
        self.marks: list[_Mark] = []
        self.overlay: list[QGraphicsItem] = []
        self._drag: tuple[int, QPointF] | None = None
        self._pan: QPointF | None = None
        self._fitted = False

    def set_picture(self, pixmap: QPixmap | None, size: tuple[int, int] | None = None) -> None:
        """Show a picture (None: a dark area of `size`)."""
        if self.picture is not None:
            self.scene().removeItem(self.picture)
            self.picture = None
        if pixmap is not None and not pixmap.isNull():
            self.picture = QGraphicsPixmapItem(pixmap)
            self.picture.setZValue(0)
            self.scene().addItem(self.picture)
            self.size_px = (pixmap.width(), pixmap.height())
        else:
            self.size_px = size
        if self.size_px is not None:
            width, height = self.size_px
            margin = 0.03 * max(width, height)
            self.scene().setSceneRect(
                QRectF(-margin, -margin, width + 2 * margin, height + 2 * margin)
            )
        if not self._fitted:
            self.fit()

    def inside(self, x: float, y: float) -> bool:
        if self.size_px is None:
            return True
        return 0 <= x <= self.size_px[0] and 0 <= y <= self.size_px[1]

    def set_marks(self, marks: Sequence[tuple[int, Pt, str, QColor]]) -> None:
        """(index, where, label, colour) of each mark."""
        for mark in self.marks:
            self.scene().removeItem(mark)
        self.marks = []
        for index, (x, y), label, colour in marks:
            mark = _Mark(index, label, colour)
            mark.setPos(QPointF(x, y))
            self.scene().addItem(mark)
            self.marks.append(mark)

    def set_overlay(self, items: Sequence[QGraphicsItem]) -> None:
        """Replace the drawn-over items (grid, footprint, horizon, outline)."""
        for item in self.overlay:
            if item.scene() is self.scene():
                self.scene().removeItem(item)
        self.overlay = list(items)
        for item in self.overlay:
            self.scene().addItem(item)

    def view_point(self, point: Pt) -> QPointF:
        """Where a picture point is on the viewport (for tests: where to click)."""
        return QPointF(self.mapFromScene(QPointF(*point)))

    def fit(self) -> None:
        rect = self.scene().sceneRect()
        if not rect.isEmpty() and self.viewport().width() > 10:
            self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
            self._fitted = True

    def resizeEvent(self, event: object) -> None:
        super().resizeEvent(event)  # type: ignore[arg-type]
        self.fit()

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.scale(1.2**steps, 1.2**steps)
            event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_0:
            self.fit()
            event.accept()
            return
        super().keyPressEvent(event)

    def _mark_at(self, at: QPointF) -> int | None:
        zoom = max(self.transform().m11(), 1e-6)
        for mark in self.marks:
            if math.hypot(mark.pos().x() - at.x(), mark.pos().y() - at.y()) <= GRAB_PX / zoom:
                return mark.index
        return None

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() in (Qt.MouseButton.MiddleButton, Qt.MouseButton.RightButton):
            self._pan = event.position()
            event.accept()
            return
        if event.button() != Qt.MouseButton.LeftButton:
            return
        at = self.mapToScene(event.position().toPoint())
        index = self._mark_at(at)
        event.accept()
        if index is not None:
            self._drag = (index, at)
            self.mark_pressed.emit(index)
            return
        self.clicked.emit(at.x(), at.y())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._pan is not None:
            delta = event.position() - self._pan
            self._pan = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(delta.y()))
            return
        if self._drag is None:
            return
        at = self.mapToScene(event.position().toPoint())
        for mark in self.marks:
            if mark.index == self._drag[0]:
                mark.setPos(at)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan is not None:
            self._pan = None
            return
        drag, self._drag = self._drag, None
        if drag is None:
            return
        at = self.mapToScene(event.position().toPoint())
        if math.hypot(at.x() - drag[1].x(), at.y() - drag[1].y()) > 0.5 / max(
            self.transform().m11(), 1e-6
        ):
            self.mark_moved.emit(drag[0], at.x(), at.y())
