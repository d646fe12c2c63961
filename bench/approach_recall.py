"""Recall of approaches to a protected object, and false alarms, on real footage.

`nightwatch replay` of the courtyard test site (vtest.avi, people walking; the plinth's image
region lies on their path) against the ground truth of tests/data/courtyard_approaches.json
(made by bench/courtyard_truth.py: every episode of a person reaching into the plinth's region for
at least 0.5 s, the site's `dwell_s`). Scored as tests/approaches.py says: an episode is found
when a proximity finding names that person while it lasts; a finding is false when its box is
nobody's within the 1.5 m envelope; the alarm-level figures (an alarm's span overlaps the
episode, an alarm meeting nobody in the envelope) are given too.

Two cadences: the replay's default `--detect-every-s 0.2` (also what the live scheduler gives a
camera with people in view while the workers keep up: `active_interval_s`), and the live
scheduler's cadence on a busy machine, worked out with the real `DetectionScheduler` on a fake
clock: `--cameras` cameras with people in view sharing `--workers` CPU workers, the detector's
time per frame measured here. `--code DIR` measures another checkout (e.g. the main branch as it
was before a change) with the same ground truth and scoring.

    .venv/bin/python bench/approach_recall.py [--every 0.2 0.5] [--cameras 16] [--workers 1]
        [--detect-ms 31] [--code DIR]

Measured 2026-11-30 (before: main at 83e6909; after: the same with this change merged), 52
episodes of which 22 last at most 1.5 s, no false finding or false span in any run:

| look every | found before -> after | short ones | episodes under an occurrence |
| --- | --- | --- | --- |
| 0.2 s | 44 -> 47 | 15 -> 18 | 51 -> 51 |
| 0.5 s | 26 -> 38 | 6 -> 12 | 38 -> 47 |
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from math import nan
from pathlib import Path
from types import ModuleType
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve()
REPO = HERE.parents[1]
APPROACHES = REPO / "tests" / "approaches.py"
START = "2026-11-28T11:00"  # opening hours: the proximity rule alone speaks


def load_approaches() -> ModuleType:
    """tests/approaches.py of this checkout, whatever checkout `console` comes from."""
    spec = importlib.util.spec_from_file_location("nightwatch_approaches", APPROACHES)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def courtyard(folder: Path) -> Path:
    """The courtyard test site with the footage linked in (as tests/sites.py builds it)."""
    sys.path.insert(0, str(REPO))
    from console.media import media_file

    site = folder / "site"
    shutil.copytree(REPO / "tests" / "data" / "courtyard_site", site)
    (site / "footage").mkdir()
    (site / "footage" / "vtest.avi").symlink_to(media_file("vtest.avi"))
    (site / "plans").mkdir()
    plan = REPO / "tests" / "data" / "example_site" / "plans" / "ground.png"
    shutil.copy(plan, site / "plans" / "ground.png")
    return site / "site.yaml"


def detect_seconds_per_frame(frames: int = 12) -> float:
    """The offline detector's time per vtest.avi frame on this machine (one thread)."""
    import cv2

    from console.media import media_file
    from inference.detectors.ssdlite import SsdliteDetector

    detector = SsdliteDetector(threads=1)
    capture = cv2.VideoCapture(str(media_file("vtest.avi")))
    images = [capture.read()[1] for _ in range(frames)]
    capture.release()
    detector.detect(images[:1])
    started = time.perf_counter()
    for image in images:
        detector.detect([image])
    return (time.perf_counter() - started) / frames


def live_cadence(cameras: int, workers: int, detect_s: float, seconds: float = 60.0) -> float:
    """Median seconds between one camera's detections under the live scheduler: `cameras`
    cameras at 10 fps, all with people in view, `workers` workers each taking a batch of up to
    8 frames at `detect_s` a frame, the dispatch loop polling every 10 ms (as the pipeline)."""
    import numpy as np

    from inference.frame_ring import FrameRef
    from inference.scheduler import CameraView, DetectionScheduler, SchedulerConfig

    ids = [f"cam-{i}" for i in range(cameras)]
    scheduler = DetectionScheduler(ids, SchedulerConfig())
    for camera_id in ids:
        scheduler.set_has_tracks(camera_id, True)
    busy_until = [0.0] * workers
    jobs: list[list[str]] = [[] for _ in range(workers)]
    looked: list[float] = []
    for step in range(int(seconds * 100)):
        now = step / 100
        for w in range(workers):
            if jobs[w] and busy_until[w] <= now:
                for camera_id in jobs[w]:
                    scheduler.done(camera_id)
                jobs[w] = []
        idle = [w for w in range(workers) if not jobs[w]]
        if not idle:
            continue
        seq = int(now * 10) + 1
        views = {c: CameraView(FrameRef(c, seq % 8, seq, seq / 10), now) for c in ids}
        refs = scheduler.pick(now, views, capacity=8 * len(idle))
        for i, w in enumerate(idle):
            batch = refs[i :: len(idle)]
            if batch:
                jobs[w] = [r.camera_id for r in batch]
                busy_until[w] = now + detect_s * len(batch)
                looked += [now for r in batch if r.camera_id == ids[0]]
    return float(np.median(np.diff(looked)))


def child(site: Path, every_s: float, out: Path) -> int:
    """Runs in the measured checkout: replay with every proximity finding, as JSON."""
    logging.basicConfig(level=logging.ERROR)
    approaches = load_approaches()
    start = datetime.fromisoformat(START).replace(tzinfo=ZoneInfo("Europe/Amsterdam"))
    result = approaches.replay_proximity(site, start, every_s)
    out.write_text(approaches.replay_findings_json(result))
    return 0


def measure(code: Path, site: Path, every_s: float, folder: Path) -> tuple[object, list[dict]]:
    """One cadence on one checkout: the findings (in process, the same runtime and frames) and
    `nightwatch replay`'s own events, which the alarm-level figures are scored on."""
    env = {**os.environ, "PYTHONPATH": str(code), "YOLO_OFFLINE": "1"}
    found = folder / f"findings-{every_s}.json"
    subprocess.run(
        [sys.executable, str(HERE), "--child", str(site), str(every_s), str(found)],
        cwd=code,
        env=env,
        check=True,
    )
    events = folder / f"events-{every_s}.jsonl"
    db = folder / f"alarms-{every_s}.db"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "console.cli",
            "replay",
            str(site),
            "--events",
            str(events),
            "--start",
            START,
            "--db",
            f"sqlite:///{db}",
            "--detect-every-s",
            str(every_s),
            "--detector",
            "ssdlite",
            "--workers",
            "1",
        ],
        cwd=code,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"nightwatch replay failed: {done.stderr[-2000:]}")
    approaches = sys.modules["nightwatch_approaches"]
    result = approaches.replay_findings_from_json(found.read_text())
    cli_alarms = [json.loads(line) for line in events.read_text().splitlines()]
    return result, cli_alarms


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cameras", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--detect-ms", type=float, help="detector time per frame (default: measured here)"
    )
    parser.add_argument("--code", type=Path, default=REPO, help="checkout to measure")
    parser.add_argument("--every", type=float, nargs="*", help="cadences (default: 0.2, live)")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(Path(args.child[0]), float(args.child[1]), Path(args.child[2]))

    approaches = load_approaches()
    truth = approaches.load_truth()
    sys.path.insert(0, str(REPO))
    detect_s = args.detect_ms / 1000 if args.detect_ms else detect_seconds_per_frame()
    cadence = live_cadence(args.cameras, args.workers, detect_s)
    live = max(0.1, round(cadence, 1))
    print(
        f"detector {detect_s * 1000:.1f} ms a frame; live scheduler, {args.cameras} cameras with "
        f"people on {args.workers} worker(s): a look every {cadence:.2f} s "
        f"(replayed as --detect-every-s {live})"
    )
    cadences = args.every or sorted({0.2, live})
    print(f"code: {args.code.resolve()}; ground truth: {len(truth.episodes)} episodes, "
          f"{len(truth.short())} of at most 1.5 s")  # fmt: skip
    print("| every | found | short (<=1.5 s) found | false per hour | alarms | episodes "
          "under an alarm or occurrence | false spans per hour | first finding after the "
          "episode's start, p50 / p95 / max (video s) |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        site = courtyard(Path(tmp))
        for every_s in cadences:
            result, cli_alarms = measure(args.code.resolve(), site, every_s, Path(tmp))
            result = approaches.ReplayResult(result.findings, tuple(cli_alarms), 0)
            s = approaches.scores(truth, result)
            delays = sorted(approaches.finding_delays(truth, result.findings).values()) or [nan]
            p95 = delays[min(len(delays) - 1, int(0.95 * len(delays)))]
            print(
                f"| {every_s} s | {s['found']}/{s['episodes']} | {s['short_found']}/{s['short']} "
                f"| {s['false_per_hour']:.0f} ({s['false_findings']} findings) | {s['alarms']} "
                f"({s['spans']} spans) "
                f"| {s['under_alarms']}/{s['episodes']} | {s['false_alarms_per_hour']:.0f} "
                f"| {statistics.median(delays):.2f} / {p95:.2f} / {delays[-1]:.2f} |"
            )
            missed = [e for e in truth.episodes
                      if e.id not in approaches.found_episodes(truth, result.findings)]  # fmt: skip
            print("  missed: " + ", ".join(f"{e.start_s:.1f}-{e.end_s:.1f} s" for e in missed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
