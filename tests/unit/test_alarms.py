"""The alarm manager over a real SQLite store, driven by scripted findings and a FakeClock."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from console.alarms import AlarmManager, AlarmPolicy, IllegalTransition
from console.clock import FakeClock
from console.rules import Finding
from console.rules.details import CameraHealthDetail, ProximityDetail
from console.site_file import load_site
from console.store import (
    AlarmState,
    Store,
    alarm_events,
    audit_entries,
    count_alarms,
    dispatches,
    get_alarm,
    occurrences,
    verify_chain,
    verify_snapshot,
    verify_store,
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
    # whatever the test did through the alarm manager, every row it wrote is vouched for by the
    # audit chain (each task recorded the digests of the rows it changed)
    assert store.flush(10)
    report = store.read(verify_store, store.keys, store.files)
    assert report.ok, [str(f) for f in report.findings]
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
        ProximityDetail(distance_m=0.5),
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
    # folding is quiet; a new person at it (track 8) is news: the row counts people
    assert [a.alarm_id for a in heard] == [alarm.alarm_id] * 2
    assert [(o.track_id, o.open) for o in heard[-1].occurrences] == [(3, True), (8, True)]
    assert manager.flush()
    assert store.read(count_alarms) == 1
    (snap,) = store.read(stored_snapshots.snapshots, alarm.alarm_id)
    assert store.read(verify_snapshot, snap.id, store.files)
    (stored_alarm,) = manager.open_alarms()
    assert stored_alarm.stored
    assert Path(stored_alarm.snapshot_path or "").read_bytes() == JPEG
    # told when it was decided (its row, first sighting and snapshot not yet on disk), when a
    # second person joined, and when its steps were on disk
    assert [a.alarm_id for a in heard] == [alarm.alarm_id] * 3
    assert heard[0].unsaved == 3
    assert heard[0].snapshot_path is None
    assert heard[-1].unsaved == 0


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


def test_the_person_just_warned_is_not_raised_again_at_once_and_it_is_audited(
    manager, store, clock
) -> None:
    medium = {"rule": "loitering", "subject": "bronze-dancer", "severity": "medium"}
    (alarm,) = manager.ingest([finding(clock, track=3, **medium)])
    manager.acknowledge(alarm.alarm_id, "u")
    manager.resolve(alarm.alarm_id, "visitor_warned", "u")
    for _ in range(3):  # the visitor is still stepping back
        clock.advance(5)
        assert manager.ingest([finding(clock, track=3, **medium)]) == []
    assert manager.suppressed == 3
    assert manager.flush()
    suppressed = [e for e in store.read(audit_entries) if e.action == "alarm.rearm_suppressed"]
    assert len(suppressed) == 1  # one row per person, not per finding
    assert suppressed[0].target == f"alarm:{alarm.alarm_id}"
    assert suppressed[0].detail["track_id"] == 3
    clock.advance(45)  # re-armed (60 s here): the same person again is a new alarm
    assert len(manager.ingest([finding(clock, track=3, **medium)])) == 1


def test_a_camera_lost_again_right_after_its_alarm_was_resolved_is_a_new_alarm(
    manager, store, clock
) -> None:
    """Re-arming is for the visitor just warned; a camera cut again seconds after the monitor
    resolved its video loss is a new outage (found by the RTSP drop battery: it was silenced for
    `rearm_s`)."""
    loss = {"rule": "camera_health", "subject": "cam-west", "camera": "cam-west", "track": None}
    (first,) = manager.ingest([finding(clock, severity="medium", **loss)])
    manager.acknowledge(first.alarm_id, "u")
    manager.resolve(first.alarm_id, "other", "u", note="camera back")
    clock.advance(5)
    (again,) = manager.ingest([finding(clock, severity="medium", **loss)])
    assert again.alarm_id != first.alarm_id
    assert manager.suppressed == 0
    assert manager.flush()
    assert not [e for e in store.read(audit_entries) if e.action == "alarm.rearm_suppressed"]


def test_a_high_risk_present_now_is_never_hidden(manager, store, clock) -> None:
    raised = 0
    for _ in range(6):  # resolved as a false alarm again and again, the person still there
        got = manager.ingest([finding(clock, track=3)])  # high: The Milkmaid
        raised += len(got)
        for alarm in got:
            manager.acknowledge(alarm.alarm_id, "u")
            manager.resolve(alarm.alarm_id, "false_alarm", "u")
        clock.advance(1)
    assert raised == 6
    assert manager.suppressed == 0
    assert manager.flush()
    assert store.read(count_alarms) == 6


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


def test_while_it_is_open_everybody_folds_into_one_incident(manager, store, clock) -> None:
    (first,) = manager.ingest([finding(clock, track=3, video_ts=10.0)])
    clock.advance(20)  # the risk cleared long ago (clear_after_s is 3 s)...
    changed = manager.tick()
    assert [a.active for a in changed] == [False]
    assert manager.ingest([finding(clock, track=3, video_ts=30.0)]) == []  # ...same person back
    clock.advance(20)
    manager.tick()
    assert manager.ingest([finding(clock, track=11, video_ts=50.0)]) == []  # somebody else
    clock.advance(1)
    assert manager.ingest([finding(clock, track=12, video_ts=51.0)]) == []  # at the same time
    (alarm,) = manager.open_alarms()
    assert alarm.alarm_id == first.alarm_id
    assert alarm.active
    assert alarm.track_ids == (3, 11, 12)
    spans = [(o.track_id, o.video_start_s, o.video_end_s, o.open) for o in alarm.occurrences]
    assert spans == [
        (3, 10.0, 10.0, False),
        (3, 30.0, 30.0, False),
        (11, 50.0, 50.0, True),
        (12, 51.0, 51.0, True),
    ]
    assert alarm.people_now == 2
    assert alarm.people_seen == 2
    assert (alarm.video_start_s, alarm.video_end_s) == (10, 51)
    assert alarm.closest_m == 0.5
    assert manager.flush()
    assert store.read(count_alarms) == 1
    stored = store.read(occurrences, alarm.alarm_id)
    assert [(o.track_id, o.video_start_s, o.ended_at is None) for o in stored] == [
        (3, 10.0, False),
        (3, 30.0, False),
        (11, 50.0, True),
        (12, 51.0, True),
    ]


def test_one_intruder_seen_by_three_cameras_is_one_incident(manager, store, clock) -> None:
    zone = {"rule": "after_hours", "subject": "east-gallery", "severity": "high"}
    (alarm,) = manager.ingest([finding(clock, camera="cam-east", track=4, **zone)])
    clock.advance(1)
    assert manager.ingest([finding(clock, camera="cam-corridor", track=1, **zone)]) == []
    clock.advance(1)
    assert manager.ingest([finding(clock, camera="cam-west", track=7, **zone)]) == []
    (incident,) = manager.open_alarms()
    assert incident.alarm_id == alarm.alarm_id
    assert incident.zone_wide
    assert incident.cameras == ("cam-east", "cam-corridor", "cam-west")
    assert all(manager.is_alarmed(c) for c in incident.cameras)
    clock.advance(3.5)  # only cam-west still sees them
    assert manager.ingest([finding(clock, camera="cam-west", track=7, **zone)]) == []
    manager.tick()
    (incident,) = manager.open_alarms()
    assert incident.cameras_now == ("cam-west",)
    # a protected object's findings stay per camera
    assert len(manager.ingest([finding(clock, camera="cam-west", subject="night-watch")])) == 1


def test_new_activity_on_an_acknowledged_alarm_reflags_it_without_a_new_row(
    manager, store, clock
) -> None:
    (alarm,) = manager.ingest([finding(clock, track=3)])
    manager.acknowledge(alarm.alarm_id, "monitor-1")
    clock.advance(1)
    assert manager.ingest([finding(clock, track=4)]) == []  # risk still present: no re-flag
    assert not manager.get(alarm.alarm_id).needs_attention
    clock.advance(10)
    manager.tick()  # everybody has gone
    clock.advance(60)
    assert manager.ingest([finding(clock, track=9)]) == []  # somebody at the painting again
    flagged = manager.get(alarm.alarm_id)
    assert flagged.needs_attention
    assert not flagged.acknowledged  # bold again, sounds again
    assert flagged.state == AlarmState.ACKNOWLEDGED
    clock.advance(31)  # nobody looks: it escalates again (high: 30 s)
    assert [a.escalated for a in manager.tick()] == [True]
    seen = manager.acknowledge(alarm.alarm_id, "monitor-1")  # A again: seen
    assert seen.acknowledged
    assert not seen.needs_attention
    assert len(manager.open_alarms()) == 1
    assert events(manager, alarm.alarm_id) == [
        "raise",
        "acknowledge",
        "activity",
        "escalate",
        "seen",
    ]


def test_a_slowly_judged_camera_does_not_flicker_between_present_and_cleared(
    manager, clock
) -> None:
    for _ in range(3):  # the pool gets round to this camera every 4 s
        manager.looked("cam-east", clock.now())
        clock.advance(4)
    (alarm,) = manager.ingest([finding(clock, track=3)])
    for _ in range(5):
        manager.looked("cam-east", clock.now())
        clock.advance(4)
        manager.tick()
        assert manager.get(alarm.alarm_id).active, "risk cleared while still being found"
        manager.ingest([finding(clock, track=3)])
    manager.looked("cam-east", clock.now())
    clock.advance(11)  # three looks without it
    manager.tick()
    assert not manager.get(alarm.alarm_id).active


def test_occurrences_and_reflags_latch_across_a_restart(store, clock) -> None:
    site = load_site(SITE)
    first = AlarmManager(store, site, clock)
    (alarm,) = first.ingest([finding(clock, track=3, video_ts=5.0)])
    first.acknowledge(alarm.alarm_id, "u")
    clock.advance(20)
    first.tick()
    first.ingest([finding(clock, track=8, video_ts=25.0)])
    assert first.flush()
    second = AlarmManager(store, site, clock)  # the console restarted
    (reloaded,) = second.open_alarms()
    assert reloaded.needs_attention
    assert [(o.track_id, o.video_start_s) for o in reloaded.occurrences] == [(3, 5.0), (8, 25.0)]
    clock.advance(31)
    assert [a.escalated for a in second.tick()] == [True]
    assert second.flush()
    third = AlarmManager(store, site, clock)
    assert third.open_alarms()[0].escalated  # not escalated again after another restart
    clock.advance(100)
    third.tick()
    assert third.flush()
    kinds = [e.kind.value for e in store.read(alarm_events, alarm.alarm_id)]
    assert kinds.count("escalate") == 1


def test_a_cameras_changing_condition_is_kept_as_sightings_of_its_own(manager, store, clock):
    covered = Finding("camera_health", "cam-east", "cam-east", None, "high", clock.now(), 3.0,
                      CameraHealthDetail(what="covered"))  # fmt: skip
    (alarm,) = manager.ingest([covered])
    clock.advance(2)
    lost = Finding("camera_health", "cam-east", "cam-east", None, "medium", clock.now(), None,
                   CameraHealthDetail(what="video_loss", reason="no frames"))  # fmt: skip
    assert manager.ingest([lost]) == []  # folds into the open camera alarm...
    (open_alarm,) = manager.open_alarms()
    assert [o.condition for o in open_alarm.occurrences] == ["covered", "video_loss"]  # ...kept
    assert manager.flush()
    stored = store.read(occurrences, alarm.alarm_id)
    assert [o.condition for o in stored] == ["covered", "video_loss"]


def test_a_new_alarm_keeps_the_clean_frame_beside_the_annotated_one(manager, store, clock) -> None:
    clean = JPEG.replace(b"\xff\xd9", b"clean\xff\xd9")
    (alarm,) = manager.ingest([finding(clock)], snapshot=lambda f: JPEG, clean=lambda f: clean)
    assert manager.flush()
    manager.settle()
    annotated, beside = store.read(stored_snapshots.snapshots, alarm.alarm_id)
    assert (annotated.kind, beside.kind) == ("annotated", "clean")
    assert store.snapshot_path(beside).read_bytes() == clean
    assert store.read(get_alarm, alarm.alarm_id).snapshot_id == annotated.id
    assert manager.get(alarm.alarm_id).snapshot_path == str(store.snapshot_path(annotated))
    (again,) = manager.ingest([finding(clock, subject="other")], snapshot=lambda f: JPEG)
    assert manager.flush()
    assert len(store.read(stored_snapshots.snapshots, again.alarm_id)) == 1  # asked for none
