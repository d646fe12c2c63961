"""Too close to a protected object: on the plan in metres, or a reach into its image region.

A calibrated camera measures the distance from the person's foot point to the object's plan
polygon; an uncalibrated camera, and any camera for a wall piece (a painting), also judges the
person's box reaching into the object's image polygon (see `console.presence`). The person must
stay too close for the rule's `dwell_s` seconds, so a one-frame blip raises nothing. The severity
is the object's value tier.
"""

from __future__ import annotations

import logging
from datetime import datetime

from console.presence import CameraPresence
from console.rules.details import ProximityDetail
from console.rules.findings import Finding, RuleTuning, Severity, box_detail
from console.site_file import Site

log = logging.getLogger(__name__)

RULE = "proximity"


def proximity(
    camera: CameraPresence, site: Site, now: datetime, tuning: RuleTuning | None = None
) -> list[Finding]:
    settings = site.rules.proximity
    if not settings.enabled:
        return []
    dwell_s = float(settings.dwell_s)
    findings: list[Finding] = []
    for track in camera.visitors:
        for obj_id, rel in sorted(track.objects.items()):
            obj = site.protected_object(obj_id)
            plan_dwell = (
                track.seconds_since(rel.close_since_ts) if rel.close_since_ts is not None else None
            )
            reach_dwell = (
                track.seconds_since(rel.reach_since_ts) if rel.reach_since_ts is not None else None
            )
            plan_hit = plan_dwell is not None and plan_dwell >= dwell_s
            reach_hit = reach_dwell is not None and reach_dwell >= dwell_s
            if not (plan_hit or reach_hit):
                continue
            detail = ProximityDetail(
                box=box_detail(track),
                distance_m=None if rel.distance_m is None else round(rel.distance_m, 3),
                mode="plan" if plan_hit else "image",
                min_distance_m=float(obj.min_distance_m),
                dwell_s=round(max(d for d in (plan_dwell, reach_dwell) if d is not None), 3),
                overlap=None if rel.overlap is None else round(rel.overlap, 3),
            )
            log.debug(
                "camera %s: track %d too close to %s", camera.camera_id, track.track_id, obj_id
            )
            findings.append(
                Finding(
                    rule=RULE,
                    camera_id=camera.camera_id,
                    subject_id=obj_id,
                    track_id=track.track_id,
                    severity=Severity(obj.value),
                    at=now,
                    video_ts=track.last_seen_ts,
                    detail=detail,
                )
            )
    return findings
