"""Restricted zones: a person inside a staff-only zone for the rule's `dwell_s` seconds.

High severity while the museum is closed, medium while it is open (staff walk in and out).
"""

from __future__ import annotations

from datetime import datetime

from console.presence import CameraPresence
from console.rules.details import RestrictedDetail
from console.rules.findings import Finding, RuleTuning, Severity, box_detail
from console.site_file import Site

RULE = "restricted_zone"


def restricted_zone(
    camera: CameraPresence, site: Site, now: datetime, tuning: RuleTuning | None = None
) -> list[Finding]:
    settings = site.rules.restricted
    if not settings.enabled:
        return []
    severity = Severity.MEDIUM if site.is_open(now) else Severity.HIGH
    findings: list[Finding] = []
    for track in camera.visitors:
        for zone_id, since in sorted(track.zones.items()):
            if site.zone(zone_id).kind != "restricted":
                continue
            inside_s = track.seconds_since(since)
            if inside_s < settings.dwell_s:
                continue
            findings.append(
                Finding(
                    rule=RULE,
                    camera_id=camera.camera_id,
                    subject_id=zone_id,
                    track_id=track.track_id,
                    severity=severity,
                    at=now,
                    video_ts=track.last_seen_ts,
                    detail=RestrictedDetail(
                        box=box_detail(track),
                        inside_s=round(inside_s, 3),
                        located_by=str(track.located_by),
                    ),
                )
            )
    return findings
