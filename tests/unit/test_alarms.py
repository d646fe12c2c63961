"""The alarm manager over a real SQLite store, driven by scripted findings and a FakeClock."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from console.alarms import AlarmManager, AlarmPolicy, IllegalTransition
from console.clock import FakeClock
from console.rules import Finding
from console.site_file import load_site
from console.store import (
    AlarmState,
    Store,
    alarm_events,
    count_alarms,
    dispatches,
    get_alarm,
    verify_chain,
    verify_snapshot,
)
from console.store import snapshots as stored_snapshots

SITE = Path(__file__).resolve().parents[1] / "data" / "example_site" / "site.yaml"
START = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
JPEG = bytes.fromhex("ffd8ffe000104a46494600") + b"\x00" * 64 + bytes.fromhex("ffd9")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def store(tmp_path: Path):
    store = Store(f"sqlite:///{tmp_path / 'alarms.db'}", snapshots_dir=tmp_path / "snaps")
    yield store
    store.close()


@pytest.fixture
def manager(store: Store, clock: FakeClock) -> AlarmManager:
    return AlarmManager(store, load_site(SITE), clock, policy=AlarmPolicy(rearm_s=60))


def events(manager: AlarmManager, alarm_id: int) -> list[str]:
    """The alarm's stored events, once every write handed out so far is on disk."""
    assert manager.flush()
    return [e.kind.value for e in manager.store.read(alarm_events, alarm_id)]


def finding(
    clock: FakeClock,
    *,
    track: int | None = 3,
    rule: str = "proximity",
    subject: str = "milkmaid",
    camera: str = "cam-east",
    severity: str = "high",
    video_ts: float | None = 1.0,
) -> Finding:
    return Finding(
        rule,
        camera,
        subject,
        track,
        severity,
        clock.now(),
        video_ts,  # type: ignore[arg-type]
        {"distance_m": 0.5},
    )


def test_findings_of_one_episode_fold_into_one_alarm(manager, store, clock) -> None:
    heard = []
    manager.add_listener(heard.append)
    (alarm,) = manager.ingest([finding(clock, video_ts=12.4)], snapshot=lambda f: JPEG)
    for step in range(1, 6):
        clock.advance(0.5)
        # a re-found person (new track id) at the same painting is the same situation
        assert (
            manager.ingest([finding(clock, track=3 if step < 4 else 8, video_ts=12.4 + step * 0.5)])
            == []
        )
    (open_alarm,) = manager.open_alarms()
    assert open_alarm.alarm_id == alarm.alarm_id
    assert open_alarm.track_ids == (3, 8)
    assert (open_alarm.video_start_s, open_alarm.video_end_s) == (12.4, 14.9)
    assert [a.alarm_id for a in heard] == [alarm.alarm_id]  # folding is quiet
    assert manager.flush()
    assert store.read(count_alarms) == 1
    (snap,) = store.read(stored_snapshots.snapshots, alarm.alarm_id)
    assert store.read(verify_snapshot, snap.id, store.files)
    (stored_alarm,) = manager.open_alarms()
    assert stored_alarm.stored
    assert Path(stored_alarm.snapshot_path or "").read_bytes() == JPEG
    # told twice: when it was decided, and when its snapshot was on disk
    assert [a.alarm_id for a in heard] == [alarm.alarm_id] * 2
    assert heard[0].unsaved == 2
    assert heard[0].snapshot_path is None


def test_other_subjects_and_rules_raise_their_own_alarms(manager, clock) -> None:
    raised = manager.ingest(
        [
            finding(clock),
            finding(clock, subject="night-watch", camera="cam-west"),
            finding(clock, rule="after_hours", subject="east-gallery", severity="high"),
        ]
    )
    assert len(raised) == 3
    assert len({a.alarm_id for a in raised}) == 3


def test_alarm_latches_after_the_person_leaves(manager, clock) -> None:
    manager.ingest([finding(clock)])
    clock.advance(10)
    (changed,) = manager.tick()
    assert not changed.active  # the risk cleared...
    assert changed.state == AlarmState.RAISED  # ...but the alarm stays until handled
    assert manager.open_alarms()[0].alarm_id == changed.alarm_id


def test_lifecycle_writes_every_step(manager, store, clock) -> None:
    (alarm,) = manager.ingest([finding(clock)])
    clock.advance(5)
    manager.acknowledge(alarm.alarm_id, "monitor-1")
    clock.advance(5)
    sent = manager.dispatch(alarm.alarm_id, "g-anna", "monitor-1")
    assert sent.guard_on_the_way is not None
    assert sent.guard_on_the_way.guard_id == "g-anna"
    with pytest.raises(IllegalTransition, match="still being stored"):
        manager.guard_arrived(alarm.alarm_id, "monitor-1")  # before the writer has answered
    assert manager.flush()
    clock.advance(60)
    arrived = manager.guard_arrived(alarm.alarm_id, "monitor-1")
    assert arrived.guard_on_the_way is None
    resolved = manager.resolve(alarm.alarm_id, "visitor_warned", "monitor-1", note="stepped back")
    assert resolved.state == AlarmState.RESOLVED
    assert manager.open_alarms() == []
    assert manager.flush()
    record = store.read(get_alarm, alarm.alarm_id)
    assert record.state == AlarmState.RESOLVED
    assert record.outcome is not None
    assert record.outcome.value == "visitor_warned"
    assert record.note == "stepped back"
    assert events(manager, alarm.alarm_id) == [
        "raise",
        "acknowledge",
        "dispatch",
        "arrive",
        "resolve",
    ]
    users = {e.user for e in store.read(alarm_events, alarm.alarm_id)[1:]}
    assert users == {"monitor-1"}
    (dispatch,) = store.read(dispatches, alarm.alarm_id)
    assert (dispatch.guard_id, dispatch.post) == ("g-anna", "Main hall")
    assert dispatch.arrived_at is not None
    assert store.read(verify_chain).ok


@pytest.mark.parametrize(
    ("steps", "action", "message"),
    [
        (
            [],
            lambda m, a: m.dispatch(a, "g-anna", "u"),
            r"is raised: it cannot become dispatched \(from raised it can become acknowledged\)",
        ),
        (
            [],
            lambda m, a: m.resolve(a, "false_alarm", "u"),
            r"is raised: it cannot become resolved",
        ),
        (["ack"], lambda m, a: m.acknowledge(a, "u"), r"is acknowledged: it cannot become ackn"),
        (
            ["ack"],
            lambda m, a: m.resolve(a, "tea break", "u"),
            r"outcome 'tea break' is not one of",
        ),
        (
            ["ack", "resolve"],
            lambda m, a: m.acknowledge(a, "u"),
            r"is resolved; it is no longer open",
        ),
    ],
)
def test_illegal_transitions_are_refused(manager, store, clock, steps, action, message) -> None:
    (alarm,) = manager.ingest([finding(clock)])
    for step in steps:
        if step == "ack":
            manager.acknowledge(alarm.alarm_id, "u")
        else:
            manager.resolve(alarm.alarm_id, "false_alarm", "u")
    before = events(manager, alarm.alarm_id)
    with pytest.raises(IllegalTransition, match=message):
        action(manager, alarm.alarm_id)
    assert events(manager, alarm.alarm_id) == before  # nothing written


def test_unknown_guard_is_refused(manager, clock) -> None:
    (alarm,) = manager.ingest([finding(clock)])
    manager.acknowledge(alarm.alarm_id, "u")
    with pytest.raises(IllegalTransition, match="g-nobody"):
        manager.dispatch(alarm.alarm_id, "g-nobody", "u")


def test_unacknowledged_alarm_escalates_once_after_its_time(manager, store, clock) -> None:
    (high,) = manager.ingest([finding(clock)])  # the example site escalates high after 30 s
    (low,) = manager.ingest([finding(clock, rule="loitering", subject="corridor", severity="low")])
    clock.advance(29)
    assert not any(a.escalated for a in manager.tick())
    clock.advance(2)
    escalated = [a for a in manager.tick() if a.escalated]
    assert [a.alarm_id for a in escalated] == [high.alarm_id]  # low waits 300 s
    clock.advance(60)
    assert not any(a.escalated and a.alarm_id == high.alarm_id for a in manager.tick())
    assert events(manager, high.alarm_id).count("escalate") == 1
    assert events(manager, low.alarm_id) == ["raise"]


def test_acknowledged_alarm_does_not_escalate(manager, store, clock) -> None:
    (alarm,) = manager.ingest([finding(clock)])
    manager.acknowledge(alarm.alarm_id, "u")
    clock.advance(120)
    manager.tick()
    assert "escalate" not in events(manager, alarm.alarm_id)


def test_same_person_right_after_resolve_is_damped(manager, store, clock) -> None:
    (alarm,) = manager.ingest([finding(clock, track=3)])
    manager.acknowledge(alarm.alarm_id, "u")
    manager.resolve(alarm.alarm_id, "visitor_warned", "u")
    clock.advance(10)
    assert manager.ingest([finding(clock, track=3)]) == []  # the person still stepping back
    assert manager.damped == 1
    assert len(manager.ingest([finding(clock, track=9)])) == 1  # somebody else: a new alarm
    clock.advance(61)
    assert manager.flush()
    assert store.read(count_alarms) == 2


def test_chattering_rule_is_muted(store, clock) -> None:
    manager = AlarmManager(
        store,
        load_site(SITE),
        clock,
        policy=AlarmPolicy(rearm_s=0, chatter_max=3, chatter_window_s=600),
    )
    raised = 0
    for _ in range(6):
        got = manager.ingest(
            [
                finding(
                    clock, rule="camera_health", subject="cam-east", track=None, severity="medium"
                )
            ]
        )
        raised += len(got)
        for alarm in got:
            manager.acknowledge(alarm.alarm_id, "u")
            manager.resolve(alarm.alarm_id, "false_alarm", "u")
        clock.advance(30)
    assert raised == 3
    assert manager.damped == 3


def test_open_alarms_latch_across_a_restart(store, clock) -> None:
    site = load_site(SITE)
    first = AlarmManager(store, site, clock)
    (alarm,) = first.ingest([finding(clock)], snapshot=lambda f: JPEG)
    assert first.flush()
    (alarm,) = first.open_alarms()
    second = AlarmManager(store, site, clock)  # the console restarted
    (reloaded,) = second.open_alarms()
    assert reloaded.alarm_id == alarm.alarm_id
    assert reloaded.snapshot_path == alarm.snapshot_path is not None
    clock.advance(1)
    assert second.ingest([finding(clock)]) == []  # folds into the reloaded alarm
    second.acknowledge(alarm.alarm_id, "u")


def test_open_alarms_sorted_most_urgent_first(manager, clock) -> None:
    low = manager.ingest([finding(clock, rule="loitering", subject="corridor", severity="low")])
    clock.advance(1)
    acked = manager.ingest([finding(clock, subject="night-watch", camera="cam-west")])
    manager.acknowledge(acked[0].alarm_id, "u")
    clock.advance(1)
    fresh = manager.ingest([finding(clock)])
    order = [a.alarm_id for a in manager.open_alarms()]
    assert order == [fresh[0].alarm_id, acked[0].alarm_id, low[0].alarm_id]


def test_after_a_quiet_spell_somebody_else_starts_a_new_episode(manager, store, clock) -> None:
    (first,) = manager.ingest([finding(clock, track=3, video_ts=10.0)])
    clock.advance(20)  # the risk cleared long ago (clear_after_s is 3 s)...
    assert manager.ingest([finding(clock, track=3, video_ts=30.0)]) == []  # ...same person back
    clock.advance(20)
    (second,) = manager.ingest([finding(clock, track=11, video_ts=50.0)])  # a new visitor
    assert second.alarm_id != first.alarm_id
    clock.advance(1)
    assert manager.ingest([finding(clock, track=12, video_ts=51.0)]) == []  # while risk lasts
    alarms = {a.alarm_id: a for a in manager.open_alarms()}
    assert alarms[first.alarm_id].track_ids == (3,)
    assert (alarms[first.alarm_id].video_start_s, alarms[first.alarm_id].video_end_s) == (10, 30)
    assert alarms[second.alarm_id].track_ids == (11, 12)
    assert manager.flush()
    assert store.read(count_alarms) == 2
