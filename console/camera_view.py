"""The camera's own view: what one camera's image says about the camera and the gallery.

`CameraViewChecks` keeps, per camera, what the image itself looks like, apart from the people in
it (those are `console.presence`'s):

- **frozen**: the image is identical to the previous one;
- **covered**: the image is very dark or uniform (a hand, a cloth, spray paint);
- **moved**: the view outside people's boxes no longer matches the view reference (the camera
  was turned or knocked); the reference follows slow light changes while it matches;
- **the empty-gallery reference**: a picture of the gallery with no visitor in it, against which
  a never-moving "person" is recognised as a statue or a painted figure (`reference_change`);
- **protected objects**: a reference patch of each object's image region, compared while nobody
  stands in front of it (a missing or moved object).

Every measure is on a small grey copy of the frame (`to_gray`); boxes and image regions come in
frame pixels and are scaled onto it. Durations are seconds of the camera's own timeline.

The empty-gallery reference decides who counts as a statue, so it is guarded against learning an
intruder. It is set by a supervisor (`set_empty_reference`), or taken automatically only while
the museum is open, and only at the end of several looks (`empty_reference_looks`) spread over
`empty_reference_span_s` in which nobody at all was seen: no track, not even one the detector
lost a moment ago, and no box. A person standing still whom the detector misses now and then is
seen at some look of any such span, so the gallery is not learned with them in it; and at night,
when a thief would come, the camera learns nothing.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import cv2
import numpy as np
from numpy.typing import ArrayLike, NDArray

from console.site_file import ProtectedObject
from inference.detections import Detections

log = logging.getLogger(__name__)

__all__ = [
    "CameraView",
    "CameraViewChecks",
    "CameraViewConfig",
    "ObjectView",
    "box_polygon_overlap",
    "changed_fraction",
    "held_since",
    "to_gray",
]

_CHANGED_SAMPLES_KEPT = 4  # distinct looks of a changed object region remembered at once


@dataclass(frozen=True, slots=True)
class CameraViewConfig:
    """Thresholds of the camera's own view checks; defaults suit sub-stream frames."""

    pixel_change_grey: float = 25.0
    """A pixel changed when it differs by more than this many grey levels (0..255) from the
    reference, after removing the region's overall brightness shift."""
    reference_refresh_s: float = 600.0
    """The automatic empty-gallery reference is retaken this often while the gallery is empty."""
    empty_reference_looks: int = 5
    """An automatic empty-gallery reference needs at least this many looks in a row in which
    nobody was seen (no track, no box) ..."""
    empty_reference_span_s: float = 30.0
    """... spread over at least this many seconds: a person standing still whom the detector
    misses at one look is seen at another."""
    frozen_max_diff: float = 0.5
    """Two frames are identical (frozen image) when their mean absolute difference is at most
    this many grey levels."""
    covered_max_mean: float = 10.0
    """A frame this dark (mean grey level) or darker looks covered."""
    covered_max_std: float = 5.0
    """A frame this uniform (grey-level standard deviation) or more looks covered."""
    moved_min_change: float = 0.5
    """The camera has moved when at least this fraction of the view (outside people's boxes)
    changed against the view reference."""
    moved_min_visible: float = 0.3
    """The moved check runs only when at least this fraction of the frame is free of people."""
    view_blend: float = 0.05
    """While the view matches its reference, the reference drifts towards the current frame by
    this weight per frame (follows slow light changes)."""
    object_refresh_below: float = 0.05
    """An object patch this close to its reference replaces it (follows slow light changes)."""
    object_reference_confirm_s: float = 2.0
    """An object's reference is taken only when two unobstructed looks at least this far apart
    agree (see `object_agree_below`): a visitor the detector missed, passing in front at the
    first look, is not learned as the object."""
    object_agree_below: float = 0.1
    """Two changed samples of an object agree when at most this fraction of the region's pixels
    differ between them: a removed object leaves the same bare wall at each check, while
    visitors the detector missed look different every time."""

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(
                    f"CameraViewConfig.{name} must be a finite number >= 0 (got {value!r})"
                )


# --------------------------------------------------------------------------- snapshots


@dataclass(frozen=True, slots=True)
class CameraView:
    """What the camera's image itself looks like (for the camera-health checks).

    `empty_reference_ts` is when the empty-gallery reference was taken (camera seconds; None
    when there is none, or a supervisor set it without a time); `empty_reference_by` says who
    took it: "supervisor" or "automatic".
    """

    image_ts: float | None = None
    brightness: float | None = None
    contrast: float | None = None
    frozen_since_ts: float | None = None
    covered_since_ts: float | None = None
    moved_since_ts: float | None = None
    scene_change: float | None = None
    has_view_reference: bool = False
    empty_reference_ts: float | None = None
    empty_reference_by: str | None = None


@dataclass(frozen=True, slots=True)
class ObjectView:
    """A protected object's image region in one camera, against its reference patch.

    `change` is the fraction of the region's pixels that differed from the reference at the
    latest sample (`sampled_ts`); samples are taken at most every `check_every_s` and only while
    nobody's box overlaps the region.
    """

    object_id: str
    reference_ts: float | None = None
    sampled_ts: float | None = None
    change: float | None = None
    changed_since_ts: float | None = None
    occupied: bool = False


# --------------------------------------------------------------------------- image measures


def to_gray(image: ArrayLike) -> NDArray[np.float32]:
    """A uint8 BGR/BGRA/grey image as a lightly blurred float32 grey image."""
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim == 3:
        code = cv2.COLOR_BGRA2GRAY if arr.shape[2] == 4 else cv2.COLOR_BGR2GRAY
        arr = cv2.cvtColor(np.ascontiguousarray(arr, dtype=np.uint8), code)
    if arr.ndim != 2:
        raise ValueError(f"an image is HxW or HxWxC (got shape {arr.shape})")
    return cv2.GaussianBlur(arr.astype(np.float32), (3, 3), 0)


def changed_fraction(
    reference: NDArray[np.float32],
    current: NDArray[np.float32],
    mask: NDArray[np.bool_] | None = None,
    grey: float = 25.0,
) -> float | None:
    """Fraction of (masked) pixels that differ by more than `grey` levels from the reference.

    The region's median difference is removed first, so a uniform change of light is not a
    change. None when the mask selects no pixel or the shapes differ.
    """
    if reference.shape != current.shape:
        return None
    diff = current - reference
    values = diff[mask] if mask is not None else diff.ravel()
    if values.size == 0:
        return None
    values = values - np.median(values)
    return float(np.mean(np.abs(values) > grey))


def held_since(condition: bool, since: float | None, ts: float) -> float | None:
    """Since when a condition holds: kept while it holds, `ts` when it starts, None when not."""
    if not condition:
        return None
    return ts if since is None else since


def _area(poly: NDArray[np.float64]) -> float:
    if len(poly) < 3:
        return 0.0
    x, y = poly[:, 0], poly[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2.0)


def _clip_to_box(poly: NDArray[np.float64], box: Sequence[float]) -> NDArray[np.float64]:
    """The polygon clipped to an axis-aligned box (Sutherland-Hodgman)."""
    x1, y1, x2, y2 = (float(v) for v in box)
    out = [tuple(p) for p in poly]
    for axis, bound, keep_above in ((0, x1, True), (0, x2, False), (1, y1, True), (1, y2, False)):
        if not out:
            break
        points, out = out, []

        def inside(
            p: tuple[float, ...],
            axis: int = axis,
            bound: float = bound,
            keep_above: bool = keep_above,
        ) -> bool:
            return p[axis] >= bound if keep_above else p[axis] <= bound

        for i, cur in enumerate(points):
            prev = points[i - 1]
            if inside(cur):
                if not inside(prev):
                    out.append(_cross(prev, cur, axis, bound))
                out.append(cur)
            elif inside(prev):
                out.append(_cross(prev, cur, axis, bound))
    return np.asarray(out, dtype=np.float64).reshape(-1, 2)


def _cross(
    a: tuple[float, ...], b: tuple[float, ...], axis: int, bound: float
) -> tuple[float, float]:
    t = (bound - a[axis]) / (b[axis] - a[axis])
    return (a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]))


def box_polygon_overlap(box: Sequence[float], polygon: ArrayLike) -> float:
    """Area of box ∩ polygon over the smaller of the two areas, 0..1 (image pixels)."""
    poly = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    box_area = max(0.0, float(box[2] - box[0])) * max(0.0, float(box[3] - box[1]))
    smaller = min(box_area, _area(poly))
    if smaller <= 0.0:
        return 0.0
    return min(1.0, _area(_clip_to_box(poly, box)) / smaller)


def _scaled_box(
    box: Sequence[float], sx: float, sy: float, w: int, h: int
) -> tuple[int, int, int, int]:
    x1 = int(np.clip(np.floor(box[0] * sx), 0, w))
    y1 = int(np.clip(np.floor(box[1] * sy), 0, h))
    x2 = int(np.clip(np.ceil(box[2] * sx), 0, w))
    y2 = int(np.clip(np.ceil(box[3] * sy), 0, h))
    return x1, y1, x2, y2


def _region_patch(
    gray: NDArray[np.float32], region: NDArray[np.float64], sx: float, sy: float
) -> tuple[NDArray[np.float32] | None, NDArray[np.bool_] | None]:
    """The grey crop around an image polygon (frame pixels) and the polygon's mask in it."""
    h, w = gray.shape
    pts = region * np.array([sx, sy])
    x1, y1 = (int(v) for v in np.clip(np.floor(pts.min(axis=0)), 0, [w, h]))
    x2, y2 = (int(v) for v in np.clip(np.ceil(pts.max(axis=0)) + 1, 0, [w, h]))
    if x2 - x1 < 2 or y2 - y1 < 2:
        return None, None
    mask = np.zeros((y2 - y1, x2 - x1), dtype=np.uint8)
    cv2.fillPoly(mask, [np.round(pts - [x1, y1]).astype(np.int32)], 1)
    if not mask.any():
        return None, None
    return gray[y1:y2, x1:x2].copy(), mask.astype(bool)


# --------------------------------------------------------------------------- one camera


@dataclass
class _ObjectReference:
    """One protected object's image region and what the camera learned of it."""

    obj: ProtectedObject
    region: NDArray[np.float64]  # image polygon, frame pixels
    reference: NDArray[np.float32] | None = None
    candidate: tuple[float, NDArray[np.float32]] | None = None  # a first look, to be confirmed
    # the changed samples since the region last matched its reference: (ts, patch), oldest first
    changed: list[tuple[float, NDArray[np.float32]]] = field(default_factory=list)
    view: ObjectView = field(init=False)

    def __post_init__(self) -> None:
        self.view = ObjectView(self.obj.id)


@dataclass(frozen=True, slots=True)
class _Look:
    """The latest image, as grey, with the scale from frame pixels onto it."""

    gray: NDArray[np.float32]
    sx: float
    sy: float
    covered: bool
    moved: bool


class CameraViewChecks:
    """One camera's own image: frozen, covered, moved, the empty gallery, the objects' patches.

    Fed once per processed frame that comes with an image (`look`), after which the caller may
    compare people's boxes with the empty-gallery reference (`reference_change`) and tell whether
    the gallery was empty at this look (`note_empty_gallery`).
    """

    def __init__(
        self,
        camera_id: str,
        objects: Mapping[str, tuple[ProtectedObject, ArrayLike]],
        config: CameraViewConfig | None = None,
        *,
        object_check_every_s: float = 30.0,
    ) -> None:
        self.camera_id = camera_id
        self.config = config or CameraViewConfig()
        self.object_check_every_s = float(object_check_every_s)
        self._objects = {
            obj_id: _ObjectReference(obj, np.asarray(region, dtype=np.float64).reshape(-1, 2))
            for obj_id, (obj, region) in objects.items()
        }
        self._view = CameraView()
        self._look: _Look | None = None
        self._previous_gray: NDArray[np.float32] | None = None
        self._previous_ts: float | None = None
        self._view_reference: NDArray[np.float32] | None = None
        self._empty_reference: NDArray[np.float32] | None = None
        self._empty_since_ts: float | None = None  # the first of the empty looks in a row
        self._empty_looks = 0

    # -- reading

    @property
    def view(self) -> CameraView:
        return self._view

    @property
    def objects(self) -> dict[str, ObjectView]:
        return {obj_id: o.view for obj_id, o in self._objects.items()}

    @property
    def has_empty_reference(self) -> bool:
        return self._empty_reference is not None

    def object_regions(self) -> dict[str, NDArray[np.float64]]:
        """Each protected object's image polygon in this camera (frame pixels)."""
        return {obj_id: o.region for obj_id, o in self._objects.items()}

    def reference_change(self, box: Sequence[float]) -> float | None:
        """Fraction of the box's pixels (frame pixels) that differ from the empty-gallery
        reference at the latest look; None without a reference, a look, or a usable box."""
        look = self._look
        if look is None or self._empty_reference is None:
            return None
        h, w = look.gray.shape
        x1, y1, x2, y2 = _scaled_box(box, look.sx, look.sy, w, h)
        if x2 - x1 < 2 or y2 - y1 < 2:
            return None
        return changed_fraction(
            self._empty_reference[y1:y2, x1:x2],
            look.gray[y1:y2, x1:x2],
            None,
            self.config.pixel_change_grey,
        )

    # -- a supervisor's say

    def set_empty_reference(self, image: ArrayLike, ts: float | None = None) -> None:
        """A supervisor's picture of the empty gallery (same size as the looks' images)."""
        self._empty_reference = to_gray(image)
        self._empty_since_ts, self._empty_looks = None, 0
        self._view = replace(self._view, empty_reference_ts=ts, empty_reference_by="supervisor")
        log.info("camera %s: empty-gallery reference set by a supervisor", self.camera_id)

    def rebase(self) -> None:
        """Accept the camera's current view (after it was deliberately moved): every reference
        is retaken from the next frames."""
        self._view_reference = self._empty_reference = None
        self._empty_since_ts, self._empty_looks = None, 0
        for obj in self._objects.values():
            obj.reference = obj.candidate = None
            obj.changed.clear()
            obj.view = ObjectView(obj.obj.id)
        self._view = CameraView()
        self._look = None
        log.info("camera %s: view references cleared", self.camera_id)

    # -- one look

    def look(
        self,
        image: NDArray[np.uint8],
        frame_size: tuple[int, int],
        ts: float,
        occupancy: Detections,
    ) -> None:
        """Check one frame's image; `occupancy` are the boxes (frame pixels) of everybody the
        detector found, tracked or not."""
        cfg = self.config
        gray = to_gray(image)
        h, w = gray.shape
        sx, sy = w / frame_size[0], h / frame_size[1]
        view = self._view
        for name in ("_previous_gray", "_view_reference", "_empty_reference"):
            ref = getattr(self, name)
            if ref is not None and ref.shape != gray.shape:
                log.warning(
                    "camera %s: image size changed to %dx%d; %s dropped",
                    self.camera_id,
                    w,
                    h,
                    name.lstrip("_"),
                )
                setattr(self, name, None)
        if self._empty_reference is None:
            view = replace(view, empty_reference_ts=None, empty_reference_by=None)
        for obj in self._objects.values():
            if obj.reference is not None and self._view_reference is None:
                obj.reference = None

        # frozen: identical to the previous frame
        frozen_since = None
        if self._previous_gray is not None and self._previous_ts is not None:
            mad = float(np.mean(np.abs(gray - self._previous_gray)))
            if mad <= cfg.frozen_max_diff and ts > self._previous_ts:
                frozen_since = (
                    view.frozen_since_ts if view.frozen_since_ts is not None else self._previous_ts
                )
        self._previous_gray, self._previous_ts = gray, ts

        # covered: very dark or uniform (a covered lens also looks frozen: covered says more)
        brightness, contrast = float(gray.mean()), float(gray.std())
        covered = brightness <= cfg.covered_max_mean or contrast <= cfg.covered_max_std
        covered_since = held_since(covered, view.covered_since_ts, ts)
        if covered:
            frozen_since = None

        # moved: the view outside people's boxes no longer matches the reference
        free = np.ones(gray.shape, dtype=bool)
        for box in occupancy.xyxy:
            x1, y1, x2, y2 = _scaled_box(box, sx, sy, w, h)
            free[y1:y2, x1:x2] = False
        moved_since, scene_change = view.moved_since_ts, view.scene_change
        if not covered:
            if self._view_reference is None:
                self._view_reference = gray.copy()
                moved_since, scene_change = None, 0.0
            elif free.mean() >= cfg.moved_min_visible:
                scene_change = changed_fraction(
                    self._view_reference, gray, free, cfg.pixel_change_grey
                )
                if scene_change is not None and scene_change >= cfg.moved_min_change:
                    moved_since = held_since(True, moved_since, ts)
                else:
                    moved_since = None
                    reference = self._view_reference
                    reference[free] += cfg.view_blend * (gray[free] - reference[free])
        moved = moved_since is not None
        self._look = _Look(gray, sx, sy, covered, moved)

        self._check_objects(gray, sx, sy, ts, occupancy, covered or moved)
        self._view = replace(
            view,
            image_ts=ts,
            brightness=brightness,
            contrast=contrast,
            frozen_since_ts=frozen_since,
            covered_since_ts=covered_since,
            moved_since_ts=moved_since,
            scene_change=scene_change,
            has_view_reference=self._view_reference is not None,
        )

    def note_empty_gallery(self, ts: float, *, nobody_seen: bool, museum_open: bool) -> bool:
        """After a look: whether nobody at all was seen in it (no track, visible or just lost,
        and no box) and whether the museum is open; takes the automatic empty-gallery reference
        when it is due. Returns whether a reference was taken.

        Due: there is none, or the automatic one is `reference_refresh_s` old (a supervisor's
        stays until a supervisor replaces it or the view is rebased). Taken: only while the
        museum is open, at the end of `empty_reference_looks` looks in a row with nobody seen,
        spread over `empty_reference_span_s`."""
        look = self._look
        cfg = self.config
        if look is None or not nobody_seen or look.covered or look.moved or not museum_open:
            self._empty_since_ts, self._empty_looks = None, 0
            return False
        if self._empty_since_ts is None:
            self._empty_since_ts = ts
        self._empty_looks += 1
        view = self._view
        if self._empty_reference is not None and (
            view.empty_reference_by == "supervisor"
            or view.empty_reference_ts is None
            or ts - view.empty_reference_ts < cfg.reference_refresh_s
        ):
            return False
        if self._empty_looks < cfg.empty_reference_looks:
            return False
        if ts - self._empty_since_ts < cfg.empty_reference_span_s:
            return False
        log.info(
            "camera %s: empty-gallery reference taken at %.1f s (%d looks with nobody in view "
            "since %.1f s)",
            self.camera_id,
            ts,
            self._empty_looks,
            self._empty_since_ts,
        )
        self._empty_reference = look.gray.copy()
        self._view = replace(view, empty_reference_ts=ts, empty_reference_by="automatic")
        return True

    # -- protected objects: compare each region with its reference while nobody is in front

    def _check_objects(
        self,
        gray: NDArray[np.float32],
        sx: float,
        sy: float,
        ts: float,
        occupancy: Detections,
        blind: bool,
    ) -> None:
        cfg = self.config
        for obj_id, obj in self._objects.items():
            occupied = any(box_polygon_overlap(b, obj.region) > 0.0 for b in occupancy.xyxy)
            ov = replace(obj.view, occupied=occupied)
            if not occupied and not blind:
                patch, mask = _region_patch(gray, obj.region, sx, sy)
                if patch is not None and mask is not None:
                    if obj.reference is None or obj.reference.shape != patch.shape:
                        if self._reference_confirmed(obj, patch, mask, ts):
                            obj.reference, obj.candidate = patch, None
                            obj.changed.clear()
                            ov = ObjectView(obj_id, reference_ts=ts, sampled_ts=ts, change=0.0)
                            log.info("camera %s: reference of %s taken", self.camera_id, obj_id)
                    elif ov.sampled_ts is None or ts - ov.sampled_ts >= self.object_check_every_s:
                        change = changed_fraction(obj.reference, patch, mask, cfg.pixel_change_grey)
                        changed = change is not None and change > cfg.object_refresh_below
                        since = self._changed_since(obj, patch, mask, ts) if changed else None
                        ov = replace(ov, sampled_ts=ts, change=change, changed_since_ts=since)
                        if not changed:
                            obj.reference = patch
                            obj.changed.clear()
            obj.view = ov

    def _look_alike(
        self, first: NDArray[np.float32], second: NDArray[np.float32], mask: NDArray[np.bool_]
    ) -> bool:
        """Two looks at an object's region agree (`CameraViewConfig.object_agree_below`)."""
        cfg = self.config
        differs = changed_fraction(first, second, mask, cfg.pixel_change_grey)
        return differs is not None and differs <= cfg.object_agree_below

    def _reference_confirmed(
        self, obj: _ObjectReference, patch: NDArray[np.float32], mask: NDArray[np.bool_], ts: float
    ) -> bool:
        """Whether this look at an object agrees with a first look `object_reference_confirm_s`
        or more before it; otherwise it may become the first look."""
        candidate = obj.candidate
        if candidate is not None and candidate[1].shape == patch.shape:
            if ts - candidate[0] < self.config.object_reference_confirm_s:
                return False
            if self._look_alike(candidate[1], patch, mask):
                return True
        obj.candidate = (ts, patch)
        return False

    def _changed_since(
        self, obj: _ObjectReference, patch: NDArray[np.float32], mask: NDArray[np.bool_], ts: float
    ) -> float:
        """Since when an object's region has looked the way this changed sample does: the
        earliest earlier changed sample it agrees with, else `ts` (a new look). A visitor the
        detector missed at one check neither confirms a change nor hides a bare wall on both
        sides of it."""
        for since, earlier in obj.changed:
            if self._look_alike(earlier, patch, mask):
                return since
        obj.changed = [*obj.changed[-(_CHANGED_SAMPLES_KEPT - 1) :], (ts, patch)]
        return ts
