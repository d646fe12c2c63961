"""How a replay is scored against the courtyard's ground truth (tests/approaches.py)."""

from __future__ import annotations

import pytest

from tests.approaches import (
    Episode,
    SeenFinding,
    Truth,
    episodes_under_alarms,
    false_alarms,
    false_findings,
    false_people,
    finding_delays,
    found_episodes,
    load_truth,
)

HER = (100.0, 100.0, 140.0, 200.0)
HIM = (300.0, 100.0, 340.0, 200.0)
TRUTH = Truth(
    object_id="plinth",
    fps=10.0,
    duration_s=60.0,
    episodes=(Episode(1, 7, 2.0, 3.0, {f: HER for f in range(20, 30)}),),
    within_envelope={f: [HER, HIM] for f in range(15, 35)},
)


def finding(ts: float, box: tuple[float, ...] | None, subject: str = "plinth") -> SeenFinding:
    return SeenFinding(ts, 1, subject, box)  # type: ignore[arg-type]


def test_an_episode_is_found_only_by_a_finding_on_that_person_while_it_lasts() -> None:
    assert found_episodes(TRUTH, [finding(2.5, HER)]) == {1}
    assert found_episodes(TRUTH, [finding(2.5, HIM)]) == set()  # somebody else
    assert found_episodes(TRUTH, [finding(3.5, HER)]) == set()  # after it ended
    assert found_episodes(TRUTH, [finding(2.5, HER, "milkmaid")]) == set()  # another object


def test_the_delay_is_from_the_episodes_first_frame_to_the_first_finding_on_that_person() -> None:
    # somebody else first, then her twice: the earlier of hers counts, whatever the order given
    found = [finding(2.9, HER), finding(2.1, HIM), finding(2.6, HER)]
    assert finding_delays(TRUTH, found) == {1: pytest.approx(0.6)}
    assert finding_delays(TRUTH, [finding(2.1, HIM), finding(3.5, HER)]) == {}  # not found


def test_a_finding_is_false_when_nobody_is_within_the_envelope() -> None:
    stray = finding(2.5, (600.0, 400.0, 640.0, 500.0))
    late = finding(50.0, HER)
    assert false_findings(TRUTH, [finding(2.5, HER), finding(2.6, HIM), stray, late]) == [
        stray,
        late,
    ]
    assert false_people([stray, finding(2.9, stray.box), late]) == 2


def test_alarm_spans_and_occurrences() -> None:
    alarm = {"rule": "proximity", "subject": "plinth", "start_s": 1.0, "end_s": 2.0}
    assert episodes_under_alarms(TRUTH, [alarm]) == {1}
    with_occurrences = {
        **alarm,
        "end_s": 50.0,
        "occurrences": [{"start_s": 1.0, "end_s": 1.5}, {"start_s": 49.0, "end_s": 50.0}],
    }
    assert episodes_under_alarms(TRUTH, [with_occurrences]) == set()
    assert false_alarms(TRUTH, [with_occurrences]) == [(49.0, 50.0)]


def test_the_committed_ground_truth_loads() -> None:
    truth = load_truth()
    assert truth.duration_s == 79.5
    assert all(len(e.boxes) == round((e.end_s - e.start_s) * truth.fps) for e in truth.episodes)
