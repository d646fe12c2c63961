from __future__ import annotations

import cv2
import numpy as np

from inference.motion_gate import MotionGate


def scene() -> np.ndarray:
    img = np.zeros((360, 640, 3), np.uint8)
    cv2.rectangle(img, (100, 100), (300, 250), (90, 120, 160), -1)
    return img


def test_static_scene_is_quiet_and_a_walker_is_not() -> None:
    gate = MotionGate()
    assert gate.measure(scene()) == 1.0  # first frame: always worth a look
    rng = np.random.default_rng(1)
    for _ in range(10):
        noisy = np.clip(scene().astype(np.int16) + rng.integers(-3, 4, (360, 640, 3)), 0, 255)
        assert not gate.is_moving(gate.measure(noisy.astype(np.uint8)))
    walker = scene()
    cv2.rectangle(walker, (400, 120), (440, 300), (230, 230, 230), -1)  # a person-sized blob
    assert gate.is_moving(gate.measure(walker))


def test_grey_frames_work_too() -> None:
    gate = MotionGate()
    gray = cv2.cvtColor(scene(), cv2.COLOR_BGR2GRAY)
    gate.measure(gray)
    assert gate.measure(gray) == 0.0
