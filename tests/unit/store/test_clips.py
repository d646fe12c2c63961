"""Clips' rows on a real SQLite file: opened recording, kept with the file's SHA-256, failed with
the reason, unavailable for a camera without a stream, closed after a crash, purged by retention
(the file goes, the row and hash stay, a hold keeps it), and the clean snapshot beside the
annotated one."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest

from console.store import (
    ClipFailed,
    ClipState,
    CloseUnfinishedClips,
    KeepClip,
    OpenClip,
    PurgeClips,
    RaiseAlarm,
    SnapshotKind,
    Store,
    StoreSnapshot,
    audit_entries,
    clips_of_alarms,
    get_alarm,
    get_clip,
    verify_clip,
)
from console.store.clips import (
    CloseClipOf,
    KeepClipOf,
    clip_relative_path,
    clips,
    purge_clips,
)
from console.store.snapshots import snapshots
from tests.unit.store.support import JPEG, T0

CLIP_BYTES = b"\x1a\x45\xdf\xa3" + bytes(range(256)) * 40  # an EBML magic, then some bytes


def raise_alarm(store: Store) -> int:
    return store.write(RaiseAlarm(None, "cam-1", "proximity", "high", raised_at=T0)).result()


def keep(store: Store, alarm_id: int, data: bytes = CLIP_BYTES, camera: str = "cam-1") -> int:
    opened = store.write(OpenClip(alarm_id, camera, T0 - timedelta(seconds=10), at=T0)).result()
    relative = clip_relative_path(alarm_id, camera, T0 - timedelta(seconds=10))
    path = store.files.path(relative)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    overlay = {"size": [640, 360], "tracks": [7], "boxes": [[T0.timestamp(), 7, 1, 2, 3, 4]]}
    kept = store.write(
        KeepClip(
            opened.id,
            relative,
            hashlib.sha256(data).hexdigest(),
            len(data),
            T0 - timedelta(seconds=11),
            T0 + timedelta(seconds=25),
            T0 + timedelta(seconds=24),
            "h264",
            640,
            360,
            overlay=overlay,
        )
    ).result()
    return kept.id


def test_a_clip_opens_recording_and_is_kept_with_its_hash(store: Store) -> None:
    alarm_id = raise_alarm(store)
    clip_id = keep(store, alarm_id)
    record = store.read(get_clip, clip_id)
    assert record.state == ClipState.KEPT
    assert record.playable
    assert record.sha256 == hashlib.sha256(CLIP_BYTES).hexdigest()
    assert record.start_at == T0 - timedelta(seconds=11)
    assert record.overlay is not None
    assert record.overlay["tracks"] == [7]
    assert store.read(verify_clip, clip_id, store.files)
    assert store.read(clips_of_alarms, [alarm_id, 999]) == {alarm_id: [record]}
    (row,) = [e for e in store.read(audit_entries) if e.action == "clip.store"]
    assert row.detail["sha256"] == record.sha256
    assert row.target == f"alarm:{alarm_id}"


def test_an_altered_or_missing_clip_file_fails_verification(store: Store) -> None:
    alarm_id = raise_alarm(store)
    clip_id = keep(store, alarm_id)
    record = store.read(get_clip, clip_id)
    assert record.relative_path is not None
    path = store.files.path(record.relative_path)
    path.write_bytes(CLIP_BYTES[:-1] + b"\x00")
    assert not store.read(verify_clip, clip_id, store.files)
    path.unlink()
    assert not store.read(verify_clip, clip_id, store.files)


def test_keeping_a_file_that_is_not_there_is_refused(store: Store) -> None:
    alarm_id = raise_alarm(store)
    opened = store.write(OpenClip(alarm_id, "cam-1", T0)).result()
    task = KeepClip(opened.id, "clips/x.mkv", "0" * 64, 10, T0, T0, T0, "h264", 1, 1)
    with pytest.raises(ValueError, match="missing"):
        store.write(task).result()
    assert store.read(get_clip, opened.id).state == ClipState.RECORDING


def test_a_failed_clip_says_why_and_cannot_be_kept_afterwards(store: Store) -> None:
    alarm_id = raise_alarm(store)
    opened = store.write(OpenClip(alarm_id, "cam-1", T0)).result()
    failed = store.write(ClipFailed(opened.id, "nothing was recorded for that time")).result()
    assert (failed.state, failed.reason) == (ClipState.FAILED, "nothing was recorded for that time")
    with pytest.raises(ValueError, match="not recording"):
        store.write(ClipFailed(opened.id, "again")).result()
    assert [e.action for e in store.read(audit_entries)].count("clip.failed") == 1


def test_a_usb_camera_clip_is_unavailable_with_the_reason(store: Store) -> None:
    alarm_id = raise_alarm(store)
    reason = "a USB camera has no compressed stream to keep"
    record = store.write(OpenClip(alarm_id, "cam-usb", T0, ClipState.UNAVAILABLE, reason)).result()
    assert (record.state, record.reason) == (ClipState.UNAVAILABLE, reason)
    assert not record.playable
    assert "clip.unavailable" in [e.action for e in store.read(audit_entries)]
    with pytest.raises(ValueError, match="opens recording or unavailable"):
        OpenClip(alarm_id, "cam-1", T0, ClipState.KEPT)


def test_clips_left_recording_by_a_dead_console_are_closed_at_start(store: Store) -> None:
    alarm_id = raise_alarm(store)
    left = store.write(OpenClip(alarm_id, "cam-1", T0)).result()
    kept_id = keep(store, alarm_id, camera="cam-2")
    closed = store.write(CloseUnfinishedClips()).result()
    assert closed == [left.id]
    assert store.read(get_clip, left.id).state == ClipState.FAILED
    assert "console stopped" in (store.read(get_clip, left.id).reason or "")
    assert store.read(get_clip, kept_id).state == ClipState.KEPT


def test_retention_purges_the_file_keeps_the_row_and_spares_a_held_alarm(store: Store) -> None:
    old = raise_alarm(store)
    held = raise_alarm(store)
    old_clip = keep(store, old)
    held_clip = keep(store, held, camera="cam-9")
    before = T0 + timedelta(days=1)
    count = store.write(
        _Purge(before=before, held=(held,))  # the shape a retention run with holds calls
    ).result()
    assert (count.purged, count.kept_on_hold, count.more) == (1, 1, False)
    purged = store.read(get_clip, old_clip)
    assert purged.purged_at is not None
    assert purged.sha256 is not None
    assert purged.relative_path is not None
    assert not store.files.path(purged.relative_path).exists()
    assert not purged.playable
    assert store.read(get_clip, held_clip).purged_at is None
    assert store.read(verify_clip, held_clip, store.files)
    rows = [e for e in store.read(audit_entries) if e.action == "clip.purge"]
    assert [r.detail["clip_id"] for r in rows] == [old_clip]
    again = store.write(PurgeClips(before=before)).result()  # no hold: the other goes too
    assert again.purged == 1


class _Purge:
    """`purge_clips` as a retention run with holds calls it (the audit branch's MediaPurge)."""

    name = "test.purge"

    def __init__(self, before, held) -> None:  # type: ignore[no-untyped-def]
        self.before = before
        self.held = held

    def run(self, session, files):  # type: ignore[no-untyped-def]
        return purge_clips(session, files, self.before, T0, "auditor", 10, held_alarms=self.held)


def test_the_clean_snapshot_is_kept_beside_the_annotated_one(store: Store, tmp_path: Path) -> None:
    alarm_id = raise_alarm(store)
    annotated = store.write(StoreSnapshot(alarm_id, JPEG, taken_at=T0)).result()
    clean_bytes = JPEG.replace(b"frame", b"clean")
    clean = store.write(
        StoreSnapshot(alarm_id, clean_bytes, taken_at=T0, kind=SnapshotKind.CLEAN)
    ).result()
    assert annotated is not None
    assert clean is not None
    assert (annotated.kind, clean.kind) == (SnapshotKind.ANNOTATED, SnapshotKind.CLEAN)
    assert store.read(get_alarm, alarm_id).snapshot_id == annotated.id  # the annotated one
    assert [s.kind for s in store.read(snapshots, alarm_id)] == ["annotated", "clean"]
    assert "-clean-" in clean.relative_path
    assert store.snapshot_path(clean).read_bytes() == clean_bytes
    assert clean.sha256 == hashlib.sha256(clean_bytes).hexdigest()
    assert store.read(clips, alarm_id) == []


def test_a_clip_queued_behind_its_row_is_kept_or_closed_by_alarm_and_camera(
    store: Store,
) -> None:
    """KeepClipOf / CloseClipOf find the row by alarm and camera (the evidence keeper queues
    them behind an OpenClip the store has not written yet): only that camera's clip."""
    alarm = raise_alarm(store)
    relative = clip_relative_path(alarm, "cam-1", T0)
    path = store.files.path(relative)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(CLIP_BYTES)
    keep_task = KeepClip(
        0,  # found by KeepClipOf
        relative,
        hashlib.sha256(CLIP_BYTES).hexdigest(),
        len(CLIP_BYTES),
        T0,
        T0 + timedelta(seconds=5),
        T0 + timedelta(seconds=5),
        "h264",
        640,
        360,
    )
    with pytest.raises(ValueError, match=f"alarm {alarm}: no clip of cam-1 is being recorded"):
        store.write(KeepClipOf(alarm, "cam-1", keep_task)).result()
    opened = [
        store.write(OpenClip(alarm, camera, T0, at=T0)) for camera in ("cam-1", "cam-2")
    ]  # both queued, not waited for, like the keeper's at a burst
    kept = store.write(KeepClipOf(alarm, "cam-1", keep_task))
    closed = store.write(CloseClipOf(alarm, "cam-2", "the recorder was offline", at=T0))
    assert kept.result().id == opened[0].result().id
    assert kept.result().state == ClipState.KEPT
    assert closed.result() == [opened[1].result().id]
    other = store.read(get_clip, opened[1].result().id)
    assert (other.state, other.reason) == (ClipState.FAILED, "the recorder was offline")
    with pytest.raises(ValueError, match="says why"):
        CloseClipOf(alarm, "cam-2", " ")
