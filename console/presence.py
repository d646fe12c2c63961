"""Who is where, since when: the one stateful model the risk rules read.

`Presence` keeps, per camera, a record of each tracked person: the foot point in the image and on
the floor plan (through the camera's calibration), and since when (in the camera's seconds) the
person has been inside each zone, within each protected object's minimum distance, near it, or
reaching into the object's image region. It also keeps what the camera itself looks like: whether
the image is frozen, covered or has shifted against a reference, an empty-gallery reference for
recognising statues and painted figures, and a reference patch of every protected object it sees.

It is fed one `Observation` per processed frame (camera id, the frame's `ts` in seconds, the
tracked people, the frame size, optionally a small copy of the frame for the image checks) and the
camera status changes. Everything it exposes is a frozen snapshot (`CameraPresence`), so the rules
in `console.rules` stay pure functions of (presence, site, clock time).

Durations are seconds of the camera's own timeline (`ts`: wall clock for live sources, position in
the video for files), never frames. A track that stops being reported is kept for `grace_s`
seconds (its zone and object times survive a short occlusion) and then dropped.

Museum false positives: a "person" whose box has not moved since it was first seen and whose image
patch matches the camera's empty-gallery reference (or whose box centre lies in a region a
supervisor marked for that camera) is labelled `still_figure`; the rules ignore such tracks. The
empty-gallery reference is taken on the first frame without any person (again every
`reference_refresh_s` when the gallery is empty of visitors), or set by a supervisor with
`set_empty_reference`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal, Protocol

import cv2
import numpy as np
from numpy.typing import ArrayLike, NDArray

from console.floor_plan import CameraCalibration, distance_to_polygon_m, point_in_polygon
from console.site_file import ProtectedObject, Site, Zone
from inference.detections import Detections

log = logging.getLogger(__name__)

__all__ = [
    "CameraPresence",
    "CameraView",
    "ObjectPresence",
    "ObjectView",
    "Observation",
    "Presence",
    "PresenceConfig",
    "TrackPresence",
    "box_polygon_overlap",
    "changed_fraction",
    "to_gray",
]

ImagePolygon = Sequence[tuple[float, float]]
StillReason = Literal["empty_reference", "marked_region"]
OFFLINE_STATUSES = frozenset({"offline", "stalled"})
_CHANGED_SAMPLES_KEPT = 4  # distinct looks of a changed object region remembered at once


@dataclass(frozen=True, slots=True)
class PresenceConfig:
    """Thresholds of the presence model; defaults suit sub-stream frames and museum galleries."""

    grace_s: float = 2.0
    """A track not reported for longer than this is dropped (its times with it)."""
    near_object_m: float = 2.0
    """On the plan, a person within this many metres of an object counts as near it (loitering);
    never less than the object's own min_distance_m."""
    reach_min_overlap: float = 0.05
    """A box reaches into an object's image region when their intersection covers at least this
    fraction of the smaller of the two."""
    reach_arm_m: float = 1.0
    """On a calibrated camera, an image reach counts only while the person stands within the
    object's min_distance_m plus this (a person far in front of a painting overlaps it in the
    image without reaching it)."""
    still_max_shift: float = 0.1
    """A track whose box centre or size has moved by more than this fraction of its first box's
    height has moved; a track that has never moved may be a statue or a painted figure."""
    still_match_max_change: float = 0.2
    """A box matches the empty-gallery reference when at most this fraction of its pixels
    changed (see `changed_fraction`)."""
    pixel_change_grey: float = 25.0
    """A pixel changed when it differs by more than this many grey levels (0..255) from the
    reference, after removing the region's overall brightness shift."""
    reference_refresh_s: float = 600.0
    """The empty-gallery reference is retaken this often while no visitor is in view."""
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
                    f"PresenceConfig.{name} must be a finite number >= 0 (got {value!r})"
                )


# --------------------------------------------------------------------------- observations


class _FrameRefLike(Protocol):
    @property
    def camera_id(self) -> str: ...

    @property
    def ts(self) -> float: ...


class TrackedFrameLike(Protocol):
    """What `inference.pipeline.TrackedFrame` offers (kept structural: no pipeline import)."""

    @property
    def ref(self) -> _FrameRefLike: ...

    @property
    def people(self) -> Detections: ...

    @property
    def detections(self) -> Detections: ...


@dataclass(frozen=True, slots=True, eq=False)
class Observation:
    """One processed frame of one camera, as the presence model takes it.

    `people` are the confirmed tracks (track_id >= 0), boxes in pixels of a `frame_size`
    (width, height) frame. `detections`, when given, are all boxes the detector found (they count
    as occupying an object's region even before their track is confirmed). `image`, when given, is
    a small copy of the frame (any size, BGR or grey, uint8) for the image checks; boxes and image
    regions are scaled onto it.
    """

    camera_id: str
    ts: float
    people: Detections
    frame_size: tuple[int, int]
    image: NDArray[np.uint8] | None = None
    detections: Detections | None = None

    @classmethod
    def from_tracked_frame(
        cls,
        frame: TrackedFrameLike,
        frame_size: tuple[int, int],
        image: NDArray[np.uint8] | None = None,
    ) -> Observation:
        return cls(
            camera_id=frame.ref.camera_id,
            ts=float(frame.ref.ts),
            people=frame.people,
            frame_size=frame_size,
            image=image,
            detections=frame.detections,
        )


# --------------------------------------------------------------------------- snapshots


@dataclass(frozen=True, slots=True)
class ObjectPresence:
    """One person relative to one protected object.

    `distance_m` is measured on the plan (None when the camera is uncalibrated, the object has no
    plan polygon or the foot point is beyond the horizon); `overlap` is the image reach measure
    (None when the object is not judged in this camera's image). The `*_since_ts` fields say since
    when (camera seconds) the person has been continuously close / near / reaching; None when not.
    """

    object_id: str
    distance_m: float | None
    overlap: float | None
    close_since_ts: float | None
    near_since_ts: float | None
    reach_since_ts: float | None


@dataclass(frozen=True, slots=True)
class TrackPresence:
    """One tracked person in one camera, at that camera's latest observation."""

    camera_id: str
    track_id: int
    xyxy: tuple[float, float, float, float]
    foot_px: tuple[float, float]
    plan_px: tuple[float, float] | None
    located_by: Literal["plan", "camera"] | None
    """How the zones were found: from the foot point on the plan, or (uncalibrated camera) from
    the camera's own plan position; None: not placed."""
    first_seen_ts: float
    last_seen_ts: float
    visible: bool
    """Reported in the camera's latest observation (False while in the grace time)."""
    zones: Mapping[str, float]
    """Zone id -> since when (camera seconds) the person has been inside."""
    objects: Mapping[str, ObjectPresence]
    first_xyxy: tuple[float, float, float, float]
    max_shift: float
    """Largest change of the box since first seen, as a fraction of the first box's height."""
    moved: bool
    reference_change: float | None
    """Fraction of the box's pixels that differ from the empty-gallery reference (latest)."""
    still_figure: StillReason | None
    """Why this "person" is taken for a statue or painted figure; None for a visitor."""

    def seconds_since(self, since_ts: float) -> float:
        """Seconds from `since_ts` to this person's latest sighting."""
        return self.last_seen_ts - since_ts

    @property
    def seen_for_s(self) -> float:
        return self.last_seen_ts - self.first_seen_ts


@dataclass(frozen=True, slots=True)
class CameraView:
    """What the camera's image itself looks like (for the camera-health checks)."""

    image_ts: float | None = None
    brightness: float | None = None
    contrast: float | None = None
    frozen_since_ts: float | None = None
    covered_since_ts: float | None = None
    moved_since_ts: float | None = None
    scene_change: float | None = None
    has_view_reference: bool = False
    empty_reference_ts: float | None = None


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


@dataclass(frozen=True, slots=True)
class CameraPresence:
    """Everything the rules know about one camera at its latest observation."""

    camera_id: str
    floor_id: str
    calibrated: bool
    frame_size: tuple[int, int] | None = None
    last_ts: float | None = None
    last_frame_at: datetime | None = None
    status: str = "unknown"
    status_since: datetime | None = None
    status_reason: str = ""
    tracks: Mapping[int, TrackPresence] = field(default_factory=dict)
    view: CameraView = field(default_factory=CameraView)
    objects: Mapping[str, ObjectView] = field(default_factory=dict)

    @property
    def visible_tracks(self) -> tuple[TrackPresence, ...]:
        return tuple(t for t in self.tracks.values() if t.visible)

    @property
    def visitors(self) -> tuple[TrackPresence, ...]:
        """Visible tracks that are not taken for statues or painted figures."""
        return tuple(t for t in self.tracks.values() if t.visible and t.still_figure is None)


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


# --------------------------------------------------------------------------- per-camera state


@dataclass
class _ObjectState:
    obj: ProtectedObject
    region: NDArray[np.float64]  # image polygon, frame pixels
    reference: NDArray[np.float32] | None = None
    candidate: tuple[float, NDArray[np.float32]] | None = None  # a first look, to be confirmed
    # the changed samples since the region last matched its reference: (ts, patch), oldest first
    changed: list[tuple[float, NDArray[np.float32]]] = field(default_factory=list)
    view: ObjectView = field(init=False)

    def __post_init__(self) -> None:
        self.view = ObjectView(self.obj.id)


@dataclass
class _CameraState:
    camera_id: str
    floor_id: str
    calibration: CameraCalibration | None
    metres_per_pixel: float
    plan_objects: tuple[ProtectedObject, ...]
    image_objects: dict[str, _ObjectState]
    floor_zones: tuple[Zone, ...]
    camera_zones: tuple[str, ...]  # zones holding the camera's plan position (uncalibrated)
    still_regions: tuple[NDArray[np.float64], ...]
    snapshot: CameraPresence
    previous_gray: NDArray[np.float32] | None = None
    previous_ts: float | None = None
    view_reference: NDArray[np.float32] | None = None
    empty_reference: NDArray[np.float32] | None = None


class Presence:
    """Per camera, per track: where each person stands and since when; and the camera's view.

    Each camera's `still_figure_regions` (site file) are image polygons (frame pixels) that a
    supervisor marked as artworks that look like people: a never-moving "person" whose box centre
    lies in one is a still figure. `still_regions` adds more per camera id (e.g. while a
    supervisor tries regions out before saving them).
    """

    def __init__(
        self,
        site: Site,
        config: PresenceConfig | None = None,
        *,
        still_regions: Mapping[str, Sequence[ImagePolygon]] | None = None,
    ) -> None:
        self.site = site
        self.config = config or PresenceConfig()
        regions = dict(still_regions or {})
        unknown = sorted(set(regions) - {c.id for c in site.cameras})
        if unknown:
            raise KeyError(f"still_regions name cameras the site does not have: {unknown}")
        self._cameras: dict[str, _CameraState] = {}
        for camera in site.cameras:
            calibration = site.calibration(camera.id)
            floor_zones = site.zones_on(camera.floor)
            camera_zones: tuple[str, ...] = ()
            if calibration is None and camera.plan_position is not None:
                camera_zones = tuple(
                    z.id
                    for z in floor_zones
                    if point_in_polygon([camera.plan_position], z.plan_polygon)[0]
                )
            self._cameras[camera.id] = _CameraState(
                camera_id=camera.id,
                floor_id=camera.floor,
                calibration=calibration,
                metres_per_pixel=site.floor(camera.floor).metres_per_pixel,
                plan_objects=tuple(
                    o for o in site.objects_on(camera.floor) if o.plan_polygon is not None
                ),
                image_objects={
                    o.id: _ObjectState(o, np.asarray(o.image_regions[camera.id], dtype=float))
                    for o in site.objects_seen_by(camera.id)
                },
                floor_zones=floor_zones,
                camera_zones=camera_zones,
                still_regions=tuple(
                    np.asarray(p, dtype=np.float64)
                    for p in (*camera.still_figure_regions, *regions.get(camera.id, ()))
                ),
                snapshot=CameraPresence(
                    camera_id=camera.id, floor_id=camera.floor, calibrated=calibration is not None
                ),
            )

    # -- reading

    def camera(self, camera_id: str) -> CameraPresence:
        """The latest snapshot of one camera."""
        return self._state(camera_id).snapshot

    def cameras(self) -> tuple[CameraPresence, ...]:
        return tuple(s.snapshot for s in self._cameras.values())

    def __iter__(self) -> Iterator[CameraPresence]:
        return iter(self.cameras())

    def _state(self, camera_id: str) -> _CameraState:
        try:
            return self._cameras[camera_id]
        except KeyError:
            raise KeyError(f"no camera {camera_id!r} in site {self.site.site.name!r}") from None

    # -- feeding

    def set_status(self, camera_id: str, status: str, at: datetime, reason: str = "") -> None:
        """A camera's status changed (`inference.sources.CameraStatus` values: connecting, live,
        stalled, offline). An offline or stalled camera sees nobody: its tracks are dropped."""
        state = self._state(camera_id)
        snap = state.snapshot
        status = str(status)
        if status == snap.status:
            return
        log.info("camera %s is %s (%s)", camera_id, status, reason or "no reason given")
        tracks = {} if status in OFFLINE_STATUSES else snap.tracks
        state.snapshot = replace(
            snap, status=status, status_since=at, status_reason=reason, tracks=tracks
        )

    def frames_arrived(self, camera_id: str, at: datetime) -> None:
        """The camera's capture delivered new frames by `at`, detected or not: what the video
        loss check counts on (a busy detector pool is not a lost camera)."""
        state = self._state(camera_id)
        last = state.snapshot.last_frame_at
        if last is None or at > last:
            state.snapshot = replace(state.snapshot, last_frame_at=at)

    def set_empty_reference(
        self, camera_id: str, image: ArrayLike, ts: float | None = None
    ) -> None:
        """A supervisor's picture of the empty gallery (same size as the observations' images)."""
        state = self._state(camera_id)
        state.empty_reference = to_gray(image)
        state.snapshot = replace(
            state.snapshot, view=replace(state.snapshot.view, empty_reference_ts=ts)
        )
        log.info("camera %s: empty-gallery reference set", camera_id)

    def rebase_view(self, camera_id: str) -> None:
        """Accept the camera's current view (after it was deliberately moved): every reference is
        retaken from the next frames."""
        state = self._state(camera_id)
        state.view_reference = state.empty_reference = None
        for obj in state.image_objects.values():
            obj.reference = obj.candidate = None
            obj.changed.clear()
            obj.view = ObjectView(obj.obj.id)
        state.snapshot = replace(state.snapshot, view=CameraView())
        log.info("camera %s: view references cleared", camera_id)

    def update(self, observation: Observation, now: datetime) -> CameraPresence:
        """Take one processed frame; returns the camera's new snapshot."""
        obs = observation
        state = self._state(obs.camera_id)
        snap = state.snapshot
        ts = float(obs.ts)
        if not math.isfinite(ts):
            raise ValueError(f"camera {obs.camera_id}: observation ts must be finite (got {ts})")
        if snap.last_ts is not None and ts < snap.last_ts:
            log.warning(
                "camera %s: observation at %.3f s is older than %.3f s; ignored",
                obs.camera_id,
                ts,
                snap.last_ts,
            )
            return snap
        width, height = (int(v) for v in obs.frame_size)
        if width <= 0 or height <= 0:
            raise ValueError(
                f"camera {obs.camera_id}: frame_size must be positive ({width}x{height})"
            )

        tracks = self._update_tracks(state, obs.people, ts)
        view = snap.view
        objects = {k: v.view for k, v in state.image_objects.items()}
        if obs.image is not None:
            occupancy = obs.people if obs.detections is None else obs.detections
            tracks, view, objects = self._update_image(
                state, obs.image, (width, height), ts, tracks, occupancy
            )
        else:
            tracks = {tid: self._judge_still(state, t, None) for tid, t in tracks.items()}
        state.snapshot = replace(
            snap,
            frame_size=(width, height),
            last_ts=ts,
            last_frame_at=now,
            tracks=tracks,
            view=view,
            objects=objects,
        )
        return state.snapshot

    # -- people

    def _update_tracks(
        self, state: _CameraState, people: Detections, ts: float
    ) -> dict[int, TrackPresence]:
        cfg = self.config
        previous = state.snapshot.tracks
        people = people[people.track_id >= 0]
        feet = np.asarray(people.foot_points, dtype=np.float64)
        plan = (
            state.calibration.image_to_plan_px(feet)
            if state.calibration is not None
            else np.full((len(people), 2), np.nan)
        )
        zone_hits = (
            {z.id: point_in_polygon(plan, z.plan_polygon) for z in state.floor_zones}
            if len(people)
            else {}
        )
        distances = (
            {
                o.id: distance_to_polygon_m(plan, o.plan_polygon, state.metres_per_pixel)
                for o in state.plan_objects
            }
            if len(people)
            else {}
        )

        out: dict[int, TrackPresence] = {}
        for i in range(len(people)):
            tid = int(people.track_id[i])
            box = tuple(float(v) for v in people.xyxy[i])
            prev = previous.get(tid)
            placed = bool(np.all(np.isfinite(plan[i])))
            if placed:
                in_zones = [zid for zid, hits in zone_hits.items() if hits[i]]
                located_by: Literal["plan", "camera"] | None = "plan"
            elif state.calibration is None and state.camera_zones:
                in_zones, located_by = list(state.camera_zones), "camera"
            else:
                in_zones, located_by = [], None
            zones = {z: (prev.zones.get(z, ts) if prev else ts) for z in in_zones}

            objects: dict[str, ObjectPresence] = {}
            for obj_id in sorted({*distances, *state.image_objects}):
                obj = self.site.protected_object(obj_id)
                dist = distances.get(obj_id)
                distance_m = float(dist[i]) if dist is not None and np.isfinite(dist[i]) else None
                overlap = None
                image_obj = state.image_objects.get(obj_id)
                judged_in_image = image_obj is not None and (
                    state.calibration is None or obj.kind == "painting" or obj.plan_polygon is None
                )
                reach = False
                if judged_in_image and image_obj is not None:
                    overlap = box_polygon_overlap(box, image_obj.region)
                    reach = overlap >= cfg.reach_min_overlap and (
                        distance_m is None or distance_m <= obj.min_distance_m + cfg.reach_arm_m
                    )
                close = distance_m is not None and distance_m <= obj.min_distance_m
                if distance_m is not None:
                    near = distance_m <= max(cfg.near_object_m, obj.min_distance_m)
                else:
                    near = reach
                if distance_m is None and overlap is None:
                    continue
                old = prev.objects.get(obj_id) if prev else None
                objects[obj_id] = ObjectPresence(
                    object_id=obj_id,
                    distance_m=distance_m,
                    overlap=overlap,
                    close_since_ts=_since(close, old.close_since_ts if old else None, ts),
                    near_since_ts=_since(near, old.near_since_ts if old else None, ts),
                    reach_since_ts=_since(reach, old.reach_since_ts if old else None, ts),
                )

            first_xyxy = prev.first_xyxy if prev else box
            shift = _box_shift(first_xyxy, box)
            max_shift = max(shift, prev.max_shift if prev else 0.0)
            out[tid] = TrackPresence(
                camera_id=state.camera_id,
                track_id=tid,
                xyxy=box,  # type: ignore[arg-type]
                foot_px=(float(feet[i, 0]), float(feet[i, 1])),
                plan_px=(float(plan[i, 0]), float(plan[i, 1])) if placed else None,
                located_by=located_by,
                first_seen_ts=prev.first_seen_ts if prev else ts,
                last_seen_ts=ts,
                visible=True,
                zones=zones,
                objects=objects,
                first_xyxy=first_xyxy,
                max_shift=max_shift,
                moved=max_shift > cfg.still_max_shift,
                reference_change=prev.reference_change if prev else None,
                still_figure=prev.still_figure if prev else None,
            )
        for tid, prev in previous.items():
            if tid in out:
                continue
            if ts - prev.last_seen_ts > cfg.grace_s:
                log.debug(
                    "camera %s: track %d gone for %.1f s, dropped",
                    state.camera_id,
                    tid,
                    ts - prev.last_seen_ts,
                )
                continue
            out[tid] = replace(prev, visible=False)
        return out

    def _look_alike(
        self, first: NDArray[np.float32], second: NDArray[np.float32], mask: NDArray[np.bool_]
    ) -> bool:
        """Two looks at an object's region agree (`PresenceConfig.object_agree_below`)."""
        cfg = self.config
        differs = changed_fraction(first, second, mask, cfg.pixel_change_grey)
        return differs is not None and differs <= cfg.object_agree_below

    def _reference_confirmed(
        self, obj: _ObjectState, patch: NDArray[np.float32], mask: NDArray[np.bool_], ts: float
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
        self, obj: _ObjectState, patch: NDArray[np.float32], mask: NDArray[np.bool_], ts: float
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

    def _judge_still(
        self, state: _CameraState, track: TrackPresence, reference_change: float | None
    ) -> TrackPresence:
        """Label a visible track that never moved as a still figure, or clear the label."""
        if not track.visible:
            return track
        if reference_change is None:
            reference_change = track.reference_change
        reason: StillReason | None = None
        if not track.moved:
            x1, y1, x2, y2 = track.xyxy
            centre = [((x1 + x2) / 2.0, (y1 + y2) / 2.0)]
            if any(point_in_polygon(centre, region)[0] for region in state.still_regions):
                reason = "marked_region"
            elif (
                reference_change is not None
                and reference_change <= self.config.still_match_max_change
            ):
                reason = "empty_reference"
        if reason != track.still_figure:
            log.debug(
                "camera %s: track %d still figure: %s", state.camera_id, track.track_id, reason
            )
        return replace(track, reference_change=reference_change, still_figure=reason)

    # -- the image

    def _update_image(
        self,
        state: _CameraState,
        image: NDArray[np.uint8],
        frame_size: tuple[int, int],
        ts: float,
        tracks: dict[int, TrackPresence],
        occupancy: Detections,
    ) -> tuple[dict[int, TrackPresence], CameraView, dict[str, ObjectView]]:
        cfg = self.config
        gray = to_gray(image)
        h, w = gray.shape
        sx, sy = w / frame_size[0], h / frame_size[1]
        view = state.snapshot.view
        for name in ("previous_gray", "view_reference", "empty_reference"):
            ref = getattr(state, name)
            if ref is not None and ref.shape != gray.shape:
                log.warning(
                    "camera %s: image size changed to %dx%d; %s dropped",
                    state.camera_id,
                    w,
                    h,
                    name,
                )
                setattr(state, name, None)
        for obj in state.image_objects.values():
            if obj.reference is not None and state.view_reference is None:
                obj.reference = None

        # frozen: identical to the previous frame
        frozen_since = None
        if state.previous_gray is not None and state.previous_ts is not None:
            mad = float(np.mean(np.abs(gray - state.previous_gray)))
            if mad <= cfg.frozen_max_diff and ts > state.previous_ts:
                frozen_since = (
                    view.frozen_since_ts if view.frozen_since_ts is not None else state.previous_ts
                )
        state.previous_gray, state.previous_ts = gray, ts

        # covered: very dark or uniform (a covered lens also looks frozen: covered says more)
        brightness, contrast = float(gray.mean()), float(gray.std())
        covered = brightness <= cfg.covered_max_mean or contrast <= cfg.covered_max_std
        covered_since = _since(covered, view.covered_since_ts, ts)
        if covered:
            frozen_since = None

        # moved: the view outside people's boxes no longer matches the reference
        free = np.ones(gray.shape, dtype=bool)
        for box in occupancy.xyxy:
            x1, y1, x2, y2 = _scaled_box(box, sx, sy, w, h)
            free[y1:y2, x1:x2] = False
        moved_since, scene_change = view.moved_since_ts, view.scene_change
        if not covered:
            if state.view_reference is None:
                state.view_reference = gray.copy()
                moved_since, scene_change = None, 0.0
            elif free.mean() >= cfg.moved_min_visible:
                scene_change = changed_fraction(
                    state.view_reference, gray, free, cfg.pixel_change_grey
                )
                if scene_change is not None and scene_change >= cfg.moved_min_change:
                    moved_since = _since(True, moved_since, ts)
                else:
                    moved_since = None
                    blend = cfg.view_blend
                    state.view_reference[free] += blend * (gray[free] - state.view_reference[free])
        moved = moved_since is not None

        # still figures: never-moving boxes that match the empty-gallery reference
        judged: dict[int, TrackPresence] = {}
        for tid, track in tracks.items():
            change = None
            if track.visible and state.empty_reference is not None and not track.moved:
                x1, y1, x2, y2 = _scaled_box(track.xyxy, sx, sy, w, h)
                if x2 - x1 >= 2 and y2 - y1 >= 2:
                    change = changed_fraction(
                        state.empty_reference[y1:y2, x1:x2],
                        gray[y1:y2, x1:x2],
                        None,
                        cfg.pixel_change_grey,
                    )
            judged[tid] = self._judge_still(state, track, change)
        visitors = [t for t in judged.values() if t.visible and t.still_figure is None]
        empty_ts = view.empty_reference_ts
        # Nobody may be in view but known still figures, counting boxes not (yet) on a confirmed
        # track: a camera that starts with a person standing still must not learn them as part
        # of the empty gallery.
        still_in_view = sum(1 for t in judged.values() if t.visible and t.still_figure)
        if not visitors and not covered and not moved and len(occupancy) <= still_in_view:
            due = state.empty_reference is None or (
                empty_ts is not None and ts - empty_ts >= cfg.reference_refresh_s
            )
            if due and not judged:
                state.empty_reference, empty_ts = gray.copy(), ts
                log.info("camera %s: empty-gallery reference taken at %.1f s", state.camera_id, ts)
            elif due and state.empty_reference is not None:
                state.empty_reference, empty_ts = gray.copy(), ts

        # protected objects: compare the region with its reference while nobody is in front
        check_every_s = float(self.site.rules.object_missing.check_every_s)
        objects: dict[str, ObjectView] = {}
        for obj_id, obj in state.image_objects.items():
            occupied = any(box_polygon_overlap(b, obj.region) > 0.0 for b in occupancy.xyxy)
            ov = replace(obj.view, occupied=occupied)
            if not occupied and not covered and not moved:
                patch, mask = _region_patch(gray, obj.region, sx, sy)
                if patch is not None and mask is not None:
                    if obj.reference is None or obj.reference.shape != patch.shape:
                        if self._reference_confirmed(obj, patch, mask, ts):
                            obj.reference, obj.candidate = patch, None
                            obj.changed.clear()
                            ov = ObjectView(obj_id, reference_ts=ts, sampled_ts=ts, change=0.0)
                            log.info("camera %s: reference of %s taken", state.camera_id, obj_id)
                    elif ov.sampled_ts is None or ts - ov.sampled_ts >= check_every_s:
                        change = changed_fraction(obj.reference, patch, mask, cfg.pixel_change_grey)
                        changed = change is not None and change > cfg.object_refresh_below
                        since = self._changed_since(obj, patch, mask, ts) if changed else None
                        ov = replace(ov, sampled_ts=ts, change=change, changed_since_ts=since)
                        if not changed:
                            obj.reference = patch
                            obj.changed.clear()
            obj.view = ov
            objects[obj_id] = ov

        new_view = CameraView(
            image_ts=ts,
            brightness=brightness,
            contrast=contrast,
            frozen_since_ts=frozen_since,
            covered_since_ts=covered_since,
            moved_since_ts=moved_since,
            scene_change=scene_change,
            has_view_reference=state.view_reference is not None,
            empty_reference_ts=empty_ts if state.empty_reference is not None else None,
        )
        return judged, new_view, objects


# --------------------------------------------------------------------------- small helpers


def _since(condition: bool, since: float | None, ts: float) -> float | None:
    """Since when a condition holds: kept while it holds, `ts` when it starts, None when not."""
    if not condition:
        return None
    return ts if since is None else since


def _box_shift(first: Sequence[float], box: Sequence[float]) -> float:
    """How far a box moved or changed size since `first`, in units of the first box's height."""
    h0 = max(1.0, first[3] - first[1])
    dcx = abs((box[0] + box[2]) - (first[0] + first[2])) / 2.0
    dcy = abs((box[1] + box[3]) - (first[1] + first[3])) / 2.0
    dw = abs((box[2] - box[0]) - (first[2] - first[0]))
    dh = abs((box[3] - box[1]) - (first[3] - first[1]))
    return max(dcx, dcy, dw, dh) / h0


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
