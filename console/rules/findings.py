"""What a rule reports: a `Finding`, and the rule thresholds the site file does not hold."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from console.presence import TrackPresence
from console.rules.details import Box, RuleDetail
from console.severity import Severity

if TYPE_CHECKING:
    from console.site_file import Site

__all__ = ["Finding", "RuleTuning", "Severity", "box_detail"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule's observation about one camera, subject and (optionally) person.

    `subject_id` is the protected object's or zone's id, or the camera's own id for camera-health
    findings. `at` is the site clock's time of the evaluation; `video_ts` the camera's seconds of
    the observation it rests on (None when there never was one, e.g. a camera that never sent a
    frame). `detail` is the rule's own typed detail (`console.rules.details`).
    """

    rule: str
    camera_id: str
    subject_id: str
    track_id: int | None
    severity: Severity
    at: datetime
    video_ts: float | None
    detail: RuleDetail = field(default_factory=RuleDetail, hash=False)

    @property
    def key(self) -> tuple[str, str, str, int | None]:
        """(camera, rule, subject, track): what an alarm episode is folded on."""
        return (self.camera_id, self.rule, self.subject_id, self.track_id)


@dataclass(frozen=True, slots=True)
class RuleTuning:
    """Rule thresholds. Those a supervisor tunes are fields of the site file's `rules:` section
    (`RuleTuning.of_site(site)`); the defaults here are the site file's defaults."""

    near_object_loiter_s: float = 120.0
    """A person near one object (see PresenceConfig.near_object_m) for this long is loitering."""
    covered_s: float = 3.0
    """A dark or uniform image for this long is a covered camera."""
    moved_s: float = 2.0
    """A view that no longer matches its reference for this long is a moved camera."""
    object_change_min: float = 0.25
    """An object region with at least this fraction of its pixels changed is missing or moved."""
    object_confirm_s: float = 5.0
    """...once the change has been seen in samples at least this many seconds apart."""
    unplaced_after_hours: bool = True
    """After hours, a person a camera sees but cannot place in any zone (uncalibrated camera
    outside every zone) still raises an after-hours finding, with the camera as subject."""

    @classmethod
    def of_site(cls, site: Site) -> RuleTuning:
        """The thresholds the site file's `rules:` section sets (its defaults where omitted)."""
        rules = site.rules
        return cls(
            near_object_loiter_s=float(rules.loitering.near_object_s),
            covered_s=float(rules.camera_health.covered_s),
            moved_s=float(rules.camera_health.moved_s),
            object_change_min=float(rules.object_missing.changed_share_min),
            object_confirm_s=float(rules.object_missing.confirm_s),
            unplaced_after_hours=bool(rules.after_hours.unplaced_person),
        )

    def __post_init__(self) -> None:
        for name in (
            "near_object_loiter_s",
            "covered_s",
            "moved_s",
            "object_change_min",
            "object_confirm_s",
        ):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"RuleTuning.{name} must be a finite number >= 0 (got {value!r})")


def box_detail(track: TrackPresence) -> Box:
    """The person's box, rounded to 0.1 px, for a finding's detail."""
    x1, y1, x2, y2 = (round(float(v), 1) for v in track.xyxy)
    return (x1, y1, x2, y2)
