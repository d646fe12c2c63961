"""Which cameras get a detector pass now: motion gate, priority and fairness, newest frame only.

The scheduler is plain logic over camera state and a clock (no threads, no processes), so its
policy is tested with scripted frames and a fake clock. The pipeline asks it, each time workers
are free, for up to `capacity` frame references:

- a camera with a job in flight gets no second one (results of one camera arrive in order);
- what a camera needs is its `Watch`: alarmed (the core says so), people near a protected object
  (the core's hint), people tracked, motion within `motion_hold_s`, or still;
- a camera is due when its interval has passed since its last detection: `alarmed_interval_s`
  when alarmed, `active_interval_s` when anything moves or people are tracked, `idle_interval_s`
  when still (a still camera is still looked at now and then: a person standing still makes no
  motion);
- due cameras are served alarmed first, then people near objects, then the rest, each by how long
  it has waited; but a camera that has been due for longer than `max_wait_s` goes before all of
  them (longest waiting first), so a burst of alarmed cameras, which are due again the moment
  their result is back, cannot leave the rest of the site unwatched;
- only a camera's newest frame is ever dispatched; the frames that arrived while it waited for a
  free worker are counted as stale, those that arrived while it was not due as gated.

**Coverage** is the figure that matters: the share of moving cameras judged at least every
`coverage_target_s` (0.5 s), measured by `CoverageMeter`. The pipeline tells the scheduler how
many looks a second the worker pool gives (`set_capacity`, measured from its batches by
`DetectorRate`). When that is not enough to look at every moving camera every
`active_interval_s`, the looks become a budget (`aim_for_coverage`, see
`DetectionScheduler.plan`):

- if an even spread still keeps every moving camera within the target, every one is given the
  covered interval (nobody takes more than it needs);
- otherwise each moving camera first gets a floor (a look every `max_wait_s`, or half the even
  share when the pool cannot give everyone even that), then, as far as the budget goes, cameras
  with people near a protected object (the core's hint: their dwell clock is running), then with
  people, then with motion alone are kept within the target (`covered_interval_s`, snapped to
  the batches the pool sends out), then the same back to `active_interval_s`; the cameras left
  at the floor share what remains evenly. Alarmed cameras still come first in line, on every
  frame. The cameras chosen stay chosen while the budget allows (no flapping between plans).
- in either case, what the budget still holds goes to the cameras with people near a protected
  object: looked at on every batch, like alarmed ones, so their alarm comes when the rule's
  dwell ends rather than up to a covered interval after it (bench/alert_latency.py).

A camera has one frame in flight, so the time of the batch it is in is the shortest gap between
two of its looks: when frames are slow, the pipeline sends batches no larger than a worker
finishes within `covered_interval_s` (`batch_for_target`; `fit_batches_to_target`), else
batches of 8 at 0.2 s a frame would keep every camera past the target whatever the plan.

So a camera is never dropped: the least urgent are looked at less often (every second or two
instead of five times a second) so that those that matter are judged within the target, and a
camera the plan stretched is still looked at within `max_wait_s + active_interval_s` whenever
the pool can give every camera that.

Lower resolution is no lever for the offline SSDLite model: it squashes every frame to 300x300
whatever its size, so the network's cost does not depend on the frame's. Looking less often at
the cameras that matter least is the lever.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import IntEnum
from functools import partial

from inference.frame_ring import FrameRef

DEFAULT_FRAME_INTERVAL_S = 0.1  # until a camera's frame rate has been seen (10 frames/s)


@dataclass(frozen=True, slots=True)
class SchedulerConfig:
    active_interval_s: float = 0.2
    idle_interval_s: float = 5.0
    alarmed_interval_s: float = 0.0
    motion_hold_s: float = 2.0
    max_wait_s: float = 2.0
    # coverage: a moving camera should be judged at least every coverage_target_s
    coverage_target_s: float = 0.5
    # the longest gap the plan gives a camera it keeps within the target (room for jitter)
    covered_interval_s: float = 0.45
    # spend the measured looks per second by priority when they do not reach every camera;
    # False: every moving camera at active_interval_s whatever the load (the policy before)
    aim_for_coverage: bool = True
    budget_share: float = 0.9  # of the measured capacity the plan may spend
    # when frames are slow, send batches no larger than a worker finishes within
    # covered_interval_s (a camera has one frame in flight, so a batch's time is the shortest
    # gap between two of its looks); False: always up to the pipeline's max_batch
    fit_batches_to_target: bool = True


class Watch(IntEnum):
    """What a camera needs now, most urgent first (its value is its rank among due cameras)."""

    ALARMED = 0
    NEAR_OBJECT = 1  # people near a protected object (the core's hint)
    PEOPLE = 2  # people tracked
    MOTION = 3  # motion within motion_hold_s, nobody tracked
    STILL = 4

    @property
    def moving(self) -> bool:
        """Counted for coverage: anything but a still camera."""
        return self is not Watch.STILL


@dataclass(slots=True)
class CameraCounters:
    dispatched: int = 0
    gated: int = 0  # frames not detected because the camera was not due (static scene)
    stale: int = 0  # frames superseded by a newer one while waiting for a worker, or overwritten


@dataclass(slots=True)
class _CameraState:
    order: int = 0  # the camera's place among the others (stable tie-break of plans)
    last_seq: int = 0
    last_dispatched_at: float = -math.inf
    due_since_seq: int | None = None
    due_since_at: float | None = None  # when the camera became due and started to wait
    in_flight: bool = False
    alarmed: bool = False
    near_object: bool = False
    has_tracks: bool = False
    seen_seq: int = 0  # newest sequence number seen in a view, and its source time
    seen_ts: float = 0.0
    new_frame_at: float = -math.inf  # when (scheduler clock) a new frame was last seen
    frame_interval_s: float = DEFAULT_FRAME_INTERVAL_S
    planned_interval_s: float | None = None  # the plan's interval; None: the plain policy
    counters: CameraCounters = field(default_factory=CameraCounters)


@dataclass(frozen=True, slots=True)
class CameraView:
    """What the scheduler needs to know of a camera right now."""

    latest: FrameRef | None
    last_motion_at: float  # wall time of the last frame that passed the motion gate


class DetectionScheduler:
    def __init__(self, camera_ids: list[str], config: SchedulerConfig | None = None) -> None:
        self.config = config or SchedulerConfig()
        self._cameras: dict[str, _CameraState] = {}
        self._next_order = 0
        for camera_id in camera_ids:
            self.add_camera(camera_id)
        self._capacity: float | None = None  # looks per second the workers give (measured)
        self._batch_every_s: float | None = None

    def add_camera(self, camera_id: str) -> None:
        """A camera added while running (a site applied without a restart)."""
        if camera_id not in self._cameras:
            self._cameras[camera_id] = _CameraState(order=self._next_order)
            self._next_order += 1

    def remove_camera(self, camera_id: str) -> None:
        """A camera removed while running; a job of it still in flight is then ignored."""
        self._cameras.pop(camera_id, None)

    def set_alarmed(self, camera_id: str, alarmed: bool) -> None:
        self._cameras[camera_id].alarmed = alarmed

    def set_near_object(self, camera_id: str, near: bool) -> None:
        """The core's hint: this camera sees people near a protected object."""
        self._cameras[camera_id].near_object = near

    def set_has_tracks(self, camera_id: str, has_tracks: bool) -> None:
        self._cameras[camera_id].has_tracks = has_tracks

    def set_capacity(self, looks_per_s: float | None, batch_every_s: float | None = None) -> None:
        """How many looks a second the worker pool gives now (None: not known yet), and how
        often a worker frees up for the next batch when the pool is busy (a full batch's time
        over the workers): a camera can only be looked at when a batch goes out."""
        self._capacity = looks_per_s if looks_per_s and looks_per_s > 0 else None
        self._batch_every_s = batch_every_s if batch_every_s and batch_every_s > 0 else None

    def covered_interval(self) -> tuple[float, float]:
        """(interval to dispatch at, seconds between looks it gives) for a camera the plan
        keeps within the target. Looks happen when a batch goes out, every `batch_every_s` on a
        busy pool, so a camera due 0.4 s after its last look waits for the batch after that:
        with one worker and 0.32 s batches, every 0.64 s. The interval is snapped to just
        before the last batch that still keeps `covered_interval_s`."""
        target = self.config.covered_interval_s
        step = self._batch_every_s
        if step is None:
            return target, target
        batches = math.floor(target / step)
        if batches < 1:
            return 0.0, step  # every batch, and still longer than the target
        return batches * step - step / 2, batches * step

    @property
    def capacity(self) -> float | None:
        return self._capacity

    def counters(self, camera_id: str) -> CameraCounters:
        return self._cameras[camera_id].counters

    def in_flight(self, camera_id: str) -> bool:
        return self._cameras[camera_id].in_flight

    def watch(self, camera_id: str, now: float, last_motion_at: float) -> Watch:
        state = self._cameras[camera_id]
        if state.alarmed:
            return Watch.ALARMED
        if now - last_motion_at > self.config.motion_hold_s and not state.has_tracks:
            return Watch.STILL
        if state.near_object:
            return Watch.NEAR_OBJECT
        return Watch.PEOPLE if state.has_tracks else Watch.MOTION

    def moving(self, camera_id: str, now: float, last_motion_at: float) -> bool:
        """Counted for coverage: not still, and its frames still arrive (an offline or stalled
        camera is camera health's business, not the detector's)."""
        state = self._cameras[camera_id]
        fresh = now - state.new_frame_at <= self.config.motion_hold_s
        return fresh and self.watch(camera_id, now, last_motion_at).moving

    def interval_s(self, camera_id: str, now: float, last_motion_at: float) -> float:
        state = self._cameras[camera_id]
        watch = self.watch(camera_id, now, last_motion_at)
        if watch is Watch.ALARMED:
            return self.config.alarmed_interval_s
        if watch is Watch.STILL:
            return self.config.idle_interval_s
        if state.planned_interval_s is not None:
            return state.planned_interval_s
        return self.config.active_interval_s

    def stretched(self) -> int:
        """Moving cameras the last plan could not keep within the coverage target."""
        target = self.config.covered_interval_s
        return sum(
            1
            for s in self._cameras.values()
            if s.planned_interval_s is not None and s.planned_interval_s > target
        )

    # -- the plan ----------------------------------------------------------------------------

    def _see(self, now: float, views: dict[str, CameraView]) -> None:
        """Note new frames: when each camera's last one came, and its frame interval."""
        for camera_id, view in views.items():
            state = self._cameras[camera_id]
            ref = view.latest
            if ref is None or ref.seq <= state.seen_seq:
                continue
            if state.seen_seq > 0 and ref.ts > state.seen_ts:
                interval = (ref.ts - state.seen_ts) / (ref.seq - state.seen_seq)
                state.frame_interval_s += 0.2 * (interval - state.frame_interval_s)
            state.seen_seq, state.seen_ts = ref.seq, ref.ts
            state.new_frame_at = now

    def _rate(self, state: _CameraState, interval_s: float) -> float:
        """Looks per second a camera takes at this interval (never more than its frames)."""
        return 1.0 / max(interval_s, state.frame_interval_s, 1e-3)

    def plan(self, now: float, views: dict[str, CameraView]) -> None:
        """Spend the looks per second the workers give by what matters (see the module doc).

        When every moving camera fits at `active_interval_s`, nothing is planned. Otherwise
        each moving camera starts at the floor: `max_wait_s`, or twice the even share when the
        workers cannot give every camera even that (nobody gets less than half of what an even
        spread would give). Then, while the budget allows: people near a protected object to
        `covered_interval_s`, then people, then motion alone; then the same to
        `active_interval_s`. Within a step, cameras the last plan gave that interval (or a
        shorter one) keep it first, then in the site's order. What is left is shared evenly by
        the cameras still at the floor.

        Alarmed cameras are reckoned at the floor although they are due on every new frame:
        what they take beyond it they get anyway (they rank first), and the starvation bound in
        `pick` keeps the rest in sight. Still cameras are reckoned at `idle_interval_s`."""
        cfg = self.config
        previous = {c: s.planned_interval_s for c, s in self._cameras.items()}
        for state in self._cameras.values():
            state.planned_interval_s = None
        if not cfg.aim_for_coverage or self._capacity is None:
            return
        budget = self._capacity * cfg.budget_share
        moving: dict[Watch, list[tuple[str, _CameraState]]] = {
            Watch.NEAR_OBJECT: [],
            Watch.PEOPLE: [],
            Watch.MOTION: [],
        }
        alarmed: list[_CameraState] = []
        for camera_id, view in views.items():
            state = self._cameras[camera_id]
            if now - state.new_frame_at > cfg.motion_hold_s:
                continue  # no frames coming: nothing to spend on it
            watch = self.watch(camera_id, now, view.last_motion_at)
            if watch is Watch.ALARMED:
                alarmed.append(state)
            elif watch is Watch.STILL:
                budget -= self._rate(state, cfg.idle_interval_s)
            else:
                moving[watch].append((camera_id, state))
        everyone = [item for group in moving.values() for item in group]
        active = cfg.active_interval_s
        wanted = sum(self._rate(s, active) for _, s in everyone)
        wanted += sum(self._rate(s, max(active, cfg.alarmed_interval_s)) for s in alarmed)
        if wanted <= budget or not everyone:
            return  # every moving camera at active_interval_s: nothing to choose
        # (interval to dispatch at, seconds between looks it gives): see covered_interval()
        covered = self.covered_interval()
        count = len(everyone) + len(alarmed)
        if count / self._capacity <= cfg.coverage_target_s:
            # an even spread keeps every camera within the target: all at the covered interval,
            # so that none takes more than it needs; what is left goes to people near objects
            interval = {camera_id: covered[0] for camera_id, _ in everyone}
            looks_every = {camera_id: covered[1] for camera_id, _ in everyone}
            budget -= sum(self._rate(s, covered[1]) for _, s in everyone)
            budget -= sum(self._rate(s, covered[1]) for s in alarmed)
            self._hurry_near_objects(moving[Watch.NEAR_OBJECT], interval, looks_every, budget)
            for camera_id, state in everyone:
                state.planned_interval_s = interval[camera_id]
            return
        # still cameras may have taken most of it; a tenth is kept for the moving ones anyway
        floor = max(cfg.max_wait_s, 2.0 * count / max(budget, 0.1 * self._capacity))
        interval = {camera_id: floor for camera_id, _ in everyone}
        budget -= sum(self._rate(s, floor) for s in alarmed)
        budget -= sum(self._rate(s, floor) for _, s in everyone)
        looks_every = {camera_id: floor for camera_id, _ in everyone}
        steps = [(watch, covered) for watch in moving]
        if active < covered[0]:
            steps += [(watch, (active, active)) for watch in moving]
        for watch, (target, every) in steps:
            group = sorted(
                moving[watch], key=partial(_keep_first, previous=previous, target=target)
            )
            for camera_id, state in group:
                if interval[camera_id] <= target:
                    continue
                cost = self._rate(state, every) - self._rate(state, looks_every[camera_id])
                if cost > budget:
                    break  # the rest of this step costs as much: none fits
                budget -= cost
                interval[camera_id], looks_every[camera_id] = target, every
        budget = self._hurry_near_objects(moving[Watch.NEAR_OBJECT], interval, looks_every, budget)
        left = [(c, s) for c, s in everyone if interval[c] >= floor]
        if left and budget > 0:  # what is left, shared by those at the floor
            share = len(left) / (budget + sum(self._rate(s, floor) for _, s in left))
            for camera_id, _ in left:
                interval[camera_id] = min(floor, max(cfg.covered_interval_s, share))
        for camera_id, state in everyone:
            state.planned_interval_s = interval[camera_id]

    def _hurry_near_objects(
        self,
        near: list[tuple[str, _CameraState]],
        interval: dict[str, float],
        looks_every: dict[str, float],
        budget: float,
    ) -> float:
        """People near a protected object have their dwell clock running: as far as the
        budget goes, those the plan already keeps within the target are looked at on every
        batch (as alarmed cameras are), so their alarm comes when the dwell ends, not up to an
        interval after it. Returns the budget left."""
        every = self._batch_every_s or 0.0
        for camera_id, state in near:
            if interval[camera_id] > self.config.covered_interval_s:
                continue  # not even within the target: the plan could not afford it
            cost = self._rate(state, every) - self._rate(state, looks_every[camera_id])
            if cost > budget:
                break
            budget -= cost
            interval[camera_id], looks_every[camera_id] = 0.0, every
        return budget

    # -- picking -----------------------------------------------------------------------------

    def pick(self, now: float, views: dict[str, CameraView], capacity: int) -> list[FrameRef]:
        """Up to `capacity` newest-frame references to detect now; marks their cameras in flight."""
        self._see(now, views)
        self.plan(now, views)
        due: list[tuple[int, float, FrameRef]] = []
        for camera_id, view in views.items():
            state = self._cameras[camera_id]
            ref = view.latest
            if ref is None or ref.seq <= state.last_seq or state.in_flight:
                continue
            interval = self.interval_s(camera_id, now, view.last_motion_at)
            if now - state.last_dispatched_at < interval:
                state.due_since_at = None  # not due: not waiting either
                continue
            if state.due_since_seq is None:
                state.due_since_seq = ref.seq
            if state.due_since_at is None:
                state.due_since_at = now
            if self._starving(camera_id, now, view, interval):  # before everyone, oldest first
                due.append((-1, state.due_since_at, ref))
                continue
            due.append((self._rank(camera_id, now, view, interval), state.last_dispatched_at, ref))
        due.sort(key=lambda item: (item[0], item[1]))
        chosen = [ref for _, _, ref in due[: max(0, capacity)]]
        for ref in chosen:
            state = self._cameras[ref.camera_id]
            since = state.due_since_seq if state.due_since_seq is not None else ref.seq
            state.counters.gated += max(0, since - state.last_seq - 1)
            state.counters.stale += max(0, ref.seq - since)
            state.counters.dispatched += 1
            state.last_seq = ref.seq
            state.last_dispatched_at = now
            state.due_since_seq = None
            state.due_since_at = None
            state.in_flight = True
        return chosen

    def _starving(self, camera_id: str, now: float, view: CameraView, interval: float) -> bool:
        """Due for longer than `max_wait_s`; or a moving camera the plan gave at most
        `max_wait_s` that has not been looked at for `max_wait_s + active_interval_s` (as long
        as it would have waited under the plain policy), so cameras the plan stretched are not
        left longer than before when alarmed cameras take more than the plan reckoned."""
        state = self._cameras[camera_id]
        cfg = self.config
        assert state.due_since_at is not None
        if now - state.due_since_at > cfg.max_wait_s:
            return True
        if state.planned_interval_s is None or interval > cfg.max_wait_s:
            return False
        if not self.watch(camera_id, now, view.last_motion_at).moving:
            return False
        return now - state.last_dispatched_at > cfg.max_wait_s + cfg.active_interval_s

    def _rank(self, camera_id: str, now: float, view: CameraView, interval: float) -> int:
        """Order among due cameras (lower first). Aiming for coverage: alarmed, people near an
        object, people, motion, then those the plan stretched (people, motion), then still
        ones. The plain policy: alarmed, moving, still."""
        watch = self.watch(camera_id, now, view.last_motion_at)
        if not self.config.aim_for_coverage:
            if watch is Watch.ALARMED:
                return 0
            return 1 if interval <= self.config.active_interval_s else 2
        if watch is Watch.STILL:
            return 6
        if watch in (Watch.PEOPLE, Watch.MOTION) and interval > self.config.covered_interval_s:
            return int(watch) + 2
        return int(watch)

    def done(self, camera_id: str, *, overwritten: bool = False) -> None:
        """The job for this camera came back (or was lost with its worker)."""
        state = self._cameras[camera_id]
        state.in_flight = False
        if overwritten:
            state.counters.stale += 1


class DetectorRate:
    """How many looks a second the worker pool gives, from the wall time of its batches.

    A batch's time per frame falls as batches grow (the fixed cost of a job is shared), so the
    figure comes from batches of at least half `full_batch` frames once there have been any:
    a quiet site's small batches would otherwise say the pool is slower than it is, the plan
    would stretch cameras, and the batches would stay small."""

    def __init__(self, full_batch: int, smoothing: float = 0.2) -> None:
        self.full_batch = max(1, full_batch)
        self.smoothing = smoothing
        self._full: float | None = None  # seconds per frame in large batches (smoothed)
        self._small: float | None = None

    def note(self, frames: int, seconds: float) -> None:
        if frames <= 0 or seconds <= 0:
            return
        per_frame = seconds / frames
        if frames >= max(1, self.full_batch // 2):
            self._full = _smooth(self._full, per_frame, self.smoothing)
        else:
            self._small = _smooth(self._small, per_frame, self.smoothing)

    @property
    def seconds_per_frame(self) -> float | None:
        return self._full if self._full is not None else self._small

    def looks_per_s(self, workers: int) -> float | None:
        per_frame = self.seconds_per_frame
        if per_frame is None or workers <= 0:
            return None
        return workers / per_frame


def batch_for_target(seconds_per_frame: float | None, target_s: float, max_batch: int) -> int:
    """The largest batch a worker finishes within `target_s` at `seconds_per_frame` (at least
    one frame, at most `max_batch`; `max_batch` while the speed is not known)."""
    if seconds_per_frame is None or seconds_per_frame <= 0:
        return max_batch
    return max(1, min(max_batch, math.floor(target_s / seconds_per_frame)))


def _keep_first(
    item: tuple[str, _CameraState], previous: dict[str, float | None], target: float
) -> tuple[bool, int]:
    """Sort key of a plan's step: cameras that had `target` (or better) first, then the site's
    order."""
    before = previous.get(item[0])
    return (before is None or before > target, item[1].order)


def _smooth(old: float | None, new: float, weight: float) -> float:
    return new if old is None else old + weight * (new - old)


@dataclass(frozen=True, slots=True)
class Coverage:
    """Coverage over the meter's window: `share` of the moving cameras' time spent in gaps
    between two judgements no longer than `target_s` (None: nothing decided in the window), and
    the age of the frames moving cameras were judged on (from capture to tracks)."""

    target_s: float
    moving: int  # moving cameras at the last sample
    share: float | None
    age_p50_s: float | None
    age_p95_s: float | None


class CoverageMeter:
    """How much of the time each moving camera was judged at least every `target_s`, over the
    last `window_s` seconds.

    A moving camera's time is cut into gaps by its judgements: a gap no longer than `target_s`
    is covered time, a longer one is not. A gap starts at the camera's previous judgement, or
    when it started to move if that is later (a camera that wakes up is not blamed for the
    seconds it was still). A gap still open and already longer than the target counts as not
    covered up to now; one still open and shorter is not decided yet. Which cameras move is told
    every `sample_every_s` (`sample`); the frames' ages come with the judgements (`judged`)."""

    def __init__(
        self, target_s: float = 0.5, window_s: float = 10.0, sample_every_s: float = 0.1
    ) -> None:
        self.target_s = target_s
        self.window_s = window_s
        self.sample_every_s = sample_every_s
        self._judged_at: dict[str, float] = {}
        self._moving_since: dict[str, float] = {}
        self._gaps: deque[tuple[float, float, bool]] = deque()  # (start, end, covered)
        self._ages: deque[tuple[float, float]] = deque()  # (at, age of the frame judged)
        self._moving_now = 0
        self._last_sample = -math.inf

    def _gap_start(self, camera_id: str) -> float | None:
        since = self._moving_since.get(camera_id)
        if since is None:
            return None
        return max(since, self._judged_at.get(camera_id, -math.inf))

    def judged(self, camera_id: str, now: float, frame_age_s: float) -> None:
        start = self._gap_start(camera_id)
        if start is not None:  # moving: a gap closes
            self._gaps.append((start, now, now - start <= self.target_s))
            self._ages.append((now, frame_age_s))
        self._judged_at[camera_id] = now

    def forget(self, camera_id: str) -> None:
        self._judged_at.pop(camera_id, None)
        self._moving_since.pop(camera_id, None)

    def due(self, now: float) -> bool:
        return now - self._last_sample >= self.sample_every_s

    def sample(self, now: float, moving: Iterable[str]) -> None:
        ids = set(moving)
        for camera_id in [c for c in self._moving_since if c not in ids]:
            start = self._gap_start(camera_id)
            if start is not None and now - start > self.target_s:  # stopped, uncovered so far
                self._gaps.append((start, now, False))
            del self._moving_since[camera_id]
        for camera_id in ids:
            self._moving_since.setdefault(camera_id, now)
        self._moving_now = len(ids)
        self._last_sample = now
        self._trim(now)

    def _trim(self, now: float) -> None:
        horizon = now - self.window_s
        while self._gaps and self._gaps[0][1] < horizon:
            self._gaps.popleft()
        while self._ages and self._ages[0][0] < horizon:
            self._ages.popleft()

    def figures(self, now: float) -> Coverage:
        self._trim(now)
        horizon = now - self.window_s
        gaps = list(self._gaps)
        for camera_id in self._moving_since:
            start = self._gap_start(camera_id)
            if start is not None and now - start > self.target_s:
                gaps.append((start, now, False))
        covered = decided = 0.0
        for start, end, ok in gaps:
            length = max(0.0, end - max(start, horizon))
            decided += length
            covered += length if ok else 0.0
        ages = sorted(age for _, age in self._ages)
        return Coverage(
            target_s=self.target_s,
            moving=self._moving_now,
            share=covered / decided if decided > 0 else None,
            age_p50_s=_quantile(ages, 0.5),
            age_p95_s=_quantile(ages, 0.95),
        )


def _quantile(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
