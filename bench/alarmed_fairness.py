"""How long quiet cameras go unwatched while other cameras hold alarms, with and without the
scheduler's wait bound (`SchedulerConfig.max_wait_s`), in the same run.

N file cameras (vtest.avi, people walking, paced at 10 fps) on the real vision pipeline with the
offline SSDLite detector; the first K are marked alarmed, as the core does while their alarms
are open. An alarmed camera is due again the moment its result is back, so once the alarmed
cameras fill every batch handed to a free worker (8 frames per worker), they take every free
worker: with 1 worker that is 8 alarmed cameras, with 2 workers about 16. Reported per side,
for the quiet cameras: the longest gap between two of a camera's detections (the worst camera,
and the median camera), how many quiet cameras were never detected at all, and the share of
detections the alarmed cameras took.

    .venv/bin/python bench/alarmed_fairness.py [--cameras 16] [--alarmed 8] [--seconds 30]
        [--workers 1]
"""

from __future__ import annotations

import argparse
import math
import sys
import threading
import time
from itertools import pairwise
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from console.media import media_file
from inference.pipeline import CameraSpec, PipelineConfig, TrackedFrame, VisionPipeline
from inference.scheduler import SchedulerConfig
from inference.worker_pool import DetectorSpec


def run(
    clip: Path, cameras: int, alarmed: int, seconds: float, workers: int, max_wait_s: float
) -> dict[str, float]:
    ids = [f"cam-{i + 1:02d}" for i in range(cameras)]
    quiet = ids[alarmed:]
    seen: dict[str, list[float]] = {camera_id: [] for camera_id in ids}
    lock = threading.Lock()
    recording = threading.Event()

    def on_tracks(frame: TrackedFrame) -> None:
        if recording.is_set():
            with lock:
                seen[frame.ref.camera_id].append(time.monotonic())

    config = PipelineConfig(
        detector=DetectorSpec("ssdlite"),
        cpu_workers=workers,
        scheduler=SchedulerConfig(max_wait_s=max_wait_s),
    )
    specs = [CameraSpec(camera_id, str(clip)) for camera_id in ids]
    with VisionPipeline(specs, config, on_tracks=on_tracks) as pipeline:
        deadline = time.monotonic() + 180
        while pipeline.stats().detected == 0 and time.monotonic() < deadline:
            time.sleep(0.2)  # wait for the workers to load the model
        for camera_id in ids[:alarmed]:
            pipeline.set_alarmed(camera_id, True)
        time.sleep(2.0)  # let the alarmed cameras take over
        started = time.monotonic()
        recording.set()
        time.sleep(seconds)
        recording.clear()
        ended = time.monotonic()

    gaps = []
    for camera_id in quiet:
        times = [started, *seen[camera_id], ended]
        gaps.append(max(b - a for a, b in pairwise(times)))
    gaps.sort()
    total = sum(len(v) for v in seen.values())
    return {
        "worst_gap_s": gaps[-1],
        "median_gap_s": gaps[len(gaps) // 2],
        "never_detected": float(sum(1 for c in quiet if not seen[c])),
        "alarmed_share": sum(len(seen[c]) for c in ids[:alarmed]) / max(1, total),
        "detections_per_s": total / seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=16)
    parser.add_argument("--alarmed", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    if not 0 < args.alarmed < args.cameras:
        parser.error("--alarmed must be between 1 and --cameras - 1")
    clip = media_file("vtest.avi")
    guarded_wait = SchedulerConfig().max_wait_s
    print(
        f"{args.cameras} cameras x {clip.name} at 10 fps, {args.alarmed} alarmed, "
        f"{args.seconds:.0f} s each side, SSDLite, {args.workers} worker(s)"
    )
    guarded = run(clip, args.cameras, args.alarmed, args.seconds, args.workers, guarded_wait)
    greedy = run(clip, args.cameras, args.alarmed, args.seconds, args.workers, math.inf)
    print(f"{'':30}{f'wait <= {guarded_wait:g} s':>14}{'no bound':>12}{'ratio':>10}")
    for key, label in (
        ("worst_gap_s", "quiet camera, worst gap (s)"),
        ("median_gap_s", "quiet camera, median gap (s)"),
        ("never_detected", "quiet cameras never detected"),
        ("alarmed_share", "detections on alarmed cams"),
        ("detections_per_s", "detections/s"),
    ):
        ratio = guarded[key] / greedy[key] if greedy[key] else float("nan")
        print(f"{label:30}{guarded[key]:14.2f}{greedy[key]:12.2f}{ratio:10.2f}")


if __name__ == "__main__":
    main()
