"""The risk rules: pure functions of (presence, site, clock time) -> findings.

Each rule module is named for what it guards against and exposes one function
`rule(camera: CameraPresence, site: Site, now: datetime, tuning: RuleTuning | None)`
returning a `list[Finding]`:

- `proximity`        too close to a protected object (plan metres, or an image reach)
- `after_hours`      a person in an armed zone while the museum is closed
- `loitering`        staying in a zone, or near one object, too long
- `restricted_zone`  inside a staff-only zone
- `object_missing`   an object's image region changed while nobody stood in front of it
- `camera_health`    video loss, frozen, covered, moved

Statues, mannequins and painted figures are kept out of every person rule by the presence model
(`TrackPresence.still_figure`): the rules read `CameraPresence.visitors` only. Durations are
seconds, never frames. `evaluate` runs every enabled rule over every camera.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from console.presence import CameraPresence, Presence
from console.rules.after_hours import after_hours
from console.rules.camera_health import camera_health
from console.rules.findings import Finding, RuleTuning, Severity
from console.rules.loitering import loitering
from console.rules.missing_objects import object_missing
from console.rules.proximity import proximity
from console.rules.restricted_zones import restricted_zone
from console.site_file import Site

__all__ = [
    "RULES",
    "Finding",
    "Rule",
    "RuleTuning",
    "Severity",
    "after_hours",
    "camera_health",
    "evaluate",
    "evaluate_camera",
    "loitering",
    "object_missing",
    "proximity",
    "restricted_zone",
]

Rule = Callable[[CameraPresence, Site, datetime, RuleTuning | None], list[Finding]]

RULES: dict[str, Rule] = {
    "proximity": proximity,
    "after_hours": after_hours,
    "loitering": loitering,
    "restricted_zone": restricted_zone,
    "object_missing": object_missing,
    "camera_health": camera_health,
}


def evaluate_camera(
    camera: CameraPresence, site: Site, now: datetime, tuning: RuleTuning | None = None
) -> list[Finding]:
    """Every rule over one camera, in the order of `RULES`."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("the rules need a time-zone-aware datetime")
    tuning = tuning or RuleTuning.of_site(site)
    return [f for rule in RULES.values() for f in rule(camera, site, now, tuning)]


def evaluate(
    presence: Presence | Iterable[CameraPresence],
    site: Site,
    now: datetime,
    tuning: RuleTuning | None = None,
) -> list[Finding]:
    """Every rule over every camera."""
    cameras = presence.cameras() if isinstance(presence, Presence) else tuple(presence)
    return [f for camera in cameras for f in evaluate_camera(camera, site, now, tuning)]
