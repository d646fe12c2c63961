"""Evidence clips in an export, in retention and in `nightwatch audit verify`, on a real store
with real clip files (a grey clip encoded here): the export copies each kept clip with its boxes
beside it and the clean snapshot, signed by the manifest; with blurring on a clip is a derived,
blurred copy (tests/integration/test_export_blurred_clips.py checks the blurring on real footage);
a clip never kept says why; retention purges old clips and spares a held incident;
verify names an altered clip file and an edited clip row."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from console.export.query import ExportFilters
from console.export.run import ExportRequest, export_incidents
from console.export.verify import verify_export
from console.retention import run_retention
from console.site_file import Site, load_site
from console.store import (
    ApplyRetention,
    ChangeAlarmState,
    ClipState,
    OpenClip,
    Outcome,
    PlaceHold,
    RaiseAlarm,
    SnapshotKind,
    Store,
    StoreSnapshot,
    audit_entries,
    get_clip,
    verify_store,
)
from tests.clips import grey_clip, keep_clip
from tests.evidence import snapshot_jpeg
from tests.unit.store.support import url_of

SITE = Path(__file__).resolve().parents[1] / "data" / "example_site" / "site.yaml"
RAISED = datetime(2026, 11, 28, 22, 15, tzinfo=UTC)
OVERLAY = {"size": [640, 360], "tracks": [7], "boxes": [[RAISED.timestamp(), 7, 1, 2, 3, 4]]}


@pytest.fixture
def site() -> Site:
    return load_site(SITE)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(url_of(tmp_path / "data" / "nightwatch.db"))
    yield s
    assert s.close().all_stored


def alarm_with_clip(store: Store, tmp_path: Path, at: datetime) -> tuple[int, int]:
    alarm = store.write(RaiseAlarm(None, "cam-east", "proximity", "high", raised_at=at)).result()
    photo = snapshot_jpeg((100, 100, 200, 300))  # a real photograph
    store.write(StoreSnapshot(alarm, photo, taken_at=at)).result()
    store.write(StoreSnapshot(alarm, photo, taken_at=at, kind=SnapshotKind.CLEAN)).result()
    source = grey_clip(tmp_path / f"grey-{alarm}.mkv", at - timedelta(seconds=10))
    clip = keep_clip(store, alarm, "cam-east", source, at - timedelta(seconds=10), OVERLAY)
    return alarm, clip.id


def export(store: Store, site: Site, out: Path, *, blur: bool) -> list[dict]:
    filters = ExportFilters(RAISED - timedelta(days=60), RAISED + timedelta(days=1))
    export_incidents(store, site, ExportRequest(filters, ("jsonl",), out, "audrey", blur=blur))
    return [json.loads(line) for line in (out / "incidents.jsonl").open()]


def test_an_export_holds_each_clip_with_its_boxes_and_the_clean_snapshot(
    store: Store, site: Site, tmp_path: Path
) -> None:
    alarm, clip_id = alarm_with_clip(store, tmp_path, RAISED)
    usb = store.write(
        RaiseAlarm(None, "cam-east", "after_hours", "high", raised_at=RAISED)
    ).result()
    reason = "a USB camera delivers raw frames: no compressed stream to keep"
    store.write(OpenClip(usb, "cam-east", RAISED, ClipState.UNAVAILABLE, reason)).result()

    lines = {x["alarm_id"]: x for x in export(store, site, tmp_path / "sharp", blur=False)}
    clip = store.read(get_clip, clip_id)
    [clean, exported] = lines[alarm]["media"]
    assert clean["kind"] == "clean snapshot"
    assert clean["state"] == "exported"
    assert exported["kind"].startswith("clip of ")
    assert exported["state"] == "exported"
    assert exported["sha256_stored"] == exported["sha256_exported"] == clip.sha256
    path = tmp_path / "sharp" / exported["file"]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == clip.sha256  # as recorded
    overlay = path.with_name(path.name.removesuffix(".mkv") + ".overlay.json")
    assert json.loads(overlay.read_text()) == OVERLAY
    assert [len(x["snapshots"]) for x in lines.values()] == [1, 0]  # the annotated one only
    [missing] = lines[usb]["media"]
    assert (missing["state"], missing["note"]) == ("missing", f"no clip: {reason}")
    manifest = json.loads((tmp_path / "sharp" / "manifest.json").read_text())
    listed = {f["path"]: f["sha256"] for f in manifest["files"]}
    assert listed[exported["file"]] == clip.sha256  # signed with the rest
    assert overlay.relative_to(tmp_path / "sharp").as_posix() in listed
    assert verify_export(tmp_path / "sharp").ok

    blurred = {x["alarm_id"]: x for x in export(store, site, tmp_path / "blur", blur=True)}
    [clean, copy] = blurred[alarm]["media"]
    assert clean["state"] in ("blurred", "blurred whole")
    assert copy["state"] == "blurred"
    assert copy["sha256_stored"] == clip.sha256 != copy["sha256_exported"]
    assert copy["file"].endswith("-blurred.mkv")
    # no person in a grey clip, and no kept box in its three seconds: the detector looked
    assert "by the person detector" in copy["note"]
    assert verify_export(tmp_path / "blur").ok


def test_retention_purges_old_clips_spares_a_held_incident_and_verify_agrees(
    store: Store, site: Site, tmp_path: Path
) -> None:
    old, old_clip = alarm_with_clip(store, tmp_path, RAISED - timedelta(days=45))
    held, held_clip = alarm_with_clip(store, tmp_path, RAISED - timedelta(days=40))
    recent, recent_clip = alarm_with_clip(store, tmp_path, RAISED - timedelta(days=2))
    store.write(PlaceHold(held, "police investigation", "audrey", case_ref="PC-9")).result()
    task = run_retention(store, site, RAISED)
    assert task is not None
    assert site.retention.clips_days == 30
    counts = {c.kind: c for c in store.write(task).result()}
    assert (counts["clips"].purged, counts["clips"].kept_on_hold) == (1, 1)
    purged = store.read(get_clip, old_clip)
    assert purged.purged_at == RAISED
    assert purged.sha256 is not None  # the row keeps its hash
    assert not store.files.path(purged.relative_path).exists()
    for kept in (held_clip, recent_clip):
        assert store.files.path(store.read(get_clip, kept).relative_path).exists()
    purges = [e for e in store.read(audit_entries) if e.action == "clip.purge"]
    assert [(e.target, e.detail["clip_id"]) for e in purges] == [(f"alarm:{old}", old_clip)]
    report = store.read(verify_store, store.keys, store.files)
    assert report.ok, [str(f) for f in report.findings]  # purged is not missing
    lines = {x["alarm_id"]: x for x in export(store, site, tmp_path / "out", blur=False)}
    assert lines[old]["media"][1]["state"] == "purged"
    assert recent in lines

    only_clips = ApplyRetention(now=RAISED, purges=task.purges)  # snapshots kept forever
    assert [c.kind for c in store.write(only_clips).result()] == ["clips"]


def test_verify_names_an_altered_clip_file_and_an_edited_clip_row(
    store: Store, tmp_path: Path
) -> None:
    _, clip_id = alarm_with_clip(store, tmp_path, RAISED)
    clip = store.read(get_clip, clip_id)
    assert store.read(verify_store, store.keys, store.files).ok
    path = store.files.path(clip.relative_path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    report = store.read(verify_store, store.keys, store.files)
    assert [(f.where, f.kind) for f in report.findings] == [
        (f"clip file {clip.relative_path}", "replaced")
    ]
    store.close()
    with sqlite3.connect(tmp_path / "data" / "nightwatch.db") as db:
        db.execute("UPDATE clips SET codec = 'h264' WHERE id = ?", (clip_id,))
    again = Store(url_of(tmp_path / "data" / "nightwatch.db"))
    try:
        report = again.read(verify_store, again.keys, again.files)
    finally:
        again.close()
    assert f"clips id={clip_id}" in [f.where for f in report.findings]


def test_not_resolved_yet_exports_the_open_alarms(store: Store, site: Site, tmp_path: Path) -> None:
    alarm, _ = alarm_with_clip(store, tmp_path, RAISED)
    other, _ = alarm_with_clip(store, tmp_path, RAISED + timedelta(minutes=5))
    store.write(ChangeAlarmState(other, "resolved", "ben", outcome=Outcome.FALSE_ALARM)).result()
    window = (RAISED - timedelta(hours=1), RAISED + timedelta(hours=1))
    for outcomes, expected in (
        (("open",), [alarm]),
        (("false_alarm",), [other]),
        (("open", "false_alarm"), [alarm, other]),
    ):
        out = tmp_path / "-".join(outcomes)
        filters = ExportFilters(*window, outcomes=outcomes)
        export_incidents(store, site, ExportRequest(filters, ("jsonl",), out, "audrey"))
        lines = [json.loads(line) for line in (out / "incidents.jsonl").open()]
        assert sorted(x["alarm_id"] for x in lines) == expected
