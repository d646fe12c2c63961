"""PersonTracker on scripted boxes: ids stay with people, time is in seconds, state per instance."""

from __future__ import annotations

import numpy as np
import pytest

from inference.detections import Detections
from inference.tracking import PersonTracker, Track, TrackerConfig


def people(
    *boxes: tuple[float, float, float, float], scores: list[float] | None = None
) -> Detections:
    """Detections from (x, y, w, h) boxes, top-left corner and size in pixels."""
    xyxy = [(x, y, x + w, y + h) for x, y, w, h in boxes]
    conf = [0.9] * len(boxes) if scores is None else scores
    return Detections(np.array(xyxy, dtype=float).reshape(-1, 4), conf)


def ids_by_top(out: Detections) -> dict[float, int]:
    return {float(box[1]): int(tid) for box, tid in zip(out.xyxy, out.track_id, strict=True)}


def walk(
    tracker: PersonTracker, times: list[float], x0: float, speed_px_s: float, y: float = 100.0
) -> list[Detections]:
    """One person 60x180 px walking along x at a constant speed; one update per time."""
    return [tracker.update(people((x0 + speed_px_s * t, y, 60, 180)), ts=t) for t in times]


def test_a_new_person_gets_an_id_once_seen_in_consecutive_updates() -> None:
    tracker = PersonTracker()
    first = tracker.update(people((100, 100, 60, 180)), ts=0.0)
    assert len(first) == 0  # tentative: one sighting could be a false detection
    assert tracker.tracks == []
    second = tracker.update(people((103, 100, 60, 180)), ts=0.1)
    assert second.track_id.tolist() == [1]
    assert second.xyxy.tolist() == [[103, 100, 163, 280]]  # the detection's own box


def test_a_one_off_detection_never_gets_an_id() -> None:
    tracker = PersonTracker()
    tracker.update(people((100, 100, 60, 180)), ts=0.0)
    tracker.update(people((500, 100, 60, 180)), ts=0.1)  # somewhere else: the first one ends
    out = tracker.update(people((503, 100, 60, 180)), ts=0.2)
    assert out.track_id.tolist() == [1]
    assert [t.xyxy[0] for t in tracker.tracks] == [503]


def test_two_people_crossing_keep_their_ids() -> None:
    tracker = PersonTracker()
    rng = np.random.default_rng(7)
    seen: dict[str, set[int]] = {"left_to_right": set(), "right_to_left": set()}
    for step in range(40):
        t = step * 0.1
        a = (50 + 150 * t, 100, 60, 180)  # walks right at 150 px/s (about 0.8 heights/s)
        b = (650 - 150 * t, 110, 66, 195)  # walks left; they overlap from about 1.6 to 2.4 s
        boxes, names = [a, b], ["left_to_right", "right_to_left"]
        order = rng.permutation(2)  # the detector's order means nothing
        out = tracker.update(people(*(boxes[i] for i in order)), ts=t)
        if step == 0:
            continue
        assert len(out) == 2, f"t={t:.1f}"
        by_top = ids_by_top(out)  # the two boxes' tops differ: 100 and 110 px
        for box, name in zip(boxes, names, strict=True):
            seen[name].add(by_top[float(box[1])])
    assert seen == {"left_to_right": {1}, "right_to_left": {2}} or seen == {
        "left_to_right": {2},
        "right_to_left": {1},
    }


def test_a_person_hidden_briefly_keeps_the_id_and_longer_gets_a_new_one() -> None:
    config = TrackerConfig(max_lost_s=2.0)
    speed = 100.0  # px/s; a 60 px wide box has moved well past its old place after 1.5 s

    brief = PersonTracker(config)
    walk(brief, [i * 0.1 for i in range(20)], x0=50, speed_px_s=speed)  # seen 0.0 .. 1.9 s
    assert [t.track_id for t in brief.tracks] == [1]
    for t in (2.0, 2.5, 3.0):  # behind a showcase
        assert len(brief.update(Detections.empty(), ts=t)) == 0
    (hidden,) = brief.tracks
    assert hidden.lost
    assert hidden.last_seen_ts == pytest.approx(1.9)
    back = walk(brief, [3.4, 3.5], x0=50, speed_px_s=speed)  # unseen for 1.5 s < max_lost_s
    assert [d.track_id.tolist() for d in back] == [[1], [1]]
    assert not brief.tracks[0].lost

    long = PersonTracker(config)
    walk(long, [i * 0.1 for i in range(20)], x0=50, speed_px_s=speed)
    for t in (2.0, 3.0, 4.0):
        long.update(Detections.empty(), ts=t)
    assert long.tracks == []  # unseen for 2.1 s > max_lost_s: removed at ts 4.0
    back = walk(long, [4.4, 4.5], x0=50, speed_px_s=speed)
    assert [d.track_id.tolist() for d in back] == [[], [2]]


def test_the_lost_time_is_measured_in_seconds_not_updates() -> None:
    tracker = PersonTracker(TrackerConfig(max_lost_s=1.0))
    walk(tracker, [0.0, 0.1, 0.2], x0=100, speed_px_s=0.0)
    tracker.update(Detections.empty(), ts=0.3)
    tracker.update(Detections.empty(), ts=1.1)  # two updates, 0.9 s: still kept
    assert [t.lost for t in tracker.tracks] == [True]
    tracker.update(Detections.empty(), ts=1.3)  # three updates, 1.1 s: gone
    assert tracker.tracks == []


def test_irregular_time_steps_predict_by_elapsed_time() -> None:
    # The scheduler skips frames: gaps of 0.05 .. 0.7 s. At 250 px/s a 60 px box moves up to
    # 175 px between updates, so only a prediction over the real elapsed time still overlaps.
    gaps = [0.1, 0.1, 0.1, 0.1, 0.7, 0.05, 0.3, 0.1, 0.6, 0.05, 0.05, 0.5, 0.2, 0.7, 0.1]
    times = np.concatenate([[0.0], np.cumsum(gaps)]).tolist()
    tracker = PersonTracker()
    outs = walk(tracker, times, x0=20, speed_px_s=250.0)
    assert [d.track_id.tolist() for d in outs] == [[]] + [[1]] * len(gaps)
    (track,) = tracker.tracks
    assert track.first_seen_ts == 0.0
    assert track.last_seen_ts == pytest.approx(times[-1])


def test_two_trackers_count_ids_independently() -> None:
    hall, vault = PersonTracker(), PersonTracker()
    three = people((10, 100, 60, 180), (200, 100, 60, 180), (400, 100, 60, 180))
    one = people((300, 50, 60, 180))
    for t in (0.0, 0.1):
        hall_out = hall.update(three, ts=t)
        vault_out = vault.update(one, ts=t)
    assert sorted(hall_out.track_id.tolist()) == [1, 2, 3]
    assert vault_out.track_id.tolist() == [1]
    # a newcomer in the vault is the vault's second person, whatever the hall has counted
    vault.update(people((300, 50, 60, 180), (600, 50, 60, 180)), ts=0.2)
    vault_out = vault.update(people((300, 50, 60, 180), (600, 50, 60, 180)), ts=0.3)
    assert sorted(vault_out.track_id.tolist()) == [1, 2]


def test_empty_input() -> None:
    tracker = PersonTracker()
    out = tracker.update(Detections.empty(), ts=0.0)
    assert isinstance(out, Detections)
    assert len(out) == 0
    assert tracker.tracks == []
    walk(tracker, [0.1, 0.2], x0=100, speed_px_s=0.0)
    out = tracker.update(Detections.empty(), ts=0.3)
    assert len(out) == 0
    assert [t.lost for t in tracker.tracks] == [True]


def test_low_score_detections_continue_a_track_but_never_start_one() -> None:
    tracker = PersonTracker()
    walk(tracker, [0.0, 0.1], x0=100, speed_px_s=50.0)
    half_hidden = tracker.update(people((110, 100, 60, 180), scores=[0.3]), ts=0.2)
    assert half_hidden.track_id.tolist() == [1]
    assert half_hidden.confidence.tolist() == [pytest.approx(0.3)]

    fresh = PersonTracker()
    for t in (0.0, 0.1, 0.2):
        assert len(fresh.update(people((100, 100, 60, 180), scores=[0.3]), ts=t)) == 0
    assert fresh.tracks == []


def test_a_walker_looked_at_every_half_second_gets_an_id_at_the_second_look() -> None:
    # 0.8 heights/s (150 px/s for a 180 px person): 75 px, more than the box's width, between
    # two looks of a busy camera; a tentative track has no speed to predict the step with
    times = [0.0, 0.5, 1.0]
    assert walk(PersonTracker(), times, x0=100, speed_px_s=150.0)[1].track_id.tolist() == [1]
    plain_gate = PersonTracker(TrackerConfig(birth_walk_per_s=0.0))
    assert [len(out) for out in walk(plain_gate, times, x0=100, speed_px_s=150.0)] == [0, 0, 0]
    # two people side by side, each seen once at a time, are still two tentative tracks
    tracker = PersonTracker()
    tracker.update(people((100, 100, 60, 180)), ts=0.0)
    out = tracker.update(people((100, 100, 60, 180), (400, 100, 60, 180)), ts=0.5)
    assert out.xyxy[:, 0].tolist() == [100]


def test_output_keeps_input_order_and_ignores_other_classes() -> None:
    tracker = PersonTracker()
    boxes = [(400, 100, 460, 280), (10, 100, 70, 280), (200, 100, 260, 280)]
    dets = Detections(boxes, [0.9, 0.8, 0.95], class_id=[0, 0, 56])  # 56: a chair
    tracker.update(dets, ts=0.0)
    out = tracker.update(dets, ts=0.1)
    assert out.xyxy.tolist() == [list(b) for b in boxes[:2]]
    assert out.class_id.tolist() == [0, 0]
    assert sorted(out.track_id.tolist()) == [1, 2]


def test_track_records_describe_each_confirmed_person() -> None:
    tracker = PersonTracker()
    walk(tracker, [5.0, 5.2, 5.4], x0=100, speed_px_s=10.0, y=40.0)
    (track,) = tracker.tracks
    assert isinstance(track, Track)
    assert track.track_id == 1
    assert track.xyxy == pytest.approx((154, 40, 214, 220))  # the latest detection's box
    assert track.foot_point == pytest.approx((184, 220))
    assert track.first_seen_ts == 5.0
    assert track.last_seen_ts == 5.4
    assert track.seen_for_s == pytest.approx(0.4)
    assert track.confidence == pytest.approx(0.9)
    assert not track.lost


def test_reset_forgets_tracks_and_restarts_ids() -> None:
    tracker = PersonTracker()
    walk(tracker, [10.0, 10.1], x0=100, speed_px_s=0.0)
    walk(tracker, [10.2, 10.3], x0=400, speed_px_s=0.0)
    assert [t.track_id for t in tracker.tracks] == [1, 2]
    tracker.reset()
    assert tracker.tracks == []
    outs = walk(tracker, [0.0, 0.1], x0=400, speed_px_s=0.0)  # time may start over after reset
    assert outs[-1].track_id.tolist() == [1]


def test_time_running_backwards_is_an_error() -> None:
    tracker = PersonTracker()
    tracker.update(Detections.empty(), ts=2.0)
    tracker.update(Detections.empty(), ts=2.0)  # same time is fine
    with pytest.raises(ValueError, match=r"before the previous update"):
        tracker.update(Detections.empty(), ts=1.0)
    with pytest.raises(ValueError, match=r"finite"):
        tracker.update(Detections.empty(), ts=float("nan"))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("low_score", 0.8),
        ("max_lost_s", -1.0),
        ("match_iou", 0.0),
        ("confirm_updates", 0),
        ("birth_walk_per_s", float("inf")),
    ],
)
def test_config_rejects_bad_values_naming_the_field(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        TrackerConfig(**{field: value})
