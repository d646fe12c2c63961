"""What the focus wall and the video wall draw over the picture, at the sizes of a 1920x1080
console: the banner keeps to a band at the tile's foot, the person who raised an alarm is boxed,
and "last seen" boxes fade within seconds and never outnumber the live boxes (a fake clock moves
time; real rings hold vtest.avi frames)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtCore import QPoint
from PySide6.QtGui import QImage

from console.alarms import Alarm, Occurrence
from console.focus_wall import FocusWall
from inference.detections import Detections
from inference.frame_ring import FrameRef
from inference.pipeline import TrackedFrame
from tests.ui.test_focus_wall_view import (  # the rings, site and alarms those tests use
    BOX,
    START,
    alarm,
    camera_rings,  # noqa: F401
    clock,  # noqa: F401
    make_view,
    site,  # noqa: F401
    vtest,  # noqa: F401
)
from ui.focus_wall_view import (
    BANNER_SHARE,
    GHOST_FADE_S,
    GHOST_HOLD_S,
    FocusTile,
    FocusWallView,
)
from ui.theme import PALETTE
from ui.video_wall import VideoWall, WallCamera

OTHER_BOX = (80.0, 200.0, 160.0, 420.0)  # another visitor, away from the alarm's person


def people(boxes: list[tuple[float, ...]], ids: list[int]) -> Detections:
    return Detections([list(b) for b in boxes], [0.9] * len(boxes), track_id=ids)


def tracks_on(view: FocusWallView, camera_id: str, boxes: dict[int, tuple[float, ...]]) -> None:
    """The pipeline's newest tracked frame of a camera: these people, on the frame shown."""
    ring = view._rings[camera_id]
    ref = ring.latest()
    assert ref is not None
    ids = list(boxes)
    view.show_tracks(TrackedFrame(ref, people([boxes[i] for i in ids], ids), people([], []), 0.1))


def paint(view: FocusWallView, camera_id: str = "cam-east") -> FocusTile:
    view.refresh_now()
    view.grab()
    tile = view.tile(camera_id)
    assert tile is not None
    return tile


# --------------------------------------------------------------------------- the banner


@pytest.mark.parametrize("slots", [9, 4, 1])
def test_the_banner_is_a_band_at_the_foot_never_most_of_the_picture(
    widgets,
    site,  # noqa: F811
    clock,  # noqa: F811
    camera_rings,  # noqa: F811
    slots: int,
) -> None:
    wall = FocusWall(clock, slots=slots)
    # the focus wall's dock at 1920x1080 with the default layout: about 576 x 520 pixels
    view = make_view(widgets, wall, site, camera_rings, size=(576, 520))
    busy = [
        alarm(1),
        alarm(2, subject="bronze-dancer", severity="medium", distance_m=1.2),
        alarm(3, subject="east-gallery", rule="after_hours", severity="low", box=None),
        alarm(4, "cam-west", subject="night-watch"),
    ]
    view.update_alarms(busy)
    tile = paint(view)
    band = tile.banner_rect
    assert not band.isEmpty()
    assert band.height() <= BANNER_SHARE * tile.height()  # a band, never most of the picture
    assert band.bottom() >= tile.height() - 4  # at the tile's foot
    assert band.height() >= tile.fontMetrics().height() * 0.7  # and still readable
    if slots == 9:
        # three alarms on one small tile: one line, which says there are more
        assert band.height() < 0.2 * tile.height()
    if slots == 1:
        assert band.height() > 2 * tile.fontMetrics().height()  # room for several lines
    # the picture above the band is the camera's, not text
    picture = tile.image_rect()
    covered = max(0, picture.bottom() - band.top()) / picture.height()
    assert covered <= BANNER_SHARE * tile.height() / picture.height() + 0.01


# --------------------------------------------------------------------------- boxes


def test_the_person_who_raised_the_alarm_is_boxed_in_its_colour(
    widgets,
    site,  # noqa: F811
    clock,  # noqa: F811
    camera_rings,  # noqa: F811
) -> None:
    view = make_view(widgets, FocusWall(clock, slots=1), site, camera_rings)
    view.update_alarms([alarm(1)])  # track 7, high
    tracks_on(view, "cam-east", {7: BOX, 3: OTHER_BOX})
    tile = paint(view)
    labels = dict((label.split(" · ")[0], label) for _, label in tile.drawn_boxes)
    assert labels["#3"] == "#3"  # a visitor
    assert labels["#7"] == "#7 · 0.55 m"  # the alarm's person, with the distance
    (mark,) = tile.drawn_risks
    assert mark.box is not None
    assert mark.ghost == 0.0
    # its box is drawn in the alarm's colour (high), the visitor's in the box colour
    image = tile.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    boxes = dict(zip(tile.drawn_track_ids, (b for b, _ in tile.drawn_boxes), strict=True))

    def edge_colour(track: int) -> np.ndarray:
        box = boxes[track]
        point = QPoint(round(box.left()), round(box.center().y()))
        colour = image.pixelColor(point)
        return np.array([colour.red(), colour.green(), colour.blue()], np.float32)

    high = np.array(PALETTE.qcolor("offline").getRgb()[:3], np.float32)
    person = np.array(PALETTE.qcolor("person_box").getRgb()[:3], np.float32)
    assert np.abs(edge_colour(7) - high).max() < 16
    assert np.abs(edge_colour(3) - person).max() < 16


def test_last_seen_boxes_fade_within_seconds(
    widgets,
    site,  # noqa: F811
    clock,  # noqa: F811
    camera_rings,  # noqa: F811
) -> None:
    made, _, frame_clock = camera_rings
    view = widgets(FocusWallView(FocusWall(clock, slots=1), site, made, frame_clock=frame_clock))
    assert isinstance(view, FocusWallView)
    view.resize(800, 500)
    view.show()
    view._stale_after_s = 60.0  # the fake clock runs ahead of the ring's real capture times
    here = alarm(1)
    view.update_alarms([here])
    tracks_on(view, "cam-east", {7: BOX, 3: OTHER_BOX})
    paint(view)
    gone_at = frame_clock.now
    view.update_alarms([replace(here, active=False)])  # the person left
    tracks_on(view, "cam-east", {3: OTHER_BOX})  # one visitor still walks by

    seen: list[float] = []
    for after in (0.0, GHOST_HOLD_S, (GHOST_HOLD_S + GHOST_FADE_S) / 2, GHOST_FADE_S, 30.0):
        frame_clock.now = gone_at + after
        (mark,) = paint(view).drawn_risks
        seen.append(mark.ghost)
        if mark.ghost:
            assert mark.box is not None
            assert mark.box_label.endswith("last seen")
        else:
            assert mark.box is None  # faded away: nothing drawn where nobody is
    assert seen == [1.0, 1.0, pytest.approx(0.5), 0.0, 0.0]


def test_last_seen_boxes_never_outnumber_the_live_ones(
    widgets,
    site,  # noqa: F811
    clock,  # noqa: F811
    camera_rings,  # noqa: F811
) -> None:
    view = make_view(widgets, FocusWall(clock, slots=1), site, camera_rings)
    first = alarm(1)
    second = alarm(2, subject="bronze-dancer", severity="medium", track=8)
    third = alarm(3, subject="east-gallery", rule="loitering", severity="low", track=9)
    view.update_alarms([first, second, third])
    tracks_on(view, "cam-east", {7: BOX, 8: OTHER_BOX, 9: (400.0, 100.0, 470.0, 300.0)})
    paint(view)
    view.update_alarms([replace(a, active=False) for a in (first, second, third)])

    tracks_on(view, "cam-east", {4: OTHER_BOX})  # one live person
    tile = paint(view)
    ghosts = [m for m in tile.drawn_risks if m.ghost > 0]
    assert len(tile.drawn_boxes) == 1
    assert [m.alarm_id for m in ghosts] == [first.alarm_id]  # the most urgent one's
    tracks_on(view, "cam-east", {})  # nobody live: no ghost at all
    tile = paint(view)
    assert tile.drawn_boxes == []
    assert [m for m in tile.drawn_risks if m.ghost > 0] == []


def test_the_video_wall_boxes_the_alarms_person(widgets, rings, vtest) -> None:  # noqa: F811
    frame = np.ascontiguousarray(vtest[2])
    ring = rings("cam-east", max_frame_bytes=frame.nbytes)
    ref = ring.publish(frame, ts=0.2)
    now = [ref.captured_at]
    wall = widgets(VideoWall([WallCamera("cam-east", ring, "East gallery")], clock=lambda: now[0]))
    assert isinstance(wall, VideoWall)
    wall.resize(960, 540)
    wall.show()
    raised = Alarm(
        1, "cam-east", "proximity", "milkmaid", "medium", alarm(1).state, START, START, START,
        (7,), None, None,
        occurrences=(Occurrence("cam-east", 7, START, START),),
    )  # fmt: skip
    wall.update_alarms([raised])
    shown = FrameRef("cam-east", ref.slot, ref.seq, ref.ts, ref.captured_at)
    wall.show_tracks(TrackedFrame(shown, people([BOX, OTHER_BOX], [7, 3]), people([], []), 0.1))
    wall.refresh_now()
    wall.grab()
    tile = wall.tile("cam-east")
    assert sorted(label for _, label in tile.drawn_boxes) == ["#3", "#7 · ALARM"]
    wall.update_alarms([])  # handled and resolved: an ordinary visitor again
    wall.refresh_now()
    wall.grab()
    assert sorted(label for _, label in tile.drawn_boxes) == ["#3", "#7"]
