"""A screenshot of the alert setup warnings above the walls, on a real X server (Xvfb, 1920x1080).

The courtyard test site (tests/data/courtyard_site: one camera on vtest.avi) with a route of high
alarms to the gallery and neither a gallery nor a supervisor destination, run by a real runtime
(capture process, the offline SSDLite detector, the rules, a store of its own with one monitor)
behind the real console window, signed in. It takes:

    alert-setup-warnings.jpg  the whole screen: both warnings whole, one a line, in red, each
                              with its fix, above the walls; their count in the status line

    .venv/bin/python docs/take_alert_setup_screenshot.py [--out docs/images] [--seconds 20]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ui_paint import display
from docs.take_editor_screenshots import courtyard

MAX_BYTES = 400_000
ROUTE = "alert_routes:\n  - match: {severity: [high]}\n    to: [control_room, gallery]\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "images")
    parser.add_argument("--seconds", type=float, default=20.0, help="wait for the picture")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with display("xvfb") as where, tempfile.TemporaryDirectory(prefix="nw-alert-shot-") as tmp:
        print(f"console on {where}", flush=True)
        return run(args.out, Path(tmp), args.seconds)


def run(out: Path, tmp: Path, seconds: float) -> int:
    from PySide6.QtCore import QSettings
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtTest import QTest

    from console.passwords import Password, PasswordHashing
    from console.roles import Role
    from console.runtime import RuntimeOptions, SiteRuntime
    from console.site_file import load_site
    from console.store import AddUser, Store
    from inference.worker_pool import DetectorSpec
    from ui.app import application
    from ui.bridge import PipelineBridge
    from ui.main_window import ConsoleWindow

    app = application()
    site_path = courtyard(tmp)
    text = site_path.read_text(encoding="utf-8")
    site_path.write_text(text.replace("\nguards:", "\n" + ROUTE + "guards:"), encoding="utf-8")
    store = Store(f"sqlite:///{tmp / 'console.db'}", snapshots_dir=tmp / "snapshots")
    password = Password("screenshots-only-" + str(time.time_ns()))
    store.write(
        AddUser(
            "ana", Role.OPERATOR, by="screenshots", password_hash=PasswordHashing().hash(password)
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
    runtime.start()
    settings = QSettings(str(tmp / "console.ini"), QSettings.Format.IniFormat)  # a first start
    window = ConsoleWindow(
        runtime, bridge, station="screenshots", settings=settings, sign_in=("ana", password)
    )
    taken = ""
    try:
        window.show_as_saved()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.05)
        QTest.qWait(700)  # the X server shows what was painted: let every repaint land first
        picture = QGuiApplication.primaryScreen().grabWindow(0)
        path = out / "alert-setup-warnings.jpg"
        for quality in (85, 78, 70, 60, 50):
            picture.save(str(path), "JPG", quality)
            if path.stat().st_size < MAX_BYTES:
                break
        taken = f"{path} ({picture.width()}x{picture.height()}, {path.stat().st_size} B)"
        print("warnings:", *(label.text() for label in window.alerts_view.setup_banner.labels))
    finally:
        window.close()
        bridge.close()
        runtime.stop()
        store.close()
    print(taken)
    return 0 if taken else 1


if __name__ == "__main__":
    raise SystemExit(main())
