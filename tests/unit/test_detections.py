from __future__ import annotations

import numpy as np
import pytest

from inference.detections import Detections, box_iou


def sample() -> Detections:
    return Detections(
        [[10, 20, 50, 120], [100, 100, 140, 200], [0, 0, 5, 5]],
        [0.9, 0.4, 0.7],
        track_id=[3, -1, 7],
    )


def test_mask_filters_every_column() -> None:
    dets = sample()
    strong = dets[dets.confidence >= 0.5]
    assert len(strong) == 2
    assert strong.track_id.tolist() == [3, 7]
    assert strong.xyxy[1].tolist() == [0, 0, 5, 5]


def test_frozen_columns_cannot_be_written() -> None:
    dets = sample()
    with pytest.raises(ValueError, match="read-only"):
        dets.confidence[0] = 0.1
    with pytest.raises(AttributeError):
        dets.xyxy = np.zeros((0, 4))  # type: ignore[misc]


def test_input_arrays_are_copied() -> None:
    boxes = np.array([[0.0, 0.0, 10.0, 10.0]])
    dets = Detections(boxes, [1.0])
    boxes[0, 0] = 5
    assert dets.xyxy[0, 0] == 0


def test_foot_point_is_bottom_centre() -> None:
    assert sample().foot_points[0].tolist() == [30.0, 120.0]


def test_mismatched_columns_are_refused() -> None:
    with pytest.raises(ValueError, match=r"confidence has 1 rows, xyxy has 2"):
        Detections([[0, 0, 1, 1], [1, 1, 2, 2]], [0.5])


def test_clipped_drops_boxes_outside_the_image() -> None:
    dets = Detections([[-10, -5, 20, 30], [700, 10, 800, 50]], [0.9, 0.8]).clipped(640, 360)
    assert dets.xyxy.tolist() == [[0, 0, 20, 30]]


def test_records_and_empty() -> None:
    rows = sample()[[0]].to_records()
    assert rows == [{"class": "person", "confidence": 0.9, "box": [10, 20, 50, 120], "track_id": 3}]
    assert len(Detections.empty()) == 0
    assert Detections.concatenate([sample(), Detections.empty()]) == sample()


def test_iou() -> None:
    iou = box_iou(
        np.array([[0, 0, 10, 10]]), np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]])
    )
    assert iou.round(3).tolist() == [[1.0, 0.333, 0.0]]
