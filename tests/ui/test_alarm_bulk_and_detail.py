"""Several alarms at once, and one alarm in detail, offscreen.

The same desk as tests/ui/test_alarm_queue.py: a real AlarmManager over a real SQLite file, the
example site and a FakeClock, behind a real core loop; the queue posts one action per alarm
through the bridge and the core answers each. The detail reads the alarm's steps through a real
`StoreReader` thread, never on the GUI thread.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication

from console.alarms import Alarm, AlarmManager
from console.clock import FakeClock
from console.focus_wall import FocusWall
from console.reader import StoreReader
from console.site_file import Site
from console.store import AlarmState, Outcome, Store, alarm_events, get_alarm
from tests.ui.test_alarm_queue import (  # the desk those tests use (fixtures and helpers)
    START,
    USER,
    Desk,
    cell,
    clock,  # noqa: F401
    desk,  # noqa: F401
    event_kinds,
    finding,
    flush,
    jpeg,
    key,
    manager,  # noqa: F401
    queue,  # noqa: F401
    raise_alarm,
    settle,
    site,  # noqa: F401
    store,  # noqa: F401
)
from ui.alarm_detail import AlarmDetail
from ui.alarm_queue import CAMERA, PEOPLE, STATUS, AlarmQueueView
from ui.alarm_words import ShownState, shown_state
from ui.dispatch_dialog import DispatchDialog, ResolveDialog, alarm_summary
from ui.floor_plan_view import FloorPlanView
from ui.focus_wall_view import FocusWallView


class KeyCount:
    """Presses keys like the monitor does and counts them."""

    def __init__(self, qtbot) -> None:
        self.qtbot = qtbot
        self.pressed = 0

    def __call__(self, widget, k: Qt.Key, modifier=Qt.KeyboardModifier.NoModifier) -> None:
        self.pressed += 1
        self.qtbot.keyClick(widget, k, modifier)
        settle()


@pytest.fixture
def reader(store: Store, desk: Desk) -> Iterator[StoreReader]:  # noqa: F811
    """The runtime's reader thread over the desk's store, serving the bridge's `ask`."""
    reading = StoreReader(store)
    reading.start()
    desk.bridge.serve_queries(reading.submit)
    yield reading
    reading.stop()


def several(manager: AlarmManager, clock: FakeClock, count: int) -> list[Alarm]:  # noqa: F811
    """`count` alarms on different objects and cameras (each its own incident)."""
    places = [
        ("milkmaid", "cam-east"),
        ("night-watch", "cam-west"),
        ("bronze-dancer", "cam-corridor"),
        ("milkmaid", "cam-west"),
        ("night-watch", "cam-east"),
        ("bronze-dancer", "cam-east"),
    ]
    alarms = []
    for i in range(count):
        subject, camera = places[i]
        alarms.append(raise_alarm(manager, clock, subject=subject, camera=camera, track=10 + i))
        clock.advance(1)
    return alarms


def all_selected(
    queue: AlarmQueueView,  # noqa: F811
    manager: AlarmManager,  # noqa: F811
    clock: FakeClock,  # noqa: F811
    qtbot,
    *,
    acknowledged: int,
) -> list[Alarm]:
    """That many alarms, acknowledged, all selected with Ctrl+A."""
    alarms = several(manager, clock, acknowledged)
    for alarm in alarms:
        manager.acknowledge(alarm.alarm_id, USER)
    flush()
    qtbot.keyClick(queue.table, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    return alarms


def selected_ids(queue: AlarmQueueView) -> set[int]:  # noqa: F811
    return {a.alarm_id for a in queue.selected_alarms()}


# --------------------------------------------------------------------------- several at once


def test_a_night_of_false_alarms_is_cleared_with_four_keys(
    queue: AlarmQueueView,  # noqa: F811
    manager: AlarmManager,  # noqa: F811
    store: Store,  # noqa: F811
    clock: FakeClock,  # noqa: F811
    qtbot,
) -> None:
    alarms = several(manager, clock, 6)
    manager.acknowledge(alarms[1].alarm_id, USER)  # one was looked at during the night
    flush()
    press = KeyCount(qtbot)
    table = queue.table

    press(table, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)  # select all
    assert selected_ids(queue) == {a.alarm_id for a in alarms}
    assert "6 selected" in queue.summary_label.text()
    press(table, Qt.Key.Key_R)
    dialog = queue.active_dialog
    assert isinstance(dialog, ResolveDialog)
    assert dialog.windowTitle() == "Resolve 6 alarms"
    assert sorted(dialog.listed_alarm_ids()) == sorted(a.alarm_id for a in alarms)
    assert dialog.alarm_list.count() == 6  # it lists them ...
    assert dialog.alarm_list.item(0).text() == alarm_summary(queue._site, dialog.alarms[0])
    assert "5 of them are NEW" in dialog.new_label.text()  # ... and says what else it does
    press(dialog.outcome_list, Qt.Key.Key_1)  # false alarm, on to the note
    press(dialog.note_edit, Qt.Key.Key_Return)
    assert press.pressed == 4
    assert queue.active_dialog is None
    assert queue.model.rowCount() == 0
    assert queue.message_label.text() == "6 alarms resolved: False alarm"

    for alarm in alarms:  # each alarm its own step, in the monitor's name
        record = store.read(get_alarm, alarm.alarm_id)
        assert (record.state, record.outcome) == (AlarmState.RESOLVED, Outcome.FALSE_ALARM)
        kinds = event_kinds(store, alarm.alarm_id)
        assert kinds == ["raise", "acknowledge", "resolve"]
        assert {e.user for e in store.read(alarm_events, alarm.alarm_id)[1:]} == {USER}


def test_acknowledge_acts_on_each_selected_alarm_and_shows_each_refusal(
    queue: AlarmQueueView,  # noqa: F811
    manager: AlarmManager,  # noqa: F811
    store: Store,  # noqa: F811
    clock: FakeClock,  # noqa: F811
    qtbot,
) -> None:
    alarms = several(manager, clock, 4)
    handled, reflagged, gone, fresh = alarms
    manager.acknowledge(handled.alarm_id, USER)
    # the re-flagged one: acknowledged, its person left, then someone came back
    manager.acknowledge(reflagged.alarm_id, USER)
    clock.advance(10)
    manager.tick()
    manager.ingest([finding(clock, subject="night-watch", camera="cam-west", track=99)])
    flush()
    row = queue.model.row_of(reflagged.alarm_id)
    assert cell(queue, row, STATUS) == "NEW ACTIVITY"
    bold = cell(queue, row, CAMERA, Qt.ItemDataRole.FontRole)
    assert isinstance(bold, QFont)
    assert bold.bold()

    table = queue.table
    qtbot.keyClick(table, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    # another console handles one of them just before the key is pressed here
    manager.acknowledge(gone.alarm_id, "supervisor")
    manager.resolve(gone.alarm_id, "false_alarm", "supervisor")
    qtbot.keyClick(table, Qt.Key.Key_A)  # the queue has not heard of it yet: it asks the core
    settle()

    assert event_kinds(store, fresh.alarm_id) == ["raise", "acknowledge"]
    assert event_kinds(store, reflagged.alarm_id)[-2:] == ["activity", "seen"]
    assert event_kinds(store, handled.alarm_id) == ["raise", "acknowledge"]  # left as it was
    assert queue.last_error is not None  # the core's refusal, for that alarm, in words
    assert f"Cannot acknowledge alarm {gone.alarm_id}: alarm {gone.alarm_id} is resolved" in (
        queue.last_error
    )
    assert "2 alarms acknowledged; 1 acknowledged already" in queue.last_error
    assert queue.message_label.isVisible()
    assert all(a.acknowledged for a in manager.open_alarms())


def test_shift_arrows_extend_and_the_selection_survives_a_new_alarm(
    queue: AlarmQueueView,  # noqa: F811
    manager: AlarmManager,  # noqa: F811
    clock: FakeClock,  # noqa: F811
    qtbot,
) -> None:
    several(manager, clock, 3)
    flush()
    table = queue.table
    queue.select_alarm(queue.model.alarm_at(0).alarm_id)
    qtbot.keyClick(table, Qt.Key.Key_Down, Qt.KeyboardModifier.ShiftModifier)
    first_two = {queue.model.alarm_at(r).alarm_id for r in (0, 1)}
    assert selected_ids(queue) == first_two
    assert "2 selected" in queue.summary_label.text()
    # a new alarm reorders the queue (it goes on top): the same alarms stay selected
    raise_alarm(manager, clock, subject="bronze-dancer", camera="cam-west", track=50)
    flush()
    assert queue.model.rowCount() == 4
    assert selected_ids(queue) == first_two
    # Ctrl+arrows move without selecting, Ctrl+Space adds the row
    qtbot.keyClick(table, Qt.Key.Key_Down, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(table, Qt.Key.Key_Space, Qt.KeyboardModifier.ControlModifier)
    assert len(selected_ids(queue)) == 3


def test_resolve_refused_for_one_alarm_says_which_and_keeps_the_rest(
    queue: AlarmQueueView,  # noqa: F811
    manager: AlarmManager,  # noqa: F811
    store: Store,  # noqa: F811
    clock: FakeClock,  # noqa: F811
    qtbot,
) -> None:
    alarms = all_selected(queue, manager, clock, qtbot, acknowledged=3)
    table = queue.table
    key(table, Qt.Key.Key_R, qtbot)
    dialog = queue.active_dialog
    assert isinstance(dialog, ResolveDialog)
    key(dialog.outcome_list, Qt.Key.Key_2, qtbot)  # visitor warned
    qtbot.keyClicks(dialog.note_edit, "school group")
    quicker = alarms[0]
    manager.resolve(quicker.alarm_id, "intervention", "supervisor")  # another console
    key(dialog.note_edit, Qt.Key.Key_Return, qtbot)

    assert queue.active_dialog is dialog  # still open, for the one it could not resolve
    assert dialog.listed_alarm_ids() == [quicker.alarm_id]
    assert dialog.last_error is not None
    assert f"Alarm {quicker.alarm_id}: cannot resolve: alarm {quicker.alarm_id} is resolved" in (
        dialog.last_error
    )
    assert "2 of them were resolved." in dialog.last_error
    for alarm in alarms[1:]:
        record = store.read(get_alarm, alarm.alarm_id)
        assert (record.outcome, record.note) == (Outcome.VISITOR_WARNED, "school group")
    assert store.read(get_alarm, quicker.alarm_id).outcome == Outcome.INTERVENTION
    key(dialog.outcome_list, Qt.Key.Key_Escape, qtbot)
    assert queue.active_dialog is None
    assert queue.message_label.text() == "2 of the alarms resolved; 1 left open"


def test_dispatch_and_arrival_act_on_the_current_row_and_say_so(
    queue: AlarmQueueView,  # noqa: F811
    manager: AlarmManager,  # noqa: F811
    store: Store,  # noqa: F811
    clock: FakeClock,  # noqa: F811
    qtbot,
) -> None:
    alarms = all_selected(queue, manager, clock, qtbot, acknowledged=3)
    table = queue.table
    current = queue.selected_alarm()
    assert current is not None
    key(table, Qt.Key.Key_D, qtbot)
    dialog = queue.active_dialog
    assert isinstance(dialog, DispatchDialog)
    assert dialog.alarm.alarm_id == current.alarm_id
    assert "D acts on the current row only: the other 2 selected alarms are left" in (
        queue.message_label.text()
    )
    key(dialog.guard_list, Qt.Key.Key_1, qtbot)
    key(dialog.guard_list, Qt.Key.Key_Return, qtbot)
    row = queue.model.row_of(current.alarm_id)
    assert cell(queue, row, STATUS) == "Guard sent"
    assert queue.selected_alarm().alarm_id == current.alarm_id
    assert len(queue.selected_alarms()) == 3  # the selection is kept
    key(table, Qt.Key.Key_G, qtbot)
    row = queue.model.row_of(current.alarm_id)
    assert cell(queue, row, STATUS) == "Guard on scene"
    assert "G acts on the current row only" in queue.message_label.text()
    others = [a for a in alarms if a.alarm_id != current.alarm_id]
    for alarm in others:
        assert event_kinds(store, alarm.alarm_id) == ["raise", "acknowledge"]


# --------------------------------------------------------------------------- the row


def test_the_row_says_how_many_people_and_which_cameras(
    queue: AlarmQueueView,  # noqa: F811
    manager: AlarmManager,  # noqa: F811
    clock: FakeClock,  # noqa: F811
) -> None:
    two = [
        finding(clock, track=3),
        finding(clock, track=4),
    ]
    (alarm,) = manager.ingest(two)
    zone = [
        finding(clock, rule="after_hours", subject="east-gallery", camera=c, track=t)
        for c, t in (("cam-east", 21), ("cam-west", 22), ("cam-corridor", 23))
    ]
    (incident,) = manager.ingest(zone)
    flush()
    row = queue.model.row_of(alarm.alarm_id)
    assert cell(queue, row, PEOPLE) == "2 now"
    assert "2 people there now" in cell(queue, row, PEOPLE, Qt.ItemDataRole.ToolTipRole)
    incident_row = queue.model.row_of(incident.alarm_id)
    assert cell(queue, incident_row, CAMERA) == "East gallery +2"
    tip = cell(queue, incident_row, CAMERA, Qt.ItemDataRole.ToolTipRole)
    assert tip.startswith("Seen by 3 cameras:")
    for name in ("East gallery", "West gallery", "Corridor"):
        assert f"  {name} (sees it now)" in tip

    clock.advance(10)  # they left
    manager.tick()
    flush()
    row = queue.model.row_of(alarm.alarm_id)
    assert cell(queue, row, PEOPLE) == "left 03:00:00"  # site time of the last sighting


# --------------------------------------------------------------------------- the detail


def test_enter_opens_the_detail_with_sightings_snapshot_and_stored_steps(
    queue: AlarmQueueView,  # noqa: F811
    manager: AlarmManager,  # noqa: F811
    store: Store,  # noqa: F811
    clock: FakeClock,  # noqa: F811
    reader: StoreReader,
    qtbot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    callers: set[str] = set()
    original = Store.read

    def recording(self: Store, *args: object, **kwargs: object):
        callers.add(threading.current_thread().name)
        return original(self, *args, **kwargs)

    picture = jpeg(1280, 720)
    zone = [
        finding(clock, rule="after_hours", subject="east-gallery", camera=c, track=t)
        for c, t in (("cam-east", 21), ("cam-west", 22))
    ]
    (incident,) = manager.ingest(zone, snapshot=lambda _f: picture)
    settle()
    clock.advance(4)
    key(queue.table, Qt.Key.Key_A, qtbot)
    clock.advance(3)
    key(queue.table, Qt.Key.Key_D, qtbot)
    dialog = queue.active_dialog
    assert isinstance(dialog, DispatchDialog)
    key(dialog.guard_list, Qt.Key.Key_2, qtbot)
    key(dialog.guard_list, Qt.Key.Key_Return, qtbot)
    clock.advance(60)
    key(queue.table, Qt.Key.Key_G, qtbot)
    manager.comment(incident.alarm_id, USER, "two visitors locked in")
    settle()

    monkeypatch.setattr(Store, "read", recording)
    key(queue.table, Qt.Key.Key_Return, qtbot)
    detail = queue.detail
    assert isinstance(detail, AlarmDetail)
    assert detail.isVisible()
    assert not detail.isModal()
    qtbot.waitUntil(lambda: detail.reads > 0 and not detail.reading, timeout=10_000)
    assert callers == {"nightwatch-reader"}  # the GUI thread never read the store

    assert detail.occurrence_rows() == [
        ["East gallery", "#21", "03:00:00", "still there", "0.40 m"],
        ["West gallery", "#22", "03:00:00", "still there", "0.40 m"],
    ]
    assert "Incident across the zone, seen by 2 cameras: East gallery, West gallery" in (
        detail.cameras_text()
    )
    assert detail.snapshot_size.width() == 640  # readable: 1280x720 shown at 640x360
    assert detail.snapshot_size.height() == 360
    assert [row[:3] for row in detail.step_rows()] == [
        ["03:00:00", "Raised", "system"],
        ["03:00:04", "Acknowledged", USER],
        ["03:00:07", "Guard sent", USER],
        ["03:01:07", "Guard on scene", USER],
        ["03:01:07", "Comment", USER],
    ]
    assert detail.step_rows()[2][3] == "Ben (East wing)"
    assert detail.step_rows()[4][3] == "two visitors locked in"
    assert "Guard on scene" in detail.state_label.text()

    # the detail follows the alarm: its person leaves, its steps are read again
    reads = detail.reads
    clock.advance(10)
    manager.tick()
    settle()
    qtbot.waitUntil(lambda: detail.reads > reads and not detail.reading, timeout=10_000)
    assert [row[3] for row in detail.occurrence_rows()] == ["03:00:00", "03:00:00"]
    assert callers == {"nightwatch-reader"}

    qtbot.keyClick(detail, Qt.Key.Key_Escape)  # keyboard-closable
    flush()
    assert queue.detail is None
    assert QApplication.focusWidget() is queue.table


def test_a_read_that_fails_is_said_in_the_detail(
    queue: AlarmQueueView,  # noqa: F811
    manager: AlarmManager,  # noqa: F811
    clock: FakeClock,  # noqa: F811
    desk: Desk,  # noqa: F811
    qtbot,
) -> None:
    raise_alarm(manager, clock)
    settle()
    desk.bridge.serve_queries(None)  # no reader: the console is not connected
    detail = queue.open_detail()
    assert detail is not None
    qtbot.waitUntil(lambda: detail.reads > 0, timeout=5_000)
    assert detail.steps_error == "the console is not connected"
    assert "The steps cannot be read now: the console is not connected" in (
        detail.steps_status.text()
    )
    detail.close()
    flush()


# --------------------------------------------------------------------------- the same words


def test_every_view_says_the_same_word_for_the_same_state(
    queue: AlarmQueueView,  # noqa: F811
    manager: AlarmManager,  # noqa: F811
    site: Site,  # noqa: F811
    clock: FakeClock,  # noqa: F811
    widgets,
    qtbot,
) -> None:
    plan = widgets(FloorPlanView(site))
    wall = widgets(FocusWallView(FocusWall(clock, 4), site, {}))
    assert isinstance(plan, FloorPlanView)
    assert isinstance(wall, FocusWallView)

    def words_everywhere() -> tuple[str, str, str, str]:
        alarms = manager.open_alarms()
        plan.update_alarms(alarms)
        wall.update_alarms(alarms)
        (alarm,) = alarms
        tile = wall.tile("cam-east")
        assert tile is not None
        return (
            cell(queue, 0, STATUS),
            tile.banner_lines()[0].split(" · ")[1],
            plan.alarm_text("milkmaid").split(" · ")[2],
            alarm_summary(site, alarm).split(" · ")[-1],
        )

    raise_alarm(manager, clock)
    flush()
    assert set(words_everywhere()) == {"NEW"}
    key(queue.table, Qt.Key.Key_A, qtbot)
    assert set(words_everywhere()) == {"Acknowledged"}
    key(queue.table, Qt.Key.Key_D, qtbot)
    dialog = queue.active_dialog
    assert isinstance(dialog, DispatchDialog)
    key(dialog.guard_list, Qt.Key.Key_Return, qtbot)
    assert set(words_everywhere()) == {"Guard sent"}
    key(queue.table, Qt.Key.Key_G, qtbot)
    assert set(words_everywhere()) == {"Guard on scene"}
    (alarm,) = manager.open_alarms()
    assert shown_state(alarm) is ShownState.GUARD_ON_SCENE
    assert START.tzinfo is not None


def test_the_detail_shows_the_clean_snapshot_and_plays_the_clip_once_it_is_kept(
    queue: AlarmQueueView,  # noqa: F811
    manager: AlarmManager,  # noqa: F811
    store: Store,  # noqa: F811
    clock: FakeClock,  # noqa: F811
    reader: StoreReader,
    qtbot,
    tmp_path,
) -> None:
    """While its clip is recorded the detail says so and asks again; once kept, it plays with
    the alarm's person boxed over it; the frame without boxes is beside the snapshot."""
    from datetime import timedelta

    from console.store import OpenClip
    from console.store.clips import clips
    from tests.clips import grey_clip, keep_clip

    (alarm,) = manager.ingest(
        [finding(clock, track=7)], snapshot=lambda _f: jpeg(640, 360), clean=lambda _f: jpeg(64, 36)
    )
    settle()
    assert manager.flush()
    settle()
    start = alarm.raised_at - timedelta(seconds=10)
    store.write(OpenClip(alarm.alarm_id, alarm.camera_id, start)).result()
    detail = queue.open_detail()
    assert detail is not None
    qtbot.waitUntil(lambda: detail.evidence_read is not None, timeout=10_000)
    assert "is being recorded" in detail.evidence.clip_status.text()
    assert detail.is_running  # it asks again while the clip is recorded
    assert not detail.evidence.clean_snapshot.pixmap().isNull()  # the frame without boxes

    boxes = [[start.timestamp() + 0.2 * k, 7, 100, 80, 300, 280] for k in range(15)]
    overlay = {"size": [640, 360], "tracks": [7], "boxes": boxes}
    clip_file = grey_clip(tmp_path / "grey.mkv", start)
    (opened,) = store.read(clips, alarm.alarm_id)
    kept = keep_clip(
        store, alarm.alarm_id, alarm.camera_id, clip_file, start, overlay, clip_id=opened.id
    )
    assert kept.playable
    player = detail.evidence.player
    detail.evidence.setCurrentIndex(2)
    qtbot.waitUntil(lambda: player.frames_shown >= 1, timeout=20_000)
    player.view.grab()
    assert 7 in player.view.boxes_drawn
    assert "Clip of" in detail.evidence.clip_status.text()
    detail.close()
    assert not detail.is_running  # the poll stopped, the player's decoder joined
    flush()
