"""The focus wall view over real rings (vtest.avi frames), a real FocusWall and the example site."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, QRect, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QDockWidget, QMainWindow, QWidget

from console.alarms import Alarm, AlarmManager, Occurrence
from console.clock import FakeClock
from console.focus_wall import FocusWall
from console.rules import Finding
from console.rules.details import ProximityDetail
from console.site_file import Site, load_site
from console.store import AlarmState, Store
from inference.frame_ring import FrameRing
from inference.sources import CameraStatus, StatusChange
from tests.media import first_frames
from ui.focus_wall_view import (
    FocusTile,
    FocusWallView,
    alarm_summary,
    beside_console,
    float_on_screen,
)
from ui.theme import PALETTE

SITE = Path(__file__).resolve().parents[1] / "data" / "example_site" / "site.yaml"
START = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)  # a Saturday night: the museum is closed
FRAME = (768, 576)  # vtest.avi, published as is: the site's image regions are in these pixels
CAMERAS = ("cam-east", "cam-west", "cam-corridor")
BOX = (300.0, 150.0, 420.0, 500.0)  # a person's box in cam-east's frame pixels


@pytest.fixture(scope="module")
def vtest() -> list[np.ndarray]:
    frames = first_frames("vtest.avi", 12)
    assert frames[0].shape[:2] == (FRAME[1], FRAME[0])
    return frames


@pytest.fixture(scope="module")
def site() -> Site:
    return load_site(SITE)


class FrameClock:
    """The tiles' wall clock (compared with the rings' capture times), moved by hand."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def camera_rings(rings, vtest) -> tuple[dict[str, FrameRing], dict[str, np.ndarray], FrameClock]:
    made: dict[str, FrameRing] = {}
    shown: dict[str, np.ndarray] = {}
    latest = 0.0
    for i, camera_id in enumerate(CAMERAS):
        ring = rings(camera_id, max_frame_bytes=FRAME[0] * FRAME[1] * 3)
        frame = vtest[i * 5] if i != 1 else vtest[3][:, ::-1].copy()
        latest = max(latest, ring.publish(frame, ts=float(i)).captured_at)
        made[camera_id], shown[camera_id] = ring, frame
    return made, shown, FrameClock(latest)


def make_view(
    widgets: Callable[[QWidget], QWidget],
    wall: FocusWall,
    site: Site,
    camera_rings: tuple[dict[str, FrameRing], dict[str, np.ndarray], FrameClock],
    size: tuple[int, int] = (1100, 760),
) -> FocusWallView:
    made, _, frame_clock = camera_rings
    view = widgets(FocusWallView(wall, site, made, frame_clock=frame_clock))
    assert isinstance(view, FocusWallView)
    view.resize(*size)
    view.show()
    return view


def alarm(
    alarm_id: int,
    camera_id: str = "cam-east",
    *,
    subject: str = "milkmaid",
    rule: str = "proximity",
    severity: str = "high",
    state: AlarmState = AlarmState.RAISED,
    active: bool = True,
    raised_at: datetime = START,
    box: tuple[float, ...] | None = BOX,
    distance_m: float | None = 0.55,
    track: int = 7,
) -> Alarm:
    detail = ProximityDetail(
        box=(box[0], box[1], box[2], box[3]) if box is not None else None, distance_m=distance_m
    )
    return Alarm(
        alarm_id,
        camera_id,
        rule,
        subject,
        severity,
        state,
        raised_at,
        raised_at,
        raised_at,
        (track,),
        1.0,
        1.0,
        detail,
        active,
    )


def grab_rgb(widget: QWidget) -> np.ndarray:
    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    w, h = image.width(), image.height()
    data = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes())
    return data.reshape(h, image.bytesPerLine())[:, : w * 3].reshape(h, w, 3).copy()


def rgb_of(role: str) -> np.ndarray:
    return np.array(PALETTE.qcolor(role).getRgb()[:3], np.float32)


def at(view: FocusWallView, tile: FocusTile, point: QPointF) -> QPoint:
    return tile.mapTo(view, QPoint(round(point.x()), round(point.y())))


def frame_pixel(frame: np.ndarray, tile: FocusTile, point: QPointF) -> np.ndarray:
    """The frame's own colour (RGB) under a point of the tile's picture."""
    picture = tile.image_rect()
    fx = (point.x() - picture.x()) * FRAME[0] / picture.width()
    fy = (point.y() - picture.y()) * FRAME[1] / picture.height()
    b, g, r = frame[min(FRAME[1] - 1, round(fy)), min(FRAME[0] - 1, round(fx))]
    return np.array([r, g, b], np.float32)


# ---------------------------------------------------------------------------------------------


def test_an_alarm_promotes_its_camera_with_the_risk_painted_on_the_image(
    widgets, site, clock, camera_rings
) -> None:
    _, frames, _ = camera_rings
    wall = FocusWall(clock, slots=4)
    view = make_view(widgets, wall, site, camera_rings)
    assert view.is_running
    assert view.grid_shape == (2, 2)
    assert [view.slot(i).tile for i in range(4)] == [None] * 4

    # empty slots are calm and dark
    quiet = grab_rgb(view)
    slot0 = view.slot(0).geometry().translated(view.slot(0).parentWidget().pos())
    assert quiet[slot0.top() : slot0.bottom(), slot0.left() : slot0.right()].mean() < 40

    view.update_alarms([alarm(1)])
    view.refresh_now()
    assert wall.layout.camera_ids == ("cam-east", None, None, None)
    tile = view.tile("cam-east")
    assert tile is not None
    assert view.slot(0).tile is tile
    assert tile.state.status is CameraStatus.LIVE
    rgb = grab_rgb(view)
    assert tile.drawn_risks, "the risk was not drawn"
    (mark,) = tile.drawn_risks
    assert mark.outline is not None
    assert mark.box is not None
    assert "0.55 m" in mark.box_label
    assert "#7" in mark.box_label

    # the object's image outline sits where the site file puts it, scaled to the picture
    picture = tile.image_rect()
    scale = picture.width() / FRAME[0]
    assert picture.height() / FRAME[1] == pytest.approx(scale, rel=0.01)
    region = site.protected_object("milkmaid").image_regions["cam-east"]
    first = mark.outline.at(0)
    assert first.x() == pytest.approx(picture.x() + region[0][0] * scale, abs=1)
    assert first.y() == pytest.approx(picture.y() + region[0][1] * scale, abs=1)

    # pixels: the outline's top edge and the person's box are in the severity colour; that
    # colour is not in the frame there
    high = rgb_of("offline")
    top_mid = QPointF((mark.outline.at(0).x() + mark.outline.at(1).x()) / 2, mark.outline.at(0).y())
    p = at(view, tile, top_mid)
    assert np.abs(rgb[p.y(), p.x()] - high).max() < 16
    assert np.abs(frame_pixel(frames["cam-east"], tile, top_mid) - high).max() > 40
    box = mark.box
    left_mid = QPointF(box.left(), box.center().y())
    p = at(view, tile, left_mid)
    person = rgb_of("offline")  # the alarm's person is boxed in the alarm's colour (high)
    assert np.abs(rgb[p.y(), p.x()] - person).max() < 16
    assert np.abs(frame_pixel(frames["cam-east"], tile, left_mid) - person).max() > 40
    assert box.left() == pytest.approx(picture.x() + BOX[0] * scale, abs=1)
    assert box.bottom() == pytest.approx(picture.y() + BOX[3] * scale, abs=1)

    # the picture itself is cam-east's frame from the ring (a patch away from the overlays)
    patch = QRect(20, 60, 120, 80)  # relative to the picture
    origin = tile.mapTo(view, picture.topLeft())
    shown = rgb[
        origin.y() + patch.top() : origin.y() + patch.bottom(),
        origin.x() + patch.left() : origin.x() + patch.right(),
    ].astype(np.float32)
    scaled = cv2.resize(frames["cam-east"], (picture.width(), picture.height()))
    expected = cv2.cvtColor(scaled, cv2.COLOR_BGR2RGB)[
        patch.top() : patch.bottom(), patch.left() : patch.right()
    ].astype(np.float32)
    assert np.abs(shown - expected).mean() < 8

    # rule and severity in words (and a shape), not colour alone
    (line,) = tile.banner_lines()
    for word in ("HIGH", "Too close", "The Milkmaid", "0.55 m", "NEW"):
        assert word in line
    assert "HIGH" in tile.accessibleDescription()


def test_the_wall_follows_severity_and_keeps_positions(widgets, site, clock, camera_rings) -> None:
    wall = FocusWall(clock, slots=2, min_slot_s=0.0, hold_s=0.0)
    view = make_view(widgets, wall, site, camera_rings)
    low = alarm(1, "cam-corridor", subject="corridor", rule="after_hours", severity="low", box=None)
    view.update_alarms([low])
    assert view.shown_layout.camera_ids == ("cam-corridor", None)
    clock.advance(1)
    high = alarm(2, "cam-west", subject="night-watch", raised_at=clock.now(), distance_m=None)
    view.update_alarms([low, high])
    assert view.shown_layout.camera_ids == ("cam-corridor", "cam-west")  # positions kept
    west = view.tile("cam-west")
    assert west is not None
    view.refresh_now()
    view.grab()
    (line,) = west.banner_lines()
    assert "HIGH" in line
    assert "The Night Watch" in line
    assert " m ·" not in line
    corridor = view.tile("cam-corridor")
    assert corridor is not None
    assert "LOW" in corridor.banner_lines()[0]
    # the alarm is resolved elsewhere: the camera leaves, the other stays in its slot
    view.update_alarms([high])
    assert view.shown_layout.camera_ids == (None, "cam-west")
    assert view.tile("cam-west") is west  # the same tile: no flicker, no reconversion


def test_an_alarm_that_changes_is_worked_out_again_and_one_that_did_not_is_not(
    widgets, site, clock, camera_rings
) -> None:
    """The wall keeps what it worked out of each alarm (its summaries and cameras) while the
    alarm object is the same; the manager makes a new object at every change, and the wall
    follows it: the risk moved to another camera, and an acknowledgement."""
    wall = FocusWall(clock, slots=2, min_slot_s=0.0, hold_s=0.0)
    view = make_view(widgets, wall, site, camera_rings)
    first = alarm(1, "cam-east")
    first = replace(first, occurrences=(Occurrence("cam-east", 7, START, START),))
    view.update_alarms([first])
    assert view.shown_layout.camera_ids == ("cam-east", None)
    view.update_alarms([first])  # the same object again: nothing to work out
    assert view.shown_layout.camera_ids == ("cam-east", None)
    clock.advance(1)
    moved = replace(
        first,
        occurrences=(
            Occurrence("cam-east", 7, START, START, ended_at=START),
            Occurrence("cam-west", 7, clock.now(), clock.now()),
        ),
    )
    view.update_alarms([moved])
    assert view.shown_layout.camera_ids == ("cam-west", None)  # follows the intruder
    west = view.tile("cam-west")
    assert west is not None
    assert [a.alarm_id for a in west.alarms] == [1]
    acknowledged = replace(moved, state=AlarmState.ACKNOWLEDGED)
    view.update_alarms([acknowledged])
    (summary,) = [s for s in view._summaries if s.camera_id == "cam-west"]
    assert summary.acknowledged


def test_slot_count_changes_from_selector_keys_and_menu(
    widgets, site, clock, camera_rings, qtbot
) -> None:
    wall = FocusWall(clock, slots=4)
    view = make_view(widgets, wall, site, camera_rings)
    counts: list[int] = []
    view.slot_count_changed.connect(counts.append)
    view.update_alarms([alarm(1)])

    view.slot_button(9).click()
    assert (wall.slot_count, view.slot_count, view.grid_shape) == (9, 9, (3, 3))
    assert view.tile("cam-east") is view.slot(0).tile

    qtbot.keyClick(view, Qt.Key.Key_1)
    assert (wall.slot_count, view.slot_count, view.grid_shape) == (1, 1, (1, 1))
    assert view.slot_button(1).isChecked()
    assert view.shown_layout.camera_ids == ("cam-east",)

    tile = view.tile("cam-east")
    assert tile is not None
    qtbot.keyClick(tile, Qt.Key.Key_BracketRight)  # keys on a tile reach the wall
    assert view.slot_count == 2

    menu = view.slot_menu(0)
    try:
        (six,) = [
            a for a in menu.findChildren(type(menu.actions()[0])) if a.objectName() == "slots-6"
        ]
        six.trigger()
    finally:
        menu.deleteLater()
    assert (wall.slot_count, view.grid_shape) == (6, (3, 2))
    assert counts == [9, 1, 2, 6]
    slots = [view.slot(i) for i in range(6)]
    assert all(not s.geometry().isEmpty() for s in slots)
    assert len({(s.x(), s.y()) for s in slots}) == 6


def test_pin_and_dismiss_are_forwarded_to_the_model(
    widgets, site, clock, camera_rings, qtbot
) -> None:
    wall = FocusWall(clock, slots=2)
    view = make_view(widgets, wall, site, camera_rings)
    east = alarm(1)
    west = alarm(2, "cam-west", subject="night-watch", severity="medium")
    view.update_alarms([east, west])
    assert view.shown_layout.camera_ids == ("cam-east", "cam-west")

    west_slot = view.shown_layout.slot_of("cam-west")
    assert west_slot is not None
    menu = view.slot_menu(west_slot)
    try:
        actions = {a.objectName(): a for a in menu.actions() if a.objectName()}
        assert set(actions) >= {"pin", "dismiss", "activate"}
        actions["pin"].trigger()
    finally:
        menu.deleteLater()
    assert wall.pinned == ("cam-west",)
    tile = view.tile("cam-west")
    assert tile is not None
    assert tile.assignment is not None
    assert tile.assignment.reason == "pinned"

    # P on the pinned camera's tile unpins it
    qtbot.keyClick(tile, Qt.Key.Key_P)
    assert wall.pinned == ()

    # Delete on cam-east's slot dismisses it: it leaves at once and stays away...
    east_tile = view.tile("cam-east")
    assert east_tile is not None
    qtbot.keyClick(east_tile, Qt.Key.Key_Delete)
    assert "cam-east" not in wall.layout.camera_ids
    assert view.tile("cam-east") is None
    clock.advance(2)
    view.update_alarms([east, west])
    assert view.tile("cam-east") is None
    # ...until a new alarm is raised on it
    clock.advance(1)
    view.update_alarms([east, west, alarm(3, raised_at=clock.now())])
    assert view.tile("cam-east") is not None

    # a click on the floor plan: the camera is shown (pinned) on the wall
    view.show_camera("cam-corridor")
    assert "cam-corridor" in view.shown_layout.camera_ids
    assert wall.pinned == ("cam-corridor",)


def test_camera_activated_by_enter_double_click_and_menu(
    widgets, site, clock, camera_rings, qtbot
) -> None:
    wall = FocusWall(clock, slots=1)
    view = make_view(widgets, wall, site, camera_rings)
    view.update_alarms([alarm(1)])
    view.refresh_now()
    activated: list[str] = []
    view.camera_activated.connect(activated.append)
    tile = view.tile("cam-east")
    assert tile is not None
    qtbot.keyClick(tile, Qt.Key.Key_Return)
    qtbot.mouseDClick(tile, Qt.MouseButton.LeftButton)
    menu = view.slot_menu(0)
    try:
        (show,) = [a for a in menu.actions() if a.objectName() == "activate"]
        show.trigger()
    finally:
        menu.deleteLater()
    assert activated == ["cam-east"] * 3


def test_hold_time_runs_out_on_reevaluation(widgets, site, clock, camera_rings) -> None:
    wall = FocusWall(clock, slots=4, hold_s=10.0, min_slot_s=5.0)
    view = make_view(widgets, wall, site, camera_rings)
    view.update_alarms([alarm(1)])
    clock.advance(6)
    handled = alarm(1, state=AlarmState.ACKNOWLEDGED, active=False)
    view.update_alarms([handled])
    tile = view.tile("cam-east")
    assert tile is not None
    assert tile.assignment is not None
    assert tile.assignment.reason == "hold"
    view.refresh_now()
    view.grab()
    assert "Acknowledged" in tile.banner_lines()[0]
    assert "risk cleared" in tile.banner_lines()[0]
    assert tile.drawn_risks[0].box is None  # nobody live on the camera: no "last seen" ghost
    clock.advance(5)
    view.reevaluate()  # what the policy timer does each second
    assert view.tile("cam-east") is not None
    clock.advance(6)
    view.reevaluate()
    assert view.tile("cam-east") is None
    assert view.shown_layout.camera_ids == (None, None, None, None)


def test_alarms_from_a_real_alarm_manager(widgets, site, clock, camera_rings, tmp_path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'alarms.db'}", snapshots_dir=tmp_path / "snaps")
    try:
        manager = AlarmManager(store, site, clock)
        wall = FocusWall(clock, slots=4)
        view = make_view(widgets, wall, site, camera_rings)
        manager.ingest(
            [
                Finding(
                    "proximity",
                    "cam-east",
                    "milkmaid",
                    4,
                    "high",
                    clock.now(),
                    1.0,
                    ProximityDetail(box=tuple(BOX), distance_m=0.41, mode="plan"),
                )
            ]
        )
        view.update_alarms(manager.open_alarms())
        view.refresh_now()
        view.grab()
        tile = view.tile("cam-east")
        assert tile is not None
        (mark,) = tile.drawn_risks
        assert mark.outline is not None
        assert mark.box is not None
        assert "0.41 m" in mark.text
        assert "NEW" in mark.text
        (raised,) = manager.open_alarms()
        manager.acknowledge(raised.alarm_id, "monitor-1")
        view.update_alarms(manager.open_alarms())
        view.grab()
        assert "Acknowledged" in tile.banner_lines()[0]
        assert "NEW" not in tile.banner_lines()[0]
        assert alarm_summary(manager.open_alarms()[0]).acknowledged
    finally:
        store.close()


def test_offline_camera_keeps_its_slot_and_words(widgets, site, clock, camera_rings) -> None:
    wall = FocusWall(clock, slots=1)
    view = make_view(widgets, wall, site, camera_rings)
    view.show_status(StatusChange("cam-east", CameraStatus.OFFLINE, "connection refused", 0.0))
    view.update_alarms(
        [alarm(1, subject="cam-east", rule="camera_health", box=None, distance_m=None)]
    )
    view.refresh_now()
    view.grab()
    tile = view.tile("cam-east")
    assert tile is not None
    assert tile.state.status is CameraStatus.OFFLINE
    assert "connection refused" in tile.caption_lines()
    (mark,) = tile.drawn_risks
    assert mark.outline is None
    assert mark.box is None
    assert "Camera fault" in mark.text
    assert "East gallery" in mark.text


def test_resolved_alarms_are_ignored(widgets, site, clock, camera_rings) -> None:
    wall = FocusWall(clock, slots=1)
    view = make_view(widgets, wall, site, camera_rings)
    view.update_alarms([replace(alarm(1), state=AlarmState.RESOLVED)])
    assert view.shown_layout.camera_ids == (None,)


def test_timers_stop_on_hide_and_close_and_the_dock_can_float(
    widgets, site, clock, camera_rings
) -> None:
    wall = FocusWall(clock, slots=4)
    window = widgets(QMainWindow())
    made, _, frame_clock = camera_rings
    view = FocusWallView(wall, site, made, frame_clock=frame_clock)
    dock = QDockWidget("Focus wall", window)
    dock.setWidget(view)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    window.resize(1200, 800)
    window.show()
    assert view.is_running
    float_on_screen(dock)
    assert dock.isFloating()
    assert view.is_running  # still shown, now in a window of its own
    dock.setFloating(False)
    # beside the console on its one screen: three fifths of it, yet never past the queue's edge
    screen = QRect(0, 0, 1920, 1080)
    assert beside_console(screen) == QRect(0, 80, 1152, 952)
    assert beside_console(screen, keep_left_of=1500).right() < 1152  # the queue is further
    assert beside_console(screen, keep_left_of=1100).right() < 1100  # a wider queue
    dock.hide()
    assert not view.is_running
    dock.show()
    assert view.is_running
    view.close()
    assert not view.is_running
