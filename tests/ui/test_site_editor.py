"""The site editor driven through its real widgets (mouse clicks and drags on the plan, keys,
typed fields) over a real core and a real SQLite store: what it saves is the site file the
edits describe, undo and redo round-trip, and an invalid edit is refused with a clear message
while nothing is saved."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QCheckBox, QStyle, QStyleOptionButton

from console.site_apply import versions_beside
from console.site_file import load_site, read_site_text
from console.store import audit_entries, list_config_changes
from tests.ui.editor_harness import (
    EditorRoom,
    click,
    drag,
    editor_room,
    retype,
    shortcut,
    wait_until,
)
from ui.site_editor.canvas import Tool


def close_to(found: object, wanted: list[tuple[float, float]], px: float = 2.0) -> bool:
    """Plan points within `px` of the wanted ones: a click lands on a whole screen pixel, and
    the plan is shown smaller than 1:1."""
    return (
        isinstance(found, list)
        and len(found) == len(wanted)
        and all(
            abs(a[0] - b[0]) <= px and abs(a[1] - b[1]) <= px
            for a, b in zip(found, wanted, strict=True)
        )
    )


PLINTH = [(280.0, 280.0), (320.0, 280.0), (320.0, 320.0), (280.0, 320.0)]
COURTYARD = [(100.0, 100.0), (600.0, 100.0), (600.0, 600.0), (100.0, 600.0)]


@pytest.fixture
def room(tmp_path: Path, qapp) -> EditorRoom:
    with editor_room(tmp_path) as opened:
        yield opened


def test_a_zone_drawn_with_the_mouse_and_typed_fields_are_saved_and_applied(
    room: EditorRoom,
) -> None:
    editor, canvas = room.editor, room.editor.canvas
    before = read_site_text(room.site_path)
    QTest.keyClick(canvas, Qt.Key.Key_Z)  # the Zone tool (the window's shortcut)
    if canvas.tool is not Tool.ZONE:  # offscreen, shortcuts need an active window
        editor.set_tool(Tool.ZONE)
    corners = [(700.0, 120.0), (1000.0, 120.0), (1000.0, 380.0), (700.0, 380.0)]
    for corner in corners:
        click(canvas, corner)
    QTest.keyClick(canvas, Qt.Key.Key_Return)  # closes the outline into a new zone
    zones = editor.draft.items("zones")
    assert [z["id"] for z in zones] == ["courtyard", "zone-1"]
    assert close_to(zones[1]["plan_polygon"], corners)  # where clicked (a screen pixel's give)
    corners = [tuple(p) for p in zones[1]["plan_polygon"]]
    assert canvas.selected == ("zones", 1)  # selected: its fields are in the panel
    panel = editor.panel
    retype(panel.fields["name"].edit, "East gallery")
    retype(panel.fields["loiter_s"].edit, "300")
    kind = panel.fields["kind"].box
    kind.setCurrentIndex(kind.findData("restricted"))
    kind.activated.emit(kind.currentIndex())
    room.checked()
    assert editor.draft.last_check is not None
    assert editor.draft.last_check.ok, editor.draft.last_check.problems
    shortcut(editor, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    room.saved()
    report = editor.last_save
    assert report is not None
    assert report.saved, report.problems
    site = load_site(room.site_path)
    zone = site.zone("zone-1")
    assert zone.name == "East gallery"
    assert zone.kind == "restricted"
    assert zone.loiter_s == 300
    assert [tuple(p) for p in zone.plan_polygon] == corners
    assert versions_beside(room.site_path)[0].read_text() == before  # the previous version kept
    assert not editor.draft.dirty
    # recorded as the supervisor's change, and applied to the running core without a restart
    changes = room.store.read(list_config_changes)
    assert [c.user for c in changes] == ["boss"]
    edits = [e for e in room.store.read(audit_entries) if e.action == "site.edit"]
    assert "+- id: zone-1" in edits[0].detail["diff"]
    assert wait_until(lambda: "zone-1" in {z.id for z in room.runtime.site.zones}, 30)


def test_reshape_and_move_by_dragging_then_undo_and_redo_round_trip(room: EditorRoom) -> None:
    editor, canvas = room.editor, room.editor.canvas
    opened = editor.draft.text()
    click(canvas, (300.0, 315.0))  # the plinth
    assert canvas.selected == ("protected_objects", 0)
    drag(canvas, PLINTH[1], (340.0, 270.0))  # its top-right corner, out
    reshaped_polygon = editor.draft.get(("protected_objects", 0, "plan_polygon"))
    assert close_to(reshaped_polygon, [PLINTH[0], (340.0, 270.0), *PLINTH[2:]])
    reshaped = editor.draft.text()
    drag(canvas, (300.0, 315.0), (400.0, 415.0))  # the whole object, 100 px down and right
    moved = editor.draft.get(("protected_objects", 0, "plan_polygon"))
    assert close_to(moved, [(x + 100, y + 100) for x, y in reshaped_polygon])
    moved_text = editor.draft.text()
    # a corner dragged near another shape's corner snaps onto it
    click(canvas, (120.0, 580.0))  # the courtyard zone, near its corner
    assert canvas.selected == ("zones", 0)
    drag(canvas, COURTYARD[0], (moved[1][0] + 3, moved[1][1] + 3))  # near the object's corner
    assert editor.draft.get(("zones", 0, "plan_polygon"))[0] == moved[1]  # exactly on it
    snapped = editor.draft.text()
    assert editor.draft.stack.count() == 3
    shortcut(editor, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert editor.draft.text() == moved_text
    editor.undo_action.trigger()
    assert editor.draft.text() == reshaped
    editor.undo_action.trigger()
    assert editor.draft.text() == opened
    assert not editor.draft.dirty
    for _ in range(3):
        shortcut(
            editor,
            Qt.Key.Key_Z,
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
        )
    assert editor.draft.text() == snapped
    # the canvas draws what the draft holds after each step
    assert canvas.shapes[("zones", 0)][0] == tuple(moved[1])


def test_a_self_intersecting_reshape_is_refused_and_nothing_is_saved(room: EditorRoom) -> None:
    editor, canvas = room.editor, room.editor.canvas
    before = room.site_path.read_bytes()
    messages: list[str] = []
    canvas.message.connect(messages.append)
    click(canvas, (120.0, 580.0))
    assert canvas.selected == ("zones", 0)
    # the top-left corner dragged past the right edge: the edges would cross (a bow tie)
    drag(canvas, COURTYARD[0], (650.0, 350.0))
    assert messages
    assert "edges would cross" in messages[-1]
    assert editor.draft.get(("zones", 0, "plan_polygon")) == [list(p) for p in COURTYARD]
    assert canvas.shapes[("zones", 0)] == COURTYARD  # sprang back
    assert editor.draft.stack.count() == 0
    # drawing: a corner that would cross an earlier edge is refused at the click
    editor.set_tool(Tool.OBJECT)
    for corner in [(700.0, 120.0), (900.0, 300.0), (900.0, 120.0)]:
        click(canvas, corner)
    click(canvas, (700.0, 300.0))  # its edge from (900, 120) would cross the first one
    assert "cross" in messages[-1]
    assert len(canvas.drawing) == 3
    QTest.keyClick(canvas, Qt.Key.Key_Escape)
    assert canvas.drawing == []
    editor.save()  # no edit went through: nothing to save
    room.saved()
    assert editor.last_save is None
    assert room.site_path.read_bytes() == before


def test_invalid_values_are_shown_as_typed_and_a_save_is_refused_with_nothing_written(
    room: EditorRoom,
) -> None:
    editor, canvas = room.editor, room.editor.canvas
    before = room.site_path.read_bytes()
    click(canvas, (300.0, 315.0))
    distance = editor.panel.fields["min_distance_m"]
    retype(distance.edit, "-1")
    room.checked()
    assert distance.problem.isVisible()
    assert "greater than 0" in distance.problem.text()
    assert any("min_distance_m" in p.path for p in editor.draft.last_check.problems)
    editor.save()
    room.saved()
    assert editor.banner.isVisible()
    assert "Not saved, nothing was written" in editor.banner.text()
    assert "protected_objects[0].min_distance_m" in editor.banner.text()
    assert room.site_path.read_bytes() == before
    assert versions_beside(room.site_path) == []
    retype(distance.edit, "1.5")
    room.checked()
    assert not distance.problem.isVisible()
    # the camera deleted: the plinth's outline now names an unknown camera
    click(canvas, (300.0, 315.0))
    QTest.keyClick(canvas, Qt.Key.Key_Escape)
    click(canvas, (300.0, 315.0))
    assert canvas.selected == ("protected_objects", 0)
    canvas.select(("cameras", 0))
    QTest.keyClick(canvas, Qt.Key.Key_Delete)
    assert editor.draft.items("cameras") == []
    room.checked()
    lines = [p.line for p in editor.draft.last_check.problems]
    assert any("image_regions.cam-path: no camera with this id" in line for line in lines)
    editor.save()
    room.saved()
    assert "no camera with this id" in editor.banner.text()
    assert room.site_path.read_bytes() == before
    # put right: saved, and the refusal banner goes
    editor.undo_action.trigger()
    room.checked()
    editor.save()
    room.saved()
    assert editor.last_save is not None
    assert editor.last_save.saved
    assert load_site(room.site_path).protected_object("plinth").min_distance_m == 1.5
    assert not editor.banner.isVisible()


def test_an_operator_cannot_save_the_site(tmp_path: Path, qapp) -> None:
    with editor_room(tmp_path, user="night-monitor") as room:
        before = room.site_path.read_bytes()
        room.editor.draft.set_value(("site", "name"), "Renamed", "rename")
        room.checked()
        room.editor.save()
        room.saved()
        assert "may not change the console's configuration" in room.editor.banner.text()
        assert room.site_path.read_bytes() == before
        refused = [e for e in room.store.read(audit_entries) if e.action == "permission.refused"]
        assert refused
        assert refused[0].user == "night-monitor"
        assert refused[0].detail["verb"] == "save the site"


def test_closing_with_unsaved_edits_asks_and_revert_discards(room: EditorRoom) -> None:
    editor = room.editor
    retype(editor.schedule.fields["site.name"].edit, "Courtyard (new wing)")
    assert editor.draft.dirty
    editor.close()
    assert editor.isVisible()  # asked first
    assert editor.question is not None
    editor.question.button(editor.question.StandardButton.Cancel).click()
    assert editor.isVisible()
    editor.revert()
    assert editor.question is not None
    editor.question.button(editor.question.StandardButton.Discard).click()
    assert not editor.draft.dirty
    assert editor.draft.get(("site", "name")) == "Courtyard test site"
    assert editor.schedule.fields["site.name"].edit.text() == "Courtyard test site"


def test_hours_past_midnight_exceptions_arming_and_rules_are_saved(room: EditorRoom) -> None:
    editor = room.editor
    schedule = editor.schedule
    editor.tabs.setCurrentWidget(schedule)
    friday = schedule.fields["hours.fri"]
    retype(friday.edit, "25:00-26:00")
    room.checked()
    assert friday.problem.isVisible()
    assert "not a time of day" in friday.problem.text()
    retype(friday.edit, "10:00-17:00, 19:00-01:30")
    room.checked()
    assert not friday.problem.isVisible()
    schedule.add_exception()
    table = schedule.exceptions
    table.item(0, 0).setText("2026-12-25")
    table.item(0, 1).setText("closed")
    table.item(0, 2).setText("Christmas")
    armed = schedule.zones.cellWidget(0, 1)
    armed.setCurrentIndex(armed.findData("always"))
    armed.activated.emit(armed.currentIndex())
    schedule.zones.item(0, 2 + 6).setText("12:00-23:00")  # the courtyard's own Sunday
    proximity = schedule.fields["rules.proximity.dwell_s"]
    retype(proximity.edit, "1.5")
    missing = schedule.fields["rules.object_missing.enabled"]
    missing.box.click()
    room.checked()
    assert editor.draft.last_check.ok, editor.draft.last_check.problems
    editor.save()
    room.saved()
    assert editor.last_save is not None
    assert editor.last_save.saved, editor.last_save.problems
    site = load_site(room.site_path)
    assert site.opening_hours.fri == "10:00-17:00, 19:00-01:30"
    (christmas,) = site.opening_hours.exceptions
    assert str(christmas.date) == "2026-12-25"
    assert christmas.hours == "closed"
    assert christmas.note == "Christmas"
    courtyard = site.zone("courtyard")
    assert courtyard.armed == "always"
    assert courtyard.opening_hours is not None
    assert courtyard.opening_hours.sun == "12:00-23:00"
    assert site.rules.proximity.dwell_s == 1.5
    assert site.rules.object_missing.enabled is False


def test_a_pdf_plan_becomes_a_new_floor_whose_scale_is_set_by_a_line(
    room: EditorRoom, tmp_path: Path
) -> None:
    from PySide6.QtCore import QMarginsF, QRectF
    from PySide6.QtGui import QPageSize, QPainter, QPdfWriter, QPen

    pdf = tmp_path / "upper-floor.pdf"
    writer = QPdfWriter(str(pdf))
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    writer.setPageMargins(QMarginsF(0, 0, 0, 0))
    painter = QPainter(writer)
    painter.setPen(QPen(Qt.GlobalColor.black, 40))
    painter.drawRect(QRectF(400, 400, 4000, 3000))
    painter.end()
    editor, canvas = room.editor, room.editor.canvas
    floor_id = editor.add_floor(pdf, "Upper floor")
    assert floor_id == "floor-1"
    floor = editor.draft.item("floors", "floor-1")
    assert floor is not None
    assert floor["plan"].startswith("plans/")
    assert floor["plan"].endswith(".png")
    assert (room.site_path.parent / floor["plan"]).is_file()
    assert canvas.floor_id == "floor-1"
    assert canvas.tool is Tool.SCALE
    assert canvas.plan_size is not None
    drag(canvas, (100.0, 200.0), (600.0, 200.0))  # a 500 px line
    dialog = editor.dialog
    assert dialog is not None
    QTest.keyClicks(dialog.metres, "10")
    QTest.keyClick(dialog.metres, Qt.Key.Key_Return)
    assert wait_until(lambda: editor.dialog is None, 5)
    mpp = editor.draft.item("floors", "floor-1")["metres_per_pixel"]
    assert mpp == pytest.approx(10 / 500, rel=0.03)
    room.checked()
    assert editor.draft.last_check.ok, editor.draft.last_check.problems
    editor.save()
    room.saved()
    assert load_site(room.site_path).floor("floor-1").name == "Upper floor"


def test_a_camera_placed_on_the_plan_is_tested_and_refused_with_credentials_in_its_url(
    room: EditorRoom, tmp_path: Path
) -> None:
    editor, canvas = room.editor, room.editor.canvas
    editor.set_tool(Tool.CAMERA)
    click(canvas, (900.0, 500.0))
    dialog = editor.dialog
    assert dialog is not None
    assert close_to([dialog.values()["plan_position"]], [(900.0, 500.0)])
    source = dialog.edits["source"]
    retype(source, "rtsp://admin:hunter2@127.0.0.1:9/stream")
    assert "credentials belong in the secrets store" in dialog.problems["source"].text()
    assert not dialog.ok_button.isEnabled()
    retype(source, "rtsp://127.0.0.1:9/stream")
    assert dialog.ok_button.isEnabled()
    QTest.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    assert wait_until(lambda: dialog.grab_result is not None, 20)
    assert dialog.grab_result.image is None
    assert "127.0.0.1:9" in dialog.result_line.text()
    assert "No picture" in dialog.result_line.text()
    retype(source, "footage/vtest.avi")
    dialog.grab_result = None
    QTest.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    assert wait_until(lambda: dialog.grab_result is not None, 20)
    assert dialog.grab_result.size == (768, 576)
    assert "768 x 576" in dialog.result_line.text()
    assert dialog.preview.pixmap() is not None
    retype(dialog.edits["name"], "Second path camera")
    QTest.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert wait_until(lambda: editor.dialog is None, 5)
    camera = editor.draft.item("cameras", "cam-1")
    assert camera is not None
    assert camera["source"] == "footage/vtest.avi"
    assert camera["name"] == "Second path camera"
    assert canvas.selected == ("cameras", 1)
    QApplication.processEvents()


def tick(box: QCheckBox) -> None:
    """A click on a check box's square (a box without words is wider than its square)."""
    option = QStyleOptionButton()
    box.initStyleOption(option)
    square = box.style().subElementRect(QStyle.SubElement.SE_CheckBoxIndicator, option, box)
    QTest.mouseClick(
        box, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, square.center()
    )
    QApplication.processEvents()


def test_a_zones_alert_routes_by_severity_are_ticked_and_saved(room: EditorRoom) -> None:
    editor, canvas = room.editor, room.editor.canvas
    click(canvas, (120.0, 580.0))
    assert canvas.selected == ("zones", 0)
    tick(editor.panel.route_boxes[("high", "supervisor")])
    tick(editor.panel.route_boxes[("high", "control_room")])
    assert editor.draft.stack.count() == 2
    room.checked()
    assert editor.draft.last_check.ok, editor.draft.last_check.problems
    editor.save()
    room.saved()
    assert editor.last_save is not None
    assert editor.last_save.saved, editor.last_save.problems
    routes = load_site(room.site_path).alert_routes
    own = [r for r in routes if r.match.zones == ("courtyard",)]
    assert len(own) == 1
    assert own[0].match.severity == ("high",)
    assert set(own[0].to) == {"control_room", "supervisor"}
    # every other alarm keeps the default route to the control room
    assert any(r.match.zones is None and r.to == ("control_room",) for r in routes)


def test_a_file_saved_by_someone_else_meanwhile_is_not_overwritten(room: EditorRoom) -> None:
    editor = room.editor
    retype(editor.schedule.fields["site.name"].edit, "Courtyard (editor)")
    room.checked()
    by_hand = read_site_text(room.site_path).replace("Courtyard test site", "Courtyard (by hand)")
    room.site_path.write_text(by_hand, encoding="utf-8")
    editor.save()
    room.saved()
    assert "the file changed since it was opened (someone else saved it)" in editor.banner.text()
    assert room.site_path.read_text(encoding="utf-8") == by_hand  # theirs kept, not overwritten
    assert editor.draft.dirty  # the edit is still here to make again
    assert versions_beside(room.site_path) == []
