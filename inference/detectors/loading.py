"""Choose and build the person detector: YOLO when its weights are here, else offline SSDLite.

Backends are imported only when chosen, so choosing SSDLite never imports torch, and nothing
imports OpenVINO until a detector that runs on it is built.
"""

from __future__ import annotations

import logging
from pathlib import Path

from inference import models
from inference.detectors.base import Detector, DetectorUnavailable

log = logging.getLogger(__name__)

# -- which runtime runs the network (OpenVINO when it can, announced) --------------------------

# kind -> what `nightwatch detect --detector KIND` says about it
KIND_HELP = {
    "auto": "YOLO when its weights are installed, else the offline SSDLite model",
    "yolo": "YOLO, on the CPU through OpenVINO when it can, else ultralytics' own runtime",
    "yolo-openvino": "YOLO exported once to OpenVINO (CPU only)",
    "yolo-ultralytics": "YOLO on ultralytics' runtime: PyTorch, ONNX Runtime or TensorRT",
    "ssdlite": "the offline SSDLite person model, on OpenVINO when it imports, else OpenCV DNN",
    "ssdlite-openvino": "the offline SSDLite person model on OpenVINO",
    "ssdlite-opencv": "the offline SSDLite person model on OpenCV DNN",
}
KINDS = tuple(KIND_HELP)


def _split(kind: str) -> tuple[str, str]:
    """("yolo" | "ssdlite" | "auto", "auto" | "openvino" | "opencv" | "ultralytics")."""
    family, _, runtime = kind.partition("-")
    return family, runtime or "auto"


def _ssdlite(runtime: str, threads: int) -> tuple[Detector, str | None]:
    """SSDLite on `runtime`, and why not on OpenVINO when "auto" had to fall back to OpenCV."""
    try:
        from inference.detectors.ssdlite import SsdliteDetector, model_path
    except ImportError as exc:
        raise DetectorUnavailable(f"the SSDLite detector is not available here ({exc})") from exc
    model_path()  # not installed: no runtime can help, say how to install it
    if runtime == "opencv":
        return SsdliteDetector(threads=threads, runtime="opencv"), None
    try:
        return SsdliteDetector(threads=threads, runtime="openvino"), None
    except DetectorUnavailable as exc:
        if runtime == "openvino":
            raise
        reason = str(exc)
    except (RuntimeError, OSError) as exc:  # OpenVINO could not convert, read or compile it
        if runtime == "openvino":
            raise DetectorUnavailable(f"OpenVINO cannot run the SSDLite model: {exc}") from exc
        reason = f"OpenVINO cannot run the SSDLite model: {exc}"
    return SsdliteDetector(threads=threads, runtime="opencv"), reason


def _cpu_only(device: str | None) -> bool:
    """YOLO would run on the CPU: asked for, or no CUDA device (checked without torch)."""
    if device is None or device.strip().lower() in ("", "auto"):
        from inference.worker_pool import cuda_device_count

        return cuda_device_count() == 0
    return device.strip().lower() == "cpu"


def _yolo(weights: str | None, device: str | None, runtime: str, threads: int) -> Detector:
    from inference.detectors.yolo import DEFAULT_WEIGHTS, MODEL_YAML_SUFFIXES, YoloDetector

    name = weights or DEFAULT_WEIGHTS
    # a YAML builds an untrained network: nothing to export; missing weights: YoloDetector says
    # how to import them (or downloads them when online)
    exportable = Path(name).suffix.lower() not in MODEL_YAML_SUFFIXES
    exportable = exportable and models.resolve_weights(name) is not None
    if runtime == "openvino" or (runtime == "auto" and exportable and _cpu_only(device)):
        if runtime == "openvino" and not _cpu_only(device):
            raise DetectorUnavailable(f"yolo-openvino runs on the CPU only, not on {device!r}")
        from inference.detectors.yolo_openvino import YoloOpenVinoDetector

        try:
            return YoloOpenVinoDetector(name, threads=threads)
        except DetectorUnavailable as exc:
            if runtime == "openvino":
                raise
            reason = str(exc)
        except (RuntimeError, OSError) as exc:  # OpenVINO could not read or compile the export
            if runtime == "openvino":
                raise DetectorUnavailable(f"OpenVINO cannot run {name}: {exc}") from exc
            reason = f"OpenVINO cannot run {name}: {exc}"
        log.warning("YOLO not run through OpenVINO: %s; using ultralytics' runtime", reason)
    return YoloDetector(name, device=device)


# -- the choice -----------------------------------------------------------------------------


def load_detector(
    kind: str = "auto",
    weights: str | None = None,
    device: str | None = None,
    *,
    threads: int | None = None,
) -> Detector:
    """The detector of `kind` (see `KIND_HELP`): "yolo…" raises `DetectorUnavailable` if YOLO
    cannot run, "ssdlite…" uses the bundled model, "auto": YOLO when its weights are installed
    and usable, else SSDLite with a warning. `threads`: inference threads for CPU runtimes."""
    kind = kind.strip().lower()
    if kind not in KINDS:
        raise ValueError(f"unknown detector kind {kind!r} (use {', '.join(KINDS)})")
    family, runtime = _split(kind)
    threads = max(1, threads or 1)
    if family == "yolo":
        return _yolo(weights, device, runtime, threads)
    if family == "ssdlite":
        if weights:
            log.warning("detector %s uses its bundled model; weights %s ignored", kind, weights)
        detector, fallback = _ssdlite(runtime, threads)
        if fallback:
            log.warning(
                "%s; SSDLite runs on %s instead (about half as fast)",
                fallback,
                detector.info.runtime,
            )
        return detector

    from inference.detectors.yolo import DEFAULT_WEIGHTS, MODEL_YAML_SUFFIXES

    name = weights or DEFAULT_WEIGHTS
    wanted_yaml = name.lower().endswith(tuple(MODEL_YAML_SUFFIXES))
    if wanted_yaml or models.resolve_weights(name) is not None:
        try:
            return _yolo(name, device, "auto", threads)
        except DetectorUnavailable as exc:
            reason = str(exc)
    else:
        reason = f"YOLO weights {name} not installed in {models.models_dir()}"
    detector, fallback = _ssdlite("auto", threads)
    note = f": {detector.info.note}" if detector.info.note else ""
    why = f" ({fallback})" if fallback else ""
    log.warning(
        "%s; using %s on %s%s%s", reason, detector.info.model, detector.info.runtime, why, note
    )
    return detector
