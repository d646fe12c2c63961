"""Detection throughput and freshness: the vision pipeline versus a naive baseline, same run.

Both sides watch the same N file cameras (vtest.avi, people walking, paced at its real 10 fps
like live cameras) for the same number of seconds with the same detector (offline SSDLite):

- pipeline: `VisionPipeline` (capture processes, motion gate, scheduler, worker pool, newest
  frame only);
- baseline: one thread per camera that reads every frame and calls its own detector on it
  (what a first attempt looks like).

Reported per side: detections per second, the share of decoded frames that were detected, and
how old a frame is when its detections come out (p50/p95): for a live camera that age is the
alarm's delay. The baseline detects every frame, so once the CPU cannot keep up it falls ever
further behind the live picture; the pipeline skips stale frames and stays current.

`--detectors ssdlite-opencv,ssdlite-openvino --no-baseline --flat-out` instead runs the pipeline
once per detector kind, one after the other in the same run, and prints the ratio of the last
to the first: the worker pool on OpenVINO against the same pool on OpenCV DNN.

    .venv/bin/python bench/pool_throughput.py [--cameras 8] [--seconds 30] [--workers 1]
        [--flat-out] [--detectors KIND,KIND...] [--no-baseline] [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from console.media import media_file
from inference.detectors.ssdlite import SsdliteDetector
from inference.pipeline import CameraSpec, PipelineConfig, TrackedFrame, VisionPipeline
from inference.scheduler import SchedulerConfig
from inference.worker_pool import DetectorSpec


def quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_pipeline(
    clip: Path, cameras: int, seconds: float, workers: int, flat_out: bool, kind: str = "ssdlite"
) -> dict[str, float]:
    ages: list[float] = []
    lock = threading.Lock()

    def on_tracks(frame: TrackedFrame) -> None:
        with lock:
            ages.append(frame.latency_s)

    specs = [CameraSpec(f"cam-{i + 1}", str(clip)) for i in range(cameras)]
    # the default policy detects a moving camera 5 times a second; flat out: as often as it can
    scheduler = SchedulerConfig(active_interval_s=0, idle_interval_s=0) if flat_out else None
    config = PipelineConfig(
        detector=DetectorSpec(kind),
        cpu_workers=workers,
        scheduler=scheduler or SchedulerConfig(),
    )
    with VisionPipeline(specs, config, on_tracks=on_tracks) as pipeline:
        deadline = time.monotonic() + 180
        while pipeline.stats()["detected"] == 0 and time.monotonic() < deadline:
            time.sleep(0.2)  # wait for the workers to load the model
        start = pipeline.stats()
        with lock:
            ages.clear()
        time.sleep(seconds)
        end = pipeline.stats()
        info = end["detector"]
    print(f"  {kind}: {info.describe() if info else 'no detector'}, {workers} worker(s)")
    busy_s = sum(w["busy_s"] for w in end["workers"]) - sum(w["busy_s"] for w in start["workers"])
    frames = sum(w["frames"] for w in end["workers"]) - sum(w["frames"] for w in start["workers"])
    detected = end["detected"] - start["detected"]
    decoded = end["decoded"] - start["decoded"]
    return {
        "detections_per_s": detected / seconds,
        "detected_share": detected / max(1, decoded),
        "age_p50_s": quantile(ages, 0.5),
        "age_p95_s": quantile(ages, 0.95),
        "worker_busy_share": busy_s / (seconds * workers),
        "worker_ms_per_frame": 1000.0 * busy_s / max(1, frames),
    }


def run_baseline(clip: Path, cameras: int, seconds: float) -> dict[str, float]:
    detectors = [SsdliteDetector() for _ in range(cameras)]
    stop = threading.Event()
    lock = threading.Lock()
    ages: list[float] = []
    counts = {"detected": 0}

    def camera(detector: SsdliteDetector) -> None:
        cap = cv2.VideoCapture(str(clip))
        fps = cap.get(cv2.CAP_PROP_FPS) or 10.0
        started = time.monotonic()
        index = 0
        while not stop.is_set():
            ok, frame = cap.read()
            if not ok:
                cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                continue
            due = started + index / fps  # when a live camera would have delivered this frame
            index += 1
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            detector.detect([frame])
            with lock:
                ages.append(time.monotonic() - due)
                counts["detected"] += 1
        cap.release()

    threads = [threading.Thread(target=camera, args=(d,)) for d in detectors]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    return {
        "detections_per_s": counts["detected"] / seconds,
        "detected_share": 1.0,
        "age_p50_s": quantile(ages, 0.5),
        "age_p95_s": quantile(ages, 0.95),
        "worker_busy_share": 1.0,
        "worker_ms_per_frame": float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--flat-out",
        action="store_true",
        help="no 0.2 s interval per camera: detect the newest frames as fast as workers can",
    )
    parser.add_argument(
        "--detectors",
        default="ssdlite",
        help="comma-separated detector kinds, one pipeline run each (default: ssdlite)",
    )
    parser.add_argument("--no-baseline", action="store_true", help="skip the naive baseline")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run the detector kinds this many times, alternating; report each figure's median",
    )
    args = parser.parse_args()
    kinds = [kind.strip() for kind in args.detectors.split(",") if kind.strip()]
    clip = media_file("vtest.avi")
    print(
        f"{args.cameras} cameras x {clip.name} at 10 fps, {args.seconds:.0f} s each side, "
        f"{args.workers} pipeline worker(s)" + (", flat out" if args.flat_out else "")
    )
    runs: dict[str, list[dict[str, float]]] = {kind: [] for kind in kinds}
    for _ in range(max(1, args.rounds)):  # alternating, so a change in machine load hits all
        for kind in kinds:
            runs[kind].append(
                run_pipeline(clip, args.cameras, args.seconds, args.workers, args.flat_out, kind)
            )
    sides = {
        kind: {key: statistics.median(run[key] for run in done) for key in done[0]}
        for kind, done in runs.items()
    }
    if args.rounds > 1:
        for kind, done in runs.items():
            rates = ", ".join(f"{run['detections_per_s']:.1f}" for run in done)
            print(f"  {kind}: detections/s per round {rates}")
    if not args.no_baseline:
        sides["baseline"] = run_baseline(clip, args.cameras, args.seconds)
    # with the baseline: the (first) pipeline over it; without: the last kind over the first
    top, bottom = (kinds[0], "baseline") if "baseline" in sides else (kinds[-1], kinds[0])
    print(f"{'':24}" + "".join(f"{name:>18}" for name in sides) + f"{'ratio':>10}")
    for key, label in (
        ("detections_per_s", "detections/s"),
        ("detected_share", "frames detected"),
        ("age_p50_s", "frame age p50 (s)"),
        ("age_p95_s", "frame age p95 (s)"),
        ("worker_busy_share", "workers busy (share)"),
        ("worker_ms_per_frame", "worker ms per frame"),
    ):
        ratio = sides[top][key] / sides[bottom][key] if sides[bottom][key] else float("nan")
        row = "".join(f"{side[key]:18.3f}" for side in sides.values())
        print(f"{label:24}{row}{ratio:10.2f}")
    print(f"ratio: {top} / {bottom}")
    if "baseline" in sides and sides[top]["age_p50_s"] > 0:
        older = sides["baseline"]["age_p50_s"] / sides[top]["age_p50_s"]
        print(f"freshness: the baseline's p50 frame is {older:.1f}x older than the pipeline's")


if __name__ == "__main__":
    main()
