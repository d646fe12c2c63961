"""The incident browser's queries on a real SQLite store filled through the store's own write
tasks: each filter finds exactly the alarms it should, keyset pages cover the log once each,
an incident's record says its response times, and the figures count what was stored."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from console.store import Outcome, Store
from console.store.incident_search import (
    OPEN,
    IncidentFilter,
    incident_figures,
    incident_record,
    search_incidents,
)
from console.store.models import Shift, User
from tests.incidents import T0, Made, make

TZ = "Europe/Amsterdam"


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, list[Made]]]:
    folder: Path = tmp_path_factory.mktemp("incidents")
    store = Store(f"sqlite:///{folder / 'alarms.db'}")
    made = [make(store, n) for n in range(40)]

    def shifts(session, _files):  # type: ignore[no-untyped-def]
        user = User(name="ana", name_key="ana", role="operator", created_at=T0)
        session.add(user)
        session.flush()
        for night in range(2):
            start = T0 + timedelta(days=night) - timedelta(hours=1)
            session.add(
                Shift(user_id=user.id, started_at=start, ended_at=start + timedelta(hours=10))
            )

    class AddShifts:
        name = "test.shifts"
        run = staticmethod(shifts)

    store.write(AddShifts()).result()
    yield store, made
    assert store.close().all_stored


def ids(page: object) -> list[int]:
    return [row.alarm_id for row in page.rows]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("name", "f", "expected"),
    [
        ("all", IncidentFilter(), lambda m: True),
        ("camera", IncidentFilter(cameras=("cam-b",)), lambda m: m.camera == "cam-b"),
        ("object", IncidentFilter(subjects=("object-2",)), lambda m: m.subject == "object-2"),
        ("rule", IncidentFilter(rules=("loitering",)), lambda m: m.rule == "loitering"),
        ("severity", IncidentFilter(severities=("high",)), lambda m: m.severity == "high"),
        (
            "false alarm",
            IncidentFilter(outcomes=("false_alarm",)),
            lambda m: m.outcome == Outcome.FALSE_ALARM,
        ),
        ("open", IncidentFilter(outcomes=(OPEN,)), lambda m: m.outcome is None),
        ("operator", IncidentFilter(operator="bert"), lambda m: m.ack_s and m.operator == "bert"),
        (
            "floor",
            IncidentFilter(floor=(("cam-a",), ("zone-1",))),
            lambda m: m.camera == "cam-a" or m.subject == "zone-1",
        ),
        (
            "dates",
            IncidentFilter(since=T0 + timedelta(days=2), until=T0 + timedelta(days=4)),
            lambda m: T0 + timedelta(days=2) <= m.raised_at < T0 + timedelta(days=4),
        ),
        (
            "several",
            IncidentFilter(rules=("proximity",), severities=("medium", "low")),
            lambda m: m.rule == "proximity" and m.severity in ("medium", "low"),
        ),
    ],
)
def test_each_filter_finds_exactly_its_incidents(log, name, f, expected) -> None:  # type: ignore[no-untyped-def]
    store, made = log
    want = sorted(
        (m for m in made if expected(m)), key=lambda m: (m.raised_at, m.alarm_id), reverse=True
    )
    page = store.read(search_incidents, f, 1000)
    assert ids(page) == [m.alarm_id for m in want], name
    assert page.total == len(want)
    assert page.next_key is None
    assert want, f"the log holds no case for {name}: the test would prove nothing"


def test_keyset_pages_cover_the_log_once_newest_first(log) -> None:  # type: ignore[no-untyped-def]
    store, made = log
    seen: list[int] = []
    after = None
    pages = 0
    while True:
        page = store.read(search_incidents, IncidentFilter(), 7, after=after, count=pages == 0)
        seen += ids(page)
        pages += 1
        if page.next_key is None:
            break
        after = page.next_key
    assert pages == 6  # 40 alarms, 7 a page
    newest_first = sorted(made, key=lambda m: m.raised_at, reverse=True)
    assert seen == [m.alarm_id for m in newest_first]


def test_a_row_says_who_acknowledged_and_resolved_and_when(log) -> None:  # type: ignore[no-untyped-def]
    store, made = log
    m = made[6]  # acknowledged after 45 s, dispatched, resolved: the visitor was warned
    rows = store.read(search_incidents, IncidentFilter(cameras=(m.camera,)), 1000).rows
    (row,) = [r for r in rows if r.alarm_id == m.alarm_id]
    assert row.acknowledged_by == m.operator
    assert row.resolved_by == m.operator
    assert row.acknowledged_at == m.raised_at + timedelta(seconds=45)
    assert row.outcome == Outcome.VISITOR_WARNED == m.outcome
    assert row.clips_kept == 0


def test_an_incidents_record_has_its_response_times(log) -> None:  # type: ignore[no-untyped-def]
    store, made = log
    m = made[6]
    record = store.read(incident_record, m.alarm_id)
    r = record.response
    assert (r.acknowledged_s, r.dispatched_s, r.on_scene_s, r.resolved_s) == (45, 75, 195, 345)
    assert [(name, s) for name, s in r.steps()] == [
        ("acknowledge", 45),
        ("dispatch", 30),
        ("on scene", 120),
        ("resolve", 150),
    ]
    assert [e.kind.value for e in record.events] == [
        "raise",
        "acknowledge",
        "dispatch",
        "arrive",
        "resolve",
    ]
    never = store.read(incident_record, made[4].alarm_id).response
    assert never.steps() == [(n, None) for n in ("acknowledge", "dispatch", "on scene", "resolve")]


def test_the_figures_count_what_was_stored(log) -> None:  # type: ignore[no-untyped-def]
    store, made = log
    figures = store.read(incident_figures, IncidentFilter(), TZ)
    assert figures.total == len(made)
    assert sum(n for _, n in figures.per_night) == len(made)
    # 21:00 UTC is 22:00 in Amsterdam: alarm 0 belongs to the night that began on 2 March
    assert figures.per_night[0][0] == "2026-03-02"
    assert dict(figures.per_subject) == {
        s: sum(1 for m in made if m.subject == s) for s in {m.subject for m in made}
    }
    acked = [m.ack_s for m in made if m.ack_s is not None]
    histogram = dict(figures.ack_histogram)
    assert histogram["0-10 s"] == sum(1 for s in acked if s < 10)
    assert histogram["10-30 s"] == sum(1 for s in acked if 10 <= s < 30)
    assert histogram["60-120 s"] == sum(1 for s in acked if 60 <= s < 120)
    assert histogram["never"] == len(made) - len(acked)
    assert figures.ack_p50_s == sorted(acked)[(len(acked) + 1) // 2 - 1]
    for rule, false, resolved in figures.false_alarms_per_rule:
        mine = [m for m in made if m.rule == rule]
        assert false == sum(1 for m in mine if m.outcome == Outcome.FALSE_ALARM)
        assert resolved == sum(1 for m in mine if m.outcome is not None)
    assert len(figures.per_shift) == 2
    for shift in figures.per_shift:
        during = [m for m in made if shift.started_at <= m.raised_at < (shift.ended_at or T0)]
        assert shift.alarms == len(during) > 0
        assert shift.within_30_s == sum(1 for m in during if m.ack_s is not None and m.ack_s <= 30)
        assert shift.within_60_s == sum(1 for m in during if m.ack_s is not None and m.ack_s <= 60)


def test_a_bad_outcome_is_refused_with_its_value() -> None:
    with pytest.raises(ValueError, match="'lost'"):
        IncidentFilter(outcomes=("lost",))
