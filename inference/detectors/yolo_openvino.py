"""YOLO on the CPU through OpenVINO: the weights exported once, the export cached by their hash.

A `.pt` is exported with ultralytics (`format="openvino"`, in `yolo.export_openvino`: the only
time torch is imported); an `.onnx` is read by OpenVINO itself. The IR lands in the user's cache
folder under the weights' SHA-256 and the input size (`openvino_runtime.cached_ir`: atomic,
verified, rebuilt when corrupt). Later loads read the IR and never import torch or ultralytics.

The exported network runs directly on OpenVINO, not through ultralytics' loader of the exported
folder: that loader compiles with all cores and CPU pinning, so two pool workers on one machine
pin to the same cores, and runs one synchronous request at a time. Here each worker compiles
with its share of the cores, no pinning, and one infer request per image in flight per stream.
Pre- and post-processing follow ultralytics': letterbox to the export size (grey 114 border,
centred), RGB scaled to 0..1; per box its best class, kept when that is person above the
threshold, greedy NMS, boxes mapped back to the image and clipped.
"""

from __future__ import annotations

import ast
import logging
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import yaml

from inference import models
from inference.detections import Detections, box_iou
from inference.detectors.base import DetectorInfo, DetectorUnavailable
from inference.detectors.openvino_runtime import (
    IR_XML,
    WorkerModel,
    cached_ir,
    default_cache_dir,
    import_openvino,
    openvino_version,
    read_cached_model,
)
from inference.detectors.yolo import (
    DEFAULT_CONFIDENCE,
    DEFAULT_IOU,
    MODEL_YAML_SUFFIXES,
    _check_format,
    _missing_weights_message,
    _person_class,
    _verified_copy,
)

log = logging.getLogger(__name__)

CONVERSION_VERSION = 1
METADATA = "metadata.yaml"
_PAD_VALUE = 114
_MAX_NMS = 30000  # candidates kept for NMS, best first (as ultralytics)


def cache_key(sha256: str, image_size: int | None) -> str:
    size = f"{image_size}px" if image_size else "onnx"
    return f"yolo-{sha256}-{size}-openvino-v{CONVERSION_VERSION}"


class YoloOpenVinoDetector:
    """Finds people with YOLO weights exported to OpenVINO, on the CPU (implements `Detector`).

    `threads`: inference threads of this detector (split into as many streams). `image_size`:
    the square input a `.pt` is exported at (an `.onnx` keeps its own). Raises
    `DetectorUnavailable` saying why when the weights are missing, untrusted, not exportable
    offline, or not a YOLO detect model.
    """

    def __init__(
        self,
        weights: str | Path,
        threads: int = 1,
        confidence: float = DEFAULT_CONFIDENCE,
        image_size: int = 640,
        *,
        iou: float = DEFAULT_IOU,
        max_detections: int = 300,
        cache_dir: Path | None = None,
    ) -> None:
        if not 0.0 <= confidence <= 1.0:
            raise ValueError(f"confidence must be within 0..1, got {confidence}")
        if image_size <= 0 or image_size % 32:
            raise ValueError(f"image_size must be a positive multiple of 32, got {image_size}")
        self.confidence = float(confidence)
        self.iou = float(iou)
        self.max_detections = int(max_detections)
        name = str(weights)
        if Path(name).suffix.lower() in MODEL_YAML_SUFFIXES:
            raise DetectorUnavailable(
                f"{Path(name).name} builds an untrained network; only weights files are exported"
            )
        path = models.resolve_weights(weights)
        if path is None:
            raise DetectorUnavailable(_missing_weights_message(Path(name).name))
        _check_format(path)
        suffix = path.suffix.lower()
        if suffix == ".engine":
            raise DetectorUnavailable(f"TensorRT weights {path.name} need a CUDA device")
        # loading (or exporting) a model file can run code: only a pinned file's checked bytes
        copy = _verified_copy(path, path.name)
        self._copy = copy  # kept while a rebuild of the export may need the checked bytes
        checked, sha256 = copy.path, copy.sha256

        ov = import_openvino()
        core = ov.Core()
        if suffix == ".onnx":
            key = cache_key(sha256, None)

            def build(folder: Path) -> None:
                _onnx_to_ir(ov, core, checked, folder)

        else:
            key = cache_key(sha256, image_size)

            def build(folder: Path) -> None:
                from inference.detectors.yolo import export_openvino

                export_openvino(checked, sha256, image_size, folder)

        root = cache_dir if cache_dir is not None else default_cache_dir()
        self.cache_folder = cached_ir(key, build, root)  # the export; read only to compile
        metadata = _read_metadata(self.cache_folder)
        self._person = _person_class(metadata["names"], path.name)

        def model() -> Any:
            return read_cached_model(core, key, build, root)[0]

        self._requests = WorkerModel(core, model, threads, [0], cache_key=key, cache_dir=root)
        shape = self._requests.input_shape
        if shape.is_dynamic or len(shape) != 4 or shape[1].get_length() != 3:
            raise DetectorUnavailable(f"{path.name}: not a fixed-size image model (input {shape})")
        self.input_hw = (shape[2].get_length(), shape[3].get_length())
        self._end2end = bool(metadata.get("end2end"))
        runtime = f"OpenVINO {openvino_version(ov)}"
        self.info = DetectorInfo(backend="yolo", model=path.name, device="cpu", runtime=runtime)
        log.info(
            "YOLO %s on %s: %dx%d input, %d thread(s), %d stream(s), IR %s",
            path.name,
            self.info.runtime,
            self.input_hw[1],
            self.input_hw[0],
            threads,
            self._requests.streams,
            self.cache_folder,
        )

    def detect(self, images: list[np.ndarray]) -> list[Detections]:
        """One `Detections` per BGR image (people only, boxes clipped)."""
        if not images:
            return []
        for i, image in enumerate(images):
            if image.ndim != 3 or image.shape[2] != 3:
                raise ValueError(f"image {i} is not an H x W x 3 BGR array: shape {image.shape}")
        boxed = [letterbox(image, self.input_hw) for image in images]
        inputs = [cv2.dnn.blobFromImage(padded, 1.0 / 255.0, swapRB=True) for padded, _, _ in boxed]
        out = []
        for image, (_, scale, pad), (raw,) in zip(
            images, boxed, self._requests.run(inputs), strict=True
        ):
            boxes, scores = self._people(raw[0])
            boxes = to_image(boxes, scale, pad)
            height, width = image.shape[:2]
            out.append(Detections(boxes, scores).clipped(width, height))
        return out

    def _people(self, raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Person boxes (x1 y1 x2 y2 in input pixels) and scores from one image's output."""
        if self._end2end:  # (300, 6): x1 y1 x2 y2 score class, NMS done in the network
            keep = (raw[:, 4] > self.confidence) & (raw[:, 5].astype(np.int64) == self._person)
            found = raw[keep][: self.max_detections]
            return found[:, :4].astype(np.float32), found[:, 4].astype(np.float32)
        predictions = raw.T  # (anchors, 4 + classes): cx cy w h, class scores
        classes = predictions[:, 4:]
        best = classes.argmax(axis=1)
        scores = classes[np.arange(len(classes)), best]
        keep = (best == self._person) & (scores > self.confidence)
        xywh, scores = predictions[keep, :4], scores[keep]
        order = np.argsort(-scores, kind="stable")[:_MAX_NMS]
        xywh, scores = xywh[order], scores[order]
        boxes = np.c_[xywh[:, :2] - xywh[:, 2:] / 2, xywh[:, :2] + xywh[:, 2:] / 2]
        kept = greedy_nms(boxes, self.iou, self.max_detections)
        return boxes[kept].astype(np.float32), scores[kept].astype(np.float32)

    def __repr__(self) -> str:
        return f"YoloOpenVinoDetector({self.info.model!r}, {self.info.runtime})"


def letterbox(
    image: np.ndarray, size_hw: tuple[int, int]
) -> tuple[np.ndarray, tuple[float, float], tuple[int, int]]:
    """(the image scaled into `size_hw` keeping its aspect, centred on grey; the x and y scale
    of the rounded size; the left and top padding), as ultralytics' LetterBox and scale_boxes
    compute them."""
    height, width = image.shape[:2]
    gain = min(size_hw[0] / height, size_hw[1] / width)
    new_w, new_h = max(round(width * gain), 1), max(round(height * gain), 1)
    dw, dh = (size_hw[1] - new_w) / 2, (size_hw[0] - new_h) / 2
    if (new_w, new_h) != (width, height):
        image = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    top, bottom = round(dh - 0.1), round(dh + 0.1)
    left, right = round(dw - 0.1), round(dw + 0.1)
    padded = cv2.copyMakeBorder(
        image, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(_PAD_VALUE,) * 3
    )
    return padded, (new_w / width, new_h / height), (left, top)


def to_image(boxes: np.ndarray, scale: tuple[float, float], pad: tuple[int, int]) -> np.ndarray:
    """Boxes (x1 y1 x2 y2) from letterboxed input pixels back to the image's pixels."""
    offset = np.array([pad[0], pad[1], pad[0], pad[1]], dtype=np.float64)
    factor = np.array([scale[0], scale[1], scale[0], scale[1]], dtype=np.float64)
    return ((boxes - offset) / factor).astype(np.float32)


def greedy_nms(boxes: np.ndarray, iou: float, limit: int) -> np.ndarray:
    """Indices kept by greedy NMS over boxes sorted best first: a box is dropped when its IoU
    with a kept one exceeds `iou`; at most `limit` kept."""
    kept: list[int] = []
    alive = np.ones(len(boxes), dtype=bool)
    for i in range(len(boxes)):
        if not alive[i]:
            continue
        kept.append(i)
        if len(kept) >= limit:
            break
        rest = np.flatnonzero(alive[i + 1 :]) + i + 1
        if len(rest):
            alive[rest[box_iou(boxes[i : i + 1], boxes[rest])[0] > iou]] = False
    return np.array(kept, dtype=np.int64)


def _read_metadata(folder: Path) -> dict[str, Any]:
    """The export's class names (index -> name), input size and end-to-end flag."""
    try:
        data = yaml.safe_load((folder / METADATA).read_text("utf-8"))
        names = {int(k): str(v) for k, v in dict(data["names"]).items()}
    except (OSError, ValueError, KeyError, TypeError, yaml.YAMLError) as exc:
        raise DetectorUnavailable(f"{folder / METADATA}: no class names ({exc})") from exc
    if data.get("task", "detect") != "detect":
        raise DetectorUnavailable(f"{folder}: a {data.get('task')} model, not a detector")
    return {"names": names, "end2end": bool(data.get("end2end", False))}


def _onnx_to_ir(ov: Any, core: Any, onnx: Path, folder: Path) -> None:
    """An ultralytics ONNX export as IR, with the class names its metadata carries."""
    model = core.read_model(str(onnx))
    try:
        framework = model.get_rt_info()["framework"]
        names = ast.literal_eval(framework["names"].astype(str))
        task = framework["task"].astype(str) if "task" in framework else "detect"
        end2end = framework["end2end"].astype(str) == "True" if "end2end" in framework else False
    except (KeyError, ValueError, SyntaxError, RuntimeError) as exc:
        raise DetectorUnavailable(
            f"{onnx.name} carries no ultralytics metadata (class names): {exc}"
        ) from exc
    ov.save_model(model, str(folder / IR_XML), compress_to_fp16=False)
    (folder / METADATA).write_text(
        yaml.safe_dump({"task": task, "end2end": end2end, "names": names}), "utf-8"
    )
