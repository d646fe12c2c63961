"""Start the console window on a site: the Qt application, the runtime, the window, the stop.

    nightwatch run SITE        this, on a museum's site file
    nightwatch demo            this, on the generated demo museum

The window opens on the sign-in screen (the demo signs its operator in by itself). A bad site
file, an unreadable database or a detector that cannot start is shown to the user in a message
box (and on stderr) instead of a half-configured console. Ctrl-C in the terminal and
SIGTERM close the window as its close button does (`ui.stop_signals`).
"""

from __future__ import annotations

import logging
import sys
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QMessageBox

from console.interpreter import settle_interpreter
from console.passwords import Password
from console.runtime import RuntimeOptions, SiteRunError, SiteRuntime
from console.site_file import SiteFileError, load_site
from console.store import Store, StoreError
from ui.bridge import PipelineBridge
from ui.main_window import SETTINGS_APP, SETTINGS_ORG, ConsoleWindow
from ui.stop_signals import SignalStop
from ui.theme import apply_theme, configure_high_dpi

log = logging.getLogger(__name__)


def application() -> QApplication:
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    configure_high_dpi()
    app = QApplication(sys.argv[:1])
    app.setOrganizationName(SETTINGS_ORG)
    app.setApplicationName("Nightwatch")
    settings = QSettings(SETTINGS_ORG, SETTINGS_APP)
    apply_theme(app, float(str(settings.value("view/font_scale", 1.0))))
    return app


def refuse(title: str, text: str) -> int:
    print(f"nightwatch: {text}", file=sys.stderr)
    application()
    QMessageBox.critical(None, f"Nightwatch: {title}", text)
    return 1


def run_console(
    site_path: Path,
    options: RuntimeOptions,
    *,
    db_url: str | None = None,
    sign_in: tuple[str, Password] | None = None,
    notice: str | None = None,
) -> int:
    """Open the console on a site until the window closes; returns the exit code. `sign_in`
    signs that account in at once (the demo's operator); `notice` goes in the title and on the
    sign-in screen (the demo's accounts)."""
    app = application()
    windows: list[ConsoleWindow] = []
    stopped_by: list[str] = []

    def stop(signal_name: str) -> None:
        stopped_by.append(signal_name)
        for window in windows:
            window.close()
        app.quit()

    # from here on, a signal waits for the event loop, which then closes the window at once
    stopper = SignalStop(stop)
    try:
        code = _open_console(app, site_path, options, db_url, windows, sign_in, notice)
    finally:
        stopper.close()
        stopper.deleteLater()
    if stopped_by:
        print(f"stopped on {stopped_by[0]}; every alarm is stored", flush=True)
    return code


def _open_console(
    app: QApplication,
    site_path: Path,
    options: RuntimeOptions,
    db_url: str | None,
    windows: list[ConsoleWindow],
    sign_in: tuple[str, Password] | None,
    notice: str | None,
) -> int:
    try:
        site = load_site(site_path)
    except SiteFileError as exc:
        return refuse("the site file has problems", "\n".join(exc.problems))
    try:
        store = Store(db_url)
    except StoreError as exc:
        return refuse("the alarm store cannot open", str(exc))
    bridge = PipelineBridge()
    try:
        try:
            runtime = SiteRuntime(
                site,
                store,
                # site editor: the window watches its site file (an edit applied without a
                # restart) and saves through it; the notices reach the window by the bridge
                replace(options, site_path=site_path) if options.replay is None else options,
                on_alarm=bridge.on_alarm,
                on_store_health=bridge.on_store_health,
                on_alert_notice=bridge.on_alert_notice,
                on_site_notice=bridge.on_site_notice,
                on_tracks=bridge.on_tracks,
                on_status=bridge.on_status,
                on_event=bridge.on_event,
            )
        except SiteRunError as exc:
            return refuse("the site cannot run", f"{site_path}: {exc}")
        bridge.serve(runtime.post)
        runtime.start()
        try:
            window = ConsoleWindow(runtime, bridge, sign_in=sign_in, notice=notice)
            windows.append(window)
            window.show_as_saved()
            settle_interpreter()  # the lock shared finely, startup objects frozen
            log.info("console window open on %s (%s)", site.site.name, site_path)
            code = app.exec()
            window.close()
        finally:
            bridge.close()
            runtime.stop()
        return int(code)
    finally:
        store.close()
