"""An object's outline in a camera's picture (a wall piece: a painting, a case on a wall),
drawn on a live frame of that camera.

Click the outline's corners on the picture; a corner can be dragged; Backspace takes the last
one back, "Clear" starts again. A corner outside the frame is refused at the click (an outline
outside the frame is never watched), as are edges that cross. OK writes the outline into the
object's `image_regions` for this camera as one undoable step; the check then runs on it as
`nightwatch check` does (outside the frame: refused, said under the object).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QKeyEvent, QPen
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGraphicsPathItem,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui.site_editor.canvas import next_corner_fault, polygon_path, shape_fault
from ui.site_editor.draft import SiteDraft, points
from ui.site_editor.frames import pixmap_of
from ui.site_editor.panes import PicturePane
from ui.theme import PALETTE

__all__ = ["OutlineDialog"]

Pt = tuple[float, float]
OUTLINE_COLOUR = QColor(255, 200, 0)


class OutlineDialog(QDialog):
    def __init__(
        self,
        draft: SiteDraft,
        object_index: int,
        camera_id: str,
        frame: np.ndarray,
        *,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.draft = draft
        self.object_index = object_index
        self.camera_id = camera_id
        obj = draft.get(("protected_objects", object_index)) or {}
        self.object_name = str(obj.get("name", obj.get("id", "")))
        self.setWindowTitle(f"Outline {self.object_name} in camera {camera_id}")
        self.frame_size = (int(frame.shape[1]), int(frame.shape[0]))
        regions = obj.get("image_regions") if isinstance(obj, dict) else None
        existing = points(regions.get(camera_id)) if isinstance(regions, dict) else None
        self.corners: list[Pt] = list(existing or [])
        self.pane = PicturePane("camera picture")
        self.pane.set_picture(pixmap_of(frame))
        self.pane.clicked.connect(self._clicked)
        self.pane.mark_moved.connect(self._moved)
        self.said = QLabel(
            f"Click the corners of {self.object_name} in the picture "
            f"({self.frame_size[0]} x {self.frame_size[1]} px)."
        )
        self.said.setWordWrap(True)
        self.said.setAccessibleName("outline result")
        clear = QPushButton("Clear")
        clear.clicked.connect(self.clear)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.apply)
        buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(clear)
        row.addStretch(1)
        row.addWidget(buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(self.pane, 1)
        layout.addWidget(self.said)
        layout.addLayout(row)
        self.resize(1100, 760)
        self._show()

    def _refuse(self, text: str) -> None:
        self.said.setText(f"⚠ Refused: {text}")
        self.said.setStyleSheet(f"color: {PALETTE.offline};")

    def _clicked(self, x: float, y: float) -> None:
        width, height = self.frame_size
        if not (0 <= x <= width and 0 <= y <= height):
            self._refuse(
                f"that corner ({x:.0f}, {y:.0f}) is outside the {width} x {height} px frame of "
                f"camera {self.camera_id}: an outline outside the frame is never watched"
            )
            return
        point = (round(x, 1), round(y, 1))
        fault = next_corner_fault(self.corners, point)
        if fault is not None:
            self._refuse(fault)
            return
        self.corners.append(point)
        self._show()

    def _moved(self, index: int, x: float, y: float) -> None:
        width, height = self.frame_size
        if not (0 <= x <= width and 0 <= y <= height):
            self._refuse(f"corner {index + 1} would be outside the {width} x {height} px frame")
            self._show(keep_words=True)
            return
        moved = list(self.corners)
        moved[index] = (round(x, 1), round(y, 1))
        if len(moved) >= 3 and shape_fault(moved) is not None:
            self._refuse(f"moving corner {index + 1} there: {shape_fault(moved)}")
            self._show(keep_words=True)
            return
        self.corners = moved
        self._show()

    def clear(self) -> None:
        self.corners = []
        self._show()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Backspace and self.corners:
            self.corners.pop()
            self._show()
            event.accept()
            return
        super().keyPressEvent(event)

    def _show(self, *, keep_words: bool = False) -> None:
        self.pane.set_marks(
            [(i, p, str(i + 1), OUTLINE_COLOUR) for i, p in enumerate(self.corners)]
        )
        items = []
        if len(self.corners) >= 2:
            item = QGraphicsPathItem(polygon_path(self.corners))
            if len(self.corners) >= 3:
                item.setBrush(QColor(255, 200, 0, 50))
            pen = QPen(OUTLINE_COLOUR, 2)
            pen.setCosmetic(True)
            item.setPen(pen)
            items.append(item)
        self.pane.set_overlay(items)
        if not keep_words:
            self.said.setStyleSheet("")
            self.said.setText(
                f"{len(self.corners)} corner(s) of {self.object_name}; OK when the outline "
                "follows its edge"
                if self.corners
                else f"Click the corners of {self.object_name} in the picture."
            )

    def apply(self) -> None:
        fault = shape_fault(self.corners)
        if fault is not None:
            self._refuse(f"nothing is saved: {fault}")
            return
        regions = dict(
            self.draft.get(("protected_objects", self.object_index, "image_regions")) or {}
        )
        regions[self.camera_id] = [list(p) for p in self.corners]
        self.draft.set_value(
            ("protected_objects", self.object_index, "image_regions"),
            regions,
            f"outline {self.object_name} in {self.camera_id}",
        )
        self.accept()
