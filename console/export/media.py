"""Snapshots into an export: checked against their recorded SHA-256, copied, or blurred for
privacy.

Blurring (`privacy.blur_exported_people`, on by default): the console stores a snapshot with
the alarm's box already drawn and keeps no record of where other people stood, so the export
cannot blur bystanders one by one. It blurs the whole picture except (a) the incident's own
subject, the person box the alarm was raised on (from the `raise` step, widened by a margin)
and (b) the protected object's outline in that camera. A camera-health alarm has neither, so its
picture is blurred whole. Limits, said in the export too: a bystander standing inside the
subject's box or in front of the object stays sharp; the stored snapshot is never changed, and
the export records both the stored file's SHA-256 and the exported one's.

Evidence other than snapshots (the alarm's video clip, its clean snapshot) is put into an export
by the code that stores it, through an `IncidentMedia` passed to `export_incidents(media=...)`:
its files land in the export folder, so the signed manifest covers them, and what it reports
(`ExportedMedia`) goes into the JSON lines, the CSV and the PDF.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np
from sqlalchemy.orm import Session

from console.export.query import Incident, SnapshotFile
from console.site_file import Site
from console.store.tasks import StoreFiles

SUBJECT_MARGIN = 0.15  # of the box's size, each side
JPEG_QUALITY = 90


@dataclass(frozen=True, slots=True)
class ExportedSnapshot:
    snapshot_id: int
    file: str | None  # relative to the export folder; None: not exported
    stored_sha256: str
    exported_sha256: str | None
    state: str  # exported | blurred | blurred whole | purged | missing | altered
    note: str = ""


MEDIA_STATES = ("exported", "blurred", "blurred whole", "purged", "missing", "altered", "withheld")


@dataclass(frozen=True, slots=True)
class ExportedMedia:
    """One file of an incident's evidence beyond its snapshots, as its `IncidentMedia` exported
    it (or did not, and why)."""

    kind: str  # what it is, in words: "clip", "clean snapshot"
    file: str | None  # relative to the export folder; None: not exported (see state and note)
    state: str  # one of MEDIA_STATES
    stored_sha256: str | None = None  # as the database recorded it
    exported_sha256: str | None = None  # of the file in the export (differs when blurred)
    note: str = ""

    def __post_init__(self) -> None:
        if self.state not in MEDIA_STATES:
            raise ValueError(f"{self.kind}: state {self.state!r} is not one of {MEDIA_STATES}")
        if (self.file is None) != (self.state not in ("exported", "blurred", "blurred whole")):
            raise ValueError(f"{self.kind}: a file is named exactly when it was exported")
        if self.file is not None and (self.file.startswith("/") or ".." in self.file.split("/")):
            raise ValueError(f"{self.kind}: {self.file!r} is not a path inside the export")

    @property
    def words(self) -> str:
        """`clip: clips/alarm-7.mp4 (exported)` or `clip: purged (purged 2026-12-30)`."""
        where = self.file or self.state
        extra = self.state if self.file else self.note
        return f"{self.kind}: {where}" + (f" ({extra})" if extra else "")


class IncidentMedia(Protocol):
    """Puts one kind of an incident's evidence into an export (the evidence clips' own code).

    `export` is called once per incident, in the export's thread, inside its read transaction
    (`session`: the same consistent state as the rest of the export). It checks each stored file
    against its recorded SHA-256 (a file that no longer matches is not exported: state
    "altered"), writes what it exports under `out_dir` in a folder of its own (`clips/`) and
    returns one `ExportedMedia` per file, exported or not. With `blur`, people other than the
    incident's subject must not be recognisable in what it writes; a source that cannot blur
    returns state "withheld" with a note instead of a sharp file. Every file under `out_dir` is
    listed and hashed in the signed manifest."""

    def export(
        self, session: Session, incident: Incident, out_dir: Path, *, blur: bool
    ) -> list[ExportedMedia]: ...


def sharp_regions(incident: Incident, site: Site, size: tuple[int, int]) -> list[np.ndarray]:
    """Polygons (int32, image pixels) kept sharp: the subject's box and the object's outline."""
    width, height = size
    regions: list[np.ndarray] = []
    box: Any = incident.raise_detail.get("box")
    if isinstance(box, list | tuple) and len(box) == 4:
        x1, y1, x2, y2 = (float(v) for v in box)
        mx, my = (x2 - x1) * SUBJECT_MARGIN, (y2 - y1) * SUBJECT_MARGIN
        x1, y1 = max(0.0, x1 - mx), max(0.0, y1 - my)
        x2, y2 = min(width - 1.0, x2 + mx), min(height - 1.0, y2 + my)
        if x2 > x1 and y2 > y1:
            regions.append(np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], dtype=np.int32))
    if incident.subject is not None:
        try:
            obj = site.protected_object(incident.subject)
        except KeyError:
            obj = None
        if obj is not None and incident.camera_id in obj.image_regions:
            regions.append(np.asarray(obj.image_regions[incident.camera_id], dtype=np.int32))
    return regions


def blurred(image: np.ndarray, regions: list[np.ndarray]) -> bytes:
    """The picture blurred beyond recognition outside `regions`, as JPEG."""
    height, width = image.shape[:2]
    # pixelate then smooth: a face of 30 px becomes two or three flat cells
    cell = max(8, min(width, height) // 24)
    small = cv2.resize(
        image, (max(1, width // cell), max(1, height // cell)), interpolation=cv2.INTER_AREA
    )
    coarse = cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST)
    coarse = cv2.GaussianBlur(coarse, (0, 0), sigmaX=cell / 2)
    if regions:
        mask = np.zeros((height, width), dtype=np.uint8)
        cv2.fillPoly(mask, regions, 255)
        coarse[mask > 0] = image[mask > 0]
    ok, encoded = cv2.imencode(".jpg", coarse, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ValueError("the blurred snapshot could not be encoded")
    return encoded.tobytes()


def export_snapshot(
    incident: Incident,
    snap: SnapshotFile,
    files: StoreFiles,
    out_dir: Path,
    site: Site,
    *,
    blur: bool,
) -> ExportedSnapshot:
    """Copy (or blur) one snapshot into `out_dir/snapshots/`. The bytes are read once, hashed and
    written from that one read; a file that is gone, or no longer matches its recorded SHA-256,
    is not exported, and the export says so."""
    if snap.purged_at is not None:
        return ExportedSnapshot(
            snap.id, None, snap.sha256, None, "purged", f"purged {snap.purged_at.isoformat()}"
        )
    try:
        data = files.path(snap.path).read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return ExportedSnapshot(snap.id, None, snap.sha256, None, "missing", "file missing")
    if hashlib.sha256(data).hexdigest() != snap.sha256:
        return ExportedSnapshot(
            snap.id,
            None,
            snap.sha256,
            None,
            "altered",
            "the stored file does not match its recorded SHA-256: not exported (run nightwatch "
            "audit verify)",
        )
    name = f"snapshots/alarm-{incident.id}-snapshot-{snap.id}.jpg"
    target = out_dir / name
    target.parent.mkdir(parents=True, exist_ok=True)
    if not blur:
        target.write_bytes(data)
        return ExportedSnapshot(snap.id, name, snap.sha256, snap.sha256, "exported")
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        return ExportedSnapshot(
            snap.id, None, snap.sha256, None, "unreadable", "not a readable JPEG: not exported"
        )
    regions = sharp_regions(incident, site, (image.shape[1], image.shape[0]))
    out = blurred(image, regions)
    target.write_bytes(out)
    return ExportedSnapshot(
        snap.id,
        name,
        snap.sha256,
        hashlib.sha256(out).hexdigest(),
        "blurred" if regions else "blurred whole",
        "" if regions else "no subject box or object outline: the whole picture is blurred",
    )
