"""Calibration by eye: a camera's image mapped onto the floor plan from clicked point pairs.

The supervisor clicks at least four points on the floor in the camera image and the same points
on the plan. `fit_calibration` fits the homography (OpenCV's `findHomography`: plain least
squares, or RANSAC to find a mis-clicked pair), and says what the fit means in the museum's
units, so a wrong calibration is visible at once:

- each pair's reprojection error in metres on the plan (the clicked plan point against where
  the image point lands), the RMS and the worst;
- the floor grid: lines every metre on the plan, clipped to what the camera sees of the floor,
  mapped into the image (draw them over the live picture: they must lie flat on the floor);
- the camera's footprint: the part of the image that shows floor, mapped onto the plan and
  clipped short of the horizon (draw it on the plan: it must cover what the camera guards);
- the horizon line in the image, beyond which no point is on the floor.

A set that cannot define a floor mapping is refused with `CalibrationRefused` and a reason the
editor shows beside the points: fewer than four pairs, a point given twice, points of one side
(nearly) on one line, pairs that disagree, a mapping that mirrors the floor (pairs out of
order), or one that puts the bottom of the image beyond the horizon. The refusals of
`console.floor_plan.fit_homography` (what `nightwatch check` runs) are all among them, so a set
the editor accepts also loads.

Everything is returned as plain tuples of points (image or plan pixels) that the UI draws with
whatever it likes; `draw_overlay` and `draw_footprint` draw them with OpenCV (for snapshots,
reports and tests). The runtime maps foot points with `console.floor_plan.CameraCalibration`
(a normalised DLT fit of the same pairs): with four pairs both are exact, and with more, jittery
pairs they agree to a centimetre or so on the floor (a unit test checks this).

Thread: any; pure functions over numpy, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
from numpy.typing import ArrayLike, NDArray

from console.floor_plan import CalibrationError, CameraCalibration, fit_homography

__all__ = [
    "CalibrationFit",
    "CalibrationRefused",
    "GridLine",
    "PairError",
    "draw_footprint",
    "draw_overlay",
    "fit_calibration",
    "footprint_on_plan",
]

FloatArray = NDArray[np.float64]
Pt = tuple[float, float]

DEFAULT_MAX_RANGE_M = 40.0  # the footprint stops this far from the calibration points
HORIZON_MARGIN = 0.05  # the footprint keeps off the last 5 % of w before the horizon
MAX_GRID_LINES = 400  # per axis: a plan of 400 m at 1 m


class CalibrationRefused(ValueError):
    """The point pairs do not define a floor mapping. `reason` says why in words; `side` is
    "image" or "plan" when one list is at fault; `pairs` the 0-based pairs concerned (if any)."""

    def __init__(self, reason: str, side: str | None = None, pairs: Sequence[int] = ()) -> None:
        self.reason = reason
        self.side = side
        self.pairs = tuple(pairs)
        super().__init__(f"{side} points: {reason}" if side else reason)


@dataclass(frozen=True, slots=True)
class PairError:
    """One clicked pair: where its image point lands on the plan, and how far (metres) that is
    from the clicked plan point. `inlier` is False for a pair RANSAC left out."""

    index: int
    image_px: Pt
    plan_px: Pt
    mapped_plan_px: Pt
    error_m: float
    inlier: bool = True


@dataclass(frozen=True, slots=True)
class GridLine:
    """A plan line at `value_m` metres along `axis` (x: a vertical line, y: a horizontal one),
    clipped to the footprint; its ends on the plan and in the image."""

    axis: Literal["x", "y"]
    value_m: float
    plan_px: tuple[Pt, Pt]
    image_px: tuple[Pt, Pt]


@dataclass(frozen=True, slots=True)
class CalibrationFit:
    """A fitted calibration and everything the editor draws and shows about it."""

    matrix: FloatArray  # homogeneous image px -> homogeneous plan px
    metres_per_pixel: float
    frame_size: tuple[int, int]  # the image area the footprint was worked out for
    pairs: tuple[PairError, ...]
    rms_m: float  # over the inliers
    worst_m: float  # over the inliers
    horizon_px: tuple[Pt, Pt] | None  # the horizon line where it crosses the frame
    floor_image_px: tuple[Pt, ...]  # the part of the frame that shows floor (clipped)
    footprint_plan_px: tuple[Pt, ...]  # the same region on the plan
    grid: tuple[GridLine, ...]
    w_sign: float  # sign of w on the floor side of the horizon
    method: str = "least_squares"

    @property
    def outliers(self) -> tuple[int, ...]:
        """Pairs RANSAC found to disagree with the others (0-based)."""
        return tuple(p.index for p in self.pairs if not p.inlier)

    def image_to_plan_px(self, points: ArrayLike) -> FloatArray:
        """(N, 2) image px -> (N, 2) plan px; NaN beyond the horizon."""
        return _map(self.matrix, points, self.w_sign)

    def plan_to_image_px(self, points: ArrayLike) -> FloatArray:
        """(N, 2) plan px -> (N, 2) image px."""
        return _map(np.linalg.inv(self.matrix), points, None)

    def worst_pair(self) -> PairError | None:
        inliers = [p for p in self.pairs if p.inlier]
        return max(inliers, key=lambda p: p.error_m) if inliers else None

    def runtime_calibration(self) -> CameraCalibration:
        """What the console will run with once these pairs are saved (the site file's fit)."""
        image = [p.image_px for p in self.pairs if p.inlier]
        plan = [p.plan_px for p in self.pairs if p.inlier]
        return CameraCalibration.from_points(image, plan, self.metres_per_pixel)


# --------------------------------------------------------------------------- the fit


def fit_calibration(
    image_points: ArrayLike,
    plan_points: ArrayLike,
    metres_per_pixel: float,
    frame_size: tuple[int, int] | None = None,
    *,
    method: Literal["least_squares", "ransac"] = "least_squares",
    ransac_threshold_m: float = 0.3,
    plan_size: tuple[int, int] | None = None,
    grid_step_m: float = 1.0,
    max_range_m: float = DEFAULT_MAX_RANGE_M,
) -> CalibrationFit:
    """Fit the image -> plan homography of clicked pairs; `CalibrationRefused` says why not.

    `frame_size` (width, height) is the camera frame's; without it, the box of the image points
    stands in. `plan_size` bounds the footprint to the plan image. With `method="ransac"`, pairs
    more than `ransac_threshold_m` off are left out of the fit and marked (`outliers`); at least
    four must agree.
    """
    if not (math.isfinite(metres_per_pixel) and metres_per_pixel > 0):
        raise CalibrationRefused(
            f"the plan's metres_per_pixel must be > 0 (got {metres_per_pixel})"
        )
    src = _pairs_side(image_points, "image")
    dst = _pairs_side(plan_points, "plan")
    if len(src) != len(dst):
        raise CalibrationRefused(
            f"needs one plan point per image point ({len(src)} image, {len(dst)} plan)", "plan"
        )
    if len(src) < 4:
        raise CalibrationRefused(
            f"needs at least 4 point pairs (got {len(src)}): click {4 - len(src)} more",
            "image",
        )
    inliers = np.ones(len(src), dtype=bool)
    if method == "ransac" and len(src) > 4:
        threshold_px = ransac_threshold_m / metres_per_pixel
        _, mask = cv2.findHomography(src, dst, cv2.RANSAC, threshold_px)
        if mask is not None:
            inliers = mask.ravel().astype(bool)
        if int(inliers.sum()) < 4:
            raise CalibrationRefused(
                f"only {int(inliers.sum())} pairs agree with each other: check the pairs' order"
            )
    elif method not in ("least_squares", "ransac"):
        raise ValueError(f"method must be 'least_squares' or 'ransac' (got {method!r})")
    used_src, used_dst = src[inliers], dst[inliers]
    # the checks `nightwatch check` runs (coincident, collinear, both sides of the horizon,
    # pairs that disagree): refused here too, with the pairs named where they can be
    try:
        fit_homography(used_src, used_dst)
    except CalibrationError as exc:
        raise CalibrationRefused(exc.reason, exc.side, _pairs_named(exc.reason)) from None
    matrix, _ = cv2.findHomography(used_src, used_dst, 0)
    if matrix is None or not np.all(np.isfinite(matrix)):
        raise CalibrationRefused("the point pairs do not determine a homography (degenerate)")
    matrix = matrix / matrix[2, 2] if abs(matrix[2, 2]) > 1e-12 else matrix
    _, w = _homogeneous(matrix, used_src)
    w_sign = float(np.sign(w[0]))
    if float(np.linalg.det(matrix)) * w_sign <= 0:
        raise CalibrationRefused(
            "the mapping mirrors the floor, as if seen from below: two pairs are swapped",
            "plan",
        )
    if frame_size is None:
        high = src.max(axis=0)  # the box from the image's corner to the farthest point
        frame = (max(1, math.ceil(high[0])), max(1, math.ceil(high[1])))
    else:
        frame = (int(frame_size[0]), int(frame_size[1]))
    width, height = frame
    bottom = np.array([[0.0, height], [width / 2, height], [float(width), float(height)]])
    _, w_bottom = _homogeneous(matrix, bottom)
    if np.any(w_bottom * w_sign <= 0):
        raise CalibrationRefused(
            "the bottom of the image would lie beyond the horizon (the floor upside down): the "
            "pairs are out of order",
            "image",
        )

    mapped = _map(matrix, src, w_sign)
    errors_m = np.hypot(*(mapped - dst).T) * metres_per_pixel
    pairs = tuple(
        PairError(
            index=i,
            image_px=(float(src[i, 0]), float(src[i, 1])),
            plan_px=(float(dst[i, 0]), float(dst[i, 1])),
            mapped_plan_px=(float(mapped[i, 0]), float(mapped[i, 1])),
            error_m=float(errors_m[i]) if np.isfinite(errors_m[i]) else math.inf,
            inlier=bool(inliers[i]),
        )
        for i in range(len(src))
    )
    used_errors = errors_m[inliers]
    floor_image, footprint = _footprint(
        matrix, w_sign, frame, dst[inliers], metres_per_pixel, plan_size, max_range_m
    )
    grid = _grid(matrix, footprint, metres_per_pixel, grid_step_m)
    return CalibrationFit(
        matrix=matrix,
        metres_per_pixel=float(metres_per_pixel),
        frame_size=frame,
        pairs=pairs,
        rms_m=float(np.sqrt(np.mean(used_errors**2))),
        worst_m=float(used_errors.max()),
        horizon_px=_horizon(matrix, frame),
        floor_image_px=floor_image,
        footprint_plan_px=footprint,
        grid=grid,
        w_sign=w_sign,
        method=method,
    )


def footprint_on_plan(
    image_points: ArrayLike,
    plan_points: ArrayLike,
    metres_per_pixel: float,
    frame_size: tuple[int, int],
    plan_size: tuple[int, int] | None = None,
    max_range_m: float = DEFAULT_MAX_RANGE_M,
) -> tuple[Pt, ...]:
    """The camera's footprint on the plan (plan px) for a calibration that loads; () when the
    pairs are refused. What `nightwatch check` compares the guarded objects with."""
    try:
        fit = fit_calibration(
            image_points,
            plan_points,
            metres_per_pixel,
            frame_size,
            plan_size=plan_size,
            grid_step_m=0.0,
            max_range_m=max_range_m,
        )
    except CalibrationRefused:
        return ()
    return fit.footprint_plan_px


# --------------------------------------------------------------------------- geometry


def _pairs_side(values: ArrayLike, side: str) -> FloatArray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 0:
        return arr.reshape(0, 2)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise CalibrationRefused(f"must be a list of [x, y] points (got shape {arr.shape})", side)
    if not np.all(np.isfinite(arr)):
        raise CalibrationRefused("holds a value that is not a finite number", side)
    return arr


def _pairs_named(reason: str) -> tuple[int, ...]:
    """'points 2 and 5 coincide' -> (1, 4)."""
    words = reason.replace(",", " ").split()
    if len(words) >= 4 and words[0] == "points" and words[2] == "and":
        try:
            return (int(words[1]) - 1, int(words[3]) - 1)
        except ValueError:
            return ()
    return ()


def _homogeneous(matrix: FloatArray, points: FloatArray) -> tuple[FloatArray, FloatArray]:
    homog = points @ matrix[:, :2].T + matrix[:, 2]
    return homog[:, :2], homog[:, 2]


def _map(matrix: FloatArray, points: ArrayLike, w_sign: float | None) -> FloatArray:
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    xy, w = _homogeneous(matrix, pts)
    ok = np.abs(w) > 1e-12 if w_sign is None else (w * w_sign) > 1e-12
    out = np.full_like(xy, np.nan)
    out[ok] = xy[ok] / w[ok, None]
    return out


def _clip(poly: list[Pt], a: float, b: float, c: float) -> list[Pt]:
    """Sutherland-Hodgman: the part of a convex polygon where a*x + b*y + c >= 0."""
    out: list[Pt] = []
    n = len(poly)
    for i in range(n):
        p, q = poly[i], poly[(i + 1) % n]
        fp = a * p[0] + b * p[1] + c
        fq = a * q[0] + b * q[1] + c
        if fp >= 0:
            out.append(p)
        if (fp >= 0) != (fq >= 0):
            t = fp / (fp - fq)
            out.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])))
    return out


def _clip_to_box(poly: list[Pt], x0: float, y0: float, x1: float, y1: float) -> list[Pt]:
    for a, b, c in ((1, 0, -x0), (-1, 0, x1), (0, 1, -y0), (0, -1, y1)):
        if len(poly) < 3:
            return []
        poly = _clip(poly, a, b, c)
    return poly if len(poly) >= 3 else []


def _footprint(
    matrix: FloatArray,
    w_sign: float,
    frame: tuple[int, int],
    plan_points: FloatArray,
    metres_per_pixel: float,
    plan_size: tuple[int, int] | None,
    max_range_m: float,
) -> tuple[tuple[Pt, ...], tuple[Pt, ...]]:
    """(the frame's floor region in image px, the same on the plan): the frame, kept off the
    horizon, mapped onto the plan and clipped to the plan and to `max_range_m` around the
    calibration points."""
    width, height = frame
    rect: list[Pt] = [
        (0.0, 0.0),
        (float(width), 0.0),
        (float(width), float(height)),
        (0.0, float(height)),
    ]
    # the floor side of the horizon, kept a margin off it (w there is a few % of w at the
    # calibration points, so the far edge maps to a finite place)
    h31, h32, h33 = (float(v) * w_sign for v in matrix[2])
    corners_w = [abs(h31 * x + h32 * y + h33) for x, y in rect]
    margin = HORIZON_MARGIN * max(corners_w)
    floor = _clip(rect, h31, h32, h33 - margin)
    if len(floor) < 3:
        return (), ()
    on_plan = [tuple(p) for p in _map(matrix, np.asarray(floor), w_sign).tolist()]
    if any(not (math.isfinite(x) and math.isfinite(y)) for x, y in on_plan):
        return (), ()
    reach = max_range_m / metres_per_pixel
    low = plan_points.min(axis=0) - reach
    high = plan_points.max(axis=0) + reach
    x0, y0, x1, y1 = float(low[0]), float(low[1]), float(high[0]), float(high[1])
    if plan_size is not None:
        x0, y0 = max(x0, 0.0), max(y0, 0.0)
        x1, y1 = min(x1, float(plan_size[0])), min(y1, float(plan_size[1]))
    clipped = _clip_to_box([(float(x), float(y)) for x, y in on_plan], x0, y0, x1, y1)
    if not clipped:
        return (), ()
    back = _map(np.linalg.inv(matrix), np.asarray(clipped), None)
    image = tuple((float(x), float(y)) for x, y in back.tolist())
    return image, tuple((float(x), float(y)) for x, y in clipped)


def _segment_in_convex(poly: Sequence[Pt], axis: int, value: float) -> tuple[Pt, Pt] | None:
    """Where the line {axis = value} crosses a convex polygon, as a segment."""
    hits: list[float] = []
    other = 1 - axis
    n = len(poly)
    for i in range(n):
        p, q = poly[i], poly[(i + 1) % n]
        if (p[axis] - value) * (q[axis] - value) > 0 or p[axis] == q[axis]:
            continue
        t = (value - p[axis]) / (q[axis] - p[axis])
        hits.append(p[other] + t * (q[other] - p[other]))
    if len(hits) < 2:
        return None
    lo, hi = min(hits), max(hits)
    if hi - lo <= 1e-9:
        return None
    if axis == 0:
        return (value, lo), (value, hi)
    return (lo, value), (hi, value)


def _grid(
    matrix: FloatArray, footprint: Sequence[Pt], metres_per_pixel: float, step_m: float
) -> tuple[GridLine, ...]:
    if step_m <= 0 or len(footprint) < 3:
        return ()
    pts = np.asarray(footprint)
    step_px = step_m / metres_per_pixel
    inverse = np.linalg.inv(matrix)
    lines: list[GridLine] = []
    for axis, name in ((0, "x"), (1, "y")):
        first = math.ceil(pts[:, axis].min() / step_px)
        last = math.floor(pts[:, axis].max() / step_px)
        if last - first + 1 > MAX_GRID_LINES:
            continue  # a footprint that large would be a wall of lines: the fit is wrong
        for k in range(first, last + 1):
            segment = _segment_in_convex(footprint, axis, k * step_px)
            if segment is None:
                continue
            ends = _map(inverse, np.asarray(segment), None)
            if not np.all(np.isfinite(ends)):
                continue
            lines.append(
                GridLine(
                    axis="x" if name == "x" else "y",
                    value_m=round(k * step_m, 6),
                    plan_px=segment,
                    image_px=(
                        (float(ends[0, 0]), float(ends[0, 1])),
                        (float(ends[1, 0]), float(ends[1, 1])),
                    ),
                )
            )
    return tuple(lines)


def _horizon(matrix: FloatArray, frame: tuple[int, int]) -> tuple[Pt, Pt] | None:
    """The image line w = 0 where it crosses the frame."""
    a, b, c = (float(v) for v in matrix[2])
    width, height = frame
    hits: list[Pt] = []
    if abs(b) > 1e-15:
        for x in (0.0, float(width)):
            y = -(a * x + c) / b
            if 0 <= y <= height:
                hits.append((x, y))
    if abs(a) > 1e-15:
        for y in (0.0, float(height)):
            x = -(b * y + c) / a
            if 0 <= x <= width:
                hits.append((x, y))
    unique = list(dict.fromkeys((round(x, 6), round(y, 6)) for x, y in hits))
    if len(unique) < 2:
        return None
    return unique[0], unique[-1]


# --------------------------------------------------------------------------- drawing


def _int_points(points: Sequence[Pt]) -> NDArray[np.int32]:
    return np.round(np.asarray(points, dtype=np.float64)).astype(np.int32).reshape(-1, 1, 2)


def draw_overlay(
    image: NDArray[np.uint8],
    fit: CalibrationFit,
    *,
    grid_colour: tuple[int, int, int] = (0, 200, 255),
    floor_colour: tuple[int, int, int] = (0, 160, 0),
    horizon_colour: tuple[int, int, int] = (0, 0, 255),
) -> NDArray[np.uint8]:
    """A copy of the camera image (BGR) with the floor grid, the floor region's outline, the
    horizon and the clicked points with their error in centimetres drawn on it."""
    out = image.copy() if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if len(fit.floor_image_px) >= 3:
        cv2.polylines(out, [_int_points(fit.floor_image_px)], True, floor_colour, 1, cv2.LINE_AA)
    for line in fit.grid:
        a, b = _int_points(line.image_px).reshape(2, 2)
        cv2.line(out, tuple(int(v) for v in a), tuple(int(v) for v in b), grid_colour, 1)
    if fit.horizon_px is not None:
        a, b = _int_points(fit.horizon_px).reshape(2, 2)
        cv2.line(out, tuple(int(v) for v in a), tuple(int(v) for v in b), horizon_colour, 1)
    for pair in fit.pairs:
        x, y = (round(v) for v in pair.image_px)
        colour = (0, 0, 255) if not pair.inlier else (255, 255, 255)
        cv2.circle(out, (x, y), 4, colour, 2, cv2.LINE_AA)
        label = f"{pair.index + 1}: {pair.error_m * 100:.0f} cm"
        cv2.putText(out, label, (x + 6, y - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.4, colour, 1)
    return out


def draw_footprint(
    plan: NDArray[np.uint8],
    fit: CalibrationFit,
    *,
    colour: tuple[int, int, int] = (0, 160, 0),
) -> NDArray[np.uint8]:
    """A copy of the plan image (BGR) with the camera's footprint and the clicked plan points
    (with where their image points land) drawn on it."""
    out = plan.copy() if plan.ndim == 3 else cv2.cvtColor(plan, cv2.COLOR_GRAY2BGR)
    if len(fit.footprint_plan_px) >= 3:
        cv2.polylines(out, [_int_points(fit.footprint_plan_px)], True, colour, 2, cv2.LINE_AA)
    for pair in fit.pairs:
        x, y = (round(v) for v in pair.plan_px)
        cv2.circle(out, (x, y), 4, (255, 0, 0), 2, cv2.LINE_AA)
        if all(math.isfinite(v) for v in pair.mapped_plan_px):
            mx, my = (round(v) for v in pair.mapped_plan_px)
            cv2.line(out, (x, y), (mx, my), (0, 0, 255), 1, cv2.LINE_AA)
    return out
