"""Floor-plan geometry: calibration homographies, point in polygon, distances in metres."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from console.floor_plan import (
    CalibrationError,
    CameraCalibration,
    distance_to_polygon,
    distance_to_polygon_m,
    fit_homography,
    point_in_polygon,
    polygon_area,
    polygon_self_intersects,
)

# The reference site's cam-east calibration (tests/data/example_site/site.yaml).
IMAGE = [[80, 700], [1200, 690], [960, 330], [330, 335]]
PLAN = [[640, 540], [1140, 540], [1140, 90], [640, 90]]
MPP = 0.02


def test_calibration_maps_its_own_points_to_their_plan_points() -> None:
    cal = CameraCalibration.from_points(IMAGE, PLAN, MPP)
    np.testing.assert_allclose(cal.image_to_plan_px(IMAGE), PLAN, atol=1e-6)
    np.testing.assert_allclose(cal.image_to_plan_m(IMAGE), np.array(PLAN) * MPP, atol=1e-8)


def test_homography_agrees_with_opencv() -> None:
    ours = fit_homography(IMAGE, PLAN)
    theirs, _ = cv2.findHomography(np.float32(IMAGE), np.float32(PLAN), 0)
    np.testing.assert_allclose(ours / ours[2, 2], theirs / theirs[2, 2], rtol=1e-4, atol=1e-6)
    # and on a point that is not one of the calibration points
    probe = np.float32([[[600, 500]]])
    expected = cv2.perspectiveTransform(probe, theirs)[0]
    cal = CameraCalibration.from_points(IMAGE, PLAN, MPP)
    np.testing.assert_allclose(cal.image_to_plan_px([[600, 500]]), expected, atol=1e-3)


def test_more_than_four_pairs_fit_by_least_squares() -> None:
    # A known homography; six exact pairs plus small noise must recover it.
    true = np.array([[0.8, 0.1, 30.0], [-0.05, 1.2, 10.0], [1e-4, 2e-4, 1.0]])
    image = np.array([[0, 0], [640, 0], [640, 480], [0, 480], [320, 240], [100, 400]], float)
    homog = np.column_stack([image, np.ones(len(image))]) @ true.T
    plan = homog[:, :2] / homog[:, 2:]
    rng = np.random.default_rng(7)
    noisy = plan + rng.normal(0, 0.2, plan.shape)
    cal = CameraCalibration.from_points(image, noisy, 0.05)
    np.testing.assert_allclose(cal.image_to_plan_px(image), plan, atol=1.0)
    np.testing.assert_allclose(cal.matrix, true, rtol=0.05, atol=2e-5)


def test_plan_to_image_inverts_the_mapping() -> None:
    cal = CameraCalibration.from_points(IMAGE, PLAN, MPP)
    feet = np.array([[500.0, 600.0], [700.0, 400.0], [1000.0, 650.0]])
    np.testing.assert_allclose(cal.plan_to_image_px(cal.image_to_plan_px(feet)), feet, atol=1e-6)


def test_metres_scale_with_the_plan() -> None:
    # A pure scale: image pixel (x, y) -> plan pixel (x / 2, y / 2); 0.05 m per plan pixel.
    cal = CameraCalibration.from_points(
        [[0, 0], [200, 0], [200, 100], [0, 100]], [[0, 0], [100, 0], [100, 50], [0, 50]], 0.05
    )
    np.testing.assert_allclose(cal.image_to_plan_px([[40, 60]]), [[20, 30]], atol=1e-9)
    np.testing.assert_allclose(cal.image_to_plan_m([[40, 60]]), [[1.0, 1.5]], atol=1e-9)
    assert cal.image_to_plan_px(np.empty((0, 2))).shape == (0, 2)


def test_points_beyond_the_horizon_map_to_nan() -> None:
    # A perspective view: the floor recedes towards a horizon near the top of the image.
    cal = CameraCalibration.from_points(IMAGE, PLAN, MPP)
    h = cal.matrix
    # The horizon is where the third row of H is zero: h20 x + h21 y + h22 = 0; here it lies
    # above the top of the frame, so image row -200 at x = 640 is "sky".
    x = 640.0
    y_horizon = -(h[2, 0] * x + h[2, 2]) / h[2, 1]
    assert -300 < y_horizon < 0
    floor_y, sky_y = 600.0, y_horizon - 100
    mapped = cal.image_to_plan_px([[x, floor_y], [x, sky_y]])
    assert np.all(np.isfinite(mapped[0]))
    assert np.all(np.isnan(mapped[1]))


@pytest.mark.parametrize(
    ("image", "plan", "match"),
    [
        (IMAGE[:3], PLAN[:3], "needs at least 4 points"),
        (IMAGE, [*PLAN, [10, 10]], "one plan point per image point"),
        ([[0, 0], [100, 0], [200, 0], [50, 80]], PLAN, "three of the four points lie on one line"),
        (IMAGE, [[640, 540], [640, 540], [1140, 90], [640, 90]], "points 1 and 2 coincide"),
        ([[5, 5]] * 4, PLAN, "all points coincide"),
        (
            [[0, 0], [100, 0], [200, 0], [300, 0], [400, 1], [50, 90]],
            [[0, 0], [1, 0], [2, 0], [3, 0], [4, 0], [1, 9]],
            "5 of the 6 points lie on one line",
        ),
        # two pairs swapped: crossing quadrilaterals cannot be one plane seen by one camera
        (IMAGE, [PLAN[0], PLAN[2], PLAN[1], PLAN[3]], "horizon"),
        # a fifth pair that contradicts the other four
        ([*IMAGE, [600, 500]], [*PLAN, [1165, 361]], "the point pairs disagree"),
        ([[0, 0], [1, 0], [1, float("nan")], [0, 1]], PLAN, "finite"),
    ],
    ids=[
        "three-pairs",
        "count-mismatch",
        "collinear",
        "duplicate",
        "all-same",
        "five-of-six-collinear",
        "swapped-pairs",
        "inconsistent-fifth-pair",
        "nan",
    ],
)
def test_degenerate_calibration_is_refused(image: list, plan: list, match: str) -> None:
    with pytest.raises(CalibrationError, match=match):
        CameraCalibration.from_points(image, plan, MPP)


def test_calibration_error_names_the_faulty_side() -> None:
    with pytest.raises(CalibrationError) as caught:
        fit_homography(IMAGE, [[640, 540], [890, 540], [1140, 540], [640, 90]])
    assert caught.value.side == "plan"
    assert str(caught.value) == "plan points: three of the four points lie on one line"


def test_bad_scale_is_refused() -> None:
    with pytest.raises(CalibrationError, match="metres_per_pixel"):
        CameraCalibration.from_points(IMAGE, PLAN, 0.0)


SQUARE = [[0, 0], [10, 0], [10, 10], [0, 10]]
# An L shape: the notch (5..10, 5..10) is outside.
L_SHAPE = [[0, 0], [10, 0], [10, 5], [5, 5], [5, 10], [0, 10]]


def test_point_in_polygon() -> None:
    points = [[5, 5], [0, 5], [10, 10], [11, 5], [-0.001, 3], [7, 7], [2, 8], [np.nan, 1]]
    inside = point_in_polygon(points, SQUARE)
    assert inside.tolist() == [True, True, True, False, False, True, True, False]
    in_l = point_in_polygon(points, L_SHAPE)
    assert in_l.tolist() == [True, True, False, False, False, False, True, False]


def test_distance_to_polygon_is_zero_inside_and_euclidean_outside() -> None:
    d = distance_to_polygon([[5, 5], [13, 5], [13, 14], [5, -2], [7, 7], [np.nan, 0]], SQUARE)
    np.testing.assert_allclose(d[:4], [0.0, 3.0, 5.0, 2.0])
    assert d[4] == 0.0
    assert math.isnan(d[5])
    # in the notch of the L: nearest is the inner corner (5, 5)
    np.testing.assert_allclose(distance_to_polygon([[8, 9]], L_SHAPE), [3.0])
    np.testing.assert_allclose(distance_to_polygon([[7, 6]], L_SHAPE), [1.0])


def test_distance_in_metres_to_the_milkmaid() -> None:
    # The Milkmaid hangs on the north wall: plan polygon x 700..820, y 44..54; 0.02 m per pixel.
    milkmaid = [[700, 44], [820, 44], [820, 54], [700, 54]]
    feet = [[760, 94], [760, 50], [880, 54], [823, 58]]
    d = distance_to_polygon_m(feet, milkmaid, 0.02)
    np.testing.assert_allclose(d, [0.8, 0.0, 1.2, 0.1], atol=1e-9)


def test_foot_point_to_object_distance_through_the_calibration() -> None:
    cal = CameraCalibration.from_points(IMAGE, PLAN, MPP)
    # A visitor standing at the image point that maps to plan (760, 140): 86 px = 1.72 m south
    # of the Milkmaid's front edge (y = 54).
    foot_image = cal.plan_to_image_px([[760, 140]])
    foot_plan = cal.image_to_plan_px(foot_image)
    milkmaid = [[700, 44], [820, 44], [820, 54], [700, 54]]
    np.testing.assert_allclose(distance_to_polygon_m(foot_plan, milkmaid, MPP), [1.72], atol=1e-6)


def test_polygon_helpers() -> None:
    assert polygon_area(SQUARE) == 100.0
    assert polygon_area(L_SHAPE) == 75.0
    assert not polygon_self_intersects(SQUARE)
    assert not polygon_self_intersects(L_SHAPE)
    assert polygon_self_intersects([[0, 0], [10, 10], [10, 0], [0, 10]])
    with pytest.raises(ValueError, match="at least 3"):
        point_in_polygon([[0, 0]], [[0, 0], [1, 1]])
