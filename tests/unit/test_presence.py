"""The presence model: foot points on the plan, zone and object times, grace, image state."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from console.presence import (
    Observation,
    Presence,
    PresenceConfig,
    box_polygon_overlap,
    changed_fraction,
)
from console.site_file import Site, load_site
from inference.detections import Detections
from inference.frame_ring import FrameRef
from inference.pipeline import TrackedFrame

REPO = Path(__file__).resolve().parents[2]
SITE_FILE = REPO / "tests" / "data" / "example_site" / "site.yaml"
if not SITE_FILE.exists():
    SITE_FILE = REPO.parent / "shared" / "examples" / "site.yaml"
FRAME = (1280, 720)
NOW = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def site() -> Site:
    return load_site(SITE_FILE)


def box_at(foot: tuple[float, float], height: float = 200.0) -> list[float]:
    x, y = foot
    return [x - height / 4, y - height, x + height / 4, y]


def on_plan(site: Site, camera_id: str, plan_xy: tuple[float, float]) -> tuple[float, float]:
    cal = site.calibration(camera_id)
    assert cal is not None
    x, y = cal.plan_to_image_px([plan_xy])[0]
    return float(x), float(y)


def people(*tracks: tuple[int, list[float]]) -> Detections:
    if not tracks:
        return Detections.empty()
    return Detections([b for _, b in tracks], [0.9] * len(tracks), track_id=[t for t, _ in tracks])


def observe(presence: Presence, camera_id: str, ts: float, *tracks, image=None):
    return presence.update(Observation(camera_id, ts, people(*tracks), FRAME, image=image), NOW)


def test_foot_point_maps_onto_the_plan_and_into_zones(site: Site) -> None:
    presence = Presence(site)
    snap = observe(presence, "cam-east", 5.0, (1, box_at(on_plan(site, "cam-east", (760, 90)))))
    track = snap.tracks[1]
    assert track.plan_px == pytest.approx((760, 90), abs=1e-3)
    assert track.located_by == "plan"
    assert track.zones == {"east-gallery": 5.0}
    milkmaid = track.objects["milkmaid"]
    # 36 plan pixels below the frame's edge at y = 54, 0.02 m each
    assert milkmaid.distance_m == pytest.approx(0.72, abs=1e-3)
    assert milkmaid.close_since_ts == 5.0
    assert track.objects["bronze-dancer"].close_since_ts is None


def test_zone_and_object_times_run_from_entry_and_reset_on_leaving(site: Site) -> None:
    presence = Presence(site)
    near = box_at(on_plan(site, "cam-east", (760, 90)))
    far = box_at(on_plan(site, "cam-east", (760, 400)))
    observe(presence, "cam-east", 0.0, (1, far))
    snap = observe(presence, "cam-east", 1.0, (1, near))
    assert snap.tracks[1].objects["milkmaid"].close_since_ts == 1.0
    assert snap.tracks[1].zones["east-gallery"] == 0.0
    snap = observe(presence, "cam-east", 2.5, (1, near))
    assert snap.tracks[1].objects["milkmaid"].close_since_ts == 1.0
    assert snap.tracks[1].seconds_since(1.0) == 1.5
    snap = observe(presence, "cam-east", 3.0, (1, far))
    assert snap.tracks[1].objects["milkmaid"].close_since_ts is None
    snap = observe(presence, "cam-east", 3.5, (1, near))
    assert snap.tracks[1].objects["milkmaid"].close_since_ts == 3.5


def test_a_track_survives_a_short_gap_and_is_dropped_after_the_grace_time(site: Site) -> None:
    presence = Presence(site, PresenceConfig(grace_s=2.0))
    near = box_at(on_plan(site, "cam-east", (760, 90)))
    observe(presence, "cam-east", 0.0, (1, near))
    snap = observe(presence, "cam-east", 1.5)
    assert not snap.tracks[1].visible
    assert snap.visible_tracks == ()
    snap = observe(presence, "cam-east", 1.9, (1, near))
    assert snap.tracks[1].visible
    assert snap.tracks[1].objects["milkmaid"].close_since_ts == 0.0
    observe(presence, "cam-east", 3.0)
    snap = observe(presence, "cam-east", 4.0)
    assert 1 not in snap.tracks


def test_uncalibrated_camera_places_people_by_its_own_position_and_judges_the_image(
    site: Site,
) -> None:
    presence = Presence(site)
    # cam-west has no calibration; the Night Watch's region there is x 100..420, y 200..420
    snap = observe(presence, "cam-west", 1.0, (4, [380, 250, 480, 470]), (5, [800, 200, 900, 500]))
    reaching, away = snap.tracks[4], snap.tracks[5]
    assert reaching.plan_px is None
    assert reaching.located_by == "camera"
    assert set(reaching.zones) == {"west-gallery"}
    assert reaching.objects["night-watch"].distance_m is None
    assert reaching.objects["night-watch"].reach_since_ts == 1.0
    assert away.objects["night-watch"].overlap == 0.0
    assert away.objects["night-watch"].reach_since_ts is None


def test_a_painting_reach_on_a_calibrated_camera_needs_the_person_nearby(site: Site) -> None:
    presence = Presence(site)
    # a person far in front of the Milkmaid (plan y = 400) whose box still covers its image region
    foot = on_plan(site, "cam-east", (650, 400))
    far_box = [540.0, 200.0, 760.0, foot[1]]
    snap = observe(presence, "cam-east", 1.0, (1, far_box))
    milkmaid = snap.tracks[1].objects["milkmaid"]
    assert milkmaid.overlap is not None
    assert milkmaid.overlap > 0.5
    assert milkmaid.distance_m is not None
    assert milkmaid.distance_m > 3.0
    assert milkmaid.reach_since_ts is None


def test_offline_camera_sees_nobody_and_stale_observations_are_ignored(site: Site) -> None:
    presence = Presence(site)
    observe(presence, "cam-east", 10.0, (1, box_at((600, 500))))
    snap = observe(presence, "cam-east", 9.0)
    assert snap.last_ts == 10.0
    assert 1 in snap.tracks
    presence.set_status("cam-east", "offline", NOW, "read timeout")
    snap = presence.camera("cam-east")
    assert snap.status == "offline"
    assert snap.status_since == NOW
    assert snap.tracks == {}


def test_observation_from_a_tracked_frame(site: Site) -> None:
    people_ = people((3, box_at((600, 500))))
    frame = TrackedFrame(
        ref=FrameRef("cam-east", slot=0, seq=7, ts=12.5),
        people=people_,
        detections=people_,
        latency_s=0.01,
    )
    obs = Observation.from_tracked_frame(frame, FRAME)
    assert (obs.camera_id, obs.ts, len(obs.people)) == ("cam-east", 12.5, 1)
    duck = SimpleNamespace(ref=SimpleNamespace(camera_id="cam-west", ts=1.0), people=people_,
                           detections=people_)  # fmt: skip
    assert Observation.from_tracked_frame(duck, FRAME).camera_id == "cam-west"


def test_unknown_cameras_are_refused(site: Site) -> None:
    with pytest.raises(KeyError, match="cam-nowhere"):
        Presence(site).camera("cam-nowhere")
    with pytest.raises(KeyError, match="cam-nowhere"):
        Presence(site, still_regions={"cam-nowhere": [[(0, 0), (1, 0), (1, 1)]]})


def test_box_polygon_overlap() -> None:
    square = [(0, 0), (10, 0), (10, 10), (0, 10)]
    assert box_polygon_overlap([0, 0, 10, 10], square) == pytest.approx(1.0)
    assert box_polygon_overlap([5, 0, 15, 10], square) == pytest.approx(0.5)
    assert box_polygon_overlap([20, 20, 30, 30], square) == 0.0
    # a concave polygon: an L; the box covers only the notch
    ell = [(0, 0), (10, 0), (10, 4), (4, 4), (4, 10), (0, 10)]
    assert box_polygon_overlap([5, 5, 10, 10], ell) == 0.0


def test_changed_fraction_ignores_a_uniform_change_of_light() -> None:
    rng = np.random.default_rng(1)
    ref = rng.integers(0, 200, (40, 40)).astype(np.float32)
    assert changed_fraction(ref, ref + 40) == 0.0
    other = rng.integers(0, 200, (40, 40)).astype(np.float32)
    assert changed_fraction(ref, other) > 0.5
    assert changed_fraction(ref, other[:20]) is None


def test_a_new_track_counts_from_the_look_it_was_first_detected_at(site: Site) -> None:
    # The tracker confirms a person at their second look; the first look's box (a detection on
    # no track yet) is where their times start, when the condition held there too.
    near = box_at(on_plan(site, "cam-east", (760, 90)))
    a_step_back = box_at(on_plan(site, "cam-east", (760, 110)))  # 1.12 m: not within 0.8 m
    for first_box, close_since in ((near, 0.0), (a_step_back, 0.5)):
        presence = Presence(site)
        unconfirmed = people((1, first_box)).with_track_ids([-1])
        presence.update(Observation("cam-east", 0.0, people(), FRAME, detections=unconfirmed), NOW)
        nudged = [near[0] + 4, near[1], near[2] + 4, near[3]]  # a step sideways
        snap = presence.update(
            Observation(
                "cam-east", 0.5, people((7, nudged)), FRAME, detections=people((7, nudged))
            ),
            NOW,
        )
        track = snap.tracks[7]
        assert track.objects["milkmaid"].close_since_ts == close_since
        assert track.first_seen_ts == 0.0
        assert track.zones["east-gallery"] == 0.0


def test_a_new_id_within_the_grace_time_is_the_same_person(site: Site) -> None:
    presence = Presence(site, PresenceConfig(grace_s=2.0))
    near = box_at(on_plan(site, "cam-east", (760, 90)))
    for ts in (0.0, 0.5, 1.0):
        observe(presence, "cam-east", ts, (1, near))
    observe(presence, "cam-east", 1.5)  # missed
    snap = observe(presence, "cam-east", 2.0, (2, [near[0] + 3, near[1], near[2] + 3, near[3]]))
    assert set(snap.tracks) == {2}  # track 1 goes on as track 2
    track = snap.tracks[2]
    assert track.follows_track_id == 1
    assert track.objects["milkmaid"].close_since_ts == 0.0
    assert track.first_seen_ts == 0.0
    # past the grace time the times start again (the person may have gone and come back)
    observe(presence, "cam-east", 4.5)
    snap = observe(presence, "cam-east", 5.0, (3, near))
    assert snap.tracks[3].objects["milkmaid"].close_since_ts == 5.0
    assert snap.tracks[3].follows_track_id == 2
