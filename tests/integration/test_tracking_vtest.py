"""PersonTracker on real footage: one walking person keeps one id across vtest.avi.

vtest.avi (768x576, 10 fps, static camera, people walking on a campus path; see tests/media.py)
is fed every 2nd frame, with timestamps in seconds, as the scheduler does when it skips frames,
through the offline SSDLite detector with its default arguments.

The person, checked by eye once (each frame's boxes drawn and viewed): a woman in a red jacket and
jeans, holding a white sheet, enters on the right at about frame 424 and walks left along the path
past the sign post (frames 462-480 a man in a dark jacket walks beside and then in front of her;
the detector misses her on a few frames there) and leaves on the left at about frame 572.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from inference.detections import Detections
from inference.detectors.ssdlite import SsdliteDetector
from inference.tracking import PersonTracker, Track
from tests.media import media

REPO = Path(__file__).resolve().parents[2]

FPS = 10.0
FIRST_FRAME, LAST_FRAME, STEP = 420, 568, 2
# (frame, a point on her body in image pixels), read off the drawn frames
START = (430, (705.0, 330.0))  # right of the sign post, walking left
END = (566, (69.0, 207.0))  # near the left edge, 13.6 s later


@pytest.fixture(scope="module")
def tracked() -> tuple[dict[int, Detections], list[Track]]:
    """Each fed frame's tracked detections, and the tracker's track records after the last one."""
    detector = SsdliteDetector()
    tracker = PersonTracker()
    capture = cv2.VideoCapture(str(media("vtest.avi")))
    assert capture.isOpened()
    outputs: dict[int, Detections] = {}
    try:
        for frame_no in range(LAST_FRAME + 1):
            if frame_no < FIRST_FRAME or (frame_no - FIRST_FRAME) % STEP:
                assert capture.grab(), f"vtest.avi ended at frame {frame_no}"
                continue
            ok, image = capture.read()
            assert ok, f"vtest.avi ended at frame {frame_no}"
            (dets,) = detector.detect([image])
            outputs[frame_no] = tracker.update(dets, ts=frame_no / FPS)
    finally:
        capture.release()
    return outputs, tracker.tracks


def ids_at(dets: Detections, point: tuple[float, float]) -> list[int]:
    x, y = point
    boxes = dets.xyxy
    inside = (boxes[:, 0] <= x) & (x <= boxes[:, 2]) & (boxes[:, 1] <= y) & (y <= boxes[:, 3])
    return dets.track_id[inside].tolist()


def test_one_walking_person_keeps_one_id(tracked) -> None:
    outputs, tracks = tracked
    start_frame, start_point = START
    end_frame, end_point = END
    start_ids = ids_at(outputs[start_frame], start_point)
    assert len(start_ids) == 1, f"frame {start_frame}: tracked boxes on her: {start_ids}"
    her = start_ids[0]
    assert ids_at(outputs[end_frame], end_point) == [her], (
        f"frame {end_frame}: ids on her {ids_at(outputs[end_frame], end_point)}, expected {her}"
    )

    # In between, the id is on her most of the time, and it moves with her: a path that only goes
    # left at walking pace, never a jump to somebody else.
    path = []
    for frame_no in range(start_frame, end_frame + 1, STEP):
        mine = outputs[frame_no][outputs[frame_no].track_id == her]
        assert len(mine) <= 1, f"frame {frame_no}: id {her} on {len(mine)} boxes"
        if len(mine):
            path.append((frame_no, *mine.centres[0]))
    updates = (end_frame - start_frame) // STEP + 1
    assert len(path) >= 0.8 * updates, f"id {her} on only {len(path)} of {updates} updates"
    for (f0, x0, y0), (f1, x1, y1) in itertools.pairwise(path):
        dt_s = (f1 - f0) / FPS
        assert x1 - x0 <= 15.0, f"frames {f0}->{f1}: id {her} went right by {x1 - x0:.0f} px"
        step_px = float(np.hypot(x1 - x0, y1 - y0))
        assert step_px <= 30.0 + 100.0 * dt_s, (
            f"frames {f0}->{f1}: id {her} jumped {step_px:.0f} px"
        )

    # the rules see her as one person seen for the whole walk
    (record,) = [t for t in tracks if t.track_id == her]
    assert record.first_seen_ts <= start_frame / FPS
    assert record.seen_for_s >= (end_frame - start_frame) / FPS


def test_tracking_does_not_import_torch() -> None:
    code = (
        "import sys\n"
        "import numpy as np\n"
        "from inference.detections import Detections\n"
        "from inference.tracking import PersonTracker\n"
        "t = PersonTracker()\n"
        "for ts in (0.0, 0.2):\n"
        "    t.update(Detections(np.array([[10, 10, 50, 110]]), [0.9]), ts)\n"
        "print(','.join(m for m in ('torch', 'ultralytics') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "", f"inference.tracking imported {out.stdout.strip()}"
