"""Camera health: video loss, frozen image, covered lens, moved camera.

- video loss: the camera has been offline or stalled (its status changes) for `video_loss_s`, or
  has sent no frame for `video_loss_s` by the site clock; medium severity.
- frozen: identical frames for `frozen_s` of the camera's seconds; medium.
- covered: a very dark or uniform image for `RuleTuning.covered_s`; high (tamper).
- moved: the view outside people's boxes no longer matches its reference for
  `RuleTuning.moved_s`; high (tamper).

The subject is the camera itself; `detail["condition"]` says which condition.
"""

from __future__ import annotations

from datetime import datetime

from console.presence import CameraPresence
from console.rules.details import CameraHealthDetail
from console.rules.findings import Finding, RuleTuning, Severity
from console.site_file import Site

RULE = "camera_health"


def camera_health(
    camera: CameraPresence, site: Site, now: datetime, tuning: RuleTuning | None = None
) -> list[Finding]:
    settings = site.rules.camera_health
    if not settings.enabled:
        return []
    tuning = tuning or RuleTuning.of_site(site)
    findings: list[Finding] = []

    def add(detail: CameraHealthDetail, severity: Severity) -> None:
        findings.append(
            Finding(
                rule=RULE,
                camera_id=camera.camera_id,
                subject_id=camera.camera_id,
                track_id=None,
                severity=severity,
                at=now,
                video_ts=camera.last_ts,
                detail=detail,
            )
        )

    loss_s = float(settings.video_loss_s)
    status = None if camera.status is None else str(camera.status)
    if camera.status is not None and camera.status.down and camera.status_since is not None:
        down_s = (now - camera.status_since).total_seconds()
        if down_s >= loss_s:
            add(
                CameraHealthDetail(
                    what="video_loss",
                    status=status,
                    reason=camera.status_reason,
                    down_s=round(down_s, 3),
                ),
                Severity.MEDIUM,
            )
    else:
        last = camera.last_frame_at or (camera.status_since if camera.status is not None else None)
        if last is not None:
            silent_s = (now - last).total_seconds()
            if silent_s >= loss_s:
                add(
                    CameraHealthDetail(
                        what="video_loss",
                        status=status,
                        reason="no frames",
                        down_s=round(silent_s, 3),
                    ),
                    Severity.MEDIUM,
                )

    view = camera.view
    if view.image_ts is not None:
        if view.frozen_since_ts is not None:
            frozen_s = view.image_ts - view.frozen_since_ts
            if frozen_s >= settings.frozen_s:
                add(CameraHealthDetail(what="frozen", frozen_s=round(frozen_s, 3)), Severity.MEDIUM)
        if view.covered_since_ts is not None:
            covered_s = view.image_ts - view.covered_since_ts
            if covered_s >= tuning.covered_s:
                add(
                    CameraHealthDetail(
                        what="covered",
                        covered_s=round(covered_s, 3),
                        brightness=round(view.brightness or 0.0, 1),
                        contrast=round(view.contrast or 0.0, 1),
                    ),
                    Severity.HIGH,
                )
        if view.moved_since_ts is not None:
            moved_s = view.image_ts - view.moved_since_ts
            if moved_s >= tuning.moved_s:
                add(
                    CameraHealthDetail(
                        what="moved",
                        moved_s=round(moved_s, 3),
                        scene_change=round(view.scene_change or 0.0, 3),
                    ),
                    Severity.HIGH,
                )
    return findings
