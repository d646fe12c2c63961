"""The health panel: the history ring, the status-bar words, the plots, and a monitor whose timer
stops."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from inference.detectors.base import DetectorInfo
from ui.health_panel import (
    HealthHistory,
    HealthMonitor,
    HealthPanel,
    HealthSample,
    HealthStatusLine,
    plain_status,
    status_text,
)

YOLO = DetectorInfo(backend="yolo", model="yolo11n.pt", device="cuda:0")
SSDLITE = DetectorInfo(backend="ssdlite", model="frozen_inference_graph.pb", device="cpu")


def stats(
    *,
    live: int = 3,
    offline: int = 0,
    decoded: int = 0,
    detected: int = 0,
    stale: int = 0,
    detector: DetectorInfo | None = YOLO,
    p50: float = 0.04,
    p95: float = 0.09,
    error: str | None = None,
) -> dict[str, Any]:
    """What VisionPipeline.stats() returns (the fields the panel reads)."""
    cameras = {f"cam-{i}": {"status": "live"} for i in range(live)}
    cameras.update({f"off-{i}": {"status": "offline"} for i in range(offline)})
    return {
        "cameras": cameras,
        "live": live,
        "decoded": decoded,
        "detected": detected,
        "stale": stale,
        "latency_p50_s": p50,
        "latency_p95_s": p95,
        "detector": detector,
        "error": error,
    }


class CountingSource:
    """A stats source whose counters grow by fixed steps per call."""

    def __init__(self) -> None:
        self.calls = 0

    def stats(self) -> dict[str, Any]:
        self.calls += 1
        return stats(decoded=100 * self.calls, detected=10 * self.calls, stale=self.calls)


# --------------------------------------------------------------------------- the ring


def test_history_turns_counters_into_rates() -> None:
    history = HealthHistory(window_s=3600, period_s=5)
    first = history.add_stats(stats(decoded=0, detected=0, stale=0), at=1000.0)
    assert (first.decoded_per_s, first.detected_per_s, first.stale_per_s) == (0, 0, 0)
    second = history.add_stats(stats(decoded=500, detected=40, stale=5), at=1005.0)
    assert second.decoded_per_s == pytest.approx(100.0)
    assert second.detected_per_s == pytest.approx(8.0)
    assert second.stale_per_s == pytest.approx(1.0)
    assert second.stale_total == 5
    restarted = history.add_stats(stats(decoded=20, detected=1, stale=0), at=1010.0)
    assert restarted.decoded_per_s == 0.0  # counters went back (pipeline restarted): no rate
    assert len(history) == 3
    assert history.latest is restarted


def test_history_keeps_the_last_hour_only() -> None:
    history = HealthHistory(window_s=3600, period_s=5)
    for k in range(2000):  # 10,000 s of samples
        history.add_stats(stats(decoded=k * 50), at=k * 5.0)
    assert len(history) <= history.capacity == 721
    ages = [history.latest.at - s.at for s in history]
    assert max(ages) <= 3600
    minutes, values = history.series("decoded_per_s")
    assert minutes[-1] == 0.0
    assert minutes[0] >= -60.0
    assert np.allclose(values[1:], 10.0)


def test_history_also_forgets_by_time_when_samples_are_sparse() -> None:
    history = HealthHistory(window_s=60, period_s=1)
    history.add_stats(stats(), at=0.0)
    history.add_stats(stats(), at=30.0)
    history.add_stats(stats(), at=100.0)  # the first two are older than a minute now
    assert [s.at for s in history] == [100.0]


def test_latency_series_are_in_milliseconds() -> None:
    history = HealthHistory()
    history.add_stats(stats(p50=0.05, p95=0.2), at=0.0)
    _, p95 = history.series("latency_p95_s")
    assert p95.tolist() == [pytest.approx(200.0)]


# --------------------------------------------------------------------------- the words


def sample_of(**kwargs: Any) -> HealthSample:
    history = HealthHistory()
    history.add_stats(stats(), at=0.0)
    return history.add_stats(stats(**kwargs), at=10.0)


def test_status_text_names_yolo_its_device_and_the_figures() -> None:
    text = status_text(sample_of(live=63, offline=1, decoded=6120, detected=480, stale=3))
    assert text.startswith("YOLO yolo11n.pt on cuda:0 |")
    assert "cameras 63/64 live, 1 OFFLINE" in text
    assert "612 frames/s, 48.0 detected/s" in text
    assert "latency 40 ms (p95 90 ms)" in text
    assert "stale 0.3/s (3)" in text
    assert "FALLBACK" not in text


def test_status_text_says_fallback_slow_and_error_in_words() -> None:
    text = status_text(sample_of(detector=SSDLITE, p95=1.5, error="worker 0 died"))
    assert "FALLBACK ssdlite frozen_inference_graph.pb on cpu" in text
    assert "SLOW" in text
    assert "ERROR: worker 0 died" in text
    assert "OFFLINE" not in text  # no camera offline
    assert status_text(sample_of(detector=None)).startswith("detector: none ready")
    assert status_text(None) == "health: waiting for the first sample"


def test_status_text_names_the_runtime_that_runs_the_network() -> None:
    on_openvino = DetectorInfo(
        backend="ssdlite",
        model="frozen_inference_graph.pb",
        device="cpu",
        runtime="OpenVINO 2026.4.1",
    )
    text = status_text(sample_of(detector=on_openvino))
    label = text.split(" | ")[0]
    assert label == "FALLBACK ssdlite frozen_inference_graph.pb on cpu (OpenVINO 2026.4.1)"
    assert "(" not in status_text(sample_of(detector=YOLO)).split("|")[0]  # no runtime named


def test_detector_info_may_come_as_a_mapping() -> None:
    sample = sample_of(detector={"backend": "yolo", "model": "m.pt", "device": "cpu"})  # type: ignore[arg-type]
    assert not sample.fallback
    assert status_text(sample).startswith("YOLO m.pt on cpu")


# --------------------------------------------------------------------------- the widgets


def test_status_line_shows_the_sample(qtbot, widgets) -> None:
    line = widgets(HealthStatusLine())
    qtbot.addWidget(line)
    assert line.text == "Detector: starting, cameras: waiting for the first look"
    sample = sample_of(detector=SSDLITE, offline=2, p50=1.24)
    line.show_sample(sample)
    # in words a monitor understands; the technical figures in the tooltip
    assert line.text == "Detector: basic (offline model), 3/5 cameras live, 2 OFFLINE, 1.2 s behind"
    assert status_text(sample) in line.toolTip()
    assert "FALLBACK ssdlite" in line.toolTip()
    assert "less accurate than YOLO" in line.toolTip()


def test_plain_status_says_slow_failed_and_starting_in_words() -> None:
    busy = sample_of(live=64, detector=YOLO, p50=0.08)
    assert plain_status(busy) == "Detector: full (YOLO), 64/64 cameras live, 0.1 s behind"
    slow = sample_of(live=64, detector=SSDLITE, p50=3.4)
    assert plain_status(slow).endswith("3.4 s behind (SLOW)")
    failed = sample_of(detector=None, error="no detector could load")
    assert plain_status(failed) == (
        "Detector: NOT WORKING, 3/3 cameras live · ERROR: no detector could load"
    )
    assert plain_status(sample_of(detector=None)) == "Detector: starting, 3/3 cameras live"


def test_panel_plots_follow_the_history(qtbot, widgets) -> None:
    history = HealthHistory(window_s=3600, period_s=5)
    panel = widgets(HealthPanel(history))
    with qtbot.waitExposed(panel):
        panel.show()
    assert panel.curve_data("live")[0].size == 0
    for k in range(12):
        history.add_stats(stats(live=3 + k % 2, decoded=k * 500, stale=k), at=k * 5.0)
    panel.refresh()
    minutes, live = panel.curve_data("live")
    assert minutes.size == 12
    assert minutes[-1] == 0.0
    assert minutes[0] == pytest.approx(-55 / 60)
    assert live.tolist() == [3 + k % 2 for k in range(12)]
    _, decoded = panel.curve_data("decoded_per_s")
    assert decoded[1:].tolist() == [pytest.approx(100.0)] * 11
    _, stale = panel.curve_data("stale_per_s")
    assert stale[-1] == pytest.approx(0.2)
    panel.grab()  # paints without error
    assert panel.refreshes == 1


def test_monitor_samples_feeds_the_views_and_its_timer_stops(qtbot, widgets) -> None:
    source = CountingSource()
    clock = iter(float(k) for k in range(1000))
    monitor = HealthMonitor(source, period_s=0.01, wall_clock=lambda: next(clock))
    line = widgets(HealthStatusLine())
    panel = widgets(HealthPanel(monitor.history))
    monitor.sampled.connect(line.show_sample)
    monitor.sampled.connect(panel.refresh)
    assert not monitor.is_running
    monitor.start()  # samples at once, then every period
    try:
        assert monitor.is_running
        assert source.calls == 1
        with qtbot.waitSignal(monitor.sampled, timeout=5000):
            pass  # the timer sampled again
        assert source.calls >= 2
        assert "100 frames/s, 10.0 detected/s" in line.toolTip()
        assert panel.refreshes == source.calls
    finally:
        monitor.stop()
    assert not monitor.is_running
    calls = source.calls
    qtbot.wait(50)  # five periods: a stopped monitor samples nothing
    assert source.calls == calls
    monitor.deleteLater()


def test_monitor_survives_a_failing_source(qtbot) -> None:
    class Broken:
        def stats(self) -> dict[str, Any]:
            raise RuntimeError("pipeline stopped")

    monitor = HealthMonitor(Broken())
    assert monitor.sample_now() is None
    assert len(monitor.history) == 0
    monitor.deleteLater()
