"""After hours: a person in an armed zone while the museum is closed (its opening hours, in the
site's time zone, with date exceptions). High severity.

The person must have been seen for the rule's `dwell_s` seconds. A person a camera sees but
cannot place in any zone (an uncalibrated camera standing outside every zone) is reported with the
camera as subject, unless `RuleTuning.unplaced_after_hours` is off.
"""

from __future__ import annotations

import logging
from datetime import datetime

from console.presence import CameraPresence
from console.rules.findings import Finding, RuleTuning, Severity, box_detail
from console.site_file import Site

log = logging.getLogger(__name__)

RULE = "after_hours"


def after_hours(
    camera: CameraPresence, site: Site, now: datetime, tuning: RuleTuning | None = None
) -> list[Finding]:
    settings = site.rules.after_hours
    tuning = tuning or RuleTuning()
    if not settings.enabled or site.is_open(now):
        return []
    local = now.astimezone(site.tz).isoformat(timespec="seconds")
    findings: list[Finding] = []
    for track in camera.visitors:
        seen_s = track.seen_for_s
        if seen_s < settings.dwell_s:
            continue
        armed = [z for z in sorted(track.zones) if site.zone(z).armed]
        subjects: list[str | None] = list(armed)
        if not track.zones and tuning.unplaced_after_hours:
            subjects = [None]
        for zone_id in subjects:
            findings.append(
                Finding(
                    rule=RULE,
                    camera_id=camera.camera_id,
                    subject_id=zone_id if zone_id is not None else camera.camera_id,
                    track_id=track.track_id,
                    severity=Severity.HIGH,
                    at=now,
                    video_ts=track.last_seen_ts,
                    detail={
                        "zone": zone_id,
                        "local_time": local,
                        "seen_s": round(seen_s, 3),
                        "box": box_detail(track),
                    },
                )
            )
    if findings:
        log.debug("camera %s: %d after-hours findings", camera.camera_id, len(findings))
    return findings
