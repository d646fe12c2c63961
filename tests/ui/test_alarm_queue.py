"""The alarm queue, dispatch and resolve dialogs, and the alarm sound, offscreen.

A real AlarmManager over a real SQLite file, the example site and a FakeClock, behind a real
core loop: alarms come from the core (also from a worker thread), the monitor handles them with
the keyboard, the queue posts actions through the bridge and the core answers; the test reads
back what the store wrote.
"""

from __future__ import annotations

import random
import sys
import threading
import wave
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont, QImage, QPixmap
from PySide6.QtWidgets import QApplication, QWidget

import ui.alarm_queue as queue_module
from console.actions import apply_action
from console.alarms import Alarm, AlarmManager
from console.clock import FakeClock
from console.control_room import ControlRoom
from console.core_loop import CoreLoop
from console.roles import Role
from console.rules import Finding, Severity
from console.rules.details import BehaviourDetail, ProximityDetail
from console.shift_actions import LogIn
from console.site_file import Site, load_site
from console.store import (
    AlarmState,
    Outcome,
    Store,
    alarm_events,
    audit_entries,
    dispatches,
    get_alarm,
    verify_chain,
)
from tests.media import first_frames
from tests.people import QUICK_HASHING, enroll, password_of
from ui.alarm_queue import (
    CAMERA,
    ESCALATION,
    PLACE,
    RAISED,
    RULE,
    SEVERITY,
    SNAPSHOT,
    STATUS,
    WRITTEN_AHEAD,
    AlarmQueueModel,
    AlarmQueueView,
    SnapshotThumbnails,
    escalation_text,
)
from ui.bridge import PipelineBridge
from ui.dispatch_dialog import AlarmLocationMap, DispatchDialog, ResolveDialog, alarm_target
from ui.sound import (
    AlarmSoundPlayer,
    Cue,
    SoundEffectOutput,
    SoundPolicy,
    SoundSettings,
    ToneBank,
)

SITE = Path(__file__).resolve().parents[1] / "data" / "example_site" / "site.yaml"
START = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)  # 03:00 in Amsterdam, the museum is closed
USER = "monitor-1"


def flush() -> None:
    """Deliver what is queued, and have every queue show it now (a queue re-reads the open
    alarms at most every REFRESH_EVERY_MS while they change)."""
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    QCoreApplication.processEvents()
    for widget in QApplication.allWidgets():
        if isinstance(widget, AlarmQueueView):
            widget.catch_up()


def jpeg(width: int = 320, height: int = 180) -> bytes:
    image = np.zeros((height, width, 3), np.uint8)
    cv2.rectangle(image, (100, 40), (160, 170), (60, 200, 230), -1)  # "a person"
    ok, data = cv2.imencode(".jpg", image)
    assert ok
    return data.tobytes()


@pytest.fixture(scope="module")
def site() -> Site:
    return load_site(SITE)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'alarms.db'}", snapshots_dir=tmp_path / "snaps")
    yield store
    store.close()


@pytest.fixture
def manager(store: Store, site: Site, clock: FakeClock) -> AlarmManager:
    return AlarmManager(store, site, clock)


class Desk:
    """The core loop the queue's actions go to, and a way to wait for its answers."""

    def __init__(self, manager: AlarmManager, bridge: PipelineBridge) -> None:
        self.manager = manager
        self.bridge = bridge
        self.core = CoreLoop(lambda _frame: None, lambda: None, after_each=manager.settle)
        manager.set_on_written(self.core.wake)
        # the service layer the console uses, with the monitor signed in at this desk
        enroll(manager.store, USER, Role.OPERATOR)
        room = ControlRoom.load(manager.store, manager.clock, alarms=manager, hashing=QUICK_HASHING)
        assert room.apply(LogIn(USER, password_of(USER), "test-desk")).ok
        bridge.serve(lambda action: self.core.post(lambda: apply_action(action, room)))

    def settle(self) -> None:
        """Every action answered and shown, every write on disk and folded back in."""
        for _ in range(500):
            flush()
            if self.bridge.outstanding == 0:
                break
            threading.Event().wait(0.01)
        assert self.bridge.outstanding == 0, "an action was never answered"
        assert self.manager.flush()
        flush()


DESK: list[Desk] = []  # the running test's desk (for key())


@pytest.fixture
def desk(manager: AlarmManager) -> Iterator[Desk]:
    bridge = PipelineBridge()
    manager.add_listener(bridge.on_alarm)
    desk = Desk(manager, bridge)
    desk.core.start()
    DESK.append(desk)
    yield desk
    DESK.remove(desk)
    bridge.close()
    desk.core.stop()
    bridge.deleteLater()
    flush()


@pytest.fixture
def queue(
    desk: Desk, manager: AlarmManager, site: Site, clock: FakeClock
) -> Iterator[AlarmQueueView]:
    """The queue, wired the way the main window does it, shown and focused; at the end it is
    closed (its timer must stop, its dialogs close) and deleted."""
    view = AlarmQueueView(manager, site, USER, clock, desk.bridge)
    view.resize(1100, 420)
    view.show()
    view.activateWindow()
    view.table.setFocus()
    flush()
    yield view
    view.close()
    assert not view.is_running, "the countdown timer still runs after close()"
    view.deleteLater()
    flush()


def finding(
    clock: FakeClock,
    *,
    rule: str = "proximity",
    subject: str = "milkmaid",
    camera: str = "cam-east",
    severity: str = "high",
    track: int | None = 3,
) -> Finding:
    return Finding(
        rule, camera, subject, track, severity, clock.now(), 1.0, ProximityDetail(distance_m=0.4)
    )  # type: ignore[arg-type]


def raise_alarm(manager: AlarmManager, clock: FakeClock, **kwargs: object) -> Alarm:
    (alarm,) = manager.ingest([finding(clock, **kwargs)])  # type: ignore[arg-type]
    return alarm


def cell(view: AlarmQueueView, row: int, column: int, role: int = Qt.ItemDataRole.DisplayRole):
    return view.model.data(view.model.index(row, column), role)


def key(widget: QWidget, k: Qt.Key, qtbot) -> None:
    """Press a key, then wait for the core's answer and the store's writes."""
    qtbot.keyClick(widget, k)
    settle()


def settle() -> None:
    if DESK:
        DESK[-1].settle()
    else:
        flush()


def event_kinds(store: Store, alarm_id: int) -> list[str]:
    settle()
    return [e.kind.value for e in store.read(alarm_events, alarm_id)]


# --------------------------------------------------------------------------- the queue


def test_alarm_from_a_worker_thread_appears_with_its_fields(queue, manager, clock) -> None:
    raised: list[Alarm] = []
    changes: list[list[Alarm]] = []
    queue.alarm_raised.connect(raised.append)
    queue.alarms_changed.connect(changes.append)
    picture = jpeg()

    def runtime() -> None:  # the runtime ingests on its own thread
        manager.ingest([finding(clock)], snapshot=lambda f: picture)

    worker = threading.Thread(target=runtime, name="runtime")
    worker.start()
    worker.join()
    assert queue.model.rowCount() == 0  # nothing touched the view from the worker thread
    flush()  # the queued signal is delivered on the GUI thread
    assert queue.model.rowCount() == 1  # on screen before its snapshot is on disk
    settle()  # the store's writer has written it, and said so

    assert queue.model.rowCount() == 1
    (alarm,) = manager.open_alarms()
    assert [a.alarm_id for a in raised] == [alarm.alarm_id]
    # the stored alarm (snapshot saved) comes back from the core as one more change
    for _ in range(500):
        if changes[-1] == [alarm]:
            break
        flush()
        threading.Event().wait(0.01)
    assert changes[-1] == [alarm]
    assert cell(queue, 0, STATUS) == "NEW"
    assert cell(queue, 0, SEVERITY) == "HIGH"
    assert cell(queue, 0, CAMERA) == "East gallery"
    assert cell(queue, 0, PLACE) == "The Milkmaid"
    assert cell(queue, 0, RULE) == "Too close"  # the object column names the artwork
    assert cell(queue, 0, RAISED) == "03:00:00"  # site time, Europe/Amsterdam
    assert cell(queue, 0, ESCALATION) == "30 s"
    assert "0.4 m" in cell(queue, 0, SNAPSHOT, Qt.ItemDataRole.ToolTipRole)
    thumb = cell(queue, 0, SNAPSHOT, Qt.ItemDataRole.DecorationRole)
    assert isinstance(thumb, QPixmap)
    assert not thumb.isNull()
    assert (thumb.width(), thumb.height()) == (71, 40)  # 16:9 snapshot scaled into 72x40
    # the snapshot was read once, however often the row is painted
    cell(queue, 0, SNAPSHOT, Qt.ItemDataRole.DecorationRole)
    queue.table.viewport().repaint()
    assert queue.model.thumbnails.loads == 1
    assert queue.selected_alarm() == alarm  # the one alarm is ready for the A key
    assert "1 NEW" in queue.summary_label.text()


def test_unacknowledged_alarms_stand_out_not_by_colour_alone(queue, manager, clock) -> None:
    first = raise_alarm(manager, clock)
    clock.advance(5)
    medium = raise_alarm(
        manager,
        clock,
        rule="restricted_zone",
        subject="store",
        camera="cam-corridor",
        severity="medium",
    )
    clock.advance(5)
    newest = raise_alarm(manager, clock, subject="night-watch", camera="cam-west")
    manager.acknowledge(first.alarm_id, USER)
    flush()

    order = [queue.model.alarm_at(row).alarm_id for row in range(queue.model.rowCount())]
    assert order == [a.alarm_id for a in manager.open_alarms()]
    assert order == [newest.alarm_id, first.alarm_id, medium.alarm_id]

    def bold(row: int) -> bool:
        font = cell(queue, row, CAMERA, Qt.ItemDataRole.FontRole)
        return isinstance(font, QFont) and font.bold()

    assert [cell(queue, r, STATUS) for r in range(3)] == ["NEW", "Acknowledged", "NEW"]
    assert [bold(r) for r in range(3)] == [True, False, True]
    marks = [cell(queue, r, STATUS, Qt.ItemDataRole.DecorationRole) for r in range(3)]
    assert all(isinstance(m, QPixmap) and not m.isNull() for m in marks)
    assert marks[0].toImage() == marks[2].toImage()  # the same NEW marker...
    assert marks[0].toImage() != marks[1].toImage()  # ...and another shape once acknowledged
    assert cell(queue, 2, PLACE) == "Store (staff only)"
    assert cell(queue, 2, SEVERITY) == "MEDIUM"
    assert "2 NEW" in queue.summary_label.text()


def test_keyboard_handles_an_alarm_from_raise_to_resolve(queue, manager, store, clock, qtbot):
    alarm = raise_alarm(manager, clock)
    flush()
    table = queue.table
    assert QApplication.focusWidget() is table

    clock.advance(4)
    key(table, Qt.Key.Key_A, qtbot)  # acknowledge
    assert store.read(get_alarm, alarm.alarm_id).state == AlarmState.ACKNOWLEDGED
    assert cell(queue, 0, STATUS) == "Acknowledged"
    assert queue.last_error is None

    clock.advance(3)
    key(table, Qt.Key.Key_D, qtbot)  # dispatch
    dialog = queue.active_dialog
    assert isinstance(dialog, DispatchDialog)
    assert dialog.map.target.outline == load_site(SITE).protected_object("milkmaid").plan_polygon
    key(dialog.guard_list, Qt.Key.Key_2, qtbot)  # the second guard: Ben, East wing
    assert dialog.selected_guard_id() == "g-ben"
    key(dialog.guard_list, Qt.Key.Key_Return, qtbot)  # Enter sends
    assert queue.active_dialog is None
    (dispatch,) = store.read(dispatches, alarm.alarm_id)
    assert (dispatch.guard_id, dispatch.post, dispatch.arrived_at) == ("g-ben", "East wing", None)
    assert cell(queue, 0, STATUS) == "Guard sent"
    assert "Ben (East wing) dispatched" in queue.message_label.text()

    clock.advance(60)
    assert QApplication.focusWidget() is table
    key(table, Qt.Key.Key_G, qtbot)  # the guard arrived
    (dispatch,) = store.read(dispatches, alarm.alarm_id)
    assert dispatch.arrived_at == clock.now()

    clock.advance(30)
    key(table, Qt.Key.Key_R, qtbot)  # resolve
    dialog = queue.active_dialog
    assert isinstance(dialog, ResolveDialog)
    key(dialog.outcome_list, Qt.Key.Key_2, qtbot)  # "Visitor warned", and on to the note
    assert dialog.selected_outcome() == Outcome.VISITOR_WARNED
    assert QApplication.focusWidget() is dialog.note_edit
    qtbot.keyClicks(dialog.note_edit, "stepped back from the painting")
    key(dialog.note_edit, Qt.Key.Key_Return, qtbot)
    assert queue.active_dialog is None

    record = store.read(get_alarm, alarm.alarm_id)
    assert record.state == AlarmState.RESOLVED
    assert record.outcome == Outcome.VISITOR_WARNED
    assert record.note == "stepped back from the painting"
    assert event_kinds(store, alarm.alarm_id) == [
        "raise",
        "acknowledge",
        "dispatch",
        "arrive",
        "resolve",
    ]
    assert {e.user for e in store.read(alarm_events, alarm.alarm_id)[1:]} == {USER}
    assert queue.model.rowCount() == 0
    assert store.read(verify_chain).ok


def test_a_key_acts_on_the_alarm_as_it_is_not_as_the_last_paced_re_read(
    queue, manager, store, clock, qtbot
):
    """In a flood the queue re-reads the open alarms only once its pacing allows: an alarm
    acknowledged meanwhile still shows "raised" in the last re-read. D must not refuse to
    dispatch to it; every action catches the queue up first."""
    alarm = raise_alarm(manager, clock)
    flush()
    # the last re-read was costly (a flood): the next one waits a long spacing
    queue._refresh_pacer._timer.start(60_000)
    manager.acknowledge(alarm.alarm_id, USER)  # answered meanwhile (by another key, the core)
    assert manager.flush()
    QCoreApplication.processEvents()  # the change arrives; the re-read is held back
    assert queue._refresh_pacer.pending
    assert queue.model.alarm_at(0).state == AlarmState.RAISED  # what the queue last read

    qtbot.keyClick(queue.table, Qt.Key.Key_D)  # at once, no waiting for the pacing
    assert queue.last_error is None, queue.last_error
    assert isinstance(queue.active_dialog, DispatchDialog)
    assert queue.model.alarm_at(0).state == AlarmState.ACKNOWLEDGED


def test_space_also_acknowledges_and_escape_cancels_a_dialog(queue, manager, store, clock, qtbot):
    alarm = raise_alarm(manager, clock)
    flush()
    key(queue.table, Qt.Key.Key_Space, qtbot)
    assert store.read(get_alarm, alarm.alarm_id).state == AlarmState.ACKNOWLEDGED
    key(queue.table, Qt.Key.Key_D, qtbot)
    dialog = queue.active_dialog
    assert isinstance(dialog, DispatchDialog)
    key(dialog.guard_list, Qt.Key.Key_Escape, qtbot)
    assert queue.active_dialog is None
    assert store.read(dispatches, alarm.alarm_id) == []
    assert event_kinds(store, alarm.alarm_id) == ["raise", "acknowledge"]


def test_illegal_actions_show_an_error_and_write_nothing(queue, manager, store, clock, qtbot):
    messages: list[str] = []
    queue.message.connect(messages.append)
    alarm = raise_alarm(manager, clock)
    flush()
    table = queue.table

    key(table, Qt.Key.Key_D, qtbot)  # a guard is not sent to an alarm nobody has looked at
    assert queue.active_dialog is None
    assert queue.last_error is not None
    assert "it is raised (acknowledge it first: A)" in queue.last_error
    assert queue.message_label.isVisible()
    assert queue.last_error in queue.message_label.text()
    key(table, Qt.Key.Key_R, qtbot)  # resolving a new alarm acknowledges it first: it says so
    dialog = queue.active_dialog
    assert isinstance(dialog, ResolveDialog)
    assert "acknowledges it first" in dialog.new_label.text()
    key(dialog.outcome_list, Qt.Key.Key_Escape, qtbot)
    assert queue.active_dialog is None
    key(table, Qt.Key.Key_G, qtbot)
    assert queue.last_error is not None
    assert "no guard is on the way" in queue.last_error
    assert event_kinds(store, alarm.alarm_id) == ["raise"]
    assert store.read(dispatches, alarm.alarm_id) == []

    key(table, Qt.Key.Key_A, qtbot)
    assert queue.last_error is None
    key(table, Qt.Key.Key_A, qtbot)  # the model refuses a second acknowledgement
    assert queue.last_error is not None
    assert "is acknowledged: it cannot become acknowledged" in queue.last_error
    assert messages[-1] == queue.last_error
    assert event_kinds(store, alarm.alarm_id) == ["raise", "acknowledge"]


def test_a_refusal_inside_a_dialog_is_shown_there(queue, manager, store, clock, qtbot) -> None:
    alarm = raise_alarm(manager, clock)
    manager.acknowledge(alarm.alarm_id, USER)
    flush()
    key(queue.table, Qt.Key.Key_D, qtbot)
    dialog = queue.active_dialog
    assert isinstance(dialog, DispatchDialog)
    manager.resolve(alarm.alarm_id, "false_alarm", "supervisor")  # another console was quicker
    key(dialog.guard_list, Qt.Key.Key_Return, qtbot)
    assert queue.active_dialog is dialog  # still open, saying why
    assert dialog.last_error is not None
    assert "no longer open" in dialog.last_error
    assert store.read(dispatches, alarm.alarm_id) == []
    key(dialog.guard_list, Qt.Key.Key_Escape, qtbot)
    assert queue.active_dialog is None


def test_resolve_needs_an_outcome(queue, manager, store, clock, qtbot) -> None:
    alarm = raise_alarm(manager, clock)
    manager.acknowledge(alarm.alarm_id, USER)
    flush()
    key(queue.table, Qt.Key.Key_R, qtbot)
    dialog = queue.active_dialog
    assert isinstance(dialog, ResolveDialog)
    assert dialog.selected_outcome() is None
    key(dialog.outcome_list, Qt.Key.Key_Return, qtbot)
    assert dialog.last_error is not None
    assert "pick an outcome first" in dialog.last_error
    assert queue.active_dialog is dialog
    assert store.read(get_alarm, alarm.alarm_id).state == AlarmState.ACKNOWLEDGED
    key(dialog.outcome_list, Qt.Key.Key_1, qtbot)
    key(dialog.note_edit, Qt.Key.Key_Return, qtbot)  # no note: it is optional
    record = store.read(get_alarm, alarm.alarm_id)
    assert (record.state, record.outcome, record.note) == (
        AlarmState.RESOLVED,
        Outcome.FALSE_ALARM,
        None,
    )


def test_the_column_fit_measures_again_only_what_changed(queue, manager, clock) -> None:
    """The fit keeps each row's widths while its alarm is the same object: after an alarm
    changes (acknowledged: its words and its font change) what it measures is what a fit
    from nothing measures, and the rows that did not change are not measured again."""
    subjects = ["milkmaid", "store", "night-watch"]
    raised = [raise_alarm(manager, clock, subject=s, track=i) for i, s in enumerate(subjects)]
    assert manager.flush(timeout_s=30)  # stored, snapshots too: the alarms change no more
    flush()
    queue.catch_up()
    assert queue.model.rowCount() == len(subjects)
    before = queue._text_widths()
    kept = dict(queue._row_widths)
    assert set(kept) == {a.alarm_id for a in raised}
    manager.acknowledge(raised[0].alarm_id, USER)
    assert manager.flush(timeout_s=30)
    flush()
    queue.catch_up()
    after = queue._text_widths()
    assert queue._row_widths[raised[0].alarm_id][0] is not kept[raised[0].alarm_id][0]
    for alarm in raised[1:]:  # unchanged: the very same measurement
        assert queue._row_widths[alarm.alarm_id] is kept[alarm.alarm_id]
    queue._row_widths.clear()
    assert queue._text_widths() == after  # as a fit from nothing
    assert after != before  # "Acknowledged" in a plain font is another width than "NEW"


def test_the_column_fit_counts_the_rows_in_sight(queue, site) -> None:
    """Like Qt's own fit to contents, the fit measures the rows on screen and near it: a
    long word far down the queue widens its column once it is scrolled to."""
    alarms = [_plain_alarm(site, i) for i in range(1, 201)]
    alarms[150] = replace(alarms[150], storage_fault="disk full")  # "NEW · NOT STORED"
    queue.model.set_alarms(alarms)
    queue.show_visible_rows()
    assert 150 not in queue.model.kept_rows()
    status_in_sight = queue._text_widths()[STATUS][0]
    flush()  # the table lays out its new rows
    queue.table.scrollTo(queue.model.index(150, STATUS))
    flush()
    assert 150 in queue.model.kept_rows()
    assert queue._text_widths()[STATUS][0] > status_in_sight
    assert queue.model.text_at(150, STATUS).endswith("NOT STORED")


def test_escalation_countdown(queue, manager, store, clock) -> None:
    alarm = raise_alarm(manager, clock)  # high: escalates after 30 s
    clock.advance(1)
    low = raise_alarm(
        manager, clock, rule="loitering", subject="corridor", camera="cam-corridor",
        severity="low", track=9,
    )  # fmt: skip
    flush()
    row_high = queue.model.row_of(alarm.alarm_id)
    row_low = queue.model.row_of(low.alarm_id)
    assert cell(queue, row_low, ESCALATION) == "5:00"  # 300 s
    assert queue.is_running  # one timer while the queue is shown

    clock.advance(11.5)
    queue.tick_countdown()
    assert cell(queue, row_high, ESCALATION) == "18 s"
    assert cell(queue, row_low, ESCALATION) == "4:49"
    clock.advance(16.8)
    queue.tick_countdown()  # the view's countdown timer, each second
    assert cell(queue, row_high, ESCALATION) == "1 s"
    clock.advance(0.7)
    queue.tick_countdown()
    assert cell(queue, row_high, ESCALATION) == "ESCALATED"  # due, even before the core's tick
    manager.tick()
    flush()
    row_high = queue.model.row_of(alarm.alarm_id)
    assert queue.model.alarm_at(row_high).escalated
    assert cell(queue, row_high, ESCALATION) == "ESCALATED"
    assert "escalate" in event_kinds(store, alarm.alarm_id)
    queue.select_alarm(alarm.alarm_id)
    queue.acknowledge_selected()
    settle()
    row_high = queue.model.row_of(alarm.alarm_id)
    assert cell(queue, row_high, ESCALATION) == "escalated earlier"

    queue.hide()
    assert not queue.is_running  # hidden: nothing to count down for


def _plain_alarm(site: Site, alarm_id: int, **changes: object) -> Alarm:
    alarm = Alarm(
        alarm_id, site.cameras[alarm_id % len(site.cameras)].id, "proximity", "somewhere",
        Severity.HIGH, AlarmState.RAISED, START, START, START, (3,), 0.4, 0.4,
    )  # fmt: skip
    return replace(alarm, **changes)  # type: ignore[arg-type]


def _cells(model: AlarmQueueModel) -> list[list[tuple[object, ...]]]:
    """What every cell holds, in the roles a paint and a screen reader ask for."""
    roles = (
        Qt.ItemDataRole.DisplayRole,
        Qt.ItemDataRole.ToolTipRole,
        Qt.ItemDataRole.AccessibleTextRole,
        Qt.ItemDataRole.ForegroundRole,
        Qt.ItemDataRole.BackgroundRole,
    )
    return [
        [
            (
                *(model.index(row, column).data(role) for role in roles),
                model.index(row, column).data(Qt.ItemDataRole.FontRole) is not None,
            )
            for column in range(model.columnCount())
        ]
        for row in range(model.rowCount())
    ]


def test_a_new_order_moves_only_the_rows_that_changed_place(
    qapp: QApplication, site: Site, clock: FakeClock
) -> None:
    """The rows follow each new order of the open alarms with as few row moves as keep the
    rest in place, and hold what a model filled from nothing holds."""
    model = AlarmQueueModel(site, clock)
    alarms = [_plain_alarm(site, i) for i in range(1, 9)]
    model.set_alarms(alarms)
    first = QPersistentModelIndex(model.index(0, STATUS))  # alarm 1's row
    moves: list[str] = []
    model.rowsRemoved.connect(lambda *_: moves.append("removed"))
    model.rowsInserted.connect(lambda *_: moves.append("inserted"))

    acknowledged = replace(alarms[2], state=AlarmState.ACKNOWLEDGED)  # 3 goes to the end
    newest = _plain_alarm(site, 9)
    order = [newest, *alarms[:2], alarms[3], *alarms[5:], acknowledged]  # 5 resolved
    model.set_alarms(order)

    assert [model.alarm_at(r).alarm_id for r in range(model.rowCount())] == [
        9, 1, 2, 4, 6, 7, 8, 3,
    ]  # fmt: skip
    assert sorted(moves) == ["inserted", "inserted", "removed", "removed"]
    assert first.isValid()
    assert first.row() == 1  # alarm 1's row kept its items
    fresh = AlarmQueueModel(site, clock)
    fresh.set_alarms(order)
    assert _cells(model) == _cells(fresh)

    rng = random.Random(7)
    pool = [_plain_alarm(site, i) for i in range(1, 40)]
    for _ in range(40):
        chosen = rng.sample(pool, rng.randint(0, 25))
        chosen = [
            replace(a, state=AlarmState.ACKNOWLEDGED) if rng.random() < 0.3 else a for a in chosen
        ]
        model.set_alarms(chosen)
        fresh = AlarmQueueModel(site, clock)
        fresh.set_alarms(chosen)
        assert [a.alarm_id for a in model.alarms()] == [a.alarm_id for a in chosen]
        assert [model.row_of(a.alarm_id) for a in chosen] == list(range(len(chosen)))
        assert _cells(model) == _cells(fresh)


def test_painting_the_queue_calls_no_python(queue, site) -> None:
    """A paint reads every cell from Qt's own items: no call back into the model's Python,
    which in a burst waited for the interpreter lock on every role of every cell."""
    queue.model.set_alarms(
        [
            _plain_alarm(site, i, state=AlarmState.ACKNOWLEDGED if i % 3 else AlarmState.RAISED)
            for i in range(1, 13)
        ]
    )
    flush()
    assert queue.model.rowCount() == 12
    here = str(Path(queue_module.__file__).resolve())
    called: list[str] = []

    def profile(frame, event, _arg) -> None:  # type: ignore[no-untyped-def]
        if event == "call" and frame.f_code.co_filename == here:
            called.append(frame.f_code.co_name)

    sys.setprofile(profile)
    try:
        queue.model.alarm_at(0)  # the hook sees the model's Python when it runs
        seen = list(called)
        queue.table.viewport().repaint()
        queue.table.horizontalHeader().viewport().repaint()
    finally:
        sys.setprofile(None)
    assert seen == ["alarm_at"]
    assert called == ["alarm_at"], f"painting called {sorted(set(called[1:]))}"


def test_only_the_rows_in_sight_are_written_and_read_their_snapshots(
    queue, tmp_path: Path, site, clock
) -> None:
    """A flood costs what is on screen: the rows in sight (and a few below) are written and
    read their snapshots from disk; the others when they are scrolled to. What a row says is
    still known to the column fit without being written."""
    alarms = []
    for i in range(1, 201):
        path = tmp_path / f"snapshot-{i}.jpg"
        path.write_bytes(jpeg())
        alarms.append(_plain_alarm(site, i, snapshot_path=str(path)))
    queue.model.set_alarms(alarms)
    queue.show_visible_rows()
    loads = queue.model.thumbnails.loads
    on_screen = queue.table.viewport().height() // queue.table.rowHeight(0) + 1
    assert 1 <= loads <= on_screen + WRITTEN_AHEAD + 1
    last = queue.model.index(199, STATUS)
    assert last.data() is None  # not written: out of sight
    assert queue.model.index(199, SNAPSHOT).data(Qt.ItemDataRole.DecorationRole) is None
    assert queue.model.text_at(199, STATUS) == "NEW"  # known without being written
    acknowledged = [replace(a, state=AlarmState.ACKNOWLEDGED) for a in alarms]
    queue.model.set_alarms(acknowledged)  # every alarm changed: the rows in sight rewritten
    assert cell(queue, 0, STATUS) == "Acknowledged"
    assert last.data() is None
    queue.table.scrollToBottom()
    flush()
    assert last.data() == "Acknowledged"
    thumb = queue.model.index(199, SNAPSHOT).data(Qt.ItemDataRole.DecorationRole)
    assert isinstance(thumb, QPixmap)
    assert not thumb.isNull()
    assert loads < queue.model.thumbnails.loads < 200


def test_a_re_read_rewrites_the_changed_rows_and_the_countdown_the_time_left(
    qapp: QApplication, site: Site, clock: FakeClock
) -> None:
    """The view tells the model its rows after every re-read (ten a second in a burst): the
    rows whose alarm changed are rewritten, not every row in sight. The time left moves on
    with the countdown's tick, and at once for rows a scroll brings into sight."""
    from ui.alarm_queue import AlarmQueueModel

    model = AlarmQueueModel(site, clock)
    alarms = [_plain_alarm(site, i) for i in range(1, 201)]
    model.set_alarms(alarms)
    model.show_rows(0, 19)
    writes: list[tuple[int, bool]] = []
    write_row = model._write_row

    def counting(row: int, *, clocked: bool = False) -> None:
        writes.append((row, clocked))
        write_row(row, clocked=clocked)

    model._write_row = counting  # type: ignore[method-assign]
    left = model.index(5, ESCALATION).data()
    clock.advance(5)
    alarms[3] = replace(alarms[3], state=AlarmState.ACKNOWLEDGED)
    model.set_alarms(alarms)
    model.show_rows(0, 19)  # the same rows in sight, as after a re-read
    assert writes == [(3, False)]  # the acknowledged one only
    assert model.index(5, ESCALATION).data() == left  # the countdown's to move on

    writes.clear()
    model.refresh_countdown()  # the countdown's tick: the time left of every row in sight
    assert sorted(writes) == [(row, True) for row in range(20)]
    assert model.index(5, ESCALATION).data() == model.text_of(alarms[5], ESCALATION) != left

    writes.clear()
    model.show_rows(100, 119)  # a scroll to rows never written: written whole
    assert sorted(writes) == [(row, False) for row in range(100, 120)]
    writes.clear()
    clock.advance(5)
    model.show_rows(0, 19)  # and back: the time left of the rows in sight rewritten at once
    assert sorted(writes) == [(row, True) for row in range(20)]
    assert model.index(5, ESCALATION).data() == model.text_of(alarms[5], ESCALATION)


def test_escalation_text_without_a_view(manager, site, clock) -> None:
    alarm = raise_alarm(manager, clock, severity="medium", subject="bronze-dancer")
    at = START.timestamp()
    assert escalation_text(alarm, site, at) == "1:00"
    assert escalation_text(alarm, site, at + 59.2) == "1 s"
    assert escalation_text(alarm, site, at + 60) == "ESCALATED"
    assert escalation_text(replace(alarm, state=AlarmState.ACKNOWLEDGED), site, at + 90) == ""


def test_snapshot_thumbnails_are_read_once(tmp_path: Path) -> None:
    path = tmp_path / "snap.jpg"
    path.write_bytes(jpeg(640, 480))
    thumbs = SnapshotThumbnails(capacity=2)
    first = thumbs.get(str(path))
    assert first is not None
    assert (first.width(), first.height()) == (53, 40)  # 4:3 kept
    assert thumbs.get(str(path)) is first
    assert thumbs.get(str(tmp_path / "gone.jpg")) is None
    assert thumbs.get(str(tmp_path / "gone.jpg")) is None
    assert thumbs.loads == 2
    assert thumbs.get(None) is None
    assert thumbs.loads == 2


def test_a_thumbnail_is_decoded_small_and_shows_the_snapshot(tmp_path: Path, caplog) -> None:
    """Decoded at thumbnail size (libjpeg skips detail), the thumbnail still shows what the
    snapshot shows: a real frame's thumbnail is within a few grey levels of the frame scaled
    down whole, colour channels in their place. A file that is not an image is None, and the
    log names the file."""
    frame = first_frames("vtest.avi", 1)[0]
    path = tmp_path / "snap.jpg"
    assert cv2.imwrite(str(path), frame, [cv2.IMWRITE_JPEG_QUALITY, 85])
    thumb = SnapshotThumbnails().get(str(path))
    assert thumb is not None
    image = thumb.toImage().convertToFormat(QImage.Format.Format_RGB888)
    assert (image.width(), image.height()) == (53, 40)  # 768x576 is 4:3
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), -1)
    shown = rows[:, : image.width() * 3].reshape(image.height(), image.width(), 3)
    whole = cv2.cvtColor(
        cv2.resize(frame, (53, 40), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB
    )
    assert np.abs(shown.astype(np.int16) - whole.astype(np.int16)).mean() < 4
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a picture" * 50)
    with caplog.at_level("WARNING", logger="ui.alarm_queue"):
        assert SnapshotThumbnails().get(str(broken)) is None
    assert "broken.jpg not readable" in caplog.text


def test_the_actions_are_offered_for_menus_and_buttons(queue) -> None:
    names = [a.text() for a in queue.menu().actions()]
    assert names == ["&Acknowledge", "&Dispatch guard…", "&Guard arrived", "&Resolve…", "&Details…"]
    keys = [[s.toString() for s in a.shortcuts()] for a in queue.alarm_actions]
    assert keys == [["A", "Space"], ["D"], ["G"], ["R"]]
    assert [s.toString() for s in queue.detail_action.shortcuts()] == ["Return", "Enter"]
    assert queue.table.actions() == [*queue.alarm_actions, queue.detail_action]  # context menu


# --------------------------------------------------------------------------- the map


def test_location_map_highlights_the_target(qtbot, manager, site, clock) -> None:
    zone_alarm = raise_alarm(manager, clock, rule="after_hours", subject="east-gallery")
    camera_alarm = raise_alarm(
        manager, clock, rule="camera_health", subject="cam-east", severity="medium", track=None
    )
    target = alarm_target(site, zone_alarm)
    assert target.floor_id == "ground"
    assert target.outline == site.zone("east-gallery").plan_polygon
    assert target.camera_position == (1120, 520)
    assert alarm_target(site, camera_alarm).outline is None

    images: list[QImage] = []
    for alarm in (zone_alarm, camera_alarm):
        view = AlarmLocationMap(site, alarm)
        qtbot.addWidget(view)
        view.resize(480, 320)
        images.append(view.grab().toImage())
        centre = view.plan_transform().map(
            *np.mean(np.array(site.zone("east-gallery").plan_polygon), axis=0).tolist()
        )
        view.close()
    x, y = round(centre[0]), round(centre[1])
    highlighted, plain = (QImage(i).pixelColor(x, y) for i in images)
    # the zone is filled with the alarm's (red) colour
    assert highlighted.red() - highlighted.blue() > plain.red() - plain.blue() + 30


# --------------------------------------------------------------------------- the sound


def alarm_of(alarm_id: int, severity: str, *, state: AlarmState = AlarmState.RAISED) -> Alarm:
    return Alarm(
        alarm_id, "cam-east", "proximity", "milkmaid", severity, state, START, START, START,
        (1,), None, None,
    )  # fmt: skip


def cues(policy: SoundPolicy, clock: FakeClock, seconds: float, step: float = 0.5) -> list:
    """Every cue the policy asks for while `seconds` pass, as (time offset, cue)."""
    heard = []
    start = clock.monotonic()
    while clock.monotonic() - start <= seconds + 1e-9:
        decision = policy.tick(clock.monotonic())
        if decision.cue is not None:
            heard.append((round(clock.monotonic() - start, 3), decision.cue))
        clock.advance(step)
    return heard


def test_sound_sounds_each_new_alarm_at_once_then_repeats(clock) -> None:
    policy = SoundPolicy()
    policy.set_alarms([alarm_of(1, "medium")])
    assert cues(policy, clock, 45) == [(0, Cue("medium")), (20, Cue("medium")), (40, Cue("medium"))]
    policy.set_alarms([alarm_of(1, "medium"), alarm_of(2, "high")])
    # the new high alarm sounds at once, and its cue (the most severe) repeats every 10 s
    assert cues(policy, clock, 21) == [(0, Cue("high")), (10, Cue("high")), (20, Cue("high"))]
    policy.set_alarms([alarm_of(1, "medium", state=AlarmState.ACKNOWLEDGED)])
    assert cues(policy, clock, 120) == []  # acknowledged: silence


def test_sound_is_louder_and_faster_once_escalated(clock) -> None:
    policy = SoundPolicy()
    policy.set_alarms([alarm_of(1, "low")])
    assert cues(policy, clock, 5) == [(0, Cue("low"))]
    policy.set_alarms([replace(alarm_of(1, "low"), escalated=True)])
    heard = cues(policy, clock, 20)
    assert heard == [(0, Cue("low", True)), (10, Cue("low", True)), (20, Cue("low", True))]
    assert policy.settings.escalated_repeat_s["low"] < policy.settings.repeat_s["low"]


def test_mute_times_out_and_says_so(clock) -> None:
    policy = SoundPolicy(SoundSettings(mute_s=120))
    policy.set_alarms([alarm_of(1, "high")])
    assert policy.tick(clock.monotonic()).cue == Cue("high")
    policy.mute(clock.monotonic())
    assert cues(policy, clock, 119) == []  # 119.5 s of silence
    assert policy.muted(clock.monotonic())
    assert policy.mute_remaining_s(clock.monotonic()) == pytest.approx(0.5)
    clock.advance(0.5)
    decision = policy.tick(clock.monotonic())
    assert decision.cue == Cue("high")
    assert decision.notices == ("Alarm sound is back on: the mute timed out.",)
    assert not policy.muted(clock.monotonic())


def test_a_new_alarm_ends_the_mute(clock) -> None:
    policy = SoundPolicy()
    policy.set_alarms([alarm_of(1, "low")])
    policy.tick(clock.monotonic())
    policy.mute(clock.monotonic())
    clock.advance(30)
    policy.set_alarms([alarm_of(1, "low"), replace(alarm_of(1, "low"), escalated=True)])
    assert policy.tick(clock.monotonic()).cue is None  # an escalation does not break the mute
    policy.set_alarms([alarm_of(1, "low"), alarm_of(2, "medium")])
    decision = policy.tick(clock.monotonic())
    assert decision.cue == Cue("medium")
    assert decision.notices == ("Alarm sound is back on: a new alarm was raised.",)

    strict = SoundPolicy(SoundSettings(new_alarm_ends_mute=False))
    strict.mute(clock.monotonic())
    strict.set_alarms([alarm_of(3, "high")])
    assert strict.tick(clock.monotonic()).cue is None


def test_sound_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="lacks severities"):
        SoundSettings(repeat_s={"high": 5})
    with pytest.raises(ValueError, match="mute_s"):
        SoundSettings(mute_s=0)


class RecordingOutput:
    def __init__(self) -> None:
        self.played: list[Cue] = []
        self.closed = False

    def play(self, cue: Cue) -> None:
        self.played.append(cue)

    def close(self) -> None:
        self.closed = True


def test_player_sounds_mutes_and_unmutes_itself(clock) -> None:
    output = RecordingOutput()
    player = AlarmSoundPlayer(clock, settings=SoundSettings(mute_s=90), output=output)
    notices: list[str] = []
    muted: list[bool] = []
    player.notice.connect(notices.append)
    player.mute_changed.connect(muted.append)
    try:
        player.set_alarms([alarm_of(1, "high")])
        assert output.played == [Cue("high")]
        player.mute_action.trigger()  # the menu item / Ctrl+M
        assert player.muted
        assert notices[-1] == "Alarm sound muted for 1:30."
        clock.advance(60)
        player.tick()
        assert output.played == [Cue("high")]
        clock.advance(30)
        player.tick()
        assert not player.muted
        assert not player.mute_action.isChecked()
        assert notices[-1] == "Alarm sound is back on: the mute timed out."
        assert muted == [True, False]
        assert output.played == [Cue("high"), Cue("high")]
        player.start()
        assert player.is_running
    finally:
        player.close()
    assert not player.is_running
    assert output.closed
    player.deleteLater()
    flush()


def test_tones_differ_per_severity_and_are_written_once(tmp_path: Path) -> None:
    bank = ToneBank(tmp_path / "sounds")
    kinds = [Cue(s, e) for s in ("high", "medium", "low") for e in (False, True)]
    paths = {cue: bank.path(cue) for cue in kinds}
    assert len(set(paths.values())) == 6
    stamps = {cue: p.stat().st_mtime_ns for cue, p in paths.items()}
    assert {cue: bank.path(cue) for cue in kinds} == paths
    assert {cue: p.stat().st_mtime_ns for cue, p in paths.items()} == stamps  # not rewritten

    def read(cue: Cue) -> np.ndarray:
        with wave.open(str(paths[cue])) as wav:
            assert (wav.getnchannels(), wav.getsampwidth()) == (1, 2)
            rate = wav.getframerate()
            return np.frombuffer(wav.readframes(wav.getnframes()), "<i2").astype(float), rate

    def pitch(cue: Cue) -> float:
        samples, rate = read(cue)
        spectrum = np.abs(np.fft.rfft(samples))
        return float(np.fft.rfftfreq(samples.size, 1 / rate)[spectrum.argmax()])

    assert pitch(Cue("high")) in (pytest.approx(880, abs=15), pytest.approx(1175, abs=15))
    assert pitch(Cue("medium")) == pytest.approx(660, abs=10)
    assert pitch(Cue("low")) == pytest.approx(440, abs=10)
    for severity in ("high", "medium", "low"):
        normal, _ = read(Cue(severity))
        loud, _ = read(Cue(severity, True))
        assert np.abs(loud).max() > np.abs(normal).max() * 1.3  # louder
        assert bank.pattern(Cue(severity, True)).beeps > bank.pattern(Cue(severity)).beeps


def test_no_audio_device_logs_once_and_carries_on(tmp_path: Path, caplog) -> None:
    owner = AlarmSoundPlayer(FakeClock(START), output=RecordingOutput())
    output = SoundEffectOutput(ToneBank(tmp_path), owner, has_output=lambda: False)
    with caplog.at_level("WARNING", logger="ui.sound"):
        output.play(Cue("high"))
        output.play(Cue("low", True))
    warnings = [r.getMessage() for r in caplog.records if r.name == "ui.sound"]
    assert warnings == ["alarm sound is off: no audio output device (alarms are still shown)"]
    assert output.silent_reason == "no audio output device"
    output.close()
    owner.close()
    owner.deleteLater()
    flush()


def test_the_real_output_carries_on_whatever_this_machine_has(tmp_path: Path) -> None:
    """With QtMultimedia for real: on a machine without sound (CI) it logs once and goes on;
    with sound it plays. Either way the cue is decided and signalled."""
    clock = FakeClock(START)
    player = AlarmSoundPlayer(clock, cache_dir=tmp_path)
    played: list[Cue] = []
    player.cue_played.connect(played.append)
    try:
        player.set_alarms([alarm_of(1, "high")])
        clock.advance(10)
        player.tick()
        flush()
    finally:
        player.close()
    assert played == [Cue("high"), Cue("high")]
    player.deleteLater()
    flush()


# --------------------------------------------------------------------------- behaviour advisories


def advisory(clock: FakeClock) -> Finding:
    detail = BehaviourDetail(
        box=(100.0, 200.0, 150.0, 400.0),
        reason="stayed 9 min near The Milkmaid; usual is under 1 min (+1 more)",
        reasons=(
            "stayed 9 min near The Milkmaid; usual is under 1 min",
            "stayed 10 min in East gallery; usual is under 2 min",
        ),
        kinds=("dwell_object", "dwell_room"),
        score=2.4,
        visitor="visitor 17",
        room="east-gallery",
        room_name="East gallery",
    )
    return Finding("behaviour", "cam-east", "visitor-17", 5, Severity.LOW, clock.now(), 1.0, detail)


def test_an_advisory_shows_its_reason_and_n_dismisses_it_as_normal(
    queue, manager, store, clock, qtbot
) -> None:
    (proximity,) = manager.ingest([finding(clock)])
    clock.advance(2)
    (alarm,) = manager.ingest([advisory(clock)])
    settle()
    rows = {cell(queue, r, PLACE): r for r in range(queue.model.rowCount())}
    row = rows["visitor 17 in East gallery"]
    assert cell(queue, row, RULE) == (
        "Unusual behaviour: stayed 9 min near The Milkmaid; usual is under 1 min (+1 more)"
    )
    assert cell(queue, row, SEVERITY) == "LOW"
    tip = cell(queue, row, RULE, Qt.ItemDataRole.ToolTipRole)
    assert "stayed 10 min in East gallery; usual is under 2 min" in tip
    assert "N: dismiss as normal" in tip
    # N on the proximity alarm: refused with the reason, nothing written
    queue.table.selectRow(rows["The Milkmaid"])
    key(queue.table, Qt.Key.Key_N, qtbot)
    assert "only an advisory about unusual behaviour" in (queue.last_error or "")
    assert store.read(get_alarm, proximity.alarm_id).state == AlarmState.RAISED
    # N on the advisory: acknowledged and resolved as a false alarm, audited as a dismissal
    queue.table.selectRow(row)
    key(queue.table, Qt.Key.Key_N, qtbot)
    record = store.read(get_alarm, alarm.alarm_id)
    assert record.state == AlarmState.RESOLVED
    assert record.outcome == Outcome.FALSE_ALARM
    assert event_kinds(store, alarm.alarm_id) == ["raise", "acknowledge", "resolve"]
    (dismissal,) = [e for e in store.read(audit_entries) if e.action == "behaviour.dismiss"]
    assert dismissal.user == USER
    assert dismissal.detail["advisory"] == advisory(clock).detail.reason  # type: ignore[union-attr]
    assert store.read(verify_chain).ok


def test_the_model_keeps_a_cells_words_only_while_its_alarm_is_the_same(
    qapp: QApplication, site: Site, clock: FakeClock
) -> None:
    """Cells are worked out once per alarm value (a flood asks each cell many times), yet a
    changed alarm, a store fault and the passing time all show at once."""
    from ui.alarm_queue import AlarmQueueModel

    raised = Alarm(
        7, site.cameras[0].id, "proximity", "somewhere", Severity.HIGH, AlarmState.RAISED,
        START, START, START, (3,), 0.4, 0.4,
    )  # fmt: skip
    model = AlarmQueueModel(site, clock)
    model.set_alarms([raised])
    status, escalation = model.index(0, STATUS), model.index(0, ESCALATION)
    assert status.data() == "NEW"
    assert status.data(Qt.ItemDataRole.FontRole).bold()
    left = escalation.data()
    assert left not in ("", "ESCALATED")
    clock.advance(61)
    assert escalation.data() == left  # what the last countdown tick wrote...
    model.refresh_countdown()
    assert escalation.data() not in ("", left)  # ...and the next tick moves it on
    model.set_alarms([replace(raised, state=AlarmState.ACKNOWLEDGED)])  # same row, new value
    assert status.data() != "NEW"
    assert status.data(Qt.ItemDataRole.FontRole) is None
    model.set_alarms([replace(raised, state=AlarmState.ACKNOWLEDGED, unsaved=1)])
    before = status.data()
    model.store_fault = "disk full"
    assert status.data() == f"{before} · not stored yet"
    model.store_fault = None
    assert status.data() == before
