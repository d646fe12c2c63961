"""The core loop: the pipeline never waits for the core, jobs run in order on the core thread,
replay judges every frame. A scripted judge and tick stand in for presence and the rules."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from console.core_loop import CoreLoop
from inference.detections import Detections
from inference.frame_ring import FrameRef
from inference.pipeline import TrackedFrame


def frame(camera: str, seq: int) -> TrackedFrame:
    return TrackedFrame(
        FrameRef(camera, 0, seq, float(seq)), Detections.empty(), Detections.empty(), 0.0
    )


class ScriptedJudge:
    """Records what it judged and on which thread; can be held inside a judgement."""

    def __init__(self) -> None:
        self.judged: list[tuple[str, int]] = []
        self.threads: set[str] = set()
        self.hold = threading.Event()
        self.hold.set()
        self.inside = threading.Event()
        self.ticks = 0

    def judge(self, tracked: TrackedFrame) -> None:
        self.threads.add(threading.current_thread().name)
        self.inside.set()
        assert self.hold.wait(30)
        self.judged.append((tracked.ref.camera_id, tracked.ref.seq))

    def tick(self) -> None:
        self.ticks += 1


@pytest.fixture
def judge() -> ScriptedJudge:
    return ScriptedJudge()


@pytest.fixture
def loop(judge: ScriptedJudge) -> Iterator[CoreLoop]:
    core = CoreLoop(judge.judge, judge.tick, tick_every_s=0.05)
    core.start()
    yield core
    judge.hold.set()
    core.stop()


def wait_idle(core: CoreLoop) -> None:
    done = core.post(lambda: None)
    done.result(timeout=30)
    for _ in range(1000):
        if core.idle():
            return
        threading.Event().wait(0.01)
    raise AssertionError("the core did not become idle")


def test_a_busy_core_never_holds_up_the_pipeline_and_newest_frame_wins(loop, judge) -> None:
    judge.hold.clear()
    loop.deliver(frame("cam-a", 1))
    assert judge.inside.wait(30)  # the core is stuck inside judging cam-a #1
    delivered = threading.Event()

    def pipeline() -> None:  # the dispatch thread keeps delivering
        for seq in range(2, 12):
            loop.deliver(frame("cam-a", seq))
            loop.deliver(frame("cam-b", seq))
        delivered.set()

    sender = threading.Thread(target=pipeline)
    sender.start()
    assert delivered.wait(30), "deliver() waited for the core"
    sender.join()
    judge.hold.set()
    wait_idle(loop)
    # the stuck frame, then only the newest frame of each camera
    assert judge.judged[0] == ("cam-a", 1)
    assert sorted(judge.judged[1:]) == [("cam-a", 11), ("cam-b", 11)]
    stats = loop.stats()
    assert (stats.frames_in, stats.frames_judged, stats.superseded) == (21, 3, 18)
    assert judge.threads == {"nightwatch-core"}


def test_jobs_run_in_order_on_the_core_thread_and_answer_through_futures(loop) -> None:
    seen: list[tuple[int, str]] = []
    futures = [
        loop.post(lambda i=i: seen.append((i, threading.current_thread().name)) or i)
        for i in range(20)
    ]
    assert [f.result(timeout=30) for f in futures] == list(range(20))
    assert seen == [(i, "nightwatch-core") for i in range(20)]

    def refuse() -> None:
        raise ValueError("alarm 7 is resolved")

    with pytest.raises(ValueError, match="alarm 7 is resolved"):
        loop.post(refuse).result(timeout=30)
    assert loop.post(lambda: "still running").result(timeout=30) == "still running"


def test_a_failing_judgement_does_not_stop_the_core(judge) -> None:
    calls: list[int] = []

    def judge_badly(tracked: TrackedFrame) -> None:
        calls.append(tracked.ref.seq)
        if tracked.ref.seq == 1:
            raise RuntimeError("a bad frame")

    core = CoreLoop(judge_badly, judge.tick, tick_every_s=0.05)
    core.start()
    try:
        core.deliver(frame("cam-a", 1))
        wait_idle(core)
        core.deliver(frame("cam-a", 2))
        wait_idle(core)
        assert calls == [1, 2]
    finally:
        core.stop()


def test_the_tick_runs_without_frames(loop, judge) -> None:
    for _ in range(200):
        if judge.ticks >= 3:
            break
        threading.Event().wait(0.05)
    assert judge.ticks >= 3


def test_stop_finishes_posted_jobs_and_then_refuses(judge) -> None:
    core = CoreLoop(judge.judge, judge.tick)
    core.start()
    ran: list[int] = []
    futures = [core.post(lambda i=i: ran.append(i)) for i in range(50)]
    core.stop()
    assert all(f.done() for f in futures)
    assert ran == list(range(50))
    late = core.post(lambda: ran.append(99))
    with pytest.raises(RuntimeError, match="not running"):
        late.result(timeout=1)
    assert core.thread is None


def test_replay_is_lossless_every_frame_judged_in_order(judge) -> None:
    core = CoreLoop(judge.judge, judge.tick, lossless=True)
    core.start()
    try:
        for seq in range(1, 101):
            core.deliver(frame("cam-a", seq))
            core.deliver(frame("cam-b", seq))
        wait_idle(core)
    finally:
        core.stop()
    for camera in ("cam-a", "cam-b"):
        assert [s for c, s in judge.judged if c == camera] == list(range(1, 101))
    assert core.stats().superseded == 0
