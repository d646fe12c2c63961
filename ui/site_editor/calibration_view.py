"""Calibration by eye: click matching points on the floor in the camera's live picture and on
the plan, and see at once whether the mapping is right.

Two panes side by side: the camera's picture (what its detector sees, refreshed from its frame
ring while the console runs it) and its floor's plan. Click a point on the floor in the picture,
then the same point on the plan (or the plan first): each pair gets a number on both sides. A
point can be dragged to correct it; a pair selected in the table can be deleted. From four
pairs on, every change is fitted again (`console.calibration.fit_calibration`) and drawn:

- the table says each pair's error in metres (where its picture point lands on the plan, to
  its plan point); with "find a mis-click" (RANSAC), a pair that disagrees with the others is
  marked and left out;
- over the picture: the floor grid, one line a metre (it must lie flat on the floor), the part
  of the picture that shows floor, and the horizon;
- on the plan: the camera's footprint (what it sees of the floor) and, from each plan point,
  a red line to where its picture point lands.

A set that cannot be a floor mapping is refused with the reason (fewer than four pairs, points
on one line, pairs out of order, ...), and OK refuses it too: nothing is written. OK writes the
pairs into the camera's calibration as one undoable step (and, for a stream camera without a
declared frame size, the frame's size, so its outlines can be checked).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import QLineF, QPointF, Qt, QTimer, Slot
from PySide6.QtGui import QColor, QPen, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QGraphicsItem,
    QGraphicsLineItem,
    QGraphicsPathItem,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.calibration import CalibrationFit, CalibrationRefused, fit_calibration
from ui.site_editor.canvas import polygon_path
from ui.site_editor.draft import SiteDraft, points
from ui.site_editor.frames import pixmap_of
from ui.site_editor.panes import PicturePane
from ui.theme import PALETTE

log = logging.getLogger(__name__)

__all__ = ["GRID_COLOUR", "CalibrationDialog"]

Pt = tuple[float, float]
GRID_COLOUR = QColor(255, 200, 0)  # over a picture: seen on floors light and dark
FLOOR_COLOUR = QColor(0, 190, 90)
HORIZON_COLOUR = QColor(240, 60, 60)
REFRESH_MS = 1000  # the live picture's refresh while the dialog is open


def _pen(colour: QColor, width: float, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(colour, width, style)
    pen.setCosmetic(True)
    return pen


class CalibrationDialog(QDialog):
    """See the module doc. `frame` is the camera's picture now (BGR), `live` a callable that
    gives a newer one (or None) while the dialog is open."""

    def __init__(
        self,
        draft: SiteDraft,
        camera_index: int,
        frame: np.ndarray,
        *,
        live: Callable[[], np.ndarray | None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.draft = draft
        self.camera_index = camera_index
        camera = draft.get(("cameras", camera_index)) or {}
        self.camera = camera
        self.floor_id = str(camera.get("floor"))
        self.setWindowTitle(f"Calibrate camera {camera.get('name', camera.get('id', ''))}")
        self.frame_size = (int(frame.shape[1]), int(frame.shape[0]))
        self.mpp = draft.metres_per_pixel(self.floor_id)
        self.fit: CalibrationFit | None = None
        self.refusal: CalibrationRefused | None = None
        self._live = live
        calibration = camera.get("calibration") if isinstance(camera, dict) else None
        image = points(calibration.get("image")) if isinstance(calibration, dict) else None
        plan = points(calibration.get("plan")) if isinstance(calibration, dict) else None
        self.pairs: list[list[Pt | None]] = (
            [[a, b] for a, b in zip(image, plan, strict=False)] if image and plan else []
        )

        self.image_pane = PicturePane("camera picture")
        self.image_pane.set_picture(pixmap_of(frame))
        self.plan_pane = PicturePane("floor plan")
        plan_path = draft.plan_path(self.floor_id)
        plan_pixmap = QPixmap(str(plan_path)) if plan_path is not None else None
        self.plan_pane.set_picture(plan_pixmap)
        self.plan_size = self.plan_pane.size_px
        self.image_pane.clicked.connect(lambda x, y: self._clicked("image", x, y))
        self.plan_pane.clicked.connect(lambda x, y: self._clicked("plan", x, y))
        self.image_pane.mark_moved.connect(lambda i, x, y: self._moved("image", i, x, y))
        self.plan_pane.mark_moved.connect(lambda i, x, y: self._moved("plan", i, x, y))
        self.image_pane.mark_pressed.connect(self._select_pair)
        self.plan_pane.mark_pressed.connect(self._select_pair)

        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Pair", "In the picture", "On the plan", "Error"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setAccessibleName("point pairs")
        self.ransac = QCheckBox("Find a mis-click (leave out a pair that disagrees)")
        self.ransac.toggled.connect(self.refit)
        self.delete_button = QPushButton("Delete the selected pair")
        self.delete_button.clicked.connect(self.delete_selected)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setAccessibleName("calibration result")
        self.hint = QLabel(
            "Click a point on the floor in the picture, then the same point on the plan. Four "
            "pairs at least, spread near and far, left and right. The yellow grid must lie flat "
            "on the floor."
        )
        self.hint.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.apply)
        buttons.rejected.connect(self.reject)

        panes = QSplitter()
        panes.addWidget(self.image_pane)
        panes.addWidget(self.plan_pane)
        side = QWidget()
        side_column = QVBoxLayout(side)
        side_column.addWidget(self.hint)
        side_column.addWidget(self.table, 1)
        row = QHBoxLayout()
        row.addWidget(self.delete_button)
        row.addStretch(1)
        side_column.addLayout(row)
        side_column.addWidget(self.ransac)
        side_column.addWidget(self.summary)
        top = QSplitter(Qt.Orientation.Vertical)
        top.addWidget(panes)
        top.addWidget(side)
        top.setStretchFactor(0, 2)
        top.setStretchFactor(1, 1)
        # the table shows five pairs and the result without scrolling
        self.table.setMinimumHeight(6 * self.table.verticalHeader().defaultSectionSize() + 4)
        layout = QVBoxLayout(self)
        layout.addWidget(top, 1)
        layout.addWidget(buttons)
        self.resize(1500, 900)
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self._refresh_picture)
        if live is not None:
            self._timer.start()
        self.refit()

    # -- the pairs -------------------------------------------------------------------------

    def complete_pairs(self) -> tuple[list[Pt], list[Pt]]:
        done = [(a, b) for a, b in self.pairs if a is not None and b is not None]
        return [a for a, _ in done], [b for _, b in done]

    def _clicked(self, side: str, x: float, y: float) -> None:
        pane = self.image_pane if side == "image" else self.plan_pane
        if not pane.inside(x, y):
            what = "picture" if side == "image" else "plan"
            self.summary.setText(f"⚠ Refused: that point is outside the {what}")
            return
        slot = 0 if side == "image" else 1
        point = (round(x, 1), round(y, 1))
        if self.pairs and self.pairs[-1][slot] is None:
            self.pairs[-1][slot] = point
        else:
            pair: list[Pt | None] = [None, None]
            pair[slot] = point
            self.pairs.append(pair)
        self.refit()

    def _moved(self, side: str, index: int, x: float, y: float) -> None:
        pane = self.image_pane if side == "image" else self.plan_pane
        if not pane.inside(x, y) or not 0 <= index < len(self.pairs):
            self.refit()  # springs back
            return
        self.pairs[index][0 if side == "image" else 1] = (round(x, 1), round(y, 1))
        self.refit()

    def _select_pair(self, index: int) -> None:
        if 0 <= index < self.table.rowCount():
            self.table.selectRow(index)

    @Slot()
    def delete_selected(self) -> None:
        rows = sorted({i.row() for i in self.table.selectedIndexes()}, reverse=True)
        if not rows and self.pairs:
            rows = [len(self.pairs) - 1]
        for row in rows:
            if 0 <= row < len(self.pairs):
                del self.pairs[row]
        self.refit()

    # -- the fit -------------------------------------------------------------------------

    @Slot()
    def refit(self) -> None:
        image, plan = self.complete_pairs()
        self.fit, self.refusal = None, None
        if self.mpp is None:
            self.refusal = CalibrationRefused(
                "the floor has no valid scale (metres per pixel): set it first"
            )
        else:
            try:
                self.fit = fit_calibration(
                    image,
                    plan,
                    self.mpp,
                    self.frame_size,
                    plan_size=self.plan_size,
                    method="ransac" if self.ransac.isChecked() else "least_squares",
                )
            except CalibrationRefused as exc:
                self.refusal = exc
        self._show()

    def _show(self) -> None:
        fit = self.fit
        errors: dict[int, Any] = {}
        complete_index = 0
        index_map: dict[int, int] = {}
        for i, (a, b) in enumerate(self.pairs):
            if a is not None and b is not None:
                index_map[complete_index] = i
                complete_index += 1
        if fit is not None:
            for pair in fit.pairs:
                errors[index_map[pair.index]] = pair
        refused_pairs = (
            {index_map.get(p, -1) for p in self.refusal.pairs} if self.refusal else set()
        )
        self.table.setRowCount(len(self.pairs))
        image_marks, plan_marks = [], []
        for row, (a, b) in enumerate(self.pairs):
            fit_pair = errors.get(row)
            bad = row in refused_pairs or (fit_pair is not None and not fit_pair.inlier)
            colour = PALETTE.qcolor("offline") if bad else QColor(255, 255, 255)
            if a is not None:
                image_marks.append((row, a, str(row + 1), colour))
            if b is not None:
                plan_marks.append((row, b, str(row + 1), colour))
            if fit_pair is None:
                error = "—" if a is not None and b is not None else "needs its other point"
            else:
                error = f"{fit_pair.error_m:.2f} m" + ("" if fit_pair.inlier else " (left out)")
            cells = [
                str(row + 1),
                f"{a[0]:.0f}, {a[1]:.0f}" if a else "click in the picture",
                f"{b[0]:.0f}, {b[1]:.0f}" if b else "click on the plan",
                error,
            ]
            for column, text in enumerate(cells):
                cell = QTableWidgetItem(text)
                if bad:
                    cell.setForeground(PALETTE.qcolor("offline"))
                self.table.setItem(row, column, cell)
        self.image_pane.set_marks(image_marks)
        self.plan_pane.set_marks(plan_marks)
        self.image_pane.set_overlay(self._image_overlay())
        self.plan_pane.set_overlay(self._plan_overlay())
        if fit is not None:
            worst = fit.worst_pair()
            worst_text = (
                f", worst {fit.worst_m:.2f} m (pair {index_map[worst.index] + 1})" if worst else ""
            )
            left_out = (
                f"; pair(s) {', '.join(str(index_map[i] + 1) for i in fit.outliers)} left out"
                if fit.outliers
                else ""
            )
            self.summary.setText(
                f"Fits {len(fit.pairs)} pairs: error {fit.rms_m:.2f} m (RMS){worst_text}"
                f"{left_out}. The grid must lie flat on the floor; the green area on the plan "
                "is what the camera sees."
            )
            self.summary.setStyleSheet("")
        else:
            assert self.refusal is not None
            self.summary.setText(f"⚠ Not a floor mapping: {self.refusal}")
            self.summary.setStyleSheet(f"color: {PALETTE.offline};")

    def _image_overlay(self) -> list[QGraphicsItem]:
        fit = self.fit
        if fit is None:
            return []
        items: list[QGraphicsItem] = []
        if len(fit.floor_image_px) >= 3:
            floor = QGraphicsPathItem(polygon_path(fit.floor_image_px))
            floor.setPen(_pen(FLOOR_COLOUR, 1.5))
            floor.setZValue(2)
            items.append(floor)
        for line in fit.grid:
            (x1, y1), (x2, y2) = line.image_px
            item = QGraphicsLineItem(QLineF(QPointF(x1, y1), QPointF(x2, y2)))
            item.setPen(_pen(GRID_COLOUR, 1.5))
            item.setZValue(3)
            item.setData(0, ("grid", line.axis, line.value_m))
            items.append(item)
        if fit.horizon_px is not None:
            (x1, y1), (x2, y2) = fit.horizon_px
            horizon = QGraphicsLineItem(QLineF(QPointF(x1, y1), QPointF(x2, y2)))
            horizon.setPen(_pen(HORIZON_COLOUR, 2, Qt.PenStyle.DashLine))
            horizon.setToolTip("the horizon: nothing beyond it is on the floor")
            horizon.setZValue(3)
            items.append(horizon)
        return items

    def _plan_overlay(self) -> list[QGraphicsItem]:
        fit = self.fit
        if fit is None:
            return []
        items: list[QGraphicsItem] = []
        if len(fit.footprint_plan_px) >= 3:
            footprint = QGraphicsPathItem(polygon_path(fit.footprint_plan_px))
            footprint.setBrush(
                QColor(FLOOR_COLOUR.red(), FLOOR_COLOUR.green(), FLOOR_COLOUR.blue(), 60)
            )
            footprint.setPen(_pen(FLOOR_COLOUR, 2))
            footprint.setZValue(2)
            footprint.setToolTip("what the camera sees of the floor")
            items.append(footprint)
        for line in fit.grid:
            (x1, y1), (x2, y2) = line.plan_px
            item = QGraphicsLineItem(QLineF(QPointF(x1, y1), QPointF(x2, y2)))
            item.setPen(
                _pen(QColor(GRID_COLOUR.red(), GRID_COLOUR.green(), GRID_COLOUR.blue(), 90), 1)
            )
            item.setZValue(2)
            items.append(item)
        for pair in fit.pairs:
            mx, my = pair.mapped_plan_px
            if np.isfinite(mx) and np.isfinite(my):
                error = QGraphicsLineItem(QLineF(QPointF(*pair.plan_px), QPointF(mx, my)))
                error.setPen(_pen(HORIZON_COLOUR, 2))
                error.setZValue(4)
                items.append(error)
        return items

    def _refresh_picture(self) -> None:
        if self._live is None:
            return
        frame = self._live()
        if frame is not None and (int(frame.shape[1]), int(frame.shape[0])) == self.frame_size:
            self.image_pane.set_picture(pixmap_of(frame))

    # -- OK --------------------------------------------------------------------------------

    @Slot()
    def apply(self) -> None:
        """Write the pairs into the camera's calibration (one undo step), or refuse."""
        incomplete = [i + 1 for i, (a, b) in enumerate(self.pairs) if a is None or b is None]
        if incomplete:
            self.summary.setText(
                f"⚠ Refused: pair {incomplete[0]} has only one point; click its other point or "
                "delete it"
            )
            return
        if self.fit is None:
            reason = self.refusal or "no fit"
            self.summary.setText(f"⚠ Refused: nothing is saved: {reason}")
            return
        image, plan = self.complete_pairs()
        name = self.camera.get("name", self.camera.get("id"))
        with self.draft.macro(f"calibrate camera {name}"):
            self.draft.set_value(
                ("cameras", self.camera_index, "calibration"),
                {"image": [list(p) for p in image], "plan": [list(p) for p in plan]},
                f"calibration of {name}",
            )
            source = str(self.camera.get("substream") or self.camera.get("source") or "")
            stream = "://" in source or source.startswith("usb:")
            if stream and self.camera.get("frame_size_px") is None:
                self.draft.set_value(
                    ("cameras", self.camera_index, "frame_size_px"),
                    list(self.frame_size),
                    f"frame size of {name}",
                )
        self._timer.stop()
        self.accept()

    def done(self, result: int) -> None:
        self._timer.stop()
        super().done(result)

    @property
    def is_running(self) -> bool:
        return self._timer.isActive()
