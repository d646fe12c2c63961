"""Ultralytics YOLO person detector: PyTorch `.pt`, ONNX `.onnx` or TensorRT `.engine` weights.

torch and ultralytics are imported only inside this module's functions, in the process that runs
the detector, so importing this module costs nothing. Before the first import of ultralytics the
environment is made offline-safe: no network checks (`YOLO_OFFLINE=1`), no pip installs
(`YOLO_AUTOINSTALL=0`) and a private settings folder with telemetry sync off.

Model files are looked up in the models registry (`inference.models`). Every one of them, `.pt`,
`.onnx`, `.engine` or model YAML, is loaded only when its SHA-256 is pinned (loading a model file
can run code), and it is loaded from a private copy of the very bytes that were hashed
(`models.VerifiedCopy`). A model YAML such as "yolo11n.yaml" (defined by the pinned "yolo11.yaml"
of the installed ultralytics) builds an untrained network: useful for plumbing and speed tests
with very low thresholds, never for accuracy.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs

from inference import models
from inference.detections import PERSON_CLASS_ID, Detections
from inference.detectors.base import DetectorInfo, DetectorUnavailable

log = logging.getLogger(__name__)

DEFAULT_WEIGHTS = "yolo11n.pt"
DEFAULT_CONFIDENCE = 0.35
DEFAULT_IOU = 0.5
MODEL_YAML_SUFFIXES = models.MODEL_YAML_SUFFIXES


def yolo_config_dir() -> Path:
    """The Ultralytics settings folder Nightwatch uses (`YOLO_CONFIG_DIR`)."""
    return Path(platformdirs.user_config_dir("nightwatch")) / "ultralytics"


def prepare_ultralytics_environment(*, offline: bool = True) -> None:
    """Set Ultralytics' environment before it is first imported; later calls only log.

    Offline: no DNS "online" probe, no GitHub look-ups. Always: no pip auto-install, and a
    `YOLO_CONFIG_DIR` whose `Ultralytics/settings.json` has `"sync": false` (no telemetry).
    An existing `YOLO_CONFIG_DIR` is kept, but its settings get `"sync": false` too.
    """
    if "ultralytics" in sys.modules:
        log.debug("ultralytics already imported; its environment is left as it is")
        return
    if offline:
        os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "0"
    config_dir = Path(os.environ.setdefault("YOLO_CONFIG_DIR", str(yolo_config_dir())))
    settings_file = config_dir / "Ultralytics" / "settings.json"
    try:
        settings: dict[str, Any] = {}
        if settings_file.exists():
            loaded = json.loads(settings_file.read_text("utf-8"))
            settings = loaded if isinstance(loaded, dict) else {}
        if settings.get("sync") is not False or not settings_file.exists():
            settings["sync"] = False
            settings_file.parent.mkdir(parents=True, exist_ok=True)
            settings_file.write_text(json.dumps(settings, indent=2) + "\n", "utf-8")
    except (OSError, ValueError) as exc:
        log.warning("cannot write Ultralytics settings %s: %s", settings_file, exc)


def _import_ultralytics(offline: bool) -> tuple[Any, Any]:
    """(torch, ultralytics.YOLO), or DetectorUnavailable when they are not installed."""
    prepare_ultralytics_environment(offline=offline)
    try:
        import torch
        from ultralytics import YOLO
    except ImportError as exc:
        raise DetectorUnavailable(
            f"the YOLO backend needs torch and ultralytics, which are not importable here ({exc}); "
            "install Nightwatch with its full dependencies or use the SSDLite detector"
        ) from exc
    return torch, YOLO


def pick_device(requested: str | None, torch: Any) -> str:
    """ "cuda:0" when CUDA is there and nothing was asked for, else "cpu"; checks a request."""
    if requested is None or requested in ("", "auto"):
        return "cuda:0" if torch.cuda.is_available() else "cpu"
    device = str(requested).strip().lower()
    if device.isdigit():
        device = f"cuda:{device}"
    if device == "cuda":
        device = "cuda:0"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DetectorUnavailable(f"device {requested!r} asked for, but CUDA is not available")
        index = int(device.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise DetectorUnavailable(
                f"device {requested!r} asked for, but only {torch.cuda.device_count()} CUDA "
                "device(s) are present"
            )
    elif device not in ("cpu", "mps"):
        raise DetectorUnavailable(f"unknown device {requested!r} (use cpu, cuda, cuda:N or auto)")
    return device


def _missing_weights_message(name: str) -> str:
    return (
        f"YOLO weights {name} not found in {models.models_dir()} and cannot be downloaded offline; "
        "import them with `nightwatch models import PATH`"
    )


def _person_class(names: dict[int, str], weights: str) -> int:
    """The model's class index for people: the class named "person", else 0 for an untrained
    model whose classes are only numbers (COCO order)."""
    for index, name in names.items():
        if str(name).strip().lower() == "person":
            return int(index)
    if all(str(name) == str(index) for index, name in names.items()):
        return PERSON_CLASS_ID
    raise DetectorUnavailable(
        f"YOLO weights {weights} have no 'person' class (classes: {sorted(names.values())[:10]})"
    )


def _check_format(path: Path) -> None:
    suffix = path.suffix.lower()
    if suffix not in models.MODEL_SUFFIXES:
        raise DetectorUnavailable(
            f"{path}: unsupported YOLO model format {suffix!r} (use .pt, .onnx, .engine or a "
            "model .yaml)"
        )


def _verified_copy(path: Path, name: str) -> models.VerifiedCopy:
    """A private copy of the pinned bytes of `path`; `DetectorUnavailable` naming the file, its
    hash and the missing pin otherwise."""
    try:
        return models.VerifiedCopy(path, name=name)
    except models.WeightsRefused as exc:
        raise DetectorUnavailable(str(exc)) from exc
    except OSError as exc:
        raise DetectorUnavailable(f"cannot copy model file {path}: {exc}") from exc


class YoloDetector:
    """Finds people with an Ultralytics YOLO model; one predict call per batch of images."""

    def __init__(
        self,
        weights: str | Path = DEFAULT_WEIGHTS,
        device: str | None = None,
        confidence: float = DEFAULT_CONFIDENCE,
        image_size: int = 640,
        *,
        iou: float = DEFAULT_IOU,
        max_detections: int = 300,
        offline: bool = True,
    ) -> None:
        if not 0.0 <= confidence <= 1.0:
            raise ValueError(f"confidence must be within 0..1, got {confidence}")
        if image_size <= 0 or image_size % 32:
            raise ValueError(f"image_size must be a positive multiple of 32, got {image_size}")
        self.confidence = float(confidence)
        self.iou = float(iou)
        self.image_size = int(image_size)
        self.max_detections = int(max_detections)

        name = str(weights)
        shown = Path(name).name
        is_yaml = Path(name).suffix.lower() in MODEL_YAML_SUFFIXES
        if is_yaml:
            path = models.resolve_model_yaml(name)
            if path is None:
                raise DetectorUnavailable(
                    f"model YAML {name} not found (looked in {models.models_dir()} and the "
                    "installed ultralytics package)"
                )
        else:
            path = models.resolve_weights(weights)
            if path is None and offline:
                raise DetectorUnavailable(_missing_weights_message(shown))
        if path is not None:
            _check_format(path)
            self._copy = _verified_copy(path, shown)  # before ultralytics is even imported

        torch, yolo_class = _import_ultralytics(offline)
        self.device = pick_device(device, torch)
        if path is None:
            path = self._download(shown)
            self._copy = _verified_copy(path, shown)
        fmt = "yaml" if is_yaml else path.suffix.lower().lstrip(".")
        if fmt == "engine" and not self.device.startswith("cuda"):
            raise DetectorUnavailable(
                f"TensorRT weights {shown} need a CUDA device, got {self.device!r}"
            )
        try:
            # The verified copy, never `path`: the file may have changed since it was hashed.
            self._model = yolo_class(str(self._copy.path), task="detect")
            self._person = _person_class(dict(self._model.names), shown)
            self._half = fmt in ("pt", "yaml") and self.device.startswith("cuda")
            # ONNX and TensorRT files are opened at the first predict: do it now, from the copy.
            self.detect([np.zeros((self.image_size, self.image_size, 3), np.uint8)])
        except DetectorUnavailable:
            raise
        except Exception as exc:  # ultralytics raises many kinds (I/O, pickle, runtime)
            raise DetectorUnavailable(f"cannot load YOLO model {path}: {exc}") from exc
        note = "untrained network built from YAML: plumbing tests only" if is_yaml else ""
        runtime = {"onnx": "ONNX Runtime", "engine": "TensorRT"}.get(fmt, "PyTorch")
        self.info = DetectorInfo(
            backend="yolo",
            model=shown,
            device=self.device,
            note=note,
            runtime=f"ultralytics, {runtime}",
        )
        log.info(
            "YOLO detector %s on %s (%s, sha256 %s, %s)",
            shown,
            self.device,
            fmt,
            self._copy.sha256[:12],
            self._copy.pin.describe(),
        )

    def _download(self, name: str) -> Path:
        """Online only: fetch a released weights file into the models dir; keep it only if its
        hash is pinned."""
        from ultralytics.utils.downloads import attempt_download_asset

        folder = models.models_dir()
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / name
        try:
            got = Path(attempt_download_asset(target))
        except Exception as exc:  # ConnectionError, HTTP errors, ...
            raise DetectorUnavailable(f"{_missing_weights_message(name)} ({exc})") from exc
        if not got.is_file():
            raise DetectorUnavailable(_missing_weights_message(name))
        described = models.describe(got)
        if not described.trusted:
            got.unlink(missing_ok=True)
            raise DetectorUnavailable(
                f"downloaded {name} has sha256 {described.sha256}, which is not pinned; "
                "deleted it. Import the file you trust with `nightwatch models import PATH` "
                f"and pin it: {models.trust_command(described.sha256)}"
            )
        return got

    def detect(self, images: list[np.ndarray]) -> list[Detections]:
        """One `Detections` per BGR image (people only, boxes clipped), from one predict call."""
        if not images:
            return []
        for i, image in enumerate(images):
            if image.ndim != 3 or image.shape[2] != 3:
                raise ValueError(f"image {i} is not an H x W x 3 BGR array: shape {image.shape}")
        results = self._model.predict(
            source=list(images),
            conf=self.confidence,
            iou=self.iou,
            imgsz=self.image_size,
            device=self.device,
            classes=[self._person],
            max_det=self.max_detections,
            quantize=16 if self._half else None,  # `half` is deprecated: a warning per call
            verbose=False,
            save=False,
        )
        out: list[Detections] = []
        for image, result in zip(images, results, strict=True):
            boxes = result.boxes
            keep = boxes.cls.cpu().numpy().astype(np.int64) == self._person
            dets = Detections(
                boxes.xyxy.cpu().numpy()[keep], boxes.conf.cpu().numpy()[keep]
            )  # class_id defaults to PERSON_CLASS_ID
            height, width = image.shape[:2]
            out.append(dets.clipped(width, height))
        return out

    def __repr__(self) -> str:
        return f"YoloDetector({self.info.model!r}, device={self.device!r})"


# -- export for OpenVINO (yolo_openvino.py runs the result) -----------------------------------


def export_openvino(weights: Path, sha256: str, image_size: int, folder: Path) -> None:
    """Export trusted `weights` with ultralytics (`format="openvino"`, fp32, batch 1, square
    `image_size`) into `folder` as model.xml, model.bin and metadata.yaml.

    The exporter writes beside its input, so it works on a copy in a scratch folder (never in
    the models dir), checked against `sha256`. Raises `DetectorUnavailable` with its reason.
    """
    import shutil
    import tempfile

    from inference.detectors.openvino_runtime import import_openvino

    import_openvino()  # first, so that ultralytics' import of openvino finds telemetry blocked
    _, yolo_class = _import_ultralytics(offline=True)
    with tempfile.TemporaryDirectory(prefix="nightwatch-export-") as scratch:
        copy = Path(scratch) / weights.name
        shutil.copyfile(weights, copy)
        if models.file_sha256(copy) != sha256:
            raise DetectorUnavailable(f"{weights} changed while it was copied for export")
        try:
            model = yolo_class(str(copy), task="detect")
            exported = Path(
                model.export(
                    format="openvino", imgsz=image_size, dynamic=False, batch=1, device="cpu"
                )
            )
            xml = next(exported.glob("*.xml"))
        except Exception as exc:  # ultralytics raises many kinds (I/O, tracing, missing packages)
            raise DetectorUnavailable(
                f"ultralytics could not export {weights.name} to OpenVINO: {exc}"
            ) from exc
        shutil.move(xml, folder / "model.xml")
        shutil.move(xml.with_suffix(".bin"), folder / "model.bin")
        shutil.move(exported / "metadata.yaml", folder / "metadata.yaml")
    log.info("exported %s to OpenVINO at %d px", weights.name, image_size)
