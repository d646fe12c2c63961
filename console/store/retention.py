"""Retention: evidence media older than the site's limit is purged, except for incidents under
hold. The file goes; its row stays with its SHA-256 and says when it was purged; each purged row
and the run itself are audited. A file that cannot be deleted (a folder in its place, a
permission) is left with its row unchanged and named in the run's audit row (`failed`); the
others are purged, and the next run tries it again.

Media kinds plug in as purge functions (`MediaPurge`): snapshots here, the evidence clips'
`clip_purge` (console/store/clips.py), each with its own age limit in `ApplyRetention.purges`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from console.store import audit
from console.store.clips import purge_clips
from console.store.models import Hold, Snapshot
from console.store.tasks import SYSTEM_USER, StoreFiles, aware, iso, set_field

PURGE_BATCH = 500  # files per run and kind; the next run takes the rest
MAX_FAILED_LISTED = 20  # files that could not be deleted, named in the run's audit row


@dataclass(frozen=True, slots=True)
class PurgeCount:
    kind: str  # "snapshots"
    purged: int
    kept_on_hold: int
    more: bool  # the batch was full: more wait for the next run
    failed: tuple[str, ...] = ()  # "path: why" of each file that could not be deleted


# (session, files, before, now, user, limit) -> PurgeCount
MediaPurge = Callable[[Session, StoreFiles, datetime, datetime, str, int], PurgeCount]


def _held_alarms() -> Select[int]:
    return select(Hold.alarm_id).where(Hold.released_at.is_(None))


def purge_snapshots(
    session: Session, files: StoreFiles, before: datetime, now: datetime, user: str, limit: int
) -> PurgeCount:
    """Delete the files of snapshots taken before `before` (not under hold, not yet purged)."""
    due = (
        Snapshot.taken_at < before,
        Snapshot.purged_at.is_(None),
    )
    rows = session.scalars(
        select(Snapshot)
        .where(*due, Snapshot.alarm_id.not_in(_held_alarms()))
        .order_by(Snapshot.id)
        .limit(limit + 1)
    ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    kept = (
        session.scalar(
            select(func.count())
            .select_from(Snapshot)
            .where(*due, Snapshot.alarm_id.in_(_held_alarms()))
        )
        or 0
    )
    failed: list[str] = []
    purged = 0
    for row in rows:
        try:
            files.remove(row.path)  # gone before its row says so; a retry finds it gone
        except OSError as exc:
            failed.append(f"{exc.filename or row.path}: {exc.strerror or exc}")
            continue
        purged += 1
        row.purged_at = now
        facts = {
            "snapshot_id": row.id,
            "sha256": row.sha256,
            "taken_at": iso(row.taken_at),
            "reason": f"retention: taken before {iso(before)}",
        }
        target = f"alarm:{row.alarm_id}"
        audit.append(session, user, "snapshot.purge", target, facts, now, rows=[row])
    return PurgeCount("snapshots", purged, kept, more, tuple(failed))


def clip_purge(
    session: Session, files: StoreFiles, before: datetime, now: datetime, user: str, limit: int
) -> PurgeCount:
    """The evidence clips' purge as a `MediaPurge`: kept clips that began before `before`, those
    of incidents under hold spared (`console.store.clips.purge_clips`)."""
    count = purge_clips(session, files, before, now, user, limit, held_alarms=_held_alarms())
    return PurgeCount(count.kind, count.purged, count.kept_on_hold, count.more)


@dataclass(frozen=True, slots=True)
class ApplyRetention:
    """One retention run: each media kind's purge, then the audit row `retention.run` with what
    was purged and what a hold kept. Returns the `PurgeCount`s."""

    name: ClassVar[str] = "retention.purge"

    now: datetime | None = None
    snapshots_before: datetime | None = None  # None: snapshots are kept forever
    user: str = SYSTEM_USER
    limit: int = PURGE_BATCH
    purges: tuple[tuple[MediaPurge, datetime], ...] = field(default=())  # clips (clip_purge)

    def __post_init__(self) -> None:
        set_field(self, "now", aware(self.now, "now"))
        if self.snapshots_before is not None:
            set_field(self, "snapshots_before", aware(self.snapshots_before, "snapshots_before"))

    def run(self, session: Session, files: StoreFiles) -> list[PurgeCount]:
        now = self.now
        assert now is not None
        counts: list[PurgeCount] = []
        plan: list[tuple[MediaPurge, datetime]] = list(self.purges)
        if self.snapshots_before is not None:
            plan.insert(0, (purge_snapshots, self.snapshots_before))
        for purge, before in plan:
            counts.append(purge(session, files, before, now, self.user, self.limit))
        facts: dict[str, object] = {}
        for c in counts:
            kind: dict[str, object] = {
                "purged": c.purged,
                "kept_on_hold": c.kept_on_hold,
                "more": c.more,
            }
            if c.failed:
                kind["failed"] = list(c.failed[:MAX_FAILED_LISTED])
                kind["failed_count"] = len(c.failed)
            facts[c.kind] = kind
        if self.snapshots_before is not None:
            facts["snapshots_before"] = iso(self.snapshots_before)
        audit.append(session, self.user, "retention.run", "media", facts, now)
        return counts
