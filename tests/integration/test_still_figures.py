"""Museum false positives on real images: a painted figure raises nothing, a visitor still does.

No photograph of a painting of people ships in these registries (../shared/README.md), so a real
photo of a person (Debian opencv-doc's messi5.jpg) hung motionless in the camera image stands in
for a figurative painting: to a detector, a painted person is a person who never moves. It hangs
on the lawn of vtest.avi, where real people walk past on the path beside it.

The chain is the real one, in process: the offline SSDLite detector, the per-camera tracker, the
presence model and the rules, at 2 a.m. (the museum closed, the zone armed).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest

from console.presence import Observation, Presence
from console.rules import Finding, evaluate_camera
from console.site_file import Site, load_site
from inference.detections import box_iou
from inference.detectors.ssdlite import SsdliteDetector
from inference.tracking import PersonTracker
from tests.media import media

DATA = Path(__file__).resolve().parents[1] / "data"
PAINTING = (20, 330, 330, 540)  # x1, y1, x2, y2 in the 768x576 frame: on the lawn, lower left
FRAMES = range(380, 500, 2)  # 12 s of people walking on the path (10 fps, every 2nd frame)
NIGHT = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)  # 02:00 in Amsterdam: closed


def hang_painting(frame: np.ndarray, picture: np.ndarray) -> np.ndarray:
    x1, y1, x2, y2 = PAINTING
    out = frame.copy()
    out[y1:y2, x1:x2] = cv2.resize(picture, (x2 - x1, y2 - y1), interpolation=cv2.INTER_AREA)
    cv2.rectangle(out, (x1, y1), (x2 - 1, y2 - 1), (30, 60, 90), 6)  # the frame of the painting
    return out


@pytest.fixture(scope="module")
def footage() -> list[np.ndarray]:
    picture = cv2.imread(str(media("messi5.jpg")))
    capture = cv2.VideoCapture(str(media("vtest.avi")))
    frames: list[np.ndarray] = []
    index = 0
    try:
        while index <= FRAMES[-1]:
            ok, frame = capture.read()
            assert ok
            if index in FRAMES:
                frames.append(hang_painting(frame, picture))
            index += 1
    finally:
        capture.release()
    return frames


@pytest.fixture(scope="module")
def detections(footage):
    detector = SsdliteDetector()
    return [detector.detect([frame])[0] for frame in footage]


def gallery_site(tmp_path: Path, *, mark_region: bool) -> Site:
    x1, y1, x2, y2 = PAINTING
    region = f"[[{x1}, {y1}], [{x2}, {y1}], [{x2}, {y2}], [{x1}, {y2}]]"
    text = (DATA / "courtyard_site" / "site.yaml").read_text()
    text = text.replace("source: footage/vtest.avi", "source: usb:0")
    text = text.replace(
        "    plan_position: [300, 300]\n",
        "    plan_position: [300, 300]\n"
        + (f"    still_figure_regions: [{region}]\n" if mark_region else ""),
    )
    text = text.replace(
        "      cam-path: [[330, 180], [480, 180], [480, 260], [330, 260]]",
        f"      cam-path: {region}",
    )
    (tmp_path / "plans").mkdir(exist_ok=True)
    plan = DATA / "example_site" / "plans" / "ground.png"
    (tmp_path / "plans" / "ground.png").write_bytes(plan.read_bytes())
    (tmp_path / "site.yaml").write_text(text)
    return load_site(tmp_path / "site.yaml")


def run_rules(site: Site, footage, detections, reference: np.ndarray | None = None):
    presence = Presence(site)
    if reference is not None:
        presence.set_empty_reference("cam-path", reference)
    tracker = PersonTracker()
    findings: list[Finding] = []
    height, width = footage[0].shape[:2]
    for i, (frame, found) in enumerate(zip(footage, detections, strict=True)):
        ts = i * 0.2
        people = tracker.update(found, ts)
        now = NIGHT + timedelta(seconds=ts)
        camera = presence.update(
            Observation("cam-path", ts, people, (width, height), frame, found), now
        )
        findings.extend(evaluate_camera(camera, site, now))
    return findings


def on_painting(finding: Finding) -> bool:
    box = finding.detail.box
    return box is not None and box_iou(np.array([box]), np.array([PAINTING]))[0, 0] > 0.05


def test_the_detector_does_see_a_person_in_the_painting(detections) -> None:
    # otherwise the tests below would prove nothing
    hits = [box_iou(d.xyxy, np.array([PAINTING])).max(initial=0) > 0.05 for d in detections]
    assert sum(hits) >= 0.8 * len(detections)


def test_without_marking_the_painted_figure_raises_alarms(tmp_path, footage, detections) -> None:
    findings = run_rules(gallery_site(tmp_path, mark_region=False), footage, detections)
    assert any(on_painting(f) for f in findings), "control: the painted figure should trigger"


def test_marked_region_painted_figure_raises_nothing_visitor_still_does(
    tmp_path, footage, detections
) -> None:
    findings = run_rules(gallery_site(tmp_path, mark_region=True), footage, detections)
    assert not [f for f in findings if on_painting(f)]
    assert not [f for f in findings if f.rule == "proximity" and f.subject_id == "plinth"]
    visitors = [f for f in findings if f.rule == "after_hours" and not on_painting(f)]
    assert visitors, "the people walking past at 2 a.m. must still raise after-hours findings"
    assert len({f.track_id for f in visitors}) >= 2


def test_empty_gallery_reference_suppresses_the_painted_figure(
    tmp_path, footage, detections
) -> None:
    # the empty-gallery reference a supervisor captures: the same view with nobody walking
    # (here the per-pixel median over the 12 s, which removes the walkers but keeps the painting)
    reference = np.median(np.stack(footage), axis=0).astype(np.uint8)
    findings = run_rules(gallery_site(tmp_path, mark_region=False), footage, detections, reference)
    assert not [f for f in findings if on_painting(f)]
    assert [f for f in findings if f.rule == "after_hours" and not on_painting(f)]
