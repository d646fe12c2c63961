"""The evidence clips and clean snapshots of each incident into an export (an `IncidentMedia`,
console/export/media.py): `export_incidents(..., media=[ClipMedia(store.files, site)])`.

For each clip of the incident (one per camera that saw it):

- kept: the Matroska file is copied as stored, hashed as it is read; a file that is gone or no
  longer matches its recorded SHA-256 is not exported ("missing", "altered"). The boxes drawn
  over it when it plays go beside it as JSON (`….overlay.json`: times in UNIX seconds, boxes in
  the clip's pixels), so the export shows what the console showed without changing the video;
- purged by retention, never kept (no stream, recorder offline: the row's reason), or still
  recording: not exported, and the export says why;
- with blurring on (`privacy.blur_exported_people`, the default) the export holds a derived
  copy instead: the kept clip, checked against its recorded SHA-256, decoded, everyone but the
  incident's subject blurred in every frame (console/export/clip_people.py says how they are
  found), encoded again (`inference.clip_blur`). Its state is "blurred"; the export records the
  original's SHA-256 beside the copy's, and the signed manifest lists it under "derived", so an
  auditor checks the copy against the manifest and the original against the console's chain
  (`nightwatch audit verify`). A clip that cannot be blurred (no detector where no tracked boxes
  cover a frame, an unreadable file) is "withheld" with the reason, never exported sharp.

The clean snapshot (the frame without boxes) goes as the annotated one does (blurred the same
way, `export_snapshot`), under kind "clean snapshot".
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.export.clip_people import ClipPeople, PersonFinder
from console.export.media import MEDIA_STATES, ExportedMedia, export_snapshot
from console.export.query import ExportFilters, Incident, SnapshotFile, count_kept_clips
from console.site_file import Site
from console.store.models import Clip, ClipState, Snapshot, SnapshotKind
from console.store.tasks import StoreFiles
from inference.clip_blur import ClipBlurError, blur_clip
from inference.detectors.base import DetectorUnavailable

log = logging.getLogger(__name__)

__all__ = ["ClipMedia"]

BLOCK = 1 << 20
BLUR_STAGE = "blurring clips"


class ClipMedia:
    """Clips and clean snapshots of an incident into the export folder (`clips/`, `snapshots/`)."""

    def __init__(
        self,
        files: StoreFiles,
        site: Site,
        *,
        progress: Callable[[str, int, int], None] | None = None,
        filters: ExportFilters | None = None,
    ) -> None:
        self.files = files
        self.site = site
        self.progress = progress  # (stage, done, total), as the export's own
        self.filters = filters  # the export's: how many clips the progress counts
        self.finder = PersonFinder()  # loaded on the first frame without tracked boxes
        self.blurred_clips = 0
        self.to_blur: int | None = None  # counted at the first incident (blurring exports)
        self.blur_done = 0

    def export(
        self, session: Session, incident: Incident, out_dir: Path, *, blur: bool
    ) -> list[ExportedMedia]:
        if blur and self.to_blur is None and self.filters is not None:
            self.to_blur = count_kept_clips(session, self.filters)
            self._report()
        exported = [
            self._clean(incident, snap, out_dir, blur) for snap in _clean(session, incident)
        ]
        rows = session.scalars(select(Clip).where(Clip.alarm_id == incident.id).order_by(Clip.id))
        exported.extend(self._clip(incident, row, out_dir, blur) for row in rows)
        return exported

    def _clean(
        self, incident: Incident, snap: SnapshotFile, out_dir: Path, blur: bool
    ) -> ExportedMedia:
        done = export_snapshot(incident, snap, self.files, out_dir, self.site, blur=blur)
        state = done.state if done.state in MEDIA_STATES else "altered"  # "unreadable"
        return ExportedMedia(
            "clean snapshot",
            done.file if state == done.state else None,
            state,
            done.stored_sha256,
            done.exported_sha256 if state == done.state else None,
            done.note,
        )

    def _clip(self, incident: Incident, row: Clip, out_dir: Path, blur: bool) -> ExportedMedia:
        kind = f"clip of {self.site_camera_name(row.camera_id)}"
        if row.state != ClipState.KEPT or row.path is None or row.sha256 is None:
            why = row.reason or row.state.value
            if row.state == ClipState.RECORDING:
                why = "still being recorded"
            return ExportedMedia(kind, None, "missing", None, None, f"no clip: {why}")
        if row.purged_at is not None:
            return ExportedMedia(
                kind, None, "purged", row.sha256, None, f"purged {row.purged_at.isoformat()}"
            )
        try:
            source = self.files.path(row.path)
        except ValueError as exc:
            return ExportedMedia(kind, None, "altered", row.sha256, None, str(exc))
        name = f"clips/alarm-{incident.id}-{row.camera_id}-clip-{row.id}{source.suffix}"
        if blur:
            name = name.removesuffix(source.suffix) + "-blurred.mkv"
        target = out_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        try:
            with source.open("rb") as reader:
                if blur:  # the original is checked first; the copy is made from it after
                    while block := reader.read(BLOCK):
                        digest.update(block)
                else:
                    with target.open("wb") as writer:
                        while block := reader.read(BLOCK):
                            digest.update(block)
                            writer.write(block)
        except (FileNotFoundError, IsADirectoryError):
            target.unlink(missing_ok=True)
            return ExportedMedia(kind, None, "missing", row.sha256, None, "file missing")
        if digest.hexdigest() != row.sha256:
            target.unlink(missing_ok=True)
            return ExportedMedia(
                kind,
                None,
                "altered",
                row.sha256,
                None,
                "the stored file does not match its recorded SHA-256: not exported (run "
                "nightwatch audit verify)",
            )
        note = f"{row.start_at.isoformat() if row.start_at else '?'} to "
        note += f"{row.end_at.isoformat() if row.end_at else '?'}, {row.codec or '?'} as recorded"
        exported_sha = row.sha256
        state = "exported"
        if blur:
            done = self._blurred(incident, row, source, target)
            if isinstance(done, ExportedMedia):
                return done
            exported_sha, how = done
            state = "blurred"
            note += f"; a derived copy: {how}"
        if row.overlay:
            overlay = target.with_name(target.name.removesuffix(source.suffix) + ".overlay.json")
            overlay.write_text(json.dumps(row.overlay, sort_keys=True), encoding="utf-8")
            note += f"; boxes in {overlay.name}"
        if row.reason:
            note += f"; {row.reason}"
        return ExportedMedia(kind, name, state, row.sha256, exported_sha, note)

    def _blurred(
        self, incident: Incident, row: Clip, source: Path, target: Path
    ) -> tuple[str, str] | ExportedMedia:
        """Write the blurred copy of the (checked) clip; (its SHA-256, how it was made), or
        the clip "withheld" with the reason."""
        kind = f"clip of {self.site_camera_name(row.camera_id)}"
        start = row.start_at.timestamp() if row.start_at else 0.0
        people = ClipPeople(row.overlay, start, self.finder)
        try:
            made = blur_clip(source, target, people)
        except (ClipBlurError, DetectorUnavailable) as exc:
            self.blur_done += 1
            self._report()
            log.warning("alarm %d: clip %d not exported: %s", incident.id, row.id, exc)
            return ExportedMedia(
                kind,
                None,
                "withheld",
                row.sha256,
                None,
                f"could not be blurred, so not exported ({exc}); an auditor who may show the "
                "people in it exports with --no-blur",
            )
        self.blurred_clips += 1
        self.blur_done += 1
        self._report()
        how = (
            f"{people.words()}; {made.frames} frames encoded again ({made.encoder}); the "
            f"original's SHA-256 is {row.sha256}"
        )
        return made.sha256, how

    def _report(self) -> None:
        """("blurring clips", done, total): a clip takes seconds to blur, an export may have
        hundreds."""
        if self.progress is not None and self.to_blur:
            self.progress(BLUR_STAGE, min(self.blur_done, self.to_blur), self.to_blur)

    def site_camera_name(self, camera_id: str) -> str:
        try:
            return str(self.site.camera(camera_id).name)
        except KeyError:
            return camera_id


def _clean(session: Session, incident: Incident) -> list[SnapshotFile]:
    rows = session.execute(
        select(Snapshot.id, Snapshot.path, Snapshot.sha256, Snapshot.taken_at, Snapshot.purged_at)
        .where(Snapshot.alarm_id == incident.id, Snapshot.kind == SnapshotKind.CLEAN)
        .order_by(Snapshot.id)
    )
    return [SnapshotFile(r.id, r.path, r.sha256, r.taken_at, r.purged_at) for r in rows]
