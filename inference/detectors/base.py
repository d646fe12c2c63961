"""The interface every person detector backend implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from inference.detections import Detections


class DetectorUnavailable(RuntimeError):
    """A backend cannot run here (weights missing, package absent); the message says the fix."""


@dataclass(frozen=True, slots=True)
class DetectorInfo:
    """What the status bar and the logs say about the detector in use."""

    backend: str  # "yolo" | "ssdlite"
    model: str  # weights file name or model name
    device: str  # "cpu", "cuda:0", ...
    note: str = ""  # e.g. "offline SSDLite person model, lower accuracy than YOLO; ..."
    runtime: str = ""  # what runs the network: "OpenVINO 2026.4.1", "OpenCV DNN 4.14.0", ...

    def describe(self) -> str:
        """'ssdlite frozen_inference_graph.pb on cpu (OpenVINO 2026.4.1)', for logs and status."""
        runtime = f" ({self.runtime})" if self.runtime else ""
        return f"{self.backend} {self.model} on {self.device}{runtime}"


class Detector(Protocol):
    """Finds people in BGR images (as OpenCV decodes them)."""

    info: DetectorInfo

    def detect(self, images: list[np.ndarray]) -> list[Detections]:
        """One `Detections` per image, boxes in that image's pixels, clipped to it."""
        ...
