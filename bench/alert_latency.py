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
- when the core's alarm manager first held a proximity finding on *this person*: a finding of
  that camera and plinth, made on a frame within the episode, whose box is the episode's
  person's (IoU >= 0.3 with the truth box, as tests/approaches.py scores the floor), after
  which an open alarm carries that person's sighting (a new alarm, a new sighting folded into
  the open one, or the person's sighting already open on it): the bench's clock when the
  manager's `ingest` returned.
The latency is the difference, and it splits in two: the video time from the episode's first
frame to the frame of that finding (the looks, the detector's recall, the rule's 0.5 s dwell:
`bench/approach_recall.py` gives its floor with every frame judged) and the time from that
frame's capture to the alarm (queue, detector, tracker, the core's hand-off). Reported per
camera count: p50/p95/max, the episodes alarmed within the episode (+1 s) out of those that
started, detections per second and how old frames were when judged. The issue's goal: p95
under 1 s with 16 cameras on 2 cores.

Until 2026-12-01 the bench paired an episode with the first *new sighting* (occurrence) on that
camera and plinth within the episode, whoever's it was: a person who came back while their
sighting was still open on the alarm made none, and the episode was paired with someone else's
later sighting (up to 2.0 s later in a one-camera run). That earlier measure is still printed,
as "any new sighting", so that the figures can be compared.

    .venv/bin/python bench/alert_latency.py [--cameras 16 64] [--seconds 120] [--workers N]
        [--background-nice 10 0]
"""

from __future__ import annotations

import argparse
import bisect
import json
import logging
import shutil
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

from console.alarms import Alarm, AlarmManager  # noqa: E402
from console.media import media_file  # noqa: E402
from console.rules.findings import Finding  # noqa: E402
from console.runtime import RuntimeOptions, SiteRuntime  # noqa: E402
from console.site_file import load_site  # noqa: E402
from console.store import Store  # noqa: E402
from inference.pipeline import TrackedFrame  # noqa: E402
from inference.priority import BACKGROUND_NICE  # noqa: E402
from tests import approaches  # noqa: E402

TRUTH = ROOT / "tests" / "data" / "courtyard_approaches.json"
PLAN = ROOT / "tests" / "data" / "example_site" / "plans" / "ground.png"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SLACK_S = 0.3  # an occurrence's first finding may fall this far outside its episode's frames
EDGE_S = 0.05  # a finding on the episode's person lies within its frames, to half a frame


@dataclass(frozen=True, slots=True)
class Held:
    video_ts: float
    box: tuple[float, float, float, float]
    at: float  # wall time the alarm manager held it


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
        # camera -> [(video ts, box, wall time)] of proximity findings an open alarm holds
        self.held: dict[str, list[Held]] = defaultdict(list)
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

    def watch_ingest(self, manager: AlarmManager) -> None:
        """Wrap the manager's `ingest` (it runs on the core thread) to stamp each proximity
        finding that an open alarm holds once the call returns."""
        ingest = manager.ingest

        def stamped(findings: list[Finding], *args: Any, **kwargs: Any) -> list[Alarm]:
            raised = ingest(findings, *args, **kwargs)
            now = time.time()
            ours = [f for f in findings if f.rule == "proximity" and f.video_ts is not None]
            if ours:
                sightings = {
                    (o.camera_id, o.track_id)
                    for a in manager.open_alarms()
                    for o in a.occurrences
                    if o.open
                }
                with self.lock:
                    for f in ours:
                        box = f.detail.box
                        if f.video_ts is None or box is None:
                            continue
                        if (f.camera_id, f.track_id) in sightings:
                            held = Held(f.video_ts, (box[0], box[1], box[2], box[3]), now)
                            self.held[f.camera_id].append(held)
            return raised

        setattr(manager, "ingest", stamped)  # noqa: B010 (this instance's calls, measured)

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
    truth = approaches.load_truth(TRUTH)
    region = json.loads(TRUTH.read_text())["image_region"]
    duration_s = truth.duration_s
    tmp = Path(tempfile.mkdtemp(prefix="nw-latency-"))
    site = load_site(site_yaml(tmp / "site", cameras, region, duration_s))
    store = Store(f"sqlite:///{tmp / 'alarms.db'}", snapshots_dir=tmp / "snapshots")
    watch = Watch()
    runtime = SiteRuntime(
        site,
        store,
        RuntimeOptions(cpu_workers=workers, background_nice=nice),
        on_alarm=watch.on_alarm,
        on_tracks=watch.on_tracks,
    )
    watch.watch_ingest(runtime.alarms)
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
            held = {c: sorted(h, key=lambda x: x.at) for c, h in watch.held.items()}
            ages = list(watch.ages)
    finally:
        runtime.stop()
        store.close()
        shutil.rmtree(tmp, ignore_errors=True)

    latencies: list[float] = []
    found_after: list[float] = []
    delivered: list[float] = []
    sighting: list[float] = []  # the earlier measure: the first new sighting, whoever's
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
            for episode in truth.episodes:
                begin = loop * duration_s + episode.start_s
                end = loop * duration_s + episode.end_s
                wall = watch.wall_of(camera_id, begin)
                if wall is None or not window[0] <= wall <= window[1] - 5:
                    continue
                started += 1
                first = next(
                    (
                        h
                        for h in held.get(camera_id, [])
                        if begin - EDGE_S <= h.video_ts <= end + EDGE_S
                        and approaches.same_person(
                            episode, h.box, h.video_ts - loop * duration_s, truth.fps
                        )
                    ),
                    None,
                )
                if first is not None and first.at - wall <= (end - begin) + 1.0:
                    latencies.append(first.at - wall)
                    judged = watch.wall_of(camera_id, first.video_ts)
                    if judged is not None:
                        found_after.append(max(0.0, first.video_ts - begin))
                        delivered.append(first.at - judged)
                else:
                    missed += 1
                anyone = [
                    at
                    for video_s, at in by_camera.get(camera_id, [])
                    if begin - SLACK_S <= video_s <= end + SLACK_S
                ]
                if anyone and min(anyone) - wall <= (end - begin) + 1.0:
                    sighting.append(min(anyone) - wall)
    return {
        "cameras": cameras,
        "episodes": started,
        "alarmed": len(latencies),
        "missed": missed,
        "p50_s": quantile(latencies, 0.5),
        "p95_s": quantile(latencies, 0.95),
        "max_s": max(latencies, default=float("nan")),
        "detections_per_s": detected / seconds,
        "frame_age_p95_s": quantile(ages, 0.95),
        "found_after_p50_s": quantile(found_after, 0.5),
        "found_after_p95_s": quantile(found_after, 0.95),
        "delivered_p50_s": quantile(delivered, 0.5),
        "delivered_p95_s": quantile(delivered, 0.95),
        "sighting_alarmed": len(sighting),
        "sighting_p50_s": quantile(sighting, 0.5),
        "sighting_p95_s": quantile(sighting, 0.95),
    }


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values) or [float("nan")]
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


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
        f"{'max s':>8}{'det/s':>8}{'age p95 s':>11}{'found p50/p95':>15}{'deliv p50/p95':>15}"
        f"{'any new sighting: alarmed, p50/p95':>36}"
    )
    for r in rows:
        print(
            f"{r['cameras']:>8}{r['nice']:>6}{r['episodes']:>10}{r['alarmed']:>9}{r['p50_s']:>8.2f}"
            f"{r['p95_s']:>8.2f}{r['max_s']:>8.2f}{r['detections_per_s']:>8.1f}"
            f"{r['frame_age_p95_s']:>11.2f}"
            f"{r['found_after_p50_s']:>9.2f}/{r['found_after_p95_s']:<5.2f}"
            f"{r['delivered_p50_s']:>9.2f}/{r['delivered_p95_s']:<5.2f}"
            f"{r['sighting_alarmed']:>25}, {r['sighting_p50_s']:.2f}/{r['sighting_p95_s']:.2f}"
        )
    print(
        "found: video time from an approach's first frame to the frame of the first finding on "
        "that person (looks, recall, the dwell); deliv: that frame's capture to the alarm on the "
        "core's model; any new sighting: the measure before 2026-12-01 (see the docstring)"
    )


if __name__ == "__main__":
    main()
