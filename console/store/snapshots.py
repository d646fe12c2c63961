"""Snapshots: an alarm's JPEGs in the store's file area, their rows, retention and verification.

A snapshot's row keeps its path relative to the file area (`YYYY/MM/DD/alarm-7-….jpg`), so a
database and its snapshots folder can move together; `Store.snapshot_path(record)` (or
`StoreFiles.path`) gives the absolute path.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.store import audit
from console.store.alarms import load_alarm
from console.store.errors import AlarmNotFoundError
from console.store.models import Snapshot, SnapshotKind
from console.store.tasks import SYSTEM_USER, StoreFiles, aware, remove_if_older, set_field

JPEG_MAGIC = b"\xff\xd8"

JpegSource = bytes | Callable[[], bytes | None]


@dataclass(frozen=True, slots=True)
class SnapshotRecord:
    id: int
    alarm_id: int
    relative_path: str  # inside the store's file area; Store.snapshot_path(record) is absolute
    sha256: str
    taken_at: datetime
    expires_at: datetime | None
    purged_at: datetime | None
    kind: SnapshotKind = SnapshotKind.ANNOTATED  # annotated (boxes drawn) or clean


def _record(r: Snapshot) -> SnapshotRecord:
    return SnapshotRecord(
        r.id,
        r.alarm_id,
        r.path,
        r.sha256,
        r.taken_at,
        r.expires_at,
        r.purged_at,
        SnapshotKind(r.kind or SnapshotKind.ANNOTATED),
    )


def _check_jpeg(data: bytes, what: str) -> None:
    if not data.startswith(JPEG_MAGIC):
        raise ValueError(f"{what}: not a JPEG image (no FF D8 start marker)")


log = logging.getLogger(__name__)

# what snapshot_relative_path makes: YYYY/MM/DD/alarm-<id>-<HHMMSSffffff>[-clean]-<sha12>.jpg
_SNAPSHOT_NAME = re.compile(r"alarm-\d+-\d{12}(?:-clean)?-[0-9a-f]{12}\.jpg")
_DAY_FOLDER = re.compile(r"\d{4}/\d{2}/\d{2}")


def sweep_unrecorded_snapshots(session: Session, root: Path, before: float) -> int:
    """Remove the snapshot files a killed console wrote whole but never recorded: the kill came
    after the file's rename and before its row's commit, so no row, export or chain entry
    names it. Only files named as `snapshot_relative_path` names them, in a day folder, last
    written before `before` (this store's opening: one console per database, so no live task
    is between its file and its row), and absent from the snapshots table. Returns how many
    went; a file that cannot be removed is logged and left."""
    recorded = set(session.scalars(select(Snapshot.path)))
    removed = 0
    for folder, _, names in os.walk(root):
        day = Path(folder).relative_to(root).as_posix()
        if not _DAY_FOLDER.fullmatch(day):
            continue
        for name in names:
            if _SNAPSHOT_NAME.fullmatch(name) and f"{day}/{name}" not in recorded:
                removed += remove_if_older(Path(folder) / name, before, "unrecorded snapshot")
    if removed:
        log.info(
            "removed %d snapshot file(s) a stopped console wrote but never recorded, in %s",
            removed,
            root,
        )
    return removed


def snapshot_relative_path(
    alarm_id: int, sha256: str, taken_at: datetime, kind: SnapshotKind = SnapshotKind.ANNOTATED
) -> str:
    clean = "-clean" if kind == SnapshotKind.CLEAN else ""
    name = f"alarm-{alarm_id}-{taken_at:%H%M%S%f}{clean}-{sha256[:12]}.jpg"
    return f"{taken_at:%Y}/{taken_at:%m}/{taken_at:%d}/{name}"


@dataclass(frozen=True, slots=True)
class StoreSnapshot:
    """An alarm's JPEG, written (fsynced) to the file area before its row; returns the
    `SnapshotRecord`, or None when `jpeg` is a callable that gave no image.

    `jpeg` may be the bytes, or a callable that makes them: it is called on the writer thread,
    so the alarm path never waits on an encoder or an fsync. The alarm's first annotated
    snapshot becomes its `snapshot_id`; a `clean` one (the frame without boxes) is kept beside
    it.
    """

    name: ClassVar[str] = "snapshot.store"

    alarm_id: int
    jpeg: JpegSource
    taken_at: datetime | None = None
    expires_at: datetime | None = None
    user: str = SYSTEM_USER
    kind: SnapshotKind = SnapshotKind.ANNOTATED

    def __post_init__(self) -> None:
        set_field(self, "kind", SnapshotKind(self.kind))
        if isinstance(self.jpeg, bytes | bytearray | memoryview):
            data = bytes(self.jpeg)
            _check_jpeg(data, f"snapshot of alarm {self.alarm_id}")
            set_field(self, "jpeg", data)
        elif not callable(self.jpeg):
            raise TypeError(
                f"snapshot of alarm {self.alarm_id}: jpeg must be bytes or a callable that "
                f"returns them, not {type(self.jpeg).__name__}"
            )
        set_field(self, "taken_at", aware(self.taken_at, "taken_at"))
        if self.expires_at is not None:
            set_field(self, "expires_at", aware(self.expires_at, "expires_at"))

    def _image(self) -> bytes | None:
        if isinstance(self.jpeg, bytes):
            return self.jpeg
        try:
            data = self.jpeg()
        except Exception as exc:
            raise ValueError(
                f"snapshot of alarm {self.alarm_id}: the image could not be made: {exc}"
            ) from exc
        if data is None:
            return None
        data = bytes(data)
        _check_jpeg(data, f"snapshot of alarm {self.alarm_id}")
        return data

    def run(self, session: Session, files: StoreFiles) -> SnapshotRecord | None:
        when = self.taken_at
        assert when is not None
        alarm = load_alarm(session, self.alarm_id)
        data = self._image()
        if data is None:
            return None
        sha = hashlib.sha256(data).hexdigest()
        relative = snapshot_relative_path(self.alarm_id, sha, when, self.kind)
        files.write_file(relative, data)
        snap = Snapshot(
            alarm_id=self.alarm_id,
            path=relative,
            sha256=sha,
            taken_at=when,
            expires_at=self.expires_at,
            kind=self.kind,
        )
        session.add(snap)
        session.flush()
        if alarm.snapshot_id is None and self.kind == SnapshotKind.ANNOTATED:
            alarm.snapshot_id = snap.id
        facts = {"snapshot_id": snap.id, "path": relative, "sha256": sha}
        if self.kind != SnapshotKind.ANNOTATED:
            facts["kind"] = self.kind.value
        target = f"alarm:{self.alarm_id}"
        audit.append(session, self.user, "snapshot.store", target, facts, when, rows=[snap, alarm])
        return _record(snap)


@dataclass(frozen=True, slots=True)
class PurgeExpiredSnapshots:
    """Delete snapshot files past their `expires_at` (privacy retention); their rows stay, with
    `purged_at` set, so the audit trail keeps the hash. Returns how many."""

    name: ClassVar[str] = "snapshot.purge"

    now: datetime | None = None
    user: str = SYSTEM_USER

    def __post_init__(self) -> None:
        set_field(self, "now", aware(self.now, "now"))

    def run(self, session: Session, files: StoreFiles) -> int:
        when = self.now
        assert when is not None
        rows = session.scalars(
            select(Snapshot).where(Snapshot.expires_at <= when, Snapshot.purged_at.is_(None))
        ).all()
        for row in rows:
            files.remove(row.path)  # gone before its row says so; a retry finds it gone
            row.purged_at = when
            facts = {"snapshot_id": row.id, "sha256": row.sha256}
            target = f"alarm:{row.alarm_id}"
            audit.append(session, self.user, "snapshot.purge", target, facts, when, rows=[row])
        return len(rows)


# --------------------------------------------------------------------------- queries


def snapshots(session: Session, alarm_id: int) -> list[SnapshotRecord]:
    """An alarm's snapshots, oldest first (each annotated one before its clean twin)."""
    rows = session.scalars(
        select(Snapshot).where(Snapshot.alarm_id == alarm_id).order_by(Snapshot.id)
    )
    return [_record(r) for r in rows]


def get_snapshot(session: Session, snapshot_id: int) -> SnapshotRecord:
    row = session.get(Snapshot, snapshot_id)
    if row is None:
        raise AlarmNotFoundError(f"no snapshot {snapshot_id}")
    return _record(row)


def verify_snapshot(session: Session, snapshot_id: int, files: StoreFiles) -> bool:
    """True when the snapshot's file exists and its bytes still match the stored SHA-256:
    `store.read(verify_snapshot, snapshot_id, store.files)`."""
    record = get_snapshot(session, snapshot_id)
    try:
        data = files.path(record.relative_path).read_bytes()
    except FileNotFoundError:
        return False
    return hashlib.sha256(data).hexdigest() == record.sha256
