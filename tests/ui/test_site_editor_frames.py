"""The site editor on a camera's picture, driven through the real widgets over a real core and a
real SQLite store: an object's outline clicked and dragged on the camera's frame (a corner
outside the frame refused), and a calibration by eye whose clicked pairs recover a known
floor mapping, with the grid drawn over the picture where that mapping says; fewer than four
pairs are refused and nothing is written."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QGraphicsLineItem, QPushButton, QWidget

from console.site_file import load_site
from tests.ui.editor_harness import EditorRoom, editor_room, wait_until
from ui.site_editor.calibration_view import CalibrationDialog
from ui.site_editor.outline_dialog import OutlineDialog
from ui.site_editor.panes import PicturePane

Pt = tuple[float, float]

# A known floor mapping of the courtyard camera (768 x 576 px) onto the plan (0.02 m a pixel):
# the far edge of the floor (picture row 300) is 6 m wide on the plan, the near edge (row 560)
# 1.6 m: a camera looking down the path.
PICTURE_QUAD = np.float32([(100, 300), (668, 300), (740, 560), (28, 560)])
PLAN_QUAD = np.float32([(150, 100), (450, 100), (340, 280), (260, 280)])
KNOWN = cv2.getPerspectiveTransform(PICTURE_QUAD, PLAN_QUAD)
CLICKED = [(120.0, 310.0), (640.0, 320.0), (700.0, 540.0), (60.0, 550.0), (380.0, 420.0)]


def known_plan(points: list[Pt] | np.ndarray) -> np.ndarray:
    return cv2.perspectiveTransform(np.float32(points).reshape(-1, 1, 2), KNOWN).reshape(-1, 2)


@pytest.fixture
def room(tmp_path: Path, qapp) -> EditorRoom:
    with editor_room(tmp_path) as opened:
        yield opened


def button(panel: QWidget, text: str) -> QPushButton:
    (found,) = [b for b in panel.findChildren(QPushButton) if b.text() == text and b.isVisible()]
    return found


def pane_click(pane: PicturePane, point: Pt) -> None:
    at = pane.view_point(point)
    where = QPoint(round(at.x()), round(at.y()))
    assert pane.viewport().rect().contains(where), f"{point} is not on the pane"
    QTest.mouseClick(
        pane.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, where
    )
    QApplication.processEvents()


def pane_drag(pane: PicturePane, start: Pt, end: Pt) -> None:
    target = pane.viewport()
    a, b = pane.view_point(start), pane.view_point(end)
    QTest.mousePress(target, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, a.toPoint())
    for step in range(1, 7):
        t = step / 6
        at = QPointF(a.x() + t * (b.x() - a.x()), a.y() + t * (b.y() - a.y()))
        QTest.mouseMove(target, at.toPoint())
        QApplication.processEvents()
    QTest.mouseRelease(
        target, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, b.toPoint()
    )
    QApplication.processEvents()


def opened_dialog(room: EditorRoom, kind: type) -> object:
    """The dialog the editor opens once the camera's picture has come (read off the GUI
    thread from the camera's footage)."""
    assert wait_until(lambda: isinstance(room.editor.dialog, kind), 30), "no picture came"
    dialog = room.editor.dialog
    assert dialog is not None
    assert wait_until(dialog.isVisible, 5)
    for _ in range(3):  # the panes fit their pictures once laid out
        QApplication.processEvents()
    return dialog


def test_an_outline_clicked_and_dragged_on_the_camera_frame_is_saved(room: EditorRoom) -> None:
    editor, canvas = room.editor, room.editor.canvas
    canvas.select(("protected_objects", 0))
    QApplication.processEvents()
    QTest.mouseClick(button(editor.panel, "Outline on a live frame…"), Qt.MouseButton.LeftButton)
    dialog = opened_dialog(room, OutlineDialog)
    assert isinstance(dialog, OutlineDialog)
    assert dialog.frame_size == (768, 576)  # the courtyard footage's own frame
    assert len(dialog.corners) == 4  # the outline the site has, to correct
    QTest.mouseClick(button(dialog, "Clear"), Qt.MouseButton.LeftButton)
    assert dialog.corners == []
    corners = [(300.0, 170.0), (500.0, 170.0), (500.0, 280.0), (300.0, 280.0)]
    for corner in corners:
        pane_click(dialog.pane, corner)
    assert len(dialog.corners) == 4
    assert all(
        abs(a[0] - b[0]) <= 2 and abs(a[1] - b[1]) <= 2
        for a, b in zip(dialog.corners, corners, strict=True)
    )
    # a fifth corner left of the picture: refused, said with the frame's size
    pane_click(dialog.pane, (-25.0, 200.0))
    assert len(dialog.corners) == 4
    assert "outside the 768 x 576 px frame of camera cam-path" in dialog.said.text()
    # the third corner dragged down: the outline follows
    pane_drag(dialog.pane, dialog.corners[2], (520.0, 320.0))
    assert abs(dialog.corners[2][0] - 520) <= 2
    assert abs(dialog.corners[2][1] - 320) <= 2
    # dragged out of the frame: refused, the corner stays
    kept = list(dialog.corners)
    pane_drag(dialog.pane, dialog.corners[2], (520.0, 600.0))
    assert dialog.corners == kept
    assert "outside the 768 x 576 px frame" in dialog.said.text()
    dialog.apply()  # OK
    assert wait_until(lambda: editor.dialog is None, 5)
    region = editor.draft.get(("protected_objects", 0, "image_regions"))["cam-path"]
    assert [tuple(p) for p in region] == kept
    assert editor.draft.stack.count() == 1  # one undoable step
    room.checked()
    assert editor.draft.last_check.ok, editor.draft.last_check.problems
    editor.save()
    room.saved()
    assert editor.last_save is not None
    assert editor.last_save.saved
    saved = load_site(room.site_path).protected_object("plinth").image_regions["cam-path"]
    assert [tuple(p) for p in saved] == kept


def test_calibration_by_eye_recovers_a_known_mapping_and_draws_its_grid(room: EditorRoom) -> None:
    editor, canvas = room.editor, room.editor.canvas
    before = room.site_path.read_bytes()
    canvas.select(("cameras", 0))
    QApplication.processEvents()
    QTest.mouseClick(button(editor.panel, "Calibrate…"), Qt.MouseButton.LeftButton)
    dialog = opened_dialog(room, CalibrationDialog)
    assert isinstance(dialog, CalibrationDialog)
    assert dialog.frame_size == (768, 576)
    plan_points = [tuple(p) for p in known_plan(CLICKED).tolist()]
    # three pairs, picture then plan: not yet a floor mapping, and OK writes nothing
    for picture, plan in list(zip(CLICKED, plan_points, strict=True))[:3]:
        pane_click(dialog.image_pane, picture)
        pane_click(dialog.plan_pane, plan)
    assert dialog.fit is None
    assert "Not a floor mapping" in dialog.summary.text()
    assert "4" in dialog.summary.text()
    dialog.apply()
    assert "Refused: nothing is saved" in dialog.summary.text()
    assert editor.draft.stack.count() == 0
    # a half pair (picture only) is refused at OK as well
    pane_click(dialog.image_pane, CLICKED[3])
    dialog.apply()
    assert "pair 4 has only one point" in dialog.summary.text()
    pane_click(dialog.plan_pane, plan_points[3])
    pane_click(dialog.plan_pane, plan_points[4])  # the plan first works too
    pane_click(dialog.image_pane, CLICKED[4])
    fit = dialog.fit
    assert fit is not None, dialog.summary.text()
    assert len(fit.pairs) == 5
    # the clicked pairs recover the known mapping: over the floor it shows, within 10 cm
    probe = [(x, y) for x in range(60, 720, 60) for y in range(320, 560, 40)]
    fitted = fit.image_to_plan_px(np.float32(probe))
    error_m = np.hypot(*(fitted - known_plan(probe)).T) * 0.02
    assert float(error_m.max()) < 0.10, float(error_m.max())
    assert fit.rms_m < 0.05
    assert " m (RMS)" in dialog.summary.text()
    assert all(dialog.table.item(row, 3).text().endswith(" m") for row in range(5))
    # the metre grid over the picture lies where the known mapping puts the plan's metre lines
    # (checked over the floor the pairs span: beyond them, a click's pixel grows with distance)
    grid = [
        item
        for item in dialog.image_pane.overlay
        if isinstance(item, QGraphicsLineItem) and item.data(0) and item.data(0)[0] == "grid"
    ]
    assert len(grid) >= 6
    checked = 0
    for item in grid:
        _, axis, value_m = item.data(0)
        line = item.line()
        steps = np.linspace(0.0, 1.0, 21)
        along_line = np.stack(
            [
                line.x1() + steps * (line.x2() - line.x1()),
                line.y1() + steps * (line.y2() - line.y1()),
            ],
            axis=1,
        )
        spanned = along_line[(along_line[:, 1] >= 300) & (along_line[:, 1] <= 560)]
        if len(spanned) == 0:
            continue
        on_plan = known_plan(spanned)[:, 0 if axis == "x" else 1] * 0.02
        assert np.allclose(on_plan, value_m, atol=0.08), (axis, value_m, on_plan)
        checked += 1
    assert checked >= 6
    # the footprint on the plan covers the clicked plan points
    assert len(fit.footprint_plan_px) >= 3
    dialog.apply()  # OK: written into the draft as one undoable step
    assert wait_until(lambda: editor.dialog is None, 5)
    calibration = editor.draft.get(("cameras", 0, "calibration"))
    assert len(calibration["image"]) == len(calibration["plan"]) == 5
    assert editor.draft.stack.count() == 1
    room.checked()
    assert editor.draft.last_check.ok, editor.draft.last_check.problems
    assert room.site_path.read_bytes() == before  # nothing saved before Save
    editor.save()
    room.saved()
    assert editor.last_save is not None
    assert editor.last_save.saved
    camera = load_site(room.site_path).camera("cam-path")
    assert camera.calibration is not None
    assert len(camera.calibration.image) == 5
    # the running core has it: applied without a restart
    assert wait_until(lambda: room.runtime.site.camera("cam-path").calibration is not None, 30)
