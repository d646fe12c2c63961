"""`Pacer`: a refresh runs at once, or once when its spacing has passed however often it was
asked meanwhile, and a costly refresh spaces the next by its cost (real Qt timers, offscreen)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QObject, QTimer
from pytestqt.qtbot import QtBot

from ui.pacing import Pacer, spacing_ms


def test_spacing_keeps_a_refresh_to_its_share_of_the_thread() -> None:
    assert spacing_ms(0.001, 100) == 100  # cheap: the least spacing
    assert spacing_ms(0.2, 100, share=0.25) == 600  # 200 ms of work, 600 ms rest: a quarter
    assert spacing_ms(0.2, 100, share=0.5) == 200
    assert spacing_ms(0.1, 100) == 900  # the default share, 10%
    assert spacing_ms(0.0, 0) == 0
    with pytest.raises(ValueError, match="share"):
        spacing_ms(0.1, 100, share=0.0)


def test_requests_meanwhile_run_the_refresh_once_after_its_spacing(qtbot: QtBot) -> None:
    owner = QObject()
    runs: list[int] = []
    pacer = Pacer(lambda: runs.append(len(runs)), 50, owner)
    pacer.request()
    assert runs == [0]  # at once
    for _ in range(20):  # a flood of changes within the spacing
        pacer.request()
    assert runs == [0]
    assert pacer.pending
    qtbot.waitUntil(lambda: len(runs) == 2, timeout=5000)
    qtbot.wait(200)  # several spacings later: nothing asked, nothing run
    assert runs == [0, 1]
    assert not pacer.pending


def test_a_costly_refresh_waits_longer_before_the_next(qtbot: QtBot) -> None:
    owner = QObject()
    runs: list[float] = []

    def slow() -> None:
        runs.append(time.perf_counter())
        time.sleep(0.05)

    pacer = Pacer(slow, 10, owner, share=0.25)
    pacer.request()
    assert pacer.last_cost_s >= 0.05
    assert pacer._timer.interval() == spacing_ms(pacer.last_cost_s, 10, share=0.25)
    assert pacer._timer.interval() >= 150  # three times its cost, not the 10 ms least
    pacer.request()
    assert len(runs) == 1
    qtbot.waitUntil(lambda: len(runs) == 2, timeout=5000)
    # never sooner than the cost-based spacing (a coarse Qt timer may fire 5% early)
    assert runs[1] - runs[0] >= 0.05 + 0.15 * 0.9


def test_flush_runs_a_pending_refresh_now_and_cancel_drops_it(qtbot: QtBot) -> None:
    owner = QObject()
    runs: list[int] = []
    pacer = Pacer(lambda: runs.append(1), 10_000, owner)
    pacer.flush()  # nothing pending: nothing run
    assert runs == []
    pacer.request()
    pacer.request()
    pacer.flush()
    assert runs == [1, 1]
    pacer.request()  # within the spacing again: pending
    pacer.cancel()
    assert not pacer.pending
    qtbot.wait(50)
    assert runs == [1, 1]


def test_a_deferred_pacer_runs_on_the_next_turn_of_the_event_loop(qtbot: QtBot) -> None:
    owner = QObject()
    runs: list[int] = []
    pacer = Pacer(lambda: runs.append(1), 10_000, owner, deferred=True)
    pacer.request()
    pacer.request()  # the same turn: one run
    assert runs == []
    qtbot.waitUntil(lambda: runs == [1], timeout=5000)
    pacer.request()  # within the spacing: pending, until a flush
    qtbot.wait(50)
    assert runs == [1]
    pacer.flush()
    assert runs == [1, 1]


def test_a_generator_refresh_runs_in_slices_with_the_event_loop_between(qtbot: QtBot) -> None:
    """A refresh that yields between steps runs `slice_ms` at a time; other work runs between
    its slices, a request meanwhile waits for the spacing after it, and its cost is the sum."""
    owner = QObject()
    done: list[int] = []

    def steps() -> Iterator[None]:
        for i in range(6):
            time.sleep(0.01)
            done.append(i)
            yield

    pacer = Pacer(steps, 10, owner, share=0.5, slice_ms=15)
    pacer.request()
    assert 0 < len(done) < 6  # the first slice ran at once, the rest waits for the loop
    assert pacer.running
    between: list[int] = []
    QTimer.singleShot(0, lambda: between.append(len(done)))
    pacer.request()  # asked again meanwhile: once more after this run and its spacing
    assert pacer.pending
    qtbot.waitUntil(lambda: not pacer.running, timeout=5000)
    assert done == list(range(6))
    assert between
    assert 0 < between[0] < 6  # it ran between two slices
    assert pacer.slices >= 2
    assert pacer.last_cost_s >= 0.06  # every slice counted
    assert pacer._timer.interval() == spacing_ms(pacer.last_cost_s, 10, share=0.5)
    qtbot.waitUntil(lambda: len(done) == 12, timeout=5000)  # the pending run, in full

    pacer.request()
    pacer.request()  # within the spacing: pending
    pacer.flush()  # a test that looks now: the pending run, to its end
    assert len(done) == 18
    assert not pacer.running
    pacer.cancel()
    assert pacer.idle


def test_cancel_drops_a_sliced_run_under_way(qtbot: QtBot) -> None:
    owner = QObject()
    done: list[int] = []

    def steps() -> Iterator[None]:
        for i in range(100):
            done.append(i)
            yield

    pacer = Pacer(steps, 10, owner, slice_ms=0)  # one step a slice
    pacer.request()
    assert done == [0]
    assert pacer.running
    pacer.cancel()
    assert not pacer.running
    qtbot.wait(50)
    assert done == [0]
