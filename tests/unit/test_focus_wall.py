"""The focus-wall policy: ordering, hold, minimum slot time, pin, dismiss, N, a watched person."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from console.clock import FakeClock
from console.focus_wall import AlarmSummary, FocusWall

START = datetime(2026, 3, 3, 22, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


def alarm(camera: str, severity: str = "high", *, ack: bool = False, active: bool = True,
          at_s: float = 0.0) -> AlarmSummary:  # fmt: skip
    return AlarmSummary(camera, severity, ack, START + timedelta(seconds=at_s), active)  # type: ignore[arg-type]


def test_cameras_fill_the_wall_by_severity_then_unacknowledged_then_recency(clock) -> None:
    wall = FocusWall(clock, slots=4)
    layout = wall.update(
        [
            alarm("cam-low", "low"),
            alarm("cam-old-high", "high", at_s=-30),
            alarm("cam-acked-high", "high", ack=True, at_s=-1),
            alarm("cam-new-high", "high", at_s=-5),
            alarm("cam-medium", "medium"),
        ]
    )
    assert layout.camera_ids == ("cam-new-high", "cam-old-high", "cam-acked-high", "cam-medium")
    assert layout.slots[0].severity == "high"
    assert layout.slots[0].unacknowledged
    assert not layout.slots[2].unacknowledged


def test_re_evaluating_the_same_input_changes_nothing(clock) -> None:
    wall = FocusWall(clock, slots=4)
    alarms = [alarm("a", "low"), alarm("b", "high"), alarm("c", "medium")]
    first = wall.update(alarms)
    clock.advance(1.0)
    assert wall.update(alarms) == first
    assert wall.update(list(reversed(alarms))) == first


def test_positions_are_kept_when_a_more_severe_camera_arrives(clock) -> None:
    wall = FocusWall(clock, slots=4)
    wall.update([alarm("a", "low")])
    clock.advance(1.0)
    layout = wall.update([alarm("a", "low"), alarm("b", "high", at_s=1)])
    assert layout.camera_ids == ("a", "b", None, None)


def test_an_acknowledged_but_active_alarm_keeps_its_camera(clock) -> None:
    wall = FocusWall(clock, slots=2, hold_s=10, min_slot_s=0)
    wall.update([alarm("a")])
    clock.advance(60)
    assert wall.update([alarm("a", ack=True, active=True)]).camera_ids == ("a", None)
    clock.advance(60)
    assert wall.update([alarm("a", ack=False, active=False)]).camera_ids == ("a", None)


def test_a_handled_camera_leaves_after_its_hold_time(clock) -> None:
    wall = FocusWall(clock, slots=2, hold_s=10, min_slot_s=5)
    wall.update([alarm("a")])
    clock.advance(20)
    handled = [alarm("a", ack=True, active=False)]
    assert wall.update(handled).camera_ids == ("a", None)
    assert wall.layout.slots[0].reason == "hold"
    clock.advance(9.9)
    assert wall.update(handled).camera_ids == ("a", None)
    clock.advance(0.1)
    assert wall.update(handled).camera_ids == (None, None)


def test_a_slot_is_held_for_its_minimum_time(clock) -> None:
    wall = FocusWall(clock, slots=1, hold_s=0, min_slot_s=5)
    wall.update([alarm("a", "low")])
    clock.advance(2)
    # a more severe camera waits, and a cleared one stays, until the minimum time has passed
    layout = wall.update([alarm("a", "low", ack=True, active=False), alarm("b", "high", at_s=2)])
    assert layout.camera_ids == ("a",)
    clock.advance(2.9)
    assert wall.update([alarm("b", "high", at_s=2)]).camera_ids == ("a",)
    clock.advance(0.1)
    assert wall.update([alarm("b", "high", at_s=2)]).camera_ids == ("b",)


def test_a_more_severe_camera_displaces_the_least_one_on_a_full_wall(clock) -> None:
    wall = FocusWall(clock, slots=2, hold_s=0, min_slot_s=5)
    wall.update([alarm("a", "medium"), alarm("b", "low")])
    clock.advance(10)
    layout = wall.update([alarm("a", "medium"), alarm("b", "low"), alarm("c", "high", at_s=10)])
    assert layout.camera_ids == ("a", "c")


def test_pin_holds_a_slot_and_unpin_releases_it(clock) -> None:
    wall = FocusWall(clock, slots=2, hold_s=3, min_slot_s=5)
    wall.update([alarm("a", "high"), alarm("b", "high", at_s=1)])
    layout = wall.pin("quiet")  # a full wall: the pin displaces the lowest-ranked camera at once
    assert set(layout.camera_ids) == {"quiet", "b"}
    assert layout.slots[layout.slot_of("quiet")].reason == "pinned"
    clock.advance(100)
    assert "quiet" in wall.update([alarm("a", "high"), alarm("b", "high", at_s=1)]).camera_ids
    only_b = [alarm("b", "high", at_s=1)]  # a's alarm is resolved
    wall.update(only_b)
    wall.unpin("quiet")
    clock.advance(2.9)
    assert set(wall.update(only_b).camera_ids) == {"quiet", "b"}  # holding
    clock.advance(0.1)
    assert set(wall.update(only_b).camera_ids) == {None, "b"}


def test_a_holding_camera_yields_to_a_camera_with_an_alarm(clock) -> None:
    wall = FocusWall(clock, slots=1, hold_s=30, min_slot_s=5)
    wall.update([alarm("a", "low")])
    clock.advance(10)
    handled = alarm("a", "low", ack=True, active=False)
    assert wall.update([handled]).camera_ids == ("a",)
    assert wall.update([handled, alarm("b", "low", at_s=10)]).camera_ids == ("b",)


def test_dismiss_removes_a_camera_until_a_new_alarm(clock) -> None:
    wall = FocusWall(clock, slots=2, min_slot_s=5)
    old = alarm("a", "high")
    wall.update([old])
    assert wall.dismiss("a").camera_ids == (None, None)
    clock.advance(1)
    assert wall.update([old]).camera_ids == (None, None)
    clock.advance(1)
    layout = wall.update([old, alarm("a", "medium", at_s=2)])
    assert layout.camera_ids == ("a", None)


def test_changing_the_number_of_slots(clock) -> None:
    wall = FocusWall(clock, slots=4, hold_s=0, min_slot_s=5)
    alarms = [alarm("a", "low"), alarm("b", "medium"), alarm("c", "high"), alarm("d", "low")]
    assert wall.update(alarms).camera_ids == ("c", "b", "a", "d")
    assert wall.set_slot_count(9).camera_ids[:4] == ("c", "b", "a", "d")
    assert wall.slot_count == 9
    assert wall.set_slot_count(2).camera_ids == ("c", "b")
    assert wall.set_slot_count(1).camera_ids == ("c",)
    with pytest.raises(ValueError, match="1, 2, 4, 6 or 9"):
        wall.set_slot_count(3)
    with pytest.raises(ValueError, match="1, 2, 4, 6 or 9"):
        FocusWall(clock, slots=5)


def test_shrinking_keeps_the_best_cameras_from_the_dropped_positions(clock) -> None:
    wall = FocusWall(clock, slots=4, hold_s=0, min_slot_s=0)
    wall.update([alarm("a", "low")])
    wall.update([alarm("a", "low"), alarm("b", "low", at_s=1)])
    wall.update([alarm("b", "low", at_s=1), alarm("c", "high", at_s=2)])
    assert wall.layout.camera_ids == ("c", "b", None, None)
    layout = wall.update([alarm("b", "low", at_s=1), alarm("c", "high", at_s=2)])
    assert wall.set_slot_count(1).camera_ids == ("c",)
    assert layout.camera_ids[0] == "c"


def test_the_wall_follows_a_watched_person(clock) -> None:
    wall = FocusWall(clock, slots=1, hold_s=2, min_slot_s=1)
    alarms = [alarm("elsewhere", "medium")]
    assert wall.update(alarms).camera_ids == ("elsewhere",)
    clock.advance(5)
    layout = wall.update(alarms, watched_cameras={"hall-1"})
    assert layout.camera_ids == ("hall-1",)
    assert layout.slots[0].reason == "watched"
    clock.advance(5)
    # the person walks into the next room: the old camera holds briefly, then the wall follows
    assert wall.update(alarms, watched_cameras={"hall-2"}).camera_ids == ("hall-2",)


def test_bad_settings_are_refused(clock) -> None:
    with pytest.raises(ValueError, match="hold_s"):
        FocusWall(clock, hold_s=-1)
