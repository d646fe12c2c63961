"""The generated demo museum: a valid site, 64 cameras, real clips, deterministic, and artworks
placed where the people in the clips really walk (checked with the offline person detector).

The clips are cut from vtest.avi (fetched by packaging/fetch-media.sh, never committed); the
site is built once per module (about 12 s here) into a temporary folder.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest

from console.cli import main as nightwatch
from console.media import MediaMissing
from console.presence import PresenceConfig, box_polygon_overlap
from console.site_file import load_site
from resources.demo_museum import (
    CLIP_SIZE_PX,
    CLIPS,
    DEMO_CAMERAS,
    build_demo_site,
    clip_path,
)
from tests.media import media

NOW = datetime(2026, 3, 3, 21, 0, tzinfo=UTC)  # a Tuesday, 22:00 in Amsterdam
FIRST_MINUTE_S = 60.0
SAMPLE_EVERY_S = 2.0
MIN_SAMPLES_REACHED = 5  # of the 30 samples of the first minute


@pytest.fixture(scope="module")
def vtest() -> Path:
    return media("vtest.avi")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, vtest: Path) -> Path:
    return build_demo_site(tmp_path_factory.mktemp("demo") / "site", now=NOW, source=vtest)


def test_the_site_loads_and_nightwatch_check_passes(built: Path, capsys) -> None:
    site = load_site(built)
    assert len(site.cameras) == DEMO_CAMERAS == 64
    assert len({c.id for c in site.cameras}) == 64
    assert all(c.source_kind == "file" and c.source_path.is_file() for c in site.cameras)
    assert site.floors[0].plan_size_px == (2800, 1520)
    assert site.floors[0].metres_per_pixel == 0.02
    kinds = {o.kind for o in site.protected_objects}
    assert {"painting", "sculpture"} <= kinds
    assert all(o.plan_polygon is not None for o in site.protected_objects)
    assert {z.kind for z in site.zones} == {"gallery", "corridor", "restricted", "exit"}
    assert any(z.armed != "never" for z in site.zones)
    assert site.guards
    assert nightwatch(["check", str(built)]) == 0
    out = capsys.readouterr().out
    assert "64 cameras" in out
    assert out.rstrip().endswith(": ok")


def test_the_museum_is_closed_on_the_demo_day_and_open_on_an_ordinary_one(built: Path) -> None:
    site = load_site(built)
    assert not site.is_open(datetime(2026, 3, 3, 11, 0, tzinfo=UTC))  # noon on the demo day
    assert site.is_open(datetime(2026, 3, 4, 11, 0, tzinfo=UTC))  # noon the next day
    text = built.read_text(encoding="utf-8")
    assert "# The demo closes the museum on the day it is built" in text  # said in a comment
    exception = site.opening_hours.exceptions[-1]
    assert (exception.date.isoformat(), exception.hours) == ("2026-03-03", "closed")


def test_every_camera_stands_in_its_zone_and_armed_zones_have_cameras(built: Path) -> None:
    from console.floor_plan import point_in_polygon

    site = load_site(built)
    armed = [z for z in site.zones if z.armed != "never"]
    for zone in armed:
        inside = [
            c for c in site.cameras if point_in_polygon([c.plan_position], zone.plan_polygon)[0]
        ]
        assert inside, f"armed zone {zone.id} has no camera: no after-hours alarm could arise"
    for camera in site.cameras:
        zones = [
            z.id for z in site.zones if point_in_polygon([camera.plan_position], z.plan_polygon)[0]
        ]
        assert len(zones) == 1, f"{camera.id} at {camera.plan_position} is in zones {zones}"


def test_clips_exist_decode_and_have_the_size(built: Path) -> None:
    for recipe in CLIPS:
        path = clip_path(built.parent, recipe)
        cap = cv2.VideoCapture(str(path))
        try:
            assert cap.isOpened(), path
            frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
            assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(10.0)
            ok, first = cap.read()
            assert ok
            assert (first.shape[1], first.shape[0]) == CLIP_SIZE_PX
            cap.set(cv2.CAP_PROP_POS_FRAMES, frames - 5)
            ok, _ = cap.read()
            assert ok, f"{path.name}: its end does not decode"
        finally:
            cap.release()
        assert frames == pytest.approx(795, abs=2)  # all of vtest.avi, rotated by the offset
    pictures = []
    for recipe in CLIPS:  # distinct clips: no two first frames alike
        cap = cv2.VideoCapture(str(clip_path(built.parent, recipe)))
        pictures.append(cap.read()[1].astype(np.int16))
        cap.release()
    for i in range(len(pictures)):
        for j in range(i + 1, len(pictures)):
            assert np.abs(pictures[i] - pictures[j]).mean() > 10, (CLIPS[i].name, CLIPS[j].name)


def test_two_builds_give_identical_files_and_a_rebuild_reuses_the_clips(
    built: Path, tmp_path: Path, vtest: Path
) -> None:
    clips = built.parent / "clips"
    stamps = {p.name: p.stat().st_mtime_ns for p in clips.iterdir()}
    again = build_demo_site(built.parent, now=NOW, source=vtest)
    assert again == built
    assert {p.name: p.stat().st_mtime_ns for p in clips.iterdir()} == stamps  # reused

    other = tmp_path / "other"
    shutil.copytree(clips, other / "clips")  # the clips are reused; plan and site are rebuilt
    second = build_demo_site(other, now=NOW, source=vtest)
    assert second.read_bytes() == built.read_bytes()
    plan = Path("plans") / "ground.png"
    assert (other / plan).read_bytes() == (built.parent / plan).read_bytes()

    later = build_demo_site(other, now=datetime(2026, 3, 10, 21, 0, tzinfo=UTC), source=vtest)
    assert "date: 2026-03-10" in later.read_text(encoding="utf-8")


def test_fewer_cameras_still_make_a_valid_site(built: Path, tmp_path: Path, vtest: Path) -> None:
    shutil.copytree(built.parent / "clips", tmp_path / "clips")
    site = load_site(build_demo_site(tmp_path, cameras=10, now=NOW, source=vtest))
    assert len(site.cameras) == 10
    with pytest.raises(ValueError, match="1 to"):
        build_demo_site(tmp_path, cameras=0, now=NOW, source=vtest)


def test_a_missing_source_says_how_to_fetch_it(tmp_path: Path) -> None:
    with pytest.raises(MediaMissing, match=r"fetch-media\.sh"):
        build_demo_site(tmp_path / "site", now=NOW, source=tmp_path / "vtest.avi")
    assert not (tmp_path / "site" / "site.yaml").exists()


def test_artworks_lie_where_people_walk_in_the_first_minute(built: Path) -> None:
    """Run the offline SSDLite detector on a frame every 2 s of each camera's clip's first
    minute: some person box must reach into every artwork image region (as the proximity rule
    judges a reach), so proximity alarms arise in the first minute of the demo."""
    from inference.detectors.base import DetectorUnavailable
    from inference.detectors.ssdlite import SsdliteDetector

    try:
        detector = SsdliteDetector(threads=2)
    except DetectorUnavailable as exc:
        pytest.skip(str(exc))
    site = load_site(built)
    regions = [
        (obj.id, camera_id, region)
        for obj in site.protected_objects
        for camera_id, region in obj.image_regions.items()
    ]
    assert len(regions) >= 8
    assert {site.protected_object(o).kind for o, _, _ in regions} >= {"painting", "sculpture"}
    reach = PresenceConfig().reach_min_overlap
    boxes_by_clip: dict[Path, list[tuple[float, np.ndarray]]] = {}
    for obj_id, camera_id, region in regions:
        clip = site.camera(camera_id).source_path
        if clip not in boxes_by_clip:
            boxes_by_clip[clip] = _people_in_first_minute(detector, clip)
        hits = [
            t
            for t, boxes in boxes_by_clip[clip]
            if any(box_polygon_overlap(box, region) >= reach for box in boxes)
        ]
        # a place where people walk is reached in many samples; a patch of lawn beside the
        # path (people cross it now and then) in at most 3 of the 30
        assert len(hits) >= MIN_SAMPLES_REACHED, (
            f"{obj_id} on {camera_id} ({clip.name}): reached in {len(hits)} of "
            f"{len(boxes_by_clip[clip])} samples of the first minute"
        )
    assert sum(len(b) for p in boxes_by_clip.values() for _, b in p) > 0


def _people_in_first_minute(detector, clip: Path) -> list[tuple[float, np.ndarray]]:
    cap = cv2.VideoCapture(str(clip))
    fps = cap.get(cv2.CAP_PROP_FPS)
    step = round(SAMPLE_EVERY_S * fps)
    found: list[tuple[float, np.ndarray]] = []
    try:
        index = 0
        while index < FIRST_MINUTE_S * fps:
            ok, frame = cap.read()
            if not ok:
                break
            if index % step == 0:
                found.append((index / fps, detector.detect([frame])[0].xyxy))
            index += 1
    finally:
        cap.release()
    return found
