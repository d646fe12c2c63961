"""One tracker per camera: stable track ids for the people a detector finds (ByteTrack, in numpy).

The method is ByteTrack (Zhang et al., 2022): a Kalman filter predicts every track's box, tracks
are matched first to the high-score detections, then the tracks still unmatched to the low-score
ones (a half-hidden person often scores low), a new track starts from an unmatched high-score
detection and is confirmed once it has been seen in consecutive updates, and a track nobody matches
is kept as lost for a while so a person who steps behind a showcase keeps their id.

Unlike the reference implementation, time is measured in seconds, not frames: the scheduler skips
frames, so updates arrive at irregular intervals. The Kalman prediction covers the elapsed time
`dt` of each update, a tentative track's gate widens with `dt` (it has no speed yet to predict
with), and a lost track is removed `max_lost_s` seconds after it was last seen. Each
`PersonTracker` owns its id counter, so each camera numbers its people from 1.

This module needs numpy and `lap` only (never torch):

    tracker = PersonTracker()
    people = tracker.update(detector.detect([frame])[0], ts=ref.ts)
    people.track_id       # (N,) ids of confirmed tracks, one per returned detection
    tracker.tracks        # Track records: id, box, first/last seen, foot point
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import lap
import numpy as np

from inference.detections import PERSON_CLASS_ID, Detections, box_iou

log = logging.getLogger(__name__)

__all__ = ["PersonTracker", "Track", "TrackerConfig"]


@dataclass(frozen=True, slots=True)
class TrackerConfig:
    """How a `PersonTracker` matches detections to tracks; scores are detector confidences, 0..1."""

    high_score: float = 0.4
    """Detections scoring at least this go into the first association (and may start tracks).
    0.4, not ByteTrack's 0.5: the offline SSDLite model keeps boxes from 0.35 and scores small or
    half-hidden people 0.35-0.5; at 0.5 they could never start a track (ultralytics' ByteTrack
    uses 0.25). Measured on vtest.avi (bench/approach_recall.py): approaches to an object found
    at 0.2 s looks 44 of 52 with 0.5, 46 with 0.4, no finding away from the object added."""
    low_score: float = 0.1
    """Detections scoring in [low_score, high_score) may only continue an already tracked person."""
    new_track_score: float = 0.4
    """An unmatched high-score detection starts a new track only if it scores at least this."""
    match_iou: float = 0.2
    """First association: least IoU between a predicted track box and a high-score detection
    (multiplied by the detection's score first when `fuse_score` is set)."""
    low_match_iou: float = 0.5
    """Second association: least IoU between a still unmatched track and a low-score detection."""
    confirm_match_iou: float = 0.3
    """Least IoU (score-fused like `match_iou`) for a tentative track to take its next detection."""
    fuse_score: bool = False
    """Weigh IoU by detection score in the first and tentative associations, as ultralytics'
    ByteTrack does. Off by default: it suits well calibrated scores at 30 fps; with the offline
    SSDLite model's looser scores and the scheduler's skipped frames it breaks more tracks."""
    birth_walk_per_s: float = 0.8
    """A tentative track has no speed yet, so its predicted box stays where it was first seen.
    Before the IoU test against its next detection, both boxes are grown on every side by this
    many box heights per second since the previous update (at most half a height): a person
    walks about 0.8 of their height a second (1.4 m/s, 1.7 m tall). At 10 fps this hardly
    matters; at the 0.3-0.5 s between looks of a busy camera a walking person moves more than
    their own width, out of a plain IoU gate, and would never be confirmed."""
    confirm_updates: int = 2
    """A new track is confirmed (gets an id) once seen in this many consecutive updates."""
    max_lost_s: float = 2.0
    """A confirmed track unseen for longer than this many seconds is removed; ids are not reused."""
    duplicate_iou: float = 0.85
    """A lost track overlapping a tracked one by more than this is a duplicate and is dropped."""

    def __post_init__(self) -> None:
        for name in ("high_score", "low_score", "new_track_score"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"TrackerConfig.{name} must lie in [0, 1], got {value!r}")
        for name in ("match_iou", "low_match_iou", "confirm_match_iou", "duplicate_iou"):
            value = getattr(self, name)
            if not 0.0 < value <= 1.0:
                raise ValueError(f"TrackerConfig.{name} must lie in (0, 1], got {value!r}")
        if self.low_score > self.high_score:
            raise ValueError(
                f"TrackerConfig.low_score ({self.low_score!r}) is above "
                f"high_score ({self.high_score!r})"
            )
        if self.confirm_updates < 1:
            raise ValueError(
                f"TrackerConfig.confirm_updates must be at least 1, got {self.confirm_updates!r}"
            )
        if not (math.isfinite(self.birth_walk_per_s) and self.birth_walk_per_s >= 0.0):
            raise ValueError(
                "TrackerConfig.birth_walk_per_s must be a finite number >= 0, "
                f"got {self.birth_walk_per_s!r}"
            )
        if not (math.isfinite(self.max_lost_s) and self.max_lost_s >= 0.0):
            raise ValueError(
                f"TrackerConfig.max_lost_s must be a finite number >= 0, got {self.max_lost_s!r}"
            )


@dataclass(frozen=True, slots=True)
class Track:
    """A confirmed person track as the rules see it, at the tracker's latest update.

    `xyxy` is the person's last detected box in image pixels; `last_seen_ts` is when it was
    detected. A `lost` track was not seen in the latest update but is kept (for up to
    `TrackerConfig.max_lost_s`) in case the person reappears.
    """

    track_id: int
    xyxy: tuple[float, float, float, float]
    confidence: float
    first_seen_ts: float
    last_seen_ts: float
    lost: bool

    @property
    def foot_point(self) -> tuple[float, float]:
        """Bottom centre of the box, image pixels: where the person stands."""
        x1, _, x2, y2 = self.xyxy
        return ((x1 + x2) / 2.0, y2)

    @property
    def seen_for_s(self) -> float:
        """Seconds between the first and the latest detection of this person."""
        return self.last_seen_ts - self.first_seen_ts


# --- Kalman filter on (centre x, centre y, aspect w/h, height) and their rates per second -------
#
# Noise levels follow ByteTrack's, which are tuned per frame of 30 fps video, converted to rates
# per second: the process noise variance grows linearly with the elapsed time, so two updates 0.1 s
# apart add the same uncertainty as one update 0.2 s apart. Position-like noise scales with the
# box height, so near and far people are treated alike.

_REF_RATE_HZ = 30.0  # the frame rate ByteTrack's constants were tuned for
_POS_STD = 1.0 / 20.0  # of the height, per reference frame (process) and per measurement
_VEL_STD = 1.0 / 160.0  # of the height per reference frame, per reference frame
_ASPECT_STD = 1e-2
_ASPECT_VEL_STD = 1e-5
_MEASURE_ASPECT_STD = 1e-1

_NDIM = 4
_H = np.eye(_NDIM, 2 * _NDIM)


def _xyxy_to_xyah(boxes: np.ndarray) -> np.ndarray:
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    return np.stack(
        [(boxes[:, 0] + boxes[:, 2]) / 2.0, (boxes[:, 1] + boxes[:, 3]) / 2.0, w / h, h], axis=1
    )


def _xyah_to_xyxy(state: np.ndarray) -> np.ndarray:
    state = np.asarray(state, dtype=np.float64).reshape(-1, state.shape[-1])
    h = state[:, 3]
    w = state[:, 2] * h
    cx, cy = state[:, 0], state[:, 1]
    return np.stack([cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0], axis=1)


def _kalman_initiate(measurement: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    h = measurement[3]
    mean = np.concatenate([measurement, np.zeros(_NDIM)])
    vel = 10.0 * _VEL_STD * h * _REF_RATE_HZ  # per second
    std = np.array(
        [
            2.0 * _POS_STD * h,
            2.0 * _POS_STD * h,
            _ASPECT_STD,
            2.0 * _POS_STD * h,
            vel,
            vel,
            _ASPECT_VEL_STD * _REF_RATE_HZ,
            vel,
        ]
    )
    return mean, np.diag(std**2)


def _kalman_predict(
    means: np.ndarray, covariances: np.ndarray, dt_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """Advance N states (N, 8) and covariances (N, 8, 8) by `dt_s` seconds, constant velocity."""
    if dt_s <= 0.0 or len(means) == 0:
        return means, covariances
    motion = np.eye(2 * _NDIM)
    motion[np.arange(_NDIM), _NDIM + np.arange(_NDIM)] = dt_s
    h = means[:, 3]
    steps = dt_s * _REF_RATE_HZ  # elapsed time in reference frames
    pos_var = (_POS_STD * h) ** 2 * steps
    vel_var = (_VEL_STD * h * _REF_RATE_HZ) ** 2 * steps
    ones = np.ones_like(h)
    variances = np.stack(
        [
            pos_var,
            pos_var,
            _ASPECT_STD**2 * steps * ones,
            pos_var,
            vel_var,
            vel_var,
            (_ASPECT_VEL_STD * _REF_RATE_HZ) ** 2 * steps * ones,
            vel_var,
        ],
        axis=1,
    )
    means = means @ motion.T
    means[:, 3] = np.maximum(means[:, 3], 1.0)  # a shrinking box never turns inside out
    covariances = motion @ covariances @ motion.T
    idx = np.arange(2 * _NDIM)
    covariances[:, idx, idx] += variances
    return means, covariances


def _kalman_update(
    mean: np.ndarray, covariance: np.ndarray, measurement: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    h = mean[3]
    noise = np.diag(np.square([_POS_STD * h, _POS_STD * h, _MEASURE_ASPECT_STD, _POS_STD * h]))
    projected_cov = _H @ covariance @ _H.T + noise
    gain = np.linalg.solve(projected_cov, _H @ covariance).T  # covariance H^T S^-1 (S symmetric)
    innovation = measurement - mean[:_NDIM]
    new_mean = mean + gain @ innovation
    new_cov = covariance - gain @ projected_cov @ gain.T
    return new_mean, new_cov


# --- tracks -------------------------------------------------------------------------------------

_TENTATIVE, _TRACKED, _LOST = "tentative", "tracked", "lost"
_MAX_BIRTH_BUFFER = 0.5  # box heights: a tentative track's gate never grows wider than this


@dataclass(slots=True, eq=False)
class _TrackState:
    """One track's mutable state inside a tracker; never shared outside it."""

    mean: np.ndarray
    covariance: np.ndarray
    xyxy: np.ndarray  # last detected box
    confidence: float
    first_seen_ts: float
    last_seen_ts: float
    status: str = _TENTATIVE
    hits: int = 1  # consecutive updates seen while tentative
    track_id: int = -1  # assigned on confirmation
    matched_det: int = -1  # index into this update's detections, -1 if unmatched

    def record(self) -> Track:
        x1, y1, x2, y2 = (float(v) for v in self.xyxy)
        return Track(
            track_id=self.track_id,
            xyxy=(x1, y1, x2, y2),
            confidence=self.confidence,
            first_seen_ts=self.first_seen_ts,
            last_seen_ts=self.last_seen_ts,
            lost=self.status == _LOST,
        )


def _buffered(boxes: np.ndarray, heights: float) -> np.ndarray:
    """Boxes grown on every side by `heights` times their own height."""
    grow = heights * (boxes[:, 3] - boxes[:, 1])
    return boxes + np.stack([-grow, -grow, grow, grow], axis=1)


def _match(cost: np.ndarray, max_cost: float) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """Least-cost one-to-one matching of rows to columns; pairs above `max_cost` stay unmatched."""
    rows, cols = cost.shape
    if cost.size == 0:
        return [], list(range(rows)), list(range(cols))
    _, row_to_col, col_to_row = lap.lapjv(
        np.ascontiguousarray(cost, dtype=np.float64), extend_cost=True, cost_limit=max_cost
    )
    pairs = [(int(r), int(c)) for r, c in enumerate(row_to_col) if c >= 0]
    return (
        pairs,
        [int(r) for r in np.flatnonzero(row_to_col < 0)],
        [int(c) for c in np.flatnonzero(col_to_row < 0)],
    )


class PersonTracker:
    """ByteTrack for one camera: `update(dets, ts)` once per processed frame, in time order.

    `ts` is the frame's timestamp in seconds (any monotonic origin); updates may come at irregular
    intervals. Only person detections are tracked; other classes are ignored.
    """

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        self._tracks: list[_TrackState] = []
        self._next_id = 1
        self._last_ts: float | None = None

    def reset(self) -> None:
        """Forget every track and restart ids at 1 (e.g. when a replay restarts)."""
        self._tracks = []
        self._next_id = 1
        self._last_ts = None

    @property
    def tracks(self) -> list[Track]:
        """Confirmed tracks still alive after the latest update, tracked and lost, by id."""
        return sorted(
            (t.record() for t in self._tracks if t.status != _TENTATIVE),
            key=lambda t: t.track_id,
        )

    def update(self, dets: Detections, ts: float) -> Detections:
        """Associate this frame's detections with the tracks; returns the detections of confirmed
        tracks, in input order, with `track_id` set. Detections not (yet) on a confirmed track are
        left out."""
        ts = float(ts)
        if not math.isfinite(ts):
            raise ValueError(
                f"PersonTracker.update: ts must be a finite number of seconds, got {ts}"
            )
        if self._last_ts is not None and ts < self._last_ts:
            raise ValueError(
                f"PersonTracker.update: ts {ts:.3f} s is before the previous update's "
                f"{self._last_ts:.3f} s; call reset() to start over"
            )
        dt_s = 0.0 if self._last_ts is None else ts - self._last_ts
        self._last_ts = ts
        cfg = self.config

        self._predict(dt_s)
        for track in self._tracks:
            track.matched_det = -1

        boxes = dets.xyxy.astype(np.float64)
        scores = dets.confidence.astype(np.float64)
        usable = (
            (dets.class_id == PERSON_CLASS_ID)
            & (boxes[:, 2] > boxes[:, 0])
            & (boxes[:, 3] > boxes[:, 1])
            & np.isfinite(boxes).all(axis=1)
        )
        high = np.flatnonzero(usable & (scores >= cfg.high_score))
        low = np.flatnonzero(usable & (scores >= cfg.low_score) & (scores < cfg.high_score))

        confirmed = [t for t in self._tracks if t.status in (_TRACKED, _LOST)]
        tentative = [t for t in self._tracks if t.status == _TENTATIVE]
        predicted = {id(t): _xyah_to_xyxy(t.mean[None, :])[0] for t in self._tracks}

        def cost(
            tracks: list[_TrackState], det_idx: np.ndarray, fuse: bool, buffer: float = 0.0
        ) -> np.ndarray:
            if not tracks or len(det_idx) == 0:
                return np.zeros((len(tracks), len(det_idx)))
            ours = np.array([predicted[id(t)] for t in tracks])
            theirs = boxes[det_idx]
            if buffer > 0:
                ours, theirs = _buffered(ours, buffer), _buffered(theirs, buffer)
            iou = box_iou(ours, theirs)
            return 1.0 - (iou * scores[det_idx][None, :] if fuse else iou)

        # 1. confirmed tracks (tracked and lost) against high-score detections
        pairs, left_tracks, left_high = _match(
            cost(confirmed, high, cfg.fuse_score), 1.0 - cfg.match_iou
        )
        for ti, di in pairs:
            self._apply(confirmed[ti], int(high[di]), boxes, scores, ts)

        # 2. tracks that were tracked until now against low-score detections, IoU only
        still_tracked = [confirmed[i] for i in left_tracks if confirmed[i].status == _TRACKED]
        pairs, unmatched, _ = _match(cost(still_tracked, low, False), 1.0 - cfg.low_match_iou)
        for ti, di in pairs:
            self._apply(still_tracked[ti], int(low[di]), boxes, scores, ts)
        for i in unmatched:
            still_tracked[i].status = _LOST

        # 3. tentative tracks against the high-score detections left, boxes grown for the time
        #    since the previous update (a tentative track has no speed yet); a miss ends them
        high_left = high[left_high]
        buffer = min(_MAX_BIRTH_BUFFER, cfg.birth_walk_per_s * dt_s)
        pairs, unmatched, left = _match(
            cost(tentative, high_left, cfg.fuse_score, buffer), 1.0 - cfg.confirm_match_iou
        )
        removed: set[int] = set()
        for ti, di in pairs:
            track = tentative[ti]
            self._apply(track, int(high_left[di]), boxes, scores, ts)
            track.hits += 1
            if track.hits >= cfg.confirm_updates:
                self._confirm(track)
        for i in unmatched:
            removed.add(id(tentative[i]))

        # 4. new tentative tracks from the high-score detections nobody took
        for di in high_left[left]:
            if scores[di] < cfg.new_track_score:
                continue
            mean, covariance = _kalman_initiate(_xyxy_to_xyah(boxes[di])[0])
            track = _TrackState(
                mean=mean,
                covariance=covariance,
                xyxy=boxes[di].copy(),
                confidence=float(scores[di]),
                first_seen_ts=ts,
                last_seen_ts=ts,
                matched_det=int(di),
            )
            self._tracks.append(track)
            if cfg.confirm_updates <= 1:
                self._confirm(track)

        # 5. forget lost tracks unseen for too long, and lost duplicates of tracked ones
        for track in self._tracks:
            if track.status == _LOST and ts - track.last_seen_ts > cfg.max_lost_s:
                removed.add(id(track))
        removed |= self._duplicates()
        if removed:
            self._tracks = [t for t in self._tracks if id(t) not in removed]

        track_ids = np.full(len(dets), -1, dtype=np.int64)
        for track in self._tracks:
            if track.matched_det >= 0 and track.status == _TRACKED:
                track_ids[track.matched_det] = track.track_id
        return dets.with_track_ids(track_ids)[track_ids >= 0]

    # --- steps ----------------------------------------------------------------------------------

    def _predict(self, dt_s: float) -> None:
        if not self._tracks or dt_s <= 0.0:
            return
        means = np.array([t.mean for t in self._tracks])
        covariances = np.array([t.covariance for t in self._tracks])
        lost = np.array([t.status == _LOST for t in self._tracks])
        means[lost, 7] = 0.0  # a hidden person's box does not keep growing or shrinking
        means, covariances = _kalman_predict(means, covariances, dt_s)
        for track, mean, covariance in zip(self._tracks, means, covariances, strict=True):
            track.mean, track.covariance = mean, covariance

    def _apply(
        self, track: _TrackState, det: int, boxes: np.ndarray, scores: np.ndarray, ts: float
    ) -> None:
        track.mean, track.covariance = _kalman_update(
            track.mean, track.covariance, _xyxy_to_xyah(boxes[det])[0]
        )
        if track.status == _LOST:
            log.debug("track %d found again after %.2f s", track.track_id, ts - track.last_seen_ts)
            track.status = _TRACKED
        track.xyxy = boxes[det].copy()
        track.confidence = float(scores[det])
        track.last_seen_ts = ts
        track.matched_det = det

    def _confirm(self, track: _TrackState) -> None:
        track.status = _TRACKED
        track.track_id = self._next_id
        self._next_id += 1

    def _duplicates(self) -> set[int]:
        """Lost tracks whose predicted box nearly coincides with a tracked one; the younger goes."""
        tracked = [t for t in self._tracks if t.status == _TRACKED]
        lost = [t for t in self._tracks if t.status == _LOST]
        if not tracked or not lost:
            return set()
        iou = box_iou(
            _xyah_to_xyxy(np.array([t.mean for t in tracked])),
            _xyah_to_xyxy(np.array([t.mean for t in lost])),
        )
        out: set[int] = set()
        for i, j in zip(*np.nonzero(iou > self.config.duplicate_iou), strict=True):
            a, b = tracked[i], lost[j]
            age_a = a.last_seen_ts - a.first_seen_ts
            age_b = b.last_seen_ts - b.first_seen_ts
            out.add(id(b) if age_b <= age_a else id(a))
        return out
