"""The video wall: dozens of live camera tiles painted straight from the shared-memory rings.

Pixels never travel through signals. One display timer for the whole wall (`display_fps`, 10 by
default) asks each *visible* tile to look at its camera's ring once per display frame (a big wall
is walked in up to four slices per frame, so 64 conversions never block the GUI thread in one
go); a tile converts a frame only when
the ring's newest sequence number changed since the last one it converted: it reads the pixels in
place (a zero-copy view of the ring slot), scales them to the tile's size in device pixels (the
one copy, a tile-sized image in the painter's native format), checks that the writer did not
overwrite the slot meanwhile, and schedules a repaint. A paint is a plain blit plus the overlay.

Each tile shows the camera's name and state as a word *and* a shape (filled dot: live, hollow
ring: connecting, two bars: stalled, cross: offline), and the people tracked in the latest
`TrackedFrame` as boxes with their track ids. A camera that is offline, stalled (by the pipeline
or because its ring stopped moving), or has not sent a frame yet shows a hatched tile with the
reason and the time since its last frame: never a black or frozen image.

Double-click or Enter enlarges a camera (emits `enlarge_requested` and switches the wall to the
enlarged view, reading the camera's main stream ring when `main_streams` provides one); Esc or a
double-click goes back. Arrow keys, Home and End move between tiles.

    wall = VideoWall(cameras_from_pipeline(pipeline), main_streams=pipeline, display_fps=10)
    wall.listen_to(bridge)
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from itertools import pairwise
from typing import Protocol

import cv2
import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, QRectF, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import (
    QBrush,
    QCloseEvent,
    QColor,
    QFocusEvent,
    QFont,
    QFontMetrics,
    QHideEvent,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QResizeEvent,
    QShowEvent,
)
from PySide6.QtWidgets import QWidget

from console.alarms import Alarm
from console.severity import Severity
from console.store import AlarmState
from inference.frame_ring import FrameRef, FrameRing
from inference.pipeline import TrackedFrame, VisionPipeline
from inference.sources import CameraStatus, StatusChange
from ui.alarm_words import severity_role
from ui.bridge import PipelineBridge
from ui.display_budget import checked_factor
from ui.theme import PALETTE

log = logging.getLogger(__name__)

DEFAULT_DISPLAY_FPS = 10.0
DEFAULT_ENLARGED_FPS = 25.0
DEFAULT_STALE_AFTER_S = 3.0  # a "live" ring that has not moved for this long is shown stalled
DEFAULT_TRACK_HOLD_S = 1.5  # boxes older than this (relative to the frame shown) are not drawn
TILE_SPACING_PX = 3
TILES_PER_TICK = 16  # tiles refreshed per timer tick (the wall is refreshed in slices)
MAX_TICK_PHASES = 4
MAX_BOXES_DRAWN = 64


# ---------------------------------------------------------------------------------------------
# values
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WallCamera:
    """One camera on the wall: its id, the ring of its sub-stream, its shown name and status."""

    camera_id: str
    ring: FrameRing | None
    name: str = ""
    status: CameraStatus = CameraStatus.CONNECTING
    reason: str = ""

    @property
    def title(self) -> str:
        return self.name or self.camera_id


class MainStreams(Protocol):
    """What the wall needs to show an enlarged camera at full resolution (VisionPipeline has it)."""

    def open_main_stream(self, camera_id: str) -> FrameRing | None: ...

    def close_main_stream(self, camera_id: str) -> None: ...


def cameras_from_pipeline(
    pipeline: VisionPipeline, names: Mapping[str, str] | None = None
) -> list[WallCamera]:
    """Wall cameras for every camera of a started pipeline, with its rings and current status."""
    cameras: list[WallCamera] = []
    for camera_id in pipeline.cameras:
        status, reason, _ = pipeline.status(camera_id)
        cameras.append(
            WallCamera(
                camera_id,
                pipeline.rings.get(camera_id),
                (names or {}).get(camera_id, ""),
                status,
                reason,
            )
        )
    return cameras


@dataclass(frozen=True, slots=True)
class TileState:
    """What a tile shows: an image (live) or a placeholder with a reason."""

    status: CameraStatus
    reason: str = ""
    since_last_frame_s: int | None = None  # whole seconds, None when no frame ever arrived
    shows_image: bool = False

    @property
    def word(self) -> str:
        return _STATE_WORDS[self.status]


_STATE_WORDS = {
    CameraStatus.LIVE: "live",
    CameraStatus.CONNECTING: "connecting",
    CameraStatus.STALLED: "STALLED",
    CameraStatus.OFFLINE: "OFFLINE",
}
_STATE_COLOR_ROLE = {
    CameraStatus.LIVE: "live",
    CameraStatus.CONNECTING: "connecting",
    CameraStatus.STALLED: "stalled",
    CameraStatus.OFFLINE: "offline",
}


@dataclass(slots=True)
class TileCounters:
    """Per-tile figures for the benchmark and the health panel."""

    converted: int = 0  # frames read from the ring and scaled to the tile
    painted: int = 0  # distinct frames that reached the screen
    paint_events: int = 0
    torn: int = 0  # conversions dropped: the writer overwrote the slot meanwhile
    convert_s: float = 0.0
    paint_s: float = 0.0

    def merged(self, other: TileCounters) -> TileCounters:
        return TileCounters(
            self.converted + other.converted,
            self.painted + other.painted,
            self.paint_events + other.paint_events,
            self.torn + other.torn,
            self.convert_s + other.convert_s,
            self.paint_s + other.paint_s,
        )


@dataclass(frozen=True, slots=True)
class WallStats:
    display_fps: float
    ticks: int
    tick_s: float  # time spent in display ticks (reading rings, converting)
    tiles_skipped_hidden: int  # tile checks skipped because the tile was not visible
    per_camera: dict[str, TileCounters] = field(default_factory=dict)

    @property
    def total(self) -> TileCounters:
        out = TileCounters()
        for counters in self.per_camera.values():
            out = out.merged(counters)
        return out


def grid_shape(
    count: int, width: float, height: float, aspect: float = 16 / 9, spacing: float = 0
) -> tuple[int, int]:
    """(columns, rows) that give `count` tiles of `aspect` the largest picture in the area."""
    if count <= 0:
        return 0, 0
    if width <= 0 or height <= 0:
        width, height = 16.0, 9.0
    best: tuple[float, int, int, int] | None = None  # (-picture area, empty, -cols, rows)
    for cols in range(1, count + 1):
        rows = math.ceil(count / cols)
        if cols > 1 and math.ceil(count / (cols - 1)) == rows:
            continue  # same rows with fewer columns: never better
        cell_w = (width - spacing * (cols - 1)) / cols
        cell_h = (height - spacing * (rows - 1)) / rows
        if cell_w <= 0 or cell_h <= 0:
            continue
        picture_w = min(cell_w, cell_h * aspect)
        key = (-round(picture_w * picture_w / aspect, 3), cols * rows - count, -cols, rows)
        if best is None or key < best:
            best = key
    if best is None:
        cols = math.ceil(math.sqrt(count))
        return cols, math.ceil(count / cols)
    return -best[2], best[3]


def fit_rect(frame_w: int, frame_h: int, area: QRect) -> QRect:
    """The largest rectangle of the frame's aspect centred in `area` (integer pixels)."""
    if frame_w <= 0 or frame_h <= 0 or area.width() <= 0 or area.height() <= 0:
        return QRect(area)
    scale = min(area.width() / frame_w, area.height() / frame_h)
    w = max(1, round(frame_w * scale))
    h = max(1, round(frame_h * scale))
    return QRect(area.x() + (area.width() - w) // 2, area.y() + (area.height() - h) // 2, w, h)


def format_age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    return f"{seconds // 86400} d {seconds % 86400 // 3600} h"


# ---------------------------------------------------------------------------------------------
# one tile
# ---------------------------------------------------------------------------------------------


class CameraTile(QWidget):
    """One camera: its newest frame (painted from the ring), name, state and tracked people."""

    activated = Signal(str)  # double-click or Enter: the camera id
    navigate_requested = Signal(str, int, int)  # camera id, columns, rows (arrows, Home/End)
    dismissed = Signal(str)  # Esc

    def __init__(
        self,
        camera: WallCamera,
        *,
        clock: Callable[[], float] = time.time,
        stale_after_s: float = DEFAULT_STALE_AFTER_S,
        track_hold_s: float = DEFAULT_TRACK_HOLD_S,
        enlarged: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.camera = camera
        self.enlarged = enlarged
        self.counters = TileCounters()
        self._clock = clock
        self._stale_after_s = stale_after_s
        self._track_hold_s = track_hold_s
        self._status = camera.status
        self._reason = camera.reason
        self._main_ring: FrameRing | None = None
        self._state = TileState(CameraStatus.CONNECTING)
        self._showing_main = False
        # the converted picture: a tile-sized RGB32 image over a buffer this tile owns
        self._image: QImage | None = None
        self._image_buffer: np.ndarray | None = None
        self._image_ref: FrameRef | None = None
        self._image_from_main = False
        self._image_rect = QRect()
        self._frame_size = (0, 0)  # (w, h) of the frame shown
        self._detect_size = (0, 0)  # (w, h) of the sub-stream frames the boxes refer to
        self._painted_seq = -1
        self._needs_conversion = False  # the tile's size or pixel ratio changed
        self._tracks: TrackedFrame | None = None
        self._tracks_dirty = False
        self._caption: QImage | None = None  # the name/state strip, rendered when it changes
        self._caption_key: tuple[object, ...] = ()
        self.drawn_boxes: list[tuple[QRectF, str]] = []  # what the last paint drew (for tests)
        self.drawn_track_ids: list[int] = []  # the tracks boxed by the last paint
        self._alarm_people: dict[int, str] = {}  # track id -> severity of its open alarm
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setMinimumSize(QSize(48, 27))
        self.setAccessibleName(f"camera {camera.title}")
        self._describe()

    # -- what the wall tells it --------------------------------------------------------------

    @property
    def camera_id(self) -> str:
        return self.camera.camera_id

    @property
    def state(self) -> TileState:
        return self._state

    @property
    def status(self) -> tuple[CameraStatus, str]:
        """The status last reported by the pipeline (the shown state may add a stall)."""
        return self._status, self._reason

    @property
    def tracks(self) -> TrackedFrame | None:
        return self._tracks

    @property
    def showing_main_stream(self) -> bool:
        return self._image_from_main and self._image is not None

    def set_status(self, status: CameraStatus, reason: str) -> None:
        self._status, self._reason = status, reason
        if status is not CameraStatus.LIVE:
            self._tracks = None
        self._tracks_dirty = True  # repaint at the next tick with the new state

    def set_tracks(self, frame: TrackedFrame) -> None:
        self._tracks = frame
        self._tracks_dirty = True

    def set_alarm_people(self, people: Mapping[int, str]) -> None:
        """The people (track ids on this camera) whose alarm is open, with its severity: their
        boxes are drawn in the alarm's colour, thicker, and say ALARM."""
        people = dict(people)
        if people != self._alarm_people:
            self._alarm_people = people
            self._tracks_dirty = True

    @property
    def alarm_people(self) -> dict[int, str]:
        return dict(self._alarm_people)

    def _alarm_box_label(self, track_id: int) -> str:
        """The label of an alarm's person (the focus wall adds the distance)."""
        return f"#{track_id} · ALARM"

    def set_main_ring(self, ring: FrameRing | None) -> None:
        self._main_ring = ring

    @property
    def main_ring(self) -> FrameRing | None:
        return self._main_ring

    def image_rect(self) -> QRect:
        """Where the picture is painted, in this tile's coordinates (empty before a frame)."""
        return QRect(self._image_rect) if self._image is not None else QRect()

    def caption_lines(self) -> list[str]:
        """The text the tile shows: name and state word, then reason and age when not live."""
        state = self._state
        lines = [f"{self.camera.title} · {state.word}"]
        if not state.shows_image or self._image is None:
            if state.reason:
                lines.append(state.reason)
            lines.append(self._age_line(state))
        return lines

    # -- the display tick --------------------------------------------------------------------

    def refresh(self, now: float) -> bool:
        """Look at the ring: convert a new frame if there is one, repaint if anything changed."""
        ring, ref, from_main = self._newest(now)
        state = self._derive_state(now, ref)
        dirty = self._tracks_dirty
        self._tracks_dirty = False
        if state.shows_image and ring is not None and ref is not None:
            if (
                self._needs_conversion
                or self._image is None
                or self._image_ref is None
                or ref.seq != self._image_ref.seq
                or from_main != self._image_from_main
            ):
                dirty |= self._convert(ring, ref, from_main)
            if from_main:
                self._detect_size = self._sub_frame_size() or self._detect_size
        if state != self._state:
            self._state = state
            self._describe()
            dirty = True
        if dirty:
            self.update()
        return dirty

    def _newest(self, now: float) -> tuple[FrameRing | None, FrameRef | None, bool]:
        main = self._main_ring
        if main is not None:
            ref = main.latest()
            if ref is not None and now - ref.captured_at <= self._stale_after_s:
                return main, ref, True
        ring = self.camera.ring
        return ring, (ring.latest() if ring is not None else None), False

    def _derive_state(self, now: float, ref: FrameRef | None) -> TileState:
        age = None if ref is None else int(max(0.0, now - ref.captured_at))
        if self._status in (CameraStatus.OFFLINE, CameraStatus.STALLED):
            return TileState(self._status, self._reason, age)
        if ref is None:
            reason = self._reason if self._status is CameraStatus.CONNECTING else ""
            return TileState(CameraStatus.CONNECTING, reason or "waiting for the first frame")
        if now - ref.captured_at > self._stale_after_s:
            return TileState(CameraStatus.STALLED, "the picture stopped changing", age)
        return TileState(CameraStatus.LIVE, shows_image=True)

    def _convert(self, ring: FrameRing, ref: FrameRef, from_main: bool) -> bool:
        """Scale the frame in the ring slot to the tile; False when the slot was overwritten."""
        started = time.perf_counter()
        try:
            view = ring.view(ref)
            if view is None:
                self.counters.torn += 1
                return False
            frame_h, frame_w = view.shape[:2]
            target = fit_rect(frame_w, frame_h, self._picture_area())
            dpr = self.devicePixelRatioF()
            size = (max(1, round(target.width() * dpr)), max(1, round(target.height() * dpr)))
            # The only copy: the ring slot is read in place and written tile-sized.
            # (INTER_LINEAR: an order of magnitude cheaper than INTER_AREA at wall sizes.)
            scaled = cv2.resize(view, size, interpolation=cv2.INTER_LINEAR)
            del view  # never hold a view of the ring: the slot is reused, and close() needs it
            if not ring.still_valid(ref):
                self.counters.torn += 1
                return False
            buffer = _to_rgb32(scaled)
            image = QImage(buffer.data, size[0], size[1], size[0] * 4, QImage.Format.Format_RGB32)
            image.setDevicePixelRatio(dpr)
            self._image, self._image_buffer, self._image_rect = image, buffer, target
            self._image_ref, self._image_from_main = ref, from_main
            self._frame_size = (frame_w, frame_h)
            self._needs_conversion = False
            if not from_main:
                self._detect_size = (frame_w, frame_h)
            self.counters.converted += 1
            return True
        finally:
            self.counters.convert_s += time.perf_counter() - started

    def _sub_frame_size(self) -> tuple[int, int] | None:
        ring = self.camera.ring
        ref = ring.latest() if ring is not None else None
        view = ring.view(ref) if ring is not None and ref is not None else None
        if view is None:
            return None
        size = (int(view.shape[1]), int(view.shape[0]))
        del view
        return size

    def _picture_area(self) -> QRect:
        return self.rect().adjusted(2, 2, -2, -2)

    def _describe(self) -> None:
        state = self._state
        text = f"{state.word}" + (f": {state.reason}" if state.reason else "")
        self.setAccessibleDescription(text)
        self.setToolTip(f"{self.camera.title} ({self.camera_id}): {text}")

    def _age_line(self, state: TileState) -> str:
        if state.since_last_frame_s is None:
            return "no frame received yet"
        return f"last frame {format_age(state.since_last_frame_s)} ago"

    # -- painting ----------------------------------------------------------------------------

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._image_rect = (
            fit_rect(*self._frame_size, self._picture_area())
            if self._frame_size[0]
            else QRect(self._picture_area())
        )
        self._needs_conversion = True  # reconvert at the new size at the next tick
        self._tracks_dirty = True

    def paintEvent(self, event: QPaintEvent) -> None:
        started = time.perf_counter()
        painter = QPainter(self)
        try:
            rect = self.rect()
            state = self._state
            painter.fillRect(rect, PALETTE.qcolor("wall"))
            image = self._image
            self.drawn_boxes = []
            self.drawn_track_ids = []
            if state.shows_image and image is not None:
                painter.drawImage(self._image_rect.topLeft(), image)
                self._paint_boxes(painter)
                ref = self._image_ref
                if ref is not None and ref.seq != self._painted_seq:
                    self._painted_seq = ref.seq
                    self.counters.painted += 1
            else:
                self._paint_placeholder(painter, rect, state)
            self._paint_caption(painter, rect, state)
            if self.hasFocus():
                self._paint_focus(painter, rect)
        finally:
            painter.end()
            self.counters.paint_events += 1
            self.counters.paint_s += time.perf_counter() - started

    def _paint_boxes(self, painter: QPainter) -> None:
        self.drawn_track_ids = []
        tracks, shown = self._tracks, self._image_ref
        if tracks is None or shown is None or len(tracks.people) == 0:
            return
        if shown.captured_at - tracks.ref.captured_at > self._track_hold_s:
            return  # boxes of a frame long gone: better none than wrong ones
        det_w, det_h = self._detect_size
        if det_w <= 0 or det_h <= 0:
            return
        target = self._image_rect
        sx, sy = target.width() / det_w, target.height() / det_h
        people = tracks.people
        width = 2 if not self.enlarged else 3
        painter.save()
        painter.setClipRect(target)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        font = QFont(self.font())
        font.setPointSizeF(max(6.0, font.pointSizeF() * (0.8 if not self.enlarged else 1.0)))
        painter.setFont(font)
        metrics = QFontMetrics(font)
        count = min(len(people), MAX_BOXES_DRAWN)
        # the people of an open alarm last, so that their boxes are on top
        order = sorted(range(count), key=lambda i: int(people.track_id[i]) in self._alarm_people)
        for i in order:
            x1, y1, x2, y2 = (float(v) for v in people.xyxy[i])
            box = QRectF(target.x() + x1 * sx, target.y() + y1 * sy, (x2 - x1) * sx, (y2 - y1) * sy)
            track_id = int(people.track_id[i])
            severity = self._alarm_people.get(track_id)
            if severity is None:
                color, pen_w = PALETTE.qcolor("person_box"), width
                label = f"#{track_id}" if track_id >= 0 else "?"
            else:  # the person who raised the alarm: its colour, thicker, in words
                color = PALETTE.qcolor(severity_role(severity))
                pen_w = width + 2
                label = self._alarm_box_label(track_id)
            pen = QPen(color, pen_w)
            pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
            painter.setPen(pen)
            painter.drawRect(box)
            self.drawn_boxes.append((box, label))
            self.drawn_track_ids.append(track_id)
            text_w, text_h = metrics.horizontalAdvance(label) + 6, metrics.height()
            top = box.top() - text_h if box.top() - text_h >= target.top() else box.top()
            label_rect = QRectF(box.left(), top, text_w, text_h)
            painter.fillRect(label_rect, color)
            painter.setPen(PALETTE.qcolor("wall"))
            painter.drawText(label_rect, Qt.AlignmentFlag.AlignCenter, label)
        painter.restore()

    def _paint_placeholder(self, painter: QPainter, rect: QRect, state: TileState) -> None:
        """A hatched tile with a big state mark, the reason and the time since the last frame."""
        area = rect.adjusted(1, 1, -1, -1)
        painter.fillRect(area, PALETTE.qcolor("surface"))
        painter.fillRect(
            area, QBrush(PALETTE.qcolor("border"), Qt.BrushStyle.BDiagPattern)
        )  # texture: tells it apart from a dark picture without relying on colour
        color = PALETTE.qcolor(_STATE_COLOR_ROLE[state.status])
        metrics = QFontMetrics(self.font())
        caption_h = metrics.height() + 6
        body = area.adjusted(6, caption_h, -6, -4)
        mark = max(10, min(body.height() // 3, body.width() // 5, 48))
        lines = [state.word]
        if state.reason:
            lines.append(state.reason)
        if self._image is None or not state.shows_image:
            lines.append(self._age_line(state))
        text_h = metrics.height() * len(lines)
        top = body.y() + max(0, (body.height() - mark - 4 - text_h) // 2)
        mark_rect = QRect(body.center().x() - mark // 2, top, mark, mark)
        paint_state_mark(painter, mark_rect, state.status, color)
        painter.setPen(PALETTE.qcolor("text"))
        y = mark_rect.bottom() + 4
        for i, line in enumerate(lines):
            font = QFont(self.font())
            font.setBold(i == 0)
            painter.setFont(font)
            painter.setPen(color if i == 0 else PALETTE.qcolor("text" if i == 1 else "muted"))
            text = QFontMetrics(font).elidedText(line, Qt.TextElideMode.ElideMiddle, body.width())
            painter.drawText(
                QRect(body.x(), y, body.width(), metrics.height()),
                Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignVCenter,
                text,
            )
            y += metrics.height()
            if y > body.bottom():
                break

    def _paint_caption(self, painter: QPainter, rect: QRect, state: TileState) -> None:
        """Top strip: state mark + name on the left, the state word on the right.

        Text layout is the dearest part of a paint, and the strip only changes with the state,
        the name or the size: it is drawn once into a translucent image and blitted after."""
        word = state.word
        if self.enlarged and self.showing_main_stream:
            word = f"{word} · main stream"
        dpr = self.devicePixelRatioF()
        key = (state.status, word, self.camera.title, rect.width(), dpr, self.font().key())
        if key != self._caption_key or self._caption is None:
            self._caption = self._render_caption(state.status, word, rect.width() - 4, dpr)
            self._caption_key = key
        painter.drawImage(QPoint(rect.x() + 2, rect.y() + 2), self._caption)

    def _render_caption(self, status: CameraStatus, word: str, width: int, dpr: float) -> QImage:
        font = QFont(self.font())
        if self.enlarged:
            font.setPointSizeF(font.pointSizeF() * 1.2)
        metrics = QFontMetrics(font)
        height = metrics.height() + 4
        width = max(1, width)
        image = QImage(
            max(1, round(width * dpr)),
            max(1, round(height * dpr)),
            QImage.Format.Format_ARGB32_Premultiplied,
        )
        image.setDevicePixelRatio(dpr)
        image.fill(PALETTE.qcolor("label_backdrop", 170))
        painter = QPainter(image)
        try:
            strip = QRect(0, 0, width, height)
            color = PALETTE.qcolor(_STATE_COLOR_ROLE[status])
            mark = max(6, int(metrics.height() * 0.6))
            mark_rect = QRect(4, strip.center().y() - mark // 2, mark, mark)
            paint_state_mark(painter, mark_rect, status, color)
            painter.setFont(font)
            word_w = metrics.horizontalAdvance(word) + 6
            name_x = mark_rect.right() + 6
            name_w = max(0, strip.right() - word_w - name_x - 4)
            painter.setPen(PALETTE.qcolor("text"))
            name = metrics.elidedText(self.camera.title, Qt.TextElideMode.ElideRight, name_w)
            painter.drawText(QRect(name_x, 0, name_w, height), Qt.AlignmentFlag.AlignVCenter, name)
            painter.setPen(color if status is not CameraStatus.LIVE else PALETTE.qcolor("muted"))
            painter.drawText(
                QRect(strip.right() - word_w, 0, word_w - 2, height),
                Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                word,
            )
        finally:
            painter.end()
        return image

    def _paint_focus(self, painter: QPainter, rect: QRect) -> None:
        pen = QPen(PALETTE.qcolor("focus"), 3)  # thick and inset: a shape cue, not only a hue
        pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(rect.adjusted(1, 1, -2, -2))

    # -- input -------------------------------------------------------------------------------

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.activated.emit(self.camera_id)
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = Qt.Key(event.key())
        moves = {
            Qt.Key.Key_Left: (-1, 0),
            Qt.Key.Key_Right: (1, 0),
            Qt.Key.Key_Up: (0, -1),
            Qt.Key.Key_Down: (0, 1),
            Qt.Key.Key_Home: (-(10**6), 0),
            Qt.Key.Key_End: (10**6, 0),
        }
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.activated.emit(self.camera_id)
        elif key == Qt.Key.Key_Escape:
            self.dismissed.emit(self.camera_id)
        elif key in moves:
            self.navigate_requested.emit(self.camera_id, *moves[key])
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def focusInEvent(self, event: QFocusEvent) -> None:
        super().focusInEvent(event)
        self.update()

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        self.update()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.DevicePixelRatioChange:
            self._needs_conversion = True  # moved to a screen with another scale factor
            self._tracks_dirty = True


def _to_rgb32(scaled: np.ndarray) -> np.ndarray:
    """BGR / gray / BGRA pixels as a contiguous BGRA buffer: QImage.Format_RGB32 in memory."""
    if scaled.ndim == 2:
        return cv2.cvtColor(scaled, cv2.COLOR_GRAY2BGRA)
    channels = scaled.shape[2]
    if channels == 3:
        return cv2.cvtColor(scaled, cv2.COLOR_BGR2BGRA)
    if channels == 4:
        return np.ascontiguousarray(scaled)
    return cv2.cvtColor(np.ascontiguousarray(scaled[:, :, 0]), cv2.COLOR_GRAY2BGRA)


def paint_state_mark(painter: QPainter, rect: QRect, status: CameraStatus, color: QColor) -> None:
    """The state as a shape, so it reads without colour: dot, ring, two bars, cross."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    r = QRectF(rect)
    width = max(1.5, r.width() / 6)
    if status is CameraStatus.LIVE:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        painter.drawEllipse(r.adjusted(1, 1, -1, -1))
    elif status is CameraStatus.CONNECTING:
        painter.setPen(QPen(color, width))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawEllipse(r.adjusted(width, width, -width, -width))
    elif status is CameraStatus.STALLED:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        bar = r.width() / 3
        painter.drawRect(QRectF(r.x(), r.y(), bar, r.height()))
        painter.drawRect(QRectF(r.right() - bar, r.y(), bar, r.height()))
    else:
        pen = QPen(color, width)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        painter.setPen(pen)
        inset = width / 2
        painter.drawLine(QPointF(r.left() + inset, r.top() + inset), r.bottomRight())
        painter.drawLine(QPointF(r.right() - inset, r.top() + inset), r.bottomLeft())
    painter.restore()


# ---------------------------------------------------------------------------------------------
# the wall
# ---------------------------------------------------------------------------------------------


class VideoWall(QWidget):
    """Camera tiles in an automatic grid, painted from the rings by one display timer."""

    enlarge_requested = Signal(str)  # the operator asked to enlarge this camera
    enlarged_changed = Signal(str)  # the enlarged camera, "" when back to the grid

    def __init__(
        self,
        cameras: Iterable[WallCamera] = (),
        *,
        display_fps: float = DEFAULT_DISPLAY_FPS,
        enlarged_fps: float = DEFAULT_ENLARGED_FPS,
        main_streams: MainStreams | None = None,
        stale_after_s: float = DEFAULT_STALE_AFTER_S,
        track_hold_s: float = DEFAULT_TRACK_HOLD_S,
        tile_aspect: float = 16 / 9,
        clock: Callable[[], float] = time.time,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._display_fps = _checked_fps(display_fps)
        self._enlarged_fps = _checked_fps(enlarged_fps)
        self._rate_factor = 1.0  # ui/display_budget.py
        self._main_streams = main_streams
        self._stale_after_s = stale_after_s
        self._track_hold_s = track_hold_s
        self._tile_aspect = tile_aspect
        self._clock = clock
        self._tiles: dict[str, CameraTile] = {}
        self._order: list[str] = []
        self._shape = (0, 0)
        self._big: CameraTile | None = None
        self._retired = TileCounters()
        self._retired_per_camera: dict[str, TileCounters] = {}
        self._ticks = 0
        self._tick_s = 0.0
        self._skipped_hidden = 0
        self._failing: set[str] = set()  # cameras whose refresh raised (logged once)
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._phases = 1
        self._phase = 0
        self._timer.timeout.connect(self._tick)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setAccessibleName("video wall")
        self.set_cameras(cameras)

    # -- cameras -----------------------------------------------------------------------------

    def set_cameras(self, cameras: Iterable[WallCamera]) -> None:
        """Show these cameras (in this order); tiles of cameras no longer listed are removed."""
        cameras = list(cameras)
        ids = [c.camera_id for c in cameras]
        if len(set(ids)) != len(ids):
            raise ValueError(f"camera ids on the wall must be unique (got {ids})")
        if self._big is not None and self._big.camera_id not in ids:
            self.restore()
        for camera_id in list(self._tiles):
            if camera_id not in ids:
                self._retire(self._tiles.pop(camera_id))
        for camera in cameras:
            tile = self._tiles.get(camera.camera_id)
            if tile is not None and tile.camera == camera:
                continue
            if tile is not None:
                self._retire(tile)
            tile = self._make_tile(camera, enlarged=False)
            tile.setVisible(self._big is None)
            self._tiles[camera.camera_id] = tile
        self._order = ids
        for a, b in pairwise(ids):
            QWidget.setTabOrder(self._tiles[a], self._tiles[b])
        self._timer.setInterval(self._interval_ms())
        self._layout()

    @property
    def camera_ids(self) -> list[str]:
        return list(self._order)

    def tile(self, camera_id: str) -> CameraTile:
        return self._tiles[camera_id]

    @property
    def enlarged_tile(self) -> CameraTile | None:
        return self._big

    @property
    def grid_shape(self) -> tuple[int, int]:
        return self._shape

    # -- what the pipeline says (connect through the bridge) ---------------------------------

    def listen_to(self, bridge: PipelineBridge) -> None:
        bridge.tracks_arrived.connect(self.show_tracks)
        bridge.status_changed.connect(self.show_status)

    @Slot(object)
    def show_tracks(self, frame: TrackedFrame) -> None:
        camera_id = frame.ref.camera_id
        tile = self._tiles.get(camera_id)
        if tile is None:
            return
        tile.set_tracks(frame)
        if self._big is not None and self._big.camera_id == camera_id:
            self._big.set_tracks(frame)

    @Slot(object)
    def show_status(self, change: StatusChange) -> None:
        tile = self._tiles.get(change.camera_id)
        if tile is None:
            log.debug("status for camera %s, not on the wall", change.camera_id)
            return
        tile.set_status(change.status, change.reason)
        if self._big is not None and self._big.camera_id == change.camera_id:
            self._big.set_status(change.status, change.reason)

    def update_alarms(self, alarms: Iterable[Alarm]) -> None:
        """The open alarms: on each camera, the people they are about are boxed as an alarm's
        (in its colour, thicker, with the word ALARM)."""
        people: dict[str, dict[int, str]] = {}
        for alarm in alarms:
            if alarm.state == AlarmState.RESOLVED:
                continue
            for occurrence in alarm.occurrences:
                if occurrence.track_id is None:
                    continue
                marks = people.setdefault(occurrence.camera_id, {})
                known = marks.get(occurrence.track_id)
                if known is None or Severity(alarm.severity).rank < Severity(known).rank:
                    marks[occurrence.track_id] = str(alarm.severity)
        for camera_id, tile in self._tiles.items():
            tile.set_alarm_people(people.get(camera_id, {}))
        if self._big is not None:
            self._big.set_alarm_people(people.get(self._big.camera_id, {}))

    # -- display rate ------------------------------------------------------------------------

    @property
    def display_fps(self) -> float:
        """The rate the wall repaints changed tiles at (the enlarged view uses enlarged_fps)."""
        return self._enlarged_fps if self._big is not None else self._display_fps

    def set_display_fps(self, fps: float, enlarged_fps: float | None = None) -> None:
        self._display_fps = _checked_fps(fps)
        if enlarged_fps is not None:
            self._enlarged_fps = _checked_fps(enlarged_fps)
        self._timer.setInterval(self._interval_ms())

    @property
    def rate_factor(self) -> float:
        return self._rate_factor

    def set_rate_factor(self, factor: float) -> None:
        """Redraw at `factor` (0..1] of the display rate: the window's CPU budget
        (ui/display_budget.py) lowers it in an alarm storm on a busy machine."""
        self._rate_factor = checked_factor(factor)
        self._timer.setInterval(self._interval_ms())

    @property
    def is_running(self) -> bool:
        return self._timer.isActive()

    def start(self) -> None:
        """Start the display timer (done on show)."""
        self._timer.start(self._interval_ms())

    def stop(self) -> None:
        """Stop the display timer (done on hide and close)."""
        self._timer.stop()

    @Slot()
    def refresh_now(self) -> None:
        """Every visible tile looks at its ring now and repaints if it changed."""
        self._refresh(0, 1)

    @Slot()
    def _tick(self) -> None:
        # The timer runs `_phases` times per display frame and each tick refreshes one slice of
        # the tiles, so 64 conversions (and their repaint) never block the GUI thread at once;
        # every tile is still refreshed exactly once per display frame.
        self._phase = (self._phase + 1) % self._phases
        self._refresh(self._phase, self._phases)

    def _refresh(self, phase: int, phases: int) -> None:
        if not self.isVisible():
            return
        started = time.perf_counter()
        now = self._clock()
        if self._big is not None:
            tiles = [self._big] if phase == 0 else []
        else:
            # contiguous slices (whole rows): each tick repaints and flushes one band
            size = math.ceil(len(self._order) / phases)
            tiles = [self._tiles[i] for i in self._order[phase * size : (phase + 1) * size]]
        for tile in tiles:
            if tile is None or not tile.isVisible() or tile.visibleRegion().isEmpty():
                self._skipped_hidden += 1
                continue
            try:
                tile.refresh(now)
            except Exception:  # one broken camera must not stop the others from painting
                if tile.camera_id not in self._failing:
                    log.exception("camera %s: display refresh failed", tile.camera_id)
                self._failing.add(tile.camera_id)
            else:
                self._failing.discard(tile.camera_id)
        self._ticks += 1
        self._tick_s += time.perf_counter() - started

    def stats(self) -> WallStats:
        per_camera: dict[str, TileCounters] = {}
        for camera_id in self._order:
            counters = self._tiles[camera_id].counters
            retired = self._retired_per_camera.get(camera_id)
            per_camera[camera_id] = counters.merged(retired) if retired else replace(counters)
        big = self._big
        if big is not None:
            per_camera[big.camera_id] = per_camera[big.camera_id].merged(big.counters)
        return WallStats(
            display_fps=self.display_fps,
            ticks=self._ticks,
            tick_s=self._tick_s,
            tiles_skipped_hidden=self._skipped_hidden,
            per_camera=per_camera,
        )

    def reset_counters(self) -> None:
        for tile in self._tiles.values():
            tile.counters = TileCounters()
        if self._big is not None:
            self._big.counters = TileCounters()
        self._retired_per_camera.clear()
        self._ticks, self._tick_s, self._skipped_hidden = 0, 0.0, 0

    # -- enlarged view -----------------------------------------------------------------------

    @property
    def enlarged_camera(self) -> str | None:
        return self._big.camera_id if self._big is not None else None

    def enlarge(self, camera_id: str) -> None:
        """Show one camera over the whole wall, from its main stream when there is one."""
        tile = self._tiles[camera_id]
        if self._big is not None:
            if self._big.camera_id == camera_id:
                return
            self._drop_big()
        big = self._make_tile(tile.camera, enlarged=True)
        big.set_status(*tile.status)
        big.set_alarm_people(tile.alarm_people)
        if tile.tracks is not None:
            big.set_tracks(tile.tracks)
        if self._main_streams is not None:
            try:
                big.set_main_ring(self._main_streams.open_main_stream(camera_id))
            except Exception:  # the sub-stream still shows: never a blank enlarged view
                log.exception("camera %s: opening the main stream failed", camera_id)
        self._big = big
        for t in self._tiles.values():
            t.hide()
        big.setGeometry(self.rect())
        big.show()
        big.setFocus(Qt.FocusReason.OtherFocusReason)
        self._timer.setInterval(self._interval_ms())
        log.info("camera %s enlarged", camera_id)
        self.enlarged_changed.emit(camera_id)
        self.refresh_now()

    def restore(self) -> None:
        """Back from the enlarged view to the grid (focus on the camera that was enlarged)."""
        if self._big is None:
            return
        camera_id = self._big.camera_id
        self._drop_big()
        for t in self._tiles.values():
            t.show()
        self._layout()
        self._tiles[camera_id].setFocus(Qt.FocusReason.OtherFocusReason)
        self._timer.setInterval(self._interval_ms())
        self.enlarged_changed.emit("")
        self.refresh_now()

    def _drop_big(self) -> None:
        big = self._big
        if big is None:
            return
        self._big = None
        if self._main_streams is not None and big.main_ring is not None:
            try:
                self._main_streams.close_main_stream(big.camera_id)
            except Exception:
                log.exception("camera %s: closing the main stream failed", big.camera_id)
        big.set_main_ring(None)
        self._retire(big)

    # -- internals ---------------------------------------------------------------------------

    def _make_tile(self, camera: WallCamera, *, enlarged: bool) -> CameraTile:
        tile = CameraTile(
            camera,
            clock=self._clock,
            stale_after_s=self._stale_after_s,
            track_hold_s=self._track_hold_s,
            enlarged=enlarged,
            parent=self,
        )
        tile.activated.connect(self._on_activated)
        tile.navigate_requested.connect(self._on_navigate)
        tile.dismissed.connect(self._on_dismissed)
        return tile

    def _retire(self, tile: CameraTile) -> None:
        previous = self._retired_per_camera.get(tile.camera_id)
        self._retired_per_camera[tile.camera_id] = (
            previous.merged(tile.counters) if previous else replace(tile.counters)
        )
        tile.hide()
        tile.deleteLater()

    def _interval_ms(self) -> int:
        tiles = 1 if self._big is not None else len(self._order)
        self._phases = max(1, min(MAX_TICK_PHASES, math.ceil(tiles / TILES_PER_TICK)))
        self._phase = 0
        return max(1, round(1000.0 / (self.display_fps * self._rate_factor * self._phases)))

    def _layout(self) -> None:
        if self._big is not None:
            self._big.setGeometry(self.rect())
            return
        count = len(self._order)
        cols, rows = grid_shape(
            count, self.width(), self.height(), self._tile_aspect, TILE_SPACING_PX
        )
        self._shape = (cols, rows)
        if count == 0:
            return
        cell_w = (self.width() - TILE_SPACING_PX * (cols - 1)) / cols
        cell_h = (self.height() - TILE_SPACING_PX * (rows - 1)) / rows
        for index, camera_id in enumerate(self._order):
            row, col = divmod(index, cols)
            x = round(col * (cell_w + TILE_SPACING_PX))
            y = round(row * (cell_h + TILE_SPACING_PX))
            right = round(col * (cell_w + TILE_SPACING_PX) + cell_w)
            bottom = round(row * (cell_h + TILE_SPACING_PX) + cell_h)
            self._tiles[camera_id].setGeometry(x, y, max(1, right - x), max(1, bottom - y))

    @Slot(str)
    def _on_activated(self, camera_id: str) -> None:
        if self._big is not None and self._big.camera_id == camera_id:
            self.restore()
            return
        self.enlarge_requested.emit(camera_id)
        self.enlarge(camera_id)

    @Slot(str)
    def _on_dismissed(self, camera_id: str) -> None:
        if self._big is not None:
            self.restore()

    @Slot(str, int, int)
    def _on_navigate(self, camera_id: str, dx: int, dy: int) -> None:
        if self._big is not None or camera_id not in self._tiles:
            return
        cols = max(1, self._shape[0])
        index = self._order.index(camera_id)
        target = index + dx + dy * cols
        if dy and not 0 <= target < len(self._order):
            return  # no row there
        target = min(len(self._order) - 1, max(0, target))
        self._tiles[self._order[target]].setFocus(Qt.FocusReason.TabFocusReason)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._layout()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.start()

    def hideEvent(self, event: QHideEvent) -> None:
        self.stop()
        super().hideEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.stop()
        self.restore()  # close the main stream if one was opened
        super().closeEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        try:
            painter.fillRect(self.rect(), PALETTE.qcolor("wall"))
            if not self._order:
                painter.setPen(PALETTE.qcolor("muted"))
                painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No cameras")
        finally:
            painter.end()


def _checked_fps(fps: float) -> float:
    if not 0 < fps <= 120:
        raise ValueError(f"display rate must be in (0, 120] frames per second, got {fps}")
    return float(fps)


__all__ = [
    "CameraTile",
    "MainStreams",
    "TileCounters",
    "TileState",
    "VideoWall",
    "WallCamera",
    "WallStats",
    "cameras_from_pipeline",
    "fit_rect",
    "format_age",
    "grid_shape",
]
