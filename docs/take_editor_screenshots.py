"""Screenshots of the site editor and the walk test for the supervisor's guide, on a real X
server (Xvfb, 1920x1080).

The courtyard test site (tests/data/courtyard_site: one camera on vtest.avi, a plinth by the
path, the example museum's ground-floor plan) is copied into a temporary folder and run by a
real runtime (capture process, the offline SSDLite detector, the rules, a store of its own with
one supervisor). The real editor window is signed in as that supervisor and driven as one
would, then the walk test runs on the live footage. It takes, in order:

    editor-calibration.jpg  calibration by eye: five pairs, errors in metres, the grid over the
                            live picture and the footprint on the plan
    editor-hours.jpg        hours and rules: an evening past midnight, a holiday, zone arming
    editor-plan.jpg         the plan page once saved: the plinth selected, its halo and its
                            fields, the calibrated camera's view cone
    editor-try.jpg          try before arming: the alarms the edited rules would raise
    walk-test-report.jpg    a walk test's report: the plinth passed with its distance and
                            evidence frame; a zone nobody entered failed

The calibration and the hours are saved (into the temporary copy of the site, applied to its
running console); the walk test is stored in the temporary store only.

    .venv/bin/python docs/take_editor_screenshots.py [--out docs/images]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ui_paint import display

MAX_BYTES = 400_000
REPO = Path(__file__).resolve().parents[1]
# A floor mapping of the courtyard camera by eye: four points on the path and the grass in the
# picture and where they are on the plan (the far edge wider than the near one: perspective),
# and a fifth point by the sign post, which stands beside the plinth.
CALIBRATION_IMAGE = [(100, 500), (700, 500), (700, 150), (100, 150)]
CALIBRATION_PLAN = [(250, 465), (350, 465), (460, 165), (140, 165)]
FIFTH_IMAGE = (400, 250)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "images")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with display("xvfb") as where, tempfile.TemporaryDirectory(prefix="nw-editor-") as tmp:
        print(f"editor on {where}", flush=True)
        return run(args.out, Path(tmp))


def courtyard(folder: Path) -> Path:
    from console.media import media_file

    site_dir = folder / "site"
    shutil.copytree(REPO / "tests" / "data" / "courtyard_site", site_dir)
    (site_dir / "footage").mkdir()
    (site_dir / "footage" / "vtest.avi").symlink_to(media_file("vtest.avi"))
    (site_dir / "plans").mkdir()
    shutil.copy(
        REPO / "tests" / "data" / "example_site" / "plans" / "ground.png",
        site_dir / "plans" / "ground.png",
    )
    return site_dir / "site.yaml"


def run(out: Path, tmp: Path) -> int:
    import cv2
    import numpy as np
    from PySide6.QtCore import QDate, QDateTime, Qt, QTime
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication, QWidget

    from console.passwords import Password, PasswordHashing
    from console.roles import Role
    from console.runtime import RuntimeOptions, SiteRuntime
    from console.site_file import load_site
    from console.store import AddUser, Store
    from inference.worker_pool import DetectorSpec
    from ui.app import application
    from ui.bridge import PipelineBridge
    from ui.shift import ShiftDesk
    from ui.site_editor import SiteEditorWindow, WalkTestWindow
    from ui.site_editor.calibration_view import CalibrationDialog
    from ui.site_editor.frames import live_frame

    app = application()
    site_path = courtyard(tmp)
    store = Store(f"sqlite:///{tmp / 'console.db'}", snapshots_dir=tmp / "snapshots")
    password = Password("screenshots-only-" + str(time.time_ns()))
    store.write(
        AddUser(
            "ana", Role.SUPERVISOR, by="screenshots", password_hash=PasswordHashing().hash(password)
        )
    ).result()
    bridge = PipelineBridge()
    options = RuntimeOptions(detector=DetectorSpec("ssdlite"), cpu_workers=1, site_path=site_path)
    runtime = SiteRuntime(
        load_site(site_path),
        store,
        options,
        on_alarm=bridge.on_alarm,
        on_site_notice=bridge.on_site_notice,
        **bridge.callbacks(),
    )
    bridge.serve(runtime.post)
    bridge.serve_queries(runtime.query)
    runtime.start()
    screen = QGuiApplication.primaryScreen()
    taken: list[str] = []

    def wait(condition: Callable[[], object], timeout_s: float) -> bool:
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

    desk = ShiftDesk(bridge, "screenshots")
    editor: SiteEditorWindow | None = None
    walk: WalkTestWindow | None = None
    try:
        desk.sign_in("ana", password)
        if not wait(lambda: desk.session is not None, 30):
            print("not signed in", file=sys.stderr)
            return 1
        editor = SiteEditorWindow(runtime, desk, bridge)
        editor.move(0, 0)
        editor.resize(1600, 950)
        editor.show()
        wait(lambda: not editor.draft.check_pending, 30)

        # calibration by eye, on the camera's live picture
        wait(lambda: live_frame(runtime.pipeline.rings, "cam-path") is not None, 60)
        frame = live_frame(runtime.pipeline.rings, "cam-path")
        assert frame is not None
        dialog = CalibrationDialog(editor.draft, 0, frame, parent=editor)
        dialog.move(0, 0)
        dialog.resize(1600, 950)
        mapping = cv2.getPerspectiveTransform(
            np.float32(CALIBRATION_IMAGE), np.float32(CALIBRATION_PLAN)
        )
        fifth = cv2.perspectiveTransform(np.float32([[FIFTH_IMAGE]]), mapping)[0, 0]
        image_points = [*CALIBRATION_IMAGE, FIFTH_IMAGE]
        plan_points = [*CALIBRATION_PLAN, (round(float(fifth[0]), 1), round(float(fifth[1]), 1))]
        dialog.pairs = [
            [(float(a[0]), float(a[1])), (float(b[0]), float(b[1]))]
            for a, b in zip(image_points, plan_points, strict=True)
        ]
        dialog.show()
        dialog.refit()
        save("editor-calibration.jpg", dialog)
        dialog.apply()  # OK: into the draft, saved with the hours below

        # hours and rules: an evening event past midnight, a holiday, the courtyard armed always
        schedule = editor.schedule
        editor.tabs.setCurrentWidget(schedule)
        friday = schedule.fields["hours.fri"].edit
        friday.setFocus()
        friday.selectAll()
        QTest.keyClicks(friday, "10:00-17:00, 19:00-01:30")
        QTest.keyClick(friday, Qt.Key.Key_Tab)
        schedule.add_exception()
        schedule.exceptions.item(0, 0).setText("2026-12-25")
        schedule.exceptions.item(0, 1).setText("closed")
        schedule.exceptions.item(0, 2).setText("Christmas Day")
        armed = schedule.zones.cellWidget(0, 1)
        armed.setCurrentIndex(armed.findData("always"))
        armed.activated.emit(armed.currentIndex())
        wait(lambda: not editor.draft.check_pending, 30)
        save("editor-hours.jpg", editor)
        # saved: applied to the running console without a restart (the walk test below
        # measures distances with the calibration)
        editor.save()
        wait(lambda: not editor.saving and desk.waiting == 0, 60)
        if editor.last_save is None or not editor.last_save.saved:
            print(f"not saved: {editor.last_save}", file=sys.stderr)
            return 1
        wait(lambda: runtime.site.camera("cam-path").calibration is not None, 30)

        # the plan: the plinth selected (its halo, its fields, its outline in the camera), the
        # calibrated camera's view cone
        editor.tabs.setCurrentIndex(0)
        editor.canvas.select(("protected_objects", 0))
        save("editor-plan.jpg", editor)

        # try before arming: the plinth guarded at 2 m, tried on a closed night
        editor.draft.set_value(("protected_objects", 0, "min_distance_m"), 2.0, "min distance")
        wait(lambda: not editor.draft.check_pending, 30)
        trial = editor.trial
        editor.tabs.setCurrentWidget(trial)
        trial.start.setDateTime(QDateTime(QDate(2026, 11, 28), QTime(2, 0), trial.start.timeZone()))
        trial.every.setValue(1.0)
        trial.run()
        wait(lambda: not trial.running and trial.report is not None, 600)
        if trial.report is not None and trial.report.alarms:
            first = next(iter(trial.bars.values()))
            first.setSelected(True)
        save("editor-try.jpg", editor)

        # the walk test on the live footage
        walk = WalkTestWindow(runtime, desk, bridge)
        walk.move(0, 0)
        walk.resize(1500, 800)
        walk.show()
        walk.start()
        wait(lambda: walk.test is not None, 60)
        wait(lambda: walk.table.rowCount() > 0 and walk.table.item(0, 0).text() == "PASS", 300)
        walk.finish()
        wait(lambda: walk.report is not None, 60)
        walk.table.setCurrentCell(0, 0)
        save("walk-test-report.jpg", walk)
    finally:
        if walk is not None:
            walk.close_for_console()
        if editor is not None:
            editor.close_for_console()
        QApplication.processEvents()
        bridge.close()
        runtime.stop()
        store.close()
    for line in taken:
        print(line)
    return 0 if len(taken) == 5 else 1


if __name__ == "__main__":
    raise SystemExit(main())
