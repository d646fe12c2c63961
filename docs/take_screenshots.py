"""Screenshots of the console for the docs: the real demo museum on a real X server (Xvfb).

The demo museum (`nightwatch demo`'s site: 64 cameras playing clips cut from vtest.avi) runs in
a real runtime (capture processes, the offline detector, the rules, a store of its own in a
temporary folder) behind the real console window on a 1920x1080 Xvfb screen, with the layout of a
first start. After `--seconds` (alarms are up by then) it takes, in order:

    console-demo.jpg     the whole screen
    alarm-queue.jpg      the alarm queue with three alarms selected
    alarm-detail.jpg     the detail of the current alarm (Enter)
    resolve-several.jpg  the resolve dialog for the three (R)
    focus-wall-9.jpg     the focus wall at 9 slots
    floor-plan.jpg       the floor plan as it fits its panel
    focus-wall-f8.jpg    the whole screen after F8 (the focus wall in a window of its own)

JPEG files, each kept under 400 KB. Nothing is handled for real: dialogs are closed with Esc.

    .venv/bin/python docs/take_screenshots.py [--seconds 60] [--out docs/images]
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ui_paint import display

MAX_BYTES = 400_000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="wait before the first shot")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "images")
    parser.add_argument("--cameras", type=int, default=64)
    parser.add_argument("--workers", type=int, default=1, help="CPU detector workers")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    # the benchmark's Xvfb: a 1920x1080 screen of its own (DISPLAY and QT_QPA_PLATFORM set)
    with display("xvfb") as where, tempfile.TemporaryDirectory(prefix="nw-shots-") as tmp:
        print(f"console on {where}, shots in {args.seconds:.0f} s", flush=True)
        return run(args, Path(tmp))


def run(args: argparse.Namespace, tmp: Path) -> int:
    from PySide6.QtCore import QSettings, Qt, QTimer
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QWidget

    from console.passwords import Password, PasswordHashing
    from console.roles import Role
    from console.runtime import RuntimeOptions, SiteRuntime
    from console.site_file import load_site
    from console.store import AddUser, Store
    from inference.worker_pool import DetectorSpec
    from resources.demo_museum import build_demo_site
    from ui.app import application
    from ui.bridge import PipelineBridge
    from ui.dispatch_dialog import ResolveDialog
    from ui.main_window import ConsoleWindow

    app = application()
    site = load_site(build_demo_site(cameras=args.cameras))
    store = Store(f"sqlite:///{tmp / 'demo.db'}", snapshots_dir=tmp / "snapshots")
    password = Password("screenshots-only-" + secrets.token_hex(8))  # a throwaway account
    hashed = PasswordHashing().hash(password)
    store.write(
        AddUser("night-monitor", Role.OPERATOR, by="screenshots", password_hash=hashed)
    ).result()
    bridge = PipelineBridge()
    options = RuntimeOptions(detector=DetectorSpec("ssdlite"), cpu_workers=args.workers)
    runtime = SiteRuntime(
        site,
        store,
        options,
        on_alarm=bridge.on_alarm,
        on_store_health=bridge.on_store_health,
        **bridge.callbacks(),
    )
    bridge.serve(runtime.post)
    settings = QSettings(str(tmp / "console.ini"), QSettings.Format.IniFormat)  # a first start
    runtime.start()
    window = ConsoleWindow(runtime, bridge, settings=settings, sign_in=("night-monitor", password))
    window.show_as_saved()
    screen = QGuiApplication.primaryScreen()
    taken: list[str] = []

    def save(name: str, widget: QWidget | None = None) -> None:
        QTest.qWait(500)  # the X server shows what was painted: let every repaint land first
        if widget is None:
            picture = screen.grabWindow(0)
        else:
            at = widget.mapToGlobal(widget.rect().topLeft())
            picture = screen.grabWindow(0, at.x(), at.y(), widget.width(), widget.height())
        path = args.out / name
        for quality in (82, 75, 68, 60, 50):
            picture.save(str(path), "JPG", quality)
            if path.stat().st_size < MAX_BYTES:
                break
        taken.append(f"{path} ({picture.width()}x{picture.height()}, {path.stat().st_size} B)")

    queue = window.queue
    steps: list[tuple[float, Callable[[], None]]] = []

    def press(widget: QWidget, key: Qt.Key, then: Callable[[], object]) -> None:
        """A key as the monitor presses it (the window active, the widget focused)."""
        window.activateWindow()
        widget.setFocus()
        app.processEvents()
        QTest.keyClick(widget, key)
        app.processEvents()
        if not then():
            print(f"note: key {key.name} did nothing (window active: {window.isActiveWindow()})")

    def select_three() -> None:
        window.activateWindow()
        queue.table.setFocus()
        queue.table.selectRow(0)
        for _ in range(2):
            QTest.keyClick(queue.table, Qt.Key.Key_Down, Qt.KeyboardModifier.ShiftModifier)

    def detail() -> None:
        press(queue.table, Qt.Key.Key_Return, lambda: queue.detail is not None)

    def detail_shot() -> None:
        if queue.detail is not None:
            save("alarm-detail.jpg", queue.detail)
            QTest.keyClick(queue.detail, Qt.Key.Key_Escape)

    def resolve() -> None:
        press(queue.table, Qt.Key.Key_R, lambda: queue.active_dialog is not None)

    def resolve_shot() -> None:
        dialog = queue.active_dialog
        if isinstance(dialog, ResolveDialog):
            QTest.keyClick(dialog.outcome_list, Qt.Key.Key_1)  # chosen, not sent
            save("resolve-several.jpg", dialog)
            dialog.reject()

    def nine() -> None:
        window.focus.set_slot_count(9)

    def f8() -> None:
        press(window.wall, Qt.Key.Key_F8, window.focus_dock.isFloating)

    def f8_back() -> None:
        save("focus-wall-f8.jpg")
        press(window.focus, Qt.Key.Key_F8, lambda: not window.focus_dock.isFloating())

    def finish() -> None:
        print(f"{len(queue.model.alarms())} open alarms; status: {window.health_line.text}")
        window.close()
        app.quit()

    steps = [
        (args.seconds, lambda: save("console-demo.jpg")),
        (0.5, select_three),
        (1.0, lambda: save("alarm-queue.jpg", window.queue_dock)),
        (0.5, detail),
        (3.0, detail_shot),
        (1.0, resolve),
        (1.0, resolve_shot),
        (0.5, nine),
        (3.0, lambda: save("focus-wall-9.jpg", window.focus_dock)),
        (0.5, lambda: save("floor-plan.jpg", window.plan_dock)),
        (0.5, f8),
        (2.0, f8_back),
        (1.0, finish),
    ]

    def run_step(index: int) -> None:
        if index >= len(steps):
            return
        _delay, step = steps[index]
        try:
            step()
        finally:
            if index + 1 < len(steps):
                QTimer.singleShot(round(steps[index + 1][0] * 1000), lambda: run_step(index + 1))

    QTimer.singleShot(round(steps[0][0] * 1000), lambda: run_step(0))
    try:
        app.exec()
    finally:
        bridge.close()
        runtime.stop()
        store.close()
    for line in taken:
        print(line)
    return 0 if len(taken) == 7 else 1


if __name__ == "__main__":
    raise SystemExit(main())
