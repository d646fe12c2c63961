"""Alarm tasks and queries on a real SQLite file: raising (with and without a given id), the
lifecycle, refusals, listing and finding."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from console.store import (
    AddAlarmEvent,
    AlarmIdTakenError,
    AlarmNotFoundError,
    AlarmState,
    ChangeAlarmState,
    EventKind,
    Outcome,
    RaiseAlarm,
    RecordArrival,
    RecordDispatch,
    StaleStateError,
    Store,
    alarm_events,
    audit_entries,
    count_alarms,
    dispatches,
    find_open_alarm,
    get_alarm,
    list_alarms,
    next_alarm_id,
    open_alarms,
)
from tests.unit.store.support import T0, raw


def raise_alarm(store: Store, camera_id: str = "cam-1", rule: str = "proximity", **kw) -> int:
    severity = kw.pop("severity", "high")
    return store.write(RaiseAlarm(None, camera_id, rule, severity, **kw)).result()


def test_raise_alarm_and_read_it_back(store: Store) -> None:
    alarm_id = store.write(
        RaiseAlarm(
            None,
            "cam-2",
            "proximity",
            "high",
            subject="milkmaid",
            track_id=7,
            episode_key="ep",
            raised_at=T0,
        )
    ).result()
    alarm = store.read(get_alarm, alarm_id)
    assert (alarm.camera_id, alarm.rule, alarm.subject, alarm.severity, alarm.track_id) == (
        "cam-2",
        "proximity",
        "milkmaid",
        "high",
        7,
    )
    assert alarm.state is AlarmState.RAISED
    assert alarm.raised_at == T0
    assert alarm.raised_at.tzinfo is not None
    assert alarm.episode_key == "ep"
    [event] = store.read(alarm_events, alarm.id)
    assert event.kind is EventKind.RAISE
    assert event.detail is not None
    assert event.detail["subject"] == "milkmaid"
    with pytest.raises(AlarmNotFoundError, match="no alarm 999"):
        store.read(get_alarm, 999)


def test_an_alarm_raised_with_its_own_id_keeps_it(store: Store) -> None:
    assert store.read(next_alarm_id) == 1
    first = raise_alarm(store)
    assert store.read(next_alarm_id) == first + 1
    given = store.read(next_alarm_id) + 10  # the manager counts on its own
    task = RaiseAlarm(given, "cam-3", "loitering", "medium", raised_at=T0, episode_key="e")
    assert store.write(task).result() == given
    assert store.read(get_alarm, given).camera_id == "cam-3"
    assert store.read(next_alarm_id) == given + 1
    # The database carries on after the highest id.
    assert raise_alarm(store) == given + 1
    # The same alarm written again (a retry) is found stored, not doubled.
    assert store.write(task).result() == given
    assert len(store.read(alarm_events, given)) == 1
    # Another alarm cannot take the id.
    other = RaiseAlarm(given, "cam-4", "loitering", "medium", raised_at=T0)
    with pytest.raises(AlarmIdTakenError, match=f"alarm id {given} is taken"):
        store.write(other).result()
    assert store.read(count_alarms) == 3


def test_times_are_stored_as_utc(store: Store, db_path: Path) -> None:
    paris = timezone(timedelta(hours=1))
    alarm_id = raise_alarm(store, raised_at=T0.astimezone(paris))
    assert store.read(get_alarm, alarm_id).raised_at == T0
    assert store.read(get_alarm, alarm_id).raised_at.utcoffset() == timedelta(0)
    with raw(db_path) as conn:
        [(stored,)] = conn.execute("SELECT raised_at FROM alarms WHERE id = ?", (alarm_id,))
    assert stored.startswith("2025-03-01 22:00:00")
    with pytest.raises(ValueError, match="naive"):
        RaiseAlarm(None, "cam-1", "proximity", "low", raised_at=datetime(2025, 3, 1, 22))


def test_full_lifecycle_records_every_step(store: Store) -> None:
    alarm_id = raise_alarm(store, raised_at=T0)
    acked = store.write(
        ChangeAlarmState(
            alarm_id,
            AlarmState.ACKNOWLEDGED,
            "ana",
            expected="raised",
            at=T0 + timedelta(seconds=5),
        )
    ).result()
    assert acked.state is AlarmState.ACKNOWLEDGED
    assert acked.updated_at == T0 + timedelta(seconds=5)
    dispatch_id = store.write(
        RecordDispatch(alarm_id, "guard-3", "ana", post="north-stair", at=T0 + timedelta(seconds=9))
    ).result()
    assert store.read(get_alarm, alarm_id).state is AlarmState.DISPATCHED
    store.write(
        RecordArrival(dispatch_id, "ana", outcome="visitor spoken to", at=T0 + timedelta(60))
    ).result()
    resolved = store.write(
        ChangeAlarmState(
            alarm_id, "resolved", "ana", outcome=Outcome.VISITOR_WARNED, note="leaned on the frame"
        )
    ).result()
    assert resolved.state is AlarmState.RESOLVED
    assert resolved.outcome is Outcome.VISITOR_WARNED
    assert resolved.note == "leaned on the frame"
    events = store.read(alarm_events, alarm_id)
    assert [e.kind for e in events] == [
        EventKind.RAISE,
        EventKind.ACKNOWLEDGE,
        EventKind.DISPATCH,
        EventKind.ARRIVE,
        EventKind.RESOLVE,
    ]
    assert [e.user for e in events][1:] == ["ana"] * 4
    [dispatch] = store.read(dispatches, alarm_id)
    assert (dispatch.id, dispatch.guard_id, dispatch.post) == (
        dispatch_id,
        "guard-3",
        "north-stair",
    )
    assert dispatch.sent_at == T0 + timedelta(seconds=9)
    assert dispatch.arrived_at == T0 + timedelta(60)
    assert dispatch.outcome == "visitor spoken to"
    actions = [e.action for e in store.read(audit_entries)]
    assert actions == [
        "audit.keyed",  # the chain keyed at the first opening
        "store.open",  # the store's own row: it proved at open that it can write
        "alarm.raise",
        "alarm.acknowledge",
        "alarm.dispatch",
        "alarm.arrive",
        "alarm.resolve",
    ]


def test_state_changes_refused_with_clear_errors(store: Store) -> None:
    alarm_id = raise_alarm(store)
    with pytest.raises(ValueError, match="outcome is required"):
        ChangeAlarmState(alarm_id, "resolved", "ana")
    with pytest.raises(ValueError, match="only to resolve"):
        ChangeAlarmState(alarm_id, "acknowledged", "ana", outcome="other")
    with pytest.raises(ValueError, match="RecordDispatch"):
        ChangeAlarmState(alarm_id, "dispatched", "ana")
    with pytest.raises(StaleStateError, match="is raised, expected acknowledged"):
        store.write(
            ChangeAlarmState(alarm_id, "resolved", "ana", outcome="other", expected="acknowledged")
        ).result()
    store.write(ChangeAlarmState(alarm_id, "resolved", "ana", outcome="false_alarm")).result()
    with pytest.raises(StaleStateError, match="resolved alarm is final"):
        store.write(ChangeAlarmState(alarm_id, "acknowledged", "bob")).result()
    with pytest.raises(StaleStateError, match="final"):
        store.write(RecordDispatch(alarm_id, "guard-1", "bob")).result()
    with pytest.raises(AlarmNotFoundError, match="no alarm 999"):
        store.write(ChangeAlarmState(999, "acknowledged", "ana")).result()
    with pytest.raises(AlarmNotFoundError, match="no dispatch 999"):
        store.write(RecordArrival(999, "ana")).result()
    assert store.read(get_alarm, alarm_id).outcome is Outcome.FALSE_ALARM


def test_a_refused_step_does_not_hold_up_the_next(store: Store) -> None:
    alarm_id = raise_alarm(store)
    refused = store.write(ChangeAlarmState(alarm_id, "acknowledged", "ana", expected="resolved"))
    after = store.write(ChangeAlarmState(alarm_id, "acknowledged", "bob", expected="raised"))
    with pytest.raises(StaleStateError):
        refused.result()
    assert after.result().state is AlarmState.ACKNOWLEDGED


def test_arrival_is_recorded_once(store: Store) -> None:
    alarm_id = raise_alarm(store)
    dispatch_id = store.write(RecordDispatch(alarm_id, "guard-1", "ana")).result()
    store.write(RecordArrival(dispatch_id, "ana")).result()
    with pytest.raises(StaleStateError, match="already arrived"):
        store.write(RecordArrival(dispatch_id, "ana")).result()


def test_add_event_comment_and_escalate(store: Store) -> None:
    alarm_id = raise_alarm(store, rule="loitering", severity="medium")
    comment = AddAlarmEvent(alarm_id, "comment", "ana", {"text": "same man as yesterday"})
    comment_id = store.write(comment).result()
    escalate_id = store.write(AddAlarmEvent(alarm_id, EventKind.ESCALATE, "system")).result()
    events = store.read(alarm_events, alarm_id)
    assert [(e.id, e.kind) for e in events[1:]] == [
        (comment_id, EventKind.COMMENT),
        (escalate_id, EventKind.ESCALATE),
    ]
    assert events[1].detail == {"text": "same man as yesterday"}
    with pytest.raises(ValueError, match="use ChangeAlarmState"):
        AddAlarmEvent(alarm_id, "acknowledge", "ana")
    with pytest.raises(ValueError, match="shout"):
        AddAlarmEvent(alarm_id, "shout", "ana")
    with pytest.raises(AlarmNotFoundError):
        store.write(AddAlarmEvent(12345, "comment", "ana")).result()


def test_list_alarms_by_date_camera_subject_state_outcome(store: Store) -> None:
    ids = {}
    for n, (cam, subject, rule) in enumerate(
        [
            ("cam-1", "milkmaid", "proximity"),
            ("cam-1", "vermeer-room", "after_hours"),
            ("cam-2", "milkmaid", "proximity"),
            ("cam-3", None, "camera_health"),
        ]
    ):
        ids[n] = raise_alarm(store, cam, rule, subject=subject, raised_at=T0 + timedelta(hours=n))
    store.write(ChangeAlarmState(ids[0], "resolved", "ana", outcome="false_alarm"))
    store.write(ChangeAlarmState(ids[2], "resolved", "ana", outcome="police_called"))
    store.write(ChangeAlarmState(ids[1], "acknowledged", "ana")).result()

    def listed(**kw: object) -> list[int]:
        return [a.id for a in store.read(list_alarms, **kw)]

    assert listed(newest_first=False) == [ids[0], ids[1], ids[2], ids[3]]
    assert listed() == [ids[3], ids[2], ids[1], ids[0]]
    assert listed(since=T0 + timedelta(hours=1), until=T0 + timedelta(hours=3)) == [
        ids[2],
        ids[1],
    ]
    assert listed(camera_id="cam-1") == [ids[1], ids[0]]
    assert listed(camera_id=["cam-2", "cam-3"]) == [ids[3], ids[2]]
    assert listed(subject="milkmaid") == [ids[2], ids[0]]
    assert listed(state="acknowledged") == [ids[1]]
    assert listed(state=[AlarmState.RAISED, AlarmState.ACKNOWLEDGED]) == [ids[3], ids[1]]
    assert listed(outcome=Outcome.POLICE_CALLED) == [ids[2]]
    assert listed(rule="proximity", outcome=["false_alarm", "police_called"]) == [ids[2], ids[0]]
    assert listed(limit=2, offset=1) == [ids[2], ids[1]]
    assert [a.id for a in store.read(open_alarms)] == [ids[1], ids[3]]
    assert store.read(count_alarms) == 4


def test_find_open_alarm_by_episode(store: Store) -> None:
    first = raise_alarm(store, episode_key="cam-1/milkmaid/7")
    found = store.read(find_open_alarm, "cam-1/milkmaid/7")
    assert found is not None
    assert found.id == first
    store.write(ChangeAlarmState(first, "resolved", "ana", outcome="other")).result()
    assert store.read(find_open_alarm, "cam-1/milkmaid/7") is None
