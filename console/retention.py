"""The site's retention, run by the console every day: what `ApplyRetention` task the site's
`retention:` settings ask for now, and when the next run is due.

    task = run_retention(store, site, now)      # None when nothing is to be purged (snapshots,
                                                # clips: each after its own number of days)
    if task is not None:
        store.write(task)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from console.site_file import Site
from console.store import Store
from console.store.retention import ApplyRetention, clip_purge

RUN_EVERY = timedelta(days=1)
AGAIN_SOON = timedelta(minutes=10)  # a run that left files for the next batch


def run_retention(store: Store, site: Site, now: datetime) -> ApplyRetention | None:
    """The purge the site's retention settings ask for at `now`; None when every kind is kept
    forever or the store has no file area (an in-memory store)."""
    days = site.retention.snapshots_days
    clip_days = site.retention.clips_days
    if (days is None and clip_days is None) or store.snapshots_dir is None:
        return None
    purges = () if clip_days is None else ((clip_purge, now - timedelta(days=clip_days)),)
    return ApplyRetention(
        now=now,
        snapshots_before=None if days is None else now - timedelta(days=days),
        purges=purges,
    )


@dataclass
class RetentionSchedule:
    """Once a day, the first time at the console's first tick; sooner again when a run left
    work for the next batch (`ran(more=True)`)."""

    next_at: datetime | None = None

    def due(self, now: datetime) -> bool:
        return self.next_at is None or now >= self.next_at

    def ran(self, now: datetime, *, more: bool = False) -> None:
        self.next_at = now + (AGAIN_SOON if more else RUN_EVERY)
