"""One export: the incidents a period and filters take, as CSV, JSON lines and a PDF report,
with their snapshots, a signed manifest, and an audit row saying who exported what.

    result = export_incidents(store, site, ExportRequest(filters, ("csv", "jsonl"), out, "ana"),
                              progress=print_progress, media=[clips])

Everything is read inside one read transaction (one consistent state, the chain head included)
and written as it streams: memory stays bounded whatever the size of the log. Progress goes to a
callback, `progress(stage, done, total)`: the CLI prints it, the incident browser shows a bar.

The PDF report needs Qt, which the core never imports: the caller passes a `ReportRenderer`
(`ui.export_pdf.PdfReport`); an export without "pdf" never touches Qt. Evidence beyond the
snapshots comes in through `IncidentMedia` sources (console/export/media.py), each writing its
files per incident: the clips and clean snapshots always (`console.export.clips.ClipMedia`),
others passed as `media`.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.orm import Session

from console.export.clips import ClipMedia
from console.export.manifest import write_manifest
from console.export.media import ExportedMedia, ExportedSnapshot, IncidentMedia, export_snapshot
from console.export.names import IncidentPage, SiteNames, incident_page
from console.export.query import ExportFilters, count_incidents, stream_incidents
from console.export.summary import Summary, summarise
from console.export.tables import CsvTables, JsonLines, TableCounts
from console.site_file import Site
from console.store import AppendAudit, AuditEntry, Store, StoreError
from console.store.audit import chain_head, chain_identity
from console.store.tasks import StoreFiles, iso

log = logging.getLogger(__name__)

FORMATS = ("csv", "jsonl", "pdf")
PDF_DETAILS = 500  # incidents with a page of their own in the PDF; the rest are in the tables
PROGRESS_EVERY = 200

Progress = Callable[[str, int, int], None]


class ExportError(Exception):
    """The export cannot be made (the message says why); nothing is claimed exported."""


@dataclass(frozen=True, slots=True)
class ReportCover:
    """What the PDF's first pages show."""

    site_name: str
    time_zone: str
    period: str
    filters: str
    exported_by: str
    exported_at: str
    console: str
    public_key: str
    audit_head: str
    summary: Summary
    details_note: str
    blur_note: str


class ReportRenderer(Protocol):
    """Writes the PDF report as incidents stream by (`ui.export_pdf.PdfReport`)."""

    def begin(self, path: Path, cover: ReportCover) -> None: ...

    def add(self, page: IncidentPage, snapshot: Path | None) -> None: ...

    def finish(self) -> None: ...


@dataclass(frozen=True, slots=True)
class ExportRequest:
    filters: ExportFilters
    formats: tuple[str, ...]
    out_dir: Path
    user: str
    blur: bool | None = None  # None: the site's `privacy.blur_exported_people`
    pdf_details: int = PDF_DETAILS

    def __post_init__(self) -> None:
        unknown = [f for f in self.formats if f not in FORMATS]
        if unknown or not self.formats:
            raise ValueError(
                f"export formats are csv, jsonl and pdf (got {', '.join(self.formats) or 'none'})"
            )
        if not self.user.strip():
            raise ValueError("an export names who makes it (--user)")


@dataclass(frozen=True, slots=True)
class ExportResult:
    out_dir: Path
    files: tuple[str, ...]
    incidents: int
    steps: int
    snapshots: int
    media: int  # files of the `media` sources exported
    manifest_sha256: str
    audit_head: tuple[int, str]
    audit_entry: AuditEntry
    summary: Summary = field(repr=False)


def _prepare(out_dir: Path) -> None:
    if out_dir.exists():
        if not out_dir.is_dir():
            raise ExportError(f"{out_dir}: not a folder")
        if any(out_dir.iterdir()):
            raise ExportError(
                f"{out_dir}: the folder is not empty; an export goes into a folder of its own "
                "(its manifest lists every file in it)"
            )
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"{out_dir}: cannot create the export folder ({exc.strerror})") from exc


def _filters_text(names: SiteNames, f: ExportFilters) -> str:
    parts = []
    for label, values in (
        ("cameras", [names.camera(c) for c in f.cameras]),
        ("rules", f.rules),
        ("severities", f.severities),
        ("outcomes", f.outcomes),
        ("operators", f.operators),
        ("objects and zones", [names.subject(s)[0] or s for s in f.subjects]),
        ("floors", f.floors),
    ):
        if values:
            parts.append(f"{label}: {', '.join(values)}")
    return "; ".join(parts) or "none (every incident of the period)"


def export_incidents(
    store: Store,
    site: Site,
    request: ExportRequest,
    *,
    progress: Progress | None = None,
    renderer: ReportRenderer | None = None,
    media: Sequence[IncidentMedia] = (),
) -> ExportResult:
    """Make the export, sign its manifest, audit it (`export.created`); `ExportError` if it
    cannot be made. Blocking (minutes for a large log): call it from a thread of the caller's
    own, never the core's or the GUI's, after the role table allowed the user (`AuthorizeExport`).
    `media`: evidence sources beyond the snapshots and the clips (always exported,
    `ClipMedia`), each called once per incident."""
    if store.keys is None:
        raise ExportError("the store has no audit keys: the export's manifest cannot be signed")
    if "pdf" in request.formats and renderer is None:
        raise ExportError(
            "the PDF report is drawn by the console's window toolkit: run `nightwatch export` "
            "(not python -m console.cli), or leave pdf out of --format"
        )
    if store.files.root is None:
        raise ExportError("the store has no snapshots folder (an in-memory store)")
    out_dir = request.out_dir.expanduser().resolve()
    _prepare(out_dir)
    names = SiteNames.of(site)
    blur = site.privacy.blur_exported_people if request.blur is None else request.blur
    exported_at = datetime.now(UTC)
    console = socket.gethostname()
    report = progress or (lambda _stage, _done, _total: None)

    def work(session: Session) -> dict[str, Any]:
        return _write_all(
            session,
            store.files,
            site,
            names,
            request,
            out_dir,
            blur=blur,
            exported_at=exported_at,
            console=console,
            keys_fingerprint=store.keys.fingerprint if store.keys else "",
            progress=report,
            renderer=renderer,
            # every export has the clips
            media=(ClipMedia(store.files, site, progress=report, filters=request.filters), *media),
        )

    try:
        facts = store.read(work)
    except (OSError, StoreError) as exc:
        raise ExportError(f"{out_dir}: the export failed and is incomplete: {exc}") from exc
    summary: Summary = facts.pop("_summary")
    report("manifest", 0, 1)
    manifest_sha = write_manifest(out_dir, store.keys, facts)
    report("manifest", 1, 1)
    audit_detail = {
        "out_dir": str(out_dir),
        "formats": list(request.formats),
        "filters": request.filters.as_dict(),
        "rows": facts["rows"],
        "audit_head_seq": facts["audit_head"]["seq"],
        "manifest_sha256": manifest_sha,
        "blurred": blur,
        "console": console,
    }
    try:
        entry = store.write(
            AppendAudit(request.user, "export.created", str(out_dir), audit_detail)
        ).result()
    except StoreError as exc:
        raise ExportError(
            f"{out_dir}: the files are written and signed, but the export could not be "
            f"recorded in the audit log: {exc}"
        ) from exc
    rows = facts["rows"]
    return ExportResult(
        out_dir=out_dir,
        files=tuple(f for f in _names_in(out_dir)),
        incidents=rows["incidents"],
        steps=rows["steps"],
        snapshots=rows["snapshots"],
        media=rows["media"],
        manifest_sha256=manifest_sha,
        audit_head=(facts["audit_head"]["seq"], facts["audit_head"]["hash"]),
        audit_entry=entry,
        summary=summary,
    )


def _derived(alarm_id: int, evidence: list[ExportedMedia]) -> list[dict[str, Any]]:
    """The clips of one incident exported as derived copies (blurred), for the manifest: each
    with the SHA-256 of the original the console keeps (its audit chain covers that one).
    Blurred snapshots are many and small: the JSON lines and the CSV give both of their hashes,
    the manifest only their count."""
    return [
        {
            "path": item.file,
            "alarm_id": alarm_id,
            "kind": item.kind,
            "state": item.state,
            "original_sha256": item.stored_sha256,
            "how": item.note,
        }
        for item in evidence
        if item.file is not None
        and item.kind.startswith("clip")
        and item.exported_sha256 != item.stored_sha256
    ]


def _names_in(out_dir: Path) -> list[str]:
    return sorted(p.relative_to(out_dir).as_posix() for p in out_dir.rglob("*") if p.is_file())


def _write_all(
    session: Session,
    files: StoreFiles,
    site: Site,
    names: SiteNames,
    request: ExportRequest,
    out_dir: Path,
    *,
    blur: bool,
    exported_at: datetime,
    console: str,
    keys_fingerprint: str,
    progress: Progress,
    renderer: ReportRenderer | None,
    media: tuple[IncidentMedia, ...] = (),
) -> dict[str, Any]:
    filters = request.filters
    head_seq, head_hash = chain_head(session)
    chain_id, keyed_from = chain_identity(session)
    total = count_incidents(session, filters)
    progress("summary", 0, total)
    summary = summarise(session, filters)
    progress("summary", total, total)
    counts = TableCounts()
    csv_tables = CsvTables(out_dir, names) if "csv" in request.formats else None
    json_lines = JsonLines(out_dir, names) if "jsonl" in request.formats else None
    pdf = renderer if "pdf" in request.formats else None
    blur_note = (
        "People are blurred in the exported snapshots except the incident's own subject and the "
        "protected object's outline, and in the exported clips except the subject "
        "(privacy.blur_exported_people): those files are derived copies; the manifest lists "
        'each under "derived" with the SHA-256 of the original the console keeps.'
        if blur
        else "Snapshots and clips are exported as stored (privacy.blur_exported_people is off)."
    )
    derived: list[dict[str, Any]] = []
    details = min(total, request.pdf_details)
    if pdf is not None:
        cover = ReportCover(
            site_name=names.site_name,
            time_zone=names.tz_name,
            period=f"{names.local(filters.since)} to {names.local(filters.until)} "
            f"({names.tz_name})",
            filters=_filters_text(names, filters),
            exported_by=request.user,
            exported_at=f"{names.local(exported_at)} ({iso(exported_at)})",
            console=console,
            public_key=keys_fingerprint,
            audit_head=f"seq {head_seq}, {head_hash}",
            summary=summary,
            details_note=(
                f"Each of the {total} incidents has a page below."
                if details == total
                else f"The first {details} of {total} incidents have a page below; every "
                "incident is in incidents.csv and incidents.jsonl."
            ),
            blur_note=blur_note,
        )
        pdf.begin(out_dir / "report.pdf", cover)
    done = 0
    progress("incidents", 0, total)
    try:
        for incident in stream_incidents(session, filters):
            exported: list[ExportedSnapshot] = [
                export_snapshot(incident, snap, files, out_dir, site, blur=blur)
                for snap in incident.snapshots
            ]
            counts.snapshots += sum(1 for s in exported if s.file is not None)
            evidence: list[ExportedMedia] = []
            for source in media:
                evidence.extend(source.export(session, incident, out_dir, blur=blur))
            counts.media += sum(1 for m in evidence if m.file is not None)
            derived.extend(_derived(incident.id, evidence))
            counts.blurred_snapshots += sum(1 for x in exported if x.state.startswith("blurred"))
            first = exported[0] if exported else None
            if csv_tables is not None:
                csv_tables.add(incident, first, counts, evidence)
            else:
                counts.steps += len(incident.steps)
            if json_lines is not None:
                json_lines.add(incident, exported, evidence)
            if pdf is not None and done < details:
                state = "none" if first is None else first.state
                picture = out_dir / first.file if first is not None and first.file else None
                page = incident_page(names, incident, state)
                if evidence:
                    extra = tuple((m.kind, m.words.partition(": ")[2]) for m in evidence)
                    page = replace(page, facts=page.facts + extra)
                pdf.add(page, picture)
            done += 1
            counts.incidents = done
            if done % PROGRESS_EVERY == 0:
                progress("incidents", done, total)
    finally:
        if csv_tables is not None:
            csv_tables.close()
        if json_lines is not None:
            json_lines.close()
    if pdf is not None:
        pdf.finish()
    progress("incidents", done, total)
    return {
        "site": {"name": names.site_name, "timezone": names.tz_name},
        "exported_at": iso(exported_at),
        "exported_by": request.user,
        "console": console,
        "filters": filters.as_dict(),
        "formats": list(request.formats),
        "blurred": blur,
        "derived": {
            "clips": derived,
            "snapshots_blurred": counts.blurred_snapshots,
            "note": (
                "derived files are blurred copies made for this export; each clip's entry "
                "gives the SHA-256 of the original kept by the console, which its audit chain "
                "covers (nightwatch audit verify); snapshots give both hashes in the tables"
            ),
        },
        "rows": {
            "incidents": counts.incidents,
            "steps": counts.steps,
            "snapshots": counts.snapshots,
            "media": counts.media,
        },
        "summary": summary.as_dict(),
        "audit_head": {
            "seq": head_seq,
            "hash": head_hash,
            "chain_id": chain_id,
            "keyed_from": keyed_from,
        },
        "_summary": summary,
    }
