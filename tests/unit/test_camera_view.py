"""The camera's own view, on synthetic frames: frozen, covered, moved, the empty-gallery
reference, and the protected objects' reference patches."""

from __future__ import annotations

import logging

import cv2
import numpy as np
import pytest

from console.camera_view import (
    CameraViewChecks,
    CameraViewConfig,
    box_polygon_overlap,
    changed_fraction,
    held_since,
)
from console.site_file import ProtectedObject
from inference.detections import Detections

FRAME = (640, 480)  # frame pixels; the looks get a quarter-size copy
SMALL = (160, 120)
NOBODY = Detections.empty()
PLINTH_REGION = [(200, 200), (320, 200), (320, 320), (200, 320)]


def plinth() -> ProtectedObject:
    return ProtectedObject.model_validate(
        {
            "id": "plinth",
            "name": "Plinth",
            "floor": "ground",
            "kind": "sculpture",
            "value": "high",
            "min_distance_m": 1.0,
            "image_regions": {"cam": PLINTH_REGION},
        }
    )


def checks(**config: float) -> CameraViewChecks:
    return CameraViewChecks(
        "cam",
        {"plinth": (plinth(), PLINTH_REGION)},
        CameraViewConfig(**config),
        object_check_every_s=5.0,
    )


def gallery(seed: int = 0) -> np.ndarray:
    """A high-contrast blocky grey scene (an empty gallery), SMALL in size."""
    blocks = np.random.default_rng(seed).integers(30, 230, (SMALL[1] // 5, SMALL[0] // 5))
    scene = cv2.resize(blocks.astype(np.uint8), SMALL, interpolation=cv2.INTER_NEAREST)
    return cv2.cvtColor(scene, cv2.COLOR_GRAY2BGR)


def noisy(image: np.ndarray, seed: int) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0, 3, image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


def paint(image: np.ndarray, box: list[float], seed: int) -> np.ndarray:
    """A figure (a blocky random pattern) where a frame-pixel box lies in the small image."""
    out = image.copy()
    x1, y1, x2, y2 = (round(v / 4) for v in box)
    blocks = np.random.default_rng(seed).integers(0, 255, ((y2 - y1) // 3 + 1, (x2 - x1) // 3 + 1))
    out[y1:y2, x1:x2] = np.kron(blocks, np.ones((3, 3)))[: y2 - y1, : x2 - x1, None]
    return out


def boxes(*xyxy: list[float]) -> Detections:
    return Detections(list(xyxy), [0.9] * len(xyxy)) if xyxy else NOBODY


def test_a_frozen_image_is_frozen_since_the_first_identical_frame() -> None:
    view = checks()
    view.look(noisy(gallery(), 0), FRAME, 0.0, NOBODY)
    still = noisy(gallery(), 1)
    view.look(still, FRAME, 1.0, NOBODY)
    assert view.view.frozen_since_ts is None
    view.look(still, FRAME, 2.0, NOBODY)
    view.look(still, FRAME, 3.0, NOBODY)
    assert view.view.frozen_since_ts == 1.0
    view.look(noisy(gallery(), 2), FRAME, 4.0, NOBODY)
    assert view.view.frozen_since_ts is None


def test_a_covered_lens_is_covered_not_frozen() -> None:
    view = checks()
    view.look(noisy(gallery(), 0), FRAME, 0.0, NOBODY)
    black = np.zeros((SMALL[1], SMALL[0], 3), np.uint8)
    for ts in (1.0, 2.0, 3.0):
        view.look(black, FRAME, ts, NOBODY)
    assert view.view.covered_since_ts == 1.0
    assert view.view.frozen_since_ts is None
    assert view.view.brightness == 0.0


def test_a_turned_camera_has_moved_but_light_and_visitors_do_not_move_it() -> None:
    view = checks()
    view.look(noisy(gallery(), 0), FRAME, 0.0, NOBODY)
    view.look(np.clip(noisy(gallery(), 1).astype(int) + 40, 0, 255).astype(np.uint8), FRAME, 1.0,
              NOBODY)  # fmt: skip
    assert view.view.moved_since_ts is None  # a uniform change of light
    visitor = [100.0, 80.0, 220.0, 400.0]
    view.look(noisy(paint(gallery(), visitor, 5), 2), FRAME, 2.0, boxes(visitor))
    assert view.view.moved_since_ts is None  # the visitor's box is left out
    turned = np.roll(gallery(), 12, axis=1)
    view.look(noisy(turned, 3), FRAME, 3.0, NOBODY)
    view.look(noisy(turned, 4), FRAME, 4.0, NOBODY)
    assert view.view.moved_since_ts == 3.0
    assert view.view.scene_change is not None
    assert view.view.scene_change > 0.5
    view.rebase()
    view.look(noisy(turned, 5), FRAME, 5.0, NOBODY)
    assert view.view.moved_since_ts is None


def test_an_object_reference_needs_two_agreeing_looks_and_a_removed_object_stays_changed() -> None:
    view = checks()
    view.look(noisy(gallery(), 0), FRAME, 0.0, NOBODY)
    view.look(noisy(gallery(), 1), FRAME, 1.0, NOBODY)  # too soon after the first look
    assert view.objects["plinth"].reference_ts is None
    view.look(noisy(gallery(), 2), FRAME, 2.5, NOBODY)
    assert view.objects["plinth"].reference_ts == 2.5
    # somebody in front: not sampled, only marked occupied
    thief = [210.0, 150.0, 300.0, 330.0]
    view.look(noisy(paint(gallery(), thief, 7), 3), FRAME, 8.0, boxes(thief))
    assert view.objects["plinth"].occupied
    assert view.objects["plinth"].sampled_ts == 2.5
    # the plinth is gone: its region shows a bare floor, the same at every check
    bare = paint(gallery(), [200.0, 200.0, 320.0, 320.0], 99)
    for i, ts in enumerate((9.0, 14.0, 19.0)):
        view.look(noisy(bare, 10 + i), FRAME, ts, NOBODY)
    plinth_view = view.objects["plinth"]
    assert not plinth_view.occupied
    assert plinth_view.change is not None
    assert plinth_view.change > 0.5
    assert (plinth_view.changed_since_ts, plinth_view.sampled_ts) == (9.0, 19.0)


def test_visitors_the_detector_missed_never_confirm_a_change() -> None:
    view = checks()
    for i, ts in enumerate((0.0, 2.0)):
        view.look(noisy(gallery(), i), FRAME, ts, NOBODY)
    region = [200.0, 200.0, 320.0, 320.0]
    for i, ts in enumerate((7.0, 12.0, 17.0)):  # somebody different in front at every check
        view.look(noisy(paint(gallery(), region, 50 + i), i), FRAME, ts, NOBODY)
        assert view.objects["plinth"].changed_since_ts == ts


def test_the_empty_gallery_reference_tells_a_figure_from_the_gallery() -> None:
    view = checks()
    statue = [400.0, 100.0, 480.0, 300.0]
    with_statue = paint(gallery(), statue, 21)
    assert view.reference_change(statue) is None  # no reference, no look
    view.set_empty_reference(with_statue, ts=0.0)
    assert view.view.empty_reference_by == "supervisor"
    visitor = [40.0, 100.0, 120.0, 300.0]
    view.look(noisy(paint(with_statue, visitor, 22), 1), FRAME, 1.0, boxes(statue, visitor))
    statue_change = view.reference_change(statue)
    visitor_change = view.reference_change(visitor)
    assert statue_change is not None
    assert statue_change < 0.05
    assert visitor_change is not None
    assert visitor_change > 0.5
    assert view.reference_change([10.0, 10.0, 11.0, 11.0]) is None  # under 2 image pixels


def test_a_new_image_size_drops_the_references(caplog) -> None:
    view = checks()
    view.set_empty_reference(gallery(), ts=0.0)
    view.look(noisy(gallery(), 0), FRAME, 0.0, NOBODY)
    bigger = cv2.resize(gallery(), (SMALL[0] * 2, SMALL[1] * 2), interpolation=cv2.INTER_NEAREST)
    with caplog.at_level(logging.WARNING, logger="console.camera_view"):
        view.look(bigger, FRAME, 1.0, NOBODY)
    assert "image size changed" in caplog.text
    assert not view.has_empty_reference
    assert view.view.empty_reference_ts is None
    assert view.view.frozen_since_ts is None


def test_config_refuses_bad_numbers() -> None:
    with pytest.raises(ValueError, match=r"CameraViewConfig\.reference_refresh_s"):
        CameraViewConfig(reference_refresh_s=float("nan"))
    with pytest.raises(ValueError, match=r"CameraViewConfig\.view_blend"):
        CameraViewConfig(view_blend=-0.1)


def test_small_measures() -> None:
    assert held_since(True, None, 3.0) == 3.0
    assert held_since(True, 1.0, 3.0) == 1.0
    assert held_since(False, 1.0, 3.0) is None
    ref = np.zeros((4, 4), np.float32)
    assert changed_fraction(ref, ref + 100) == 0.0  # uniform: light, not change
    assert changed_fraction(ref, ref, np.zeros((4, 4), bool)) is None
    assert box_polygon_overlap([0, 0, 10, 10], [(5, 0), (15, 0), (15, 10), (5, 10)]) == 0.5


def test_the_automatic_empty_gallery_reference_needs_open_hours_and_a_quiet_span() -> None:
    view = checks(empty_reference_looks=3, empty_reference_span_s=10.0, reference_refresh_s=60.0)

    def empty_look(ts: float, *, museum_open: bool = True, nobody_seen: bool = True) -> bool:
        view.look(noisy(gallery(), int(ts)), FRAME, ts, NOBODY)
        return view.note_empty_gallery(ts, nobody_seen=nobody_seen, museum_open=museum_open)

    assert not any(empty_look(ts, museum_open=False) for ts in range(0, 30, 5))  # closed
    assert [empty_look(ts) for ts in (30.0, 35.0)] == [False, False]
    assert not empty_look(38.0, nobody_seen=False)  # somebody seen: start again
    assert [empty_look(ts) for ts in (40.0, 45.0, 50.0)] == [False, False, True]
    assert (view.view.empty_reference_ts, view.view.empty_reference_by) == (50.0, "automatic")
    assert not any(empty_look(ts) for ts in (55.0, 100.0))  # refreshed only after 60 s
    assert empty_look(110.0)
    assert view.view.empty_reference_ts == 110.0
    view.set_empty_reference(gallery(), ts=111.0)  # a supervisor's reference stays
    assert not any(empty_look(ts) for ts in range(200, 400, 10))
    assert view.view.empty_reference_by == "supervisor"
