"""Checks across a site file's parts: unique ids, references to floors, cameras and zones that
exist, points inside their floor's plan, calibrations that fit, dates listed once.

They run on the parts that validated (`Parts`), so that `load_site` reports them beside the
structural problems of the other parts.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import BaseModel, ValidationError

from console.floor_plan import CalibrationError, fit_homography
from console.site_file.problems import Problem
from console.site_file.schema import (
    AlertRoute,
    Camera,
    Floor,
    Guard,
    OpeningHours,
    ProtectedObject,
    Site,
    Zone,
)

__all__ = ["Parts", "cross_check", "partial_parts"]


@dataclass
class Parts:
    """The parts of a site that validated, with their index in the file."""

    floors: list[tuple[int, Floor]]
    cameras: list[tuple[int, Camera]]
    protected_objects: list[tuple[int, ProtectedObject]]
    zones: list[tuple[int, Zone]]
    guards: list[tuple[int, Guard]]
    alert_routes: list[tuple[int, AlertRoute]]
    opening_hours: OpeningHours | None
    # Ids present in the file, including those of items that failed validation (so that a
    # reference to a broken item is not also reported as a reference to nothing).
    # None where the section is not even a list: references into it are then not checked.
    known_ids: dict[str, set[str] | None]

    @classmethod
    def of(cls, site: Site) -> Parts:
        return cls(
            known_ids={
                "floors": {f.id for f in site.floors},
                "cameras": {c.id for c in site.cameras},
                "zones": {z.id for z in site.zones},
            },
            floors=list(enumerate(site.floors)),
            cameras=list(enumerate(site.cameras)),
            protected_objects=list(enumerate(site.protected_objects)),
            zones=list(enumerate(site.zones)),
            guards=list(enumerate(site.guards)),
            alert_routes=list(enumerate(site.alert_routes)),
            opening_hours=site.opening_hours,
        )


def _unique_ids(section: str, items: list[tuple[int, Any]]) -> Iterator[Problem]:
    first: dict[str, int] = {}
    for index, item in items:
        if item.id in first:
            yield Problem(
                f"{section}[{index}].id",
                f"duplicate id, also used by {section}[{first[item.id]}]",
                item.id,
            )
        else:
            first[item.id] = index


def _outside(
    path: str, points: Sequence[tuple[float, float]], floor: Floor | None
) -> Iterator[Problem]:
    size = floor.plan_size_px if floor is not None else None
    if size is None or floor is None:
        return
    width, height = size
    for index, (x, y) in enumerate(points):
        if not (0 <= x <= width and 0 <= y <= height):
            yield Problem(
                f"{path}[{index}]",
                f"point outside the {width} x {height} px plan of floor '{floor.id}'",
                [x, y],
            )


def _negative(path: str, polygon: Sequence[Sequence[float]]) -> list[Problem]:
    """Image polygons live in pixels: no negative coordinates."""
    return [
        Problem(f"{path}[{i}]", "image coordinates cannot be negative", [x, y])
        for i, (x, y) in enumerate(polygon)
        if x < 0 or y < 0
    ]


def _outside_frame(
    path: str, polygon: Sequence[Sequence[float]], camera: Camera | None
) -> list[Problem]:
    """Image points must lie in the camera's frame, when its size is known (declared, or read
    from its video file): an outline outside it is never watched."""
    size = camera.frame_size if camera is not None else None
    if size is None:
        return []
    width, height = size
    outside = [i for i, (x, y) in enumerate(polygon) if not (0 <= x <= width and 0 <= y <= height)]
    if not outside:
        return []
    first = outside[0]
    if len(outside) == len(polygon):
        what = "the whole outline lies outside it, so it is never watched there"
    else:
        what = f"{len(outside)} of its {len(polygon)} points lie outside it (never watched)"
    return [
        Problem(
            f"{path}[{first}]",
            f"outside the {width} x {height} px frame of camera '{camera.id}': {what}",
            list(polygon[first]),
        )
    ]


def cross_check(parts: Parts) -> list[Problem]:
    problems: list[Problem] = []
    for section in ("floors", "cameras", "protected_objects", "zones", "guards"):
        problems += _unique_ids(section, getattr(parts, section))
    zone_ids = {z.id: i for i, z in parts.zones}
    for index, obj in parts.protected_objects:
        if obj.id in zone_ids:
            problems.append(
                Problem(
                    f"protected_objects[{index}].id",
                    f"same id as zones[{zone_ids[obj.id]}]; alarms name objects and zones by id",
                    obj.id,
                )
            )

    floors = {f.id: f for _, f in parts.floors}

    def unknown(section: str, wanted: str) -> bool:
        known = parts.known_ids[section]
        return known is not None and wanted not in known

    def floor_of(path: str, floor_id: str) -> Floor | None:
        if unknown("floors", floor_id):
            problems.append(Problem(f"{path}.floor", "no floor with this id", floor_id))
        return floors.get(floor_id)

    cameras = {c.id: c for _, c in parts.cameras}
    for index, cam in parts.cameras:
        path = f"cameras[{index}]"
        floor = floor_of(path, cam.floor)
        declared, probed = cam.frame_size_px, cam.probed_frame_size
        if declared is not None and probed is not None and tuple(declared) != probed:
            problems.append(
                Problem(
                    f"{path}.frame_size_px",
                    f"the camera's video is {probed[0]} x {probed[1]} px",
                    list(declared),
                )
            )
        for region_index, region in enumerate(cam.still_figure_regions):
            region_path = f"{path}.still_figure_regions[{region_index}]"
            problems += _negative(region_path, region) or _outside_frame(region_path, region, cam)
        if cam.plan_position is not None and floor is not None and floor.plan_size_px:
            width, height = floor.plan_size_px
            x, y = cam.plan_position
            if not (0 <= x <= width and 0 <= y <= height):
                problems.append(
                    Problem(
                        f"{path}.plan_position",
                        f"point outside the {width} x {height} px plan of floor '{floor.id}'",
                        [x, y],
                    )
                )
        if cam.calibration is not None:
            cal = cam.calibration
            problems += _outside(f"{path}.calibration.plan", cal.plan, floor)
            problems += _outside_frame(f"{path}.calibration.image", cal.image, cam)
            try:
                fit_homography(cal.image, cal.plan)
            except CalibrationError as exc:
                side = exc.side or "image"
                problems.append(
                    Problem(
                        f"{path}.calibration.{side}",
                        exc.reason,
                        [list(p) for p in getattr(cal, side)],
                    )
                )

    for index, obj in parts.protected_objects:
        path = f"protected_objects[{index}]"
        floor = floor_of(path, obj.floor)
        if obj.plan_polygon is None and not obj.image_regions:
            problems.append(
                Problem(path, "needs a plan_polygon or at least one image_regions entry", obj.id)
            )
        if obj.plan_polygon is not None:
            problems += _outside(f"{path}.plan_polygon", obj.plan_polygon, floor)
        for camera_id, region in obj.image_regions.items():
            if unknown("cameras", camera_id):
                problems.append(
                    Problem(
                        f"{path}.image_regions.{camera_id}", "no camera with this id", camera_id
                    )
                )
            region_path = f"{path}.image_regions.{camera_id}"
            problems += _negative(region_path, region) or _outside_frame(
                region_path, region, cameras.get(camera_id)
            )

    for index, zone in parts.zones:
        path = f"zones[{index}]"
        floor = floor_of(path, zone.floor)
        problems += _outside(f"{path}.plan_polygon", zone.plan_polygon, floor)

    for index, route in parts.alert_routes:
        for zone_index, zone_id in enumerate(route.match.zones or ()):
            if unknown("zones", zone_id):
                problems.append(
                    Problem(
                        f"alert_routes[{index}].match.zones[{zone_index}]",
                        "no zone with this id",
                        zone_id,
                    )
                )

    if parts.opening_hours is not None:
        seen: dict[date, int] = {}
        for index, exception in enumerate(parts.opening_hours.exceptions):
            if exception.date in seen:
                problems.append(
                    Problem(
                        f"opening_hours.exceptions[{index}].date",
                        f"date listed twice, also in exceptions[{seen[exception.date]}]",
                        exception.date,
                    )
                )
            else:
                seen[exception.date] = index
    return problems


def partial_parts(data: dict[str, Any], context: dict[str, Any]) -> Parts:
    """Validate each list item on its own, so cross-checks can run beside other errors."""

    def items(key: str, model: type[BaseModel]) -> list[tuple[int, Any]]:
        raw = data.get(key)
        if not isinstance(raw, list):
            return []
        out = []
        for index, item in enumerate(raw):
            try:
                out.append((index, model.model_validate(item, context=context)))
            except ValidationError:
                continue
        return out

    try:
        hours: OpeningHours | None = OpeningHours.model_validate(
            data.get("opening_hours"), context=context
        )
    except ValidationError:
        hours = None

    def raw_ids(key: str) -> set[str] | None:
        raw = data.get(key, [])
        if not isinstance(raw, list):
            return None
        return {str(item["id"]) for item in raw if isinstance(item, dict) and "id" in item}

    return Parts(
        known_ids={key: raw_ids(key) for key in ("floors", "cameras", "zones")},
        floors=items("floors", Floor),
        cameras=items("cameras", Camera),
        protected_objects=items("protected_objects", ProtectedObject),
        zones=items("zones", Zone),
        guards=items("guards", Guard),
        alert_routes=items("alert_routes", AlertRoute),
        opening_hours=hours,
    )
