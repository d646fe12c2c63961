"""The alert setup's warnings on the real console window (pytest-qt, offscreen, 1920 px wide):
each warning whole, on its own word-wrapped line in the banner above the walls, with its fix;
the status line keeps only their count; an edit of the site that cures them takes them away.

The courtyard site with a supervisor webhook configured (nothing is sent: no alarm is raised and
the delivery threads are not started) and a route of high alarms to the gallery, which has no
destination: one long warning. The runtime's core and reader threads run, its cameras do not."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QSettings
from PySide6.QtWidgets import QApplication, QLabel

from console.runtime import RuntimeOptions, SiteRuntime
from console.site_file import load_site
from console.store import Store
from inference.worker_pool import DetectorSpec
from tests.sites import courtyard_site
from tests.ui.conftest import flush_deleted
from ui.alerts_view import setup_count_text, setup_line
from ui.bridge import PipelineBridge
from ui.main_window import ConsoleWindow

SUPERVISOR = "alert_destinations:\n  supervisor: {webhook: {url: 'http://127.0.0.1:9/page'}}\n"
GALLERY_ROUTE = "alert_routes:\n  - match: {severity: [high]}\n    to: [control_room, gallery]\n"
FIXED_ROUTE = "alert_routes:\n  - match: {severity: [high]}\n    to: [control_room]\n"


def wait_until(condition: Callable[[], bool], timeout_s: float = 30) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        QApplication.processEvents()
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def site_text(path: Path, routes: str) -> str:
    return path.read_text(encoding="utf-8").replace(
        "\nguards:", "\n" + SUPERVISOR + routes + "guards:"
    )


def shown_whole(window: ConsoleWindow, label: QLabel) -> None:
    QApplication.processEvents()
    left = label.mapTo(window, QPoint(0, 0)).x()
    assert left >= 0
    assert left + label.width() <= window.width()
    assert label.height() >= label.heightForWidth(label.width())


@pytest.fixture
def window(tmp_path: Path, qapp) -> Iterator[ConsoleWindow]:
    site_path = courtyard_site(tmp_path)
    original = site_path.read_text(encoding="utf-8")
    site_path.write_text(site_text(site_path, GALLERY_ROUTE), encoding="utf-8")
    (tmp_path / "fixed.yaml").write_text(original, encoding="utf-8")
    store = Store(f"sqlite:///{tmp_path / 'alarms.db'}")
    bridge = PipelineBridge()
    runtime = SiteRuntime(
        load_site(site_path),
        store,
        RuntimeOptions(detector=DetectorSpec("ssdlite"), cpu_workers=1, site_path=site_path),
        on_alarm=bridge.on_alarm,
        on_site_notice=bridge.on_site_notice,
        **bridge.callbacks(),
    )
    bridge.serve(runtime.post)
    runtime.core.start()
    runtime.reader.start()
    settings = QSettings(str(tmp_path / "console.ini"), QSettings.Format.IniFormat)
    made = ConsoleWindow(runtime, bridge, station="desk-1", settings=settings)
    try:
        made.resize(1920, 1080)
        made.show()
        yield made
    finally:
        made.close()
        made.deleteLater()
        flush_deleted()
        bridge.close()
        runtime.stop()
        store.close()
        bridge.deleteLater()
        flush_deleted()


def test_a_long_alert_warning_is_shown_whole_and_goes_when_the_routes_are_fixed(
    window: ConsoleWindow, tmp_path: Path
) -> None:
    runtime = window.runtime
    banner = window.alerts_view.setup_banner
    status = window.alerts_view.status_line
    (warning,) = runtime.alerts.warnings
    assert warning.text.startswith("gallery alerts go nowhere")
    assert warning.fix is not None
    assert "alert_routes[0].to" in warning.fix
    assert wait_until(lambda: banner.isVisible())
    assert window.width() == 1920
    (label,) = banner.labels
    # the whole warning and its fix, in the label's text ...
    assert label.text() == setup_line(warning)
    assert label.text().endswith(warning.fix)
    assert label.isVisible()
    assert label.wordWrap()
    # ... and on screen: inside the window's width, tall enough for every wrapped line; in a
    # narrower window it wraps rather than running off the edge
    shown_whole(window, label)
    window.resize(1280, 900)
    assert wait_until(lambda: label.width() < 1280)
    assert label.fontMetrics().horizontalAdvance(label.text()) > label.width()  # wrapped
    shown_whole(window, label)
    window.resize(1920, 1080)
    # the status line keeps the count only
    assert setup_count_text(1) in status.text.split(" | ")
    assert "go nowhere" not in status.text

    # the supervisor takes the gallery out of the route: applied live, the warning goes
    fixed = tmp_path / "site" / "site.yaml"
    fixed.write_text(site_text(tmp_path / "fixed.yaml", FIXED_ROUTE), encoding="utf-8")
    report = runtime.apply_site(load_site(fixed)).result(timeout=60)
    assert report.applied, report.summary()
    assert wait_until(lambda: banner.isHidden())
    assert runtime.alerts.warnings == ()
    assert banner.labels == []
    assert "ALERTS" not in status.text
