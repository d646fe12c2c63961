"""Floor-plan geometry: camera calibration (image -> plan homography), polygons, distances.

Plan coordinates are pixels of a floor's plan image; `metres_per_pixel` turns them into metres.
Image coordinates are pixels of a camera's frame. Everything here is plain numpy (no OpenCV), so
the site file and the rules can use it without heavy imports.

A calibration is a homography fitted (normalised DLT) to at least four image-point / plan-point
pairs. A person's foot point in the image maps through it to the floor plan; foot points on the
far side of the image's horizon line (where the floor plane does not reach) map to NaN.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "CalibrationError",
    "CameraCalibration",
    "distance_to_polygon",
    "distance_to_polygon_m",
    "fit_homography",
    "point_in_polygon",
    "polygon_area",
    "polygon_self_intersects",
]

FloatArray = NDArray[np.float64]

# Points closer to a line than this fraction of the point set's extent count as on the line.
COLLINEAR_TOLERANCE = 0.01
# A fit whose RMS reprojection error exceeds this fraction of the plan points' extent is refused:
# with more than four pairs it means a pair was mistyped or swapped.
MAX_RMS_ERROR_FRACTION = 0.05


class CalibrationError(ValueError):
    """The calibration's point pairs cannot define a homography; the message says why.

    `side` is "image" or "plan" when the fault lies in one list of points, else None; `reason`
    is the message without that side.
    """

    def __init__(self, reason: str, side: str | None = None) -> None:
        self.reason = reason
        self.side = side
        super().__init__(f"{side} points: {reason}" if side else reason)


def _points(values: ArrayLike, side: str) -> FloatArray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 1 and arr.size == 0:
        arr = arr.reshape(0, 2)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise CalibrationError(f"must be a list of [x, y] points (got shape {arr.shape})", side)
    if not np.all(np.isfinite(arr)):
        raise CalibrationError("holds a value that is not a finite number", side)
    return arr


def _check_general_position(points: FloatArray, side: str) -> None:
    """Refuse coincident points and point sets where all but one point lie on one line."""
    n = len(points)
    extent = float(np.hypot(*(points.max(axis=0) - points.min(axis=0))))
    if extent == 0.0:
        raise CalibrationError("all points coincide", side)
    tol = COLLINEAR_TOLERANCE * extent
    for i in range(n):
        for j in range(i + 1, n):
            if np.hypot(*(points[i] - points[j])) <= tol:
                raise CalibrationError(f"points {i + 1} and {j + 1} coincide", side)
    for i in range(n):
        for j in range(i + 1, n):
            d = points[j] - points[i]
            length = float(np.hypot(*d))
            rel = points - points[i]
            dist = np.abs(d[0] * rel[:, 1] - d[1] * rel[:, 0]) / length
            on_line = int(np.count_nonzero(dist <= tol))
            if on_line >= max(3, n - 1):
                if n == 4:
                    raise CalibrationError("three of the four points lie on one line", side)
                raise CalibrationError(f"{on_line} of the {n} points lie on one line", side)


def _normaliser(points: FloatArray) -> FloatArray:
    """Hartley normalisation: centroid to the origin, mean distance sqrt(2)."""
    centre = points.mean(axis=0)
    mean_dist = float(np.mean(np.hypot(*(points - centre).T)))
    scale = np.sqrt(2.0) / mean_dist
    return np.array(
        [[scale, 0.0, -scale * centre[0]], [0.0, scale, -scale * centre[1]], [0.0, 0.0, 1.0]]
    )


def _apply(matrix: FloatArray, points: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Map points through a 3x3 matrix; returns (xy before the division, w)."""
    homog = points @ matrix[:, :2].T + matrix[:, 2]
    return homog[:, :2], homog[:, 2]


def fit_homography(image_points: ArrayLike, plan_points: ArrayLike) -> FloatArray:
    """The 3x3 homography H with plan ~ H @ [x, y, 1] for each image point, by normalised DLT.

    Raises CalibrationError when there are fewer than four pairs, the lists differ in length, the
    points are degenerate (coincident, collinear), or the pairs disagree with each other.
    """
    src = _points(image_points, "image")
    dst = _points(plan_points, "plan")
    if len(src) != len(dst):
        raise CalibrationError(
            f"needs one plan point per image point ({len(src)} image, {len(dst)} plan)", "plan"
        )
    if len(src) < 4:
        raise CalibrationError(f"needs at least 4 points (got {len(src)})", "image")
    _check_general_position(src, "image")
    _check_general_position(dst, "plan")

    t_src, t_dst = _normaliser(src), _normaliser(dst)
    s = _apply(t_src, src)[0]
    d = _apply(t_dst, dst)[0]
    n = len(s)
    a = np.zeros((2 * n, 9))
    ones = np.ones(n)
    a[0::2, 0:3] = np.column_stack([s, ones])
    a[0::2, 6:9] = -d[:, :1] * np.column_stack([s, ones])
    a[1::2, 3:6] = np.column_stack([s, ones])
    a[1::2, 6:9] = -d[:, 1:2] * np.column_stack([s, ones])
    _, sv, vt = np.linalg.svd(a)
    if sv[7] <= 1e-9 * sv[0]:
        raise CalibrationError("the point pairs do not determine a homography (degenerate)")
    h_norm = vt[-1].reshape(3, 3)
    matrix = np.linalg.inv(t_dst) @ h_norm @ t_src
    scale = matrix[2, 2] if abs(matrix[2, 2]) > 1e-12 else np.linalg.norm(matrix)
    matrix = matrix / scale
    if abs(np.linalg.det(matrix)) <= 1e-12 * np.linalg.norm(matrix) ** 3:
        raise CalibrationError("the homography is singular: the points do not span the floor")

    xy, w = _apply(matrix, src)
    if not (np.all(w > 0) or np.all(w < 0)):
        raise CalibrationError(
            "lie on both sides of the horizon: check the order of the pairs", "image"
        )
    mapped = xy / w[:, None]
    rms = float(np.sqrt(np.mean(np.sum((mapped - dst) ** 2, axis=1))))
    extent = float(np.hypot(*(dst.max(axis=0) - dst.min(axis=0))))
    if rms > MAX_RMS_ERROR_FRACTION * extent:
        raise CalibrationError(
            f"the point pairs disagree (RMS error {rms:.1f} plan px): a pair is mistyped or swapped"
        )
    return matrix


@dataclass(frozen=True)
class CameraCalibration:
    """A camera's image -> floor-plan mapping, in plan pixels and in metres.

    `matrix` maps homogeneous image pixels to homogeneous plan pixels. Use `from_points` to fit it.
    """

    matrix: FloatArray
    metres_per_pixel: float
    # Sign of w for image points on the floor's side of the horizon (from the calibration points).
    w_sign: float = 1.0

    @classmethod
    def from_points(
        cls,
        image_points: ArrayLike,
        plan_points: ArrayLike,
        metres_per_pixel: float,
    ) -> CameraCalibration:
        if not (np.isfinite(metres_per_pixel) and metres_per_pixel > 0):
            raise CalibrationError(f"metres_per_pixel must be > 0 (got {metres_per_pixel})")
        matrix = fit_homography(image_points, plan_points)
        _, w = _apply(matrix, _points(image_points, "image"))
        return cls(
            matrix=matrix, metres_per_pixel=float(metres_per_pixel), w_sign=float(np.sign(w[0]))
        )

    def image_to_plan_px(self, points: ArrayLike) -> FloatArray:
        """(N, 2) image pixels -> (N, 2) plan pixels; NaN where a point is beyond the horizon."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        xy, w = _apply(self.matrix, pts)
        ok = (w * self.w_sign) > 1e-12
        out = np.full_like(xy, np.nan)
        out[ok] = xy[ok] / w[ok, None]
        return out

    def image_to_plan_m(self, points: ArrayLike) -> FloatArray:
        """(N, 2) image pixels -> (N, 2) plan coordinates in metres (plan pixels x scale)."""
        return self.image_to_plan_px(points) * self.metres_per_pixel

    def plan_to_image_px(self, points: ArrayLike) -> FloatArray:
        """(N, 2) plan pixels -> (N, 2) image pixels (the inverse mapping)."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        inverse = np.asarray(np.linalg.inv(self.matrix), dtype=np.float64)
        xy, w = _apply(inverse, pts)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = xy / w[:, None]
        out[np.abs(w) <= 1e-12] = np.nan
        return out


def _polygon(polygon: ArrayLike) -> FloatArray:
    poly = np.asarray(polygon, dtype=np.float64)
    if poly.ndim != 2 or poly.shape[1] != 2 or len(poly) < 3:
        raise ValueError(f"a polygon needs at least 3 [x, y] points (got shape {poly.shape})")
    return poly


def polygon_area(polygon: ArrayLike) -> float:
    """Unsigned area (shoelace), in the polygon's units squared."""
    poly = _polygon(polygon)
    x, y = poly[:, 0], poly[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2.0)


def _segments_cross(p1: FloatArray, p2: FloatArray, q1: FloatArray, q2: FloatArray) -> bool:
    def orient(a: FloatArray, b: FloatArray, c: FloatArray) -> float:
        return float((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]))

    def on_segment(a: FloatArray, b: FloatArray, c: FloatArray) -> bool:
        return bool(
            min(a[0], b[0]) <= c[0] <= max(a[0], b[0])
            and min(a[1], b[1]) <= c[1] <= max(a[1], b[1])
        )

    d1, d2 = orient(q1, q2, p1), orient(q1, q2, p2)
    d3, d4 = orient(p1, p2, q1), orient(p1, p2, q2)
    if ((d1 > 0 > d2) or (d1 < 0 < d2)) and ((d3 > 0 > d4) or (d3 < 0 < d4)):
        return True
    return (
        (d1 == 0 and on_segment(q1, q2, p1))
        or (d2 == 0 and on_segment(q1, q2, p2))
        or (d3 == 0 and on_segment(p1, p2, q1))
        or (d4 == 0 and on_segment(p1, p2, q2))
    )


def polygon_self_intersects(polygon: ArrayLike) -> bool:
    """True when two non-adjacent edges of the closed polygon touch or cross."""
    poly = _polygon(polygon)
    n = len(poly)
    for i in range(n):
        for j in range(i + 1, n):
            if j == i + 1 or (i == 0 and j == n - 1):
                continue  # adjacent edges share a vertex
            if _segments_cross(poly[i], poly[(i + 1) % n], poly[j], poly[(j + 1) % n]):
                return True
    return False


def _segment_distances(points: FloatArray, poly: FloatArray) -> FloatArray:
    """(N, M) distances from each point to each edge of the closed polygon."""
    a = poly
    b = np.roll(poly, -1, axis=0)
    ab = b - a  # (M, 2)
    ab_len2 = np.sum(ab**2, axis=1)  # (M,)
    ap = points[:, None, :] - a[None, :, :]  # (N, M, 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(ab_len2 > 0, np.sum(ap * ab[None], axis=2) / ab_len2, 0.0)
    t = np.clip(t, 0.0, 1.0)
    closest = a[None] + t[..., None] * ab[None]
    return np.hypot(*(points[:, None, :] - closest).transpose(2, 0, 1))


def point_in_polygon(
    points: ArrayLike, polygon: Sequence[Sequence[float]] | ArrayLike
) -> NDArray[np.bool_]:
    """(N,) booleans: which of the (N, 2) points lie inside the polygon or on its edge.

    NaN points (e.g. beyond a camera's horizon) are never inside.
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    poly = _polygon(polygon)
    x, y = pts[:, 0:1], pts[:, 1:2]  # (N, 1)
    x1, y1 = poly[:, 0], poly[:, 1]
    x2, y2 = np.roll(x1, -1), np.roll(y1, -1)
    straddles = (y1 > y) != (y2 > y)  # (N, M)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_cross = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
    crossings = np.count_nonzero(straddles & (x < x_cross), axis=1)
    inside = (crossings % 2) == 1
    finite = np.all(np.isfinite(pts), axis=1)
    if len(pts):
        on_edge = np.zeros(len(pts), dtype=bool)
        on_edge[finite] = _segment_distances(pts[finite], poly).min(axis=1) <= 1e-9
        inside |= on_edge
    return inside & finite


def distance_to_polygon(points: ArrayLike, polygon: ArrayLike) -> FloatArray:
    """(N,) distances from the (N, 2) points to the polygon, in its units; 0 inside or on it.

    NaN points give NaN.
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    poly = _polygon(polygon)
    out = np.full(len(pts), np.nan)
    finite = np.all(np.isfinite(pts), axis=1)
    if np.any(finite):
        dist = _segment_distances(pts[finite], poly).min(axis=1)
        dist[point_in_polygon(pts[finite], poly)] = 0.0
        out[finite] = dist
    return out


def distance_to_polygon_m(
    points_px: ArrayLike, polygon_px: ArrayLike, metres_per_pixel: float
) -> FloatArray:
    """(N,) distances in metres from plan-pixel points to a plan-pixel polygon; 0 inside."""
    return distance_to_polygon(points_px, polygon_px) * float(metres_per_pixel)
