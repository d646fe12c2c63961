"""Which cameras get a detector pass now: motion gate, priority and fairness, newest frame only.

The scheduler is plain logic over camera state and a clock (no threads, no processes), so its
policy is tested with scripted frames and a fake clock. The pipeline asks it, each time workers
are free, for up to `capacity` frame references:

- a camera with a job in flight gets no second one (results of one camera arrive in order);
- a camera is due when its interval has passed since its last detection: `alarmed_interval_s`
  when the core marked it alarmed, `active_interval_s` when it moved within `motion_hold_s` or
  has people tracked, `idle_interval_s` otherwise (a static camera is still looked at now and
  then, since a person standing still makes no motion);
- due cameras are served alarmed first, then active, then by how long they have waited; but a
  camera that has been due for longer than `max_wait_s` goes before all of them (longest waiting
  first), so a burst of alarmed cameras, which are due again the moment their result is back,
  cannot leave the rest of the site unwatched;
- only a camera's newest frame is ever dispatched; the frames that arrived while it waited for a
  free worker are counted as stale, those that arrived while it was not due as gated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from inference.frame_ring import FrameRef


@dataclass(frozen=True, slots=True)
class SchedulerConfig:
    active_interval_s: float = 0.2
    idle_interval_s: float = 5.0
    alarmed_interval_s: float = 0.0
    motion_hold_s: float = 2.0
    max_wait_s: float = 2.0


@dataclass(slots=True)
class CameraCounters:
    dispatched: int = 0
    gated: int = 0  # frames not detected because the camera was not due (static scene)
    stale: int = 0  # frames superseded by a newer one while waiting for a worker, or overwritten


@dataclass(slots=True)
class _CameraState:
    last_seq: int = 0
    last_dispatched_at: float = -math.inf
    due_since_seq: int | None = None
    due_since_at: float | None = None  # when the camera became due and started to wait
    in_flight: bool = False
    alarmed: bool = False
    has_tracks: bool = False
    counters: CameraCounters = field(default_factory=CameraCounters)


@dataclass(frozen=True, slots=True)
class CameraView:
    """What the scheduler needs to know of a camera right now."""

    latest: FrameRef | None
    last_motion_at: float  # wall time of the last frame that passed the motion gate


class DetectionScheduler:
    def __init__(self, camera_ids: list[str], config: SchedulerConfig | None = None) -> None:
        self.config = config or SchedulerConfig()
        self._cameras = {camera_id: _CameraState() for camera_id in camera_ids}

    def add_camera(self, camera_id: str) -> None:
        """A camera added while running (a site applied without a restart)."""
        self._cameras.setdefault(camera_id, _CameraState())

    def remove_camera(self, camera_id: str) -> None:
        """A camera removed while running; a job of it still in flight is then ignored."""
        self._cameras.pop(camera_id, None)

    def set_alarmed(self, camera_id: str, alarmed: bool) -> None:
        self._cameras[camera_id].alarmed = alarmed

    def set_has_tracks(self, camera_id: str, has_tracks: bool) -> None:
        self._cameras[camera_id].has_tracks = has_tracks

    def counters(self, camera_id: str) -> CameraCounters:
        return self._cameras[camera_id].counters

    def in_flight(self, camera_id: str) -> bool:
        return self._cameras[camera_id].in_flight

    def interval_s(self, camera_id: str, now: float, last_motion_at: float) -> float:
        state = self._cameras[camera_id]
        if state.alarmed:
            return self.config.alarmed_interval_s
        if state.has_tracks or now - last_motion_at <= self.config.motion_hold_s:
            return self.config.active_interval_s
        return self.config.idle_interval_s

    def pick(self, now: float, views: dict[str, CameraView], capacity: int) -> list[FrameRef]:
        """Up to `capacity` newest-frame references to detect now; marks their cameras in flight."""
        due: list[tuple[int, float, FrameRef]] = []
        max_wait_s = self.config.max_wait_s
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
            if now - state.due_since_at > max_wait_s:  # starving: before everyone, oldest first
                due.append((-1, state.due_since_at, ref))
                continue
            rank = 0 if state.alarmed else 1 if interval <= self.config.active_interval_s else 2
            due.append((rank, state.last_dispatched_at, ref))
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

    def done(self, camera_id: str, *, overwritten: bool = False) -> None:
        """The job for this camera came back (or was lost with its worker)."""
        state = self._cameras[camera_id]
        state.in_flight = False
        if overwritten:
            state.counters.stale += 1
