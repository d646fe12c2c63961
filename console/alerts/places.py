"""Where on the plan an alarm is, in zones, and what its place and camera are called.

An alarm's zones: its subject when that is a zone; else the zones that hold its protected object
(the centre of the object's plan outline); else the zones that hold its camera (the camera's plan
position). Zones may overlap (a case inside a gallery inside a wing): the smallest comes first,
as the most precise answer, and names the alarm's topic.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from console.floor_plan import point_in_polygon, polygon_area
from console.site_file import Site

__all__ = ["Places"]


def _centre(polygon: Sequence[Sequence[float]]) -> tuple[float, float]:
    """The centroid of a simple polygon (the vertices' mean when it has no area)."""
    pts = np.asarray(polygon, dtype=np.float64)
    x, y = pts[:, 0], pts[:, 1]
    cross = x * np.roll(y, -1) - np.roll(x, -1) * y
    area = cross.sum() / 2.0
    if abs(area) < 1e-12:
        return float(x.mean()), float(y.mean())
    cx = ((x + np.roll(x, -1)) * cross).sum() / (6.0 * area)
    cy = ((y + np.roll(y, -1)) * cross).sum() / (6.0 * area)
    return float(cx), float(cy)


class Places:
    """Zone lookups of one site, worked out once (the site is frozen)."""

    def __init__(self, site: Site) -> None:
        self.site = site
        by_size = sorted(site.zones, key=lambda z: polygon_area(z.plan_polygon))
        self._zone_names = {z.id: z.name for z in site.zones}
        self._names: dict[str, str] = {c.id: c.name for c in site.cameras}
        self._names.update({o.id: o.name for o in site.protected_objects})
        self._names.update(self._zone_names)
        self._camera_names = {c.id: c.name for c in site.cameras}

        def holding(floor: str, point: tuple[float, float]) -> tuple[str, ...]:
            return tuple(
                z.id
                for z in by_size
                if z.floor == floor and bool(point_in_polygon([point], z.plan_polygon)[0])
            )

        self._of_subject: dict[str, tuple[str, ...]] = {}
        for camera in site.cameras:
            if camera.plan_position is not None:
                self._of_subject[camera.id] = holding(camera.floor, camera.plan_position)
        for obj in site.protected_objects:
            if obj.plan_polygon is not None:
                self._of_subject[obj.id] = holding(obj.floor, _centre(obj.plan_polygon))
        for zone in site.zones:
            self._of_subject[zone.id] = (zone.id,)

    def zones_of(self, subject_id: str, camera_id: str) -> tuple[str, ...]:
        """The alarm's zones, smallest first; () when neither its subject nor its camera is
        placed on the plan."""
        zones = self._of_subject.get(subject_id)
        if zones:
            return zones
        return self._of_subject.get(camera_id, ())

    def name(self, subject_id: str) -> str:
        """A subject's name (object, zone or camera), else its id."""
        return self._names.get(subject_id, subject_id)

    def zone_name(self, zone_id: str) -> str:
        return self._zone_names.get(zone_id, zone_id)

    def camera_name(self, camera_id: str) -> str:
        return self._camera_names.get(camera_id, camera_id)
