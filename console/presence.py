"""Who is where, since when: the one stateful model the risk rules read.

`Presence` keeps, per camera, a record of each tracked person: the foot point in the image and on
the floor plan (through the camera's calibration), and since when (in the camera's seconds) the
person has been inside each zone, within each protected object's minimum distance, near it, or
reaching into the object's image region, and which of them are statues or painted figures. What
the camera's image itself says (frozen, covered, moved, the empty-gallery reference, the protected
objects' reference patches) is `console.camera_view`'s: each camera's `CameraViewChecks` is fed
the frame's image and the presence model reads it.

It is fed one `Observation` per processed frame (camera id, the frame's `ts` in seconds, the
tracked people, the frame size, optionally a small copy of the frame for the image checks) and the
camera status changes. Everything it exposes is a frozen snapshot (`CameraPresence`), so the rules
in `console.rules` stay pure functions of (presence, site, clock time).

Durations are seconds of the camera's own timeline (`ts`: wall clock for live sources, position in
the video for files), never frames. A track that stops being reported is kept for `grace_s`
seconds (its zone and object times survive a short occlusion) and then dropped. A person's times
start at the look they were first detected at, not at the later look where the tracker confirmed
their track (the detector's box on no track yet, at the camera's previous look, on the same
spot); and a new track that starts on the box of a track lost less than `grace_s` before goes on
with that person's times (the tracker lost them and found them again under a new id). At a look
every 0.5 s, the confirmation alone cost a short approach half of the rule's time.

Museum false positives: a "person" whose box has not moved since it was first seen and whose image
patch matches the camera's empty-gallery reference (or whose box centre lies in a region a
supervisor marked for that camera) is labelled `still_figure`; the rules ignore such tracks. The
empty-gallery reference is the camera view's (see `console.camera_view`: learned only in opening
hours, from several empty looks), or a supervisor's (`set_empty_reference`).

A thief is not a statue: a new track that starts on the last box of a person whose track ended
within `handover_s` (the detector missed them and the tracker found them again under a new id)
is that person (`follows_track_id`). If they had moved, so has the new track, and a track that
has moved is never a still figure, whatever the reference holds.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Literal, Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

from console.camera_view import (
    CameraView,
    CameraViewChecks,
    CameraViewConfig,
    ObjectView,
    box_polygon_overlap,
    changed_fraction,
    to_gray,
)
from console.floor_plan import CameraCalibration, distance_to_polygon_m, point_in_polygon
from console.site_file import ProtectedObject, Site, Zone
from inference.detections import Detections, box_iou
from inference.sources import CameraStatus

log = logging.getLogger(__name__)

__all__ = [
    "CameraPresence",
    "CameraView",
    "CameraViewConfig",
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
    handover_s: float = 15.0
    """A new track that starts on the last box of a person whose track ended (or is in its grace
    time) at most this many seconds before is that person: if they had moved, the new track has
    too, and is never taken for a statue. Long enough for a live camera whose only person was
    missed: the tracker lets a lost track go after 2 s, the scheduler then looks every 5 s while
    nothing moves, and a new track is confirmed at its second look."""
    handover_min_iou: float = 0.3
    """... "on the last box": their intersection over union is at least this."""
    view: CameraViewConfig = field(default_factory=CameraViewConfig)
    """Thresholds of the camera's own view checks (frozen, covered, moved, references)."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "view":
                if not isinstance(value, CameraViewConfig):
                    raise TypeError(
                        f"PresenceConfig.view must be a CameraViewConfig (got {value!r})"
                    )
                continue
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(
                    f"PresenceConfig.{f.name} must be a finite number >= 0 (got {value!r})"
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
    follows_track_id: int | None = None
    """The track of the same person that ended where this one started (the tracker lost them
    and found them again under a new id), within `PresenceConfig.handover_s`; None if none."""

    def seconds_since(self, since_ts: float) -> float:
        """Seconds from `since_ts` to this person's latest sighting."""
        return self.last_seen_ts - since_ts

    @property
    def seen_for_s(self) -> float:
        return self.last_seen_ts - self.first_seen_ts


@dataclass(frozen=True, slots=True)
class CameraPresence:
    """Everything the rules know about one camera at its latest observation."""

    camera_id: str
    floor_id: str
    calibrated: bool
    frame_size: tuple[int, int] | None = None
    last_ts: float | None = None
    last_frame_at: datetime | None = None
    status: CameraStatus | None = None  # None: not heard of yet
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


# --------------------------------------------------------------------------- per-camera state


@dataclass(frozen=True, slots=True)
class _Relation:
    """One box against one protected object (see `ObjectPresence`)."""

    distance_m: float | None
    overlap: float | None
    close: bool
    near: bool
    reach: bool


@dataclass(frozen=True, slots=True)
class _Placement:
    """Where one box stands: its foot point, on the plan, in which zones, near which objects."""

    xyxy: tuple[float, float, float, float]
    foot_px: tuple[float, float]
    plan_px: tuple[float, float] | None
    located_by: Literal["plan", "camera"] | None
    zones: tuple[str, ...]
    relations: dict[str, _Relation]


@dataclass
class _CameraState:
    camera_id: str
    floor_id: str
    calibration: CameraCalibration | None
    metres_per_pixel: float
    plan_objects: tuple[ProtectedObject, ...]
    image_objects: dict[str, NDArray[np.float64]]  # object id -> image polygon, frame pixels
    floor_zones: tuple[Zone, ...]
    camera_zones: tuple[str, ...]  # zones holding the camera's plan position (uncalibrated)
    still_regions: tuple[NDArray[np.float64], ...]
    snapshot: CameraPresence
    view: CameraViewChecks
    # tracks dropped after their grace time, kept `handover_s` for a new track to take over
    departed: dict[int, TrackPresence] = field(default_factory=dict)
    # the previous look's boxes that were on no confirmed track yet: (ts, xyxy)
    unconfirmed: tuple[float, NDArray[np.float32]] | None = None


class Presence:
    """Per camera, per track: where each person stands and since when, and who is a statue;
    the camera's own view is each camera's `CameraViewChecks`, fed from here.

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
                    o.id: np.asarray(o.image_regions[camera.id], dtype=np.float64)
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
                view=CameraViewChecks(
                    camera.id,
                    {
                        o.id: (o, o.image_regions[camera.id])
                        for o in site.objects_seen_by(camera.id)
                    },
                    self.config.view,
                    object_check_every_s=float(site.rules.object_missing.check_every_s),
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

    def set_status(
        self, camera_id: str, status: CameraStatus | str, at: datetime, reason: str = ""
    ) -> None:
        """A camera's status changed. An offline or stalled camera sees nobody: its tracks are
        dropped."""
        state = self._state(camera_id)
        snap = state.snapshot
        status = CameraStatus(status)
        if status == snap.status:
            return
        log.info("camera %s is %s (%s)", camera_id, status, reason or "no reason given")
        tracks = {} if status.down else snap.tracks
        if status.down:  # what it saw before says nothing of what it sees next
            state.departed, state.unconfirmed = {}, None
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
        state.view.set_empty_reference(image, ts)
        state.snapshot = replace(state.snapshot, view=state.view.view)

    def rebase_view(self, camera_id: str) -> None:
        """Accept the camera's current view (after it was deliberately moved): every reference is
        retaken from the next frames."""
        state = self._state(camera_id)
        state.view.rebase()
        state.snapshot = replace(state.snapshot, view=state.view.view, objects=state.view.objects)

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
        state.unconfirmed = (ts, _unconfirmed(obs))
        if obs.image is not None:
            occupancy = obs.people if obs.detections is None else obs.detections
            state.view.look(obs.image, (width, height), ts, occupancy)
            tracks = self._judge_still_figures(state, tracks, occupancy, ts, self.site.is_open(now))
        else:
            tracks = {tid: self._judge_still(state, t, None) for tid, t in tracks.items()}
        state.snapshot = replace(
            snap,
            frame_size=(width, height),
            last_ts=ts,
            last_frame_at=now,
            tracks=tracks,
            view=state.view.view,
            objects=state.view.objects,
        )
        return state.snapshot

    # -- people

    def _place(self, state: _CameraState, boxes: NDArray[np.float32]) -> list[_Placement]:
        """Where each box (frame pixels) stands: foot point, plan point, zones, and how it
        relates to each protected object the camera sees or whose floor it watches."""
        cfg = self.config
        if len(boxes) == 0:
            return []
        xyxy = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        feet = np.stack([(xyxy[:, 0] + xyxy[:, 2]) / 2.0, xyxy[:, 3]], axis=1)
        plan = (
            state.calibration.image_to_plan_px(feet)
            if state.calibration is not None
            else np.full((len(xyxy), 2), np.nan)
        )
        zone_hits = {z.id: point_in_polygon(plan, z.plan_polygon) for z in state.floor_zones}
        distances = {
            o.id: distance_to_polygon_m(plan, o.plan_polygon, state.metres_per_pixel)
            for o in state.plan_objects
        }
        out: list[_Placement] = []
        for i in range(len(xyxy)):
            box = (float(xyxy[i, 0]), float(xyxy[i, 1]), float(xyxy[i, 2]), float(xyxy[i, 3]))
            placed = bool(np.all(np.isfinite(plan[i])))
            if placed:
                in_zones = tuple(zid for zid, hits in zone_hits.items() if hits[i])
                located_by: Literal["plan", "camera"] | None = "plan"
            elif state.calibration is None and state.camera_zones:
                in_zones, located_by = state.camera_zones, "camera"
            else:
                in_zones, located_by = (), None
            relations: dict[str, _Relation] = {}
            for obj_id in sorted({*distances, *state.image_objects}):
                obj = self.site.protected_object(obj_id)
                dist = distances.get(obj_id)
                distance_m = float(dist[i]) if dist is not None and np.isfinite(dist[i]) else None
                overlap = None
                region = state.image_objects.get(obj_id)
                judged_in_image = region is not None and (
                    state.calibration is None or obj.kind == "painting" or obj.plan_polygon is None
                )
                reach = False
                if judged_in_image and region is not None:
                    overlap = box_polygon_overlap(box, region)
                    reach = overlap >= cfg.reach_min_overlap and (
                        distance_m is None or distance_m <= obj.min_distance_m + cfg.reach_arm_m
                    )
                if distance_m is None and overlap is None:
                    continue
                close = distance_m is not None and distance_m <= obj.min_distance_m
                if distance_m is not None:
                    near = distance_m <= max(cfg.near_object_m, obj.min_distance_m)
                else:
                    near = reach
                relations[obj_id] = _Relation(distance_m, overlap, close, near, reach)
            out.append(
                _Placement(
                    xyxy=box,
                    foot_px=(float(feet[i, 0]), float(feet[i, 1])),
                    plan_px=(float(plan[i, 0]), float(plan[i, 1])) if placed else None,
                    located_by=located_by,
                    zones=in_zones,
                    relations=relations,
                )
            )
        return out

    def _first_sighting(
        self, state: _CameraState, box: tuple[float, ...]
    ) -> tuple[float, _Placement] | None:
        """A new track's box at the camera's previous look, when the detector found it there
        but the tracker had not confirmed it yet (a track is confirmed at its second look)."""
        earlier = state.unconfirmed
        if earlier is None or len(earlier[1]) == 0:
            return None
        iou = box_iou(np.array([box], dtype=np.float64), earlier[1].astype(np.float64))[0]
        best = int(np.argmax(iou))
        if iou[best] < self.config.handover_min_iou:
            return None
        return earlier[0], self._place(state, earlier[1][best : best + 1])[0]

    def _update_tracks(
        self, state: _CameraState, people: Detections, ts: float
    ) -> dict[int, TrackPresence]:
        cfg = self.config
        previous = state.snapshot.tracks
        people = people[people.track_id >= 0]
        placements = self._place(state, people.xyxy)
        reported = {int(t) for t in people.track_id}
        state.departed = {
            tid: gone
            for tid, gone in state.departed.items()
            if ts - gone.last_seen_ts <= cfg.handover_s and tid not in reported
        }
        out: dict[int, TrackPresence] = {}
        taken_over: set[int] = set()  # tracks in their grace time that a new track continues
        for tid, here in zip((int(t) for t in people.track_id), placements, strict=True):
            box = here.xyxy
            prev = previous.get(tid)
            before: TrackPresence | None = None
            first: tuple[float, _Placement] | None = None
            if prev is None:
                # a new track where a person's track just ended: that person (see handover_s)
                before = self._predecessor(state, box, ts, reported | taken_over)
                if before is not None and ts - before.last_seen_ts <= cfg.grace_s:
                    prev = before  # lost for a moment under another id: their times go on
                    taken_over.add(before.track_id)
                else:
                    first = self._first_sighting(state, box)
            then_ts, then = first if first is not None else (ts, None)
            zones = {
                z: _since(
                    True,
                    prev.zones.get(z) if prev else None,
                    then is not None and z in then.zones,
                    then_ts,
                    ts,
                )
                for z in here.zones
            }
            objects: dict[str, ObjectPresence] = {}
            for obj_id, rel in here.relations.items():
                old = prev.objects.get(obj_id) if prev else None
                was = then.relations.get(obj_id) if then is not None else None
                objects[obj_id] = ObjectPresence(
                    object_id=obj_id,
                    distance_m=rel.distance_m,
                    overlap=rel.overlap,
                    close_since_ts=_since(
                        rel.close,
                        old.close_since_ts if old else None,
                        was is not None and was.close,
                        then_ts,
                        ts,
                    ),
                    near_since_ts=_since(
                        rel.near,
                        old.near_since_ts if old else None,
                        was is not None and was.near,
                        then_ts,
                        ts,
                    ),
                    reach_since_ts=_since(
                        rel.reach,
                        old.reach_since_ts if old else None,
                        was is not None and was.reach,
                        then_ts,
                        ts,
                    ),
                )

            first_xyxy = prev.first_xyxy if prev else then.xyxy if then is not None else box
            shift = _box_shift(first_xyxy, box)
            max_shift = max(shift, prev.max_shift if prev else 0.0)
            out[tid] = TrackPresence(
                camera_id=state.camera_id,
                track_id=tid,
                xyxy=box,
                foot_px=here.foot_px,
                plan_px=here.plan_px,
                located_by=here.located_by,
                first_seen_ts=prev.first_seen_ts if prev else then_ts,
                last_seen_ts=ts,
                visible=True,
                zones=zones,
                objects=objects,
                first_xyxy=first_xyxy,
                max_shift=max_shift,
                moved=(prev.moved if prev else before is not None and before.moved)
                or max_shift > cfg.still_max_shift,
                reference_change=prev.reference_change if prev and prev.track_id == tid else None,
                still_figure=prev.still_figure if prev and prev.track_id == tid else None,
                follows_track_id=(
                    before.track_id
                    if before is not None
                    else prev.follows_track_id
                    if prev
                    else None
                ),
            )
        for tid, prev in previous.items():
            if tid in out or tid in taken_over:
                continue
            if ts - prev.last_seen_ts > cfg.grace_s:
                log.debug(
                    "camera %s: track %d gone for %.1f s, dropped",
                    state.camera_id,
                    tid,
                    ts - prev.last_seen_ts,
                )
                state.departed[tid] = prev
                continue
            out[tid] = replace(prev, visible=False)
        return out

    def _predecessor(
        self,
        state: _CameraState,
        box: tuple[float, ...],
        ts: float,
        reported: set[int],
    ) -> TrackPresence | None:
        """The person whose track ended on this new track's box within `handover_s` (in its
        grace time now, or dropped), best overlap first; None if nobody's did."""
        cfg = self.config
        candidates = [
            t
            for t in (*state.snapshot.tracks.values(), *state.departed.values())
            if t.track_id not in reported and ts - t.last_seen_ts <= cfg.handover_s
        ]
        if not candidates:
            return None
        iou = box_iou(
            np.array([box], dtype=np.float64),
            np.array([t.xyxy for t in candidates], dtype=np.float64),
        )[0]
        best = int(np.argmax(iou))
        if iou[best] < cfg.handover_min_iou:
            return None
        before = candidates[best]
        log.debug(
            "camera %s: a new track starts where track %d (%s) was last seen %.1f s before: "
            "the same person",
            state.camera_id,
            before.track_id,
            "moved" if before.moved else "never moved",
            ts - before.last_seen_ts,
        )
        return before

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

    def _judge_still_figures(
        self,
        state: _CameraState,
        tracks: dict[int, TrackPresence],
        occupancy: Detections,
        ts: float,
        museum_open: bool,
    ) -> dict[int, TrackPresence]:
        """After the camera view's look: label never-moving boxes that match the empty-gallery
        reference, and tell the camera view whether the gallery was empty (the automatic
        reference is taken from open hours only, see `console.camera_view`)."""
        view = state.view
        judged = {
            tid: self._judge_still(
                state,
                track,
                view.reference_change(track.xyxy) if track.visible and not track.moved else None,
            )
            for tid, track in tracks.items()
        }
        # The gallery is empty when nobody at all is seen: no track (not even one the detector
        # lost a moment ago, nor a known still figure) and no box, tracked or not. A camera that
        # starts with a person standing still, or a person the detector misses now and then,
        # must never be learned as part of the empty gallery.
        view.note_empty_gallery(
            ts, nobody_seen=not judged and len(occupancy) == 0, museum_open=museum_open
        )
        return judged


# --------------------------------------------------------------------------- small helpers


def _unconfirmed(obs: Observation) -> NDArray[np.float32]:
    """The observation's boxes that are on no confirmed track (the tracker's tentative ones)."""
    if obs.detections is None or len(obs.detections) == 0:
        return np.zeros((0, 4), dtype=np.float32)
    boxes = obs.detections.xyxy
    tracked = obs.people.xyxy[obs.people.track_id >= 0]
    if len(tracked) == 0:
        return boxes
    same = box_iou(boxes.astype(np.float64), tracked.astype(np.float64)).max(axis=1) > 0.95
    return boxes[~same]


def _since(
    holds: bool, kept: float | None, held_then: bool, then_ts: float, ts: float
) -> float | None:
    """Since when a condition holds: as it was kept, else from the first sighting `then_ts` if
    it held there too, else from now; None when it does not hold."""
    if not holds:
        return None
    if kept is not None:
        return kept
    return then_ts if held_then else ts


def _box_shift(first: Sequence[float], box: Sequence[float]) -> float:
    """How far a box moved or changed size since `first`, in units of the first box's height."""
    h0 = max(1.0, first[3] - first[1])
    dcx = abs((box[0] + box[2]) - (first[0] + first[2])) / 2.0
    dcy = abs((box[1] + box[3]) - (first[1] + first[3])) / 2.0
    dw = abs((box[2] - box[0]) - (first[2] - first[0]))
    dh = abs((box[3] - box[1]) - (first[3] - first[1]))
    return max(dcx, dcy, dw, dh) / h0
