"""Behaviour learning, advisories, the watch list and following, on the example site.

The statistics and the baseline are tested on numbers; the model on scripted visitors
(tests/behaviour_walks.py: scripted boxes and a fake clock, fed through the real presence model
and the real appearance measure). The normal is learned from ordinary visitors of the east
gallery, who walk in from the east, look at The Milkmaid for 10-28 s and leave westwards.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from console.behaviour.appearance import (
    appearances,
    part_similarities,
    part_similarities_many,
    similarity,
)
from console.behaviour.baseline import ALL_HOURS, SITE_PLACE, Baseline, hour_of_week
from console.behaviour.model import BehaviourModel, BehaviourRefused
from console.behaviour.scoring import assess
from console.behaviour.site_map import SiteMap
from console.behaviour.statistics import COUNT, DIRECTION, DWELL_S, Histogram, direction_bin
from console.behaviour.visitors import Visitor
from console.rules import Severity
from console.rules.behaviour import advisories
from console.rules.details import BehaviourDetail
from console.site_file import Site, load_site
from console.store import CellRow
from tests.behaviour_walks import Clothes, ScriptedWalks, clothes, paint

SITE_FILE = Path(__file__).resolve().parents[1] / "data" / "example_site" / "site.yaml"
OPEN = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)  # Tuesday 11:00 in Amsterdam (open 10-17)
EAST = "cam-east"
WEST = "cam-west"
MILKMAID_SPOT = (760.0, 100.0)  # 0.9 m in front of The Milkmaid
Path2 = Sequence[tuple[float, tuple[float, float]]]  # (seconds from the start, plan point)


@pytest.fixture(scope="module")
def example() -> Site:
    return load_site(SITE_FILE)


def quick(site: Site, **settings: object) -> Site:
    """The site judging after 20 visitors and no warm-up hours, forgetting visitors after 60 s."""
    values = {"warm_up_h": 0.0, "warm_up_visits": 20, "forget_after_s": 60.0, **settings}
    return site.model_copy(update={"behaviour": site.behaviour.model_copy(update=values)})


def position(path: Path2, t: float) -> tuple[float, float] | None:
    """Where a scripted path is at t (linear between its points); None before or after it."""
    if t < path[0][0] or t > path[-1][0]:
        return None
    for (t0, a), (t1, b) in itertools.pairwise(path):
        if t0 <= t <= t1:
            f = 0.0 if t1 == t0 else (t - t0) / (t1 - t0)
            return a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f
    return None


def ordinary(look_s: float) -> Path2:
    """In from the east, a look at The Milkmaid, out to the west."""
    return [
        (0, (1100.0, 400.0)),
        (15, MILKMAID_SPOT),
        (15 + look_s, MILKMAID_SPOT),
        (25 + look_s, (650.0, 300.0)),
    ]


def walk(walks: ScriptedWalks, people: dict[int, tuple[Path2, Clothes]], camera: str = EAST):
    """Run scripted people on one camera, a look each second, until all have left."""
    end = max(p[-1][0] for p, _ in people.values())
    for t in range(int(end) + 1):
        here = {}
        for tid, (path, wear) in people.items():
            at = position(path, float(t))
            if at is not None:
                here[tid] = walks.at_plan(camera, at, wear)
        walks.look(camera, here)


TRACKS = iter(range(1, 1_000_000))


def learn_normal(walks: ScriptedWalks, visitors: int = 30) -> None:
    """Ordinary visitors, three at a time; then long enough for every visit to be learned."""
    for batch in range(visitors // 3):
        people = {
            next(TRACKS): (ordinary(10.0 + 6 * k + batch % 3), clothes(3 * batch + k))
            for k in range(3)
        }
        walk(walks, people)
        walks.idle(25)
    walks.idle(70)  # forgotten: their visit counts are learned


@pytest.fixture(scope="module")
def trained(example: Site) -> ScriptedWalks:
    walks = ScriptedWalks(quick(example), OPEN)
    learn_normal(walks)
    return walks


@pytest.fixture
def learned(trained: ScriptedWalks) -> ScriptedWalks:
    """A copy of the trained walks (presence, model, audit), for one test to change."""
    return copy.deepcopy(trained)


# --------------------------------------------------------------------------- statistics


def test_a_histogram_stays_the_same_size_and_remembers_lately_more() -> None:
    dwell = Histogram.of(DWELL_S)
    size = dwell.nbytes
    for _ in range(20_000):
        dwell.add(30.0)
    for _ in range(4_000):
        dwell.add(600.0)
    assert dwell.nbytes == size
    assert dwell.total <= DWELL_S.max_weight
    # 20,000 old samples at 30 s and 4,000 new ones at 600 s: halving made the new ones count
    assert dwell.quantile(0.9) > 300.0
    assert 20.0 < dwell.quantile(0.1) < 45.0


def test_a_quantile_of_counts_and_values_beyond_the_scale() -> None:
    visits = Histogram.of(COUNT)
    for value in [1.0] * 90 + [2.0] * 9 + [500.0]:
        visits.add(value)
    assert int(visits.quantile(0.5)) == 1
    assert int(visits.quantile(0.95)) == 2
    assert int(visits.quantile(1.0)) == COUNT.bins - 1  # 500 lands in the last bin
    assert Histogram.of(COUNT).quantile(0.5) is None


def test_directions_east_south_west_north() -> None:
    assert [direction_bin(*v) for v in [(1, 0), (0, 1), (-1, 0), (0, -1)]] == [0, 2, 4, 6]
    flow = Histogram.of(DIRECTION)
    for _ in range(19):
        flow.add(np.pi)  # west
    flow.add(0.1)
    assert flow.share(4) == pytest.approx(0.95)
    assert flow.share(0) == pytest.approx(0.05)


def test_a_stored_histogram_of_the_wrong_size_is_refused() -> None:
    with pytest.raises(ValueError, match="dwell_s: expected a list of 40"):
        Histogram.from_json(DWELL_S, [1.0, 2.0])


# --------------------------------------------------------------------------- the baseline


def test_the_baseline_judges_a_place_only_once_it_was_seen_often_enough(example: Site) -> None:
    baseline = Baseline.of_site(example)
    for k in range(49):
        baseline.learn("zone", "east-gallery", "dwell_s", 40.0 + k, OPEN)
    assert baseline.usual("zone", "east-gallery", "dwell_s", OPEN, min_samples=50) is None
    baseline.learn("zone", "east-gallery", "dwell_s", 60.0, OPEN)
    usual = baseline.usual("zone", "east-gallery", "dwell_s", OPEN, min_samples=50)
    assert usual is not None
    assert usual.level == "this hour"
    # another hour of the week: answered from all hours
    later = OPEN + timedelta(hours=3)
    other = baseline.usual("zone", "east-gallery", "dwell_s", later, min_samples=50)
    assert other is not None
    assert other.level == "all hours"
    # a place the site does not have is never learned
    baseline.learn("zone", "no-such-room", "dwell_s", 1.0, OPEN)
    assert baseline.cell_count == 2


def test_the_baseline_is_bounded_by_the_site_whatever_it_sees(example: Site) -> None:
    baseline = Baseline.of_site(example)
    for hour in range(3 * 168):
        at = OPEN + timedelta(hours=hour)
        for zone in example.zones:
            baseline.learn("zone", zone.id, "dwell_s", 40.0, at)
            baseline.learn("zone", zone.id, "occupancy", 3.0, at)
    size = baseline.nbytes
    for hour in range(168):
        baseline.learn("zone", "east-gallery", "dwell_s", 40.0, OPEN + timedelta(hours=hour))
    assert baseline.nbytes == size
    assert baseline.cell_count == 4 * 169 <= baseline.max_cells


def test_the_baseline_survives_a_round_trip_and_skips_damaged_cells(example: Site) -> None:
    baseline = Baseline.of_site(example)
    for value in (20.0, 40.0, 80.0):
        baseline.learn("zone", "east-gallery", "dwell_s", value, OPEN)
    baseline.learn("camera", EAST, "direction", np.pi, OPEN)
    rows, gone = baseline.take_changes()
    assert gone == []
    assert len(rows) == 4
    assert baseline.take_changes() == ([], [])  # nothing changed since
    damaged = CellRow("zone", "west-gallery", ALL_HOURS, '{"dwell_s": [1, 2]}', OPEN)
    wrong_hour = CellRow("zone", "corridor", 400, "{}", OPEN)
    again = Baseline.of_site(example)
    assert again.load([*rows, damaged, wrong_hour]) == 4
    assert list(again.rows()) == list(baseline.rows())
    # the east gallery is deleted from the site: its cells go, and are deleted from the store
    places = {k: [p for p in v if p != "east-gallery"] for k, v in again.places.items()}
    dropped = again.use_places(places)  # type: ignore[arg-type]
    assert {key[1] for key in dropped} == {"east-gallery"}
    assert again.take_changes()[1] == sorted(dropped)


def test_hours_of_the_week_are_local_time(example: Site) -> None:
    assert hour_of_week(OPEN, example.tz) == 1 * 24 + 11  # Tuesday 11:00 in Amsterdam


# --------------------------------------------------------------------------- the model


def test_ordinary_visitors_teach_the_normal_and_raise_nothing(learned: ScriptedWalks) -> None:
    model = learned.behaviour
    assert learned.advisories == []
    assert len(model.watch_list) == 0
    at = learned.now
    dwell = model.baseline.usual("zone", "east-gallery", "dwell_s", at, min_samples=20)
    near = model.baseline.usual("object", "milkmaid", "near_s", at, min_samples=20)
    flow = model.baseline.usual("camera", EAST, "direction", at, min_samples=20)
    visits = model.baseline.usual("object", "milkmaid", "visits", at, min_samples=20)
    assert dwell is not None
    assert 30 < dwell.histogram.quantile(0.5) < 90
    assert near is not None
    assert 8 < near.histogram.quantile(0.5) < 40
    assert flow is not None
    assert flow.histogram.share(direction_bin(-1, -0.2), spread=1) > 0.9
    assert visits is not None
    assert int(visits.histogram.quantile(0.99)) == 1
    # a new ordinary visitor: nothing
    walk(learned, {next(TRACKS): (ordinary(15.0), clothes(77))})
    assert learned.advisories == []
    # every visitor is forgotten in time: only the learned normal is kept
    learned.idle(70)
    assert learned.behaviour.follower.visitors == {}


def test_a_visitor_who_stays_9_minutes_near_the_milkmaid_is_flagged(
    learned: ScriptedWalks,
) -> None:
    stayer = [(0, (1100.0, 400.0)), (15, MILKMAID_SPOT), (560, MILKMAID_SPOT)]
    walk(learned, {500: (stayer, clothes(5))})
    assert learned.advisories
    first = learned.advisories[0]
    kinds = {r.kind for r in first.assessment.reasons}
    assert kinds <= {"dwell_object", "dwell_room"}
    assert "dwell_object" in kinds
    last = learned.advisories[-1].assessment
    words = " / ".join(r.words for r in last.reasons)
    assert "stayed 9 min near The Milkmaid; usual is under" in words
    assert last.score >= 1.0
    # the system put them on the watch list, audited with the reason
    (entry,) = list(learned.behaviour.watch_list)
    assert entry.by_system
    assert entry.visitor_id == first.visitor_id
    (row,) = [a for a in learned.audit if a[1] == "behaviour.watch"]
    assert row[0] == "system"
    assert "The Milkmaid" in str(row[3]["reason"])
    # the rule reports it as a low-severity advisory about the visitor
    findings = advisories([first], learned.camera(EAST), learned.site, learned.now)
    (finding,) = findings
    assert (finding.rule, finding.severity, finding.subject_id) == (
        "behaviour",
        Severity.LOW,
        first.visitor_id,
    )
    assert isinstance(finding.detail, BehaviourDetail)
    stored = finding.detail.as_json()
    assert stored["reason"] == first.assessment.line
    assert stored["visitor"] == first.label
    assert (stored["room"], stored["room_name"]) == ("east-gallery", "East gallery")
    assert stored["kinds"] == sorted(kinds)
    assert len(stored["box"]) == 4


def test_nobody_is_judged_during_the_warm_up(example: Site) -> None:
    walks = ScriptedWalks(quick(example, warm_up_h=48.0), OPEN)
    learn_normal(walks, visitors=24)
    stayer = [(0, (1100.0, 400.0)), (15, MILKMAID_SPOT), (560, MILKMAID_SPOT)]
    walk(walks, {500: (stayer, clothes(5))})
    assert walks.advisories == []
    assert walks.behaviour.view(walks.now).status.startswith("learning: 0.")


def test_a_visitor_who_comes_back_to_one_painting_five_times_is_flagged(
    learned: ScriptedWalks,
) -> None:
    path: list[tuple[float, tuple[float, float]]] = [(0, (1100.0, 400.0))]
    t = 0.0
    for _ in range(5):
        path += [(t + 8, MILKMAID_SPOT), (t + 14, MILKMAID_SPOT), (t + 22, (900.0, 420.0))]
        t += 30
        path.append((t, (900.0, 420.0)))
    walk(learned, {600: (path, clothes(8))})
    lines = [a.assessment.line for a in learned.advisories]
    assert any("came back to The Milkmaid" in line for line in lines), lines
    returns = [r for a in learned.advisories for r in a.assessment.reasons if r.kind == "returns"]
    assert max(int(r.words.split(" times")[0].split()[-1]) for r in returns) >= 4


def test_a_visitor_walking_against_the_flow_is_flagged(learned: ScriptedWalks) -> None:
    against = [(0, (650.0, 300.0)), (25, (1100.0, 400.0))]
    walk(learned, {700: (against, clothes(9))})
    reasons = [r for a in learned.advisories for r in a.assessment.reasons]
    assert reasons
    assert {r.kind for r in reasons} == {"against_flow"}
    assert "walked east (on the plan) through East gallery, against the flow" in reasons[0].words


def test_a_dismissed_advisory_is_not_raised_again_and_is_learned(
    learned: ScriptedWalks,
) -> None:
    model = learned.behaviour
    stay = [(0, (1100.0, 400.0)), (15, MILKMAID_SPOT), (400, MILKMAID_SPOT)]
    walk(learned, {800: (stay, clothes(4))})
    visitor_id = learned.advisories[0].visitor_id
    before = model.baseline.samples_learned
    dismissed = model.dismiss(visitor_id, "night-monitor", learned.now)
    assert any("near The Milkmaid" in words for words in dismissed)
    assert visitor_id not in model.watch_list
    assert [a[1] for a in learned.audit] == ["behaviour.watch", "behaviour.unwatch"]
    assert learned.audit[-1][3]["why"] == "dismissed as normal"
    # they stay on: the same reasons are not held against them again
    learned.advisories.clear()
    stay_on = [(0, MILKMAID_SPOT), (120, MILKMAID_SPOT), (130, (650.0, 300.0))]
    walk(learned, {800: (stay_on, clothes(4))})
    assert learned.advisories == []
    learned.idle(70)
    assert model.baseline.samples_learned > before  # their visit was learned, weighted up


def test_a_watched_visitor_is_followed_to_the_next_camera(learned: ScriptedWalks) -> None:
    model = learned.behaviour
    wear = clothes(6)
    walk(learned, {900: ([(0, (1100.0, 400.0)), (10, (700.0, 300.0))], wear)})
    watched = model.watch(EAST, 900, "left a bag by the door", "night-monitor", learned.now)
    assert watched.cameras_now == (EAST,)
    assert watched.added_by == "night-monitor"
    assert learned.audit[-1][:3] == (
        "night-monitor",
        "behaviour.watch",
        f"visitor:{watched.visitor_id}",
    )
    assert learned.audit[-1][3]["reason"] == "left a bag by the door"
    learned.idle(4)
    # 4 s later someone in the same clothes appears on the west gallery's camera, and a
    # visitor in other clothes with them
    for _ in range(5):
        learned.look(
            WEST,
            {
                31: learned.at_image((600.0, 600.0), wear),
                32: learned.at_image((900.0, 600.0), clothes(1)),
            },
        )
    follower = model.follower
    assert follower.visitor_of(WEST, 31).visitor_id == watched.visitor_id
    assert follower.visitor_of(WEST, 32).visitor_id != watched.visitor_id
    assert model.watched_cameras(learned.now) == frozenset({WEST})
    (shown,) = model.view(learned.now).watched
    assert shown.cameras_now == (WEST,)
    assert shown.tracks_now == ((WEST, 31),)
    assert {p.camera_id for p in shown.path} == {EAST, WEST}


def test_a_lookalike_in_the_same_trousers_but_another_coat_is_not_followed_as_them(
    learned: ScriptedWalks,
) -> None:
    """The cause of most false advisories in bench/behaviour_flags.py: ordinary visitors who
    shared one colour of clothes were joined into one visitor across cameras (similar enough on
    average), and their visits to The Milkmaid added up to "came back 3 (4) times"."""
    model = learned.behaviour
    first, other = clothes(3), clothes(30)  # another coat over the same trousers
    assert first[0] != other[0]
    assert first[1] == other[1]
    walk(learned, {910: ([(0, (1100.0, 400.0)), (10, (700.0, 300.0))], first)})
    them = model.follower.visitor_of(EAST, 910)
    learned.idle(4)
    lookalike = learned.at_image((600.0, 600.0), other)
    look = appearances(paint([lookalike]), [lookalike.box])[0]
    tuning = model.follower.tuning
    assert similarity(them.appearance, look) >= tuning.handover_min_similarity  # alike on average
    assert min(part_similarities(them.appearance, look)) < tuning.min_part_similarity
    learned.look(WEST, {41: lookalike})
    assert model.follower.visitor_of(WEST, 41).visitor_id != them.visitor_id
    # the same person in the same clothes is still followed
    learned.look(WEST, {42: learned.at_image((900.0, 600.0), first)})
    assert model.follower.visitor_of(WEST, 42).visitor_id == them.visitor_id


def test_lingering_in_as_many_high_value_rooms_as_usual_is_not_half_unusual(
    example: Site,
) -> None:
    """The other half of the false advisories: "lingered near high-value works in 2 rooms; usual
    is at most 2" weighed 0.67, enough with any half reason for an advisory."""
    site = quick(example)
    baseline = Baseline.of_site(site)
    baseline.learning_since = OPEN - timedelta(days=1)
    for k in range(60):
        baseline.learn("site", SITE_PLACE, "high_value_rooms", 2.0 if k % 2 else 1.0, OPEN)
    plan = SiteMap.of(site)
    now_s = OPEN.timestamp()
    visitor = Visitor("visitor-1", 1, now_s - 300, now_s)
    visitor.high_value = {"milkmaid": "east-gallery", "night-watch": "west-gallery"}
    usual = assess(visitor, baseline, site, plan, OPEN, site.behaviour)
    assert usual.judged
    assert [r for r in usual.reasons if r.kind == "high_value_rooms"] == []
    visitor.high_value["vase"] = "corridor"  # three rooms: beyond the usual, an advisory
    three = assess(visitor, baseline, site, plan, OPEN, site.behaviour)
    (reason,) = [r for r in three.reasons if r.kind == "high_value_rooms"]
    assert reason.strength == 1.0
    assert three.score >= float(site.behaviour.threshold)
    assert "lingered near high-value works in 3 rooms" in reason.words


def test_the_watch_list_asks_a_reason_and_a_tracked_person(learned: ScriptedWalks) -> None:
    model = learned.behaviour
    walk(learned, {950: ([(0, (1100.0, 400.0)), (5, (1000.0, 400.0))], clothes(2))})
    with pytest.raises(BehaviourRefused, match="say why"):
        model.watch(EAST, 950, "   ", "night-monitor", learned.now)
    with pytest.raises(BehaviourRefused, match="#4242 on camera cam-east is not tracked"):
        model.watch(EAST, 4242, "looked nervous", "night-monitor", learned.now)


def test_taking_a_person_off_the_watch_list_needs_a_reason_and_is_audited(
    learned: ScriptedWalks,
) -> None:
    model = learned.behaviour
    walk(learned, {960: ([(0, (1100.0, 400.0)), (5, (1000.0, 400.0))], clothes(2))})
    watched = model.watch(EAST, 960, "looked at the alarm panel", "night-monitor", learned.now)
    (shown,) = model.view(learned.now).watched
    assert (shown.last_camera, shown.last_room) == (EAST, "east-gallery")
    assert shown.path
    assert shown.path_age_s is not None
    with pytest.raises(BehaviourRefused, match="say why"):
        model.unwatch(watched.visitor_id, "night-monitor", learned.now, "  ")
    assert watched.visitor_id in model.watch_list
    model.unwatch(watched.visitor_id, "night-monitor", learned.now, "a restorer at work")
    assert model.view(learned.now).watched == ()
    user, action, target, detail = learned.audit[-1]
    assert (user, action) == ("night-monitor", "behaviour.unwatch")
    assert target == f"visitor:{watched.visitor_id}"
    assert detail["unwatch_reason"] == "a restorer at work"
    assert detail["reason"] == "looked at the alarm panel"
    with pytest.raises(BehaviourRefused, match="is not on the watch list"):
        model.unwatch(watched.visitor_id, "night-monitor", learned.now, "again")


def test_watch_list_entries_expire_and_visitors_are_forgotten(example: Site) -> None:
    walks = ScriptedWalks(quick(example, watch_for_s=60.0, forget_after_s=120.0), OPEN)
    walk(walks, {1: ([(0, (1100.0, 400.0)), (5, (1000.0, 400.0))], clothes(2))})
    walks.behaviour.watch(EAST, 1, "asked where the alarm panel is", "night-monitor", walks.now)
    walks.idle(61)
    assert len(walks.behaviour.watch_list) == 0
    assert walks.audit[-1][1:][0] == "behaviour.unwatch"
    assert walks.audit[-1][3]["why"] == "the entry expired"
    assert walks.behaviour.follower.visitors  # still remembered ...
    walks.idle(60)
    assert walks.behaviour.follower.visitors == {}  # ... until forgotten


def test_switched_off_nothing_is_learned_and_everyone_is_forgotten(
    learned: ScriptedWalks,
) -> None:
    model = learned.behaviour
    walk(learned, {990: ([(0, (1100.0, 400.0)), (5, (1000.0, 400.0))], clothes(2))})
    model.watch(EAST, 990, "photographing the alarm sensors", "night-monitor", learned.now)
    forgotten = model.switch(False, "boss", learned.now)
    assert forgotten >= 1
    assert model.follower.visitors == {}
    assert len(model.watch_list) == 0
    assert learned.audit[-1][3]["why"] == "the feature was switched off"
    learned_before = model.baseline.samples_learned
    stayer = [(0, (1100.0, 400.0)), (15, MILKMAID_SPOT), (560, MILKMAID_SPOT)]
    walk(learned, {991: (stayer, clothes(5))})
    learned.idle(70)
    assert learned.advisories == []
    assert model.follower.visitors == {}
    assert model.baseline.samples_learned == learned_before
    assert model.view(learned.now).status == "off (switched off at the console)"


def test_the_site_file_can_switch_the_feature_off(example: Site) -> None:
    site = quick(example, enabled=False)
    model = BehaviourModel(site)
    assert not model.enabled
    with pytest.raises(BehaviourRefused, match="off in the site file"):
        model.switch(True, "boss", OPEN)
    with pytest.raises(BehaviourRefused, match="not available"):
        model.watch(EAST, 1, "why", "boss", OPEN)


@pytest.fixture
def rows_of_a_learned_model(learned: ScriptedWalks) -> Iterator[list[CellRow]]:
    rows, _ = learned.behaviour.take_changes()
    return rows


def test_a_restarted_model_judges_from_the_stored_normal(
    example: Site, rows_of_a_learned_model: list[CellRow]
) -> None:
    rows = rows_of_a_learned_model
    assert any(r.kind == "meta" for r in rows)  # when learning began
    walks = ScriptedWalks(quick(example), OPEN + timedelta(hours=1))
    walks.model = BehaviourModel(walks.site, stored=rows, audit=walks._audit)
    stayer = [(0, (1100.0, 400.0)), (15, MILKMAID_SPOT), (560, MILKMAID_SPOT)]
    walk(walks, {1: (stayer, clothes(5))})
    assert walks.advisories


def test_many_visitors_are_compared_with_a_new_look_at_once_as_one_by_one() -> None:
    """The follower compares a new track with every visitor who could have walked into view in
    one numpy pass; each visitor's figures are those of comparing the two alone (the unknown
    ones stay unknown, in their places)."""
    image = np.zeros((240, 320, 3), np.uint8)
    image[:, :160] = (30, 40, 200)  # a red coat on the left, a blue one on the right
    image[:, 160:] = (200, 60, 20)
    image[120:, :] = (90, 90, 90)  # grey trousers for both
    left, right, look = appearances(
        image, [(10, 10, 150, 230), (170, 10, 310, 230), (20, 20, 140, 220)]
    )
    assert look is not None
    assert left is not None
    assert right is not None
    many = [right, None, left]
    together = part_similarities_many(many, look)
    one_by_one = [part_similarities(v, look) for v in many]
    assert together[1] is None
    assert one_by_one[1] is None
    for pair, alone in ((together[0], one_by_one[0]), (together[2], one_by_one[2])):
        assert pair is not None
        assert alone is not None
        assert pair == pytest.approx(alone, abs=1e-6)
    assert together[2] is not None
    assert together[0] is not None
    assert together[2][0] > together[0][0]  # the same red coat is more alike than the blue
    assert part_similarities_many(many, None) == [None, None, None]
