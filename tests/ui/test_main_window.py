"""The whole console window on a real runtime: real capture and detector processes, real
footage of people walking (vtest.avi), the rules, a real SQLite store, pytest-qt offscreen. The
monitor signs in through the real sign-in screen, and every stored step carries their name."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QRect, QSettings, Qt
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QStyleOptionViewItem

from console.actions import Acknowledge
from console.passwords import PasswordHashing
from console.roles import Role
from console.rules import Finding
from console.rules.details import ProximityDetail
from console.runtime import RuntimeOptions, SiteRuntime
from console.severity import Severity
from console.site_file import load_site
from console.store import (
    AlarmState,
    Outcome,
    Store,
    alarm_events,
    audit_entries,
    dispatches,
    get_alarm,
    list_shifts,
)
from inference.worker_pool import DetectorSpec
from tests.people import enroll, password_of
from tests.sites import courtyard_site
from tests.ui.conftest import flush_deleted
from ui.alarm_queue import (
    CAMERA,
    COLUMNS,
    ESCALATION,
    MIN_ELASTIC_PX,
    PEOPLE,
    PLACE,
    RAISED,
    RULE,
    SEVERITY,
    STATUS,
)
from ui.bridge import PipelineBridge
from ui.dispatch_dialog import DispatchDialog, ResolveDialog
from ui.main_window import ConsoleWindow
from ui.video_wall import TileState


@pytest.fixture
def site_file(tmp_path: Path) -> Path:
    """The courtyard test site plus a second camera whose stream does not exist."""
    site_yaml = courtyard_site(tmp_path)
    text = site_yaml.read_text()
    text = text.replace(
        "protected_objects:",
        "  - id: cam-gone\n    name: Back door\n    floor: ground\n"
        "    source: rtsp://127.0.0.1:9/nothing-listens-here\n    plan_position: [500, 500]\n"
        "protected_objects:",
    )
    site_yaml.write_text(text)
    return site_yaml


@pytest.fixture
def console(site_file: Path, tmp_path: Path, qapp) -> Iterator[ConsoleWindow]:
    store = Store(f"sqlite:///{tmp_path / 'alarms.db'}")
    enroll(store, "night-monitor", Role.OPERATOR, hashing=PasswordHashing())  # OWASP's cost
    bridge = PipelineBridge()
    options = RuntimeOptions(detector=DetectorSpec("ssdlite"), cpu_workers=1)
    runtime = SiteRuntime(
        load_site(site_file), store, options, on_alarm=bridge.on_alarm, **bridge.callbacks()
    )
    bridge.serve(runtime.post)
    settings = QSettings(str(tmp_path / "console.ini"), QSettings.Format.IniFormat)
    runtime.start()
    window = ConsoleWindow(runtime, bridge, station="desk-1", settings=settings)
    try:
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


def wait_until(condition: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        QApplication.processEvents()
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def sign_in(console: ConsoleWindow, name: str, password: str) -> None:
    """Type name and password into the sign-in screen and press Return, as a monitor does."""
    panel = console.sign_in_panel
    assert console.pages.currentWidget() is panel
    QTest.keyClicks(panel.name_edit, name)
    QTest.keyClick(panel.name_edit, Qt.Key.Key_Return)  # on to the password
    QTest.keyClicks(panel.password_edit, password)
    QTest.keyClick(panel.password_edit, Qt.Key.Key_Return)
    assert wait_until(lambda: console.desk.waiting == 0, 30)
    assert wait_until(lambda: console.pages.currentIndex() == console.WATCH_PAGE, 10)


def key(widget, code: Qt.Key, console: ConsoleWindow | None = None) -> None:
    """Press a key; when it posted an action, wait for the core's answer and the writes."""
    QTest.keyClick(widget, code)
    QApplication.processEvents()
    if console is not None:
        assert wait_until(lambda: console.bridge.outstanding == 0, 30)
        assert console.runtime.alarms.flush()
        QApplication.processEvents()


@pytest.fixture
def store_callers(console: ConsoleWindow, monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """From here on, the name of every thread that calls the console's store's entry points
    (`write`, `read`): the console is built and running already."""
    callers: set[str] = set()
    watched = console.runtime.store
    for name in ("write", "read"):
        original = getattr(Store, name)

        def recording(self: Store, *args: object, _original=original, **kwargs: object):
            if self is watched:
                callers.add(threading.current_thread().name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(Store, name, recording)
    return callers


def test_console_from_live_cameras_to_a_resolved_alarm(
    console: ConsoleWindow, store_callers: set[str], request: pytest.FixtureRequest
) -> None:
    runtime = console.runtime
    # the test reads what was stored through a reader of its own, not the console's store
    store = Store(runtime.store.url, read_only=True)
    request.addfinalizer(store.close)
    # the console opens on the sign-in screen: no wall, no alarm queue until someone signs in
    assert console.pages.currentIndex() == console.SIGN_IN_PAGE
    assert console.queue_dock.isHidden()
    assert console.queue.acknowledge_action.isEnabled() is False
    sign_in(console, "night-monitor", password_of("night-monitor").reveal())
    assert console.user == "night-monitor"
    assert "night-monitor (operator)" in console.windowTitle()
    assert console.queue.acknowledge_action.isEnabled()
    assert not console.supervisor_menu.menuAction().isVisible()  # an operator's console
    # the wall fills from the real rings
    tile = console.wall.tile("cam-path")
    assert wait_until(lambda: tile.counters.painted > 0, 60)
    assert tile.state.status.value == "live"
    # the camera that cannot be reached shows an offline tile with its reason
    gone = console.wall.tile("cam-gone")
    assert wait_until(lambda: gone.state.status.value == "offline", 60)
    assert any(
        "127.0.0.1:9" in line or "refused" in line.lower() or "offline" in line.lower()
        for line in gone.caption_lines()
    )

    # people walk past the plinth: an alarm from the core reaches the queue ...
    # (after opening hours the after_hours rule raises one too; the queue holds both)
    def proximity_in_queue() -> bool:
        return any(a.rule == "proximity" for a in console.queue.model.alarms())

    assert wait_until(proximity_in_queue, 120)
    alarm = next(a for a in console.queue.model.alarms() if a.rule == "proximity")
    assert alarm.camera_id == "cam-path"
    assert alarm.subject_id == "plinth"
    # ... and promotes its camera to the focus wall
    assert wait_until(lambda: "cam-path" in console.focus_model.layout.camera_ids, 10)
    # the status bar says which detector runs
    console.health.sample_now()
    assert console.health_line.text.startswith("Detector: basic (offline model), 1/2 cameras")
    assert "ssdlite" in console.health_line.toolTip()

    # the monitor handles it by keyboard alone
    assert console.queue.select_alarm(alarm.alarm_id)
    table = console.queue.table
    table.setFocus()
    key(table, Qt.Key.Key_A, console)
    assert store.read(get_alarm, alarm.alarm_id).state == AlarmState.ACKNOWLEDGED
    # Enter: the alarm's detail, its steps read from the store on the runtime's reader thread
    key(table, Qt.Key.Key_Return)
    detail = console.queue.detail
    assert detail is not None
    assert wait_until(lambda: "Acknowledged" in [r[1] for r in detail.step_rows()], 30)
    assert detail.occurrence_rows()[0][0] == "Courtyard path"
    key(detail, Qt.Key.Key_Escape)
    assert wait_until(lambda: console.queue.detail is None, 10)
    table.setFocus()
    key(table, Qt.Key.Key_D)
    dialog = console.queue.active_dialog
    assert isinstance(dialog, DispatchDialog)
    key(dialog.guard_list, Qt.Key.Key_1)
    key(dialog.guard_list, Qt.Key.Key_Return, console)
    (dispatch,) = store.read(dispatches, alarm.alarm_id)
    assert dispatch.guard_id == "g-anna"
    table.setFocus()
    key(table, Qt.Key.Key_G, console)
    assert store.read(dispatches, alarm.alarm_id)[0].arrived_at is not None
    key(table, Qt.Key.Key_R)
    dialog = console.queue.active_dialog
    assert isinstance(dialog, ResolveDialog)
    key(dialog.outcome_list, Qt.Key.Key_1)
    key(dialog.note_edit, Qt.Key.Key_Return, console)
    record = store.read(get_alarm, alarm.alarm_id)
    assert record.state == AlarmState.RESOLVED
    assert record.outcome == Outcome.FALSE_ALARM
    kinds = [e.kind.value for e in store.read(alarm_events, alarm.alarm_id)]
    assert kinds[:1] == ["raise"]
    assert kinds[-4:] == ["acknowledge", "dispatch", "arrive", "resolve"]
    assert {e.user for e in store.read(alarm_events, alarm.alarm_id)[1:]} == {"night-monitor"}
    (shift,) = store.read(list_shifts, user="night-monitor")
    assert (shift.station, shift.ended_at) == ("desk-1", None)
    signed = [(e.user, e.action) for e in store.read(audit_entries) if e.user == "night-monitor"]
    assert signed[:2] == [("night-monitor", "login"), ("night-monitor", "console.watch")]

    # detection, the GUI and the disk never wait on each other: neither the pipeline's dispatch
    # thread nor the GUI thread ever called the console's store; the core did all the writing,
    # the runtime's reader thread the reading for the alarm's detail
    assert store_callers == {"nightwatch-core", "nightwatch-reader"}


def test_layout_and_focus_wall_size_persist(console: ConsoleWindow) -> None:
    sign_in(console, "night-monitor", password_of("night-monitor").reveal())
    console.focus.set_slot_count(9)
    console.save_layout()
    settings = console.settings
    assert int(settings.value("focus/slots")) == 9
    assert settings.value("window/state") is not None
    assert settings.value("window/geometry") is not None


def test_offline_tile_state_is_not_a_black_image(console: ConsoleWindow) -> None:
    sign_in(console, "night-monitor", password_of("night-monitor").reveal())
    gone = console.wall.tile("cam-gone")
    assert wait_until(lambda: gone.state.status.value == "offline", 60)
    assert isinstance(gone.state, TileState)
    image = gone.grab().toImage()
    # an offline tile draws its hatching and text: not a single flat colour
    colours = {
        image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)
    }
    assert len(colours) > 3


def finding_key(finding: Finding) -> tuple[str, str, str]:
    return (finding.camera_id, finding.rule, finding.subject_id)


def test_a_locked_console_keeps_the_wall_live_and_acting_needs_the_password(
    console: ConsoleWindow, request: pytest.FixtureRequest
) -> None:
    runtime = console.runtime
    store = Store(runtime.store.url, read_only=True)
    request.addfinalizer(store.close)
    password = password_of("night-monitor").reveal()
    sign_in(console, "night-monitor", password)
    tile = console.wall.tile("cam-path")
    assert wait_until(lambda: tile.counters.painted > 0, 60)

    # nobody touches the console: it locks itself after its quiet time (here 0.3 s)
    console.idle_lock.set_timeout_s(0.3)
    console.idle_lock.start()
    assert wait_until(lambda: console.desk.locked, 10)
    assert console.lock_bar.isVisible()
    assert "LOCKED" in console.windowTitle()
    assert "night-monitor's password" in console.lock_bar.text
    # the wall stays live behind the lock: tiles keep painting new frames
    painted = tile.counters.painted
    assert wait_until(lambda: tile.counters.painted >= painted + 5, 30)
    assert console.wall.isVisible()
    assert console.queue_dock.isVisible()

    # an alarm raised while locked shows in the queue and sounds ...
    finding = Finding(
        "proximity",
        "cam-path",
        "plinth",
        4242,
        Severity.HIGH,
        runtime.clock.now(),
        1.0,
        ProximityDetail(distance_m=0.3),
    )
    runtime.core.post(lambda: runtime.alarms.ingest([finding])).result(timeout=30)
    # a new alarm, or (when people walking past the plinth raised one already) folded into it
    (alarm,) = [a for a in runtime.alarms.open_alarms() if a.episode == finding_key(finding)]
    assert any(o.track_id == 4242 for o in alarm.occurrences)
    assert wait_until(lambda: console.queue.model.row_of(alarm.alarm_id) is not None, 10)
    assert console.sound.policy.current_cue() is not None
    # ... but acting on it needs the password: the queue's actions are off, and the core refuses
    # an acknowledgement posted anyway (and audits the refusal)
    assert not console.queue.acknowledge_action.isEnabled()
    answers: list = []
    console.bridge.action_answered.connect(answers.append)
    console.bridge.post(Acknowledge(alarm.alarm_id, "night-monitor"))
    assert wait_until(lambda: bool(answers), 30)
    assert (answers[0].ok, answers[0].code) == (False, "locked")
    assert runtime.alarms.get(alarm.alarm_id).state == AlarmState.RAISED

    # the monitor types the password into the lock bar
    QTest.keyClicks(console.lock_bar.password_edit, "not the password")
    QTest.keyClick(console.lock_bar.password_edit, Qt.Key.Key_Return)
    assert wait_until(lambda: console.lock_bar.error_label.isVisible(), 30)
    assert console.desk.locked
    QTest.keyClicks(console.lock_bar.password_edit, password)
    QTest.keyClick(console.lock_bar.password_edit, Qt.Key.Key_Return)
    assert wait_until(lambda: not console.desk.locked, 30)
    assert console.lock_bar.isHidden()
    assert console.queue.acknowledge_action.isEnabled()
    assert console.queue.select_alarm(alarm.alarm_id)
    console.queue.table.setFocus()
    key(console.queue.table, Qt.Key.Key_A, console)
    assert runtime.alarms.get(alarm.alarm_id).state == AlarmState.ACKNOWLEDGED
    runtime.store.flush()
    rows = [(e.user, e.action) for e in store.read(audit_entries) if e.user == "night-monitor"]
    assert ("night-monitor", "console.lock") in rows
    assert ("night-monitor", "permission.refused") in rows
    assert ("night-monitor", "unlock.failed") in rows
    assert rows.index(("night-monitor", "unlock")) > rows.index(("night-monitor", "console.lock"))
    events = store.read(alarm_events, alarm.alarm_id)
    assert [(e.kind.value, e.user) for e in events][-1] == ("acknowledge", "night-monitor")


def long_alarms(count: int) -> list:
    """Alarms with the longest words the queue shows: a re-flagged zone-wide incident, people
    gone, ESCALATED, a camera and a place whose names are long."""
    from datetime import UTC, datetime

    from console.alarms import Alarm, Occurrence

    start = datetime(2026, 11, 28, 2, 13, 40, tzinfo=UTC)
    seen = tuple(
        Occurrence(f"sculpture-garden-north-terrace-{i}", 7 + i, start, start, ended_at=start)
        for i in range(3)
    )
    return [
        Alarm(
            100 + i,
            seen[0].camera_id,
            "object_missing",
            "the-large-tapestry-of-the-east-wing",
            "medium",
            AlarmState.ACKNOWLEDGED,
            start,
            start,
            start,
            (7,),
            None,
            None,
            active=False,
            escalated=True,
            occurrences=seen,
            zone_wide=True,
            needs_attention=True,
            attention_since=start,
        )
        for i in range(count)
    ]


def lines_needed(queue, column: int) -> int:
    """How many lines the widest text of a column takes at its width (no word cut)."""
    table = queue.table
    width = table.horizontalHeader().sectionSize(column)
    most = 1
    for row in range(queue.model.rowCount()):
        index = queue.model.index(row, column)
        text = str(index.data() or "")
        font = index.data(Qt.ItemDataRole.FontRole)
        metrics = QFontMetrics(font if isinstance(font, QFont) else table.font())
        # what the cell spends besides its text (margins, the state mark) is what its one-line
        # size hint has on top of the text's width
        option = QStyleOptionViewItem()
        table.initViewItemOption(option)
        spent = table.itemDelegate().sizeHint(option, index).width()
        spent -= metrics.horizontalAdvance(text)
        room = width - spent
        assert all(metrics.horizontalAdvance(word) <= room for word in text.split()), text
        box = metrics.boundingRect(QRect(0, 0, room, 1000), Qt.TextFlag.TextWordWrap, text)
        most = max(most, round(box.height() / metrics.lineSpacing()))
    return most


def test_at_1920x1080_the_queue_fits_and_f8_never_hides_the_console(
    console: ConsoleWindow,
) -> None:
    sign_in(console, "night-monitor", password_of("night-monitor").reveal())
    console.showNormal()
    console.resize(1920, 1080)
    console.apply_default_layout()  # what a first start on a 1920x1080 screen gets
    QApplication.processEvents()
    queue = console.queue
    queue.model.set_alarms(long_alarms(6))
    queue.fit_columns()
    QApplication.processEvents()
    table = queue.table
    widths = queue.column_widths()
    assert sum(widths) <= table.viewport().width()  # no horizontal scrolling ...
    assert table.horizontalScrollBar().maximum() == 0
    for column in (STATUS, SEVERITY, PEOPLE, RAISED, ESCALATION):  # ... and nothing cut short:
        assert lines_needed(queue, column) <= 2, COLUMNS[column]  # at most the row's two lines
    for column in (CAMERA, PLACE, RULE):  # the names give way, but stay readable
        assert widths[column] >= MIN_ELASTIC_PX, COLUMNS[column]
    assert queue.model.index(0, STATUS).data() == "NEW ACTIVITY"
    assert queue.model.index(0, PEOPLE).data() == "left 03:13:40"
    assert queue.model.index(0, ESCALATION).data() == "ESCALATED"

    # F8 floats the focus wall; on one screen it leaves the queue in sight; F8 again docks it
    dock = console.focus_dock
    assert len(QApplication.screens()) == 1
    QTest.keyClick(console, Qt.Key.Key_F8)
    QApplication.processEvents()
    assert dock.isFloating()
    assert console.float_focus_action.isChecked()
    queue_area = console.queue_dock.geometry().translated(console.geometry().topLeft())
    assert not dock.geometry().intersects(queue_area)
    console.focus.setFocus()  # the key pressed while the floating wall has the focus
    QTest.keyClick(console.focus, Qt.Key.Key_F8)
    QApplication.processEvents()
    assert not dock.isFloating()
    assert dock.isVisible()
    assert not console.float_focus_action.isChecked()
