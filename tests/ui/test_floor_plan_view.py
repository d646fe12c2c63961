"""The floor plan panel over the example site (a real plan image), offscreen."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QGraphicsLineItem, QGraphicsSimpleTextItem, QWidget

from console.alarms import Alarm
from console.behaviour.model import BehaviourView, WatchedPerson
from console.behaviour.visitors import PathPoint
from console.site_file import Site, load_site
from console.store import AlarmState
from inference.detections import Detections
from inference.frame_ring import FrameRef
from inference.pipeline import TrackedFrame
from ui.floor_plan_view import FloorPlanView
from ui.theme import PALETTE

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "example_site"
START = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def site() -> Site:
    return load_site(EXAMPLE / "site.yaml")


class StepClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def make_plan(widgets: Callable[[QWidget], QWidget], site: Site, **kwargs: object) -> FloorPlanView:
    plan = widgets(FloorPlanView(site, **kwargs))  # type: ignore[arg-type]
    assert isinstance(plan, FloorPlanView)
    plan.resize(900, 650)
    plan.show()
    plan.view.fit_to_plan()
    return plan


def alarm(
    alarm_id: int,
    camera_id: str = "cam-east",
    subject: str = "milkmaid",
    *,
    rule: str = "proximity",
    severity: str = "high",
    state: AlarmState = AlarmState.RAISED,
) -> Alarm:
    return Alarm(
        alarm_id, camera_id, rule, subject, severity, state, START, START, START, (7,), 1.0, 1.0
    )


def grab_rgb(widget: QWidget) -> np.ndarray:
    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    w, h = image.width(), image.height()
    data = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes())
    return data.reshape(h, image.bytesPerLine())[:, : w * 3].reshape(h, w, 3).copy()


def viewport_point(plan: FloorPlanView, x: float, y: float) -> QPoint:
    return plan.view.mapFromScene(QPointF(x, y))


def test_the_plan_shows_cameras_objects_and_zones(widgets, site) -> None:
    plan = make_plan(widgets, site)
    assert plan.plan_problem is None
    assert not plan.message.isVisible()
    assert not plan.floor_selector.isVisible()  # one floor: no selector
    for camera in site.cameras:
        icon = plan.camera_icon(camera.id)
        assert camera.plan_position is not None
        assert (icon.pos().x(), icon.pos().y()) == tuple(map(float, camera.plan_position))
        assert icon.label.text() == camera.name
        assert icon.scene() is plan.view.scene()
    for obj in site.protected_objects:
        outline = plan.outline(obj.id)
        assert outline.label.text() == obj.name
        assert obj.plan_polygon is not None
        assert [(p.x(), p.y()) for p in outline.polygon()] == [
            (float(x), float(y)) for x, y in obj.plan_polygon
        ]
    store = plan.outline("store")
    assert store.restricted
    assert store.brush().style() == Qt.BrushStyle.BDiagPattern  # hatched: staff only
    assert plan.outline("east-gallery").brush().style() == Qt.BrushStyle.NoBrush

    # the dimmed plan image is drawn: the walls (dark) and the floor (light) both show
    rgb = grab_rgb(plan.view.viewport())
    wall_px = viewport_point(plan, 300, 40)  # the plan's outer wall
    floor_px = viewport_point(plan, 300, 400)  # inside the west gallery
    assert rgb[floor_px.y(), floor_px.x()].mean() - rgb[wall_px.y(), wall_px.x()].mean() > 40

    # hatching in the restricted store: its pixels vary, the corridor's do not
    def spread(x: float, y: float) -> float:
        p = viewport_point(plan, x, y)
        return float(rgb[p.y() - 6 : p.y() + 6, p.x() - 6 : p.x() + 6].std())

    assert spread(1100, 720) > 3 * max(spread(300, 700), 1.0)


def test_a_click_on_a_camera_icon_emits_its_id(widgets, site, qtbot) -> None:
    plan = make_plan(widgets, site)
    clicked: list[str] = []
    plan.camera_clicked.connect(clicked.append)
    qtbot.mouseClick(
        plan.view.viewport(), Qt.MouseButton.LeftButton, pos=viewport_point(plan, 1120, 520)
    )
    qtbot.mouseClick(
        plan.view.viewport(), Qt.MouseButton.LeftButton, pos=viewport_point(plan, 300, 300)
    )  # empty floor: nothing
    qtbot.mouseClick(
        plan.view.viewport(), Qt.MouseButton.LeftButton, pos=viewport_point(plan, 80, 740)
    )
    assert clicked == ["cam-east", "cam-corridor"]


def test_alarm_states_show_on_the_plan(widgets, site) -> None:
    plan = make_plan(widgets, site)
    milkmaid = plan.outline("milkmaid")
    normal_width = milkmaid.pen().widthF()
    edge = viewport_point(plan, 760, 44)
    before = grab_rgb(plan.view.viewport())[edge.y(), edge.x()].astype(np.float32)

    plan.update_alarms(
        [
            alarm(1),
            alarm(2, "cam-west", "store", rule="restricted_zone", severity="medium"),
            alarm(
                3,
                "cam-corridor",
                "cam-corridor",
                rule="camera_health",
                severity="low",
                state=AlarmState.RESOLVED,
            ),
        ]
    )
    after = grab_rgb(plan.view.viewport())[edge.y(), edge.x()].astype(np.float32)
    high = np.array(PALETTE.qcolor("offline").getRgb()[:3], np.float32)
    assert np.abs(after - high).max() < 20
    assert np.abs(before - high).max() > 40
    assert milkmaid.alarmed
    assert milkmaid.pen().widthF() > 2 * normal_width  # thicker, not only another colour
    assert plan.alarm_text("milkmaid") == "ALARM · HIGH · NEW · Too close"
    assert plan.alarm_text("store") == "ALARM · MEDIUM · NEW · Restricted zone"
    assert plan.alarm_text("night-watch") is None
    assert plan.alarm_text("east-gallery") is None
    assert plan.camera_icon("cam-east").alarmed
    assert plan.camera_icon("cam-east").alarm_tag.isVisible()
    assert plan.camera_icon("cam-east").label.isVisible()  # an alarmed camera is named
    assert not plan.camera_icon("cam-corridor").label.isVisible()  # a quiet one only on hover
    assert plan.camera_icon("cam-west").alarmed
    assert not plan.camera_icon("cam-corridor").alarmed  # its alarm is resolved

    plan.update_alarms([alarm(1, state=AlarmState.ACKNOWLEDGED)])
    assert plan.alarm_text("milkmaid") == "ALARM · HIGH · Acknowledged · Too close"
    assert plan.alarm_text("store") is None
    assert not plan.camera_icon("cam-west").alarmed
    plan.update_alarms([])
    assert not milkmaid.alarmed
    assert milkmaid.pen().widthF() == normal_width
    assert plan.alarm_text("milkmaid") is None


def test_people_appear_and_fade(widgets, site) -> None:
    clock = StepClock()
    plan = make_plan(widgets, site, clock=clock, people_hold_s=1.0, people_fade_s=5.0)
    assert not plan.is_running  # nobody shown: no timer
    plan.update_people("cam-east", [(7, 900.0, 300.0), (8, float("nan"), 10.0)])
    (key,) = plan.people()
    assert key == ("cam-east", 7)
    mark = plan.people()[key]
    assert (mark.pos().x(), mark.pos().y()) == (900.0, 300.0)
    assert mark.opacity() == 1.0
    assert mark.label.text() == "#7"
    assert plan.is_running

    clock.now += 3.0
    plan.fade_people()  # what the fade timer does
    assert 0.0 < mark.opacity() < 1.0
    plan.update_people("cam-east", [(7, 910.0, 305.0)])  # seen again: fully visible, moved
    assert mark.opacity() == 1.0
    assert mark.pos().x() == 910.0
    clock.now += 5.0
    plan.fade_people()
    assert plan.people() == {}
    assert mark.scene() is None
    assert not plan.is_running


def test_tracked_people_are_placed_through_the_calibration(widgets, site) -> None:
    plan = make_plan(widgets, site)
    # a box whose foot point is the first calibration point of cam-east: image (80, 700)
    people = Detections([[40.0, 500.0, 120.0, 700.0]], [0.9], track_id=[5])
    ref = FrameRef("cam-east", 0, 1, 0.0, 0.0)
    plan.show_tracks(TrackedFrame(ref, people, people, 0.01))
    mark = plan.people()[("cam-east", 5)]
    assert mark.pos().x() == pytest.approx(640.0, abs=0.5)
    assert mark.pos().y() == pytest.approx(540.0, abs=0.5)
    # an uncalibrated camera cannot place anybody
    plan.show_tracks(TrackedFrame(FrameRef("cam-west", 0, 1, 0.0, 0.0), people, people, 0.01))
    assert ("cam-west", 5) not in plan.people()


@pytest.mark.parametrize("damage", ["corrupt", "missing"])
def test_a_broken_plan_image_shows_a_message_and_the_rest_still_works(
    widgets, tmp_path, qtbot, damage
) -> None:
    shutil.copytree(EXAMPLE, tmp_path / "site")
    site = load_site(tmp_path / "site" / "site.yaml")
    image = tmp_path / "site" / "plans" / "ground.png"
    if damage == "corrupt":
        image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a png" * 20)
    else:
        image.unlink()
    plan = make_plan(widgets, site)
    assert plan.message.isVisible()
    text = plan.message.text()
    assert "Plan image of Ground floor cannot be shown" in text
    assert ("missing" if damage == "missing" else "not a readable image") in text
    assert plan.plan_problem is not None
    # the plan keeps its size: cameras and objects sit where they belong, and still work
    rect = plan.view.sceneRect()
    assert rect.contains(QPointF(0, 0))
    assert rect.contains(QPointF(1199, 799))
    clicked: list[str] = []
    plan.camera_clicked.connect(clicked.append)
    qtbot.mouseClick(
        plan.view.viewport(), Qt.MouseButton.LeftButton, pos=viewport_point(plan, 560, 520)
    )
    assert clicked == ["cam-west"]
    plan.update_alarms([alarm(1)])
    assert plan.alarm_text("milkmaid") is not None


def test_several_floors_have_a_selector(widgets, tmp_path) -> None:
    shutil.copytree(EXAMPLE, tmp_path / "site")
    path = tmp_path / "site" / "site.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace(
        "    metres_per_pixel: 0.02\n",
        "    metres_per_pixel: 0.02\n"
        "  - id: upper\n    name: Upper floor\n    plan: plans/ground.png\n"
        "    metres_per_pixel: 0.02\n",
        1,
    )
    text = text.replace(
        "  - id: cam-corridor\n    name: Corridor\n    floor: ground\n",
        "  - id: cam-corridor\n    name: Corridor\n    floor: upper\n",
    )
    path.write_text(text, encoding="utf-8")
    site = load_site(path)
    assert [f.id for f in site.floors] == ["ground", "upper"]
    plan = make_plan(widgets, site)
    changed: list[str] = []
    plan.floor_changed.connect(changed.append)
    assert plan.floor_selector.isVisible()
    assert plan.floor_selector.count() == 2
    assert plan.current_floor == "ground"
    assert plan.camera_icon("cam-corridor").scene() is plan.scene_of("upper")
    plan.floor_selector.setCurrentIndex(1)
    assert plan.current_floor == "upper"
    assert plan.view.scene() is plan.scene_of("upper")
    assert changed == ["upper"]
    # people of a camera upstairs go onto the upper floor's plan
    plan.update_people("cam-corridor", [(1, 100.0, 700.0)])
    assert plan.people()[("cam-corridor", 1)].scene() is plan.scene_of("upper")


def test_zoom_and_fit(widgets, site, qtbot) -> None:
    plan = make_plan(widgets, site)
    fitted = plan.view.zoom
    qtbot.keyClick(plan.view, Qt.Key.Key_Plus)
    assert plan.view.zoom == pytest.approx(fitted * 1.25)
    plan.view.zoom_by(4.0)
    assert plan.view.zoom == pytest.approx(fitted * 5.0)
    qtbot.keyClick(plan.view, Qt.Key.Key_0)
    assert plan.view.zoom == pytest.approx(fitted)


def test_the_fade_timer_stops_on_hide_and_close(widgets, site) -> None:
    plan = make_plan(widgets, site)
    plan.update_people("cam-east", [(3, 700.0, 300.0)])
    assert plan.is_running
    plan.hide()
    assert not plan.is_running
    plan.show()
    assert plan.is_running
    plan.close()
    assert not plan.is_running


def test_a_watched_visitors_way_is_drawn_fading_with_age(widgets, site) -> None:
    plan = make_plan(widgets, site)
    at = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
    now_s = at.timestamp()
    way = (
        PathPoint(now_s - 120, "cam-east", "ground", 1100.0, 400.0),
        PathPoint(now_s - 60, "cam-east", "ground", 800.0, 120.0),
        PathPoint(now_s - 5, "cam-west", "ground", 560.0, 520.0),
    )
    person = WatchedPerson(
        "visitor-3", "visitor 3", "left a bag", "night-monitor", at, at, at,
        ("cam-west",), (("cam-west", 4),), way, None,
    )  # fmt: skip
    plan.show_watched(BehaviourView(at, True, True, "judging", (person,)))
    items = plan.watched_items("ground")
    lines = [i for i in items if isinstance(i, QGraphicsLineItem)]
    labels = [i for i in items if isinstance(i, QGraphicsSimpleTextItem)]
    assert len(lines) == 2
    assert [label.text() for label in labels] == ["visitor 3"]
    older, newer = (line.pen().color().alpha() for line in lines)
    assert older < newer
    # nobody watched any more: the way is gone
    plan.show_watched(BehaviourView(at, True, True, "judging", ()))
    assert plan.watched_items("ground") == []
