"""Choose and build the person detector: YOLO when its weights are here, else offline SSDLite.

Backends are imported only when chosen, so choosing SSDLite never imports torch.
"""

from __future__ import annotations

import logging

from inference import models
from inference.detectors.base import Detector, DetectorUnavailable

log = logging.getLogger(__name__)

KINDS = ("auto", "yolo", "ssdlite")


def _yolo(weights: str | None, device: str | None) -> Detector:
    from inference.detectors.yolo import DEFAULT_WEIGHTS, YoloDetector

    return YoloDetector(weights or DEFAULT_WEIGHTS, device=device)


def _ssdlite() -> Detector:
    try:
        from inference.detectors.ssdlite import SsdliteDetector
    except ImportError as exc:
        raise DetectorUnavailable(f"the SSDLite detector is not available here ({exc})") from exc
    return SsdliteDetector()


def load_detector(
    kind: str = "auto", weights: str | None = None, device: str | None = None
) -> Detector:
    """The detector of `kind`: "yolo" (raises `DetectorUnavailable` if it cannot run), "ssdlite",
    or "auto": YOLO when its weights are installed and usable, else SSDLite with a warning."""
    kind = kind.strip().lower()
    if kind not in KINDS:
        raise ValueError(f"unknown detector kind {kind!r} (use {', '.join(KINDS)})")
    if kind == "yolo":
        return _yolo(weights, device)
    if kind == "ssdlite":
        if weights:
            log.warning("detector ssdlite uses its bundled model; weights %s ignored", weights)
        return _ssdlite()

    from inference.detectors.yolo import DEFAULT_WEIGHTS, MODEL_YAML_SUFFIXES

    name = weights or DEFAULT_WEIGHTS
    wanted_yaml = name.lower().endswith(tuple(MODEL_YAML_SUFFIXES))
    if wanted_yaml or models.resolve_weights(name) is not None:
        try:
            return _yolo(name, device)
        except DetectorUnavailable as exc:
            reason = str(exc)
    else:
        reason = f"YOLO weights {name} not installed in {models.models_dir()}"
    detector = _ssdlite()
    note = f": {detector.info.note}" if detector.info.note else ""
    log.warning("%s; using %s%s", reason, detector.info.model, note)
    return detector
