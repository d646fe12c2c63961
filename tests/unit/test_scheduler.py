"""The detection scheduler's policy, driven by scripted frame references and a fake clock."""

from __future__ import annotations

from inference.frame_ring import FrameRef
from inference.scheduler import CameraView, DetectionScheduler, SchedulerConfig

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
