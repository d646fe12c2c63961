"""Who to blur in each frame of an exported clip, and who stays sharp (the incident's subject).

Two sources, the first that covers a frame:

- the boxes kept with the clip (its overlay: the tracked people of that camera, sampled up to
  five times a second while the clip was collected, with the track ids of the alarm's subject).
  A frame takes the sample nearest in time within `COVER_S`; the subject's tracks stay sharp,
  every other tracked person is blurred;
- else the offline person detector the console ships (SSDLite, OpenVINO or OpenCV, bundled
  model, with its tile pass for small people) on the frame itself, at most every
  `DETECT_EVERY_S` (the frames between take the last answer, as they would a tracked sample;
  the detector costs about ten times the decoding and encoding): every person it finds is
  blurred, but one whose box overlaps the
  subject's tracked box of a nearby moment (within `SUBJECT_NEAR_S`) stays sharp. With no
  overlay at all the subject is unknown and every person found is blurred.

Every box is widened by `MARGIN` of its size each side (people move between samples). Limits
(said in the export): a person neither the tracker nor the detector found stays sharp (the
detector misses small, distant and cut-off people), and a bystander inside the subject's box
stays sharp there.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from inference.clip_blur import Box, FramePeople
from inference.detectors.base import Detector, DetectorUnavailable

__all__ = ["ClipPeople", "PersonFinder"]

COVER_S = 0.3  # a frame this close to an overlay sample takes its boxes
DETECT_EVERY_S = 0.2  # frames without a sample: the detector at most five times a second
SUBJECT_NEAR_S = 1.0  # the subject's tracked box this close in time marks it in a detector frame
SUBJECT_IOU = 0.3
MARGIN = 0.15
DETECTOR_SCORE = 0.3  # lower than live detection: a missed bystander stays recognisable


def widened(box: Box, margin: float = MARGIN) -> list[float]:
    x1, y1, x2, y2 = (float(v) for v in box)
    mx, my = (x2 - x1) * margin, (y2 - y1) * margin
    return [x1 - mx, y1 - my, x2 + mx, y2 + my]


def iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


class PersonFinder:
    """The bundled SSDLite detector, loaded on first use (OpenVINO, else OpenCV DNN), once per
    export. `unavailable` says why it cannot run (then frames without tracked boxes cannot be
    blurred, and the clip is not exported)."""

    def __init__(self) -> None:
        self._detector: Detector | None = None
        self.unavailable: str | None = None
        self.runtime = ""

    def find(self, image: np.ndarray) -> list[list[float]]:
        detector = self._load()
        if detector is None:
            raise DetectorUnavailable(self.unavailable or "no person detector")
        [found] = detector.detect([image])
        return [[float(v) for v in box] for box in found.xyxy]

    def _load(self) -> Detector | None:
        if self._detector is not None or self.unavailable is not None:
            return self._detector
        try:
            from inference.detectors.ssdlite import SsdliteDetector
        except ImportError as exc:
            self.unavailable = f"the SSDLite detector is not installed ({exc})"
            return None
        errors = []
        for runtime in ("openvino", "opencv"):
            try:
                detector = SsdliteDetector(DETECTOR_SCORE, threads=1, tiles=True, runtime=runtime)
            except (DetectorUnavailable, RuntimeError, OSError, ValueError) as exc:
                errors.append(f"{runtime}: {exc}")
                continue
            self._detector, self.runtime = detector, runtime
            return detector
        self.unavailable = "the person detector cannot run: " + "; ".join(errors)
        return None


@dataclass
class ClipPeople:
    """`people(t, frame)` for `inference.clip_blur.blur_clip`, from a clip's overlay (may be
    None) and a `PersonFinder`; counts which frames took which source."""

    overlay: dict[str, Any] | None
    clip_start: float  # wall seconds of the clip's time 0
    finder: PersonFinder
    tracked_frames: int = 0
    detected_frames: int = 0
    _times: list[float] = field(default_factory=list, repr=False)
    _at: dict[float, list[tuple[int, list[float]]]] = field(default_factory=dict, repr=False)
    _subject_times: list[float] = field(default_factory=list, repr=False)
    _subject_at: dict[float, list[list[float]]] = field(default_factory=dict, repr=False)
    _subjects: frozenset[int] = frozenset()
    _detected: tuple[float, list[list[float]]] | None = None  # (wall, boxes) of the last run

    def __post_init__(self) -> None:
        overlay = self.overlay or {}
        self._subjects = frozenset(int(t) for t in overlay.get("tracks", ()))
        samples: dict[float, list[tuple[int, list[float]]]] = defaultdict(list)
        subject: dict[float, list[list[float]]] = defaultdict(list)
        for row in overlay.get("boxes", ()):
            if not isinstance(row, list | tuple) or len(row) != 6:
                continue
            t, track, *box = row
            samples[float(t)].append((int(track), [float(v) for v in box]))
            if int(track) in self._subjects:
                subject[float(t)].append([float(v) for v in box])
        self._at, self._times = dict(samples), sorted(samples)
        self._subject_at, self._subject_times = dict(subject), sorted(subject)

    @property
    def knows_subject(self) -> bool:
        return bool(self._subjects)

    def _scaled(self, box: Sequence[float], image: np.ndarray) -> list[float]:
        size = (self.overlay or {}).get("size")
        if not isinstance(size, list | tuple) or len(size) != 2 or not all(size):
            return list(box)
        sx, sy = image.shape[1] / float(size[0]), image.shape[0] / float(size[1])
        return [box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy]

    @staticmethod
    def _nearest(times: list[float], wall: float, within: float) -> float | None:
        i = bisect.bisect_left(times, wall)
        near = [times[j] for j in (i - 1, i) if 0 <= j < len(times)]
        best = min(near, key=lambda x: abs(x - wall), default=None)
        return best if best is not None and abs(best - wall) <= within else None

    def __call__(self, t: float, image: np.ndarray) -> FramePeople:
        wall = self.clip_start + t
        sample = self._nearest(self._times, wall, COVER_S)
        if sample is not None:
            self.tracked_frames += 1
            blur: list[list[float]] = []
            sharp: list[list[float]] = []
            for track, box in self._at[sample]:
                wide = widened(self._scaled(box, image))
                (sharp if track in self._subjects else blur).append(wide)
            return FramePeople(blur, sharp)
        self.detected_frames += 1
        if self._detected is None or abs(wall - self._detected[0]) >= DETECT_EVERY_S:
            self._detected = (wall, self.finder.find(image))
        found = self._detected[1]
        near = self._nearest(self._subject_times, wall, SUBJECT_NEAR_S)
        subject = [self._scaled(b, image) for b in self._subject_at.get(near, [])] if near else []
        blur, sharp = [], []
        for box in found:
            if any(iou(box, s) >= SUBJECT_IOU for s in subject):
                sharp.append(widened(box))
            else:
                blur.append(widened(box))
        return FramePeople(blur, sharp)

    def words(self) -> str:
        """How the people of this clip were found, for the export's note."""
        parts = []
        if self.tracked_frames:
            parts.append(f"{self.tracked_frames} frame(s) by the boxes tracked live")
        if self.detected_frames:
            runtime = f" ({self.finder.runtime})" if self.finder.runtime else ""
            parts.append(f"{self.detected_frames} by the person detector{runtime}")
        found = " and ".join(parts) or "no frame"
        who = (
            "people other than the incident's subject"
            if self.knows_subject
            else "every person found (no subject track was kept with this clip)"
        )
        return f"{who} blurred; people found in {found}"
