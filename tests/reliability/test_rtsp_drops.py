"""RTSP cameras dropped and brought back under the real runtime (CI-sized: 4 cameras, 3 cycles,
each camera dropped each way once; bench/reliability.py rtsp runs 16 cameras x 100 cycles and
times it). tests/reliability/drops.py says what is checked; no time is asserted, the deadlines
are generous."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.drops import KINDS, drop_cycles
from tests.rtsp_server import gst_rtsp_server_missing

_MISSING = gst_rtsp_server_missing()
pytestmark = [
    pytest.mark.reliability,
    pytest.mark.skipif(_MISSING is not None, reason=_MISSING or ""),
]

CAMERAS = 4
CYCLES = 3


def test_cameras_dropped_and_back_raise_one_alarm_each_time_and_leak_nothing(
    tmp_path: Path,
) -> None:
    figures = drop_cycles(tmp_path, cameras=CAMERAS, cycles=CYCLES)
    assert figures.problems == [], figures.line()
    assert figures.cycles == CYCLES
    assert figures.outages == CAMERAS * CYCLES
    for kind in KINDS:  # every camera went dark each way, and came back each time
        assert len(figures.alarm_s[kind]) == CAMERAS
        # timed when its server returned, or (not timed: that measures the test server) after
        # the harness power-cycled a test server that stopped answering its own port
        assert len(figures.back_s[kind]) + figures.hung[kind] == CAMERAS, figures.server_hangs
    assert len(figures.server_hangs) < CAMERAS * CYCLES, figures.server_hangs  # not every time
    # one video-loss incident per camera per outage in the store (and any of the start)
    assert sum(figures.stored.values()) == CAMERAS * CYCLES + figures.startup_alarms
