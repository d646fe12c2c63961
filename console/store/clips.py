"""Evidence clips: one row per alarm and camera, its file in the store's file area with its
SHA-256, and what became of it.

    store.write(OpenClip(7, "cam-east", window_start_at=t))        # -> ClipRecord (recording)
    store.write(KeepClip(clip_id, "clips/2026/11/30/...mkv", ...))  # the file is written already
    store.write(ClipFailed(clip_id, "nothing was recorded"))        # or why there is none
    store.read(clips, 7)                                           # an alarm's clips
    store.read(clips_of_alarms, [7, 8])                            # for an export
    store.read(verify_clip, clip_id, store.files)                  # the file still matches?
    store.write(PurgeClips(before=t))                              # retention: files go, rows stay

A clip's file is made off the writer thread (the camera's packets copied, never re-encoded, by
`console.evidence`'s worker: written to `<name>.part`, fsynced, renamed in the file area), and
only its row is a write task here. A clip of a camera that has no stream to keep (USB) is a row
in state `unavailable`, with the reason, so every alarm says what became of its clip.

Retention: `purge_clips(session, files, before, now, user, limit)` has the shape of the
retention runs' media purges (a `MediaPurge`); `PurgeClips` runs it alone. A purged clip's row
keeps its hash, its times and `purged_at`; the purge is audited per clip (`clip.purge`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any, ClassVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from console.store import audit
from console.store.alarms import load_alarm
from console.store.errors import AlarmNotFoundError
from console.store.models import Clip, ClipState
from console.store.tasks import SYSTEM_USER, StoreFiles, aware, iso, set_field

__all__ = [
    "ClipFailed",
    "ClipPurgeCount",
    "ClipRecord",
    "CloseUnfinishedClips",
    "KeepClip",
    "OpenClip",
    "PurgeClips",
    "clip_relative_path",
    "clips",
    "clips_of_alarms",
    "close_unfinished_clips",
    "get_clip",
    "purge_clips",
    "verify_clip",
]

MAX_OVERLAY_BOXES = 20_000


@dataclass(frozen=True, slots=True)
class ClipRecord:
    id: int
    alarm_id: int
    camera_id: str
    state: ClipState
    reason: str | None
    window_start_at: datetime
    window_end_at: datetime | None
    start_at: datetime | None
    end_at: datetime | None
    relative_path: str | None  # inside the store's file area: store.files.path(...)
    sha256: str | None
    size_bytes: int | None
    codec: str | None
    width: int | None
    height: int | None
    overlay: dict[str, Any] | None
    opened_at: datetime
    kept_at: datetime | None
    purged_at: datetime | None

    @property
    def playable(self) -> bool:
        """Kept, and its file not purged."""
        return self.state == ClipState.KEPT and self.purged_at is None and bool(self.relative_path)


def _record(r: Clip) -> ClipRecord:
    return ClipRecord(
        r.id,
        r.alarm_id,
        r.camera_id,
        ClipState(r.state),
        r.reason,
        r.window_start_at,
        r.window_end_at,
        r.start_at,
        r.end_at,
        r.path,
        r.sha256,
        r.size_bytes,
        r.codec,
        r.width,
        r.height,
        r.overlay,
        r.opened_at,
        r.kept_at,
        r.purged_at,
    )


def clip_relative_path(alarm_id: int, camera_id: str, start_at: datetime) -> str:
    """Where an alarm's clip of a camera lives in the file area: clips/YYYY/MM/DD/…mkv."""
    start = aware(start_at, "start_at")  # UTC, like every stored time
    name = f"alarm-{alarm_id}-{camera_id}-{start:%H%M%S%f}.mkv"
    return f"clips/{start:%Y}/{start:%m}/{start:%d}/{name}"


def _load(session: Session, clip_id: int) -> Clip:
    row = session.get(Clip, clip_id)
    if row is None:
        raise AlarmNotFoundError(f"no clip {clip_id}")
    return row


def _check_overlay(overlay: dict[str, Any] | None, what: str) -> dict[str, Any] | None:
    if overlay is None:
        return None
    boxes = overlay.get("boxes", [])
    if not isinstance(boxes, list) or len(boxes) > MAX_OVERLAY_BOXES:
        raise ValueError(f"{what}: overlay boxes must be a list of at most {MAX_OVERLAY_BOXES}")
    return overlay


# --------------------------------------------------------------------------- write tasks


@dataclass(frozen=True, slots=True)
class OpenClip:
    """The clip of an alarm's camera begins: its row in state `recording` (or `unavailable`
    with the reason, for a camera with no stream to keep). Returns the `ClipRecord`."""

    name: ClassVar[str] = "clip.open"

    alarm_id: int
    camera_id: str
    window_start_at: datetime
    state: ClipState = ClipState.RECORDING
    reason: str | None = None
    at: datetime | None = None

    def __post_init__(self) -> None:
        set_field(self, "window_start_at", aware(self.window_start_at, "window_start_at"))
        set_field(self, "at", aware(self.at, "at"))
        set_field(self, "state", ClipState(self.state))
        if self.state not in (ClipState.RECORDING, ClipState.UNAVAILABLE):
            raise ValueError(f"a clip opens recording or unavailable, not {self.state.value}")

    def run(self, session: Session, files: StoreFiles) -> ClipRecord:
        assert self.at is not None
        load_alarm(session, self.alarm_id)
        row = Clip(
            alarm_id=self.alarm_id,
            camera_id=self.camera_id,
            state=self.state,
            reason=self.reason,
            window_start_at=self.window_start_at,
            opened_at=self.at,
        )
        session.add(row)
        session.flush()
        facts: dict[str, Any] = {"clip_id": row.id, "camera_id": self.camera_id}
        if self.state == ClipState.UNAVAILABLE:
            action = "clip.unavailable"
            facts["reason"] = self.reason
        else:
            action = "clip.recording"
            facts["window_start_at"] = iso(self.window_start_at)
        target = f"alarm:{self.alarm_id}"
        audit.append(session, SYSTEM_USER, action, target, facts, self.at, rows=[row])
        return _record(row)


@dataclass(frozen=True, slots=True)
class KeepClip:
    """The clip's file is in the file area (written and fsynced by the evidence worker): its
    row becomes `kept` with the hash, times, codec and overlay; audited `clip.store`."""

    name: ClassVar[str] = "clip.store"

    clip_id: int
    relative_path: str
    sha256: str
    size_bytes: int
    start_at: datetime
    end_at: datetime
    window_end_at: datetime
    codec: str
    width: int
    height: int
    overlay: dict[str, Any] | None = None
    note: str | None = None  # what cut it short, gaps
    at: datetime | None = None

    def __post_init__(self) -> None:
        for field_name in ("start_at", "end_at", "window_end_at"):
            set_field(self, field_name, aware(getattr(self, field_name), field_name))
        set_field(self, "at", aware(self.at, "at"))
        if len(self.sha256) != 64 or any(c not in "0123456789abcdef" for c in self.sha256):
            raise ValueError(f"clip {self.clip_id}: sha256 {self.sha256!r} is not a hex digest")
        rel = PurePosixPath(self.relative_path)
        if rel.is_absolute() or ".." in rel.parts:
            raise ValueError(f"clip {self.clip_id}: {self.relative_path!r} is not in the file area")
        set_field(self, "overlay", _check_overlay(self.overlay, f"clip {self.clip_id}"))

    def run(self, session: Session, files: StoreFiles) -> ClipRecord:
        assert self.at is not None
        row = _load(session, self.clip_id)
        if row.state != ClipState.RECORDING:
            raise ValueError(f"clip {self.clip_id} is {row.state}, not recording")
        path = files.path(self.relative_path)
        if not path.is_file() or path.stat().st_size != self.size_bytes:
            raise ValueError(f"clip {self.clip_id}: {path} is missing or not the file measured")
        row.state = ClipState.KEPT
        row.path = self.relative_path
        row.sha256 = self.sha256
        row.size_bytes = self.size_bytes
        row.start_at = self.start_at
        row.end_at = self.end_at
        row.window_end_at = self.window_end_at
        row.codec = self.codec
        row.width = self.width
        row.height = self.height
        row.overlay = self.overlay
        row.reason = self.note
        row.kept_at = self.at
        facts = {
            "clip_id": row.id,
            "camera_id": row.camera_id,
            "path": self.relative_path,
            "sha256": self.sha256,
            "start_at": iso(self.start_at),
            "end_at": iso(self.end_at),
        }
        audit.append(
            session, SYSTEM_USER, "clip.store", f"alarm:{row.alarm_id}", facts, self.at, rows=[row]
        )
        return _record(row)


@dataclass(frozen=True, slots=True)
class KeepClipOf:
    """`keep` (its `clip_id` a placeholder) for the alarm's clip of one camera still
    `recording`, found by alarm and camera: for a clip whose row id is not known yet (its
    `OpenClip` still queued when the console stopped). The writer runs tasks in order, so this
    finds the row the queued `OpenClip` writes."""

    name: ClassVar[str] = "clip.store"

    alarm_id: int
    camera_id: str
    keep: KeepClip

    def run(self, session: Session, files: StoreFiles) -> ClipRecord:
        row_id = session.scalar(
            select(Clip.id)
            .where(
                Clip.alarm_id == self.alarm_id,
                Clip.camera_id == self.camera_id,
                Clip.state == ClipState.RECORDING,
            )
            .order_by(Clip.id.desc())
            .limit(1)
        )
        if row_id is None:
            raise ValueError(
                f"alarm {self.alarm_id}: no clip of {self.camera_id} is being recorded (its row "
                "was never written)"
            )
        return replace(self.keep, clip_id=row_id).run(session, files)


@dataclass(frozen=True, slots=True)
class ClipFailed:
    """No clip could be made for this row: `failed` with the reason; audited `clip.failed`."""

    name: ClassVar[str] = "clip.failed"

    clip_id: int
    reason: str
    window_end_at: datetime | None = None
    at: datetime | None = None

    def __post_init__(self) -> None:
        set_field(self, "at", aware(self.at, "at"))
        if self.window_end_at is not None:
            set_field(self, "window_end_at", aware(self.window_end_at, "window_end_at"))

    def run(self, session: Session, files: StoreFiles) -> ClipRecord:
        assert self.at is not None
        row = _load(session, self.clip_id)
        if row.state != ClipState.RECORDING:
            raise ValueError(f"clip {self.clip_id} is {row.state}, not recording")
        row.state = ClipState.FAILED
        row.reason = self.reason
        row.window_end_at = self.window_end_at
        facts = {"clip_id": row.id, "camera_id": row.camera_id, "reason": self.reason}
        audit.append(
            session, SYSTEM_USER, "clip.failed", f"alarm:{row.alarm_id}", facts, self.at, rows=[row]
        )
        return _record(row)


def close_unfinished_clips(
    session: Session,
    files: StoreFiles,
    reason: str,
    at: datetime,
    *,
    alarm_id: int | None = None,
    camera_id: str | None = None,
) -> list[int]:
    """Clips still `recording` from a console that stopped or died (only the alarm's clip of
    that camera, when given): `failed` with the reason, audited (`clip.failed`); a write task
    body: `store.write(CloseUnfinishedClips(...))`, `store.write(CloseClipOf(...))`."""
    query = select(Clip).where(Clip.state == ClipState.RECORDING)
    if alarm_id is not None:
        query = query.where(Clip.alarm_id == alarm_id)
    if camera_id is not None:
        query = query.where(Clip.camera_id == camera_id)
    rows = session.scalars(query).all()
    for row in rows:
        row.state = ClipState.FAILED
        row.reason = reason
        facts = {"clip_id": row.id, "camera_id": row.camera_id, "reason": reason}
        audit.append(
            session, SYSTEM_USER, "clip.failed", f"alarm:{row.alarm_id}", facts, at, rows=[row]
        )
    return [row.id for row in rows]


@dataclass(frozen=True, slots=True)
class CloseUnfinishedClips:
    name: ClassVar[str] = "clip.close_unfinished"

    reason: str = "the console stopped before the clip was kept"
    at: datetime | None = None

    def __post_init__(self) -> None:
        set_field(self, "at", aware(self.at, "at"))

    def run(self, session: Session, files: StoreFiles) -> list[int]:
        assert self.at is not None
        return close_unfinished_clips(session, files, self.reason, self.at)


@dataclass(frozen=True, slots=True)
class CloseClipOf:
    """An alarm's clip of one camera, still `recording`, closed as failed with the reason. For a
    clip whose row id is not known yet (its `OpenClip` still queued): the writer runs tasks in
    order, so this finds the row the queued `OpenClip` writes."""

    name: ClassVar[str] = "clip.close_one"

    alarm_id: int
    camera_id: str
    reason: str
    at: datetime | None = None

    def __post_init__(self) -> None:
        if not self.reason.strip():
            raise ValueError("a clip closed as failed says why")
        set_field(self, "at", aware(self.at, "at"))

    def run(self, session: Session, files: StoreFiles) -> list[int]:
        assert self.at is not None
        return close_unfinished_clips(
            session,
            files,
            self.reason,
            self.at,
            alarm_id=self.alarm_id,
            camera_id=self.camera_id,
        )


# --------------------------------------------------------------------------- retention


@dataclass(frozen=True, slots=True)
class ClipPurgeCount:
    """What one purge did (the fields of the retention runs' `PurgeCount`)."""

    kind: str
    purged: int
    kept_on_hold: int
    more: bool


def purge_clips(
    session: Session,
    files: StoreFiles,
    before: datetime,
    now: datetime,
    user: str,
    limit: int,
    *,
    held_alarms: Select[Any] | Collection[int] | None = None,
) -> ClipPurgeCount:
    """Delete the files of kept clips that began before `before` (not yet purged, and not of
    an alarm in `held_alarms`: a select of alarm ids, or ids); their rows stay with `purged_at`.
    At most `limit` per call (`more` says whether more wait). Each purge is audited."""
    due = (
        Clip.state == ClipState.KEPT,
        Clip.start_at < before,
        Clip.purged_at.is_(None),
    )
    query = select(Clip).where(*due)
    kept = 0
    if held_alarms is not None:
        query = query.where(Clip.alarm_id.not_in(held_alarms))
        kept = (
            session.scalar(
                select(func.count()).select_from(Clip).where(*due, Clip.alarm_id.in_(held_alarms))
            )
            or 0
        )
    rows = session.scalars(query.order_by(Clip.id).limit(limit + 1)).all()
    more = len(rows) > limit
    for row in rows[:limit]:
        if row.path:
            files.remove(row.path)  # gone before its row says so; a retry finds it gone
        row.purged_at = now
        facts = {
            "clip_id": row.id,
            "sha256": row.sha256,
            "start_at": iso(row.start_at) if row.start_at else None,
            "reason": f"retention: began before {iso(before)}",
        }
        audit.append(session, user, "clip.purge", f"alarm:{row.alarm_id}", facts, now, rows=[row])
    return ClipPurgeCount("clips", min(len(rows), limit), kept, more)


@dataclass(frozen=True, slots=True)
class PurgeClips:
    """Retention of clips alone: `purge_clips` as one write task. Returns a `ClipPurgeCount`."""

    name: ClassVar[str] = "clip.purge"

    before: datetime
    now: datetime | None = None
    user: str = SYSTEM_USER
    limit: int = 500

    def __post_init__(self) -> None:
        set_field(self, "before", aware(self.before, "before"))
        set_field(self, "now", aware(self.now, "now"))

    def run(self, session: Session, files: StoreFiles) -> ClipPurgeCount:
        assert self.now is not None
        return purge_clips(session, files, self.before, self.now, self.user, self.limit)


# --------------------------------------------------------------------------- queries


def clips(session: Session, alarm_id: int) -> list[ClipRecord]:
    """An alarm's clips (one per camera that saw it), oldest first."""
    rows = session.scalars(select(Clip).where(Clip.alarm_id == alarm_id).order_by(Clip.id))
    return [_record(r) for r in rows]


def clips_of_alarms(session: Session, alarm_ids: Collection[int]) -> dict[int, list[ClipRecord]]:
    """The clips of many alarms at once (an export): alarm id -> its clips, oldest first."""
    found: dict[int, list[ClipRecord]] = {}
    ids = list(alarm_ids)
    for first in range(0, len(ids), 500):  # SQLite's bound-parameter limit
        chunk = ids[first : first + 500]
        rows = session.scalars(select(Clip).where(Clip.alarm_id.in_(chunk)).order_by(Clip.id))
        for row in rows:
            found.setdefault(row.alarm_id, []).append(_record(row))
    return found


def get_clip(session: Session, clip_id: int) -> ClipRecord:
    return _record(_load(session, clip_id))


def verify_clip(session: Session, clip_id: int, files: StoreFiles) -> bool:
    """True when the clip is kept, its file exists and its bytes still match the stored SHA-256:
    `store.read(verify_clip, clip_id, store.files)`."""
    record = get_clip(session, clip_id)
    if not record.playable or record.relative_path is None or record.sha256 is None:
        return False
    digest = hashlib.sha256()
    try:
        with open(files.path(record.relative_path), "rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
    except FileNotFoundError:
        return False
    return digest.hexdigest() == record.sha256
