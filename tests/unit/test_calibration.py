"""Calibration by eye (console/calibration.py): a known homography recovered from noisy clicks,
errors in metres, the floor grid and the footprint where the homography puts them, and the
degenerate sets refused with their reason."""

from __future__ import annotations

import numpy as np
import pytest

from console.calibration import (
    CalibrationRefused,
    draw_footprint,
    draw_overlay,
    fit_calibration,
)
from console.floor_plan import fit_homography

METRES_PER_PIXEL = 0.02
FRAME = (1280, 720)
PLAN = (1200, 800)

# A camera high on the south wall looking north over a gallery: the true image -> plan mapping
# (from the reference site's calibration), and floor points a supervisor would click.
TRUE_IMAGE = [[80, 700], [1200, 690], [960, 330], [330, 335]]
TRUE_PLAN = [[640, 540], [1140, 540], [1140, 90], [640, 90]]
TRUE_H = fit_homography(TRUE_IMAGE, TRUE_PLAN)


def true_plan(points: np.ndarray) -> np.ndarray:
    homog = np.c_[points, np.ones(len(points))] @ TRUE_H.T
    return homog[:, :2] / homog[:, 2:]


def clicks(rng: np.random.Generator, n: int, noise_px: float) -> tuple[np.ndarray, np.ndarray]:
    """n floor points spread over the lower image, clicked with `noise_px` of hand jitter on
    both sides."""
    image = np.c_[rng.uniform(60, 1220, n), rng.uniform(340, 710, n)]
    plan = true_plan(image)
    return (
        image + rng.normal(0, noise_px, image.shape),
        plan + rng.normal(0, noise_px, plan.shape),
    )


def test_a_known_homography_is_recovered_from_noisy_clicks() -> None:
    rng = np.random.default_rng(7)
    image, plan = clicks(rng, 8, noise_px=1.5)
    fit = fit_calibration(image, plan, METRES_PER_PIXEL, FRAME, plan_size=PLAN)
    # over the floor where the clicks were made, within a few centimetres of where the true
    # mapping puts it (the far edge, near the horizon, magnifies the jitter most)
    floor = np.c_[rng.uniform(60, 1220, 2000), rng.uniform(340, 710, 2000)]
    error_m = np.hypot(*(fit.image_to_plan_px(floor) - true_plan(floor)).T) * METRES_PER_PIXEL
    assert float(np.median(error_m)) < 0.05, np.median(error_m)
    assert float(error_m.max()) < 0.20, error_m.max()
    # the per-pair errors are in metres on the plan: a 1.5 px jitter is a few centimetres
    assert len(fit.pairs) == 8
    assert 0.005 < fit.rms_m < 0.10
    for pair in fit.pairs:
        mapped = fit.image_to_plan_px([pair.image_px])[0]
        expected = np.hypot(*(mapped - np.asarray(pair.plan_px))) * METRES_PER_PIXEL
        assert pair.error_m == pytest.approx(expected)
    assert fit.worst_m == pytest.approx(max(p.error_m for p in fit.pairs))
    # what the console runs with once saved agrees with the editor's fit on the floor
    runtime = fit.runtime_calibration()
    gap_m = np.hypot(*(runtime.image_to_plan_px(floor) - fit.image_to_plan_px(floor)).T) * 0.02
    assert float(np.median(gap_m)) < 0.01
    assert float(gap_m.max()) < 0.05


def test_exactly_four_exact_pairs_give_the_homography_itself() -> None:
    fit = fit_calibration(TRUE_IMAGE, TRUE_PLAN, METRES_PER_PIXEL, FRAME)
    np.testing.assert_allclose(fit.matrix / fit.matrix[2, 2], TRUE_H / TRUE_H[2, 2], atol=1e-9)
    assert fit.rms_m < 1e-9


def test_the_grid_lies_where_the_homography_says() -> None:
    fit = fit_calibration(TRUE_IMAGE, TRUE_PLAN, METRES_PER_PIXEL, FRAME, plan_size=PLAN)
    assert len(fit.grid) >= 20
    step_px = 1.0 / METRES_PER_PIXEL
    for line in fit.grid:
        # the line is a whole number of metres along its axis on the plan
        axis = 0 if line.axis == "x" else 1
        assert line.value_m == pytest.approx(round(line.value_m))
        for end in line.plan_px:
            assert end[axis] == pytest.approx(line.value_m * step_px)
        # its image ends map back (through the true mapping) onto that plan line
        back = true_plan(np.asarray(line.image_px))
        assert back[:, axis] == pytest.approx([line.value_m * step_px] * 2, abs=1e-6)
        # and the points along it in the image stay on it: a homography keeps lines straight
        middle = (np.asarray(line.image_px[0]) + np.asarray(line.image_px[1])) / 2
        assert true_plan(middle[None])[0, axis] == pytest.approx(line.value_m * step_px)
        # inside the frame (give or take the clipping's rounding)
        for x, y in line.image_px:
            assert -1 <= x <= FRAME[0] + 1
            assert -1 <= y <= FRAME[1] + 1


def test_the_overlay_is_drawn_where_the_homography_says() -> None:
    fit = fit_calibration(TRUE_IMAGE, TRUE_PLAN, METRES_PER_PIXEL, FRAME, plan_size=PLAN)
    blank = np.zeros((FRAME[1], FRAME[0], 3), np.uint8)
    drawn = draw_overlay(blank, fit, grid_colour=(0, 255, 0))
    green = (drawn[:, :, 1] == 255) & (drawn[:, :, 0] == 0) & (drawn[:, :, 2] == 0)
    # a plan point on the 14 m line (x = 700 px) maps into the image on a green pixel
    line = next(g for g in fit.grid if g.axis == "x" and g.value_m == 14.0)
    for t in (0.25, 0.5, 0.75):
        ys = line.plan_px[0][1] + t * (line.plan_px[1][1] - line.plan_px[0][1])
        x, y = fit.plan_to_image_px([[700.0, ys]])[0]
        window = green[round(y) - 1 : round(y) + 2, round(x) - 1 : round(x) + 2]
        assert window.any(), (x, y)
    # and nothing green where no line runs: halfway between two metre lines
    x, y = fit.plan_to_image_px([[725.0, 325.0]])[0]
    window = green[round(y) - 1 : round(y) + 2, round(x) - 1 : round(x) + 2]
    assert not window.any()
    plan = draw_footprint(np.full((PLAN[1], PLAN[0], 3), 255, np.uint8), fit, colour=(0, 0, 255))
    assert (plan[:, :, 2] == 255).sum() > (plan[:, :, 0] == 0).sum() * 0.5  # outline drawn


def test_the_footprint_is_the_floor_the_camera_sees_on_the_plan() -> None:
    fit = fit_calibration(TRUE_IMAGE, TRUE_PLAN, METRES_PER_PIXEL, FRAME, plan_size=PLAN)
    footprint = np.asarray(fit.footprint_plan_px)
    assert len(footprint) >= 3
    # the calibration points are inside it; it stays on the plan
    from console.floor_plan import point_in_polygon

    assert point_in_polygon(TRUE_PLAN, footprint).all()
    assert footprint[:, 0].min() >= 0
    assert footprint[:, 0].max() <= PLAN[0]
    assert footprint[:, 1].min() >= 0
    assert footprint[:, 1].max() <= PLAN[1]
    # the image's floor region maps onto it
    floor = np.asarray(fit.floor_image_px)
    np.testing.assert_allclose(true_plan(floor), footprint, atol=1e-6)


@pytest.mark.parametrize(
    ("image", "plan", "reason"),
    [
        (TRUE_IMAGE[:3], TRUE_PLAN[:3], "needs at least 4 point pairs (got 3)"),
        (TRUE_IMAGE, TRUE_PLAN[:3], "needs one plan point per image point"),
        (
            [*TRUE_IMAGE[:3], TRUE_IMAGE[0]],
            TRUE_PLAN,
            "points 1 and 4 coincide",
        ),
        (
            [[100, 400], [300, 450], [500, 500], [700, 300]],
            TRUE_PLAN,
            "three of the four points lie on one line",
        ),
        (
            TRUE_IMAGE,
            [[640, 540], [1140, 540], [890, 540], [640, 90]],
            "three of the four points lie on one line",
        ),
        (  # left and right swapped on the plan: a mirror image of the floor
            TRUE_IMAGE,
            [[1140, 540], [640, 540], [640, 90], [1140, 90]],
            "mirrors the floor",
        ),
        (  # two pairs swapped: the floor folds across the horizon
            TRUE_IMAGE,
            [[1140, 540], [640, 540], [1140, 90], [640, 90]],
            "both sides of the horizon",
        ),
    ],
    ids=["three", "unmatched", "duplicate", "collinear-image", "collinear-plan", "mirror", "fold"],
)
def test_degenerate_sets_are_refused_with_their_reason(image, plan, reason) -> None:
    with pytest.raises(CalibrationRefused) as refused:
        fit_calibration(image, plan, METRES_PER_PIXEL, FRAME)
    assert reason in str(refused.value)


def test_a_floor_whose_bottom_lies_beyond_the_horizon_is_refused() -> None:
    # The true view turned upside down (a rotation, so not a mirror) and moved so that the
    # horizon crosses the frame: the pairs fit, all on one side of their horizon, but the
    # bottom of the image would be sky.
    a, b, c = TRUE_H[2]
    horizon_y = -(a * 640 + c) / b
    shift = 100 - horizon_y
    image = [[FRAME[0] - x, FRAME[1] - (y + shift)] for x, y in TRUE_IMAGE]
    with pytest.raises(CalibrationRefused, match="bottom of the image would lie beyond"):
        fit_calibration(image, TRUE_PLAN, METRES_PER_PIXEL, FRAME)


def test_duplicate_refusals_name_the_pairs() -> None:
    with pytest.raises(CalibrationRefused) as refused:
        fit_calibration([*TRUE_IMAGE, TRUE_IMAGE[1]], [*TRUE_PLAN, [1000, 300]], 0.02, FRAME)
    assert refused.value.pairs == (1, 4)
    assert refused.value.side == "image"


def test_ransac_finds_the_mis_clicked_pair() -> None:
    rng = np.random.default_rng(3)
    image, plan = clicks(rng, 9, noise_px=0.5)
    plan[4] += (60, -40)  # one pair clicked 1.4 m off on the plan
    plain = fit_calibration(image, plan, METRES_PER_PIXEL, FRAME, method="least_squares")
    worst = plain.worst_pair()
    assert worst is not None
    assert worst.index == 4
    assert plain.rms_m > 0.2
    fit = fit_calibration(image, plan, METRES_PER_PIXEL, FRAME, method="ransac")
    assert fit.outliers == (4,)
    assert fit.pairs[4].error_m > 1.0  # shown in metres beside the pair
    assert fit.rms_m < 0.05


def test_refused_values_are_never_silently_accepted() -> None:
    with pytest.raises(CalibrationRefused, match="metres_per_pixel"):
        fit_calibration(TRUE_IMAGE, TRUE_PLAN, 0.0, FRAME)
    with pytest.raises(CalibrationRefused, match="finite"):
        fit_calibration([[0, float("nan")], *TRUE_IMAGE[1:]], TRUE_PLAN, 0.02, FRAME)
