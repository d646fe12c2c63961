"""The core's own thread: every judgement and every change of an alarm happens here.

    dispatch thread ── deliver(TrackedFrame) ──► mailbox (per camera, newest wins) ─┐
    any thread ─────── post(job) ──────────────► jobs (in order) ───────────────────┤
    store writer ───── wake() ─────────────────────────────────────────────────────┤
                                                                                    ▼
                                               core thread: jobs, then frames, then the tick

The vision pipeline drops each camera's newest tracked frame into a mailbox and moves on: it
never waits for presence, the rules or the alarm manager, and a camera whose frame the core has
not got round to is simply replaced by its newer one (counted in `superseded`). GUI actions and
status changes are jobs, run in the order they were posted, each answered through its future.
Nothing on this thread waits for the disk either (the store has its own writer).

Replay needs every frame judged, in order: there the mailbox is lossless, and a camera's next
frame waits until the core has taken the previous one (the lockstep capture waits in turn). And
across cameras the core judges in video time: it takes the frame with the earliest time stamp
only once every camera it expects has a frame waiting or has finished, so two replays of the same
footage judge the same frames in the same order on any machine.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from inference.pipeline import TrackedFrame

log = logging.getLogger(__name__)

__all__ = ["CoreLoop", "CoreLoopStats"]

MERGE_PATIENCE_S = 20.0  # a replay camera silent this long is judged around, with a warning

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class CoreLoopStats:
    frames_in: int  # tracked frames delivered to the mailbox
    frames_judged: int
    superseded: int  # replaced in the mailbox by a newer frame of the same camera
    jobs_run: int


class _Job(Generic[T]):
    __slots__ = ("fn", "future")

    def __init__(self, fn: Callable[[], T]) -> None:
        self.fn = fn
        self.future: Future[T] = Future()


class CoreLoop:
    """One owned thread that runs posted jobs, judges delivered frames and ticks."""

    def __init__(
        self,
        judge: Callable[[TrackedFrame], None],
        tick: Callable[[], None],
        *,
        tick_every_s: float | None = 1.0,
        after_each: Callable[[], None] | None = None,
        lossless: bool = False,
        name: str = "nightwatch-core",
    ) -> None:
        self._judge = judge
        self._tick = tick
        self._tick_every_s = tick_every_s
        self._after_each = after_each
        self._lossless = lossless
        self._name = name
        self._cond = threading.Condition()
        self._frames: dict[str, TrackedFrame] = {}
        self._jobs: list[_Job[Any]] = []
        self._woken = False
        self._busy = False
        self._stopping = False
        self._last_taken = time.monotonic()
        self._thread: threading.Thread | None = None
        self._expected: set[str] | None = None  # lossless: cameras merged in video time
        self._finished: set[str] = set()
        self._frames_in = 0
        self._judged = 0
        self._superseded = 0
        self._jobs_run = 0

    # -- any thread ----------------------------------------------------------------------------

    def deliver(self, frame: TrackedFrame) -> None:
        """A camera's newest tracked frame. Never blocks, except in a lossless (replay) loop,
        where it waits until the camera's previous frame has been taken."""
        camera_id = frame.ref.camera_id
        with self._cond:
            if self._lossless:
                while camera_id in self._frames and not self._stopping:
                    self._cond.wait(0.5)
            if self._stopping:
                return
            if camera_id in self._frames:
                self._superseded += 1
            self._frames[camera_id] = frame
            self._frames_in += 1
            self._cond.notify_all()

    def post(self, fn: Callable[[], T]) -> Future[T]:
        """Run `fn` on the core thread, after the jobs posted before it; its result or error
        completes the future. After `stop()`, the future fails at once."""
        job: _Job[T] = _Job(fn)
        with self._cond:
            if self._stopping or self._thread is None:
                job.future.set_exception(RuntimeError("the core is not running"))
                return job.future
            self._jobs.append(job)
            self._cond.notify_all()
        return job.future

    def expect(self, camera_ids: set[str] | list[str]) -> None:
        """Lossless (replay): judge these cameras' frames merged in video-time order."""
        with self._cond:
            self._expected = set(camera_ids)
            self._cond.notify_all()

    def finish(self, camera_id: str) -> None:
        """Lossless (replay): this camera sends no more frames (end of its file)."""
        with self._cond:
            self._finished.add(camera_id)
            self._cond.notify_all()

    def wake(self) -> None:
        """Run `after_each` soon (e.g. the store has written something)."""
        with self._cond:
            self._woken = True
            self._cond.notify_all()

    def idle(self) -> bool:
        """Nothing waiting and nothing being done."""
        with self._cond:
            return not (self._frames or self._jobs or self._busy)

    def stats(self) -> CoreLoopStats:
        with self._cond:
            return CoreLoopStats(self._frames_in, self._judged, self._superseded, self._jobs_run)

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        with self._cond:
            if self._thread is not None:
                return
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Finish the jobs already posted, then stop and join the thread."""
        with self._cond:
            thread = self._thread
            self._stopping = True
            self._cond.notify_all()
        if thread is not None:
            thread.join(timeout_s)
            if thread.is_alive():
                log.error("the core thread did not stop within %.0f s", timeout_s)
        with self._cond:
            self._thread = None
            left, self._jobs = self._jobs, []
        for job in left:
            if job.future.set_running_or_notify_cancel():
                job.future.set_exception(RuntimeError("the core stopped before this ran"))

    # -- the core thread -----------------------------------------------------------------------

    def _take_frames(self) -> list[TrackedFrame]:
        """The frames to judge now (under the condition's lock): every waiting one; in a merged
        replay only the earliest, once every expected camera has one waiting or has finished."""
        if self._expected is None:
            frames = list(self._frames.values())
            self._frames.clear()
            return frames
        if not self._frames:
            return []
        missing = self._expected - self._finished - self._frames.keys()
        if missing and time.monotonic() - self._last_taken < MERGE_PATIENCE_S:
            return []
        if missing:
            log.warning(
                "replay: no frame from %s for %.0f s; judging the others without them (the "
                "order may differ from another run)",
                ", ".join(sorted(missing)),
                MERGE_PATIENCE_S,
            )
        camera_id = min(self._frames, key=lambda c: (self._frames[c].ref.ts, c))
        self._last_taken = time.monotonic()
        return [self._frames.pop(camera_id)]

    def _run(self) -> None:
        every = self._tick_every_s
        next_tick = time.monotonic() + every if every is not None else math.inf
        self._last_taken = time.monotonic()
        while True:
            with self._cond:
                while not (self._ready() or self._jobs or self._woken or self._stopping):
                    wait_s = next_tick - time.monotonic()
                    if self._expected is not None and self._frames:
                        # a merged replay waiting for a camera: look again (after_each may
                        # learn that the camera has finished)
                        wait_s = min(wait_s, 0.5)
                        if self._cond.wait(wait_s):
                            continue
                        break
                    if wait_s <= 0:
                        break
                    self._cond.wait(min(wait_s, 3600.0))
                jobs, self._jobs = self._jobs, []
                frames = self._take_frames()
                self._woken = False
                stopping = self._stopping
                self._busy = True
                if frames and self._lossless:
                    self._cond.notify_all()  # the cameras may publish their next frame
            try:
                for job in jobs:
                    self._run_job(job)
                for frame in frames:
                    self._judge_one(frame)
                if every is not None and time.monotonic() >= next_tick:
                    next_tick = time.monotonic() + every
                    self._guarded(self._tick, "tick")
                if self._after_each is not None:
                    self._guarded(self._after_each, "settle")
            finally:
                with self._cond:
                    self._busy = False
                    self._jobs_run += len(jobs)
                    self._judged += len(frames)
            if stopping:
                with self._cond:
                    if not self._jobs:
                        return

    def _ready(self) -> bool:
        """Frames can be taken now (under the condition's lock)."""
        if not self._frames:
            return False
        if self._expected is None:
            return True
        missing = self._expected - self._finished - self._frames.keys()
        return not missing or time.monotonic() - self._last_taken >= MERGE_PATIENCE_S

    def _run_job(self, job: _Job[Any]) -> None:
        if not job.future.set_running_or_notify_cancel():
            return
        try:
            result = job.fn()
        except BaseException as exc:  # the poster hears of it through its future
            job.future.set_exception(exc)
        else:
            job.future.set_result(result)

    def _judge_one(self, frame: TrackedFrame) -> None:
        try:
            self._judge(frame)
        except Exception:  # one bad frame must not stop the core
            log.exception("judging a frame of camera %s failed", frame.ref.camera_id)

    def _guarded(self, fn: Callable[[], None], what: str) -> None:
        try:
            fn()
        except Exception:
            log.exception("core %s failed", what)
