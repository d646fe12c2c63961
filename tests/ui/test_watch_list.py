"""The watch list in the window: the real ConsoleWindow over a real runtime's core thread and a
real SQLite store, on the example museum (its cameras are not started), pytest-qt offscreen.

The people are scripted boxes (no detector) handed to the runtime's own presence and behaviour
models on its core thread, on a fake site clock; everything the operator does goes through the
window's widgets, the desk and the core's service layer, and the audit rows are read back from
the SQLite file.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from console.behaviour.actions import UnwatchPerson
from console.clock import FakeClock
from console.presence import Observation
from console.roles import Role
from console.runtime import RuntimeOptions, SiteRuntime
from console.site_file import load_site
from console.store import AuditEntry, Store, audit_entries
from inference.detections import Detections
from inference.worker_pool import DetectorSpec
from tests.people import PASSWORDS, QUICK_HASHING, enroll
from tests.ui.conftest import flush_deleted
from ui.bridge import PipelineBridge
from ui.main_window import ConsoleWindow
from ui.watch_list_view import EMPTY_TEXT, UNWATCH_KEY, UnwatchDialog

SITE = Path(__file__).resolve().parents[1] / "data" / "example_site" / "site.yaml"
OPEN = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)  # Tuesday 11:00 in Amsterdam (open 10-17)
FRAME = (1280, 720)
EAST = "cam-east"


def wait_until(condition: Callable[[], bool], timeout_s: float = 30) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        QApplication.processEvents()
        if condition():
            return True
        time.sleep(0.01)
    return condition()


@pytest.fixture
def window(tmp_path: Path, qapp: QApplication) -> Iterator[ConsoleWindow]:
    """The window, signed in as the operator "night-monitor"; the core and reader threads run."""
    store = Store(f"sqlite:///{tmp_path / 'alarms.db'}")
    enroll(store, "night-monitor", Role.OPERATOR, hashing=QUICK_HASHING)
    bridge = PipelineBridge()
    runtime = SiteRuntime(
        load_site(SITE),
        store,
        RuntimeOptions(detector=DetectorSpec("ssdlite"), cpu_workers=1),
        clock=FakeClock(OPEN),
        on_alarm=bridge.on_alarm,
        **bridge.callbacks(),
    )
    runtime.room.accounts.hashing = QUICK_HASHING
    bridge.serve(runtime.post)
    runtime.core.start()
    runtime.reader.start()
    settings = QSettings(str(tmp_path / "console.ini"), QSettings.Format.IniFormat)
    made = ConsoleWindow(runtime, bridge, station="desk-1", settings=settings)
    made.resize(1600, 900)
    made.show()
    panel = made.sign_in_panel
    QTest.keyClicks(panel.name_edit, "night-monitor")
    QTest.keyClick(panel.name_edit, Qt.Key.Key_Return)
    QTest.keyClicks(panel.password_edit, PASSWORDS["night-monitor"])
    QTest.keyClick(panel.password_edit, Qt.Key.Key_Return)
    assert wait_until(lambda: made.user == "night-monitor" and made.desk.waiting == 0)
    try:
        yield made
    finally:
        made.close()
        made.deleteLater()
        flush_deleted()
        bridge.close()
        runtime.stop()
        assert store.close().all_stored
        bridge.deleteLater()
        flush_deleted()


def clock_of(window: ConsoleWindow) -> FakeClock:
    clock = window.runtime.clock
    assert isinstance(clock, FakeClock)
    return clock


def walk_in_view(
    window: ConsoleWindow, track_id: int, plan_points: list[tuple[float, float]]
) -> None:
    """A person walks through cam-east's view, one look a second along `plan_points` (scripted
    boxes through the runtime's presence and behaviour models, on its core thread)."""
    runtime = window.runtime
    clock = clock_of(window)
    calibration = runtime.site.calibration(EAST)
    assert calibration is not None

    def look(plan_xy: tuple[float, float]) -> None:
        clock.advance(1.0)
        now = clock.now()
        x, y = (float(v) for v in calibration.plan_to_image_px([plan_xy])[0])
        dets = Detections([[x - 50, y - 200, x + 50, y]], [0.9], track_id=[track_id])
        camera_s = (now - OPEN).total_seconds()
        camera = runtime.presence.update(Observation(EAST, camera_s, dets, FRAME), now)
        runtime.behaviour.observe(camera, now, {track_id: None})

    for point in plan_points:
        runtime.core.post(functools.partial(look, point)).result(timeout=30)


def pass_time(window: ConsoleWindow, seconds: float) -> None:
    """Site time passes; the behaviour model's tick runs on the core thread (as live)."""
    clock = clock_of(window)
    clock.advance(seconds)
    window.runtime.core.post(lambda: window.runtime.behaviour.tick(clock.now())).result(30)


def stored_audit(window: ConsoleWindow, action: str) -> list[AuditEntry]:
    window.runtime.store.flush()
    return [e for e in window.runtime.store.read(audit_entries) if e.action == action]


def watch(window: ConsoleWindow, track_id: int, reason: str) -> None:
    walk_in_view(window, track_id, [(1100.0, 400.0), (1050.0, 400.0), (1000.0, 400.0)])
    window.watch_person(EAST, track_id, reason)
    assert wait_until(lambda: window.desk.waiting == 0)


def test_the_watch_list_shows_who_is_watched_and_unwatching_asks_why_and_is_audited(
    window: ConsoleWindow,
) -> None:
    view = window.watch_list
    assert window.watch_dock.isVisible()
    assert view.empty.text() == EMPTY_TEXT
    watch(window, 7, "asked where the alarm panel is")
    assert wait_until(lambda: len(view.people) == 1)
    (person,) = view.people
    ((who, last_seen, since, reason, added_by, path),) = view.row_texts()
    assert who == person.label
    assert last_seen == "East gallery, now"  # the camera (named as its room, said once), when
    assert since == "11:00:03 (now)"  # site time (Amsterdam, CET), when they were put on it
    assert (reason, added_by) == ("asked where the alarm panel is", "night-monitor")
    assert path == "last 2 s"
    assert window.focus.focus_wall.pinned == (EAST,)  # the wall follows who is seen
    # half a minute later, out of sight: the row ages by itself
    pass_time(window, 30)
    assert wait_until(lambda: view.row_texts()[0][2] == "11:00:03 (30 s)")
    assert view.row_texts()[0][1] == "East gallery, 30 s ago"
    assert window.focus.focus_wall.pinned == ()

    # selecting the person shows their way on the plan, drawn bolder
    view.table.setFocus()
    view.select(person.visitor_id)
    assert window.plan.selected_watched == person.visitor_id
    drawn = window.plan.watched_items("ground")
    assert drawn
    assert max(item.pen().width() for item in drawn if hasattr(item, "pen")) == 6
    pass_time(window, 1)  # the core's next view: still selected, still drawn bolder
    assert wait_until(lambda: view.row_texts()[0][2] == "11:00:03 (31 s)")
    assert window.plan.selected_watched == person.visitor_id
    drawn = window.plan.watched_items("ground")
    assert max(item.pen().width() for item in drawn if hasattr(item, "pen")) == 6
    # Enter on the row: the camera that saw them last onto the focus wall
    QTest.keyClick(view.table, Qt.Key.Key_Return)
    assert EAST in window.focus.focus_wall.pinned

    # U asks why; without a reason the core refuses, and the refusal is shown
    QTest.keyClick(view.table, getattr(Qt.Key, f"Key_{UNWATCH_KEY}"))
    dialog = view.dialog
    assert isinstance(dialog, UnwatchDialog)
    assert dialog.isVisible()
    dialog.unwatch_button.click()
    assert wait_until(lambda: dialog.said.isVisible())
    assert "say why this person is no longer to be watched" in dialog.said.text()
    assert "not taken off: say why" in view.said.text()
    assert view.said.isVisible()
    assert len(view.people) == 1
    assert stored_audit(window, "behaviour.unwatch") == []
    # with a reason: off the list, off the plan, audited with who and why
    QTest.keyClicks(dialog.reason_edit, "a restorer, known to the guards")
    dialog.unwatch_button.click()
    assert wait_until(lambda: view.people == () and view.dialog is None)
    assert view.empty.isVisible()
    assert "is off the watch list" in view.said.text()
    assert window.plan.watched_items("ground") == []
    assert window.plan.selected_watched is None
    (row,) = stored_audit(window, "behaviour.unwatch")
    assert row.user == "night-monitor"
    assert row.target == f"visitor:{person.visitor_id}"
    assert row.detail["unwatch_reason"] == "a restorer, known to the guards"
    assert row.detail["reason"] == "asked where the alarm panel is"
    assert row.detail["added_by"] == "night-monitor"


def test_a_refused_unwatch_is_shown_and_expired_entries_leave_by_themselves(
    window: ConsoleWindow,
) -> None:
    view = window.watch_list
    watch(window, 8, "looked at the alarm contacts")
    assert wait_until(lambda: len(view.people) == 1)
    (person,) = view.people
    # someone else took them off meanwhile (the core answers for the list the window shows)
    taken = window.runtime.post(UnwatchPerson("night-monitor", person.visitor_id, "checked"))
    assert taken.result(timeout=30).ok
    view.unwatch(person.visitor_id, "left the building")
    assert wait_until(lambda: "not taken off" in view.said.text())
    assert "is not on the watch list" in view.said.text()
    assert "not taken off" in window.statusBar().currentMessage()

    # an entry that expires leaves the list (and the plan) without anyone acting
    watch(window, 9, "tried the staff door")
    assert wait_until(lambda: len(view.people) == 1)
    (watched,) = view.people
    assert window.plan.watched_items("ground")
    settings = window.runtime.site.behaviour
    # the entry's time, or the visitor's memory (appearance, path), whichever ends first
    ends_s = min(float(settings.watch_for_s), float(settings.forget_after_s))
    pass_time(window, ends_s - 2)
    assert len(view.people) == 1
    pass_time(window, 3)
    assert wait_until(lambda: view.people == ())
    assert view.empty.isVisible()
    assert window.plan.watched_items("ground") == []
    (expired,) = [r for r in stored_audit(window, "behaviour.unwatch") if r.user == "system"]
    assert expired.target == f"visitor:{watched.visitor_id}"
    assert expired.detail["why"] in {
        "the entry expired",
        f"not seen for {float(settings.forget_after_s):.0f} s: forgotten",
    }
