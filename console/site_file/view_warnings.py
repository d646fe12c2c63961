"""What a valid site file may still get wrong about what the cameras see: warnings, not problems.

`nightwatch check` prints them as `FILE: warning: path.to.field: ...` and exits 0; the site
editor shows them beside the field; saving records them with the change.

- A camera on a stream or USB device whose frame size is neither declared (`frame_size_px`) nor
  readable from a file: its image outlines cannot be checked against its frame.
- A calibrated camera that guards an object (it has the object's image region) but whose view of
  the floor (its footprint: the image's floor region mapped onto the plan through the
  calibration) does not cover the object's plan outline: a plausible but wrong calibration, or
  an outline on the wrong side of the room.
- An object with a plan outline and no image region whose outline no calibrated camera's
  footprint covers: nothing watches it.

The footprint needs the camera's frame size; a calibrated camera whose size is unknown is judged
on the box of its calibration points, which is smaller than its view (so it may warn where a
declared size would not).
"""

from __future__ import annotations

from dataclasses import dataclass

from console.calibration import footprint_on_plan
from console.floor_plan import point_in_polygon
from console.site_file.schema import Site

__all__ = ["SiteWarning", "check_warnings", "view_warnings"]


@dataclass(frozen=True, slots=True)
class SiteWarning:
    """Something about a valid site the supervisor should know; `path` names the field."""

    path: str
    text: str


def check_warnings(site: Site) -> list[SiteWarning]:
    """Every warning `nightwatch check` prints for a valid site (and a save records): alert
    routes that go nowhere (console.alerts.config) and the warnings of this module."""
    from console.alerts.config import route_warnings  # it imports the site file's models

    routes = [SiteWarning(w.path, w.text) for w in route_warnings(site)]
    return [*routes, *view_warnings(site)]


def view_warnings(site: Site) -> list[SiteWarning]:
    warnings: list[SiteWarning] = []
    index_of = {c.id: i for i, c in enumerate(site.cameras)}
    footprints: dict[str, tuple[tuple[float, float], ...]] = {}
    for index, camera in enumerate(site.cameras):
        has_image_points = (
            camera.calibration is not None
            or bool(camera.still_figure_regions)
            or any(camera.id in o.image_regions for o in site.protected_objects)
        )
        if camera.frame_size is None and has_image_points:
            warnings.append(
                SiteWarning(
                    f"cameras[{index}].frame_size_px",
                    f"the frame size of camera '{camera.id}' ({camera.source_kind}) is not "
                    "known, so its image outlines cannot be checked against its frame: declare "
                    "frame_size_px: [width, height]",
                )
            )
        if camera.calibration is None:
            continue
        floor = site.floor(camera.floor)
        frame = camera.frame_size
        if frame is None:  # the calibration points' box stands in (see the module doc)
            xs = [p[0] for p in camera.calibration.image]
            ys = [p[1] for p in camera.calibration.image]
            frame = (max(1, round(max(xs))), max(1, round(max(ys))))
        footprints[camera.id] = footprint_on_plan(
            camera.calibration.image,
            camera.calibration.plan,
            floor.metres_per_pixel,
            frame,
            floor.plan_size_px,
        )

    for index, obj in enumerate(site.protected_objects):
        if obj.plan_polygon is None:
            continue
        for camera_id in obj.image_regions:
            footprint = footprints.get(camera_id)
            if footprint is None or site.camera(camera_id).floor != obj.floor:
                continue
            inside = _share_inside(obj.plan_polygon, footprint)
            if inside < 1.0:
                how = "does not cover" if inside == 0 else "covers only part of"
                warnings.append(
                    SiteWarning(
                        f"protected_objects[{index}].plan_polygon",
                        f"camera '{camera_id}' guards '{obj.id}' (it has its image region) but "
                        f"its calibrated view of the floor {how} the object's plan outline: "
                        f"check cameras[{index_of[camera_id]}].calibration or the outline",
                    )
                )
        if not obj.image_regions:
            seen = [
                c.id
                for c in site.cameras_on(obj.floor)
                if c.id in footprints and _share_inside(obj.plan_polygon, footprints[c.id]) > 0
            ]
            if not seen:
                warnings.append(
                    SiteWarning(
                        f"protected_objects[{index}].plan_polygon",
                        f"no calibrated camera's view of the floor reaches '{obj.id}', and it "
                        "has no image region: nothing watches it",
                    )
                )
    return warnings


def _share_inside(
    polygon: tuple[tuple[float, float], ...], footprint: tuple[tuple[float, float], ...]
) -> float:
    """The share of the polygon's corners inside the footprint (0 when there is none)."""
    if len(footprint) < 3:
        return 0.0
    inside = point_in_polygon(polygon, footprint)
    return float(inside.mean())
