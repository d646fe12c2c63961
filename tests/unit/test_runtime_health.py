"""Video loss is judged on frames the capture writes, not on frames the detector got round to.

A real SiteRuntime on a real SQLite store and real shared-memory rings written by the test (in
the place of capture processes); the clock is a FakeClock and no detector runs at all, as when
the pool is busy with other cameras.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from console.clock import FakeClock
from console.runtime import SiteRuntime
from console.site_file import load_site
from console.store import Store
from inference.frame_ring import FrameRing

SITE = Path(__file__).resolve().parents[1] / "data" / "example_site" / "site.yaml"
START = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)  # opening hours: only health can raise
FRAME = np.full((36, 64, 3), 90, dtype=np.uint8)


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[SiteRuntime]:
    store = Store(f"sqlite:///{tmp_path / 'alarms.db'}")
    runtime = SiteRuntime(load_site(SITE), store, clock=FakeClock(START))
    ring = FrameRing.create("cam-east", slots=2, max_frame_bytes=FRAME.nbytes)
    runtime.pipeline.rings["cam-east"] = ring  # the test writes it, as a capture process would
    try:
        yield runtime
    finally:
        ring.close()
        ring.unlink()
        store.close()


def health_alarms(runtime: SiteRuntime) -> list[str]:
    return [getattr(a.detail, "reason", None) or "" for a in runtime.alarms.open_alarms()]


def test_a_camera_whose_frames_keep_coming_is_not_lost(runtime: SiteRuntime) -> None:
    clock = runtime.clock
    assert isinstance(clock, FakeClock)
    ring = runtime.pipeline.rings["cam-east"]
    runtime.presence.set_status("cam-east", "live", clock.now())
    for second in range(30):  # frames every second, none of them detected
        ring.publish(FRAME, ts=float(second))
        runtime.tick()
        clock.advance(1.0)
    assert health_alarms(runtime) == []

    # the capture stops writing: the camera is silent, and after video_loss_s (10 s) it is lost
    for _ in range(9):
        runtime.tick()
        clock.advance(1.0)
    assert health_alarms(runtime) == []
    clock.advance(1.0)
    runtime.tick()
    (alarm,) = runtime.alarms.open_alarms()
    assert (alarm.rule, alarm.detail.condition, alarm.detail.reason) == (
        "camera_health",
        "video_loss",
        "no frames",
    )
