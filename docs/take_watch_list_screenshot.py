"""Screenshots of the watch list for the docs: the real console window on a real X server (Xvfb).

The example museum (tests/data/example_site) runs in a real runtime's core (its cameras are not
started: their tiles say so) behind the real console window on a 1920x1080 Xvfb screen, signed
in as an operator. Two visitors are scripted boxes walking through the east gallery's camera,
handed to the runtime's own presence and behaviour models on its core thread (the same as the
tests in tests/ui/test_watch_list.py); the operator puts both on the watch list through the
window, the first leaves the view, half a minute passes, the second is selected on the list, and
U opens the unwatch dialog. It takes:

    watch-list.jpg        the Watched people panel with the unwatch dialog
    watch-list-plan.jpg   the floor plan: the selected visitor's way drawn bolder

JPEG files, each kept under 400 KB. Nobody is taken off the list (the dialog is cancelled).

    .venv/bin/python docs/take_watch_list_screenshot.py [--out docs/images]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ui_paint import display

MAX_BYTES = 400_000
SITE = Path(__file__).resolve().parents[1] / "tests" / "data" / "example_site" / "site.yaml"
OPEN = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)  # Tuesday 11:00 in Amsterdam
FRAME = (1280, 720)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "images")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with display("xvfb") as where, tempfile.TemporaryDirectory(prefix="nw-shots-") as tmp:
        print(f"console on {where}", flush=True)
        return run(args.out, Path(tmp))


def run(out: Path, tmp: Path) -> int:
    from PySide6.QtCore import QSettings, Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QWidget

    from console.clock import FakeClock
    from console.passwords import Password, PasswordHashing
    from console.presence import Observation
    from console.roles import Role
    from console.runtime import RuntimeOptions, SiteRuntime
    from console.site_file import load_site
    from console.store import AddUser, Store
    from inference.detections import Detections
    from inference.worker_pool import DetectorSpec
    from ui.app import application
    from ui.bridge import PipelineBridge
    from ui.main_window import ConsoleWindow

    app = application()
    store = Store(f"sqlite:///{tmp / 'console.db'}")
    password = Password("screenshots-only-" + str(time.time_ns()))
    store.write(
        AddUser(
            "ana", Role.OPERATOR, by="screenshots", password_hash=PasswordHashing().hash(password)
        )
    ).result()
    bridge = PipelineBridge()
    clock = FakeClock(OPEN)
    runtime = SiteRuntime(
        load_site(SITE),
        store,
        RuntimeOptions(detector=DetectorSpec("ssdlite"), cpu_workers=1),
        clock=clock,
        on_alarm=bridge.on_alarm,
        **bridge.callbacks(),
    )
    bridge.serve(runtime.post)
    runtime.core.start()
    runtime.reader.start()
    settings = QSettings(str(tmp / "console.ini"), QSettings.Format.IniFormat)  # a first start
    window = ConsoleWindow(runtime, bridge, station="screenshots", settings=settings)
    screen = QGuiApplication.primaryScreen()
    window.setGeometry(screen.availableGeometry())
    window.show()
    taken: list[str] = []

    def wait(condition: Callable[[], object], timeout_s: float = 30) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            app.processEvents()
            if condition():
                return True
            time.sleep(0.02)
        return bool(condition())

    def save(name: str, widget: QWidget) -> None:
        QTest.qWait(700)  # the X server shows what was painted: let every repaint land first
        at = widget.mapToGlobal(widget.rect().topLeft())
        picture = screen.grabWindow(0, at.x(), at.y(), widget.width(), widget.height())
        path = out / name
        for quality in (85, 78, 70, 60, 50):
            picture.save(str(path), "JPG", quality)
            if path.stat().st_size < MAX_BYTES:
                break
        taken.append(f"{path} ({picture.width()}x{picture.height()}, {path.stat().st_size} B)")

    calibration = runtime.site.calibration("cam-east")
    assert calibration is not None

    def look(people: dict[int, tuple[float, float]]) -> None:
        """One second, one look of the east gallery's camera (on the core thread)."""
        clock.advance(1.0)
        now = clock.now()
        boxes = []
        for plan_xy in people.values():
            x, y = (float(v) for v in calibration.plan_to_image_px([plan_xy])[0])
            boxes.append([x - 50, y - 200, x + 50, y])
        ids = list(people)
        dets = Detections(boxes, [0.9] * len(ids), track_id=ids) if ids else Detections.empty()
        camera_s = (now - OPEN).total_seconds()
        camera = runtime.presence.update(Observation("cam-east", camera_s, dets, FRAME), now)
        runtime.behaviour.observe(camera, now, dict.fromkeys(ids))
        runtime.behaviour.tick(now)

    def walk(steps: list[dict[int, tuple[float, float]]]) -> None:
        for people in steps:
            runtime.core.post(lambda p=people: look(p)).result(timeout=30)  # type: ignore[misc]

    try:
        window.sign_in_panel.name_edit.setText("ana")
        window.sign_in_panel.password_edit.setText(password.reveal())
        QTest.keyClick(window.sign_in_panel.password_edit, Qt.Key.Key_Return)
        if not wait(lambda: window.user == "ana" and window.desk.waiting == 0):
            print("not signed in", file=sys.stderr)
            return 1
        # two visitors in the east gallery: one walks to The Milkmaid and out to the west
        # door, the other comes in from the east and stays by the wall
        first = [(1100.0 - 25.0 * k, 420.0 - 12.0 * k) for k in range(18)]
        second = [(1120.0 - 18.0 * k, 470.0 - 4.0 * k) for k in range(18)]
        walk([{1: a, 2: b} for a, b in zip(first, second, strict=True)])
        window.watch_person("cam-east", 1, "asked twice where the alarm panel is")
        window.watch_person("cam-east", 2, "photographed the window locks")
        wait(lambda: window.desk.waiting == 0 and len(window.watch_list.people) == 2)
        walk([{2: (second[-1][0] - 6.0 * k, second[-1][1] + 3.0 * k)} for k in range(1, 35)])
        wait(lambda: window.watch_list.row_texts()[0][1].endswith("s ago"))
        window.watch_list.table.setFocus()
        window.watch_list.select(window.watch_list.people[1].visitor_id)
        QTest.keyClick(window.watch_list.table, Qt.Key.Key_U)
        if window.watch_list.dialog is None:  # the window is not active on a bare X server
            window.watch_list.unwatch_action.trigger()
        dialog = window.watch_list.dialog
        assert dialog is not None
        QTest.keyClicks(dialog.reason_edit, "a restorer, known to the guards")
        dock = window.watch_dock
        window.resizeDocks([window.queue_dock, dock], [560, 400], Qt.Orientation.Vertical)
        dialog.resize(560, dialog.height())
        wait(lambda: False, 0.3)
        corner = dock.mapToGlobal(dock.rect().bottomRight())
        dialog.move(corner.x() - dialog.width() - 20, corner.y() - dialog.height() - 60)
        save("watch-list.jpg", dock)
        dialog.reject()
        save("watch-list-plan.jpg", window.plan_dock)
    finally:
        window.close()
        bridge.close()
        runtime.stop()
        store.close()
    print("\n".join(taken))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
