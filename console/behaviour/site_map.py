"""What the behaviour model needs to know of the building: where each camera looks, which rooms
touch, which cameras a visitor can walk between, and in which room each artwork hangs.

    plan = SiteMap.of(site)
    plan.adjacent("cam-03", "cam-07")   # True: a visitor leaving one can appear in the other
    plan.walk_m("cam-03", "cam-07")     # about how far apart their views are, metres
    plan.room_of_object("milkmaid")     # "g1-dutch"

Cameras are **adjacent** when they are on the same floor and either their places on the plan
(the floor area a calibrated camera sees, else its plan position) are at most `near_m` apart, or
they watch the same room, or rooms that touch (zone outlines at most `wall_m` apart: the site
file has no doors, and rooms that share a wall are taken to share a door). A camera with no place
on the plan (no calibration, no plan position) is adjacent to every camera on its floor, with an
unknown walk. A camera's **rooms** are the zones holding its places (an uncalibrated camera's
plan position stands for the room it hangs in).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from console.floor_plan import distance_to_polygon, point_in_polygon
from console.site_file import Site

__all__ = ["CameraPlace", "SiteMap"]

NEAR_M = 8.0  # cameras whose views are this close are adjacent whatever the rooms
WALL_M = 0.6  # zone outlines this close share a wall (and so a door)
ROOM_OF_OBJECT_M = 1.5  # an artwork on a room's wall: the nearest zone within this distance
FOOTPRINT_POINTS = ((0.5, 1.0), (0.1, 0.95), (0.9, 0.95), (0.5, 0.75), (0.2, 0.7), (0.8, 0.7))


@dataclass(frozen=True, slots=True)
class CameraPlace:
    """Where one camera looks on its floor's plan (plan pixels) and which rooms it watches."""

    camera_id: str
    floor_id: str
    points_px: tuple[tuple[float, float], ...]
    rooms: frozenset[str]
    calibrated: bool
    position_px: tuple[float, float] | None


@dataclass(frozen=True, slots=True)
class SiteMap:
    cameras: dict[str, CameraPlace]
    metres_per_pixel: dict[str, float]  # per floor
    object_rooms: dict[str, str | None]
    touching_rooms: frozenset[frozenset[str]]
    _adjacent: dict[str, frozenset[str]] = field(default_factory=dict)
    _walk_m: dict[frozenset[str], float | None] = field(default_factory=dict)

    @classmethod
    def of(cls, site: Site, *, near_m: float = NEAR_M, wall_m: float = WALL_M) -> SiteMap:
        mpp = {f.id: float(f.metres_per_pixel) for f in site.floors}
        cameras = {c.id: _place(site, c.id) for c in site.cameras}
        touching: set[frozenset[str]] = set()
        for floor in site.floors:
            zones = site.zones_on(floor.id)
            for i, a in enumerate(zones):
                for b in zones[i + 1 :]:
                    if _polygon_gap(a.plan_polygon, b.plan_polygon) * mpp[floor.id] <= wall_m:
                        touching.add(frozenset((a.id, b.id)))
        object_rooms = {o.id: _room_of_object(site, o.id, mpp) for o in site.protected_objects}
        adjacent: dict[str, set[str]] = {c: set() for c in cameras}
        walk: dict[frozenset[str], float | None] = {}
        ids = sorted(cameras)
        for i, first in enumerate(ids):
            for second in ids[i + 1 :]:
                pa, pb = cameras[first], cameras[second]
                if pa.floor_id != pb.floor_id:
                    continue
                if not pa.points_px or not pb.points_px:
                    adjacent[first].add(second)
                    adjacent[second].add(first)
                    walk[frozenset((first, second))] = None
                    continue
                gap_m = _points_gap(pa.points_px, pb.points_px) * mpp[pa.floor_id]
                rooms_meet = bool(pa.rooms & pb.rooms) or any(
                    frozenset((x, y)) in touching for x in pa.rooms for y in pb.rooms
                )
                if gap_m <= near_m or rooms_meet:
                    adjacent[first].add(second)
                    adjacent[second].add(first)
                    walk[frozenset((first, second))] = gap_m
        return cls(
            cameras,
            mpp,
            object_rooms,
            frozenset(touching),
            {c: frozenset(n) for c, n in adjacent.items()},
            walk,
        )

    def adjacent(self, a: str, b: str) -> bool:
        return b in self._adjacent.get(a, frozenset())

    def neighbours(self, camera_id: str) -> frozenset[str]:
        return self._adjacent.get(camera_id, frozenset())

    def walk_m(self, a: str, b: str) -> float | None:
        """About how far apart two adjacent cameras' views are (None: unknown or not
        adjacent); 0 for the same camera."""
        if a == b:
            return 0.0
        return self._walk_m.get(frozenset((a, b)))

    def room_of_object(self, object_id: str) -> str | None:
        return self.object_rooms.get(object_id)

    def rooms_of(self, camera_id: str) -> frozenset[str]:
        place = self.cameras.get(camera_id)
        return place.rooms if place is not None else frozenset()

    def position_of(self, camera_id: str) -> tuple[str, float, float] | None:
        """(floor, x, y) of the camera's plan position, where it has one."""
        place = self.cameras.get(camera_id)
        if place is None or place.position_px is None:
            return None
        return place.floor_id, place.position_px[0], place.position_px[1]


def _place(site: Site, camera_id: str) -> CameraPlace:
    camera = site.camera(camera_id)
    points: list[tuple[float, float]] = []
    calibration = site.calibration(camera_id)
    size = camera.frame_size
    if calibration is not None and size is not None:
        image = np.array([(fx * size[0], fy * size[1]) for fx, fy in FOOTPRINT_POINTS])
        plan = calibration.image_to_plan_px(image)
        points.extend(
            (float(x), float(y)) for x, y in plan if math.isfinite(x) and math.isfinite(y)
        )
    position = None
    if camera.plan_position is not None:
        position = (float(camera.plan_position[0]), float(camera.plan_position[1]))
        points.append(position)
    rooms: set[str] = set()
    for zone in site.zones_on(camera.floor):
        if points and bool(np.any(point_in_polygon(points, zone.plan_polygon))):
            rooms.add(zone.id)
    return CameraPlace(
        camera_id, camera.floor, tuple(points), frozenset(rooms), calibration is not None, position
    )


def _points_gap(a: Iterable[tuple[float, float]], b: Iterable[tuple[float, float]]) -> float:
    pa, pb = np.asarray(list(a), dtype=np.float64), np.asarray(list(b), dtype=np.float64)
    return float(np.min(np.hypot(*(pa[:, None, :] - pb[None, :, :]).transpose(2, 0, 1))))


def _polygon_gap(a: object, b: object) -> float:
    """The distance between two polygons' outlines in plan pixels (0 when they overlap)."""
    pa = np.asarray(a, dtype=np.float64)
    pb = np.asarray(b, dtype=np.float64)
    return float(
        min(np.nanmin(distance_to_polygon(pa, pb)), np.nanmin(distance_to_polygon(pb, pa)))
    )


def _room_of_object(site: Site, object_id: str, mpp: dict[str, float]) -> str | None:
    obj = site.protected_object(object_id)
    if obj.plan_polygon is None:
        # an object known only in a camera's image: the room of (one of) its cameras
        for camera_id in sorted(obj.image_regions):
            rooms = _place(site, camera_id).rooms
            if rooms:
                return sorted(rooms)[0]
        return None
    centre = np.asarray(obj.plan_polygon, dtype=np.float64).mean(axis=0, keepdims=True)
    best: tuple[float, str] | None = None
    for zone in site.zones_on(obj.floor):
        gap = float(distance_to_polygon(centre, zone.plan_polygon)[0]) * mpp[obj.floor]
        if gap <= ROOM_OF_OBJECT_M and (best is None or gap < best[0]):
            best = (gap, zone.id)
    return best[1] if best is not None else None
