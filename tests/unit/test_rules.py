"""Every rule, firing and not firing, on scripted tracks, synthetic frames and a fake clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest

from console.clock import FakeClock
from console.presence import Observation, Presence
from console.rules import (
    Finding,
    after_hours,
    camera_health,
    evaluate,
    loitering,
    object_missing,
    proximity,
    restricted_zone,
)
from console.site_file import Site, load_site
from inference.detections import Detections

REPO = Path(__file__).resolve().parents[2]
SITE_FILE = REPO / "tests" / "data" / "example_site" / "site.yaml"
if not SITE_FILE.exists():
    SITE_FILE = REPO.parent / "shared" / "examples" / "site.yaml"
FRAME = (1280, 720)
SMALL = (160, 90)  # the small frame the image checks get: 1/8 of the frame
# Europe/Amsterdam: Tuesday 3 March 2026, 11:00 local (open 10-17)
OPEN = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
CLOSED = datetime(2026, 3, 3, 22, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def site() -> Site:
    return load_site(SITE_FILE)


def with_rules(site: Site, **rules) -> Site:
    return site.model_copy(update={"rules": site.rules.model_copy(update=rules)})


def box_at(foot: tuple[float, float], height: float = 200.0) -> list[float]:
    x, y = foot
    return [x - height / 4, y - height, x + height / 4, y]


def on_plan(site: Site, plan_xy: tuple[float, float], camera_id: str = "cam-east") -> list[float]:
    cal = site.calibration(camera_id)
    assert cal is not None
    x, y = cal.plan_to_image_px([plan_xy])[0]
    return box_at((float(x), float(y)))


def people(tracks: dict[int, list[float]]) -> Detections:
    if not tracks:
        return Detections.empty()
    return Detections(list(tracks.values()), [0.9] * len(tracks), track_id=list(tracks))


class Script:
    """Feeds a presence model frame by frame, with a fake clock that follows the video."""

    def __init__(
        self,
        site: Site,
        start: datetime = OPEN,
        camera_id: str = "cam-east",
        first_ts: float = 0.0,
        **kw,
    ):
        self.site = site
        self.clock = FakeClock(start + timedelta(seconds=first_ts))  # `start` is at ts 0
        self.presence = Presence(site, **kw)
        self.camera_id = camera_id
        self.ts = first_ts

    def frame(self, ts: float, tracks: dict[int, list[float]] | None = None, image=None) -> None:
        self.clock.advance(ts - self.ts)
        self.ts = ts
        obs = Observation(self.camera_id, ts, people(tracks or {}), FRAME, image=image)
        self.presence.update(obs, self.clock.now())

    def run(self, rule, tuning=None) -> list[Finding]:
        camera = self.presence.camera(self.camera_id)
        return rule(camera, self.site, self.clock.now(), tuning)


def texture(seed: int = 0) -> np.ndarray:
    """A high-contrast blocky grey scene, SMALL in size (an empty gallery, for the tests)."""
    blocks = np.random.default_rng(seed).integers(30, 230, (SMALL[1] // 5, SMALL[0] // 5))
    scene = cv2.resize(blocks.astype(np.uint8), SMALL, interpolation=cv2.INTER_NEAREST)
    return cv2.cvtColor(scene, cv2.COLOR_GRAY2BGR)


def noisy(image: np.ndarray, seed: int) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0, 3, image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


def paint(image: np.ndarray, box: list[float], seed: int) -> np.ndarray:
    """Draw a figure (a blocky random pattern) into the small image where a frame box lies."""
    out = image.copy()
    x1, y1, x2, y2 = (round(v / 8) for v in box)
    x1, y1 = max(0, x1), max(0, y1)
    x2, y2 = min(SMALL[0], max(x2, x1 + 1)), min(SMALL[1], max(y2, y1 + 1))
    blocks = np.random.default_rng(seed).integers(0, 255, ((y2 - y1) // 3 + 1, (x2 - x1) // 3 + 1))
    pattern = np.kron(blocks, np.ones((3, 3)))[: y2 - y1, : x2 - x1]
    out[y1:y2, x1:x2] = pattern[:, :, None].astype(np.uint8)
    return out


# --------------------------------------------------------------------------- proximity


def test_proximity_on_the_plan_needs_the_dwell(site: Site) -> None:
    s = Script(site)  # dwell_s: 0.5 in the example site
    near = on_plan(site, (760, 90))  # 0.72 m from the Milkmaid (min 0.8 m)
    s.frame(0.0, {1: near})
    s.frame(0.49, {1: near})
    assert s.run(proximity) == []
    s.frame(0.5, {1: near})
    (finding,) = s.run(proximity)
    assert (finding.rule, finding.subject_id, finding.track_id) == ("proximity", "milkmaid", 1)
    assert finding.severity == "high"  # the Milkmaid's value tier
    assert finding.detail.mode == "plan"
    assert finding.detail.distance_m == pytest.approx(0.72, abs=1e-3)
    assert finding.video_ts == 0.5
    assert finding.at == OPEN + timedelta(seconds=0.5)


def test_proximity_a_one_frame_blip_and_a_distant_visitor_raise_nothing(site: Site) -> None:
    s = Script(site)
    near, away = on_plan(site, (760, 90)), on_plan(site, (760, 110))  # 0.72 m, 1.12 m
    s.frame(0.0, {1: near, 2: away})
    s.frame(0.3, {1: away, 2: away})
    s.frame(0.6, {1: away, 2: away})
    s.frame(1.0, {1: away, 2: away})
    assert s.run(proximity) == []


def test_proximity_severity_follows_the_value_tier(site: Site) -> None:
    s = Script(site)
    dancer = on_plan(site, (880, 440))  # 20 px = 0.4 m below the bronze dancer (min 0.6 m)
    s.frame(0.0, {7: dancer})
    s.frame(1.0, {7: dancer})
    (finding,) = s.run(proximity)
    assert (finding.subject_id, finding.severity) == ("bronze-dancer", "medium")


def test_proximity_on_an_uncalibrated_camera_uses_the_image_region(site: Site) -> None:
    s = Script(site, camera_id="cam-west")
    reach = [380.0, 250.0, 480.0, 470.0]  # into the Night Watch region (x 100..420)
    beside = [440.0, 250.0, 540.0, 470.0]
    s.frame(0.0, {1: reach, 2: beside})
    s.frame(0.6, {1: reach, 2: beside})
    (finding,) = s.run(proximity)
    assert (finding.subject_id, finding.track_id) == ("night-watch", 1)
    assert finding.detail.mode == "image"
    assert "distance_m" not in finding.detail


def test_proximity_switched_off(site: Site) -> None:
    from console.site_file import ProximityRule

    s = Script(with_rules(site, proximity=ProximityRule(enabled=False)))
    near = on_plan(site, (760, 90))
    s.frame(0.0, {1: near})
    s.frame(2.0, {1: near})
    assert s.run(proximity) == []


# --------------------------------------------------------------------------- after hours


@pytest.mark.parametrize(
    ("when", "closed"),
    [
        (datetime(2026, 3, 3, 10, 0, tzinfo=UTC), False),  # Tue 11:00 CET
        (datetime(2026, 3, 3, 16, 30, tzinfo=UTC), True),  # Tue 17:30 CET
        (datetime(2026, 3, 3, 8, 59, tzinfo=UTC), True),  # Tue 09:59 CET
        (datetime(2026, 3, 2, 12, 0, tzinfo=UTC), True),  # Monday: closed all day
        (datetime(2026, 7, 7, 14, 30, tzinfo=UTC), False),  # Tue 16:30 CEST
        (datetime(2026, 7, 7, 15, 30, tzinfo=UTC), True),  # Tue 17:30 CEST (15:30 UTC)
        (datetime(2026, 12, 25, 11, 0, tzinfo=UTC), True),  # Friday, Christmas: closed
        (datetime(2026, 12, 31, 13, 30, tzinfo=UTC), False),  # Thu 14:30, short day
        (datetime(2026, 12, 31, 14, 30, tzinfo=UTC), True),  # Thu 15:30, after the short day
    ],
)
def test_after_hours_follows_opening_hours_in_the_site_time_zone(
    site: Site, when: datetime, closed: bool
) -> None:
    s = Script(site, start=when)
    inside = on_plan(site, (900, 300))
    s.frame(0.0, {1: inside})
    s.frame(1.0, {1: inside})  # after_hours.dwell_s: 1.0 by default
    findings = s.run(after_hours)
    if closed:
        (finding,) = findings
        assert (finding.subject_id, finding.severity) == ("east-gallery", "high")
    else:
        assert findings == []


def test_after_hours_needs_the_dwell_and_an_armed_zone(site: Site) -> None:
    s = Script(site, start=CLOSED)
    inside = on_plan(site, (900, 300))
    s.frame(0.0, {1: inside})
    s.frame(0.9, {1: inside})
    assert s.run(after_hours) == []
    zones = tuple(
        z.model_copy(update={"armed": False}) if z.id == "east-gallery" else z for z in site.zones
    )
    disarmed = Script(site.model_copy(update={"zones": zones}), start=CLOSED)
    disarmed.frame(0.0, {1: inside})
    disarmed.frame(5.0, {1: inside})
    assert disarmed.run(after_hours) == []


def test_after_hours_on_an_uncalibrated_camera_uses_its_zone(site: Site) -> None:
    s = Script(site, start=CLOSED, camera_id="cam-corridor")
    s.frame(0.0, {1: [600, 300, 700, 600]})
    s.frame(2.0, {1: [600, 300, 700, 600]})
    (finding,) = s.run(after_hours)
    assert finding.subject_id == "corridor"


# --------------------------------------------------------------------------- loitering


def test_loitering_in_a_zone_just_under_and_over_its_loiter_time(site: Site) -> None:
    s = Script(site)  # east-gallery: loiter_s 600
    spots = [on_plan(site, (700 + 10 * i, 300)) for i in range(4)]  # walking about inside
    for i, ts in enumerate([0.0, 200.0, 400.0, 599.9]):
        s.frame(ts, {1: spots[i % 4]})
    assert s.run(loitering) == []
    s.frame(600.0, {1: spots[0]})
    (finding,) = s.run(loitering)
    assert (finding.subject_id, finding.severity) == ("east-gallery", "low")
    assert finding.detail.dwell_s == pytest.approx(600.0)


def test_loitering_near_one_object(site: Site) -> None:
    from console.rules import RuleTuning

    s = Script(site)
    near = on_plan(site, (760, 130))  # 1.52 m from the Milkmaid: near, not too close
    tuning = RuleTuning(near_object_loiter_s=60.0)
    s.frame(0.0, {1: near})
    s.frame(59.0, {1: near})
    assert s.run(loitering, tuning) == []
    s.frame(60.0, {1: near})
    (finding,) = s.run(loitering, tuning)
    assert (finding.subject_id, finding.severity) == ("milkmaid", "medium")
    assert s.run(proximity) == []


# --------------------------------------------------------------------------- restricted


def test_entering_a_restricted_zone(site: Site) -> None:
    s = Script(site)  # the store: x 904..1156, y 564..756 on the plan
    outside, inside = on_plan(site, (850, 650)), on_plan(site, (1000, 650))
    s.frame(0.0, {1: outside})
    s.frame(1.0, {1: inside})
    s.frame(1.4, {1: inside})
    assert s.run(restricted_zone) == []
    s.frame(1.5, {1: inside})
    (finding,) = s.run(restricted_zone)
    assert (finding.subject_id, finding.severity) == ("store", "medium")  # open: staff about
    night = Script(site, start=CLOSED)
    night.frame(0.0, {1: inside})
    night.frame(0.5, {1: inside})
    assert [f.severity for f in night.run(restricted_zone)] == ["high"]


# --------------------------------------------------------------------------- objects


MILKMAID_REGION = [540, 250, 760, 380]  # its image region in cam-east, frame pixels


def painted_scene() -> np.ndarray:
    return paint(texture(3), MILKMAID_REGION, seed=11)


def wall_where_the_painting_was() -> np.ndarray:
    scene = painted_scene()
    x1, y1, x2, y2 = (v // 8 for v in MILKMAID_REGION)
    scene[y1 : y2 + 1, x1 : x2 + 1] = 200
    return scene


def painting_learned(site: Site) -> Script:
    """Two unobstructed looks at the Milkmaid 2 s apart that agree: its reference is taken at
    ts 0."""
    s = Script(site, first_ts=-2.0)
    s.frame(-2.0, None, noisy(painted_scene(), 100))
    s.frame(0.0, None, noisy(painted_scene(), 101))
    assert s.presence.camera("cam-east").objects["milkmaid"].reference_ts == 0.0
    return s


def test_a_visitor_missed_at_the_first_look_is_not_learned_as_the_object(site: Site) -> None:
    s = Script(site)
    unseen_visitor = paint(painted_scene(), MILKMAID_REGION, seed=9)
    s.frame(0.0, None, noisy(unseen_visitor, 0))
    s.frame(2.0, None, noisy(painted_scene(), 1))  # the visitor has gone: a new first look
    assert s.presence.camera("cam-east").objects["milkmaid"].reference_ts is None
    s.frame(4.0, None, noisy(painted_scene(), 2))
    assert s.presence.camera("cam-east").objects["milkmaid"].reference_ts == 4.0
    for i, ts in enumerate([34.0, 64.0, 94.0], start=3):  # the painting hangs there all along
        s.frame(ts, None, noisy(painted_scene(), i))
        assert s.run(object_missing) == []
    assert s.presence.camera("cam-east").objects["milkmaid"].change < 0.05


def test_a_missing_object_is_found_when_two_checks_agree(site: Site) -> None:
    s = painting_learned(site)  # object_missing.check_every_s: 30
    s.frame(10.0, None, noisy(painted_scene(), 1))
    s.frame(20.0, None, noisy(wall_where_the_painting_was(), 2))
    assert s.run(object_missing) == []  # not checked again yet
    s.frame(30.0, None, noisy(wall_where_the_painting_was(), 3))
    assert s.run(object_missing) == []  # one changed sample: perhaps a visitor nobody detected
    s.frame(60.0, None, noisy(wall_where_the_painting_was(), 4))
    (finding,) = s.run(object_missing)  # still gone at the next check
    assert (finding.subject_id, finding.severity, finding.track_id) == ("milkmaid", "high", None)
    assert finding.detail.change > 0.5


def test_one_changed_sample_alone_raises_nothing(site: Site) -> None:
    s = painting_learned(site)
    s.frame(30.0, None, noisy(wall_where_the_painting_was(), 1))  # e.g. an undetected visitor
    s.frame(60.0, None, noisy(painted_scene(), 2))  # ... who has gone: the painting is there
    assert s.run(object_missing) == []


def test_changed_samples_that_disagree_raise_nothing(site: Site) -> None:
    """Visitors the detector missed, one at each check, each looking different: the region
    changed twice, but not into one new look, as a bare wall would be."""
    s = painting_learned(site)
    for i, ts in enumerate([30.0, 60.0, 90.0], start=1):
        unseen_visitor = paint(painted_scene(), MILKMAID_REGION, seed=20 + i)
        s.frame(ts, None, noisy(unseen_visitor, i))
        assert s.presence.camera("cam-east").objects["milkmaid"].change > 0.5
        assert s.run(object_missing) == []
    assert s.presence.camera("cam-east").objects["milkmaid"].changed_since_ts == 90.0
    # the painting is taken after all: two bare-wall checks agree
    s.frame(120.0, None, noisy(wall_where_the_painting_was(), 4))
    assert s.run(object_missing) == []
    s.frame(150.0, None, noisy(wall_where_the_painting_was(), 5))
    (finding,) = s.run(object_missing)
    assert finding.subject_id == "milkmaid"


def test_a_missed_visitor_between_two_bare_wall_checks_does_not_hide_a_theft(site: Site) -> None:
    s = painting_learned(site)
    s.frame(30.0, None, noisy(wall_where_the_painting_was(), 1))
    unseen_visitor = paint(wall_where_the_painting_was(), MILKMAID_REGION, seed=7)
    s.frame(60.0, None, noisy(unseen_visitor, 2))
    assert s.run(object_missing) == []
    s.frame(90.0, None, noisy(wall_where_the_painting_was(), 3))
    (finding,) = s.run(object_missing)  # agrees with the check at 30 s
    assert finding.subject_id == "milkmaid"
    assert s.presence.camera("cam-east").objects["milkmaid"].changed_since_ts == 30.0


def test_an_unchanged_object_raises_nothing(site: Site) -> None:
    s = Script(site)
    for i, ts in enumerate([0.0, 30.0, 60.0, 90.0]):
        s.frame(ts, None, noisy(painted_scene(), i))
    assert s.presence.camera("cam-east").objects["milkmaid"].sampled_ts == 90.0
    assert s.run(object_missing) == []


def test_a_person_in_front_of_the_object_is_not_a_missing_object(site: Site) -> None:
    s = painting_learned(site)
    visitor = [600.0, 200.0, 700.0, 520.0]  # standing in front of the Milkmaid
    s.frame(30.0, {1: visitor}, noisy(paint(painted_scene(), visitor, seed=5), 1))
    s.frame(60.0, {1: visitor}, noisy(paint(painted_scene(), visitor, seed=5), 2))
    assert s.presence.camera("cam-east").objects["milkmaid"].occupied
    assert s.run(object_missing) == []


# --------------------------------------------------------------------------- camera health


def health(s: Script) -> list[str]:
    return sorted(str(f.detail.condition) for f in s.run(camera_health))


def test_a_healthy_camera_raises_nothing(site: Site) -> None:
    s = Script(site)
    for i in range(40):
        s.frame(float(i), None, noisy(texture(), i))
    assert health(s) == []


def test_video_loss_from_status_changes(site: Site) -> None:
    s = Script(site)  # video_loss_s: 10
    s.frame(0.0, None, noisy(texture(), 0))
    s.presence.set_status("cam-east", "offline", s.clock.now(), "read timeout")
    s.clock.advance(9.9)
    assert health(s) == []
    s.clock.advance(0.1)
    assert health(s) == ["video_loss"]
    s.presence.set_status("cam-east", "live", s.clock.now())
    s.frame(1.0, None, noisy(texture(), 1))
    assert health(s) == []


def test_video_loss_when_frames_stop_arriving(site: Site) -> None:
    s = Script(site)
    s.frame(0.0, None, noisy(texture(), 0))
    s.clock.advance(9.0)
    assert health(s) == []
    s.clock.advance(1.0)
    assert health(s) == ["video_loss"]


def test_a_frozen_image(site: Site) -> None:
    s = Script(site)  # frozen_s: 30 by default
    s.frame(0.0, None, noisy(texture(), 0))
    still = noisy(texture(), 1)
    for ts in range(1, 31):
        s.frame(float(ts), None, still)
    assert health(s) == []  # identical since ts 1: 29 s
    s.frame(31.0, None, still)
    assert health(s) == ["frozen"]
    s.frame(32.0, None, noisy(texture(), 2))
    assert health(s) == []


@pytest.mark.parametrize("cover", ["black", "uniform"])
def test_a_covered_camera(site: Site, cover: str) -> None:
    s = Script(site)  # RuleTuning.covered_s: 3
    s.frame(0.0, None, noisy(texture(), 0))
    covered = np.full((SMALL[1], SMALL[0], 3), 0 if cover == "black" else 128, np.uint8)
    for i, ts in enumerate([1.0, 2.0, 3.9]):
        s.frame(ts, None, noisy(covered, i))
    assert health(s) == []
    s.frame(4.0, None, noisy(covered, 9))
    assert health(s) == ["covered"]


def test_a_moved_camera(site: Site) -> None:
    s = Script(site)  # RuleTuning.moved_s: 2
    for ts in range(3):
        s.frame(float(ts), None, noisy(texture(), ts))
    turned = np.roll(texture(), 12, axis=1)
    s.frame(3.0, None, noisy(turned, 3))
    s.frame(4.9, None, noisy(turned, 4))
    assert health(s) == []
    s.frame(5.0, None, noisy(turned, 5))
    assert health(s) == ["moved"]


def test_visitors_walking_past_do_not_move_the_camera(site: Site) -> None:
    s = Script(site)
    s.frame(0.0, None, noisy(texture(), 0))
    for ts in range(1, 10):
        visitor = [100.0 + 60 * ts, 150.0, 300.0 + 60 * ts, 650.0]
        s.frame(float(ts), {1: visitor}, noisy(paint(texture(), visitor, seed=ts), ts))
    assert health(s) == []


# --------------------------------------------------------------------------- still figures

# A statue of a person stands right beside the Milkmaid; to a detector it is a person who never
# moves. It is part of the empty gallery.


def statue_box(site: Site) -> list[float]:
    return on_plan(site, (700, 80))  # 0.52 m from the Milkmaid


def gallery_with_statue(site: Site) -> np.ndarray:
    return paint(texture(4), statue_box(site), seed=21)


def learn_the_empty_gallery(s: Script, scene: np.ndarray, until_ts: float = 32.0) -> None:
    """Looks with nobody detected, 8 s apart, until the automatic empty-gallery reference is
    taken (5 looks over 30 s, in opening hours)."""
    for i, ts in enumerate(np.arange(s.ts, until_ts + 0.1, 8.0)):
        s.frame(float(ts), None, noisy(scene, 100 + i))
    assert s.presence.camera(s.camera_id).view.empty_reference_by == "automatic"


def test_a_motionless_figure_matching_the_empty_gallery_is_suppressed(site: Site) -> None:
    s = Script(site)
    statue = statue_box(site)
    learn_the_empty_gallery(s, gallery_with_statue(site))  # the detector missed the statue
    visitor_path = [on_plan(site, (900 - 40 * i, 90)) for i in range(4)]  # walks to the Milkmaid
    for i, ts in enumerate([33.0, 34.0, 35.0, 35.6]):
        scene = paint(gallery_with_statue(site), visitor_path[i], seed=30)
        s.frame(ts, {1: statue, 2: visitor_path[i]}, noisy(scene, i + 1))
    camera = s.presence.camera("cam-east")
    assert camera.tracks[1].still_figure == "empty_reference"
    assert camera.tracks[2].still_figure is None
    findings = evaluate(s.presence, site, s.clock.now())
    assert [(f.rule, f.track_id) for f in findings if f.track_id is not None] == [("proximity", 2)]


def test_the_same_figure_without_any_reference_would_raise(site: Site) -> None:
    s = Script(site)
    statue = statue_box(site)
    for ts in (0.0, 1.0, 2.0):
        s.frame(ts, {1: statue})
    assert [(f.rule, f.track_id) for f in s.run(proximity)] == [("proximity", 1)]


def test_a_supervisor_reference_and_a_marked_region_suppress_a_figure(site: Site) -> None:
    statue = statue_box(site)
    s = Script(site)
    s.presence.set_empty_reference("cam-east", gallery_with_statue(site), ts=0.0)
    for i, ts in enumerate((1.0, 2.0)):
        s.frame(ts, {1: statue}, noisy(gallery_with_statue(site), i))
    assert s.run(proximity) == []
    x1, y1, x2, y2 = statue
    region = [(x1 - 10, y1 - 10), (x2 + 10, y1 - 10), (x2 + 10, y2 + 10), (x1 - 10, y2 + 10)]
    marked = Script(site, still_regions={"cam-east": [region]})
    for ts in (0.0, 1.0, 2.0):
        marked.frame(ts, {1: statue})
    assert marked.presence.camera("cam-east").tracks[1].still_figure == "marked_region"
    assert marked.run(proximity) == []


def test_a_still_visitor_not_in_the_empty_gallery_still_raises(site: Site) -> None:
    s = Script(site)
    learn_the_empty_gallery(s, gallery_with_statue(site))
    visitor = on_plan(site, (790, 80))  # stands still, but was not there in the empty gallery
    for i, ts in enumerate((33.0, 34.0)):
        scene = paint(gallery_with_statue(site), visitor, seed=40)
        s.frame(ts, {3: visitor}, noisy(scene, i + 1))
    assert s.presence.camera("cam-east").tracks[3].still_figure is None
    assert [(f.subject_id, f.track_id) for f in s.run(proximity)] == [("milkmaid", 3)]


def test_a_figure_that_moves_is_a_visitor(site: Site) -> None:
    statue = statue_box(site)
    x1, y1, x2, y2 = statue
    region = [(x1 - 50, y1 - 50), (x2 + 50, y1 - 50), (x2 + 50, y2 + 50), (x1 - 50, y2 + 50)]
    s = Script(site, still_regions={"cam-east": [region]})
    s.frame(0.0, {1: statue})
    s.frame(1.0, {1: [x1 + 40, y1, x2 + 40, y2]})  # the "statue" steps aside
    s.frame(2.0, {1: statue})
    assert s.presence.camera("cam-east").tracks[1].still_figure is None
    assert [f.track_id for f in s.run(proximity)] == [1]


def test_evaluate_needs_an_aware_time(site: Site) -> None:
    with pytest.raises(ValueError, match="aware"):
        evaluate(Presence(site), site, datetime(2026, 3, 3, 10, 0))


def test_a_person_standing_still_when_the_camera_starts_is_not_learned_as_gallery(
    site: Site,
) -> None:
    # The first frames show somebody the tracker has not confirmed yet (detections only). They
    # must not become the empty-gallery reference, or a thief standing still from the start
    # would "match the empty gallery" and be suppressed as a statue.
    s = Script(site)
    intruder = on_plan(site, (790, 80))
    scene = paint(gallery_with_statue(site), intruder, seed=41)
    detected_only = people({1: intruder}).with_track_ids([-1])
    s.presence.update(
        Observation("cam-east", 0.0, people({}), FRAME, noisy(scene, 0), detected_only),
        s.clock.now(),
    )
    for i, ts in enumerate((1.0, 2.0, 3.0)):
        s.frame(ts, {1: intruder}, noisy(scene, i + 1))
    assert s.presence.camera("cam-east").tracks[1].still_figure is None
    assert [(f.subject_id, f.track_id) for f in s.run(proximity)] == [("milkmaid", 1)]


# A thief who stands still at an object must not become a statue (issue 22): the empty-gallery
# reference is learned only in opening hours, from several empty looks over a span, and a new
# track where a walking person's track ended is that person.


def test_no_empty_gallery_is_learned_while_the_museum_is_closed(site: Site) -> None:
    s = Script(site, start=CLOSED)
    for i, ts in enumerate(range(0, 65, 8)):  # a minute of looks with nobody detected
        s.frame(float(ts), None, noisy(gallery_with_statue(site), i))
    assert s.presence.camera("cam-east").view.empty_reference_ts is None
    s.frame(65.0, {1: statue_box(site)}, noisy(gallery_with_statue(site), 20))
    assert s.presence.camera("cam-east").tracks[1].still_figure is None
    # a supervisor's picture counts at any hour
    s.presence.set_empty_reference("cam-east", gallery_with_statue(site), ts=66.0)
    s.frame(67.0, {1: statue_box(site)}, noisy(gallery_with_statue(site), 21))
    assert s.presence.camera("cam-east").tracks[1].still_figure == "empty_reference"


def test_an_empty_gallery_needs_empty_looks_over_a_span_with_nobody_seen(site: Site) -> None:
    s = Script(site)
    scene = gallery_with_statue(site)
    visitor = on_plan(site, (900, 90))

    def reference_ts() -> float | None:
        return s.presence.camera("cam-east").view.empty_reference_ts

    s.frame(0.0, None, noisy(scene, 0))
    s.frame(8.0, {5: visitor}, noisy(paint(scene, visitor, 50), 1))  # somebody: start again
    s.frame(9.0, None, noisy(scene, 2))  # track 5 in its grace time: not empty yet
    for i, ts in enumerate((12.0, 20.0, 28.0, 36.0)):
        s.frame(ts, None, noisy(scene, 3 + i))
    assert reference_ts() is None  # 4 empty looks over 24 s
    unconfirmed = people({9: visitor}).with_track_ids([-1])  # a box not (yet) on any track
    s.presence.update(
        Observation("cam-east", 40.0, people({}), FRAME, noisy(scene, 8), unconfirmed),
        s.clock.now(),
    )
    s.clock.advance(4.0)
    s.ts = 40.0
    for i, ts in enumerate((44.0, 52.0, 60.0, 68.0)):
        s.frame(ts, None, noisy(scene, 10 + i))
    assert reference_ts() is None  # the box at 40 s started the count again
    s.frame(76.0, None, noisy(scene, 20))
    assert reference_ts() == 76.0  # 5 looks over 32 s with nobody seen


def walk_to_the_milkmaid_and_stand(site: Site, s: Script, track: int, scene: np.ndarray) -> None:
    stand = statue_box(site)
    for i, ts in enumerate((1.0, 1.5, 2.0, 2.5)):
        x1, y1, x2, y2 = stand
        box = [x1 + 60 * (3 - i), y1, x2 + 60 * (3 - i), y2]
        s.frame(ts, {track: box}, noisy(paint(scene, box, seed=60), i))
    for i, ts in enumerate((3.0, 3.5, 4.0)):
        s.frame(ts, {track: stand}, noisy(paint(scene, stand, seed=60), 10 + i))


def test_a_new_track_where_a_walking_person_was_lost_is_that_person(site: Site) -> None:
    scene = texture(4)
    stand = statue_box(site)
    # the worst case: the gallery's reference already holds her, standing at the Milkmaid
    s = Script(site)
    s.presence.set_empty_reference("cam-east", paint(scene, stand, seed=60), ts=0.0)
    walk_to_the_milkmaid_and_stand(site, s, 1, scene)
    for i, ts in enumerate((4.5, 5.5, 6.5, 7.5)):  # the detector misses her; track 1 ends
        s.frame(ts, None, noisy(paint(scene, stand, seed=60), 20 + i))
    assert 1 not in s.presence.camera("cam-east").tracks
    for i, ts in enumerate((8.0, 8.5, 9.0)):  # found again, under a new id, never moved since
        s.frame(ts, {2: stand}, noisy(paint(scene, stand, seed=60), 30 + i))
    her = s.presence.camera("cam-east").tracks[2]
    assert (her.follows_track_id, her.moved, her.still_figure) == (1, True, None)
    assert [(f.subject_id, f.track_id) for f in s.run(proximity)] == [("milkmaid", 2)]
    # control: the reference does hold her; a track that starts there from nowhere matches it
    control = Script(site)
    control.presence.set_empty_reference("cam-east", paint(scene, stand, seed=60), ts=0.0)
    for i, ts in enumerate((8.0, 8.5, 9.0)):
        control.frame(ts, {2: stand}, noisy(paint(scene, stand, seed=60), 30 + i))
    assert control.presence.camera("cam-east").tracks[2].still_figure == "empty_reference"


def test_a_statue_found_again_stays_a_statue(site: Site) -> None:
    scene = gallery_with_statue(site)
    statue = statue_box(site)
    s = Script(site)
    s.presence.set_empty_reference("cam-east", scene, ts=0.0)
    for i, ts in enumerate((1.0, 2.0)):
        s.frame(ts, {1: statue}, noisy(scene, i))
    for i, ts in enumerate((3.0, 4.0, 5.0)):
        s.frame(ts, None, noisy(scene, 10 + i))
    s.frame(6.0, {2: statue}, noisy(scene, 20))
    track = s.presence.camera("cam-east").tracks[2]
    assert (track.follows_track_id, track.moved, track.still_figure) == (
        1,
        False,
        "empty_reference",
    )
    assert s.run(proximity) == []


def test_a_handover_needs_the_same_place_and_a_short_gap(site: Site) -> None:
    scene = texture(4)
    stand = statue_box(site)
    for gap_s, elsewhere in ((16.0, False), (2.0, True)):
        s = Script(site)
        s.presence.set_empty_reference("cam-east", paint(scene, stand, seed=60), ts=0.0)
        walk_to_the_milkmaid_and_stand(site, s, 1, scene)
        s.frame(4.0 + gap_s, None, noisy(paint(scene, stand, seed=60), 40))
        x1, y1, x2, y2 = stand
        box = [x1, y1 - 150, x2, y2 - 150] if elsewhere else stand
        s.frame(4.5 + gap_s, {2: box}, noisy(paint(paint(scene, stand, 60), box, 60), 41))
        track = s.presence.camera("cam-east").tracks[2]
        assert (track.follows_track_id, track.moved) == (None, False), (gap_s, elsewhere)
