"""How well the behaviour model flags the unusual and leaves ordinary visitors alone.

Two measurements, each against a baseline in the same run: **fixed thresholds** that a console
without learning would use (a stay in a room over 2 min, over 1 min near one artwork, 3 or more
separate visits to one artwork, lingering near high-value works in 3 or more rooms), applied to
exactly the same followed visitors, so only the judging differs.

1. **Real footage** (vtest.avi, people walking along a path; the courtyard test site): the
   offline SSDLite detector runs once over the clip (every 4th frame, 2.5 looks a second); the
   clip is then replayed many times through the tracker, the presence model and the behaviour
   model, each replay starting at another frame (the clip wrapped around) and at another site
   time (opening hours, other days and hours of the week, 15 min apart). The first replays are
   the warm-up (learned, never judged); every later replay is judged. Everyone in vtest.avi is
   an ordinary passer-by, so every advisory there is a false one: reported per camera-hour of
   judged footage.
2. **Scripted visitors** on the example museum (3 cameras, 4 rooms; a third high-value work is
   hung in the corridor for this bench): ordinary visitors tour the east gallery (a look at The
   Milkmaid), the west gallery (a look at The Night Watch) and the corridor, a new one every
   10 s, in clothes drawn from 10 colours (so lookalikes meet); after the warm-up, four unusual
   visitors of known kinds walk among them: one who comes back to The Milkmaid five times, one
   who stays 9 minutes near it, one who walks the east gallery against the flow, and one who
   lingers near high-value works in three rooms. Reported: which of the four are flagged (and
   for what), how many ordinary visitors are, precision and recall, and the share of the
   scripted hand-overs between cameras that kept the same person. The boxes and clothes are
   scripted (painted colours), so the hand-over figure is an upper bound for real crops.

    .venv/bin/python bench/behaviour_flags.py [--replays 70] [--warm-up 20] [--explain]

`--explain` also prints, for every ordinary visitor the learned model flagged, the advisory's
reasons in words and who else (by ground truth) was linked into the same visitor.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from console.behaviour.appearance import Vector, appearances
from console.behaviour.model import BehaviourModel
from console.behaviour.visitors import Visitor
from console.media import media_file
from console.presence import Observation, Presence
from console.site_file import Site, load_site
from inference.detections import Detections
from inference.detectors.ssdlite import SsdliteDetector
from inference.tracking import PersonTracker
from tests.behaviour_walks import Clothes, Person, ScriptedWalks, clothes

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
FPS = 10.0
STEP = 4
REPLAY_EVERY = timedelta(minutes=15)
FIRST_DAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # Monday 10:00 in Amsterdam


# --------------------------------------------------------------------------- the baseline


@dataclass(frozen=True, slots=True)
class FixedThresholds:
    """What a console without learning would flag (the same for every museum and hour)."""

    room_s: float = 120.0
    object_s: float = 60.0
    visits: int = 3
    high_value_rooms: int = 3

    def flags(self, visitor: Visitor, now_s: float) -> list[str]:
        out = []
        for zone_id, stay in visitor.stays.items():
            if now_s - stay.last_s <= 2.0 and stay.dwell_s > self.room_s:
                out.append(f"room:{zone_id}")
        for object_id, visit in visitor.objects.items():
            if visit.near_for_s(now_s, 5.0) > self.object_s:
                out.append(f"object:{object_id}")
            if visit.visits >= self.visits:
                out.append(f"visits:{object_id}")
        if len(set(visitor.high_value.values())) >= self.high_value_rooms:
            out.append("high_value_rooms")
        return out


@dataclass
class Tally:
    """Flagged people (by ground-truth id) of the learned model and of the fixed thresholds."""

    learned: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    fixed: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))


def judge_fixed(model: BehaviourModel, camera_id: str, now: datetime, who: dict, tally: Tally):
    """The fixed thresholds over the visitors this camera sees now (`who`: track -> person)."""
    baseline = FixedThresholds()
    now_s = now.timestamp()
    for track_id, person in who.items():
        visitor = model.follower.visitor_of(camera_id, track_id)
        if visitor is not None:
            for flag in baseline.flags(visitor, now_s):
                tally.fixed[person].add(flag.split(":")[0])


# --------------------------------------------------------------------------- real footage


@dataclass(frozen=True, slots=True)
class Look:
    ts: float
    dets: Detections
    looks: dict[bytes, Vector | None]  # a box's bytes -> its appearance


def detect_once(path: Path) -> tuple[list[Look], tuple[int, int]]:
    detector = SsdliteDetector()
    capture = cv2.VideoCapture(str(path))
    out: list[Look] = []
    size = (0, 0)
    frame_no = -1
    while capture.grab():
        frame_no += 1
        if frame_no % STEP:
            continue
        ok, image = capture.retrieve()
        if not ok:
            break
        size = (image.shape[1], image.shape[0])
        (dets,) = detector.detect([image])
        vectors = appearances(image, dets.xyxy.tolist())
        out.append(
            Look(
                frame_no / FPS,
                dets,
                {box.tobytes(): v for box, v in zip(dets.xyxy, vectors, strict=True)},
            )
        )
    capture.release()
    return out, size


def footage_site(folder: Path, warm_up_h: float) -> Site:
    site_dir = folder / "courtyard"
    shutil.copytree(DATA / "courtyard_site", site_dir)
    (site_dir / "plans").mkdir()
    shutil.copy(DATA / "example_site" / "plans" / "ground.png", site_dir / "plans" / "ground.png")
    (site_dir / "footage").mkdir()
    (site_dir / "footage" / "vtest.avi").symlink_to(media_file("vtest.avi"))
    site = load_site(site_dir / "site.yaml")
    settings = site.behaviour.model_copy(update={"warm_up_h": warm_up_h})
    return site.model_copy(update={"behaviour": settings})


def replay_start(replay: int) -> datetime:
    """Replays spread over the days and opening hours of the weeks (10:00-16:45 local)."""
    day, slot = divmod(replay, 28)
    return FIRST_DAY + timedelta(days=day) + slot * REPLAY_EVERY


def real_footage(replays: int, warm_up: int, folder: Path) -> dict[str, object]:
    looks, size = detect_once(media_file("vtest.avi"))
    clip_s = looks[-1].ts + STEP / FPS
    # judging starts with replay `warm_up`: the warm-up is the site time learned until then
    warm_up_h = (replay_start(warm_up) - replay_start(0)).total_seconds() / 3600.0 - 0.01
    site = footage_site(folder, warm_up_h)
    model = BehaviourModel(site)
    tally = Tally()
    judged_s = 0.0
    people_seen = 0
    started = time.perf_counter()
    for replay in range(replays):
        start = replay_start(replay)
        offset = (replay * 37) % len(looks)
        order = looks[offset:] + looks[:offset]
        presence = Presence(site)
        tracker = PersonTracker()
        tracks: set[int] = set()
        judged = replay >= warm_up
        for k, look in enumerate(order):
            ts = k * STEP / FPS
            now = start + timedelta(seconds=ts)
            people = tracker.update(look.dets, ts=ts)
            camera = presence.update(Observation("cam-path", ts, people, size), now)
            vectors = {t.track_id: look.looks.get(_box_bytes(t.xyxy)) for t in camera.visitors}
            found = model.observe(camera, now, vectors)
            model.tick(now)
            tracks.update(t.track_id for t in camera.visitors)
            if judged:
                who = {t.track_id: f"r{replay}-t{t.track_id}" for t in camera.visitors}
                for advisory in found:
                    person = who[advisory.track.track_id]
                    tally.learned[person] |= {r.kind for r in advisory.assessment.reasons}
                judge_fixed(model, "cam-path", now, who, tally)
        if judged:
            judged_s += clip_s
            people_seen += len(tracks)
    hours = judged_s / 3600.0
    return {
        "replays": replays,
        "warm_up_replays": warm_up,
        "clip_s": round(clip_s, 1),
        "judged_camera_hours": round(hours, 2),
        "tracks_judged": people_seen,
        "learned_advisories": len(tally.learned),
        "learned_per_camera_hour": round(len(tally.learned) / hours, 2),
        "learned_reasons": _kinds(tally.learned.values()),
        "fixed_flags": len(tally.fixed),
        "fixed_per_camera_hour": round(len(tally.fixed) / hours, 2),
        "fixed_reasons": _kinds(tally.fixed.values()),
        "seconds": round(time.perf_counter() - started, 1),
    }


def _box_bytes(xyxy: Iterable[float]) -> bytes:
    return np.asarray(list(xyxy), dtype=np.float32).tobytes()


def _kinds(flags: Iterable[set[str]]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for kinds in flags:
        for kind in kinds:
            counts[kind] += 1
    return dict(sorted(counts.items()))


# --------------------------------------------------------------------------- scripted visitors

Point = tuple[float, float]
MILKMAID = (760.0, 100.0)  # on the east gallery's plan, 0.9 m in front of The Milkmaid
NIGHT_WATCH_IMG = (260.0, 420.0)  # foot point on cam-west whose box reaches into the painting
VASE_IMG = (640.0, 420.0)  # on cam-corridor, reaching into the corridor's high-value vase


@dataclass
class Segment:
    """One scripted person's way through one camera: (seconds, point) keyed from `start_s`;
    points are plan pixels on the calibrated cam-east, image pixels elsewhere."""

    camera_id: str
    start_s: float
    path: list[tuple[float, Point]]
    track_id: int = 0

    @property
    def end_s(self) -> float:
        return self.start_s + self.path[-1][0]

    def at(self, t: float) -> Point | None:
        local = t - self.start_s
        if local < 0 or local > self.path[-1][0]:
            return None
        for (t0, a), (t1, b) in zip(self.path, self.path[1:], strict=False):
            if t0 <= local <= t1:
                f = 0.0 if t1 == t0 else (local - t0) / (t1 - t0)
                return a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f
        return None


@dataclass
class Scripted:
    person: str
    kind: str  # "ordinary" or the unusual kind
    wear: Clothes
    segments: list[Segment]


def museum_site(folder: Path, warm_up_h: float) -> Site:
    """The example site with a high-value vase in the corridor (seen by cam-corridor)."""
    site_dir = folder / "museum"
    shutil.copytree(DATA / "example_site", site_dir)
    path = site_dir / "site.yaml"
    raw = yaml.safe_load(path.read_text())
    raw["protected_objects"].append(
        {
            "id": "vase",
            "name": "Delft vase",
            "floor": "ground",
            "kind": "case",
            "value": "high",
            "plan_polygon": [[440, 740], [470, 740], [470, 756], [440, 756]],
            "min_distance_m": 0.8,
            "image_regions": {"cam-corridor": [[560, 200], [720, 200], [720, 380], [560, 380]]},
        }
    )
    raw["behaviour"] = {"warm_up_h": warm_up_h, "forget_after_s": 300}
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return load_site(path)


def ordinary_tour(rng: random.Random, start: float) -> list[Segment]:
    look = rng.uniform(6, 28)
    east = Segment(
        "cam-east",
        start,
        [
            (0, (1100.0, rng.uniform(300, 450))),
            (12, MILKMAID),
            (12 + look, MILKMAID),
            (22 + look, (650.0, rng.uniform(250, 350))),
        ],
    )
    t = east.end_s + rng.uniform(3, 6)
    stop = rng.uniform(3, 18)
    west = Segment(
        "cam-west",
        t,
        [
            (0, (1150.0, 600.0)),
            (15, NIGHT_WATCH_IMG),
            (15 + stop, NIGHT_WATCH_IMG),
            (25 + stop, (80.0, 650.0)),
        ],
    )
    t = west.end_s + rng.uniform(3, 6)
    corridor = Segment("cam-corridor", t, [(0, (100.0, 600.0)), (20, (1150.0, 600.0))])
    return [east, west, corridor]


def unusual(kind: str, start: float) -> list[Segment]:
    if kind == "returns":
        path: list[tuple[float, Point]] = [(0, (1100.0, 400.0))]
        t = 0.0
        for _ in range(5):
            path += [(t + 8, MILKMAID), (t + 14, MILKMAID), (t + 22, (900.0, 420.0))]
            t += 30
            path.append((t, (900.0, 420.0)))
        path.append((t + 15, (650.0, 300.0)))
        return [Segment("cam-east", start, path)]
    if kind == "stays 9 min":
        return [
            Segment(
                "cam-east",
                start,
                [(0, (1100.0, 400.0)), (12, MILKMAID), (552, MILKMAID), (565, (650.0, 300.0))],
            )
        ]
    if kind == "against the flow":
        return [Segment("cam-east", start, [(0, (650.0, 300.0)), (25, (1100.0, 400.0))])]
    if kind == "three rooms":
        east = Segment(
            "cam-east",
            start,
            [(0, (1100.0, 400.0)), (12, MILKMAID), (35, MILKMAID), (45, (650.0, 300.0))],
        )
        west = Segment(
            "cam-west",
            east.end_s + 4,
            [(0, (1150.0, 600.0)), (15, NIGHT_WATCH_IMG), (38, NIGHT_WATCH_IMG), (48, (80, 650))],
        )
        corridor = Segment(
            "cam-corridor",
            west.end_s + 4,
            [(0, (100.0, 600.0)), (10, VASE_IMG), (35, VASE_IMG), (45, (1150.0, 600.0))],
        )
        return [east, west, corridor]
    raise ValueError(kind)


UNUSUAL = ("returns", "stays 9 min", "against the flow", "three rooms")


def scripted(
    learning_s: float, judged_s: float, folder: Path, explain: bool = False
) -> dict[str, object]:
    rng = random.Random(20)
    site = museum_site(folder, warm_up_h=learning_s / 3600.0 - 0.01)
    start = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)  # Tuesday 10:00 in Amsterdam
    walks = ScriptedWalks(site, start)
    people: list[Scripted] = []
    every_s = 10.0
    for n in range(int((learning_s + judged_s) / every_s)):
        people.append(
            Scripted(f"o{n}", "ordinary", clothes(rng.randrange(100)), ordinary_tour(rng, n * 10))
        )
    for k, kind in enumerate(UNUSUAL):
        at = learning_s + 120.0 + k * 600.0
        people.append(Scripted(f"u{k}", kind, clothes(rng.randrange(100)), unusual(kind, at)))
    track_ids = iter(range(1, 10**9))
    for person in people:
        for segment in person.segments:
            segment.track_id = next(track_ids)
    end_s = max(s.end_s for p in people for s in p.segments) + 2
    cameras = [c.id for c in site.cameras]
    owner = {(s.camera_id, s.track_id): p for p in people for s in p.segments}
    tally = Tally()
    handovers_kept = handovers = 0
    linked_to: dict[tuple[str, int], str] = {}
    why: dict[str, list[str]] = {}  # an ordinary person flagged: what was said, first time
    started = time.perf_counter()
    for t in range(int(end_s)):
        judged = t >= learning_s
        for camera_id in cameras:
            here: dict[int, Person] = {}
            for person in people:
                for segment in person.segments:
                    if segment.camera_id != camera_id:
                        continue
                    at = segment.at(float(t))
                    if at is None:
                        continue
                    if camera_id == "cam-east":
                        here[segment.track_id] = walks.at_plan(camera_id, at, person.wear)
                    else:
                        here[segment.track_id] = walks.at_image(at, person.wear)
            found = walks.look(camera_id, here, dt=1.0 / len(cameras))
            for track_id in here:
                key = (camera_id, track_id)
                visitor = walks.behaviour.follower.visitor_of(camera_id, track_id)
                if visitor is not None:  # the latest: a provisional visitor may be merged
                    linked_to[key] = visitor.visitor_id
            if judged:
                who = {tid: owner[(camera_id, tid)].person for tid in here}
                for advisory in found:
                    person_id = who[advisory.track.track_id]
                    tally.learned[person_id] |= {r.kind for r in advisory.assessment.reasons}
                    if owner[(camera_id, advisory.track.track_id)].kind == "ordinary":
                        why.setdefault(
                            person_id,
                            [
                                f"t={t} {camera_id} track {advisory.track.track_id} "
                                f"{advisory.visitor_id} score {advisory.assessment.score}",
                                *(r.words for r in advisory.assessment.reasons),
                            ],
                        )
                judge_fixed(walks.behaviour, camera_id, walks.now, who, tally)
    # hand-overs: each person's later segments against their first one's visitor
    for person in people:
        first = linked_to.get((person.segments[0].camera_id, person.segments[0].track_id))
        for segment in person.segments[1:]:
            linked = linked_to.get((segment.camera_id, segment.track_id))
            if first is None or linked is None:
                continue
            handovers += 1
            handovers_kept += linked == first
    kinds = {p.person: p.kind for p in people}
    if explain:
        members: dict[str, set[str]] = defaultdict(set)
        for (camera_id, track_id), visitor_id in linked_to.items():
            members[visitor_id].add(owner[(camera_id, track_id)].person)
        for person_id, lines in why.items():
            visitor_id = lines[0].split()[4]
            print(f"flagged ordinary {person_id}: {lines[0]}")
            for line in lines[1:]:
                print(f"    {line}")
            print(f"    linked into {visitor_id}: {sorted(members[visitor_id])}")
    ordinary_judged = sum(
        1 for p in people if p.kind == "ordinary" and p.segments[-1].end_s >= learning_s
    )
    camera_hours = len(cameras) * judged_s / 3600.0
    return {
        "learning_s": learning_s,
        "judged_s": judged_s,
        "ordinary_visitors_judged": ordinary_judged,
        "camera_hours_judged": round(camera_hours, 2),
        "learned": _report(tally.learned, kinds, camera_hours),
        "fixed": _report(tally.fixed, kinds, camera_hours),
        "handovers": handovers,
        "handovers_kept_share": round(handovers_kept / handovers, 3) if handovers else None,
        "seconds": round(time.perf_counter() - started, 1),
    }


def _report(flags: dict[str, set[str]], kinds: dict[str, str], camera_hours: float) -> dict:
    unusual_flagged = {kinds[p]: sorted(k) for p, k in flags.items() if kinds[p] != "ordinary"}
    ordinary_flagged = [p for p in flags if kinds[p] == "ordinary"]
    flagged = len(unusual_flagged) + len(ordinary_flagged)
    return {
        "unusual_flagged": unusual_flagged,
        "recall": round(len(unusual_flagged) / len(UNUSUAL), 2),
        "precision": round(len(unusual_flagged) / flagged, 2) if flagged else None,
        "ordinary_flagged": len(ordinary_flagged),
        "ordinary_per_camera_hour": round(len(ordinary_flagged) / camera_hours, 2),
        "ordinary_reasons": _kinds(flags[p] for p in ordinary_flagged),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--replays", type=int, default=70)
    parser.add_argument("--warm-up", type=int, default=20)
    parser.add_argument("--learning-s", type=float, default=3600.0)
    parser.add_argument("--judged-s", type=float, default=2700.0)
    parser.add_argument("--skip-footage", action="store_true")
    parser.add_argument(
        "--explain", action="store_true", help="print why each ordinary visitor was flagged"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        if not args.skip_footage:
            print("real footage:", real_footage(args.replays, args.warm_up, Path(folder)))
        print("scripted:", scripted(args.learning_s, args.judged_s, Path(folder), args.explain))


if __name__ == "__main__":
    main()
