"""The offline SSDLite person model served by a Triton Inference Server (detection beyond one
machine).

A museum with hundreds of cameras puts detection on a GPU server running NVIDIA Triton; the
consoles send it their frames over gRPC. This is only the network, like `ssdlite_openvino`:
`SsdliteDetector(runtime="triton", server="host:8001")` feeds it the same windows as the local
runtimes and applies the same threshold, fusion, merging and clipping to its rows, so a frame
gives the same people whether it was judged here or there.

`write_model_repository` writes the model as Triton loads it: its Python backend running the
frozen graph on OpenVINO (the only backend of the CPU build this project tests against; a GPU
server may serve the same inputs and outputs from an ONNX or TensorRT export instead), with
dynamic batching, so requests of several workers and several consoles are batched together.

Every request has a deadline (`timeout_s`): a server that does not answer in time, or at all,
raises `TritonUnreachable` naming it, and the worker pool treats that like any failed batch (the
frames go back to the scheduler, the worker is restarted and reconnects).
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from inference.detectors.base import DetectorUnavailable
from inference.detectors.openvino_runtime import INFERENCE_PRECISION

log = logging.getLogger(__name__)

MODEL_NAME = "nightwatch-ssdlite"
INPUT_PX = 300
MAX_BOXES = 100  # the graph's NMS keeps at most this many boxes
DEFAULT_TIMEOUT_S = 5.0
MAX_BATCH = 16
GRAPH_FILE = "frozen_inference_graph.pb"


class TritonUnreachable(RuntimeError):
    """The Triton server did not answer a request in time (or refused it)."""


_CONFIG = """name: "{name}"
backend: "python"
max_batch_size: {max_batch}
input [ {{ name: "IMAGE", data_type: TYPE_UINT8, dims: [ {px}, {px}, 3 ] }} ]
output [
  {{ name: "BOXES", data_type: TYPE_FP32, dims: [ {boxes}, 4 ] }},
  {{ name: "CLASSES", data_type: TYPE_FP32, dims: [ {boxes} ] }},
  {{ name: "SCORES", data_type: TYPE_FP32, dims: [ {boxes} ] }},
  {{ name: "COUNT", data_type: TYPE_FP32, dims: [ 1 ] }}
]
dynamic_batching {{ max_queue_delay_microseconds: 2000 }}
instance_group [ {{ count: {instances}, kind: KIND_CPU }} ]
parameters {{ key: "graph", value: {{ string_value: "{graph}" }} }}
"""

# model.py, run by Triton's Python backend (its own interpreter and packages, not this one's)
_MODEL = '''"""Nightwatch's SSDLite person model for Triton's Python backend (written by
inference/detectors/ssdlite_triton.py): RGB uint8 300x300 images in, the graph's boxes out."""

import json
import sys
from pathlib import Path

_PACKAGES = Path(__file__).resolve().parents[1] / "site-packages.txt"
if _PACKAGES.is_file():  # the backend's interpreter does not read PYTHONPATH
    sys.path.insert(0, _PACKAGES.read_text().strip())

import numpy as np  # noqa: E402
import openvino as ov  # noqa: E402
import triton_python_backend_utils as pb_utils  # noqa: E402

_INPUT = "image_tensor:0"
_OUTPUTS = ("detection_boxes:0", "detection_classes:0", "detection_scores:0", "num_detections:0")
_BOXES = {boxes}


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        graph = Path(__file__).resolve().parent / config["parameters"]["graph"]["string_value"]
        core = ov.Core()
        model = core.read_model(str(graph))
        model.reshape({{_INPUT: [1, {px}, {px}, 3]}})
        # the workers' precision, not the bfloat16 OpenVINO picks on CPUs that have it
        config = {{"PERFORMANCE_HINT": "THROUGHPUT", "INFERENCE_PRECISION_HINT": "{precision}"}}
        compiled = core.compile_model(model, "CPU", config)
        self.queue = ov.AsyncInferQueue(compiled)
        self.ports = [compiled.output(name) for name in _OUTPUTS]

    def _run(self, images):
        n = len(images)
        boxes = np.zeros((n, _BOXES, 4), np.float32)
        classes = np.zeros((n, _BOXES), np.float32)
        scores = np.zeros((n, _BOXES), np.float32)
        count = np.zeros((n, 1), np.float32)

        def done(request, index):
            b, c, s, k = (request.get_tensor(port).data for port in self.ports)
            kept = min(int(k[0]), _BOXES)
            boxes[index, :kept] = b[0, :kept]
            classes[index, :kept] = c[0, :kept]
            scores[index, :kept] = s[0, :kept]
            count[index, 0] = kept

        self.queue.set_callback(done)
        for index in range(n):
            self.queue.start_async({{_INPUT: images[index : index + 1]}}, index)
        self.queue.wait_all()
        return boxes, classes, scores, count

    def execute(self, requests):
        sizes = []
        images = []
        for request in requests:
            batch = pb_utils.get_input_tensor_by_name(request, "IMAGE").as_numpy()
            sizes.append(len(batch))
            images.append(batch)
        outputs = self._run(np.concatenate(images))
        responses = []
        start = 0
        for size in sizes:
            part = [o[start : start + size] for o in outputs]
            start += size
            names = ("BOXES", "CLASSES", "SCORES", "COUNT")
            tensors = [pb_utils.Tensor(name, value) for name, value in zip(names, part)]
            responses.append(pb_utils.InferenceResponse(output_tensors=tensors))
        return responses
'''


def write_model_repository(
    folder: Path,
    graph: Path,
    *,
    site_packages: Path | None = None,
    instances: int = 1,
    max_batch: int = MAX_BATCH,
) -> Path:
    """Write a Triton model repository serving `graph` (the frozen SSDLite graph, copied into
    it) in `folder`; copy the folder to the server as it is.

    `site_packages`: where the backend's interpreter finds numpy 1.x and OpenVINO when they are
    not its own (packaging/triton-test-server.sh makes such an environment). Returns `folder`.
    """
    model = folder / MODEL_NAME
    (model / "1").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(graph, model / "1" / GRAPH_FILE)  # the repository travels to the server
    (model / "config.pbtxt").write_text(
        _CONFIG.format(
            name=MODEL_NAME,
            max_batch=max_batch,
            px=INPUT_PX,
            boxes=MAX_BOXES,
            instances=instances,
            graph=GRAPH_FILE,
        ),
        encoding="utf-8",
    )
    (model / "1" / "model.py").write_text(
        _MODEL.format(boxes=MAX_BOXES, px=INPUT_PX, precision=INFERENCE_PRECISION), encoding="utf-8"
    )
    if site_packages is not None:
        (model / "site-packages.txt").write_text(f"{site_packages.resolve()}\n", encoding="utf-8")
    return folder


def _import_grpc_client() -> Any:
    try:
        import tritonclient.grpc as grpcclient
    except ImportError as exc:
        raise DetectorUnavailable(
            f"the Triton client is not installed ({exc}); install it with "
            "`pip install tritonclient[grpc]`"
        ) from exc
    return grpcclient


class TritonSsdNet:
    """The SSD graph on a Triton server, all crops of a batch in requests of up to `max_batch`.

    `forward(crops)` takes BGR images of any size and returns OpenCV's DetectionOutput rows,
    (N, 7): input index, class (1: person), score, x1, y1, x2, y2 normalised to the input.
    Raises `DetectorUnavailable` when the server or the model is not ready at start.
    """

    def __init__(
        self,
        server: str,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        model: str = MODEL_NAME,
        max_batch: int = MAX_BATCH,
    ) -> None:
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s}")
        grpcclient = _import_grpc_client()
        from tritonclient.utils import InferenceServerException

        self._client_module = grpcclient
        self._error = InferenceServerException
        self.server = server
        self.model = model
        self.timeout_s = timeout_s
        self.max_batch = max_batch
        self._client = grpcclient.InferenceServerClient(url=server)
        try:
            ready = self._client.is_model_ready(model, client_timeout=timeout_s)
            metadata = self._client.get_server_metadata(client_timeout=timeout_s)
        except InferenceServerException as exc:
            raise DetectorUnavailable(
                f"Triton server {server} did not answer: {exc.message()}"
            ) from exc
        if not ready:
            raise DetectorUnavailable(f"Triton server {server} has no ready model {model!r}")
        self.runtime = f"Triton {metadata.version}"
        log.info(
            "SSDLite on %s at %s (model %s, timeout %.1f s)", self.runtime, server, model, timeout_s
        )

    def forward(self, crops: list[np.ndarray]) -> np.ndarray:
        images = np.stack(
            [cv2.cvtColor(cv2.resize(c, (INPUT_PX, INPUT_PX)), cv2.COLOR_BGR2RGB) for c in crops]
        )  # the resize of cv2.dnn.blobFromImages, pixels kept as uint8 (the graph's input type)
        rows = []
        for start in range(0, len(images), self.max_batch):
            part = images[start : start + self.max_batch]
            boxes, classes, scores, counts = self._infer(part)
            for offset in range(len(part)):
                n = int(counts[offset, 0])
                y1, x1, y2, x2 = boxes[offset, :n].T
                index = np.full(n, start + offset)
                rows.append(np.c_[index, classes[offset, :n], scores[offset, :n], x1, y1, x2, y2])
        if not rows:
            return np.empty((0, 7), dtype=np.float32)
        return np.concatenate(rows).astype(np.float32)

    def _infer(self, images: np.ndarray) -> tuple[np.ndarray, ...]:
        grpcclient = self._client_module
        tensor = grpcclient.InferInput("IMAGE", list(images.shape), "UINT8")
        tensor.set_data_from_numpy(np.ascontiguousarray(images))
        outputs = [grpcclient.InferRequestedOutput(n) for n in ("BOXES", "CLASSES", "SCORES")]
        outputs.append(grpcclient.InferRequestedOutput("COUNT"))
        try:
            result = self._client.infer(
                self.model, [tensor], outputs=outputs, client_timeout=self.timeout_s
            )
        except self._error as exc:
            raise TritonUnreachable(
                f"Triton server {self.server} did not detect {len(images)} image(s) within "
                f"{self.timeout_s:g} s: {exc.message()}"
            ) from exc
        return tuple(result.as_numpy(n) for n in ("BOXES", "CLASSES", "SCORES", "COUNT"))

    def close(self) -> None:
        self._client.close()


def main(argv: list[str] | None = None) -> int:
    """`python -m inference.detectors.ssdlite_triton FOLDER`: write the model repository."""
    import argparse

    from inference.detectors.ssdlite import model_path

    parser = argparse.ArgumentParser(description="Write Nightwatch's Triton model repository.")
    parser.add_argument("folder", type=Path)
    parser.add_argument("--site-packages", type=Path, help="numpy 1.x and OpenVINO for Triton")
    parser.add_argument("--instances", type=int, default=1, help="model instances (CPU)")
    args = parser.parse_args(argv)
    folder = write_model_repository(
        args.folder, model_path(), site_packages=args.site_packages, instances=args.instances
    )
    print(f"Triton model repository: {folder / MODEL_NAME}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
