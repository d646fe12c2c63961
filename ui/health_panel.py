"""Health of the vision pipeline: a status-bar line and an hour of plots.

`HealthMonitor` samples `VisionPipeline.stats()` every `period_s` (5 s by default) on the GUI
thread (the call only copies counters under the pipeline's lock) and turns the cumulative counters
into rates in a `HealthHistory`, a ring holding the last hour. Two views listen to it:

- `HealthStatusLine`, for the status bar, in words a monitor understands (`plain_status`):
  "Detector: basic (offline model), 64/64 cameras live, 1.2 s behind"; the technical figures
  (`status_text`: the model, its device, frames/s decoded and detected, latency percentiles,
  stale frames) are in its tooltip. Every warning is a word as well as a colour.
- `HealthPanel`: pyqtgraph plots of the same figures over the last hour (minutes before now),
  each line also told apart by its dash pattern and named in a legend.

    monitor = HealthMonitor(pipeline, period_s=5.0, parent=window)
    status_line = HealthStatusLine()
    window.statusBar().addPermanentWidget(status_line)
    panel = HealthPanel(monitor.history)
    monitor.sampled.connect(status_line.show_sample)
    monitor.sampled.connect(panel.refresh)
    monitor.start()       # ... monitor.stop() before the pipeline stops

`HealthHistory` and `HealthSample` are plain Python: tests feed them stats dictionaries.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QApplication, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ui.theme import PALETTE

log = logging.getLogger(__name__)

__all__ = [
    "HealthHistory",
    "HealthMonitor",
    "HealthPanel",
    "HealthSample",
    "HealthStatusLine",
    "StatsSource",
    "detector_label",
    "plain_status",
    "status_text",
]

DEFAULT_PERIOD_S = 5.0
DEFAULT_WINDOW_S = 3600.0
SLOW_LATENCY_S = 1.0  # detection latency above this is flagged in the technical line
BEHIND_SLOW_S = 2.0  # detection this far behind the cameras is called SLOW in the plain line


class StatsSource(Protocol):
    """What the monitor samples (`VisionPipeline` has it)."""

    def stats(self) -> dict[str, Any]: ...


# ---------------------------------------------------------------------------------------------
# samples and the ring (no Qt)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HealthSample:
    """The pipeline's health at one moment; rates are over the interval since the previous one."""

    at: float  # seconds (wall clock, time.time())
    cameras: int
    live: int
    offline: int  # offline or stalled: not sending pictures
    decoded_per_s: float
    detected_per_s: float
    stale_per_s: float
    stale_total: int
    latency_p50_s: float
    latency_p95_s: float
    detector_backend: str | None  # "yolo", "ssdlite", ... None while no worker is ready
    detector_model: str | None
    device: str | None
    error: str | None = None
    detector_runtime: str | None = None  # "OpenVINO 2026.4.1", "OpenCV DNN 4.14.0", ...

    @property
    def fallback(self) -> bool:
        """Detection runs on the offline fallback (not YOLO)."""
        return self.detector_backend is not None and self.detector_backend != "yolo"


def _field(info: Any, name: str) -> str | None:
    if info is None:
        return None
    value = info.get(name) if isinstance(info, Mapping) else getattr(info, name, None)
    return None if value is None else str(value)


def _rate(now: int, before: int | None, seconds: float) -> float:
    if before is None or seconds <= 0 or now < before:  # first sample, or counters restarted
        return 0.0
    return (now - before) / seconds


class HealthHistory:
    """The last `window_s` seconds of samples, at most `capacity` of them (oldest dropped)."""

    def __init__(
        self, window_s: float = DEFAULT_WINDOW_S, period_s: float = DEFAULT_PERIOD_S
    ) -> None:
        if not (window_s > 0 and period_s > 0):
            raise ValueError(f"window_s and period_s must be > 0 (got {window_s}, {period_s})")
        self.window_s = float(window_s)
        self.period_s = float(period_s)
        self.capacity = math.ceil(window_s / period_s) + 1
        self._samples: deque[HealthSample] = deque(maxlen=self.capacity)
        self._last_counters: tuple[float, int, int, int] | None = None  # at, decoded, det, stale

    def __len__(self) -> int:
        return len(self._samples)

    def __iter__(self) -> Iterator[HealthSample]:
        return iter(self._samples)

    @property
    def latest(self) -> HealthSample | None:
        return self._samples[-1] if self._samples else None

    def clear(self) -> None:
        self._samples.clear()
        self._last_counters = None

    def add_stats(self, stats: Mapping[str, Any], at: float) -> HealthSample:
        """Turn one `VisionPipeline.stats()` result taken at `at` (seconds) into a sample."""
        cameras = stats.get("cameras") or {}
        statuses = [str(c.get("status", "")) for c in cameras.values()]
        live = int(stats.get("live", sum(1 for s in statuses if s == "live")))
        offline = sum(1 for s in statuses if s in ("offline", "stalled"))
        decoded = int(stats.get("decoded", 0))
        detected = int(stats.get("detected", 0))
        stale = int(stats.get("stale", 0))
        last = self._last_counters
        seconds = at - last[0] if last is not None else 0.0
        info = stats.get("detector")
        sample = HealthSample(
            at=at,
            cameras=len(cameras),
            live=live,
            offline=offline,
            decoded_per_s=_rate(decoded, last[1] if last else None, seconds),
            detected_per_s=_rate(detected, last[2] if last else None, seconds),
            stale_per_s=_rate(stale, last[3] if last else None, seconds),
            stale_total=stale,
            latency_p50_s=float(stats.get("latency_p50_s", 0.0) or 0.0),
            latency_p95_s=float(stats.get("latency_p95_s", 0.0) or 0.0),
            detector_backend=_field(info, "backend"),
            detector_model=_field(info, "model"),
            device=_field(info, "device"),
            error=stats.get("error"),
            detector_runtime=_field(info, "runtime") or None,
        )
        if last is not None and at <= last[0]:
            log.debug("health sample at %.3f is not after the last one (%.3f)", at, last[0])
        self._last_counters = (at, decoded, detected, stale)
        self.add(sample)
        return sample

    def add(self, sample: HealthSample) -> None:
        """Append a sample and forget those older than the window (relative to it)."""
        self._samples.append(sample)
        horizon = sample.at - self.window_s
        while self._samples and self._samples[0].at < horizon:
            self._samples.popleft()

    def series(self, name: str, now: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(minutes relative to `now` (<= 0), values) of one HealthSample field, oldest first.

        `now` defaults to the newest sample's time. Latencies come in milliseconds.
        """
        if not self._samples:
            return np.zeros(0), np.zeros(0)
        ref = self._samples[-1].at if now is None else now
        scale = 1000.0 if name.startswith("latency_") else 1.0
        minutes = np.fromiter(((s.at - ref) / 60.0 for s in self._samples), float)
        values = np.fromiter((float(getattr(s, name)) * scale for s in self._samples), float)
        return minutes, values


# ---------------------------------------------------------------------------------------------
# words
# ---------------------------------------------------------------------------------------------


def detector_label(sample: HealthSample) -> str:
    """'YOLO yolo11n.pt on cuda:0', 'FALLBACK ssdlite on cpu (OpenVINO 2026.4.1)', or 'no
    detector yet'."""
    if sample.detector_backend is None:
        return "detector: none ready" if sample.error is None else "detector: FAILED"
    kind = "YOLO" if not sample.fallback else f"FALLBACK {sample.detector_backend}"
    model = f" {sample.detector_model}" if sample.detector_model else ""
    runtime = f" ({sample.detector_runtime})" if sample.detector_runtime else ""
    return f"{kind}{model} on {sample.device or '?'}{runtime}"


def status_text(sample: HealthSample | None) -> str:
    """The status-bar line, e.g.
    'YOLO yolo11n.pt on cuda:0 | cameras 63/64 live, 1 OFFLINE | 612 frames/s, 48 detected/s |
    latency 42 ms (p95 90 ms) | stale 0.2/s (37)'."""
    if sample is None:
        return "health: waiting for the first sample"
    cameras = f"cameras {sample.live}/{sample.cameras} live"
    if sample.offline:
        cameras += f", {sample.offline} OFFLINE"
    latency = (
        f"latency {sample.latency_p50_s * 1000:.0f} ms (p95 {sample.latency_p95_s * 1000:.0f} ms)"
    )
    if sample.latency_p95_s > SLOW_LATENCY_S:
        latency += " SLOW"
    parts = [
        detector_label(sample),
        cameras,
        f"{sample.decoded_per_s:.0f} frames/s, {sample.detected_per_s:.1f} detected/s",
        latency,
        f"stale {sample.stale_per_s:.1f}/s ({sample.stale_total})",
    ]
    if sample.error:
        parts.append(f"ERROR: {sample.error}")
    return " | ".join(parts)


def detector_words(sample: HealthSample) -> str:
    """The detector as a monitor needs to know it: full (YOLO), or the basic offline model."""
    if sample.detector_backend is None:
        if sample.error is not None:
            return "NOT WORKING"
        return "starting"
    if not sample.fallback:
        return "full (YOLO)"
    return "basic (offline model)"


def plain_status(sample: HealthSample | None) -> str:
    """The status line in words, e.g. 'Detector: basic (offline model), 64/64 cameras live,
    1.2 s behind'; trouble in capitals ('2 OFFLINE', 'SLOW', 'NOT WORKING: ...')."""
    if sample is None:
        return "Detector: starting, cameras: waiting for the first look"
    parts = [f"Detector: {detector_words(sample)}"]
    cameras = f"{sample.live}/{sample.cameras} cameras live"
    if sample.offline:
        cameras += f", {sample.offline} OFFLINE"
    parts.append(cameras)
    behind = sample.latency_p50_s
    if sample.detector_backend is not None and behind > 0:
        text = f"{behind:.1f} s behind"
        parts.append(f"{text} (SLOW)" if behind > BEHIND_SLOW_S else text)
    line = ", ".join(parts)
    if sample.error:
        line += f" · ERROR: {sample.error}"
    return line


# ---------------------------------------------------------------------------------------------
# sampling
# ---------------------------------------------------------------------------------------------


class HealthMonitor(QObject):
    """Samples a stats source every `period_s` on the GUI thread; emits `sampled(HealthSample)`."""

    sampled = Signal(object)

    def __init__(
        self,
        source: StatsSource,
        *,
        period_s: float = DEFAULT_PERIOD_S,
        window_s: float = DEFAULT_WINDOW_S,
        wall_clock: Callable[[], float] = time.time,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.source = source
        self.history = HealthHistory(window_s, period_s)
        self._clock = wall_clock
        self._timer = QTimer(self)
        self._timer.setInterval(max(1, round(period_s * 1000)))
        self._timer.timeout.connect(self.sample_now)

    @property
    def is_running(self) -> bool:
        return self._timer.isActive()

    def start(self) -> None:
        """Take a sample now and then every period."""
        self.sample_now()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    @Slot()
    def sample_now(self) -> HealthSample | None:
        try:
            stats = self.source.stats()
        except Exception:
            log.exception("health: stats() failed")
            return None
        sample = self.history.add_stats(stats, self._clock())
        self.sampled.emit(sample)
        return sample


# ---------------------------------------------------------------------------------------------
# views
# ---------------------------------------------------------------------------------------------


class HealthStatusLine(QWidget):
    """The status bar's health: one line in words (tooltip: the technical figures)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("healthStatusLine")
        self._label = QLabel(plain_status(None), self)
        self._label.setTextFormat(Qt.TextFormat.PlainText)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 0, 6, 0)
        layout.addWidget(self._label)
        self._sample: HealthSample | None = None

    @property
    def text(self) -> str:
        return self._label.text()

    @property
    def sample(self) -> HealthSample | None:
        return self._sample

    @Slot(object)
    def show_sample(self, sample: HealthSample) -> None:
        self._sample = sample
        self._label.setText(plain_status(sample))
        warn = sample.fallback or sample.offline > 0 or sample.error is not None
        # colour follows the words (FALLBACK, OFFLINE, ERROR), never replaces them
        color = PALETTE.stalled if warn else PALETTE.text
        self._label.setStyleSheet(f"color: {color};")
        tip = [
            status_text(sample),
            "",
            f"Detector: {detector_label(sample)}",
            f"Cameras: {sample.live} live, {sample.offline} offline or stalled, "
            f"{sample.cameras} in all",
            f"Decoded: {sample.decoded_per_s:.1f} frames/s; detected: "
            f"{sample.detected_per_s:.1f} frames/s",
            f"Detection latency: p50 {sample.latency_p50_s * 1000:.0f} ms, "
            f"p95 {sample.latency_p95_s * 1000:.0f} ms",
            f"Stale frames dropped: {sample.stale_per_s:.2f}/s, {sample.stale_total} in all",
        ]
        if sample.fallback:
            tip.append("The offline fallback detector is less accurate than YOLO.")
        tip.append('"Behind": how long after a picture is taken its people are found (p50).')
        if sample.error:
            tip.append(f"Error: {sample.error}")
        self.setToolTip("\n".join(tip))


@dataclass(frozen=True, slots=True)
class _Curve:
    field: str
    name: str
    role: str  # PALETTE role
    style: Qt.PenStyle


_PLOTS: tuple[tuple[str, str, tuple[_Curve, ...]], ...] = (
    (
        "cameras",
        "Cameras",
        (
            _Curve("live", "live", "live", Qt.PenStyle.SolidLine),
            _Curve("offline", "offline", "offline", Qt.PenStyle.DashLine),
        ),
    ),
    (
        "rate",
        "Frames per second",
        (
            _Curve("decoded_per_s", "decoded", "focus", Qt.PenStyle.SolidLine),
            _Curve("detected_per_s", "detected", "person_box", Qt.PenStyle.DashLine),
        ),
    ),
    (
        "latency",
        "Detection latency (ms)",
        (
            _Curve("latency_p50_s", "p50", "focus", Qt.PenStyle.SolidLine),
            _Curve("latency_p95_s", "p95", "stalled", Qt.PenStyle.DashLine),
        ),
    ),
    (
        "stale",
        "Stale frames dropped per second",
        (_Curve("stale_per_s", "stale", "stalled", Qt.PenStyle.SolidLine),),
    ),
)


class HealthPanel(QWidget):
    """Four plots over the last hour (x: minutes before the newest sample)."""

    def __init__(self, history: HealthHistory, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("healthPanel")
        self.history = history
        self.refreshes = 0
        self._graphics = pg.GraphicsLayoutWidget(self)
        self._graphics.setBackground(PALETTE.surface)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._graphics)
        self._plots: dict[str, pg.PlotItem] = {}
        self._curves: dict[str, pg.PlotDataItem] = {}
        minutes = history.window_s / 60.0
        axis_pen = pg.mkPen(PALETTE.muted)
        # pyqtgraph makes its context menus (and their panels) as parentless windows; they are
        # adopted below so that they go with this panel instead of outliving it
        before = {id(w) for w in QApplication.topLevelWidgets()}
        for row, (key, title, curves) in enumerate(_PLOTS):
            plot = self._graphics.addPlot(row=row, col=0)
            plot.setTitle(title, color=PALETTE.text)
            plot.setXRange(-minutes, 0, padding=0)
            plot.setLimits(xMin=-minutes, xMax=0)
            plot.setMouseEnabled(x=False, y=False)
            plot.setMenuEnabled(False)  # read-only plots: no context menu
            plot.showGrid(x=True, y=True, alpha=0.15)
            plot.enableAutoRange(axis="y", enable=True)
            for side in ("left", "bottom"):
                axis = plot.getAxis(side)
                axis.setPen(axis_pen)
                axis.setTextPen(axis_pen)
            if row == len(_PLOTS) - 1:
                plot.setLabel("bottom", "minutes before now", color=PALETTE.muted)
            legend = plot.addLegend(offset=(-10, 5), labelTextColor=PALETTE.text)
            legend.setBrush(pg.mkBrush(PALETTE.qcolor("background", 200)))
            for curve in curves:
                pen = pg.mkPen(PALETTE.qcolor(curve.role), width=2, style=curve.style)
                self._curves[curve.field] = plot.plot([], [], pen=pen, name=curve.name)
            self._plots[key] = plot
        for widget in QApplication.topLevelWidgets():
            if id(widget) not in before and widget is not self:
                widget.setParent(self, widget.windowFlags())

    def curve_data(self, field: str) -> tuple[np.ndarray, np.ndarray]:
        """What the plot of one field shows now (for tests)."""
        x, y = self._curves[field].getData()
        return (np.zeros(0), np.zeros(0)) if x is None else (np.asarray(x), np.asarray(y))

    @Slot()
    @Slot(object)
    def refresh(self, _sample: object = None) -> None:
        """Redraw every curve from the history."""
        for field, item in self._curves.items():
            x, y = self.history.series(field)
            item.setData(x, y)
        self.refreshes += 1
