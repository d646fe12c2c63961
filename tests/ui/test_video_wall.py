"""The video wall with real shared-memory rings and real footage (vtest.avi), offscreen."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QPoint, QRect, Qt, QThread
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QScrollArea

from console.alarms import Alarm
from console.severity import Severity
from console.store import AlarmState
from inference.detections import Detections
from inference.frame_ring import FrameRef, FrameRing
from inference.pipeline import PipelineEvent, TrackedFrame
from inference.sources import CameraStatus, StatusChange
from tests.media import first_frames
from ui.bridge import PipelineBridge
from ui.theme import PALETTE, apply_theme, stylesheet, theme_settings
from ui.video_wall import CameraTile, VideoWall, WallCamera, format_age, grid_shape

SUB = (640, 360)


@pytest.fixture(scope="module")
def vtest() -> list[np.ndarray]:
    """The first 40 frames of vtest.avi (768x576 BGR): people walking past buildings."""
    return first_frames("vtest.avi", 40)


def sub_stream(frame: np.ndarray) -> np.ndarray:
    return cv2.resize(frame, SUB, interpolation=cv2.INTER_AREA)


class FakeClock:
    """The wall's clock, moved by hand: no test depends on how fast this machine is."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def grab_rgb(wall: VideoWall) -> np.ndarray:
    image = wall.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    w, h = image.width(), image.height()
    data = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes())
    return data.reshape(h, image.bytesPerLine())[:, : w * 3].reshape(h, w, 3).copy()


def picture_region(wall: VideoWall, tile: CameraTile) -> QRect:
    """The tile's picture in wall coordinates, without the caption strip at its top."""
    rect = tile.image_rect()
    assert not rect.isEmpty(), f"{tile.camera_id} shows no picture"
    rect = rect.translated(tile.mapTo(wall, QPoint(0, 0)))
    caption = tile.fontMetrics().height() + 8
    return rect.adjusted(2, caption, -2, -2)


def crop(rgb: np.ndarray, rect: QRect) -> np.ndarray:
    return rgb[rect.top() : rect.bottom() + 1, rect.left() : rect.right() + 1].astype(np.float32)


def expected_region(
    frame_bgr: np.ndarray, tile: CameraTile, region: QRect, wall: VideoWall
) -> np.ndarray:
    """What the frame looks like scaled to the tile's picture, cut to `region` (wall coords)."""
    picture = tile.image_rect().translated(tile.mapTo(wall, QPoint(0, 0)))
    size = (picture.width(), picture.height())
    scaled = cv2.resize(frame_bgr, size, interpolation=cv2.INTER_AREA)
    rgb = cv2.cvtColor(scaled, cv2.COLOR_BGR2RGB)
    top, left = region.top() - picture.top(), region.left() - picture.left()
    return rgb[top : top + region.height(), left : left + region.width()].astype(np.float32)


def mad(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).mean())


def make_wall(
    widgets: Callable, cameras: list[WallCamera], clock: FakeClock, **kwargs: object
) -> VideoWall:
    wall = widgets(VideoWall(cameras, clock=clock, **kwargs))
    wall.resize(960, 540)
    wall.show()
    return wall


def people(boxes: list[list[float]], ids: list[int]) -> Detections:
    return Detections(boxes, [0.9] * len(boxes), track_id=ids)


# ---------------------------------------------------------------------------------------------
# pure pieces
# ---------------------------------------------------------------------------------------------


def test_grid_shape_fills_the_area_with_the_largest_tiles() -> None:
    assert grid_shape(64, 1920, 1080) == (8, 8)
    assert grid_shape(3, 1920, 400) == (3, 1)
    assert grid_shape(3, 400, 1200) == (1, 3)
    assert grid_shape(5, 1600, 900) == (3, 2)
    assert grid_shape(0, 1920, 1080) == (0, 0)
    cols, rows = grid_shape(70, 1920, 1080)
    assert cols * rows >= 70
    assert (cols - 1) * rows < 70


def test_format_age_reads_like_a_person_would_say_it() -> None:
    assert format_age(4.7) == "4 s"
    assert format_age(75) == "1 min 15 s"
    assert format_age(3 * 3600 + 120) == "3 h 02 min"


def test_theme_fills_every_placeholder_and_scales_fonts(qapp: QApplication) -> None:
    sheet = stylesheet(font_scale=1.5)
    assert "${" not in sheet
    assert PALETTE.background in sheet
    assert f"font-size: {theme_settings(1.5).font_pt}pt" in sheet
    assert theme_settings(100).font_pt == theme_settings(3.0).font_pt  # clamped
    previous_sheet, previous_font = qapp.styleSheet(), qapp.font()
    try:
        apply_theme(qapp, font_scale=1.2)
        assert qapp.font().pointSizeF() == pytest.approx(theme_settings(1.2).font_pt)
    finally:
        qapp.setStyleSheet(previous_sheet)
        qapp.setFont(previous_font)


# ---------------------------------------------------------------------------------------------
# the wall over real rings
# ---------------------------------------------------------------------------------------------


def test_wall_fills_from_real_rings_and_shows_each_cameras_own_frame(widgets, rings, vtest) -> None:
    frames = {
        "cam-1": sub_stream(vtest[0]),
        "cam-2": sub_stream(vtest[0])[:, ::-1].copy(),  # the same scene mirrored
        "cam-3": sub_stream(vtest[30]),
        "cam-4": sub_stream(vtest[15])[::-1].copy(),  # upside down
    }
    cameras = [WallCamera(cid, rings(cid), f"Gallery {i + 1}") for i, cid in enumerate(frames)]
    refs = {c.camera_id: c.ring.publish(frames[c.camera_id], ts=0.0) for c in cameras}
    clock = FakeClock(max(r.captured_at for r in refs.values()))
    wall = make_wall(widgets, cameras, clock)
    assert wall.grid_shape == (2, 2)

    wall.refresh_now()
    rgb = grab_rgb(wall)
    for cid, frame in frames.items():
        tile = wall.tile(cid)
        assert tile.state.status is CameraStatus.LIVE
        region = picture_region(wall, tile)
        shown = crop(rgb, region)
        own = mad(shown, expected_region(frame, tile, region, wall))
        others = [
            mad(shown, expected_region(other, tile, region, wall))
            for c, other in frames.items()
            if c != cid
        ]
        assert own < 6.0, f"{cid}: tile differs from its frame by {own:.1f} levels"
        assert min(others) > 3 * own, f"{cid}: tile looks like another camera's frame"
        mean_shown = shown.reshape(-1, 3).mean(axis=0)
        mean_frame = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB).reshape(-1, 3).mean(axis=0)
        assert np.abs(mean_shown - mean_frame).max() < 8.0
        assert tile.counters.converted == 1
        assert tile.counters.painted >= 1


def test_only_frames_whose_seq_changed_are_converted(widgets, rings, vtest) -> None:
    ring = rings("cam-1")
    ref = ring.publish(sub_stream(vtest[0]), ts=0.0)
    clock = FakeClock(ref.captured_at)
    wall = make_wall(widgets, [WallCamera("cam-1", ring)], clock)
    tile = wall.tile("cam-1")
    wall.refresh_now()
    wall.grab()
    wall.refresh_now()
    wall.refresh_now()
    assert tile.counters.converted == 1
    ring.publish(sub_stream(vtest[1]), ts=0.1)
    ring.publish(sub_stream(vtest[2]), ts=0.2)  # two frames between ticks: only the newest
    wall.refresh_now()
    assert tile.counters.converted == 2
    wall.grab()
    stats = wall.stats()
    assert stats.per_camera["cam-1"].converted == 2
    assert stats.total.painted == 2
    assert stats.ticks == 4


def test_boxes_and_track_ids_are_drawn_over_the_picture(widgets, rings, vtest) -> None:
    ring = rings("cam-1")
    ref = ring.publish(sub_stream(vtest[5]), ts=0.5)
    clock = FakeClock(ref.captured_at)
    wall = make_wall(widgets, [WallCamera("cam-1", ring)], clock)
    tile = wall.tile("cam-1")
    wall.refresh_now()
    before = grab_rgb(wall)
    assert tile.drawn_boxes == []

    box = [200.0, 120.0, 320.0, 330.0]  # sub-stream pixels
    wall.show_tracks(TrackedFrame(ref, people([box], [7]), people([box], [-1]), 0.05))
    wall.refresh_now()
    after = grab_rgb(wall)

    (drawn, label), *more = tile.drawn_boxes
    assert not more
    assert label == "#7"
    picture = tile.image_rect()
    scale = picture.width() / SUB[0]
    assert drawn.left() == pytest.approx(picture.left() + box[0] * scale, abs=1)
    assert drawn.bottom() == pytest.approx(picture.top() + box[3] * scale, abs=1)
    # the box's left edge, halfway down, is in the box colour now and was not before
    edge = tile.mapTo(wall, QPoint(round(drawn.left()), round(drawn.center().y())))
    colour = np.array(PALETTE.qcolor("person_box").getRgb()[:3], np.float32)
    assert np.abs(after[edge.y(), edge.x()] - colour).max() < 12
    assert np.abs(before[edge.y(), edge.x()] - colour).max() > 30


def test_boxes_of_a_frame_long_gone_are_not_drawn(widgets, rings, vtest) -> None:
    ring = rings("cam-1")
    shown = ring.publish(sub_stream(vtest[1]), ts=5.0)
    clock = FakeClock(shown.captured_at)
    wall = make_wall(widgets, [WallCamera("cam-1", ring)], clock, track_hold_s=1.0)
    tile = wall.tile("cam-1")
    box = [[10.0, 10.0, 90.0, 200.0]]
    # tracks of a frame captured 5 s before the one on screen (the detector fell behind)
    old = FrameRef("cam-1", 0, shown.seq - 50, 0.0, shown.captured_at - 5.0)
    wall.show_tracks(TrackedFrame(old, people(box, [3]), people(box, [-1]), 5.0))
    wall.refresh_now()
    wall.grab()
    assert tile.drawn_boxes == []
    recent = FrameRef("cam-1", 0, shown.seq - 1, 4.9, shown.captured_at - 0.5)
    wall.show_tracks(TrackedFrame(recent, people(box, [3]), people(box, [-1]), 0.5))
    wall.refresh_now()
    wall.grab()
    assert [label for _, label in tile.drawn_boxes] == ["#3"]


def test_offline_camera_shows_its_reason_and_time_since_last_frame(widgets, rings, vtest) -> None:
    frame = sub_stream(vtest[3])
    ring = rings("cam-9")
    ref = ring.publish(frame, ts=0.3)
    clock = FakeClock(ref.captured_at)
    wall = make_wall(widgets, [WallCamera("cam-9", ring, "Vault corridor")], clock)
    tile = wall.tile("cam-9")
    wall.refresh_now()
    assert tile.state.shows_image

    reason = "read failed: connection reset by peer"
    wall.show_status(StatusChange("cam-9", CameraStatus.OFFLINE, reason, ref.captured_at + 1))
    clock.now = ref.captured_at + 75.0
    wall.refresh_now()
    assert tile.state.status is CameraStatus.OFFLINE
    assert not tile.state.shows_image
    assert tile.caption_lines() == [
        "Vault corridor · OFFLINE",
        reason,
        "last frame 1 min 15 s ago",
    ]
    assert reason in tile.accessibleDescription()
    rgb = grab_rgb(wall)
    area = QRect(tile.mapTo(wall, QPoint(0, 0)), tile.size()).adjusted(2, 30, -2, -2)
    shown = crop(rgb, area)
    # not the frozen frame, not black: the hatched tile with the offline mark (a cross)
    tile_frame = cv2.resize(frame, (tile.width(), tile.height()), interpolation=cv2.INTER_AREA)
    old_picture = cv2.cvtColor(tile_frame, cv2.COLOR_BGR2RGB)[30:-2, 2:-2].astype(np.float32)
    assert mad(shown, old_picture[: shown.shape[0], : shown.shape[1]]) > 30
    assert shown.max() > 40
    assert len(np.unique(shown.reshape(-1, 3), axis=0)) > 3
    offline = np.array(PALETTE.qcolor("offline").getRgb()[:3], np.float32)
    assert (np.abs(shown - offline).max(axis=2) < 20).sum() > 20, "no offline mark painted"

    # a minute later the age moves on; the camera coming back shows pictures again
    clock.now += 60
    wall.refresh_now()
    assert tile.caption_lines()[-1] == "last frame 2 min 15 s ago"
    fresh = ring.publish(frame, ts=0.4)
    clock.now = fresh.captured_at
    wall.show_status(StatusChange("cam-9", CameraStatus.LIVE, "frames again", fresh.captured_at))
    wall.refresh_now()
    assert tile.state.status is CameraStatus.LIVE
    assert tile.state.shows_image


def test_a_ring_that_stops_moving_is_shown_stalled_not_frozen(widgets, rings, vtest) -> None:
    ring = rings("cam-1")
    ref = ring.publish(sub_stream(vtest[0]), ts=0.0)
    clock = FakeClock(ref.captured_at)
    wall = make_wall(widgets, [WallCamera("cam-1", ring, status=CameraStatus.LIVE)], clock)
    tile = wall.tile("cam-1")
    wall.refresh_now()
    assert tile.state.shows_image
    clock.now += 10.0  # the pipeline still says live, but no new frame for 10 s
    wall.refresh_now()
    assert tile.state.status is CameraStatus.STALLED
    assert not tile.state.shows_image
    assert tile.caption_lines()[-1] == "last frame 10 s ago"


def test_a_camera_without_frames_says_so(widgets, rings) -> None:
    wall = make_wall(widgets, [WallCamera("cam-1", rings("cam-1"))], FakeClock(1000.0))
    wall.refresh_now()
    tile = wall.tile("cam-1")
    assert tile.state.status is CameraStatus.CONNECTING
    assert tile.caption_lines()[1:] == ["waiting for the first frame", "no frame received yet"]
    assert tile.image_rect().isEmpty()


# ---------------------------------------------------------------------------------------------
# enlarge / restore, keyboard
# ---------------------------------------------------------------------------------------------


class MainStreamsFake:
    """Stands in for VisionPipeline's open/close_main_stream, with a real ring."""

    def __init__(self, rings: dict[str, FrameRing]) -> None:
        self.rings = rings
        self.opened: list[str] = []
        self.closed: list[str] = []

    def open_main_stream(self, camera_id: str) -> FrameRing | None:
        self.opened.append(camera_id)
        return self.rings.get(camera_id)

    def close_main_stream(self, camera_id: str) -> None:
        self.closed.append(camera_id)


def four_cameras(rings, vtest) -> tuple[list[WallCamera], float]:
    cameras = [WallCamera(f"cam-{i}", rings(f"cam-{i}"), f"Room {i}") for i in range(1, 5)]
    last = 0.0
    for i, camera in enumerate(cameras):
        last = camera.ring.publish(sub_stream(vtest[i * 5]), ts=0.0).captured_at
    return cameras, last


def test_keyboard_moves_enlarges_and_restores(qtbot, widgets, rings, vtest) -> None:
    cameras, last = four_cameras(rings, vtest)
    wall = make_wall(widgets, cameras, FakeClock(last))
    assert wall.grid_shape == (2, 2)
    first = wall.tile("cam-1")
    first.setFocus()
    qtbot.keyClick(first, Qt.Key.Key_Right)
    assert wall.focusWidget() is wall.tile("cam-2")
    qtbot.keyClick(wall.tile("cam-2"), Qt.Key.Key_Down)
    assert wall.focusWidget() is wall.tile("cam-4")
    qtbot.keyClick(wall.tile("cam-4"), Qt.Key.Key_Down)  # no row below: stays
    assert wall.focusWidget() is wall.tile("cam-4")
    qtbot.keyClick(wall.tile("cam-4"), Qt.Key.Key_Home)
    assert wall.focusWidget() is first
    qtbot.keyClick(first, Qt.Key.Key_Right)

    with qtbot.waitSignal(wall.enlarge_requested) as asked:
        qtbot.keyClick(wall.tile("cam-2"), Qt.Key.Key_Return)
    assert asked.args == ["cam-2"]
    assert wall.enlarged_camera == "cam-2"
    big = wall.enlarged_tile
    assert big is not None
    assert big.isVisible()
    assert big.geometry() == wall.rect()
    assert not any(wall.tile(c.camera_id).isVisible() for c in cameras)
    assert wall.display_fps == 25.0
    wall.refresh_now()
    assert big.state.shows_image
    assert not big.showing_main_stream

    with qtbot.waitSignal(wall.enlarged_changed) as changed:
        qtbot.keyClick(big, Qt.Key.Key_Escape)
    assert changed.args == [""]
    assert wall.enlarged_camera is None
    assert wall.enlarged_tile is None
    assert all(wall.tile(c.camera_id).isVisible() for c in cameras)
    assert wall.focusWidget() is wall.tile("cam-2")
    assert wall.display_fps == 10.0


def test_double_click_enlarges_onto_the_main_stream_and_back(qtbot, widgets, rings, vtest) -> None:
    cameras, last = four_cameras(rings, vtest)
    main = rings("cam-3:main", max_frame_bytes=768 * 576 * 3)
    full = vtest[20][:, ::-1].copy()  # full resolution, and visibly not the sub-stream picture
    main_ref = main.publish(full, ts=2.0)
    streams = MainStreamsFake({"cam-3": main})
    clock = FakeClock(max(last, main_ref.captured_at))
    wall = make_wall(widgets, cameras, clock, main_streams=streams)
    box = [320.0, 90.0, 400.0, 300.0]  # in sub-stream pixels (640x360)
    sub_ref = cameras[2].ring.latest()
    wall.show_tracks(TrackedFrame(sub_ref, people([box], [12]), people([box], [-1]), 0.1))

    qtbot.mouseDClick(wall.tile("cam-3"), Qt.MouseButton.LeftButton)
    assert wall.enlarged_camera == "cam-3"
    assert streams.opened == ["cam-3"]
    big = wall.enlarged_tile
    wall.refresh_now()
    assert big.showing_main_stream
    rgb = grab_rgb(wall)
    region = picture_region(wall, big)
    own = mad(crop(rgb, region), expected_region(full, big, region, wall))
    sub = mad(crop(rgb, region), expected_region(sub_stream(vtest[10]), big, region, wall))
    assert own < 6.0
    assert sub > 3 * own
    # boxes stay in place although the main stream has another resolution than the sub-stream
    ((drawn, label),) = big.drawn_boxes
    picture = big.image_rect()
    assert label == "#12"
    assert drawn.left() == pytest.approx(picture.left() + box[0] / SUB[0] * picture.width(), abs=1)
    assert drawn.top() == pytest.approx(picture.top() + box[1] / SUB[1] * picture.height(), abs=1)

    qtbot.mouseDClick(big, Qt.MouseButton.LeftButton)
    assert wall.enlarged_camera is None
    assert streams.closed == ["cam-3"]
    assert wall.focusWidget() is wall.tile("cam-3")


def test_hidden_tiles_are_not_converted(widgets, rings, vtest) -> None:
    cameras, last = four_cameras(rings, vtest)
    clock = FakeClock(last)
    wall = make_wall(widgets, cameras, clock)
    wall.refresh_now()
    assert [wall.tile(c.camera_id).counters.converted for c in cameras] == [1, 1, 1, 1]
    wall.enlarge("cam-1")
    for camera in cameras:
        clock.now = camera.ring.publish(sub_stream(vtest[39]), ts=1.0).captured_at
    wall.refresh_now()
    assert [wall.tile(c.camera_id).counters.converted for c in cameras] == [1, 1, 1, 1]
    assert wall.enlarged_tile.counters.converted == 2  # on enlarging, then the new frame
    wall.restore()  # back on the grid, every tile catches up with its newest frame
    assert [wall.tile(c.camera_id).counters.converted for c in cameras] == [2, 2, 2, 2]
    wall.hide()
    for camera in cameras:
        camera.ring.publish(sub_stream(vtest[38]), ts=2.0)
    wall.refresh_now()
    assert [wall.tile(c.camera_id).counters.converted for c in cameras] == [2, 2, 2, 2]


def test_tiles_scrolled_out_of_view_are_not_converted(widgets, rings, vtest) -> None:
    cameras, last = four_cameras(rings, vtest)
    wall = VideoWall(cameras, clock=FakeClock(last))
    wall.resize(960, 540)  # 2x2 tiles of 480x270
    area = widgets(QScrollArea())
    area.setWidget(wall)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.resize(400, 200)  # only the top-left tile is in view
    area.show()
    wall.refresh_now()
    assert [wall.tile(c.camera_id).counters.converted for c in cameras] == [1, 0, 0, 0]
    area.verticalScrollBar().setValue(area.verticalScrollBar().maximum())
    area.horizontalScrollBar().setValue(area.horizontalScrollBar().maximum())
    wall.refresh_now()
    assert [wall.tile(c.camera_id).counters.converted for c in cameras] == [1, 0, 0, 1]
    assert wall.stats().tiles_skipped_hidden == 6


def test_the_display_timer_paints_new_frames_and_stops_on_close(
    qtbot, widgets, rings, vtest
) -> None:
    ring = rings("cam-1")
    wall = widgets(VideoWall([WallCamera("cam-1", ring)], display_fps=30))
    wall.resize(320, 180)
    assert not wall.is_running
    wall.show()
    assert wall.is_running
    ring.publish(sub_stream(vtest[0]), ts=0.0)
    tile = wall.tile("cam-1")
    qtbot.waitUntil(lambda: tile.counters.painted >= 1)
    ring.publish(sub_stream(vtest[1]), ts=0.1)
    qtbot.waitUntil(lambda: tile.counters.painted >= 2)
    wall.close()
    assert not wall.is_running


def test_the_timer_walks_a_big_wall_in_slices_and_reaches_every_tile(
    qtbot, widgets, rings, vtest
) -> None:
    cameras = [WallCamera(f"cam-{i:02d}", rings(f"cam-{i:02d}")) for i in range(40)]
    frame = sub_stream(vtest[0])
    for camera in cameras:
        camera.ring.publish(frame, ts=0.0)
    wall = widgets(VideoWall(cameras, display_fps=20))
    wall.resize(800, 450)
    wall.show()
    assert wall.grid_shape == (7, 6)
    qtbot.waitUntil(lambda: all(wall.tile(c.camera_id).counters.painted >= 1 for c in cameras))
    converted = [wall.tile(c.camera_id).counters.converted for c in cameras]
    assert converted == [1] * 40  # one frame each: converted once, however many ticks ran


# ---------------------------------------------------------------------------------------------
# the bridge
# ---------------------------------------------------------------------------------------------


def test_bridge_delivers_callbacks_from_another_thread_on_the_gui_thread(qtbot, rings) -> None:
    bridge = PipelineBridge()
    gui = QThread.currentThread()
    seen: list[tuple[str, object, bool]] = []

    def listener(kind: str) -> Callable[[object], None]:
        return lambda payload: seen.append((kind, payload, QThread.currentThread() is gui))

    bridge.tracks_arrived.connect(listener("tracks"))
    bridge.status_changed.connect(listener("status"))
    bridge.pipeline_event.connect(listener("event"))
    bridge.alarm_changed.connect(listener("alarm"))

    refs = [FrameRef("cam-1", i % 4, i, i / 10, 1000.0 + i) for i in range(1, 6)]
    tracked = [TrackedFrame(r, Detections.empty(), Detections.empty(), 0.01) for r in refs]
    change = StatusChange("cam-1", CameraStatus.OFFLINE, "open failed", 1000.0)
    event = PipelineEvent("capture-0", "died", "exit code -9", 1000.0)
    at = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
    alarm = Alarm(
        17, "cam-1", "proximity", "milkmaid", Severity.HIGH, AlarmState.RAISED, at, at, at,
        (4,), 1.0, 1.0,
    )  # fmt: skip
    callers: list[int] = []

    def pipeline_thread() -> None:
        callers.append(threading.get_ident())
        for frame in tracked:  # five frames of one camera before the GUI thread looks
            bridge.on_tracks(frame)
        bridge.on_status(change)
        bridge.on_event(event)
        bridge.on_alarm(alarm)

    thread = threading.Thread(target=pipeline_thread, name="fake-dispatch")
    thread.start()
    thread.join()
    assert seen == []  # nothing runs in the calling thread
    assert callers
    assert callers[0] != threading.get_ident()
    qtbot.waitUntil(lambda: len(seen) == 4)
    kinds = {kind: (payload, on_gui) for kind, payload, on_gui in seen}
    assert kinds["tracks"] == (tracked[-1], True)  # the newest wins, stale ones are dropped
    assert kinds["status"] == (change, True)
    assert kinds["event"] == (event, True)
    assert kinds["alarm"] == (alarm, True)
    stats = bridge.stats()
    assert (stats.tracks_received, stats.tracks_delivered, stats.tracks_superseded) == (5, 1, 4)

    bridge.close()
    late = threading.Thread(target=lambda: bridge.on_status(change), name="late-dispatch")
    late.start()
    late.join()
    QApplication.processEvents()
    assert len(seen) == 4
    assert bridge.stats().dropped_after_close == 1
    bridge.deleteLater()


def test_bridge_drives_the_wall(qtbot, widgets, rings, vtest) -> None:
    ring = rings("cam-1")
    ref = ring.publish(sub_stream(vtest[0]), ts=0.0)
    clock = FakeClock(ref.captured_at)
    wall = make_wall(widgets, [WallCamera("cam-1", ring)], clock)
    bridge = PipelineBridge()
    wall.listen_to(bridge)
    box = [[50.0, 50.0, 150.0, 300.0]]
    frame = TrackedFrame(ref, people(box, [4]), people(box, [-1]), 0.02)
    thread = threading.Thread(target=lambda: bridge.on_tracks(frame), name="fake-dispatch")
    thread.start()
    thread.join()
    tile = wall.tile("cam-1")
    qtbot.waitUntil(lambda: tile.tracks is frame)
    wall.refresh_now()
    wall.grab()
    assert [label for _, label in tile.drawn_boxes] == ["#4"]

    change = StatusChange("cam-1", CameraStatus.OFFLINE, "capture process exited", ref.ts)
    thread = threading.Thread(target=lambda: bridge.on_status(change), name="fake-dispatch")
    thread.start()
    thread.join()
    qtbot.waitUntil(lambda: tile.status[0] is CameraStatus.OFFLINE)
    wall.refresh_now()
    assert tile.caption_lines()[1] == "capture process exited"
    bridge.close()
    bridge.deleteLater()


def test_bridge_must_be_made_on_the_gui_thread(qapp) -> None:
    errors: list[BaseException] = []

    def make() -> None:
        try:
            PipelineBridge()
        except RuntimeError as exc:
            errors.append(exc)

    thread = threading.Thread(target=make, name="not-gui")
    thread.start()
    thread.join()
    assert errors
    assert "GUI thread" in str(errors[0])
