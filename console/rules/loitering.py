"""Loitering: a person staying in a zone longer than its `loiter_s`, or near one protected object
longer than `RuleTuning.near_object_loiter_s`.

Zone loitering is low severity; loitering near an object is one tier below the object's value.
"""

from __future__ import annotations

from datetime import datetime

from console.presence import CameraPresence
from console.rules.details import LoiteringDetail
from console.rules.findings import Finding, RuleTuning, Severity, box_detail
from console.site_file import Site

RULE = "loitering"


def loitering(
    camera: CameraPresence, site: Site, now: datetime, tuning: RuleTuning | None = None
) -> list[Finding]:
    if not site.rules.loitering.enabled:
        return []
    tuning = tuning or RuleTuning.of_site(site)
    findings: list[Finding] = []
    for track in camera.visitors:
        for zone_id, since in sorted(track.zones.items()):
            zone = site.zone(zone_id)
            stayed = track.seconds_since(since)
            if zone.loiter_s is None or stayed < zone.loiter_s:
                continue
            findings.append(
                Finding(
                    rule=RULE,
                    camera_id=camera.camera_id,
                    subject_id=zone_id,
                    track_id=track.track_id,
                    severity=Severity.LOW,
                    at=now,
                    video_ts=track.last_seen_ts,
                    detail=LoiteringDetail(
                        box=box_detail(track),
                        kind="zone",
                        dwell_s=round(stayed, 3),
                        loiter_s=float(zone.loiter_s),
                    ),
                )
            )
        for obj_id, rel in sorted(track.objects.items()):
            if rel.near_since_ts is None:
                continue
            stayed = track.seconds_since(rel.near_since_ts)
            if stayed < tuning.near_object_loiter_s:
                continue
            obj = site.protected_object(obj_id)
            detail = LoiteringDetail(
                box=box_detail(track),
                distance_m=None if rel.distance_m is None else round(rel.distance_m, 3),
                kind="object",
                dwell_s=round(stayed, 3),
                loiter_s=float(tuning.near_object_loiter_s),
            )
            findings.append(
                Finding(
                    rule=RULE,
                    camera_id=camera.camera_id,
                    subject_id=obj_id,
                    track_id=track.track_id,
                    severity=Severity(obj.value).lower(),
                    at=now,
                    video_ts=track.last_seen_ts,
                    detail=detail,
                )
            )
    return findings
