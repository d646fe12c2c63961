"""The site editor and the walk test in the whole console, live: real capture and detector
processes on the courtyard footage (vtest.avi), the rules, a real SQLite store, pytest-qt
offscreen. A supervisor signs in, opens the editor from the console's menu, draws a zone and
saves: the running console follows (the plan shows the zone) without reopening the camera.
Then a walk test from the menu records the plinth people walk up to as passed, with its
evidence frame and distance, stores the report and exports it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from console.roles import Role
from console.runtime import RuntimeOptions, SiteRuntime
from console.site_file import load_site
from console.store import Store, get_walk_test
from inference.sources import CameraStatus, StatusChange
from inference.worker_pool import DetectorSpec
from tests.people import enroll, password_of
from tests.sites import courtyard_site
from tests.ui.conftest import flush_deleted
from tests.ui.editor_harness import click, retype, wait_until
from ui.bridge import PipelineBridge
from ui.main_window import ConsoleWindow
from ui.site_editor import SiteEditorWindow, WalkTestWindow
from ui.site_editor.canvas import Tool

# The courtyard camera's floor mapping (as the walk-test integration test has it): the plinth's
# distance is measured on the plan.
CALIBRATION = """    calibration:
      image: [[100, 500], [700, 500], [700, 150], [100, 150]]
      plan: [[147.5, 500], [447.5, 500], [447.5, 220], [147.5, 220]]
"""


@pytest.fixture
def console(tmp_path: Path, qapp) -> Iterator[ConsoleWindow]:
    site_path = courtyard_site(tmp_path)
    text = site_path.read_text(encoding="utf-8")
    site_path.write_text(
        text.replace(
            "    plan_position: [300, 300]\n", "    plan_position: [300, 300]\n" + CALIBRATION
        ),
        encoding="utf-8",
    )
    store = Store(f"sqlite:///{tmp_path / 'alarms.db'}")
    enroll(store, "boss", Role.SUPERVISOR)
    bridge = PipelineBridge()
    options = RuntimeOptions(detector=DetectorSpec("ssdlite"), cpu_workers=1, site_path=site_path)
    runtime = SiteRuntime(
        load_site(site_path),
        store,
        options,
        on_alarm=bridge.on_alarm,
        on_site_notice=bridge.on_site_notice,
        **bridge.callbacks(),
    )
    bridge.serve(runtime.post)
    settings = QSettings(str(tmp_path / "console.ini"), QSettings.Format.IniFormat)
    runtime.start()
    window = ConsoleWindow(runtime, bridge, station="desk-1", settings=settings)
    try:
        window.resize(1400, 900)
        window.show()
        yield window
    finally:
        window.close()
        window.deleteLater()
        flush_deleted()
        bridge.close()
        runtime.stop()
        store.close()
        bridge.deleteLater()
        flush_deleted()


def sign_in(console: ConsoleWindow, name: str) -> None:
    panel = console.sign_in_panel
    QTest.keyClicks(panel.name_edit, name)
    QTest.keyClick(panel.name_edit, Qt.Key.Key_Return)
    QTest.keyClicks(panel.password_edit, password_of(name).reveal())
    QTest.keyClick(panel.password_edit, Qt.Key.Key_Return)
    assert wait_until(lambda: console.desk.user == name, 30), "not signed in"


def statuses_of(console: ConsoleWindow, camera_id: str) -> Callable[[], list[str]]:
    seen: list[str] = []

    def record(change: StatusChange) -> None:
        if change.camera_id == camera_id:
            seen.append(str(change.status))

    console.bridge.status_changed.connect(record)
    return lambda: list(seen)


def test_a_zone_saved_in_the_editor_is_followed_live_and_a_walk_test_passes_the_plinth(
    console: ConsoleWindow, tmp_path: Path
) -> None:
    runtime: SiteRuntime = console.runtime
    sign_in(console, "boss")
    assert console.site_editor_action.isEnabled()  # a supervisor's
    assert wait_until(lambda: "cam-path" in runtime.pipeline.rings, 60)
    ring = runtime.pipeline.rings["cam-path"]
    statuses = statuses_of(console, "cam-path")
    # its first connect over (on a busy machine it can come after the ring exists: its
    # 'connecting' then is no reopen)
    tile = console.wall.tile("cam-path")
    assert wait_until(lambda: tile.status[0] is CameraStatus.LIVE, 60)
    console.walk_test_action.trigger()  # open beside the editor: it follows the applied site
    walk = console.walk_test_window
    assert isinstance(walk, WalkTestWindow)
    assert walk.subjects.count() == 2

    # -- the editor, from the menu: a restricted zone drawn and saved --------------------------
    console.site_editor_action.trigger()
    editor = console.site_editor
    assert isinstance(editor, SiteEditorWindow)
    assert wait_until(lambda: not editor.draft.check_pending, 30)
    editor.set_tool(Tool.ZONE)
    for corner in [(700.0, 120.0), (1000.0, 120.0), (1000.0, 380.0), (700.0, 380.0)]:
        click(editor.canvas, corner)
    QTest.keyClick(editor.canvas, Qt.Key.Key_Return)
    retype(editor.panel.fields["name"].edit, "Store room")
    assert wait_until(lambda: not editor.draft.check_pending, 30)
    assert editor.draft.last_check.ok, editor.draft.last_check.problems
    before_save = len(statuses())
    editor.save()
    assert wait_until(lambda: not editor.saving and console.desk.waiting == 0, 60)
    assert editor.last_save is not None
    assert editor.last_save.saved, editor.last_save.problems
    # the console follows the applied site: its plan draws the new zone ...
    assert wait_until(lambda: "zone-1" in console.plan._floors["ground"].zones, 30)
    assert runtime.site.zone("zone-1").name == "Store room"
    # ... and the camera the edit did not touch was not reopened
    assert runtime.pipeline.rings["cam-path"] is ring
    assert "connecting" not in statuses()[before_save:]
    editor.close()
    assert wait_until(lambda: console.site_editor is None, 10)

    # -- the walk test, from the menu (open since before the save) ----------------------------
    console.walk_test_action.trigger()
    assert console.walk_test_window is walk
    subjects = [walk.subjects.item(i).text() for i in range(walk.subjects.count())]
    assert subjects == ["object: Plinth by the sign", "zone: Courtyard", "zone: Store room"]
    QTest.mouseClick(walk.start_button, Qt.MouseButton.LeftButton)
    assert wait_until(lambda: walk.test is not None, 60), walk.said.text()
    assert walk.finish_button.isEnabled()

    def plinth_shown_passed() -> bool:
        return walk.table.rowCount() > 0 and walk.table.item(0, 0).text() == "PASS"

    # people walk past the plinth in the footage (80 s; it plays in real time)
    assert wait_until(plinth_shown_passed, 300), walk.said.text()
    QTest.mouseClick(walk.finish_button, Qt.MouseButton.LeftButton)
    assert wait_until(lambda: walk.report is not None, 60), walk.said.text()
    report = walk.report
    assert report.status == "finished"
    plinth = report.result("plinth")
    assert plinth.passed, plinth.reason
    assert plinth.distance_m is not None
    assert 0 <= plinth.distance_m <= 1.0  # within its minimum distance, on the plan
    assert plinth.evidence_path is not None
    assert Path(plinth.evidence_path).read_bytes()[:2] == b"\xff\xd8"
    store_room = report.result("zone-1")
    assert not store_room.passed  # nobody walked into it: a silent zone is shown as such
    assert "FAIL" in [walk.table.item(r, 0).text() for r in range(walk.table.rowCount())]
    assert "failed" in walk.said.text()
    walk.table.setCurrentCell(0, 0)  # the plinth's evidence frame is shown
    QApplication.processEvents()
    assert walk.evidence.pixmap() is not None
    assert not walk.evidence.pixmap().isNull()
    # stored, listed with the earlier ones, and exported
    assert wait_until(lambda: walk.earlier.count() >= 1, 30)
    assert runtime.store.flush(timeout_s=30)
    stored = runtime.store.read(get_walk_test, report.walk_test_id)
    assert (stored.user, stored.status) == ("boss", "finished")
    written = walk.export_to(tmp_path / "export")
    assert written
    assert all(path.is_file() for path in written)
