"""The detection scheduler's policy, driven by scripted frame references and a fake clock."""

from __future__ import annotations

from itertools import pairwise

import pytest

from inference.frame_ring import FrameRef
from inference.scheduler import (
    CameraView,
    CoverageMeter,
    DetectionScheduler,
    DetectorRate,
    SchedulerConfig,
    batch_for_target,
)

CONFIG = SchedulerConfig(active_interval_s=0.2, idle_interval_s=5.0, motion_hold_s=2.0)


def view(camera: str, seq: int, motion_at: float = -100.0) -> CameraView:
    return CameraView(FrameRef(camera, seq % 4, seq, float(seq)), motion_at)


def test_newest_frame_only_and_one_job_per_camera() -> None:
    sched = DetectionScheduler(["a"], CONFIG)
    picked = sched.pick(10.0, {"a": view("a", 5, motion_at=10.0)}, capacity=4)
    assert [r.seq for r in picked] == [5]
    # in flight: no second job for the same camera, however many frames arrive
    assert sched.pick(11.0, {"a": view("a", 9, motion_at=11.0)}, capacity=4) == []
    sched.done("a")
    assert [r.seq for r in sched.pick(11.0, {"a": view("a", 9, motion_at=11.0)}, 4)] == [9]


def test_static_camera_waits_for_the_idle_interval() -> None:
    sched = DetectionScheduler(["a"], CONFIG)
    assert len(sched.pick(0.0, {"a": view("a", 1)}, 1)) == 1  # first look
    sched.done("a")
    assert sched.pick(4.0, {"a": view("a", 40)}, 1) == []  # static: not due before 5 s
    assert [r.seq for r in sched.pick(5.0, {"a": view("a", 50)}, 1)] == [50]
    counters = sched.counters("a")
    assert counters.dispatched == 2
    assert counters.gated == 48  # frames 2..49 were skipped because nothing moved


def test_moving_and_alarmed_cameras_go_first() -> None:
    sched = DetectionScheduler(["idle", "moving", "alarmed"], CONFIG)
    sched.set_alarmed("alarmed", True)
    views = {
        "idle": view("idle", 1),
        "moving": view("moving", 1, motion_at=10.0),
        "alarmed": view("alarmed", 1),
    }
    picked = sched.pick(10.0, views, capacity=2)
    assert [r.camera_id for r in picked] == ["alarmed", "moving"]


def test_fairness_longest_waiting_first() -> None:
    cams = ["a", "b", "c"]
    sched = DetectionScheduler(cams, CONFIG)
    served = []
    now = 0.0
    seq = 1
    for _ in range(6):
        views = {c: view(c, seq, motion_at=now) for c in cams}
        picked = sched.pick(now, views, capacity=1)
        served.extend(r.camera_id for r in picked)
        for r in picked:
            sched.done(r.camera_id)
        now += 1.0
        seq += 1
    assert served == ["a", "b", "c", "a", "b", "c"]


def test_frames_superseded_while_waiting_count_as_stale() -> None:
    sched = DetectionScheduler(["a"], CONFIG)
    assert sched.pick(0.0, {"a": view("a", 1, motion_at=0.0)}, capacity=0) == []  # no worker
    assert sched.pick(0.1, {"a": view("a", 3, motion_at=0.1)}, capacity=0) == []
    assert [r.seq for r in sched.pick(0.2, {"a": view("a", 4, motion_at=0.2)}, 1)] == [4]
    assert sched.counters("a").stale == 3  # frames 1..3 came while it waited
    sched.done("a", overwritten=True)
    assert sched.counters("a").stale == 4


def test_tracked_people_keep_a_static_camera_active() -> None:
    sched = DetectionScheduler(["a"], CONFIG)
    sched.pick(0.0, {"a": view("a", 1)}, 1)
    sched.done("a")
    sched.set_has_tracks("a", True)  # someone standing still
    assert [r.seq for r in sched.pick(0.3, {"a": view("a", 3)}, 1)] == [3]


def serve(sched: DetectionScheduler, cams: list[str], steps: int, step_s: float) -> list[str]:
    """Pick with one free worker every `step_s`; every job comes back before the next pick."""
    served: list[str] = []
    for i in range(steps):
        now = i * step_s
        views = {c: view(c, i + 1, motion_at=now) for c in cams}
        for ref in sched.pick(now, views, capacity=1):
            served.append(ref.camera_id)
            sched.done(ref.camera_id)
    return served


def test_alarmed_cameras_cannot_starve_the_rest_of_the_site() -> None:
    cams = ["alarm-1", "alarm-2", "alarm-3", "quiet"]
    # without the guard the alarmed cameras, due again as soon as they are back, take every
    # free worker and the quiet gallery is never looked at
    greedy = DetectionScheduler(cams, SchedulerConfig(max_wait_s=float("inf")))
    for cam in cams[:3]:
        greedy.set_alarmed(cam, True)
    assert "quiet" not in serve(greedy, cams, steps=100, step_s=0.1)

    sched = DetectionScheduler(cams, SchedulerConfig(max_wait_s=2.0))
    for cam in cams[:3]:
        sched.set_alarmed(cam, True)
    served = serve(sched, cams, steps=100, step_s=0.1)
    looks = [i for i, cam in enumerate(served) if cam == "quiet"]
    # due 0.2 s after its last look, it goes first once it has waited 2 s more: a look every
    # 2.3 s (23 picks), the rest for the alarms
    assert looks == [21, 44, 67, 90]
    assert served.count("alarm-1") + served.count("alarm-2") + served.count("alarm-3") == 96


# -- aiming for coverage ---------------------------------------------------------------------

FPS = 10.0
# a moving camera due is served within max_wait_s, and one the plan stretched is not left more
# than max_wait_s + active_interval_s since its last look
FAIRNESS_BOUND_S = SchedulerConfig().max_wait_s + SchedulerConfig().active_interval_s


def live_views(cams: list[str], now: float, motion: bool = True) -> dict[str, CameraView]:
    """Every camera at 10 frames/s, its newest frame just in; motion now (or long ago)."""
    seq = int(now * FPS) + 1
    return {
        c: CameraView(FrameRef(c, seq % 4, seq, seq / FPS, now), now if motion else -100.0)
        for c in cams
    }


def simulate(
    sched: DetectionScheduler,
    cams: list[str],
    seconds: float,
    *,
    workers: int = 1,
    frame_s: float = 0.05,
    batch: int = 8,
    feed_rate: bool = True,
) -> dict[str, list[float]]:
    """A fake pool on a fake clock: `workers` workers, each batch taking `frame_s` a frame, the
    dispatch loop stepping every 10 ms as the pipeline does. Returns when each camera's results
    came back. With `feed_rate`, the scheduler learns the pool's capacity as the pipeline tells
    it (DetectorRate over the batches' times)."""
    rate = DetectorRate(batch)
    busy_until = [0.0] * workers
    jobs: list[list[str]] = [[] for _ in range(workers)]
    judged: dict[str, list[float]] = {c: [] for c in cams}
    for step in range(int(seconds * 100)):
        now = step / 100
        for w in range(workers):
            if jobs[w] and busy_until[w] <= now:
                for camera_id in jobs[w]:
                    sched.done(camera_id)
                    judged[camera_id].append(now)
                rate.note(len(jobs[w]), frame_s * len(jobs[w]))
                jobs[w] = []
        if feed_rate and rate.seconds_per_frame is not None:
            every = rate.seconds_per_frame * batch / workers  # a full batch, over the workers
            sched.set_capacity(rate.looks_per_s(workers), every)
        idle = [w for w in range(workers) if not jobs[w]]
        if not idle:
            continue
        refs = sched.pick(now, live_views(cams, now), capacity=batch * len(idle))
        for i, w in enumerate(idle):
            mine = refs[i :: len(idle)]
            if mine:
                jobs[w] = [r.camera_id for r in mine]
                busy_until[w] = now + frame_s * len(mine)
    return judged


def coverage(judged: dict[str, list[float]], start: float, end: float, target: float) -> float:
    """Share of the cameras' time in [start, end] spent in gaps between two judgements no
    longer than `target` (every camera moving all the time)."""
    covered = total = 0.0
    for times in judged.values():
        for a, b in pairwise([start, *(t for t in times if start < t < end), end]):
            total += b - a
            covered += (b - a) if b - a <= target else 0.0
    return covered / total


def worst_gap(times: list[float], start: float, end: float) -> float:
    points = [start, *(t for t in times if start <= t <= end), end]
    return max(b - a for a, b in pairwise(points))


def test_with_room_for_everyone_the_plan_changes_nothing() -> None:
    cams = [f"c{i}" for i in range(4)]
    sched = DetectionScheduler(cams, SchedulerConfig())
    sched.set_capacity(100.0)  # 4 cameras x 5 looks/s fit easily
    sched.pick(0.0, live_views(cams, 0.0), capacity=8)
    assert {sched.interval_s(c, 0.0, 0.0) for c in cams} == {0.2}
    assert sched.stretched() == 0


def test_overloaded_plan_spends_the_budget_by_priority() -> None:
    cams = [f"c{i:02d}" for i in range(12)]
    config = SchedulerConfig()
    sched = DetectionScheduler(cams, config)
    for c in cams[:10]:
        sched.set_has_tracks(c, True)  # c10, c11: motion alone
    sched.set_near_object("c05", True)
    sched.set_capacity(20.0)  # budget 18 looks/s; 12 cameras at 0.2 s would take 60
    views = live_views(cams, 1.0)
    sched.pick(1.0, views, capacity=0)  # plans without dispatching
    interval = {c: sched.interval_s(c, 1.0, 1.0) for c in cams}
    # floor: 12 cameras at 2 s = 6 looks/s; then to 0.45 s at +1.72 each: c05 (people near
    # an object) first, then people in the site's order: five more fit; the six left share
    # the last 1.7 looks a second
    covered = [c for c in cams if interval[c] == config.covered_interval_s]
    assert covered == ["c00", "c01", "c02", "c03", "c04", "c05"]
    rest = [c for c in cams if c not in covered]
    assert all(config.covered_interval_s < interval[c] <= config.max_wait_s for c in rest)
    assert sched.stretched() == len(rest)
    spent = sum(1 / interval[c] for c in cams)
    assert spent == pytest.approx(20.0 * config.budget_share)


def test_chosen_cameras_stay_chosen_while_the_budget_allows() -> None:
    cams = [f"c{i}" for i in range(8)]
    sched = DetectionScheduler(cams, SchedulerConfig())
    for c in cams:
        sched.set_has_tracks(c, True)
    sched.set_near_object("c7", True)
    sched.set_capacity(12.0)
    sched.pick(0.0, live_views(cams, 0.0), capacity=0)
    assert [c for c in cams if sched.interval_s(c, 0.0, 0.0) <= 0.45] == ["c0", "c1", "c7"]
    sched.set_near_object("c7", False)  # the visitor stepped back: c7 is one of many again
    sched.pick(0.1, live_views(cams, 0.1), capacity=0)
    # budget 10.8: floor 4, then three cameras to 0.45 s; c7 keeps its place rather than
    # handing it to c2, which comes before it in the site
    assert [c for c in cams if sched.interval_s(c, 0.1, 0.1) <= 0.45] == ["c0", "c1", "c7"]


def test_aiming_for_coverage_covers_more_moving_cameras_than_the_even_spread() -> None:
    cams = [f"c{i:02d}" for i in range(16)]
    results = {}
    for aim in (False, True):
        sched = DetectionScheduler(cams, SchedulerConfig(aim_for_coverage=aim))
        for c in cams:
            sched.set_has_tracks(c, True)
        # 20 looks/s for 16 cameras with people: 2 a second each would need 32
        results[aim] = simulate(sched, cams, seconds=30.0, frame_s=0.05)
    even = coverage(results[False], 10.0, 30.0, 0.5)
    aimed = coverage(results[True], 10.0, 30.0, 0.5)
    # the even spread looks at every camera every 0.8 s: never within 0.5 s. The plan keeps
    # some within it (one worker, 0.4 s batches: a look every batch) and the rest within the
    # fairness bound
    assert even < 0.05
    assert aimed > 0.15
    gaps = [worst_gap(results[True][c], 10.0, 30.0) for c in cams]
    assert max(gaps) <= FAIRNESS_BOUND_S + 8 * 0.05  # and the batch it waits for


def test_alarmed_and_near_cameras_come_first_under_the_plan() -> None:
    cams = [f"c{i:02d}" for i in range(16)]
    sched = DetectionScheduler(cams, SchedulerConfig())
    for c in cams:
        sched.set_has_tracks(c, True)
    sched.set_alarmed("c15", True)
    sched.set_near_object("c14", True)
    judged = simulate(sched, cams, seconds=20.0, frame_s=0.04, workers=2)
    assert worst_gap(judged["c15"], 5.0, 20.0) <= 0.5  # alarmed: a look every batch
    assert worst_gap(judged["c14"], 5.0, 20.0) <= 0.5  # near an object: within the target
    others = [worst_gap(judged[c], 5.0, 20.0) for c in cams[:14]]
    assert max(others) <= FAIRNESS_BOUND_S + 8 * 0.04  # nobody dropped


def test_detector_rate_trusts_large_batches() -> None:
    rate = DetectorRate(full_batch=8)
    assert rate.looks_per_s(2) is None
    rate.note(1, 0.1)  # a lone frame carries the job's whole fixed cost
    assert rate.looks_per_s(1) == pytest.approx(10.0)
    rate.note(8, 0.4)
    assert rate.looks_per_s(2) == pytest.approx(40.0)
    rate.note(1, 0.2)  # small batches no longer move it
    assert rate.looks_per_s(2) == pytest.approx(40.0)


def test_coverage_meter_counts_time_in_gaps_within_the_target() -> None:
    meter = CoverageMeter(target_s=0.5, window_s=10.0)
    meter.judged("a", 0.0, 0.1)  # still: no gap counted, no age kept
    meter.sample(1.0, ["a", "b"])  # both start to move
    meter.judged("a", 1.4, 0.2)  # a: 0.4 s after it started to move: covered
    meter.judged("a", 2.2, 0.3)  # 0.8 s: not covered
    meter.judged("b", 1.3, 0.1)  # 0.3 s: covered
    figures = meter.figures(2.2)
    # covered 0.4 + 0.3; not: a's 0.8 and b's open gap 1.3 -> 2.2 (0.9 s, past the target)
    assert figures.share == pytest.approx(0.7 / (0.7 + 0.8 + 0.9))
    assert figures.moving == 2
    assert figures.age_p50_s == pytest.approx(0.2)
    assert figures.age_p95_s == pytest.approx(0.3)
    meter.sample(2.3, ["a"])  # b stops moving: its open gap (1.0 s) is closed as not covered
    assert meter.figures(2.3).share == pytest.approx(0.7 / (0.7 + 0.8 + 1.0))
    meter.sample(20.0, [])  # a stops: its open gap is closed (not covered)
    assert meter.figures(31.0).share is None  # the window moved past everything


def test_moving_needs_fresh_frames() -> None:
    sched = DetectionScheduler(["a"], CONFIG)
    sched.set_has_tracks("a", True)
    sched.pick(0.0, {"a": view("a", 1)}, 0)
    assert sched.moving("a", 1.0, -100.0)
    assert not sched.moving("a", 5.0, -100.0)  # no new frame for 5 s: stalled, not moving


def test_batches_shrink_to_what_a_worker_finishes_within_the_target() -> None:
    """A camera has one frame in flight, so a batch's time is the shortest gap between two of
    its looks: at 0.2 s a frame a batch of 8 (1.6 s) keeps every camera in it past 0.5 s."""
    assert batch_for_target(None, 0.45, 8) == 8  # speed not measured yet: full batches
    assert batch_for_target(0.03, 0.45, 8) == 8  # fast frames: the cap does not bind
    assert batch_for_target(0.1, 0.45, 8) == 4
    assert batch_for_target(0.2, 0.45, 8) == 2
    assert batch_for_target(0.9, 0.45, 8) == 1  # slower than the target: one frame, never none
    covered = DetectionScheduler(["a"], SchedulerConfig())
    covered.set_capacity(2 / 0.2, batch_every_s=0.2 * 2 / 2)  # two workers, batches of 2
    assert covered.covered_interval()[1] <= SchedulerConfig().covered_interval_s
    full = DetectionScheduler(["a"], SchedulerConfig())
    full.set_capacity(2 / 0.2, batch_every_s=0.2 * 8 / 2)  # the same pool, batches of 8
    assert full.covered_interval()[1] > SchedulerConfig().coverage_target_s


def planned_near(cams: list[str], near: list[str], looks_per_s: float) -> DetectionScheduler:
    """A plan for cameras that all see people, some near an object, batches every 0.15 s."""
    sched = DetectionScheduler(cams, SchedulerConfig())
    for c in cams:
        sched.set_has_tracks(c, True)
    for c in near:
        sched.set_near_object(c, True)
    sched.set_capacity(looks_per_s, batch_every_s=0.15)
    sched.pick(1.0, live_views(cams, 1.0), capacity=0)
    return sched


def test_people_near_an_object_are_looked_at_on_every_batch_when_the_budget_allows() -> None:
    """Their dwell clock runs: a look every 0.45 s would bring the alarm up to 0.45 s after the
    dwell ends. With room left after every moving camera is within the target, they are looked
    at on every batch; without it, they stay at the target like everyone."""
    cams = [f"c{i:02d}" for i in range(16)]
    # 58 looks/s: 16 cameras at a look every 0.45 s take 35.6 of the 52.2 to spend; a look
    # every batch costs 4.4 more a camera
    sched = planned_near(cams, ["c03", "c09"], 58.0)
    interval = {c: sched.interval_s(c, 1.0, 1.0) for c in cams}
    assert interval["c03"] == interval["c09"] == 0.0
    assert all(0.0 < interval[c] <= 0.45 for c in cams if c not in ("c03", "c09"))
    # 38 looks/s: 16 cameras at 0.45 s would take 35.6 of 34.2 -- no room: nobody is hurried
    assert planned_near(cams, ["c03"], 38.0).interval_s("c03", 1.0, 1.0) > 0.0
    # room for one: the first near an object in the site's order
    one = planned_near(cams, ["c03", "c09"], 48.0)
    assert one.interval_s("c03", 1.0, 1.0) == 0.0
    assert one.interval_s("c09", 1.0, 1.0) > 0.0
