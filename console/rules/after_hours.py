"""After hours: a person in an armed zone while it is closed. High severity.

A zone's `armed` says when it is armed (`Site.zone_armed`): `after_hours` while the zone is
closed (its own opening hours, else the site's; hours past midnight and dated exceptions in the
site's time zone), `always`, or `never`. The person must have been seen for the rule's `dwell_s`
seconds. While the museum is closed, a person a camera sees but cannot place in any zone (an
uncalibrated camera standing outside every zone) is reported with the camera as subject, unless
`rules.after_hours.unplaced_person` (`RuleTuning.unplaced_after_hours`) is off.
"""

from __future__ import annotations

import logging
from datetime import datetime

from console.presence import CameraPresence
from console.rules.details import AfterHoursDetail
from console.rules.findings import Finding, RuleTuning, Severity, box_detail
from console.site_file import Site

log = logging.getLogger(__name__)

RULE = "after_hours"


def after_hours(
    camera: CameraPresence, site: Site, now: datetime, tuning: RuleTuning | None = None
) -> list[Finding]:
    settings = site.rules.after_hours
    tuning = tuning or RuleTuning.of_site(site)
    if not settings.enabled or not camera.visitors:
        return []
    local = now.astimezone(site.tz).isoformat(timespec="seconds")
    armed_now: dict[str, bool] = {}  # zone id -> armed at `now` (worked out once per call)
    site_closed: bool | None = None
    findings: list[Finding] = []
    for track in camera.visitors:
        seen_s = track.seen_for_s
        if seen_s < settings.dwell_s:
            continue
        for zone_id in track.zones:
            if zone_id not in armed_now:
                armed_now[zone_id] = site.zone_armed(zone_id, now)
        subjects: list[str | None] = [z for z in sorted(track.zones) if armed_now[z]]
        if not track.zones and tuning.unplaced_after_hours:
            if site_closed is None:
                site_closed = not site.is_open(now)
            if site_closed:
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
                    detail=AfterHoursDetail(
                        box=box_detail(track),
                        zone=zone_id,
                        local_time=local,
                        seen_s=round(seen_s, 3),
                    ),
                )
            )
    if findings:
        log.debug("camera %s: %d after-hours findings", camera.camera_id, len(findings))
    return findings
