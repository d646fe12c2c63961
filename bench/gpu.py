"""YOLO on a GPU: how many cameras one card fully detects, and what the pool costs on top of
ultralytics' own batched predict, in the same run.

Three parts, all on the same real frames (vtest.avi: people walking, 768x576), at 640 px:

1. ultralytics' own `YOLO.predict` on batches of 1, 16 and 64 frames, FP32 and FP16: the
   ceiling, frames per second of the model alone.
2. `YoloDetector.detect` (what a pool worker calls) on the same batches: the cost of our
   wrapper (person filter, boxes copied back, clipping) as a ratio of the ceiling.
3. The live path: `VisionPipeline` with 64 and 128 file cameras paced at their real 10 fps
   (capture processes, motion gate, scheduler, frame ring, one worker per GPU, tracker),
   flat out. Reported: detections per second, frame age p50/p95 and the share of decoded
   frames that were detected; "cameras at 15 fps" is detections/s / 15, the number of
   15 fps cameras the pool would fully detect at that rate.

No trained weights can be fetched on these machines, so the network is the untrained one built
from yolo11n.yaml (same layers and cost as the trained yolo11n; its boxes mean nothing, and the
box count behind NMS differs from a trained model's). TensorRT is tried when its Python package
is installed; when it is not, the report says so.

    python bench/gpu.py [--seconds 20] [--cameras 64,128] [--max-batch 8,32]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inference.detectors.yolo import YoloDetector, prepare_ultralytics_environment
from inference.pipeline import CameraSpec, PipelineConfig, TrackedFrame, VisionPipeline
from inference.scheduler import SchedulerConfig
from inference.worker_pool import DetectorSpec

MODEL = "yolo11n.yaml"
IMAGE_SIZE = 640


def clip_path() -> Path:
    folder = Path(os.environ.get("NIGHTWATCH_MEDIA", Path.home() / ".cache/nightwatch/media"))
    path = folder / "vtest.avi"
    if not path.is_file():
        raise SystemExit(f"{path}: not found (set NIGHTWATCH_MEDIA to the folder of vtest.avi)")
    return path


def read_frames(path: Path, count: int) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames: list[np.ndarray] = []
    while len(frames) < count:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    if not frames:
        raise SystemExit(f"{path}: no frame could be decoded")
    return frames


def frames_per_s(call: object, batch: list[np.ndarray], rounds: int, sync: object) -> float:
    for _ in range(3):  # warm-up: kernels chosen, memory allocated
        call(batch)  # type: ignore[operator]
    sync()  # type: ignore[operator]
    started = time.perf_counter()
    for _ in range(rounds):
        call(batch)  # type: ignore[operator]
    sync()  # type: ignore[operator]
    return rounds * len(batch) / (time.perf_counter() - started)


def model_alone(frames: list[np.ndarray], rounds: int, device: str, sizes: tuple[int, ...]) -> None:
    import torch
    from ultralytics import YOLO

    on_gpu = device.startswith("cuda")
    sync = torch.cuda.synchronize if on_gpu else (lambda: None)
    where = torch.cuda.get_device_name(0) if on_gpu else "the CPU"
    print(f"\n1-2. {MODEL} at {IMAGE_SIZE} px on {where}: frames/s")
    print(f"{'batch':>6}{'ultra FP32':>12}{'ultra FP16':>12}{'ours FP16':>12}{'ours/ultra':>12}")
    model = YOLO(MODEL, task="detect")
    ours = YoloDetector(MODEL, device=device, image_size=IMAGE_SIZE)
    for size in sizes:
        batch = (frames * (size // len(frames) + 1))[:size]
        rates = []
        for half in (False, on_gpu):

            def predict(images: list[np.ndarray], half: bool = half) -> object:
                return model.predict(
                    list(images),
                    imgsz=IMAGE_SIZE,
                    quantize=16 if half else None,
                    device=device,
                    verbose=False,
                )

            rates.append(frames_per_s(predict, batch, rounds, sync))
        mine = frames_per_s(ours.detect, batch, rounds, sync)
        print(f"{size:>6}{rates[0]:>12.0f}{rates[1]:>12.0f}{mine:>12.0f}{mine / rates[1]:>12.2f}")


def tensorrt_note() -> None:
    if importlib.util.find_spec("tensorrt") is None:
        print("\nTensorRT: the tensorrt package is not installed here; no engine was built")
        return
    from ultralytics import YOLO

    started = time.perf_counter()
    engine = YOLO(MODEL, task="detect").export(
        format="engine", imgsz=IMAGE_SIZE, quantize=16, batch=16, dynamic=False, device=0
    )
    print(f"\nTensorRT engine built in {time.perf_counter() - started:.0f} s: {engine}")


def live_path(
    clip: Path, cameras: int, max_batch: int, seconds: float, device: str
) -> dict[str, float]:
    ages: list[float] = []
    lock = threading.Lock()

    def on_tracks(frame: TrackedFrame) -> None:
        with lock:
            ages.append(frame.latency_s)

    config = PipelineConfig(
        detector=DetectorSpec("yolo", weights=MODEL, device=device),
        max_batch=max_batch,
        scheduler=SchedulerConfig(active_interval_s=0, idle_interval_s=0, aim_for_coverage=False),
    )
    specs = [CameraSpec(f"cam-{i + 1}", str(clip)) for i in range(cameras)]
    with VisionPipeline(specs, config, on_tracks=on_tracks) as pipeline:
        deadline = time.monotonic() + 120
        while pipeline.stats().detected < cameras and time.monotonic() < deadline:
            time.sleep(0.2)  # the worker loads the model, the cameras open
        start = pipeline.stats()
        with lock:
            ages.clear()
        time.sleep(seconds)
        end = pipeline.stats()
    detected = end.detected - start.detected
    decoded = end.decoded - start.decoded
    ordered = sorted(ages) or [float("nan")]
    return {
        "detections_per_s": detected / seconds,
        "detected_share": detected / max(1, decoded),
        "age_p50_s": ordered[len(ordered) // 2],
        "age_p95_s": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--cameras", default="64,128")
    parser.add_argument("--max-batch", default="8,32")
    parser.add_argument(
        "--smoke", action="store_true", help="on the CPU, tiny: checks the script, measures nothing"
    )
    args = parser.parse_args()
    prepare_ultralytics_environment(offline=True)
    import torch

    device = "cpu" if args.smoke else "cuda:0"
    if not args.smoke and not torch.cuda.is_available():
        raise SystemExit("no CUDA device here: this benchmark needs one (or --smoke)")
    clip = clip_path()
    frames = read_frames(clip, 64)
    print(f"torch {torch.__version__}, {len(frames)} frames of {clip.name} {frames[0].shape}")
    model_alone(
        frames, 1 if args.smoke else args.rounds, device, (1,) if args.smoke else (1, 16, 64)
    )
    if not args.smoke:
        tensorrt_note()
    print(f"\n3. the live path, {MODEL} on {device}, cameras at 10 fps, {args.seconds:.0f} s")
    print(
        f"{'cameras':>8}{'batch':>6}{'det/s':>9}{'cams@15fps':>11}{'detected':>10}"
        f"{'age p50':>9}{'age p95':>9}"
    )
    for cameras in (int(c) for c in args.cameras.split(",")):
        for max_batch in (int(b) for b in args.max_batch.split(",")):
            got = live_path(clip, cameras, max_batch, args.seconds, device)
            print(
                f"{cameras:>8}{max_batch:>6}{got['detections_per_s']:>9.0f}"
                f"{got['detections_per_s'] / 15:>11.1f}{got['detected_share']:>10.2f}"
                f"{got['age_p50_s']:>9.3f}{got['age_p95_s']:>9.3f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
