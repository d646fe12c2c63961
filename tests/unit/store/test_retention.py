"""Retention on a real store: snapshots past the site's limit purged (file gone, row kept with
its SHA-256 and the time it was purged, each purge audited), an incident under hold kept until
its hold is released, and the console's daily run from the runtime's own tick."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from console.clock import FakeClock
from console.retention import RetentionSchedule, run_retention
from console.runtime import SiteRuntime
from console.site_file import load_site
from console.store import (
    ApplyRetention,
    PlaceHold,
    RaiseAlarm,
    ReleaseHold,
    StaleStateError,
    Store,
    StoreSnapshot,
    audit_entries,
    get_snapshot,
    list_holds,
    verify_store,
)
from tests.unit.store.support import JPEG, url_of

SITE = Path(__file__).resolve().parents[2] / "data" / "example_site" / "site.yaml"
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def incident(store: Store, days_ago: float) -> tuple[int, int]:
    at = NOW - timedelta(days=days_ago)
    alarm = store.write(RaiseAlarm(None, "cam-east", "proximity", "high", raised_at=at)).result()
    snap = store.write(StoreSnapshot(alarm, JPEG, taken_at=at)).result()
    assert snap is not None
    return alarm, snap.id


def test_old_snapshots_are_purged_and_a_held_incident_is_kept(store: Store) -> None:
    old, old_snap = incident(store, 45)
    held, held_snap = incident(store, 40)
    recent, recent_snap = incident(store, 2)
    hold = store.write(PlaceHold(held, "police investigation", "ben", case_ref="PC-7")).result()
    with pytest.raises(StaleStateError, match=f"alarm {held} is already under hold {hold.id}"):
        store.write(PlaceHold(held, "again", "ben")).result()

    task = ApplyRetention(now=NOW, snapshots_before=NOW - timedelta(days=30))
    [count] = store.write(task).result()
    assert (count.purged, count.kept_on_hold, count.more) == (1, 1, False)
    purged = store.read(get_snapshot, old_snap)
    assert purged.purged_at == NOW
    assert len(purged.sha256) == 64  # the row keeps its hash
    assert not store.snapshot_path(purged).exists()
    for kept in (held_snap, recent_snap):
        assert store.snapshot_path(store.read(get_snapshot, kept)).exists()
    actions = [(e.action, e.target) for e in store.read(audit_entries)[-2:]]
    assert actions == [("snapshot.purge", f"alarm:{old}"), ("retention.run", "media")]
    assert store.read(verify_store, store.keys, store.files).ok  # purged is not missing

    store.write(ReleaseHold(hold.id, "ben", reason="case closed")).result()
    [count] = store.write(
        ApplyRetention(now=NOW + timedelta(hours=1), snapshots_before=NOW - timedelta(days=30))
    ).result()
    assert (count.purged, count.kept_on_hold) == (1, 0)
    assert store.read(get_snapshot, held_snap).purged_at is not None
    assert store.read(get_snapshot, recent_snap).purged_at is None
    [released] = store.read(list_holds)
    assert (released.released_by, released.release_reason) == ("ben", "case closed")
    assert store.read(list_holds, active_only=True) == []
    with pytest.raises(StaleStateError, match="already released by ben"):
        store.write(ReleaseHold(hold.id, "ana")).result()
    report = store.read(verify_store, store.keys, store.files)
    assert report.ok, [str(f) for f in report.findings]
    assert recent  # (kept all along)


def test_a_file_that_cannot_be_deleted_is_named_and_the_others_are_purged(store: Store) -> None:
    """A folder where a snapshot file was (unlink fails, even for root): that snapshot stays
    unpurged and named in the run's audit row; the other old one is purged, and no file is
    deleted behind its row's back (verify names only the stuck one)."""
    _first, stuck_snap = incident(store, 50)
    _second, other_snap = incident(store, 45)
    stuck = store.snapshot_path(store.read(get_snapshot, stuck_snap))
    stuck.unlink()
    stuck.mkdir()
    (stuck / "inside").write_bytes(b"x")  # a non-empty folder in the file's place
    task = ApplyRetention(now=NOW, snapshots_before=NOW - timedelta(days=30))
    [count] = store.write(task).result()
    assert count.purged == 1
    [failure] = count.failed
    assert failure.startswith(f"{stuck}: ")
    assert store.read(get_snapshot, stuck_snap).purged_at is None
    assert store.read(get_snapshot, other_snap).purged_at == NOW
    run = store.read(audit_entries)[-1]
    assert run.action == "retention.run"
    assert run.detail["snapshots"]["failed"] == [failure]
    assert run.detail["snapshots"]["failed_count"] == 1
    report = store.read(verify_store, store.keys, store.files)
    [finding] = report.findings  # the stuck one only: a folder stands where its file was
    assert finding.kind == "missing"
    assert finding.where == f"snapshot file {stuck.relative_to(store.snapshots_dir).as_posix()}"


def test_a_large_backlog_is_purged_in_batches(store: Store) -> None:
    for _ in range(5):
        incident(store, 60)
    task = ApplyRetention(now=NOW, snapshots_before=NOW - timedelta(days=30), limit=2)
    assert [(c.purged, c.more) for c in store.write(task).result()] == [(2, True)]
    assert [(c.purged, c.more) for c in store.write(task).result()] == [(2, True)]
    assert [(c.purged, c.more) for c in store.write(task).result()] == [(1, False)]


def test_the_site_says_how_long_and_the_schedule_runs_daily(store: Store, tmp_path: Path) -> None:
    site = load_site(SITE)
    assert site.retention.snapshots_days == 30
    assert site.privacy.blur_exported_people is True
    task = run_retention(store, site, NOW)
    assert task is not None
    assert task.snapshots_before == NOW - timedelta(days=30)
    forever = site.model_copy(
        update={"retention": site.retention.model_copy(update={"snapshots_days": None})}
    )
    assert run_retention(store, forever, NOW).snapshots_before is None  # clips: still 30 days
    never = forever.model_copy(
        update={"retention": forever.retention.model_copy(update={"clips_days": None})}
    )
    assert run_retention(store, never, NOW) is None
    schedule = RetentionSchedule()
    assert schedule.due(NOW)
    schedule.ran(NOW)
    assert not schedule.due(NOW + timedelta(hours=23))
    assert schedule.due(NOW + timedelta(days=1))
    schedule.ran(NOW, more=True)
    assert schedule.due(NOW + timedelta(minutes=10))


def test_the_runtime_purges_at_its_first_tick(tmp_path: Path) -> None:
    store = Store(url_of(tmp_path / "alarms.db"))
    try:
        _old, old_snap = incident(store, 31)
        runtime = SiteRuntime(load_site(SITE), store, clock=FakeClock(NOW))
        runtime.tick()  # the core's tick, as once a second (no cameras run here)
        assert store.flush(10)
        assert store.read(get_snapshot, old_snap).purged_at == NOW
        runtime.tick()  # not again the same day
        assert store.flush(10)
        runs = [e for e in store.read(audit_entries) if e.action == "retention.run"]
        assert len(runs) == 1
    finally:
        store.close()
