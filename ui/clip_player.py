"""An alarm's clip, played with the tracked boxes drawn over it (never into it).

    player = ClipPlayer(site)
    player.load(ClipShown(path, start_at, overlay, severity="high"))   # shows its first frame
    player.play() / player.pause() / player.seek(12.5)
    player.unload()                                                    # joins its decoder

Frames are decoded with PyAV on the player's own decoder thread ("clip-decoder", started with a
clip, joined when it is unloaded or the player closes) into a short queue; a timer on the GUI
thread shows each frame when its time comes and paints it scaled into the widget, then the
boxes: the clip's time t is the wall-clock `start_at + t` (the clip keeps the recording's
timing, gaps included), and each tracked person's box at that moment comes from the clip's
stored samples (interpolated between two samples of the same person up to 2 s apart, else the
last one for up to 2 s, since a quiet camera is detected seconds apart, or the next one within
0.6 s), scaled from the frame size the detector saw to the clip's. The people the alarm is about
are boxed in the alarm's colour and named, everyone else thinly; the protected object's outline
is drawn when the clip carries it. The time shown is the site's.
"""

from __future__ import annotations

import bisect
import contextlib
import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QFont, QImage, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from console.site_file import Site
from ui.alarm_words import severity_role
from ui.theme import PALETTE

log = logging.getLogger(__name__)

__all__ = ["ClipPlayer", "ClipShown", "Overlay", "VideoView"]

TICK_MS = 15
QUEUE_FRAMES = 6
INTERPOLATE_GAP_S = 2.0
NEAREST_S = 0.6
HOLD_S = 2.0


@dataclass(frozen=True, slots=True)
class Overlay:
    """The tracked boxes stored with a clip: per person, (wall time, x1, y1, x2, y2) in the
    pixels of the frame the detector saw (`size`)."""

    size: tuple[int, int] | None = None
    alarm_tracks: frozenset[int] = frozenset()
    tracks: dict[int, list[tuple[float, float, float, float, float]]] = field(default_factory=dict)
    object_region: tuple[tuple[float, float], ...] = ()

    @classmethod
    def of(cls, stored: dict[str, Any] | None) -> Overlay:
        if not stored or not stored.get("size"):
            return cls()
        tracks: dict[int, list[tuple[float, float, float, float, float]]] = {}
        for sample in stored.get("boxes", []):
            t, track, x1, y1, x2, y2 = sample
            tracks.setdefault(int(track), []).append(
                (float(t), float(x1), float(y1), float(x2), float(y2))
            )
        for samples in tracks.values():
            samples.sort()
        region = tuple((float(x), float(y)) for x, y in stored.get("object") or ())
        width, height = stored["size"]
        return cls((int(width), int(height)), frozenset(stored.get("tracks", [])), tracks, region)

    def boxes_at(self, wall: float) -> dict[int, tuple[float, float, float, float]]:
        """Each person's box at this wall-clock moment (frame pixels), where known."""
        found: dict[int, tuple[float, float, float, float]] = {}
        for track, samples in self.tracks.items():
            i = bisect.bisect_left(samples, (wall, float("-inf")))
            after = samples[i] if i < len(samples) else None
            before = samples[i - 1] if i > 0 else None
            if before and after and after[0] - before[0] <= INTERPOLATE_GAP_S:
                span = after[0] - before[0]
                k = 0.0 if span <= 0 else (wall - before[0]) / span
                found[track] = tuple(  # type: ignore[assignment]
                    b + (a - b) * k for b, a in zip(before[1:], after[1:], strict=True)
                )
                continue
            if before is not None and wall - before[0] <= HOLD_S:
                found[track] = before[1:]  # the detector looks seconds apart: the last box holds
            elif after is not None and after[0] - wall <= NEAREST_S:
                found[track] = after[1:]
        return found


@dataclass(frozen=True, slots=True)
class ClipShown:
    """What the player needs of a kept clip."""

    path: Path
    start_at: datetime  # the clip's time 0 on the wall clock
    overlay: Overlay = field(default_factory=Overlay)
    severity: str = "high"
    title: str = ""


@dataclass(frozen=True, slots=True)
class _Decoded:
    token: int  # the seek it answers
    pts_s: float
    image: QImage
    last: bool = False  # the clip's end


class _Decoder:
    """Decodes one clip on its own thread into a short queue, from where it was asked to."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.frames: queue.Queue[_Decoded] = queue.Queue(maxsize=QUEUE_FRAMES)
        self._commands: queue.SimpleQueue[tuple[int, float] | None] = queue.SimpleQueue()
        self._stop = threading.Event()
        self.duration_s = 0.0
        self.error: str | None = None
        self._thread = threading.Thread(target=self._run, name="clip-decoder", daemon=True)

    def start(self, token: int, at_s: float = 0.0) -> None:
        self._commands.put((token, at_s))
        self._thread.start()

    def seek(self, token: int, at_s: float) -> None:
        self._commands.put((token, at_s))

    def stop(self) -> None:
        self._stop.set()
        self._commands.put(None)
        with contextlib.suppress(queue.Empty):
            while True:
                self.frames.get_nowait()
        self._thread.join(5.0)

    def _run(self) -> None:
        import av

        try:
            container = av.open(str(self.path))
        except Exception as exc:
            self.error = f"the clip cannot be opened: {exc}"
            return
        with container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            tb = stream.time_base
            if tb is None:
                self.error = "the clip cannot be read: its video stream has no time base"
                return
            if stream.duration is not None:
                self.duration_s = float(stream.duration * tb)
            elif container.duration is not None:
                self.duration_s = container.duration / 1_000_000
            command: tuple[int, float] | None = self._commands.get()
            while command is not None and not self._stop.is_set():
                token, at_s = command
                command = self._decode_from(container, stream, tb, token, at_s)

    def _decode_from(self, container: Any, stream: Any, tb: Any, token: int, at_s: float) -> Any:
        """Decode from `at_s` until the end, a new command, or stop; returns the new command."""
        with contextlib.suppress(Exception):
            container.seek(max(0, int(at_s / tb)), stream=stream, backward=True, any_frame=False)
        try:
            for frame in container.decode(stream):
                if frame.pts is None:
                    continue
                pts_s = float(frame.pts * tb)
                self.duration_s = max(self.duration_s, pts_s)
                if pts_s + 1e-3 < at_s:
                    continue  # before the moment asked for: decoded, not shown
                image = _qimage(frame)
                if not self._put(_Decoded(token, pts_s, image)):
                    return None
                waiting = self._pending()
                if waiting is not False:
                    return waiting
        except Exception as exc:
            self.error = f"the clip could not be decoded to its end: {exc}"
            log.warning("clip %s: %s", self.path, exc)
        self._put(_Decoded(token, self.duration_s, QImage(), last=True))
        # at the end: wait for a seek (play again) or stop
        return self._commands.get()

    def _pending(self) -> tuple[int, float] | bool | None:
        try:
            return self._commands.get_nowait()
        except queue.Empty:
            return False

    def _put(self, item: _Decoded) -> bool:
        while not self._stop.is_set():
            try:
                self.frames.put(item, timeout=0.1)
                return True
            except queue.Full:
                if not self._commands.empty():
                    return True  # a seek is waiting: this frame no longer matters
        return False


def _qimage(frame: Any) -> QImage:
    array = frame.to_ndarray(format="rgb24")
    height, width = array.shape[:2]
    return QImage(array.data, width, height, array.strides[0], QImage.Format.Format_RGB888).copy()


class VideoView(QWidget):
    """Paints the current frame scaled into itself and the overlay's boxes on top."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image = QImage()
        self.overlay = Overlay()
        self.wall: float | None = None  # the shown frame's wall-clock time
        self.color = PALETTE.qcolor("offline")
        self.message = ""
        self.boxes_drawn: dict[int, QRectF] = {}  # widget coordinates, for tests
        self.setMinimumSize(320, 180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAccessibleName("clip")

    def image_rect(self) -> QRectF:
        if self.image.isNull():
            return QRectF()
        scale = min(self.width() / self.image.width(), self.height() / self.image.height())
        w, h = self.image.width() * scale, self.image.height() * scale
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), PALETTE.qcolor("wall"))
        self.boxes_drawn = {}
        if self.image.isNull():
            painter.setPen(PALETTE.qcolor("muted"))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.message)
            painter.end()
            return
        target = self.image_rect()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(target, self.image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        size = self.overlay.size
        if size is not None and self.wall is not None:
            sx, sy = target.width() / size[0], target.height() / size[1]
            ox, oy = target.left(), target.top()
            if self.overlay.object_region:
                outline = QPolygonF(
                    [QPointF(ox + x * sx, oy + y * sy) for x, y in self.overlay.object_region]
                )
                painter.setPen(QPen(PALETTE.qcolor("stalled", 200), 2, Qt.PenStyle.DashLine))
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawPolygon(outline)
            font = QFont(painter.font())
            font.setBold(True)
            painter.setFont(font)
            for track, (x1, y1, x2, y2) in sorted(self.overlay.boxes_at(self.wall).items()):
                rect = QRectF(ox + x1 * sx, oy + y1 * sy, (x2 - x1) * sx, (y2 - y1) * sy)
                ours = track in self.overlay.alarm_tracks
                color = self.color if ours else PALETTE.qcolor("person_box", 180)
                painter.setPen(QPen(color, 3 if ours else 1.5))
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawRect(rect)
                if ours:
                    label = f"#{track}"
                    metrics = painter.fontMetrics()
                    back = QRectF(
                        rect.left(),
                        rect.top() - metrics.height() - 2,
                        metrics.horizontalAdvance(label) + 8,
                        metrics.height() + 2,
                    )
                    painter.fillRect(back, PALETTE.qcolor("label_backdrop", 190))
                    painter.setPen(color)
                    painter.drawText(back, Qt.AlignmentFlag.AlignCenter, label)
                self.boxes_drawn[track] = rect
        painter.end()


class ClipPlayer(QWidget):
    """A clip with its boxes, play/pause, a position slider and the site's time."""

    frame_shown = Signal(float)  # the clip time (s) of the frame now on screen

    def __init__(self, site: Site, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.site = site
        self.clip: ClipShown | None = None
        self.view = VideoView()
        self.play_button = QPushButton("Play")
        self.play_button.setEnabled(False)
        self.play_button.clicked.connect(self.toggle)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setEnabled(False)
        self.slider.setRange(0, 0)
        self.slider.sliderReleased.connect(lambda: self.seek(self.slider.value() / 10.0))
        self.time_label = QLabel("")
        self.time_label.setMinimumWidth(210)
        controls = QHBoxLayout()
        controls.addWidget(self.play_button)
        controls.addWidget(self.slider, 1)
        controls.addWidget(self.time_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view, 1)
        layout.addLayout(controls)
        self._decoder: _Decoder | None = None
        self._token = 0
        self._playing = False
        self._position_s = 0.0  # the clip time on screen
        self._clock_base: tuple[float, float] | None = None  # (monotonic, clip time) at play
        self._waiting: _Decoded | None = None  # decoded, not yet due
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)
        self.frames_shown = 0
        self.show_message("no clip")

    # -- what it plays ---------------------------------------------------------------------------

    @property
    def is_running(self) -> bool:
        return self._timer.isActive()

    @property
    def playing(self) -> bool:
        return self._playing

    @property
    def position_s(self) -> float:
        return self._position_s

    def show_message(self, text: str) -> None:
        """No clip to play: say why instead."""
        self.unload()
        self.view.message = text
        self.view.update()

    def load(self, clip: ClipShown) -> None:
        """Open a clip and show its first frame (paused)."""
        self.unload()
        self.clip = clip
        self.view.overlay = clip.overlay
        self.view.color = PALETTE.qcolor(severity_role(clip.severity))
        self.view.message = "opening the clip…"
        self._token += 1
        self._decoder = _Decoder(clip.path)
        self._decoder.start(self._token, 0.0)
        self._position_s = 0.0
        self.play_button.setEnabled(True)
        self.slider.setEnabled(True)
        self._timer.start()
        self.view.update()

    def unload(self) -> None:
        """Stop decoding (the thread is joined) and forget the clip."""
        self._timer.stop()
        decoder, self._decoder = self._decoder, None
        if decoder is not None:
            decoder.stop()
        self.clip = None
        self._playing = False
        self._waiting = None
        self._clock_base = None
        self.view.image = QImage()
        self.view.wall = None
        self.play_button.setText("Play")
        self.play_button.setEnabled(False)
        self.slider.setEnabled(False)
        self.time_label.setText("")

    def closeEvent(self, event: Any) -> None:
        self.unload()
        super().closeEvent(event)

    # -- controls ------------------------------------------------------------------------------

    @Slot()
    def toggle(self) -> None:
        if self._playing:
            self.pause()
        else:
            self.play()

    def play(self) -> None:
        if self._decoder is None:
            return
        if self._waiting is not None and self._waiting.last:  # at the end: from the start
            self.seek(0.0)
        self._playing = True
        self._clock_base = None
        self.play_button.setText("Pause")

    def pause(self) -> None:
        self._playing = False
        self._clock_base = None
        self.play_button.setText("Play")

    def seek(self, at_s: float) -> None:
        """Show the frame at `at_s` seconds into the clip (and go on from there if playing)."""
        if self._decoder is None:
            return
        self._token += 1
        self._waiting = None
        self._clock_base = None
        self._decoder.seek(self._token, max(0.0, at_s))

    # -- the GUI thread's tick ---------------------------------------------------------------

    def _tick(self) -> None:
        decoder = self._decoder
        if decoder is None:
            return
        if decoder.error and self.view.image.isNull():
            self.view.message = decoder.error
            self.view.update()
        now = time.monotonic()
        while True:
            item = self._waiting
            if item is None:
                try:
                    item = decoder.frames.get_nowait()
                except queue.Empty:
                    return
                if item.token != self._token:
                    continue  # from before the last seek
            first_after_seek = self._clock_base is None
            if item.last:
                self._waiting = item
                self.pause()
                return
            if self._playing and not first_after_seek:
                base_mono, base_s = self._clock_base  # type: ignore[misc]
                if item.pts_s > base_s + (now - base_mono):
                    self._waiting = item  # not due yet
                    return
            self._waiting = None
            self._show(item)
            if first_after_seek:
                self._clock_base = (now, item.pts_s)
                if not self._playing:
                    return  # paused: one frame, the one asked for

    def _show(self, item: _Decoded) -> None:
        clip = self.clip
        if clip is None:
            return
        self._position_s = item.pts_s
        wall = clip.start_at + timedelta(seconds=item.pts_s)
        self.view.image = item.image
        self.view.wall = wall.timestamp()
        self.view.update()
        self.frames_shown += 1
        duration = self._decoder.duration_s if self._decoder is not None else 0.0
        if not self.slider.isSliderDown():
            self.slider.setRange(0, int(duration * 10))
            self.slider.setValue(int(item.pts_s * 10))
        local = wall.astimezone(self.site.tz)
        self.time_label.setText(
            f"{local:%Y-%m-%d %H:%M:%S} · {_mmss(item.pts_s)} / {_mmss(duration)}"
        )
        self.frame_shown.emit(item.pts_s)


def _mmss(seconds: float) -> str:
    whole = max(0, int(seconds))
    return f"{whole // 60:02d}:{whole % 60:02d}"
