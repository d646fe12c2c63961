"""Screenshots of evidence clips and the incident browser for the auditor's guide, on a real X
server (Xvfb).

The demo museum (`nightwatch demo`'s site, `--cameras` cameras playing clips cut from
vtest.avi, closed today so after-hours alarms arise) runs in a real runtime with its recorders
(clips: pre-roll 10 s, post-roll 8 s, at most 40 s so that one is kept within a minute) behind
the real console window on a 1920x1080 Xvfb screen. Its store also holds a history of
`--history` generated, resolved alarms over the 60 nights before today on the demo's own cameras,
artworks and zones (`bench/incident_browser.py`'s generator: made up, said so in the guide), so
the browser and its figures have a log to show. It takes:

    alarm-detail-clip.jpg   the supervisor opens an alarm with a kept clip: the Clip tab, played
                            two seconds, the boxes drawn over it
    incident-browser.jpg    the auditor's page: the incidents of the last 61 days, the live
                            alarm with its clip opened (timeline, response times, clip)
    incident-figures.jpg    the Figures tab for the same search

JPEG files under 400 KB. Nothing is handled for real.

    .venv/bin/python docs/take_evidence_screenshots.py [--cameras 8] [--out docs/images]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ui_paint import display

MAX_BYTES = 400_000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "images")
    parser.add_argument("--cameras", type=int, default=8)
    parser.add_argument("--history", type=int, default=3000)
    parser.add_argument("--workers", type=int, default=1, help="CPU detector workers")
    parser.add_argument("--wait", type=float, default=240.0, help="longest wait for a clip")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with display("xvfb") as where, tempfile.TemporaryDirectory(prefix="nw-shots-") as tmp:
        print(f"console on {where}", flush=True)
        return run(args, Path(tmp))


def run(args: argparse.Namespace, tmp: Path) -> int:
    from PySide6.QtCore import QDate, QSettings
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication, QWidget

    from bench.incident_browser import Museum, fill
    from console.commands.demo import DEMO_ACCOUNTS, ensure_demo_accounts
    from console.passwords import Password
    from console.runtime import RuntimeOptions, SiteRuntime
    from console.site_file import load_site
    from console.store import ClipState, Store
    from console.store.clips import clips
    from inference.worker_pool import DetectorSpec
    from resources.demo_museum import build_demo_site
    from ui.app import application
    from ui.bridge import PipelineBridge
    from ui.main_window import ConsoleWindow

    app = application()
    site_yaml = build_demo_site(tmp / "demo", cameras=args.cameras)
    site_yaml.write_text(
        site_yaml.read_text() + "evidence: {pre_roll_s: 10, post_roll_s: 8, max_clip_s: 40}\n"
    )
    site = load_site(site_yaml)
    url = f"sqlite:///{tmp / 'demo.db'}"
    ensure_demo_accounts(url)
    now = datetime.now(UTC)
    museum = Museum(
        cameras=tuple(c.id for c in site.cameras),
        objects=tuple(o.id for o in site.protected_objects),
        zones=tuple(z.id for z in site.zones),
        operators=("operator", "night-ana", "night-ben"),
        guard=site.guards[0].id,
    )
    fill(
        tmp / "demo.db",
        args.history,
        60,
        museum=museum,
        start=now - timedelta(days=61),
        all_resolved=True,
    )
    passwords = {name: Password(secret) for name, _role, secret in DEMO_ACCOUNTS}
    store = Store(url)
    bridge = PipelineBridge()
    options = RuntimeOptions(detector=DetectorSpec("ssdlite"), cpu_workers=args.workers)
    runtime = SiteRuntime(site, store, options, on_alarm=bridge.on_alarm, **bridge.callbacks())
    bridge.serve(runtime.post)
    settings = QSettings(str(tmp / "console.ini"), QSettings.Format.IniFormat)
    runtime.start()
    window = ConsoleWindow(
        runtime,
        bridge,
        station="demo-desk",
        settings=settings,
        sign_in=("supervisor", passwords["supervisor"]),
    )
    window.show_as_saved()
    screen = QGuiApplication.primaryScreen()
    taken: list[str] = []

    def wait(condition: Callable[[], object], seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            app.processEvents()
            if condition():
                return True
            QTest.qWait(100)
        return bool(condition())

    def save(name: str, widget: QWidget | None = None) -> None:
        QTest.qWait(600)
        if widget is None:
            picture = screen.grabWindow(0)
        else:
            at = widget.mapToGlobal(widget.rect().topLeft())
            picture = screen.grabWindow(0, at.x(), at.y(), widget.width(), widget.height())
        path = args.out / name
        for quality in (85, 78, 70, 62, 55, 48):
            picture.save(str(path), "JPG", quality)
            if path.stat().st_size < MAX_BYTES:
                break
        taken.append(f"{path} ({picture.width()}x{picture.height()}, {path.stat().st_size} B)")

    def kept_clip() -> int | None:
        """An open alarm whose clip is kept (read on the runtime's reader thread)."""
        for alarm in runtime.alarms.open_alarms():
            found = runtime.query(clips, alarm.alarm_id).result(10)
            if any(c.state == ClipState.KEPT for c in found):
                return alarm.alarm_id
        return None

    try:
        found: list[int] = []

        def remember_clip() -> bool:
            alarm = kept_clip()
            if alarm is not None:
                found.append(alarm)
            return alarm is not None

        if not wait(remember_clip, args.wait):
            print("no clip was kept in time")
            return 1
        alarm_id = found[-1]
        queue = window.queue
        row = queue.model.row_of(alarm_id)
        detail = queue.open_detail(row)
        assert detail is not None
        detail.evidence.setCurrentIndex(2)
        player = detail.evidence.player
        wait(lambda: player.frames_shown >= 1, 20)
        player.seek(8.0)
        player.play()
        QTest.qWait(2500)
        player.pause()
        save("alarm-detail-clip.jpg", detail)
        detail.reject()
        QApplication.processEvents()

        window.desk.sign_out("screenshots: the auditor's turn")
        wait(lambda: window.desk.session is None, 20)
        window.desk.sign_in("auditor", passwords["auditor"])
        wait(lambda: window.pages.currentIndex() == window.RECORDS_PAGE, 30)
        window.showMaximized()  # the auditor's page on the whole 1920x1080 screen
        QTest.qWait(500)
        print(f"window {window.width()}x{window.height()}, at least {window.minimumSizeHint()}")
        browser = window.records
        today = now.astimezone(site.tz).date()
        browser.from_edit.setDate(QDate(today - timedelta(days=61)))
        browser.to_edit.setDate(QDate(today))
        browser.refresh()
        wait(lambda: browser.rows and browser.page is not None, 30)
        index = next((i for i, r in enumerate(browser.rows) if r.alarm_id == alarm_id), 0)
        browser.table.selectRow(index)
        wait(lambda: browser.record is not None and browser.record.alarm.id == alarm_id, 30)
        browser.evidence.setCurrentIndex(2)
        wait(lambda: browser.evidence.player.frames_shown >= 1, 20)
        browser.evidence.player.seek(9.0)
        browser.evidence.player.play()
        QTest.qWait(2000)
        browser.evidence.player.pause()
        save("incident-browser.jpg")
        browser.tabs.setCurrentWidget(browser.charts)
        wait(lambda: browser.charts.figures is not None, 60)
        save("incident-figures.jpg")
    finally:
        window.close()
        bridge.close()
        runtime.stop()
        store.close()
    for line in taken:
        print(line)
    return 0 if len(taken) == 3 else 1


if __name__ == "__main__":
    raise SystemExit(main())
