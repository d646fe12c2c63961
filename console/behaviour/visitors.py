"""One visitor as the behaviour model knows them, in memory only: where they have been this visit
and for how long, which artworks they came back to, which way they walked through each view,
and the colours of their clothes (to follow them from camera to camera). Never a name, a face
or a picture, and forgotten `forget_after_s` after they were last seen.

A `Visitor` is fed each sighting (`see`: one camera's tracked person at one look) and gives
back the samples the baseline may learn (`Sample`: a room's dwell when a stay ends, a walking
speed, a direction when they leave a view, ...). Whether a sample is learned is the model's
choice (a visitor with an open advisory teaches nothing until it is dismissed as normal).

All times here are site seconds (`datetime.timestamp()` of the site clock); a camera's own
seconds (`TrackPresence` times) are converted at the sighting.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from console.behaviour.appearance import Vector, blend
from console.behaviour.site_map import SiteMap
from console.presence import CameraPresence, TrackPresence

__all__ = [
    "PERSON_HEIGHT_M",
    "ObjectVisit",
    "Passage",
    "PathPoint",
    "Sample",
    "Stay",
    "VisitTuning",
    "Visitor",
]

PERSON_HEIGHT_M = 1.7  # an uncalibrated camera's scale: a box is about this tall


@dataclass(frozen=True, slots=True)
class VisitTuning:
    """How sightings become stays, visits and passages (seconds, metres)."""

    stay_gap_s: float = 20.0
    """A stay in a room ends when the visitor has not been seen there for this long."""
    return_gap_s: float = 5.0
    """Away from an artwork for longer than this, and the next time near it is a new visit."""
    passage_gap_s: float = 10.0
    """A way through a camera's view ends when the visitor has not been seen there this long."""
    linger_s: float = 15.0
    """Near a high-value work for this long in one visit is lingering there."""
    closest_within_m: float = 5.0
    """The closest a visitor came to an object is learned only when they came this close."""
    speed_every_s: float = 1.0
    """A walking speed is measured over at least this long."""
    path_every_s: float = 1.0
    path_step_m: float = 0.5
    path_still_s: float = 15.0
    path_points: int = 600


@dataclass(frozen=True, slots=True)
class Sample:
    """One value the baseline may learn: at a place (kind, id), of a measure."""

    kind: str
    place_id: str
    metric: str
    value: float


@dataclass(frozen=True, slots=True)
class PathPoint:
    """Where a visitor was (plan pixels of a floor), when (site seconds), seen by which camera."""

    at_s: float
    camera_id: str
    floor_id: str
    x: float
    y: float


@dataclass(slots=True)
class Stay:
    zone_id: str
    since_s: float
    last_s: float

    @property
    def dwell_s(self) -> float:
        return self.last_s - self.since_s


@dataclass(slots=True)
class ObjectVisit:
    """A visitor and one artwork: how many separate visits, the current one since when."""

    object_id: str
    visits: int = 0
    since_s: float | None = None  # the current (or last) visit's start
    last_s: float | None = None  # last seen near it
    longest_s: float = 0.0
    closest_m: float | None = None

    @property
    def length_s(self) -> float:
        """How long the current (or last) visit lasted, up to the last time seen near."""
        if self.since_s is None or self.last_s is None:
            return 0.0
        return max(0.0, self.last_s - self.since_s)

    def near_for_s(self, now_s: float, return_gap_s: float) -> float:
        """How long the current visit has lasted (0 when not near now)."""
        if self.since_s is None or self.last_s is None or now_s - self.last_s > return_gap_s:
            return 0.0
        return self.last_s - self.since_s


@dataclass(slots=True)
class Passage:
    """A visitor's way through one camera's view: where it started and where it is now (plan
    pixels when the camera is calibrated, else image pixels) and the scale to metres."""

    camera_id: str
    first_s: float
    last_s: float
    start: tuple[float, float]
    end: tuple[float, float]
    on_plan: bool
    metres_per_unit: float
    sample: tuple[float, tuple[float, float]] | None = None  # (when, where): speed samples

    @property
    def moved_m(self) -> tuple[float, float]:
        return (
            (self.end[0] - self.start[0]) * self.metres_per_unit,
            (self.end[1] - self.start[1]) * self.metres_per_unit,
        )

    @property
    def distance_m(self) -> float:
        return math.hypot(*self.moved_m)


@dataclass(slots=True)
class Visitor:
    visitor_id: str
    number: int
    first_s: float
    last_s: float
    appearance: Vector | None = None
    tracks_now: dict[str, int] = field(default_factory=dict)  # camera -> track id, last looks
    seen_on: dict[str, float] = field(default_factory=dict)  # camera -> last seen there
    stays: dict[str, Stay] = field(default_factory=dict)
    objects: dict[str, ObjectVisit] = field(default_factory=dict)
    passages: dict[str, Passage] = field(default_factory=dict)
    high_value: dict[str, str] = field(default_factory=dict)  # object -> room lingered in
    path: deque[PathPoint] = field(default_factory=deque)
    dismissed: set[str] = field(default_factory=set)  # reason keys an operator called normal
    flagged: bool = False  # an advisory is open: nothing of this visit is learned
    teach_weight: float = 1.0  # dismissed as normal: learned with more weight
    last_room: str | None = None  # the room (zone) of the last look that placed them in one

    @property
    def label(self) -> str:
        return f"visitor {self.number}"

    @property
    def last_camera(self) -> str | None:
        return max(self.seen_on, key=lambda c: self.seen_on[c]) if self.seen_on else None

    def cameras_now(self, now_s: float, within_s: float = 2.0) -> tuple[str, ...]:
        return tuple(sorted(c for c, t in self.seen_on.items() if now_s - t <= within_s))

    # -- a sighting ---------------------------------------------------------------------------

    def see(
        self,
        camera: CameraPresence,
        track: TrackPresence,
        now_s: float,
        look: Vector | None,
        plan: SiteMap,
        high_value: frozenset[str],
        tuning: VisitTuning,
    ) -> list[Sample]:
        """One look of one camera at this visitor; returns what may be learned from it."""
        samples: list[Sample] = []
        cam = camera.camera_id
        self.last_s = max(self.last_s, now_s)
        self.seen_on[cam] = now_s
        self.tracks_now[cam] = track.track_id
        self.appearance = blend(self.appearance, look)
        ago = track.last_seen_ts  # the camera's seconds of this look

        def site_s(camera_ts: float) -> float:
            return now_s - max(0.0, ago - camera_ts)

        # rooms
        if track.zones:
            self.last_room = min(track.zones)
        for zone_id, since_ts in track.zones.items():
            stay = self.stays.get(zone_id)
            if stay is not None and now_s - stay.last_s > tuning.stay_gap_s:
                samples.append(Sample("zone", zone_id, "dwell_s", stay.dwell_s))
                stay = None
            since = site_s(since_ts)
            if stay is None:
                self.stays[zone_id] = Stay(zone_id, since, now_s)
            else:
                stay.since_s = min(stay.since_s, since)
                stay.last_s = now_s
        # artworks
        for object_id, rel in track.objects.items():
            visit = self.objects.get(object_id)
            if rel.distance_m is not None and rel.distance_m <= tuning.closest_within_m:
                visit = visit or self.objects.setdefault(object_id, ObjectVisit(object_id))
                if visit.closest_m is None or rel.distance_m < visit.closest_m:
                    visit.closest_m = rel.distance_m
            if rel.near_since_ts is None:
                continue
            visit = visit or self.objects.setdefault(object_id, ObjectVisit(object_id))
            since = site_s(rel.near_since_ts)
            if visit.last_s is None or now_s - visit.last_s > tuning.return_gap_s:
                if visit.since_s is not None:  # the visit before (not closed by a tick yet)
                    samples.append(Sample("object", object_id, "near_s", visit.length_s))
                visit.visits += 1
                visit.since_s = since if visit.last_s is None else max(since, visit.last_s)
            visit.last_s = now_s
            near_s = now_s - (visit.since_s if visit.since_s is not None else now_s)
            visit.longest_s = max(visit.longest_s, near_s)
            if object_id in high_value and near_s >= tuning.linger_s:
                room = plan.room_of_object(object_id)
                self.high_value.setdefault(object_id, room or object_id)
        # the way through this view
        samples.extend(self._walk(camera, track, now_s, plan, tuning))
        # the path on the plan
        point = _plan_point(camera, track, plan)
        if point is not None and self._moves_on(cam, point, now_s, plan, tuning):
            self.path.append(PathPoint(now_s, cam, *point))
            while len(self.path) > tuning.path_points:
                self.path.popleft()
        return samples

    def _moves_on(
        self,
        cam: str,
        point: tuple[str, float, float],
        now_s: float,
        plan: SiteMap,
        tuning: VisitTuning,
    ) -> bool:
        """A new point on the path: another camera, another floor, a step of `path_step_m`,
        or (standing) `path_still_s` since the last point."""
        if not self.path:
            return True
        last = self.path[-1]
        if last.camera_id != cam or last.floor_id != point[0]:
            return True
        if now_s - last.at_s < tuning.path_every_s:
            return False
        step_px = math.hypot(point[1] - last.x, point[2] - last.y)
        step_m = step_px * plan.metres_per_pixel.get(point[0], 0.0)
        return step_m >= tuning.path_step_m or now_s - last.at_s >= tuning.path_still_s

    def _walk(
        self,
        camera: CameraPresence,
        track: TrackPresence,
        now_s: float,
        plan: SiteMap,
        tuning: VisitTuning,
    ) -> list[Sample]:
        samples: list[Sample] = []
        cam = camera.camera_id
        on_plan = track.plan_px is not None and track.located_by == "plan"
        if on_plan:
            assert track.plan_px is not None
            where = track.plan_px
            scale = plan.metres_per_pixel.get(camera.floor_id, 0.0)
        else:
            where = track.foot_px
            scale = PERSON_HEIGHT_M / max(1.0, track.xyxy[3] - track.xyxy[1])
        passage = self.passages.get(cam)
        if passage is not None and (
            now_s - passage.last_s > tuning.passage_gap_s or passage.on_plan != on_plan
        ):
            samples.extend(self._end_passage(passage))
            passage = None
        if passage is None:
            self.passages[cam] = Passage(cam, now_s, now_s, where, where, on_plan, scale)
            self.passages[cam].sample = (now_s, where)
            return samples
        passage.end = where
        passage.last_s = now_s
        if not on_plan:  # the box's height changes with distance: a running scale
            passage.metres_per_unit = 0.8 * passage.metres_per_unit + 0.2 * scale
        if passage.sample is not None and now_s - passage.sample[0] >= tuning.speed_every_s:
            then, there = passage.sample
            metres = math.hypot(where[0] - there[0], where[1] - there[1]) * scale
            speed = metres / (now_s - then)
            for zone_id in sorted(track.zones)[:1]:
                samples.append(Sample("zone", zone_id, "speed_m_s", speed))
            passage.sample = (now_s, where)
        return samples

    @staticmethod
    def _end_passage(passage: Passage) -> list[Sample]:
        dx, dy = passage.moved_m
        if math.hypot(dx, dy) < 1.0:
            return []  # stood or wandered: no direction to learn
        return [Sample("camera", passage.camera_id, "direction", math.atan2(dy, dx))]

    # -- time passes --------------------------------------------------------------------------

    def close_idle(self, now_s: float, tuning: VisitTuning) -> list[Sample]:
        """End the stays, visits and passages that ended (not seen for their gap)."""
        samples: list[Sample] = []
        for zone_id, stay in list(self.stays.items()):
            if now_s - stay.last_s > tuning.stay_gap_s:
                samples.append(Sample("zone", zone_id, "dwell_s", stay.dwell_s))
                del self.stays[zone_id]
        for visit in self.objects.values():
            if (
                visit.since_s is not None
                and visit.last_s is not None
                and now_s - visit.last_s > tuning.return_gap_s
            ):
                samples.append(Sample("object", visit.object_id, "near_s", visit.length_s))
                visit.since_s = None  # ended; `last_s` stays, to tell a return from flicker
        for camera_id, passage in list(self.passages.items()):
            if now_s - passage.last_s > tuning.passage_gap_s:
                samples.extend(self._end_passage(passage))
                del self.passages[camera_id]
        for camera_id in [c for c, t in self.seen_on.items() if now_s - t > 2.0]:
            self.tracks_now.pop(camera_id, None)
        return samples

    def finish(self, now_s: float) -> list[Sample]:
        """The visit is over (forgotten): everything still open, and the visit's own counts."""
        samples = self.close_idle(math.inf, VisitTuning())
        for visit in self.objects.values():
            if visit.visits:
                samples.append(Sample("object", visit.object_id, "visits", float(visit.visits)))
            if visit.closest_m is not None:
                samples.append(Sample("object", visit.object_id, "closest_m", visit.closest_m))
        rooms = len(set(self.high_value.values()))
        samples.append(Sample("site", "*", "high_value_rooms", float(rooms)))
        return samples

    def absorb(self, other: Visitor) -> None:
        """`other` was this visitor all along (a hand-over found late): take their visit in."""
        self.first_s = min(self.first_s, other.first_s)
        self.last_s = max(self.last_s, other.last_s)
        self.appearance = blend(self.appearance, other.appearance, keep=0.8)
        self.tracks_now.update(other.tracks_now)
        for camera_id, at in other.seen_on.items():
            self.seen_on[camera_id] = max(at, self.seen_on.get(camera_id, at))
        for zone_id, stay in other.stays.items():
            mine = self.stays.get(zone_id)
            if mine is None:
                self.stays[zone_id] = stay
            else:
                mine.since_s = min(mine.since_s, stay.since_s)
                mine.last_s = max(mine.last_s, stay.last_s)
        for object_id, visit in other.objects.items():
            mine_visit = self.objects.get(object_id)
            if mine_visit is None:
                self.objects[object_id] = visit
                continue
            if mine_visit.last_s is None or (
                visit.since_s is not None
                and mine_visit.last_s is not None
                and visit.since_s - mine_visit.last_s > 5.0
            ):
                mine_visit.visits += visit.visits
            mine_visit.since_s = visit.since_s if mine_visit.since_s is None else mine_visit.since_s
            mine_visit.last_s = max(filter(None, (mine_visit.last_s, visit.last_s)), default=None)
            mine_visit.longest_s = max(mine_visit.longest_s, visit.longest_s)
            if visit.closest_m is not None:
                mine_visit.closest_m = min(visit.closest_m, mine_visit.closest_m or math.inf)
        for camera_id, passage in other.passages.items():
            self.passages.setdefault(camera_id, passage)
        self.high_value.update(other.high_value)
        self.path = deque(sorted((*self.path, *other.path), key=lambda p: p.at_s))
        self.dismissed |= other.dismissed
        self.flagged = self.flagged or other.flagged


def _plan_point(
    camera: CameraPresence, track: TrackPresence, plan: SiteMap
) -> tuple[str, float, float] | None:
    """Where the visitor stands on the plan: their foot point through the camera's calibration,
    else the camera's own plan position (an uncalibrated camera: "in the room it watches")."""
    if track.plan_px is not None and track.located_by == "plan":
        return camera.floor_id, float(track.plan_px[0]), float(track.plan_px[1])
    return plan.position_of(camera.camera_id)
