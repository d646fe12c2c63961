"""Blurred clips in an export, on real footage: three seconds of vtest.avi (real people walking,
see tests/media.py; frames 430-459) kept as an alarm's clip in a real store, with the boxes the
live path would have kept beside it (the offline SSDLite detector and the tracker run over every
2nd frame, five samples a second, as the evidence keeper samples them).

The subject is the woman in the red jacket (she enters on the right: the track whose box lies
right of x=550 at 1.6 s); a man on the left of the path (the track left of x=400 then) is
a bystander, far from her. With blurring on, the export holds a
derived copy in which his box is blurred (its pixel variance falls far below the original's) and
hers is not; the manifest lists the copy as derived with the original's SHA-256; `nightwatch
verify` passes, and fails naming the copy once a byte of it is flipped. Without the kept boxes
the detector finds the people in the frames itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from console.export.query import ExportFilters
from console.export.run import ExportRequest, export_incidents
from console.export.verify import verify_export
from console.site_file import Site, load_site
from console.store import RaiseAlarm, Store, get_clip
from inference.clip_assembly import file_sha256
from inference.detectors.ssdlite import SsdliteDetector
from inference.tracking import PersonTracker
from tests.clips import decoded_frames, footage_clip, keep_clip
from tests.media import media
from tests.unit.store.support import url_of

SITE = Path(__file__).resolve().parents[1] / "data" / "example_site" / "site.yaml"
RAISED = datetime(2026, 11, 28, 22, 15, tzinfo=UTC)
CLIP_START = RAISED - timedelta(seconds=1)
FIRST, FRAMES, FPS = 430, 30, 10
AT = 1.6  # seconds into the clip where the two are compared (a sampled frame)


@pytest.fixture(scope="module")
def footage(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The clip, and its overlay as the evidence keeper keeps it (subject: the woman's track)."""
    folder = tmp_path_factory.mktemp("footage")
    clip = footage_clip(folder / "vtest.mkv", media("vtest.avi"), CLIP_START, FIRST, FRAMES, FPS)
    detector, tracker = SsdliteDetector(), PersonTracker()
    boxes: list[list[float]] = []
    for t, image in sorted(decoded_frames(clip).items()):
        if round(t * FPS) % 2:
            continue
        (found,) = detector.detect([image])
        tracked = tracker.update(found, ts=t)
        wall = round(CLIP_START.timestamp() + t, 3)
        boxes.extend(
            [wall, int(track), *(round(float(v), 1) for v in xyxy)]
            for xyxy, track in zip(tracked.xyxy, tracked.track_id, strict=True)
        )
    overlay: dict[str, Any] = {"size": [768, 576]}
    overlay["tracks"] = [track_where(boxes, lambda b: b[0] > 550)]
    overlay["boxes"] = boxes
    return clip, overlay


def at_wall(t: float) -> float:
    return round(CLIP_START.timestamp() + t, 3)


def track_where(boxes: list[list[float]], where: Callable[[list[float]], bool]) -> int:
    [track] = [int(b[1]) for b in boxes if b[0] == at_wall(AT) and where(b[2:])]
    return track


def box_at(overlay: dict[str, Any], track: int, t: float) -> list[int]:
    [box] = [b[2:] for b in overlay["boxes"] if b[0] == at_wall(t) and b[1] == track]
    return [int(v) for v in box]


def people(overlay: dict[str, Any]) -> tuple[list[int], list[int]]:
    """The subject's box and the bystander's, at AT."""
    [subject] = overlay["tracks"]
    bystander = track_where(overlay["boxes"], lambda b: b[2] < 400)
    return box_at(overlay, subject, AT), box_at(overlay, bystander, AT)


def variance(image: np.ndarray, box: list[int]) -> float:
    x1, y1, x2, y2 = box
    return float(image[y1:y2, x1:x2].astype(np.float32).var())


@pytest.fixture
def site() -> Site:
    return load_site(SITE)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(url_of(tmp_path / "data" / "nightwatch.db"))
    yield s
    assert s.close().all_stored


def export_one(
    store: Store, site: Site, footage: Path, overlay: dict[str, Any] | None, out: Path
) -> tuple[dict[str, Any], list[tuple[str, int, int]]]:
    alarm = store.write(
        RaiseAlarm(None, "cam-east", "proximity", "high", raised_at=RAISED)
    ).result()
    keep_clip(store, alarm, "cam-east", footage, CLIP_START, overlay, seconds=FRAMES / FPS)
    seen: list[tuple[str, int, int]] = []
    filters = ExportFilters(RAISED - timedelta(hours=1), RAISED + timedelta(hours=1))
    request = ExportRequest(filters, ("jsonl",), out, "audrey", blur=True)
    export_incidents(store, site, request, progress=lambda *a: seen.append(a))
    [line] = [json.loads(x) for x in (out / "incidents.jsonl").open()]
    [clip] = [m for m in line["media"] if m["kind"].startswith("clip")]
    return clip, seen


def test_everyone_but_the_subject_is_blurred_in_the_exported_clip(
    store: Store, site: Site, footage: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    source, overlay = footage
    subject, bystander = people(overlay)
    assert subject[0] > bystander[2] + 100  # far apart: neither box covers the other
    clip, seen = export_one(store, site, source, overlay, tmp_path / "out")

    assert clip["state"] == "blurred"
    assert clip["sha256_stored"] == file_sha256(source)  # the original's hash is kept
    assert clip["sha256_exported"] != clip["sha256_stored"]
    assert "derived copy" in clip["note"]
    assert "other than the incident's subject" in clip["note"]
    copy = tmp_path / "out" / clip["file"]
    assert file_sha256(copy) == clip["sha256_exported"]
    original, blurred = decoded_frames(source)[AT], decoded_frames(copy)[AT]
    assert len(decoded_frames(copy)) == FRAMES  # every frame, at its own time
    before, after = variance(original, bystander), variance(blurred, bystander)
    assert after < 0.25 * before, (before, after)
    kept_before, kept_after = variance(original, subject), variance(blurred, subject)
    assert kept_after > 0.8 * kept_before, (kept_before, kept_after)
    assert ("blurring clips", 0, 1) in seen
    assert ("blurring clips", 1, 1) in seen

    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    [derived] = manifest["derived"]["clips"]
    assert derived["path"] == clip["file"]
    assert derived["original_sha256"] == store.read(get_clip, 1).sha256 == file_sha256(source)
    assert derived["state"] == "blurred"


def test_verify_passes_a_blurred_export_and_names_a_tampered_clip(
    store: Store, site: Site, footage: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    source, overlay = footage
    out = tmp_path / "out"
    clip, _ = export_one(store, site, source, overlay, out)
    result = verify_export(out)
    assert result.ok, result.lines()
    assert any("derived" in line for line in result.lines())
    copy = out / clip["file"]
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0x01
    copy.write_bytes(bytes(data))
    tampered = verify_export(out)
    assert not tampered.ok
    assert [(p.path, p.kind) for p in tampered.problems] == [(clip["file"], "altered")]


def test_without_kept_boxes_the_detector_finds_the_people_to_blur(
    store: Store, site: Site, footage: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    source, overlay = footage
    _, bystander = people(overlay)
    clip, _ = export_one(store, site, source, None, tmp_path / "out")
    assert clip["state"] == "blurred"
    assert "by the person detector" in clip["note"]
    assert "no subject track" in clip["note"]  # so everyone found is blurred
    original = decoded_frames(source)[AT]
    blurred = decoded_frames(tmp_path / "out" / clip["file"])[AT]
    before, after = variance(original, bystander), variance(blurred, bystander)
    assert after < 0.25 * before, (before, after)
