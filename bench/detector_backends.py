"""ms/frame and recall of the offline person detectors, against OpenCV's HOG people detector.

Runs SSDLite on OpenCV DNN and on OpenVINO (full frame; with the mirrored pass fused in; with the
2x2 tile pass; with both) and HOG (`HOGDescriptor_getDefaultPeopleDetector`, the classic
baseline) in the same process, on vtest.avi frames and on the photos of tests/photo_truth.py,
and prints ms/frame, people found (IoU >= 0.5 with the hand-checked boxes), boxes matching
nobody, and the ratios to HOG and between the two runtimes. Then batches of 8 frames (what the
pool hands a worker): OpenCV DNN's one blob, OpenVINO's per-image infer requests, and OpenVINO
with one batched request.

`--yolo` adds YOLO on the CPU (speed only: an untrained yolo11n built from its YAML, as no
trained weights exist offline): ultralytics with PyTorch, ultralytics' own loader of the
OpenVINO export, and Nightwatch's OpenVINO runner of the same export.

    .venv/bin/python bench/detector_backends.py [--frames 40] [--threads 2] [--repeat 3] [--yolo]

Figures only; nothing here is a pass/fail check.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inference.detections import Detections
from inference.detectors.ssdlite import SsdliteDetector, _OpenCvNetwork
from tests.media import media
from tests.photo_truth import PHOTOS, match

DetectFn = Callable[[np.ndarray], Detections]


@dataclass
class Row:
    name: str
    frame_ms: float  # median over vtest.avi frames
    photo_ms: float  # median over the photos
    found: int
    people: int
    unmatched: int
    empty_boxes: int  # boxes on the photos without people


def hog_detector() -> DetectFn:
    hog = cv2.HOGDescriptor()
    hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())

    def detect(image: np.ndarray) -> Detections:
        rects, weights = hog.detectMultiScale(image, winStride=(8, 8), padding=(8, 8), scale=1.05)
        if len(rects) == 0:
            return Detections.empty()
        rects = np.asarray(rects, dtype=np.float32)
        boxes = np.c_[rects[:, :2], rects[:, :2] + rects[:, 2:]]
        return Detections(boxes, np.asarray(weights, dtype=np.float32).ravel())

    return detect


def vtest_frames(count: int) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(media("vtest.avi")))
    frames = []
    try:
        step = max(1, 790 // count)
        for index in range(0, step * count, step):
            capture.set(cv2.CAP_PROP_POS_FRAMES, index)
            ok, frame = capture.read()
            if ok:
                frames.append(frame)
    finally:
        capture.release()
    return frames


def timed_ms(detect: DetectFn, images: list[np.ndarray], repeat: int) -> float:
    detect(images[0])  # warm up
    times = []
    for _ in range(repeat):
        for image in images:
            start = time.perf_counter()
            detect(image)
            times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times)


def measure(name: str, detect: DetectFn, frames: list[np.ndarray], repeat: int) -> Row:
    photos = [(p, p.load()) for p in PHOTOS]
    found = people = unmatched = empty_boxes = 0
    for photo, image in photos:
        dets = detect(image)
        if photo.has_people:
            f, u = match(photo.boxes, dets.xyxy)
            found, people, unmatched = found + f, people + len(photo.boxes), unmatched + u
        else:
            empty_boxes += len(dets)
    return Row(
        name,
        timed_ms(detect, frames, repeat),
        timed_ms(detect, [image for _, image in photos], repeat),
        found,
        people,
        unmatched,
        empty_boxes,
    )


def ssdlite_rows(frames: list[np.ndarray], threads: int, repeat: int) -> list[Row]:
    rows = []
    for label, options in (
        ("", {}),
        ("+flip", {"flip": True}),
        ("+tiles", {"tiles": True}),
        ("+tiles+flip", {"tiles": True, "flip": True}),
    ):
        for runtime in ("opencv", "openvino"):
            detector = SsdliteDetector(threads=threads, runtime=runtime, **options)
            name = f"ssdlite{label}@{detector.score_threshold} {runtime}"
            rows.append(measure(name, lambda im, d=detector: d.detect([im])[0], frames, repeat))
    return rows


def batch_ms(run: Callable[[list[np.ndarray]], object], frames: list[np.ndarray], repeat: int):
    """Median ms per frame over batches of 8 frames."""
    batches = [frames[i : i + 8] for i in range(0, len(frames) - 7, 8)]
    run(batches[0])
    times = []
    for _ in range(repeat):
        for batch in batches:
            start = time.perf_counter()
            run(batch)
            times.append((time.perf_counter() - start) * 1000.0 / len(batch))
    return statistics.median(times)


def batch_rows(frames: list[np.ndarray], threads: int, repeat: int) -> list[tuple[str, float]]:
    """The network alone (no post-processing) on batches of 8: how OpenVINO should take them."""
    from inference.detectors.openvino_runtime import IR_XML, cpu_config, import_openvino
    from inference.detectors.ssdlite import model_path

    ov_detector = SsdliteDetector(threads=threads, runtime="openvino")
    per_image = ov_detector._net
    ov = import_openvino()
    core = ov.Core()
    model = core.read_model(str(per_image.cache_folder / IR_XML))
    model.reshape({"image_tensor:0": [8, 300, 300, 3]})
    batched = core.compile_model(model, "CPU", cpu_config(threads)).create_infer_request()

    def one_request(batch: list[np.ndarray]) -> None:
        x = np.stack([cv2.resize(f, (300, 300))[:, :, ::-1] for f in batch])
        batched.infer({0: x})

    opencv = _OpenCvNetwork(model_path(), threads, None)
    return [
        ("OpenCV DNN, one blob of 8", batch_ms(opencv.forward, frames, repeat)),
        (
            f"OpenVINO, 8 requests, {per_image.streams} stream(s)",
            batch_ms(per_image.forward, frames, repeat),
        ),
        ("OpenVINO, one request of 8", batch_ms(one_request, frames, repeat)),
    ]


def yolo_rows(frames: list[np.ndarray], threads: int, repeat: int) -> list[tuple[str, float]]:
    """ms/frame of an untrained yolo11n at 640 px on three CPU runtimes (speed only)."""
    import os
    import shutil
    import tempfile

    from inference import models
    from inference.detectors.openvino_runtime import import_openvino
    from inference.detectors.yolo import YoloDetector, prepare_ultralytics_environment
    from inference.detectors.yolo_openvino import YoloOpenVinoDetector

    import_openvino()
    scratch = Path(tempfile.mkdtemp(prefix="nightwatch-bench-"))
    try:
        os.environ[models.MODELS_DIR_ENV] = str(scratch / "models")
        os.environ.setdefault("YOLO_CONFIG_DIR", str(scratch / "yolo-config"))
        prepare_ultralytics_environment(offline=True)
        import torch
        from ultralytics import YOLO

        torch.set_num_threads(threads)
        weights = scratch / "yolo11n-untrained.pt"
        YOLO("yolo11n.yaml").save(weights)
        models.import_weights(weights, sha256=models.file_sha256(weights))
        conf = 0.25
        pytorch = YoloDetector(weights.name, device="cpu", confidence=conf)
        ours = YoloOpenVinoDetector(
            weights.name, threads=threads, confidence=conf, cache_dir=scratch / "cache"
        )
        folder = scratch / "yolo11n-untrained_openvino_model"
        shutil.copytree(ours.cache_folder, folder)
        loader = YOLO(str(folder), task="detect")

        def ultralytics_openvino(image: np.ndarray) -> Detections:
            loader.predict(image, imgsz=640, conf=conf, classes=[0], verbose=False)
            return Detections.empty()

        rows = [
            (
                "ultralytics, PyTorch (rect input)",
                timed_ms(lambda im: pytorch.detect([im])[0], frames, repeat),
            ),
            (
                "ultralytics' loader of the OpenVINO export",
                timed_ms(ultralytics_openvino, frames, repeat),
            ),
            (
                f"Nightwatch OpenVINO runner, {threads} thread(s)",
                timed_ms(lambda im: ours.detect([im])[0], frames, repeat),
            ),
            ("same, batches of 8", batch_ms(ours.detect, frames, repeat)),
        ]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=40, help="vtest.avi frames to time")
    parser.add_argument("--threads", type=int, default=2, help="inference threads")
    parser.add_argument("--repeat", type=int, default=3, help="passes over the images")
    parser.add_argument("--yolo", action="store_true", help="also time YOLO on the CPU")
    args = parser.parse_args()

    cv2.setNumThreads(args.threads)
    frames = vtest_frames(args.frames)
    print(
        f"OpenCV {cv2.__version__}, {args.threads} thread(s), {len(frames)} vtest.avi frames "
        f"(768x576), {len(PHOTOS)} photos; median ms per image"
    )
    rows = [measure("hog", hog_detector(), frames, args.repeat)]
    rows += ssdlite_rows(frames, args.threads, args.repeat)
    hog = rows[0]
    header = f"{'backend':<34}{'vtest ms':>9}{'photo ms':>9}{'found':>8}{'unmatched':>10}"
    print(header + f"{'on empty':>9}{'x HOG time':>11}")
    for row in rows:
        print(
            f"{row.name:<34}{row.frame_ms:>9.1f}{row.photo_ms:>9.1f}"
            f"{f'{row.found}/{row.people}':>8}{row.unmatched:>10}{row.empty_boxes:>9}"
            f"{row.frame_ms / hog.frame_ms:>11.2f}"
        )
    by_name = {row.name: row for row in rows}
    ssd = by_name[f"ssdlite@{SsdliteDetector().score_threshold} opencv"]
    print(f"ratio on vtest.avi: HOG/SSDLite on OpenCV DNN {hog.frame_ms / ssd.frame_ms:.1f}x")
    for opencv, openvino in zip(rows[1::2], rows[2::2], strict=True):
        print(
            f"OpenVINO vs OpenCV DNN, {opencv.name.split()[0]}: "
            f"{opencv.frame_ms / openvino.frame_ms:.2f}x faster on vtest.avi, "
            f"{opencv.photo_ms / openvino.photo_ms:.2f}x on photos; found "
            f"{openvino.found} vs {opencv.found}, unmatched {openvino.unmatched} vs "
            f"{opencv.unmatched}"
        )
    print("\nbatches of 8 vtest.avi frames, the network alone, median ms per frame")
    for name, ms in batch_rows(frames, args.threads, args.repeat):
        print(f"  {name:<40}{ms:>8.1f}")
    if args.yolo:
        print("\nYOLO11n (untrained, speed only), 640 px, median ms per vtest.avi frame")
        for name, ms in yolo_rows(frames, args.threads, args.repeat):
            print(f"  {name:<46}{ms:>8.1f}")


if __name__ == "__main__":
    main()
