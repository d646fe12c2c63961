"""Behaviour: a visitor who departs from what this museum has learned as normal.

Unlike the other rules this one needs memory (the learned normal, each visitor's visit), which
the behaviour model (`console.behaviour.model.BehaviourModel`) keeps; what it reports for one
frame is this pure function of (the model's advisories for the frame, the camera, the site,
the time): one low-severity **advisory** per visitor above the site's threshold, its reason in
one line ("stayed 9 min near The Milkmaid; usual is under 40 s").

An advisory is about a visitor, not a place: its subject is the visitor's anonymous id
("visitor-17", of this console's memory), so its findings fold into one alarm across every
camera that sees them (`console.alarms` keys the rule's incidents on the visitor, not on the
camera), and the alarm's cameras follow the visitor.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from console.presence import CameraPresence
from console.rules.details import BehaviourDetail
from console.rules.findings import Finding, Severity, box_detail
from console.site_file import Site

if TYPE_CHECKING:
    from console.behaviour.model import Advisory

__all__ = ["RULE", "advisories"]

RULE = "behaviour"


def advisories(
    found: Sequence[Advisory], camera: CameraPresence, site: Site, now: datetime
) -> list[Finding]:
    """One finding per advisory the behaviour model gave for this camera's frame."""
    out: list[Finding] = []
    for advisory in found:
        track = advisory.track
        assessment = advisory.assessment
        room_name: str | None = None
        if advisory.room_id is not None:
            try:
                room_name = str(site.zone(advisory.room_id).name)
            except KeyError:
                room_name = None
        out.append(
            Finding(
                rule=RULE,
                camera_id=camera.camera_id,
                subject_id=advisory.visitor_id,
                track_id=track.track_id,
                severity=Severity.LOW,
                at=now,
                video_ts=track.last_seen_ts,
                detail=BehaviourDetail(
                    box=box_detail(track),
                    reason=assessment.line,
                    reasons=tuple(r.words for r in assessment.reasons),
                    kinds=tuple(sorted({r.kind for r in assessment.reasons})),
                    score=round(assessment.score, 2),
                    visitor=advisory.label,
                    room=advisory.room_id,
                    room_name=room_name,
                ),
            )
        )
    return out
