"""The walk test on the courtyard footage (vtest.avi), replay-driven with the real detector: the
plinth people walk up to passes, with the measured distance and the evidence frame; an object
nobody goes near fails with why; the zone they cross passes; nothing is raised as an alarm for
the subjects under test; the stored report exports as JSON and CSV."""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from console.runtime import ReplayOptions, RuntimeOptions, SiteRuntime
from console.site_file import load_site
from console.store import Store, audit_entries, get_walk_test, list_alarms
from console.walk_test import WalkTest
from inference.worker_pool import DetectorSpec
from tests.sites import courtyard_site

REPO = Path(__file__).resolve().parents[2]
AMS = ZoneInfo("Europe/Amsterdam")

# A made-up but consistent calibration of the courtyard camera (an affine floor: 0.5 plan px per
# image px across, 0.8 down), so that the plinth's distance is measured on the plan, in metres.
CALIBRATION = """    calibration:
      image: [[100, 500], [700, 500], [700, 150], [100, 150]]
      plan: [[147.5, 500], [447.5, 500], [447.5, 220], [147.5, 220]]
"""
# An object in the top corner of the picture, where nobody walks.
LAMP = """  - id: lamp
    name: Lamp in the corner
    floor: ground
    value: low
    min_distance_m: 0.5
    image_regions:
      cam-path: [[700, 5], [760, 5], [760, 40], [700, 40]]
"""


def test_a_walk_test_on_the_courtyard_footage(tmp_path: Path) -> None:
    site_path = courtyard_site(tmp_path)
    text = site_path.read_text(encoding="utf-8")
    text = text.replace(
        "    plan_position: [300, 300]\n", "    plan_position: [300, 300]\n" + CALIBRATION
    )
    text = text.replace("protected_objects:\n", "protected_objects:\n" + LAMP)
    site_path.write_text(text, encoding="utf-8")
    site = load_site(site_path)
    db = tmp_path / "walk.db"
    store = Store(f"sqlite:///{db}")  # evidence in its file area, beside it (snapshots/)
    options = RuntimeOptions(
        detector=DetectorSpec("ssdlite"),
        cpu_workers=1,
        # the footage at 02:00: the courtyard is armed, so its rule would fire
        replay=ReplayOptions(datetime(2026, 11, 28, 2, 0, tzinfo=AMS), detect_every_s=0.5),
    )
    runtime = SiteRuntime(site, store, options)
    try:
        with runtime:
            test = WalkTest(runtime, "ana", note="monthly test")
            walk_test_id = test.start().result(timeout=60)
            deadline = time.monotonic() + 900
            while not runtime.replay_finished():
                assert time.monotonic() < deadline, "the replay did not finish"
                time.sleep(0.2)
            assert test.progress().result("plinth").passed  # shown while it runs
            report = test.finish().result(timeout=60)
            held = test.held
    finally:
        store.close()

    assert report.walk_test_id == walk_test_id
    assert report.status == "finished"
    plinth = report.result("plinth")
    assert plinth.passed, plinth.reason
    assert plinth.camera_id == "cam-path"
    assert plinth.distance_m is not None
    assert 0 <= plinth.distance_m <= 1.0  # within its min distance, measured on the plan
    assert plinth.track_id is not None
    assert plinth.rule_would_fire
    assert plinth.evidence_path is not None
    evidence = Path(plinth.evidence_path)
    assert evidence.read_bytes()[:2] == b"\xff\xd8"
    courtyard = report.result("courtyard")
    assert courtyard.passed
    assert courtyard.rule_would_fire  # armed at 02:00
    lamp = report.result("lamp")
    assert not lamp.passed
    assert lamp.reason.startswith("not seen")
    assert not report.passed
    assert held > 0  # the guard's findings were held back ...

    with Store(f"sqlite:///{db}", read_only=True) as stored:
        # ... so no alarm was raised for a subject under test
        subjects = {a.subject for a in stored.read(list_alarms)}
        assert not subjects & {"plinth", "courtyard", "lamp"}, subjects
        record = stored.read(get_walk_test, walk_test_id)
        assert (record.user, record.status, record.note) == ("ana", "finished", "monthly test")
        stored_plinth = next(r for r in record.results if r.subject_id == "plinth")
        assert stored_plinth.evidence_sha256 == hashlib.sha256(evidence.read_bytes()).hexdigest()
        actions = [e.action for e in stored.read(audit_entries)]
        assert "walk_test.start" in actions
        assert "walk_test.finish" in actions

    out = tmp_path / "export"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "console.cli",
            "walk-test",
            "report",
            str(walk_test_id),
            "--out",
            str(out),
            "--db",
            f"sqlite:///{db}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "PASS object plinth" in done.stdout
    assert "FAIL object lamp" in done.stdout
    document = json.loads((out / f"walk-test-{walk_test_id}.json").read_text())
    rows = {r["subject_id"]: r for r in document["results"]}
    assert rows["plinth"]["passed"] is True
    assert rows["plinth"]["distance_m"] == plinth.distance_m
    assert (out / rows["plinth"]["evidence"]).read_bytes() == evidence.read_bytes()
    with (out / f"walk-test-{walk_test_id}.csv").open(encoding="utf-8") as stream:
        table = {r["subject_id"]: r for r in csv.DictReader(stream)}
    assert table["plinth"]["passed"] == "True"
    assert table["lamp"]["passed"] == "False"
