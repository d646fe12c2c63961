"""Alert latency: from the first frame of an approach to the alarm on the core's model, with 16
and 64 live cameras on this machine.

Every camera plays vtest.avi (the courtyard path, people walking) looped at its real 10 fps
through the live path (capture processes, motion gate, scheduler, detector workers, tracker, the
core thread's presence, rules and alarm manager, a real SQLite store), each from its own offset,
and guards its own copy of the courtyard's plinth (the image region on the path). The ground
truth is tests/data/courtyard_approaches.json: 52 episodes of a person reaching into the plinth's
region for at least 0.5 s (the proximity rule's `dwell_s`) in the 79.5 s of footage.

Per episode that starts while the bench measures (on any camera, in any pass of the loop):
- when its first frame was captured: the file plays at real pace, so the capture stamp of any
  judged frame of that camera and pass gives it (`captured_at - (ts - episode start)`);
- when the core's alarm manager first held an occurrence on that camera and plinth whose first
  finding's video time lies within the episode (a new alarm, or a person folded into the open
  one): the alarm listener's own clock.
The latency is the difference. Reported per camera count: its p50/p95/max, and the episodes
alarmed within the episode (+1 s) out of those that started, with the detections per second and
how old frames were when judged. The issue's goal: p95 under 1 s with 16 cameras on 2 cores.

    .venv/bin/python bench/alert_latency.py [--cameras 16 64] [--seconds 120] [--workers N]
        [--background-nice 10 0]
"""

from __future__ import annotations

import argparse
import bisect
import json
import logging
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from console.alarms import Alarm  # noqa: E402
from console.media import media_file  # noqa: E402
from console.runtime import RuntimeOptions, SiteRuntime  # noqa: E402
from console.site_file import load_site  # noqa: E402
from console.store import Store  # noqa: E402
from inference.pipeline import TrackedFrame  # noqa: E402
from inference.priority import BACKGROUND_NICE  # noqa: E402

TRUTH = ROOT / "tests" / "data" / "courtyard_approaches.json"
PLAN = ROOT / "tests" / "data" / "example_site" / "plans" / "ground.png"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SLACK_S = 0.3  # an occurrence's first finding may fall this far outside its episode's frames


@dataclass(frozen=True, slots=True)
class Episode:
    start_s: float
    end_s: float


def site_yaml(folder: Path, cameras: int, region: list[list[float]], duration_s: float) -> Path:
    (folder / "plans").mkdir(parents=True)
    shutil.copy(PLAN, folder / "plans" / "ground.png")
    (folder / "footage").mkdir()
    (folder / "footage" / "vtest.avi").symlink_to(media_file("vtest.avi"))
    lines = [
        "version: 1",
        "site: {name: Alert latency bench, timezone: Europe/Amsterdam}",
        "opening_hours: {"
        + ", ".join(
            f'{d}: "00:00-23:59"' for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        )
        + "}",
        "floors:",
        "  - {id: ground, name: Ground floor, plan: plans/ground.png, metres_per_pixel: 0.02}",
        "cameras:",
    ]
    for i in range(cameras):
        x, y = 40 + (i % 10) * 60, 40 + (i // 10) * 60
        offset = round((i * 7.3) % duration_s, 1)
        lines.append(
            f"  - {{id: cam-{i:02d}, name: Path {i:02d}, floor: ground, "
            f"source: 'footage/vtest.avi#t={offset}', plan_position: [{x}, {y}]}}"
        )
    lines.append("protected_objects:")
    for i in range(cameras):
        x, y = 40 + (i % 10) * 60, 40 + (i // 10) * 60
        lines.append(
            f"  - {{id: plinth-{i:02d}, name: Plinth {i:02d}, floor: ground, kind: sculpture, "
            f"value: high, plan_polygon: [[{x + 10}, {y + 10}], [{x + 30}, {y + 10}], "
            f"[{x + 30}, {y + 30}], [{x + 10}, {y + 30}]], min_distance_m: 1.0, "
            f"image_regions: {{cam-{i:02d}: {json.dumps(region)}}}}}"
        )
    lines += [
        "rules:",
        "  proximity: {enabled: true, dwell_s: 0.5}",
        "  after_hours: {enabled: false}",
        "  loitering: {enabled: false}",
        "  restricted: {enabled: false}",
        "  object_missing: {enabled: false}",
        "  camera_health: {enabled: false}",
        "guards:",
        "  - {id: g-anna, name: Anna, post: Main hall}",
    ]
    path = folder / "site.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


class Watch:
    """What the live path did, stamped as it happened (called on the pipeline's and the core's
    threads)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        # camera -> [(video ts, capture wall time)] of judged frames, in order
        self.frames: dict[str, list[tuple[float, float]]] = defaultdict(list)
        self.ages: list[float] = []
        # (camera, occurrence's first video time) -> wall time the manager first held it
        self.occurrences: dict[tuple[str, float], float] = {}
        self.measuring = False

    def on_tracks(self, frame: TrackedFrame) -> None:
        with self.lock:
            self.frames[frame.ref.camera_id].append((frame.ref.ts, frame.ref.captured_at))
            if self.measuring:
                self.ages.append(frame.latency_s)

    def on_alarm(self, alarm: Alarm) -> None:
        now = time.time()
        with self.lock:
            for seen in alarm.occurrences:
                if seen.video_start_s is None or not alarm.subject_id.startswith("plinth-"):
                    continue
                key = (seen.camera_id, round(seen.video_start_s, 2))
                self.occurrences.setdefault(key, now)

    def wall_of(self, camera_id: str, video_s: float) -> float | None:
        """When the frame at `video_s` of this camera was captured (its nearest judged frame,
        within 2 s of video, moved by the difference: the file plays at real pace)."""
        frames = self.frames.get(camera_id, [])
        at = bisect.bisect_left(frames, (video_s, 0.0))
        near = [frames[i] for i in (at - 1, at) if 0 <= i < len(frames)]
        near = [f for f in near if abs(f[0] - video_s) <= 2.0]
        if not near:
            return None
        ts, captured = min(near, key=lambda f: abs(f[0] - video_s))
        return captured - (ts - video_s)


def measure(cameras: int, seconds: float, workers: int | None, nice: int) -> dict[str, Any]:
    truth = json.loads(TRUTH.read_text())
    episodes = [Episode(float(e["start_s"]), float(e["end_s"])) for e in truth["episodes"]]
    duration_s = truth["frames"] / truth["fps"]
    tmp = Path(tempfile.mkdtemp(prefix="nw-latency-"))
    site = load_site(site_yaml(tmp / "site", cameras, truth["image_region"], duration_s))
    store = Store(f"sqlite:///{tmp / 'alarms.db'}", snapshots_dir=tmp / "snapshots")
    watch = Watch()
    runtime = SiteRuntime(
        site,
        store,
        RuntimeOptions(cpu_workers=workers, background_nice=nice),
        on_alarm=watch.on_alarm,
        on_tracks=watch.on_tracks,
    )
    runtime.start()
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:  # every camera judged: the workers are up
            with watch.lock:
                if len(watch.frames) >= cameras:
                    break
            time.sleep(0.5)
        time.sleep(5)
        before = runtime.pipeline.stats().detected
        with watch.lock:
            watch.measuring = True
        window = (time.time(), time.time() + seconds)
        time.sleep(seconds)
        detected = runtime.pipeline.stats().detected - before
        time.sleep(3)  # the last episodes' alarms
        with watch.lock:
            watch.measuring = False
            frames = {c: sorted(f) for c, f in watch.frames.items()}
            watch.frames = defaultdict(list, frames)
            occurrences = dict(watch.occurrences)
            ages = list(watch.ages)
    finally:
        runtime.stop()
        store.close()
        shutil.rmtree(tmp, ignore_errors=True)

    latencies: list[float] = []
    started = missed = 0
    by_camera: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for (camera_id, video_s), at in occurrences.items():
        by_camera[camera_id].append((video_s, at))
    for camera_id, frames_seen in frames.items():
        if not frames_seen:
            continue
        first_pass = int(frames_seen[0][0] // duration_s)
        last_pass = int(frames_seen[-1][0] // duration_s)
        for loop in range(first_pass, last_pass + 1):
            for episode in episodes:
                begin = loop * duration_s + episode.start_s
                end = loop * duration_s + episode.end_s
                wall = watch.wall_of(camera_id, begin)
                if wall is None or not window[0] <= wall <= window[1] - 5:
                    continue
                started += 1
                found = [
                    at
                    for video_s, at in by_camera.get(camera_id, [])
                    if begin - SLACK_S <= video_s <= end + SLACK_S
                ]
                if found and min(found) - wall <= (end - begin) + 1.0:
                    latencies.append(min(found) - wall)
                else:
                    missed += 1
    ordered = sorted(latencies) or [float("nan")]
    ages_sorted = sorted(ages) or [float("nan")]
    return {
        "cameras": cameras,
        "episodes": started,
        "alarmed": len(latencies),
        "missed": missed,
        "p50_s": statistics.median(ordered),
        "p95_s": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
        "max_s": ordered[-1],
        "detections_per_s": detected / seconds,
        "frame_age_p95_s": ages_sorted[min(len(ages_sorted) - 1, int(0.95 * len(ages_sorted)))],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--workers", type=int, default=None, help="detector workers (default)")
    parser.add_argument(
        "--background-nice",
        type=int,
        nargs="+",
        default=[BACKGROUND_NICE],
        help="the helper processes' CPU priority below the console, one run each (e.g. 10 0)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    rows = [
        {**measure(n, args.seconds, args.workers, nice), "nice": nice}
        for n in args.cameras
        for nice in args.background_nice
    ]
    print(f"\nalert latency, {args.seconds:.0f} s per camera count, vtest.avi looped at 10 fps")
    print(
        f"{'cameras':>8}{'nice':>6}{'episodes':>10}{'alarmed':>9}{'p50 s':>8}{'p95 s':>8}"
        f"{'max s':>8}{'det/s':>8}{'age p95 s':>11}"
    )
    for r in rows:
        print(
            f"{r['cameras']:>8}{r['nice']:>6}{r['episodes']:>10}{r['alarmed']:>9}{r['p50_s']:>8.2f}"
            f"{r['p95_s']:>8.2f}{r['max_s']:>8.2f}{r['detections_per_s']:>8.1f}"
            f"{r['frame_age_p95_s']:>11.2f}"
        )


if __name__ == "__main__":
    main()
