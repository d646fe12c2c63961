"""The core's small copy of a judged frame (console/analysis_copy.py): its size, and that the
fast way of making it shows the picture the one-step area copy shows."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from console.analysis_copy import analysis_copy, analysis_size
from tests.media import first_frames


@pytest.mark.parametrize(
    ("width", "height", "expected"),
    [
        (768, 576, (320, 240)),
        (1920, 1080, (320, 180)),
        (641, 481, (320, 240)),
        (320, 240, (320, 240)),
        (200, 100, (200, 100)),
    ],
)
def test_the_copy_is_the_analysis_width_with_the_frames_aspect(
    width: int, height: int, expected: tuple[int, int]
) -> None:
    assert analysis_size(width, height) == expected
    frame = np.zeros((height, width, 3), np.uint8)
    small = analysis_copy(frame)
    assert (small.shape[1], small.shape[0]) == expected
    assert small.dtype == np.uint8
    if (width, height) == expected:
        assert small is frame  # small enough already: not copied


def test_the_copy_shows_what_the_one_step_area_copy_shows() -> None:
    """Real footage at 768x576 and scaled to 1920x1080: within a few grey levels of OpenCV's
    area interpolation in one step (the slow path it replaces), edges included."""
    for frame in first_frames("vtest.avi", 12)[::3]:
        for picture in (frame, cv2.resize(frame, (1920, 1080))):
            size = analysis_size(picture.shape[1], picture.shape[0])
            area = cv2.resize(picture, size, interpolation=cv2.INTER_AREA).astype(np.int16)
            diff = np.abs(analysis_copy(picture).astype(np.int16) - area)
            assert diff.mean() < 2.5
            assert np.percentile(diff, 99) <= 20
