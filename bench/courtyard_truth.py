"""Ground truth of the courtyard footage: who came how close to the plinth, and when.

The courtyard test site (tests/data/courtyard_site) has one uncalibrated camera over vtest.avi and
a protected object, the plinth, given only as an image region on the walking path. Without a
calibration there are no metres: the rule judges an image reach (the person's box overlapping the
object's image polygon by at least `PresenceConfig.reach_min_overlap` of the smaller area), so
the ground truth uses that same measure, on every frame:

- person boxes on all 795 frames: the offline SSDLite model with the flip pass and a lower
  threshold (0.25) than the console's (0.35, no flip), tracked at 10 fps with permissive
  thresholds, gaps of up to 1.5 s filled by linear interpolation;
- an **episode** is one person's run of frames reaching into the plinth's region lasting at least
  0.5 s (the site's proximity `dwell_s`);
- the **1.5 m envelope** (the false-alarm criterion) has no metres here either: a person is within
  it when their box, grown on every side by 0.5 m at their own scale (a box's height being
  1.7 m), touches the region. A finding whose box matches no ground-truth person within the
  envelope at that moment is a false one.

Limits (checked by eye on a contact sheet of every episode): the boxes come from a model of the
same family as the one measured, so a person it never sees at all is missing from both (the flip
pass finds some the default pass misses, e.g. a man behind the tape at 20-22 s); in the densest
moments (67-71 s) two people walking one behind the other can get one tall box, and an id switch
can split one person's approach into two episodes; boxes of people cut by the image edge are
loose. Episode times are good to about a frame (0.1 s).

vtest.avi comes from Debian's opencv-doc package and appears to be from PETS 2009 (research use
with acknowledgement); it is fetched, never committed. What this script writes holds no pixels:
episode times and box coordinates, attributed in the file.

    .venv/bin/python bench/courtyard_truth.py [--out tests/data/courtyard_approaches.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from itertools import pairwise
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from console.camera_view import box_polygon_overlap
from console.media import media_file
from console.presence import PresenceConfig
from console.site_file import load_site
from inference.detections import Detections
from inference.detectors.ssdlite import SsdliteDetector
from inference.tracking import PersonTracker, TrackerConfig

REPO = Path(__file__).resolve().parents[1]
SITE = REPO / "tests" / "data" / "courtyard_site" / "site.yaml"
OUT = REPO / "tests" / "data" / "courtyard_approaches.json"
FPS = 10.0
DETECT_THRESHOLD = 0.25
TRACK_SCORE = 0.3
MAX_GAP_FRAMES = 15
MIN_EPISODE_S = 0.5
ENVELOPE_M = 1.5
PERSON_HEIGHT_M = 1.7
SOURCE = (
    "vtest.avi (Debian opencv-doc; appears to come from PETS 2009, research use with "
    "acknowledgement). Derived by bench/courtyard_truth.py: SSDLite person boxes (flip pass, "
    "threshold 0.25) on every frame, tracked at 10 fps, gaps up to 1.5 s interpolated. No pixels."
)


def plinth_region() -> tuple[str, list[list[float]], float]:
    """The plinth's image polygon in the courtyard camera, and its minimum distance."""
    text = SITE.read_text()
    folder = Path("/tmp") / "nightwatch-courtyard-truth"
    (folder / "plans").mkdir(parents=True, exist_ok=True)
    plan = REPO / "tests" / "data" / "example_site" / "plans" / "ground.png"
    (folder / "plans" / "ground.png").write_bytes(plan.read_bytes())
    (folder / "site.yaml").write_text(text.replace("source: footage/vtest.avi", "source: usb:0"))
    site = load_site(folder / "site.yaml")
    camera = site.cameras[0]
    (obj,) = site.objects_seen_by(camera.id)
    region = [[float(x), float(y)] for x, y in obj.image_regions[camera.id]]
    return obj.id, region, float(obj.min_distance_m)


def person_boxes(video: Path) -> dict[int, dict[int, np.ndarray]]:
    """Track id -> frame -> box, every frame of the video, gaps interpolated."""
    detector = SsdliteDetector(score_threshold=DETECT_THRESHOLD, flip=True)
    tracker = PersonTracker(
        TrackerConfig(
            high_score=TRACK_SCORE,
            new_track_score=TRACK_SCORE,
            low_score=0.1,
            confirm_updates=2,
            max_lost_s=MAX_GAP_FRAMES / FPS,
            birth_walk_per_s=0.8,
        )
    )
    capture = cv2.VideoCapture(str(video))
    tracks: dict[int, dict[int, np.ndarray]] = {}
    frame = 0
    started = time.monotonic()
    try:
        while True:
            ok, image = capture.read()
            if not ok:
                break
            (found,) = detector.detect([image])
            for box, tid in zip(*_tracked(tracker.update(found, frame / FPS)), strict=True):
                tracks.setdefault(tid, {})[frame] = box
            frame += 1
    finally:
        capture.release()
    print(f"{frame} frames detected in {time.monotonic() - started:.0f} s", file=sys.stderr)
    for boxes in tracks.values():
        seen = sorted(boxes)
        for a, b in pairwise(seen):
            if 1 < b - a <= MAX_GAP_FRAMES:
                for k in range(a + 1, b):
                    w = (k - a) / (b - a)
                    boxes[k] = (1 - w) * boxes[a] + w * boxes[b]
    return tracks


def _tracked(people: Detections) -> tuple[list[np.ndarray], list[int]]:
    return [b.astype(np.float64) for b in people.xyxy], [int(t) for t in people.track_id]


def grown(box: np.ndarray, metres: float) -> list[float]:
    """The box grown on every side by `metres` at the person's scale (box height = 1.7 m)."""
    margin = metres / PERSON_HEIGHT_M * float(box[3] - box[1])
    return [box[0] - margin, box[1] - margin, box[2] + margin, box[3] + margin]


def truth(tracks: dict[int, dict[int, np.ndarray]], region: list[list[float]], min_m: float):
    reach = PresenceConfig().reach_min_overlap
    episodes: list[dict[str, object]] = []
    near: dict[int, list[list[int]]] = {}
    for tid, boxes in sorted(tracks.items()):
        frames = sorted(boxes)
        touching = [f for f in frames if box_polygon_overlap(boxes[f], region) >= reach]
        runs: list[list[int]] = []
        for f in touching:
            if runs and f == runs[-1][1] + 1:
                runs[-1][1] = f
            else:
                runs.append([f, f])
        for first, last in runs:
            if (last - first + 1) / FPS < MIN_EPISODE_S:
                continue
            episodes.append(
                {
                    "person": tid,
                    "start_s": round(first / FPS, 1),
                    "end_s": round((last + 1) / FPS, 1),
                    "boxes": {
                        str(f): [round(float(v)) for v in boxes[f]] for f in range(first, last + 1)
                    },
                }
            )
        for f in frames:
            if box_polygon_overlap(grown(boxes[f], ENVELOPE_M - min_m), region) > 0.0:
                near.setdefault(f, []).append([round(float(v)) for v in boxes[f]])
    episodes.sort(key=lambda e: (e["start_s"], e["person"]))
    for i, episode in enumerate(episodes, start=1):
        episode["id"] = i
    return episodes, near


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    obj_id, region, min_m = plinth_region()
    tracks = person_boxes(media_file("vtest.avi"))
    episodes, near = truth(tracks, region, min_m)
    document = {
        "source": SOURCE,
        "object": obj_id,
        "image_region": region,
        "fps": FPS,
        "frames": max((f for boxes in tracks.values() for f in boxes), default=-1) + 1,
        "episode": (
            f"one person's run of frames with their box reaching into the object's image region "
            f"(overlap >= {PresenceConfig().reach_min_overlap} of the smaller area), "
            f">= {MIN_EPISODE_S} s"
        ),
        "envelope": (
            f"{ENVELOPE_M} m: the box grown on every side by {ENVELOPE_M - min_m:g} m at the "
            f"person's scale (box height {PERSON_HEIGHT_M} m) touches the region"
        ),
        "episodes": [
            {k: e[k] for k in ("id", "person", "start_s", "end_s", "boxes")} for e in episodes
        ],
        "within_envelope": {str(f): near[f] for f in sorted(near)},
    }
    args.out.write_text(json.dumps(document, separators=(",", ":")) + "\n")
    short = sum(1 for e in episodes if e["end_s"] - e["start_s"] <= 1.5)
    print(
        f"{len(episodes)} episodes ({short} of at most 1.5 s) of {len(tracks)} people tracked; "
        f"written to {args.out} ({args.out.stat().st_size} bytes)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
