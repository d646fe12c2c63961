"""Signing in, the first start, hand-over, roles in the window: the real ConsoleWindow over a real
runtime's core thread and a real SQLite store (the cameras are not started: these tests are about
people, the wall's liveness behind the lock is tested in test_main_window), pytest-qt offscreen,
typed with key clicks."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from console.behaviour.model import BehaviourView, WatchedPerson
from console.passwords import PasswordHashing
from console.roles import Role
from console.rules import Finding
from console.runtime import RuntimeOptions, SiteRuntime
from console.severity import Severity
from console.site_file import load_site
from console.store import Store, audit_entries, behaviour_switch, get_user, list_shifts
from inference.worker_pool import DetectorSpec
from tests.people import PASSWORDS, QUICK_HASHING, enroll, password_of
from tests.sites import courtyard_site
from tests.ui.conftest import flush_deleted
from ui.bridge import PipelineBridge
from ui.main_window import ConsoleWindow
from ui.shift import HandOverDialog
from ui.supervisor import BehaviourDialog, UsersDialog

Console = Callable[..., ConsoleWindow]


def wait_until(condition: Callable[[], bool], timeout_s: float = 30) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        QApplication.processEvents()
        if condition():
            return True
        time.sleep(0.01)
    return condition()


@pytest.fixture
def console(tmp_path: Path, qapp) -> Iterator[Console]:
    """`console(people)`: the window on a store holding `people` ({name: role}); the runtime's
    core thread and reader thread run, its cameras do not."""
    made: list[tuple[ConsoleWindow, PipelineBridge, SiteRuntime, Store]] = []

    def make(people: dict[str, Role], **window_args: object) -> ConsoleWindow:
        store = Store(f"sqlite:///{tmp_path / 'alarms.db'}")
        for name, role in people.items():
            enroll(store, name, role, hashing=QUICK_HASHING)
        bridge = PipelineBridge()
        runtime = SiteRuntime(
            load_site(courtyard_site(tmp_path)),
            store,
            RuntimeOptions(detector=DetectorSpec("ssdlite"), cpu_workers=1),
            on_alarm=bridge.on_alarm,
            **bridge.callbacks(),
        )
        runtime.room.accounts.hashing = QUICK_HASHING
        bridge.serve(runtime.post)
        runtime.core.start()
        runtime.reader.start()  # the incident browser's reads
        settings = QSettings(str(tmp_path / "console.ini"), QSettings.Format.IniFormat)
        window = ConsoleWindow(runtime, bridge, station="desk-1", settings=settings, **window_args)  # type: ignore[arg-type]
        window.resize(1280, 800)
        window.show()
        made.append((window, bridge, runtime, store))
        return window

    yield make
    for window, bridge, runtime, store in made:
        window.close()
        window.deleteLater()
        flush_deleted()
        bridge.close()
        runtime.stop()
        assert store.close().all_stored
        bridge.deleteLater()
        flush_deleted()


def type_in(widget, text: str, *, enter: bool = True) -> None:
    QTest.keyClicks(widget, text)
    if enter:
        QTest.keyClick(widget, Qt.Key.Key_Return)


def sign_in(window: ConsoleWindow, name: str, password: str | None = None) -> None:
    panel = window.sign_in_panel
    panel.name_edit.clear()  # what a monitor retypes after a refusal
    type_in(panel.name_edit, name)
    type_in(panel.password_edit, PASSWORDS[name] if password is None else password)
    assert wait_until(lambda: window.desk.waiting == 0)


def stored(window: ConsoleWindow, query: Callable, *args: object) -> object:
    """What the console's store holds (read here, in the test, after its writes)."""
    window.runtime.store.flush()
    return window.runtime.store.read(query, *args)


def test_the_first_start_asks_for_the_first_supervisor(console: Console) -> None:
    window = console({})
    panel = window.sign_in_panel
    assert panel.first_run
    assert "No account exists yet" in panel.heading.text()
    type_in(panel.name_edit, "boss")
    type_in(panel.password_edit, "supervise the night")
    type_in(panel.repeat_edit, "supervise the nighT")
    assert panel.message == "⚠ the two passwords differ"
    type_in(panel.password_edit, "short")
    type_in(panel.repeat_edit, "short")
    assert wait_until(lambda: "at least 12 characters" in panel.message)
    type_in(panel.password_edit, "supervise the night")
    type_in(panel.repeat_edit, "supervise the night")
    assert wait_until(lambda: window.pages.currentIndex() == window.WATCH_PAGE)
    assert window.user == "boss"
    assert window.supervisor_menu.menuAction().isVisible()
    assert window.users_action.isVisible()
    user = stored(window, get_user, "boss")
    assert (user.role, user.created_by) == (Role.SUPERVISOR, "boss")
    first = [e for e in stored(window, audit_entries) if e.action == "user.add"]
    assert first[0].detail["first_run"] is True


def test_a_wrong_password_is_refused_and_the_back_off_said(console: Console) -> None:
    window = console({"night-monitor": Role.OPERATOR})
    panel = window.sign_in_panel
    assert not panel.first_run
    for _ in range(3):
        sign_in(window, "night-monitor", "not my password")
    assert panel.message == "⚠ wrong name or password; the next try waits 2 s"
    sign_in(window, "night-monitor")
    assert "too many failed attempts: try again in" in panel.message
    assert window.user is None
    assert window.pages.currentIndex() == window.SIGN_IN_PAGE
    assert window.queue_dock.isHidden()
    failed = [
        (e.user, e.action) for e in stored(window, audit_entries) if e.action.startswith("login.")
    ]
    assert failed == [("night-monitor", "login.failed")] * 3 + [
        ("night-monitor", "login.throttled")
    ]


def test_hand_over_keeps_the_wall_and_the_alarms_and_records_both_names(
    console: Console,
) -> None:
    window = console({"night-monitor": Role.OPERATOR, "relief": Role.OPERATOR})
    sign_in(window, "night-monitor")
    assert wait_until(lambda: window.pages.currentIndex() == window.WATCH_PAGE)
    runtime = window.runtime
    finding = Finding("proximity", "cam-path", "plinth", 7, Severity.HIGH, runtime.clock.now(), 1.0)
    (alarm,) = runtime.core.post(lambda: runtime.alarms.ingest([finding])).result(timeout=30)
    assert wait_until(lambda: window.queue.model.row_of(alarm.alarm_id) is not None)
    wall = window.wall

    dialog = window.hand_over()
    assert isinstance(dialog, HandOverDialog)
    note = "Alarm at the plinth still open: a visitor leaned over it."
    type_in(dialog.note_edit, note, enter=False)
    QTest.mouseClick(dialog.next_button, Qt.MouseButton.LeftButton)
    assert dialog.note_view.text() == note
    type_in(dialog.name_edit, "relief", enter=False)
    type_in(dialog.password_edit, PASSWORDS["relief"], enter=False)
    assert not dialog.take_button.isEnabled()  # not before the note is confirmed
    dialog.read_box.setChecked(True)
    QTest.mouseClick(dialog.take_button, Qt.MouseButton.LeftButton)
    assert wait_until(lambda: window.user == "relief")
    assert wait_until(lambda: window.active_dialog is None)
    # the same wall, still open; the alarm still in the queue, now handled in relief's name
    assert window.wall is wall
    assert wall.isVisible()
    assert window.pages.currentIndex() == window.WATCH_PAGE
    assert window.queue.model.row_of(alarm.alarm_id) is not None
    assert "relief (operator)" in window.windowTitle()
    assert "took over from night-monitor" in window.statusBar().currentMessage()
    shifts = stored(window, list_shifts)
    (before,) = [s for s in shifts if s.user == "night-monitor"]
    (after,) = [s for s in shifts if s.user == "relief"]
    assert (before.handed_to, before.handover_note, after.taken_over_from) == (
        "relief",
        note,
        before.id,
    )
    assert after.note_confirmed_at is not None
    (row,) = [e for e in stored(window, audit_entries) if e.action == "shift.handover"]
    assert (row.detail["from"], row.detail["to"]) == ("night-monitor", "relief")


def test_an_auditor_reads_and_exports_the_incident_log_and_sees_no_wall(
    console: Console, tmp_path: Path
) -> None:
    window = console({"audrey": Role.AUDITOR})
    runtime = window.runtime
    finding = Finding("proximity", "cam-path", "plinth", 7, Severity.HIGH, runtime.clock.now(), 1.0)
    runtime.core.post(lambda: runtime.alarms.ingest([finding])).result(timeout=30)
    assert runtime.alarms.flush()
    sign_in(window, "audrey")
    assert wait_until(lambda: window.records.table.rowCount() == 1)
    assert window.pages.currentIndex() == window.RECORDS_PAGE
    assert window.queue_dock.isHidden()
    assert window.focus_dock.isHidden()
    assert not window.hand_over_action.isVisible()
    assert not window.queue.acknowledge_action.isVisible()
    assert not window.supervisor_menu.menuAction().isVisible()
    out = tmp_path / "night"
    window.records.export_to(out)  # the window's own export: CSV, JSON lines, PDF, signed
    assert wait_until(lambda: "exported to" in window.records.message_label.text(), 120)
    assert (out / "incidents.jsonl").read_text().count("\n") == 1
    assert (out / "report.pdf").exists()
    actions = [(e.user, e.action) for e in stored(window, audit_entries) if e.user == "audrey"]
    assert ("audrey", "incident_log.read") in actions
    assert ("audrey", "export.created") in actions
    assert ("audrey", "console.watch") not in actions


def test_a_supervisor_adds_an_operator_in_the_window(console: Console) -> None:
    window = console({"boss": Role.SUPERVISOR})
    sign_in(window, "boss")
    dialog = window.open_users()
    assert isinstance(dialog, UsersDialog)
    assert wait_until(lambda: dialog.table.rowCount() == 1)
    type_in(dialog.name_edit, "Ana", enter=False)
    dialog.role_box.setCurrentIndex(dialog.role_box.findData("operator"))
    type_in(dialog.password_edit, "twelve chars or more", enter=False)
    type_in(dialog.repeat_edit, "twelve chars or more", enter=False)
    QTest.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    assert wait_until(lambda: dialog.table.rowCount() == 2)
    type_in(dialog.name_edit, "ANA", enter=False)
    type_in(dialog.password_edit, "twelve chars or more", enter=False)
    type_in(dialog.repeat_edit, "twelve chars or more", enter=False)
    QTest.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    assert wait_until(lambda: "taken" in dialog.said.text())
    assert stored(window, get_user, "ana").role == Role.OPERATOR
    dialog.reject()


def test_the_demo_signs_its_operator_in_and_says_the_accounts(console: Console) -> None:
    notice = "demo accounts: supervisor / supervisor-demo, auditor / auditor-demo"
    window = console(
        {"night-monitor": Role.OPERATOR},
        sign_in=("night-monitor", password_of("night-monitor")),
        notice=notice,
    )
    assert wait_until(lambda: window.pages.currentIndex() == window.WATCH_PAGE)
    assert window.windowTitle().endswith(notice)
    window.sign_out_action.trigger()
    assert wait_until(lambda: window.pages.currentIndex() == window.SIGN_IN_PAGE)
    assert window.sign_in_panel.notice_label.text() == notice
    (shift,) = stored(window, list_shifts)
    assert shift.end_reason == "signed out"


def test_passwords_are_checked_off_the_gui_thread_and_never_logged(
    console: Console, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    threads: set[str] = set()
    for name in ("hash", "verify"):
        original = getattr(PasswordHashing, name)

        def recording(self, *args, _original=original, **kwargs):
            threads.add(threading.current_thread().name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(PasswordHashing, name, recording)
    caplog.set_level(logging.DEBUG)
    window = console({"night-monitor": Role.OPERATOR})
    threads.clear()  # the test's own enrolment hashed on this thread, before the window
    sign_in(window, "night-monitor", "a wrong guess here")
    sign_in(window, "night-monitor")
    assert wait_until(lambda: window.user == "night-monitor")
    assert threads == {"nightwatch-core"}
    for secret in (PASSWORDS["night-monitor"], "a wrong guess here"):
        assert secret not in caplog.text


def test_a_supervisor_switches_behaviour_learning_off_in_the_window(console: Console) -> None:
    window = console({"boss": Role.SUPERVISOR, "night-monitor": Role.OPERATOR})
    sign_in(window, "boss")
    assert window.behaviour_action.isVisible()
    dialog = window.open_behaviour()
    assert isinstance(dialog, BehaviourDialog)
    assert wait_until(lambda: "learning: 0.0 h of the 24 h warm-up" in dialog.state_label.text())
    assert dialog.on_box.isChecked()
    dialog.on_box.setChecked(False)
    type_in(dialog.reason_edit, "filming night", enter=False)
    dialog.apply()
    assert wait_until(lambda: "Switched" in dialog.said.text())
    assert wait_until(lambda: dialog.state_label.text().startswith("off (switched off at the"))
    switch = stored(window, behaviour_switch)
    assert (switch.user, switch.enabled, switch.reason) == ("boss", False, "filming night")
    rows = [e for e in stored(window, audit_entries) if e.action == "behaviour.switch"]
    assert [(r.user, r.detail["enabled"]) for r in rows] == [("boss", False)]
    assert not window.runtime.behaviour.enabled
    dialog.reject()
    # an operator has no such switch
    window.sign_out_action.trigger()
    assert wait_until(lambda: window.pages.currentIndex() == window.SIGN_IN_PAGE)
    sign_in(window, "night-monitor")
    assert not window.behaviour_action.isVisible()


def test_the_focus_wall_follows_a_watched_visitor(console: Console) -> None:
    window = console({"night-monitor": Role.OPERATOR})
    sign_in(window, "night-monitor")
    now = window.runtime.clock.now()
    seen = WatchedPerson(
        "visitor-3", "visitor 3", "left a bag", "night-monitor", now, now, now,
        ("cam-path",), (("cam-path", 4),), (), None,
    )  # fmt: skip
    window.follow_watched(BehaviourView(now, True, True, "judging", (seen,)))
    assert window.focus.focus_wall.pinned == ("cam-path",)
    gone = replace(seen, cameras_now=(), tracks_now=())
    window.follow_watched(BehaviourView(now, True, True, "judging", (gone,)))
    assert window.focus.focus_wall.pinned == ()
    # a camera the operator pinned stays pinned after the visitor left it
    window.focus.pin("cam-path")
    window.follow_watched(BehaviourView(now, True, True, "judging", (seen,)))
    window.follow_watched(BehaviourView(now, True, True, "judging", (gone,)))
    assert window.focus.focus_wall.pinned == ("cam-path",)
