"""A protected object missing or moved: its image region no longer matches the reference patch
taken when two unobstructed looks at it, 2 s apart, first agreed (a visitor the detector missed
at one look is not learned as the object).

The presence model samples each object's region at most every `check_every_s` seconds, and only
while nobody's box overlaps it (a visitor in front of a painting is not a missing painting). A
sample with at least `RuleTuning.object_change_min` of its pixels changed, confirmed by samples
still changed `RuleTuning.object_confirm_s` later and looking like the first changed one (one
changed sample may be a visitor the detector missed, and missed visitors look different at each
check, while a bare wall looks the same), is a finding with the object's value tier as severity;
it persists until a later sample matches again.
"""

from __future__ import annotations

import logging
from datetime import datetime

from console.presence import CameraPresence
from console.rules.details import ObjectChangeDetail
from console.rules.findings import Finding, RuleTuning, Severity
from console.site_file import Site

log = logging.getLogger(__name__)

RULE = "object_missing"


def object_missing(
    camera: CameraPresence, site: Site, now: datetime, tuning: RuleTuning | None = None
) -> list[Finding]:
    if not site.rules.object_missing.enabled:
        return []
    tuning = tuning or RuleTuning.of_site(site)
    findings: list[Finding] = []
    for obj_id, view in sorted(camera.objects.items()):
        if view.change is None or view.change < tuning.object_change_min:
            continue
        if view.changed_since_ts is None or view.sampled_ts is None:
            continue
        if view.sampled_ts - view.changed_since_ts < tuning.object_confirm_s:
            continue  # one changed sample may be a visitor the detector missed: look again
        log.debug("camera %s: %s changed by %.2f", camera.camera_id, obj_id, view.change)
        findings.append(
            Finding(
                rule=RULE,
                camera_id=camera.camera_id,
                subject_id=obj_id,
                track_id=None,
                severity=Severity(site.protected_object(obj_id).value),
                at=now,
                video_ts=view.sampled_ts,
                detail=ObjectChangeDetail(
                    change=round(view.change, 3),
                    changed_since_ts=view.changed_since_ts,
                    reference_ts=view.reference_ts,
                ),
            )
        )
    return findings
