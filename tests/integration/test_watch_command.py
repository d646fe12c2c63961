"""`nightwatch watch` as a user runs it: real footage, real processes, JSON reports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.media import media

REPO = Path(__file__).resolve().parents[2]


def test_watch_reports_live_cameras_and_tracked_people() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "console.cli",
            "watch",
            str(media("vtest.avi")),
            "--copies",
            "2",
            "--duration-s",
            "20",  # the detector worker must start within it, on a loaded machine too
            "--every-s",
            "2",
            "--json",
            "--detector",
            "ssdlite",
            "--workers",
            "1",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    records = [json.loads(line) for line in done.stdout.splitlines()]
    live = {r["camera"] for r in records if r["event"] == "camera" and r["status"] == "live"}
    assert live == {"cam-1", "cam-2"}
    (detector,) = [r for r in records if r["event"] == "detector"]
    assert detector["backend"] == "ssdlite"
    assert "lower accuracy than YOLO" in detector["note"]
    reports = [r for r in records if r["event"] == "report"]
    assert reports
    assert reports[-1]["live"] == 2
    assert any(r["people"] for r in reports), "people walk through vtest.avi all along"
