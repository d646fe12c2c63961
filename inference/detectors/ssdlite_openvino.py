"""The offline SSDLite person model run by OpenVINO instead of OpenCV DNN (about 2x faster).

OpenVINO reads the TensorFlow `frozen_inference_graph.pb` itself, without TensorFlow, post-
processing included (box decoding and NMS at IoU 0.6, 100 boxes). The graph is converted once
and cached as IR, keyed by the .pb's SHA-256 (`openvino_runtime.cached_ir`).

This is only the network: `SsdliteDetector(runtime="openvino")` feeds it the same windows (full
frame, tiles, mirrored passes) as OpenCV DNN, and applies the same threshold, fusion, merging
and clipping to its rows, so the two runtimes differ only in floating-point rounding.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from inference.detectors.openvino_runtime import (
    IR_XML,
    WorkerModel,
    default_cache_dir,
    file_sha256,
    import_openvino,
    openvino_version,
    read_cached_model,
)

log = logging.getLogger(__name__)

# Bump when the conversion changes, so caches made by an older Nightwatch are not reused.
CONVERSION_VERSION = 1
INPUT_PX = 300
_INPUT = "image_tensor:0"
_OUTPUTS = ("detection_boxes:0", "detection_classes:0", "detection_scores:0", "num_detections:0")


def cache_key(pb: Path) -> str:
    return f"ssdlite-{file_sha256(pb)}-openvino-v{CONVERSION_VERSION}"


class OpenVinoSsdNet:
    """The frozen SSD graph compiled by OpenVINO for the CPU, one 300x300 image per request.

    `forward(crops)` takes BGR images of any size and returns OpenCV's DetectionOutput rows,
    (N, 7): input index, class (1: person), score, x1, y1, x2, y2 normalised to the input.
    """

    def __init__(self, pb: Path, threads: int = 1, cache_dir: Path | None = None) -> None:
        ov = import_openvino()
        core = ov.Core()

        def build(folder: Path) -> None:
            # Core.read_model reads the TensorFlow graph with the same frontend as
            # openvino.convert_model, without its telemetry; weights kept in fp32 like OpenCV
            ov.save_model(core.read_model(str(pb)), str(folder / IR_XML), compress_to_fp16=False)

        key = cache_key(pb)
        root = cache_dir if cache_dir is not None else default_cache_dir()
        self.cache_folder = root / key

        def model() -> Any:  # only when the compiled network is not cached yet
            read, _ = read_cached_model(core, key, build, root)
            read.reshape({_INPUT: [1, INPUT_PX, INPUT_PX, 3]})
            return read

        self._requests = WorkerModel(core, model, threads, _OUTPUTS, cache_key=key, cache_dir=root)
        self.runtime = f"OpenVINO {openvino_version(ov)}"
        log.info(
            "SSDLite on %s: %d thread(s), %d stream(s), IR %s",
            self.runtime,
            threads,
            self._requests.streams,
            self.cache_folder,
        )

    @property
    def streams(self) -> int:
        return self._requests.streams

    def forward(self, crops: list[np.ndarray]) -> np.ndarray:
        inputs = [
            cv2.cvtColor(cv2.resize(crop, (INPUT_PX, INPUT_PX)), cv2.COLOR_BGR2RGB)[None]
            for crop in crops
        ]  # the resize of cv2.dnn.blobFromImages, pixels kept as uint8 (the graph's input type)
        rows = []
        for index, (boxes, classes, scores, count) in enumerate(self._requests.run(inputs)):
            n = int(count[0])
            y1, x1, y2, x2 = boxes[0, :n].T
            rows.append(np.c_[np.full(n, index), classes[0, :n], scores[0, :n], x1, y1, x2, y2])
        if not rows:
            return np.empty((0, 7), dtype=np.float32)
        return np.concatenate(rows).astype(np.float32)
