"""Qt tests run headless (offscreen) and leave nothing behind: widgets, threads, timers, rings."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt

import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QApplication, QWidget

from inference.frame_ring import FrameRing


def flush_deleted() -> None:
    """Run pending deleteLater()s now."""
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    QCoreApplication.processEvents()


@pytest.fixture(autouse=True)
def no_leaks(qapp: QApplication) -> Iterator[None]:
    """Every test must end with no extra top-level widget and no extra thread."""
    flush_deleted()
    widgets_before = set(map(id, QApplication.topLevelWidgets()))
    threads_before = set(threading.enumerate())
    yield
    flush_deleted()
    extra_widgets = [
        type(w).__name__ for w in QApplication.topLevelWidgets() if id(w) not in widgets_before
    ]
    assert not extra_widgets, f"widgets left after the test: {extra_widgets}"
    extra_threads = [t.name for t in threading.enumerate() if t not in threads_before]
    assert not extra_threads, f"threads left after the test: {extra_threads}"


@pytest.fixture
def widgets(rings: Callable[..., FrameRing]) -> Iterator[Callable[[QWidget], QWidget]]:
    """Keep a top-level widget for the test; at the end it is closed (its timers must stop) and
    deleted, before any ring of the test is closed."""
    kept: list[QWidget] = []

    def keep(widget: QWidget) -> QWidget:
        kept.append(widget)
        return widget

    yield keep
    for widget in kept:
        widget.close()
        running = getattr(widget, "is_running", False)
        assert not running, f"{type(widget).__name__} still runs its timer after close()"
        widget.deleteLater()
    flush_deleted()


@pytest.fixture
def rings(caplog: pytest.LogCaptureFixture) -> Iterator[Callable[..., FrameRing]]:
    """Create real shared-memory rings; at the end each is closed (no view may still be held)
    and unlinked."""
    made: list[FrameRing] = []

    def make(camera_id: str, max_frame_bytes: int = 640 * 360 * 3, slots: int = 4) -> FrameRing:
        ring = FrameRing.create(camera_id, slots=slots, max_frame_bytes=max_frame_bytes)
        made.append(ring)
        return ring

    yield make
    flush_deleted()  # tiles release nothing late: they never keep views
    with caplog.at_level(logging.WARNING, logger="inference.frame_ring"):
        for ring in made:
            name = ring.name
            ring.close()
            ring.unlink()
            assert not (Path("/dev/shm") / name).exists(), f"ring {name} left in /dev/shm"
    held = [r.message for r in caplog.records if "still has views" in r.message]
    assert not held, f"a ring view was still held at close: {held}"
