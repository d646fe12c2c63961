"""`DisplayBudget`: the walls' frame rate steps down while the GUI thread takes more than its
share of a core and back up after calm seconds; the walls' timers follow the factor.

The stepping is driven by a fake CPU clock and a fake wall clock (named as fakes); the walls
are the real widgets with their real timers (offscreen)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PySide6.QtCore import QObject
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from console.clock import FakeClock
from console.focus_wall import FocusWall
from console.site_file import load_site
from inference.frame_ring import FrameRing
from tests.sites import courtyard_site
from ui.display_budget import RATE_STEPS, DisplayBudget
from ui.focus_wall_view import FocusWallView
from ui.video_wall import VideoWall, WallCamera


class FakeClocks:
    """A fake GUI-thread CPU clock and wall clock: each `second(used)` advances the wall clock
    by one second and the thread's CPU time by `used` seconds."""

    def __init__(self) -> None:
        self.cpu = 0.0
        self.wall = 100.0

    def second(self, used: float) -> None:
        self.cpu += used
        self.wall += 1.0


def budget_with(clocks: FakeClocks, owner: QObject, share: float) -> DisplayBudget:
    budget = DisplayBudget(
        owner,
        thread_time=lambda: clocks.cpu,
        clock=lambda: clocks.wall,
        share=share,
    )
    budget.sample()  # by hand, no timer: the first sample is the baseline
    return budget


def run(budget: DisplayBudget, clocks: FakeClocks, used: list[float]) -> list[float]:
    factors: list[float] = []
    for share in used:
        clocks.second(share)
        budget.sample()
        factors.append(budget.factor)
    return factors


def test_the_rate_steps_down_while_the_window_is_over_its_share_and_back_after_calm() -> None:
    owner = QObject()
    clocks = FakeClocks()
    budget = budget_with(clocks, owner, share=0.35)
    said: list[float] = []
    budget.rate_changed.connect(said.append)

    assert run(budget, clocks, [0.2, 0.3]) == [1.0, 1.0]  # within the share: untouched
    assert said == []
    # a storm: every second over the share lowers the rate one step, down to the last
    assert run(budget, clocks, [0.6] * 6) == [0.75, 0.5, 0.35, 0.25, 0.25, 0.25]
    assert said == [0.75, 0.5, 0.35, 0.25]
    assert budget.last_used == pytest.approx(0.6)
    # near the share (not calm): held where it is
    assert run(budget, clocks, [0.3, 0.3, 0.3]) == [0.25, 0.25, 0.25]
    # calm: one step up per three calm seconds in a row; a busy second restarts the count
    assert run(budget, clocks, [0.1, 0.1, 0.5, 0.1, 0.1, 0.1]) == [
        0.25,
        0.25,
        0.25,
        0.25,
        0.25,
        0.35,
    ]
    assert run(budget, clocks, [0.1] * 9) == [0.35, 0.35, 0.5, 0.5, 0.5, 0.75, 0.75, 0.75, 1.0]
    assert said[-4:] == [0.35, 0.5, 0.75, 1.0]
    assert RATE_STEPS[0] == 1.0


def test_a_budget_outside_one_core_is_refused_with_its_value() -> None:
    owner = QObject()
    with pytest.raises(ValueError, match=r"share must be in \(0, 1\] of one core, got 1.5"):
        DisplayBudget(owner, share=1.5)
    with pytest.raises(ValueError, match="calm_samples must be at least 1, got 0"):
        DisplayBudget(owner, calm_samples=0)


def test_the_real_timer_samples_the_gui_threads_own_cpu(qtbot: QtBot) -> None:
    owner = QObject()
    budget = DisplayBudget(owner, share=0.05, every_ms=100, calm_samples=1)
    steps: list[float] = []
    budget.rate_changed.connect(steps.append)
    budget.start()

    def busy() -> bool:  # the GUI thread itself burns CPU between samples
        end = budget._clock() + 0.05
        while budget._clock() < end:
            pass
        return bool(steps)

    qtbot.waitUntil(busy, timeout=10000)
    budget.stop()
    assert steps[0] == 0.75
    assert budget.last_used > 0.05


def test_both_walls_redraw_at_the_factor_and_refuse_a_bad_one(
    qtbot: QtBot,
    rings: Callable[..., FrameRing],
    widgets: Callable[[QWidget], QWidget],
    tmp_path: Path,
) -> None:
    ring = rings("cam-a")
    wall = VideoWall([WallCamera("cam-a", ring, "Gallery A")], display_fps=10)
    widgets(wall)
    wall._layout()
    before = wall._timer.interval()
    wall.set_rate_factor(0.5)
    assert wall.rate_factor == 0.5
    assert wall._timer.interval() == 2 * before
    assert wall.display_fps == 10  # the monitor's choice is kept; only the redraws slow
    with pytest.raises(ValueError, match="rate factor must be in"):
        wall.set_rate_factor(0.0)

    site = load_site(courtyard_site(tmp_path))
    focus = FocusWallView(
        FocusWall(FakeClock(datetime(2026, 11, 30, 23, 0, tzinfo=UTC)), slots=4),
        site,
        {"cam-a": ring},
        display_fps=10,
    )
    widgets(focus)
    assert focus._display_timer.interval() == 100
    focus.set_rate_factor(0.25)
    assert focus.rate_factor == 0.25
    assert focus._display_timer.interval() == 400
    with pytest.raises(ValueError, match="rate factor must be in"):
        focus.set_rate_factor(1.5)
