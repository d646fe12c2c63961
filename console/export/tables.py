"""The export's tables: `incidents.csv` (one row per alarm, its steps summarised),
`steps.csv` (one row per step) and `incidents.jsonl` (one incident per line, with its sightings,
steps, dispatches, snapshots and holds). Each is written row by row as the incidents stream by.

CSV: UTF-8 with a byte-order mark (so Excel reads the accents right), comma-separated, quoted
where needed, CRLF line ends (RFC 4180); times twice, in the site's time zone
(`2026-11-28 22:01:03`, which a spreadsheet reads as a date and time) and in UTC
(`2026-11-28T21:01:03Z`); names from the site file beside the ids. A text cell that starts with
`=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`, so a spreadsheet never runs a
note as a formula (CSV injection); the JSON lines keep the text as it is.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from console.export.media import ExportedMedia, ExportedSnapshot
from console.export.names import OUTCOME_WORDS, RULE_WORDS, SiteNames, utc_text
from console.export.query import Incident
from console.store.tasks import iso
from inference.sources import mask_credentials

INCIDENT_COLUMNS = (
    "alarm_id",
    "raised_local",
    "raised_utc",
    "camera_id",
    "camera",
    "rule",
    "rule_words",
    "severity",
    "subject_id",
    "subject",
    "subject_kind",
    "state",
    "outcome",
    "note",
    "acknowledged_local",
    "acknowledged_by",
    "ack_seconds",
    "dispatched_local",
    "guard_id",
    "guard",
    "post",
    "guard_arrived_local",
    "resolved_local",
    "resolved_utc",
    "resolved_by",
    "escalated",
    "sightings",
    "tracks",
    "closest_m",
    "snapshot_file",
    "snapshot_state",
    "snapshot_sha256_stored",
    "snapshot_sha256_exported",
    "on_hold",
    "case_ref",
    "replayed",
    "steps",
    "media",
)
STEP_COLUMNS = (
    "alarm_id",
    "step",
    "kind",
    "at_local",
    "at_utc",
    "user",
    "guard_id",
    "guard",
    "outcome",
    "note",
    "detail",
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def masked(text: str) -> str:
    """`text` with the credentials of any URL in it masked (the regex only where a URL may be)."""
    return mask_credentials(text) if "://" in text else text


def cell(value: Any) -> Any:
    """A CSV cell: text masked of credentials and defused of formulas; None empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        value = masked(value)
        if value.startswith(_FORMULA_STARTS):
            return "'" + value
    return value


def _masked(value: Any) -> Any:
    """Every text in a JSON document with the credentials of any URL in it masked."""
    if isinstance(value, str):
        return masked(value)
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(v) for v in value]
    return value


@dataclass
class TableCounts:
    incidents: int = 0
    steps: int = 0
    snapshots: int = 0
    media: int = 0
    blurred_snapshots: int = 0


class CsvTables:
    """`incidents.csv` and `steps.csv`, written as incidents arrive."""

    def __init__(self, out_dir: Path, names: SiteNames) -> None:
        self.names = names
        self._incidents: IO[str] = (out_dir / "incidents.csv").open(
            "w", encoding="utf-8-sig", newline=""
        )
        self._steps: IO[str] = (out_dir / "steps.csv").open("w", encoding="utf-8-sig", newline="")
        self._incident_rows = csv.writer(self._incidents, lineterminator="\r\n")
        self._step_rows = csv.writer(self._steps, lineterminator="\r\n")
        self._incident_rows.writerow(INCIDENT_COLUMNS)
        self._step_rows.writerow(STEP_COLUMNS)
        self.files = ("incidents.csv", "steps.csv")

    def add(
        self,
        incident: Incident,
        snapshot: ExportedSnapshot | None,
        counts: TableCounts,
        media: list[ExportedMedia] | None = None,
    ) -> None:
        n = self.names
        subject, kind = n.subject(incident.subject)
        ack = incident.acknowledged
        resolved = incident.resolved
        dispatch = incident.dispatches[0] if incident.dispatches else None
        hold = incident.on_hold
        closest = [s.closest_m for s in incident.sightings if s.closest_m is not None]
        tracks = sorted({s.track_id for s in incident.sightings if s.track_id is not None})
        summary = " | ".join(f"{n.local(s.at)} {n.step_text(s)}" for s in incident.steps)
        row = {
            "alarm_id": incident.id,
            "raised_local": n.local(incident.raised_at),
            "raised_utc": utc_text(incident.raised_at),
            "camera_id": incident.camera_id,
            "camera": n.camera(incident.camera_id),
            "rule": incident.rule,
            "rule_words": RULE_WORDS.get(incident.rule, incident.rule),
            "severity": incident.severity,
            "subject_id": incident.subject,
            "subject": subject,
            "subject_kind": kind,
            "state": incident.state,
            "outcome": OUTCOME_WORDS.get(incident.outcome or "", incident.outcome),
            "note": incident.note,
            "acknowledged_local": n.local(ack.at) if ack else "",
            "acknowledged_by": ack.user if ack else "",
            "ack_seconds": round(incident.ack_s, 1) if incident.ack_s is not None else None,
            "dispatched_local": n.local(dispatch.sent_at) if dispatch else "",
            "guard_id": dispatch.guard_id if dispatch else "",
            "guard": n.guard(dispatch.guard_id) if dispatch else "",
            "post": dispatch.post if dispatch else "",
            "guard_arrived_local": n.local(dispatch.arrived_at) if dispatch else "",
            "resolved_local": n.local(resolved.at) if resolved else "",
            "resolved_utc": utc_text(resolved.at) if resolved else "",
            "resolved_by": resolved.user if resolved else "",
            "escalated": incident.escalated,
            "sightings": len(incident.sightings),
            "tracks": " ".join(str(t) for t in tracks),
            "closest_m": round(min(closest), 2) if closest else None,
            "snapshot_file": snapshot.file if snapshot else None,
            "snapshot_state": snapshot.state if snapshot else "none",
            "snapshot_sha256_stored": snapshot.stored_sha256 if snapshot else None,
            "snapshot_sha256_exported": snapshot.exported_sha256 if snapshot else None,
            "on_hold": hold is not None,
            "case_ref": hold.case_ref if hold else None,
            "replayed": incident.replayed,
            "steps": summary,
            "media": "; ".join(m.words for m in media or ()),
        }
        self._incident_rows.writerow([cell(row[c]) for c in INCIDENT_COLUMNS])
        for number, step in enumerate(incident.steps, start=1):
            detail = dict(step.detail or {})
            guard_id = detail.pop("guard_id", None)
            outcome = detail.pop("outcome", None)
            note = detail.pop("note", None)
            self._step_rows.writerow(
                [
                    cell(v)
                    for v in (
                        incident.id,
                        number,
                        step.kind,
                        n.local(step.at),
                        utc_text(step.at),
                        step.user,
                        guard_id,
                        n.guard(guard_id) if guard_id else None,
                        OUTCOME_WORDS.get(str(outcome), outcome) if outcome else None,
                        note,
                        json.dumps(detail, sort_keys=True, ensure_ascii=False) if detail else None,
                    )
                ]
            )
            counts.steps += 1

    def close(self) -> None:
        self._incidents.close()
        self._steps.close()


class JsonLines:
    """`incidents.jsonl`: one incident per line, every time in UTC and in the site's zone."""

    def __init__(self, out_dir: Path, names: SiteNames) -> None:
        self.names = names
        self._out: IO[str] = (out_dir / "incidents.jsonl").open("w", encoding="utf-8", newline="\n")
        self.files = ("incidents.jsonl",)

    def add(
        self,
        incident: Incident,
        snapshots: list[ExportedSnapshot],
        media: list[ExportedMedia] | None = None,
    ) -> None:
        n = self.names

        def when(at: Any) -> dict[str, str | None] | None:
            return None if at is None else {"utc": iso(at), "local": n.local_iso(at)}

        subject, kind = n.subject(incident.subject)
        document = {
            "alarm_id": incident.id,
            "camera": {"id": incident.camera_id, "name": n.camera(incident.camera_id)},
            "rule": incident.rule,
            "severity": incident.severity,
            "subject": (
                None
                if incident.subject is None
                else {"id": incident.subject, "name": subject, "kind": kind}
            ),
            "state": incident.state,
            "outcome": incident.outcome,
            "note": incident.note,
            "raised_at": when(incident.raised_at),
            "ack_seconds": incident.ack_s,
            "escalated": incident.escalated,
            "replayed": incident.replayed,
            "steps": [
                {
                    "id": s.id,
                    "kind": s.kind,
                    "at": when(s.at),
                    "user": s.user,
                    "text": n.step_text(s),
                    "detail": s.detail,
                }
                for s in incident.steps
            ],
            "sightings": [
                {
                    "id": o.id,
                    "camera": {"id": o.camera_id, "name": n.camera(o.camera_id)},
                    "track_id": o.track_id,
                    "condition": o.condition,
                    "from": when(o.started_at),
                    "to": when(o.ended_at),
                    "video_start_s": o.video_start_s,
                    "video_end_s": o.video_end_s,
                    "closest_m": o.closest_m,
                }
                for o in incident.sightings
            ],
            "dispatches": [
                {
                    "id": d.id,
                    "guard": {"id": d.guard_id, "name": n.guard(d.guard_id)},
                    "post": d.post,
                    "sent": when(d.sent_at),
                    "arrived": when(d.arrived_at),
                    "outcome": d.outcome,
                }
                for d in incident.dispatches
            ],
            "snapshots": [
                {
                    "id": s.snapshot_id,
                    "file": s.file,
                    "state": s.state,
                    "note": s.note or None,
                    "sha256_stored": s.stored_sha256,
                    "sha256_exported": s.exported_sha256,
                }
                for s in snapshots
            ],
            "media": [
                {
                    "kind": m.kind,
                    "file": m.file,
                    "state": m.state,
                    "note": m.note or None,
                    "sha256_stored": m.stored_sha256,
                    "sha256_exported": m.exported_sha256,
                }
                for m in media or ()
            ],
            "holds": [
                {
                    "id": h.id,
                    "reason": h.reason,
                    "case_ref": h.case_ref,
                    "placed_by": h.placed_by,
                    "placed": when(h.placed_at),
                    "released": when(h.released_at),
                }
                for h in incident.holds
            ],
        }
        text = json.dumps(_masked(document), ensure_ascii=False, sort_keys=True, allow_nan=False)
        self._out.write(text + "\n")

    def close(self) -> None:
        self._out.close()
