"""Incidents in the museum's words: camera, object, zone and guard names from the site file
instead of ids, times in the site's own time zone beside UTC, and each step as a line of text.
What the CSV, the JSON lines and the PDF report show comes from here, so they agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from console.export.query import Incident, Step
from console.site_file import Site
from inference.sources import mask_credentials

RULE_WORDS: dict[str, str] = {
    "proximity": "too close to an object",
    "after_hours": "presence after hours",
    "loitering": "loitering",
    "restricted": "restricted zone entered",
    "object_missing": "object missing or moved",
    "camera_health": "camera health",
}
OUTCOME_WORDS: dict[str, str] = {
    "false_alarm": "false alarm",
    "visitor_warned": "visitor warned",
    "intervention": "intervention",
    "police_called": "police called",
    "other": "other",
}
STEP_WORDS: dict[str, str] = {
    "raise": "raised",
    "acknowledge": "acknowledged",
    "dispatch": "guard dispatched",
    "arrive": "guard arrived",
    "resolve": "resolved",
    "comment": "comment",
    "escalate": "escalated",
    "activity": "new activity",
    "seen": "activity seen",
}


def utc_text(at: datetime) -> str:
    """`2026-11-28T21:01:03Z` (seconds): for spreadsheets."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class SiteNames:
    """Names and the time zone of a site; ids it does not know are shown as they are."""

    site_name: str
    tz: ZoneInfo
    cameras: dict[str, str]
    subjects: dict[str, tuple[str, str]]  # id -> (name, "object" | "zone")
    guards: dict[str, tuple[str, str]]  # id -> (name, post)

    @classmethod
    def of(cls, site: Site) -> SiteNames:
        return cls(
            site_name=site.site.name,
            tz=site.tz,
            cameras={c.id: c.name for c in site.cameras},
            subjects={
                **{z.id: (z.name, "zone") for z in site.zones},
                **{o.id: (o.name, "object") for o in site.protected_objects},
            },
            guards={g.id: (g.name, g.post) for g in site.guards},
        )

    @property
    def tz_name(self) -> str:
        return str(self.tz.key)

    def local(self, at: datetime | None) -> str:
        """`2026-11-28 22:01:03` in the site's time zone (a spreadsheet reads it as a date)."""
        if at is None:
            return ""
        return at.astimezone(self.tz).strftime("%Y-%m-%d %H:%M:%S")

    def local_iso(self, at: datetime | None) -> str | None:
        if at is None:
            return None
        return at.astimezone(self.tz).isoformat(timespec="seconds")

    def camera(self, camera_id: str) -> str:
        return self.cameras.get(camera_id, camera_id)

    def subject(self, subject_id: str | None) -> tuple[str, str]:
        if subject_id is None:
            return "", ""
        return self.subjects.get(subject_id, (subject_id, ""))

    def guard(self, guard_id: str | None) -> str:
        if guard_id is None:
            return ""
        return self.guards.get(guard_id, (guard_id, ""))[0]

    def step_text(self, step: Step) -> str:
        """One step in words: `acknowledged by ana`, `guard dispatched: Piet (north stair)`."""
        detail: dict[str, Any] = dict(step.detail or {})
        words = STEP_WORDS.get(step.kind, step.kind)
        parts = [f"{words} by {step.user}"]
        if step.kind in ("dispatch", "arrive") and detail.get("guard_id"):
            guard = self.guard(str(detail["guard_id"]))
            post = detail.get("post")
            parts.append(f"guard {guard}" + (f" from {post}" if post else ""))
        if step.kind == "resolve" and detail.get("outcome"):
            parts.append(OUTCOME_WORDS.get(str(detail["outcome"]), str(detail["outcome"])))
        if detail.get("note"):
            parts.append(f"note: {detail['note']}")
        if step.kind == "comment" and detail.get("text"):
            parts.append(str(detail["text"]))
        if step.kind == "arrive" and detail.get("outcome"):
            parts.append(f"guard's report: {detail['outcome']}")
        text = "; ".join(parts)
        return mask_credentials(text) if "://" in text else text

    def title(self, incident: Incident) -> str:
        subject, _ = self.subject(incident.subject)
        rule = RULE_WORDS.get(incident.rule, incident.rule)
        condition = incident.raise_detail.get("condition")
        if condition:
            rule = f"{rule} ({str(condition).replace('_', ' ')})"
        where = (
            f"{subject} ({self.camera(incident.camera_id)})"
            if subject
            else self.camera(incident.camera_id)
        )
        return f"Alarm {incident.id}: {rule}, {where}"


def seconds_text(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


@dataclass(frozen=True, slots=True)
class IncidentPage:
    """An incident as the PDF report shows it: a title, facts and a timeline, all text."""

    title: str
    facts: tuple[tuple[str, str], ...]
    timeline: tuple[tuple[str, str], ...]  # (local time, what happened)


def incident_page(names: SiteNames, incident: Incident, snapshot_state: str) -> IncidentPage:
    subject, kind = names.subject(incident.subject)
    facts: list[tuple[str, str]] = [
        ("raised", f"{names.local(incident.raised_at)} ({utc_text(incident.raised_at)})"),
        ("camera", f"{names.camera(incident.camera_id)} ({incident.camera_id})"),
        ("rule", RULE_WORDS.get(incident.rule, incident.rule)),
        ("severity", incident.severity),
    ]
    if subject:
        facts.append((kind or "subject", f"{subject} ({incident.subject})"))
    facts.append(("state", incident.state))
    if incident.outcome:
        facts.append(("outcome", OUTCOME_WORDS.get(incident.outcome, incident.outcome)))
    if incident.note:
        facts.append(("note", mask_credentials(incident.note)))
    facts.append(("acknowledged after", seconds_text(incident.ack_s)))
    hold = incident.on_hold
    if hold is not None:
        ref = f", case {hold.case_ref}" if hold.case_ref else ""
        facts.append(("on hold", f"{hold.reason}{ref} (since {names.local(hold.placed_at)})"))
    facts.append(("snapshot", snapshot_state))
    if incident.replayed:
        facts.append(("replayed", "written by nightwatch replay, not by a live console"))
    timeline: list[tuple[str, str]] = [
        (names.local(step.at), names.step_text(step)) for step in incident.steps
    ]
    for s in incident.sightings:
        who = f"person {s.track_id}" if s.track_id is not None else (s.condition or "condition")
        until = names.local(s.ended_at) if s.ended_at else "still seen"
        close = f", closest {s.closest_m:.1f} m" if s.closest_m is not None else ""
        timeline.append(
            (
                names.local(s.started_at),
                f"sighting: {who} on {names.camera(s.camera_id)} until {until}{close}",
            )
        )
    timeline.sort(key=lambda item: item[0])
    return IncidentPage(names.title(incident), tuple(facts), tuple(timeline))
