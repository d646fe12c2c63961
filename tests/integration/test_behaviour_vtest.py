"""Behaviour learning on real footage: vtest.avi (people walking along a campus path) through the
offline SSDLite detector, the tracker, the presence model and the behaviour model on the
courtyard test site, the learned normal written to a real SQLite file and read back.

vtest.avi is one uncalibrated view of a path walked left and right (see tests/media.py), so the
view's learned flow must be mostly east and west in the picture, and people cross the courtyard
in under a minute and a half.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import pytest

from console.behaviour.appearance import appearances
from console.behaviour.model import BehaviourModel
from console.behaviour.statistics import direction_bin
from console.presence import Observation, Presence
from console.site_file import Site, load_site
from console.store import SaveBehaviourCells, Store, behaviour_cells
from inference.detectors.ssdlite import SsdliteDetector
from inference.tracking import PersonTracker
from tests.media import media
from tests.sites import courtyard_site

FPS = 10.0
STEP = 4  # every 4th frame: 2.5 looks a second
START = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)  # Tuesday 11:00 in Amsterdam: open


@pytest.fixture(scope="module")
def learned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Site, BehaviourModel, int]:
    site = load_site(courtyard_site(tmp_path_factory.mktemp("courtyard")))
    site = site.model_copy(
        update={"behaviour": site.behaviour.model_copy(update={"forget_after_s": 60.0})}
    )
    model = BehaviourModel(site)
    presence = Presence(site)
    detector = SsdliteDetector()
    tracker = PersonTracker()
    capture = cv2.VideoCapture(str(media("vtest.avi")))
    assert capture.isOpened()
    tracks: set[int] = set()
    frame_no = -1
    try:
        while True:
            ok = capture.grab()
            if not ok:
                break
            frame_no += 1
            if frame_no % STEP:
                continue
            ok, image = capture.retrieve()
            assert ok
            ts = frame_no / FPS
            now = START + timedelta(seconds=ts)
            (dets,) = detector.detect([image])
            people = tracker.update(dets, ts=ts)
            tracks.update(int(t) for t in people.track_id)
            height, width = image.shape[:2]
            camera = presence.update(Observation("cam-path", ts, people, (width, height)), now)
            boxes = [t.xyxy for t in camera.visitors]
            looks = dict(
                zip((t.track_id for t in camera.visitors), appearances(image, boxes), strict=True)
            )
            model.observe(camera, now, looks)
            model.tick(now)
    finally:
        capture.release()
    assert frame_no > 700, "vtest.avi was not read to its end"
    end = START + timedelta(seconds=frame_no / FPS)
    for k in range(1, 90):
        model.tick(end + timedelta(seconds=k))  # everyone leaves and is forgotten
    return site, model, len(tracks)


def test_the_normal_of_a_real_path_is_learned(learned) -> None:
    _, model, tracks = learned
    at = START
    assert tracks >= 10
    assert model.follower.visitors == {}  # all forgotten after the footage
    dwell = model.baseline.usual("zone", "courtyard", "dwell_s", at, min_samples=5)
    flow = model.baseline.usual("camera", "cam-path", "direction", at, min_samples=5)
    assert dwell is not None
    assert flow is not None
    # people cross the courtyard view in well under two minutes
    assert 3.0 < dwell.histogram.quantile(0.5) < 120.0
    # the path runs left-right in the picture: most ways are east or west (with neighbours)
    along = flow.histogram.share(direction_bin(1, 0), 1) + flow.histogram.share(
        direction_bin(-1, 0), 1
    )
    assert along > 0.8, flow.histogram.weights


def test_the_learned_normal_is_stored_and_read_back(learned, tmp_path: Path) -> None:
    site, model, _ = learned
    rows, gone = model.take_changes()
    assert rows
    assert gone == []
    url = f"sqlite:///{tmp_path / 'nightwatch.db'}"
    with Store(url) as store:
        assert store.write(SaveBehaviourCells(tuple(rows))).result(timeout=60) == (len(rows), 0)
    with Store(url) as store:
        stored = store.read(behaviour_cells)
    assert sorted(stored, key=lambda r: (r.kind, r.place_id, r.hour)) == sorted(
        rows, key=lambda r: (r.kind, r.place_id, r.hour)
    )
    # aggregated histograms only: no track, position or appearance in the file
    for row in stored:
        if row.kind != "meta":
            assert set(json.loads(row.data)) <= {
                "dwell_s",
                "occupancy",
                "speed_m_s",
                "near_s",
                "closest_m",
                "visits",
                "direction",
                "high_value_rooms",
            }
    again = BehaviourModel(site, stored=stored)
    assert list(again.baseline.rows()) == list(model.baseline.rows())
    assert again.baseline.learning_since == model.baseline.learning_since
