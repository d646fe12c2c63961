"""The console window an overnight monitor lives in.

    ┌ menu: Alarm · View · Sound ────────────────────────────────────────────┐
    │ focus wall (dock, floats to a 2nd screen) │ video wall (all cameras)   │ alarm queue (dock)
    │ floor plan (dock)                          │                            │
    └ status bar: detector · cameras live · frames/s · latency · messages ───┘

The window owns no logic: it builds the views over the runtime's models (alarm manager, focus
wall policy, pipeline rings), wires them through the one `PipelineBridge`, and forwards what the
monitor does to model methods. Layout, focus-wall size, font scale and screen placement persist
in QSettings.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QByteArray, QSettings, Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QApplication, QDockWidget, QMainWindow, QVBoxLayout, QWidget

from console.alarms import Alarm
from console.focus_wall import FocusWall
from console.operator_check import OperatorCheck, OperatorCheckEvent
from console.runtime import SiteRuntime
from console.store import StoreHealth
from ui.alarm_queue import AlarmQueueView
from ui.bridge import PipelineBridge
from ui.floor_plan_view import FloorPlanView
from ui.focus_wall_view import FocusWallView, float_on_screen
from ui.health_panel import HealthMonitor, HealthPanel, HealthStatusLine
from ui.operator_check import OperatorCheckController
from ui.sound import AlarmSoundPlayer
from ui.storage_banner import StorageBanner
from ui.theme import apply_theme
from ui.video_wall import VideoWall, cameras_from_pipeline

log = logging.getLogger(__name__)

SETTINGS_ORG = "Nightwatch"
SETTINGS_APP = "console"
FONT_SCALES = (0.85, 1.0, 1.15, 1.3, 1.5, 1.75)


class ConsoleWindow(QMainWindow):
    def __init__(
        self,
        runtime: SiteRuntime,
        bridge: PipelineBridge,
        *,
        user: str,
        settings: QSettings | None = None,
        sound: AlarmSoundPlayer | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.runtime = runtime
        self.bridge = bridge
        self.user = user
        self.settings = settings or QSettings(SETTINGS_ORG, SETTINGS_APP)
        site = runtime.site
        manager = runtime.alarms
        self.setObjectName("ConsoleWindow")
        self.setWindowTitle(f"Nightwatch · {site.site.name} · {user}")
        bridge.serve_queries(runtime.query)  # the views' reads of the store: the reader thread

        names = {camera.id: camera.name for camera in site.cameras}
        self.wall = VideoWall(
            cameras_from_pipeline(runtime.pipeline, names), main_streams=runtime.pipeline
        )
        self.wall.listen_to(bridge)
        # a storage fault is said across the top of the window, above the wall
        self.storage_banner = StorageBanner()
        centre = QWidget()
        centre.setObjectName("centre")
        column = QVBoxLayout(centre)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.storage_banner)
        column.addWidget(self.wall, 1)
        self.setCentralWidget(centre)
        bridge.store_health_changed.connect(self.storage_banner.show_health)
        bridge.store_health_changed.connect(self._store_health_changed)

        slots = int(self.settings.value("focus/slots", 4))
        self.focus_model = FocusWall(runtime.clock, slots if slots in (1, 2, 4, 6, 9) else 4)
        self.focus = FocusWallView(self.focus_model, site, runtime.pipeline.rings)
        self.focus.listen_to(bridge)
        self.focus_dock = self._dock(
            "focus", "Focus wall", self.focus, Qt.DockWidgetArea.LeftDockWidgetArea
        )

        self.queue = AlarmQueueView(manager, site, user, runtime.clock, bridge)
        self.queue_dock = self._dock(
            "alarms", "Alarms", self.queue, Qt.DockWidgetArea.RightDockWidgetArea
        )

        self.plan = FloorPlanView(site)
        self.plan.listen_to(bridge)
        self.plan_dock = self._dock(
            "plan", "Floor plan", self.plan, Qt.DockWidgetArea.LeftDockWidgetArea
        )

        self.sound = sound or AlarmSoundPlayer(runtime.clock)

        self.health = HealthMonitor(runtime.pipeline, parent=self)
        self.health_line = HealthStatusLine()
        self.statusBar().addPermanentWidget(self.health_line)
        self.health_panel = HealthPanel(self.health.history)
        self.health_dock = self._dock(
            "health", "Health", self.health_panel, Qt.DockWidgetArea.BottomDockWidgetArea
        )
        self.health_dock.hide()  # on demand: View > Health
        self.health.sampled.connect(self.health_line.show_sample)
        self.health.sampled.connect(self.health_panel.refresh)

        self.operator_check = OperatorCheckController(
            OperatorCheck(site, runtime.clock, runtime.audit_log),
            user,
            prompt_parent=self,
            parent=self,
        )
        self.operator_check.escalated.connect(self._operator_unanswered)

        # the one door: the runtime's alarms arrive through the bridge, on this thread
        bridge.alarm_changed.connect(self._on_alarm_changed)
        self.queue.message.connect(self._message)
        self.queue.alarms_changed.connect(self.sound.set_alarms)
        self.sound.notice.connect(self._message)
        self.focus.camera_activated.connect(self.wall.enlarge)
        self.focus.slot_count_changed.connect(lambda n: self.settings.setValue("focus/slots", n))
        self.plan.camera_clicked.connect(self.focus.show_camera)

        self._build_menus()
        self._restore()
        self._refresh_alarms()
        self.health.start()
        self.sound.start()
        self.operator_check.start()

    # -- building ------------------------------------------------------------------------------

    def _dock(self, name: str, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock-{name}")  # saveState needs names
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        self.addDockWidget(area, dock)
        return dock

    def _action(self, text: str, shortcut: str, slot: Callable[[], None]) -> QAction:
        action = QAction(text, self)
        action.setShortcut(QKeySequence(shortcut))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        alarm_menu = self.queue.menu()
        alarm_menu.setTitle("&Alarm")
        bar.addMenu(alarm_menu)
        self._go_to_alarms = self._action("Go to the alarm queue", "F2", self._focus_queue)
        alarm_menu.addSeparator()
        alarm_menu.addAction(self._go_to_alarms)

        view = bar.addMenu("&View")
        for dock in (self.focus_dock, self.queue_dock, self.plan_dock, self.health_dock):
            view.addAction(dock.toggleViewAction())
        self.float_focus_action = self._action(
            "Focus wall in a window of its own (second screen)", "F8", self._float_focus
        )
        self.float_focus_action.setCheckable(True)
        self.focus_dock.topLevelChanged.connect(self.float_focus_action.setChecked)
        view.addAction(self.float_focus_action)
        view.addSeparator()
        view.addAction(self._action("Larger text", "Ctrl++", lambda: self._step_font(+1)))
        view.addAction(self._action("Smaller text", "Ctrl+-", lambda: self._step_font(-1)))
        view.addAction(self._action("Full screen", "F11", self._toggle_full_screen))

        sound_menu = bar.addMenu("&Sound")
        sound_menu.addAction(self.sound.mute_action)

    # -- what arrives --------------------------------------------------------------------------

    def _on_alarm_changed(self, _alarm: Alarm) -> None:
        self._refresh_alarms()

    def _store_health_changed(self, health: StoreHealth) -> None:
        self.queue.set_store_fault(health.fault)
        if health.fault is not None:
            self._message(f"Storage fault: {health.fault}")

    def _refresh_alarms(self) -> None:
        alarms = self.runtime.alarms.open_alarms()
        self.focus.update_alarms(alarms)
        self.plan.update_alarms(alarms)
        self.wall.update_alarms(alarms)

    def _message(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000)

    def _operator_unanswered(self, event: OperatorCheckEvent) -> None:
        self._message("Nobody answered the “still there?” check: escalated to the supervisor")
        log.warning("operator check unanswered: %s", event)

    # -- what the monitor does -----------------------------------------------------------------

    def _focus_queue(self) -> None:
        self.queue_dock.show()
        self.queue_dock.raise_()
        self.queue.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def _float_focus(self) -> None:
        """F8: the focus wall in a window of its own (on the second screen when there is one);
        F8 again docks it back, so on one screen it never hides the console for good."""
        if self.focus_dock.isFloating():
            self.focus_dock.setFloating(False)
            self.focus_dock.show()
            self._message("Focus wall docked in the console again")
            return
        float_on_screen(self.focus_dock, keep_visible=self)
        if len(QApplication.screens()) < 2:
            self._message("Focus wall in its own window: F8 docks it back")

    def _toggle_full_screen(self) -> None:
        self.showNormal() if self.isFullScreen() else self.showFullScreen()

    def _step_font(self, step: int) -> None:
        scale = float(self.settings.value("view/font_scale", 1.0))
        index = min(range(len(FONT_SCALES)), key=lambda i: abs(FONT_SCALES[i] - scale))
        scale = FONT_SCALES[max(0, min(len(FONT_SCALES) - 1, index + step))]
        self.settings.setValue("view/font_scale", scale)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, scale)
        self._message(f"text size {scale:.0%}")

    # -- persistence ---------------------------------------------------------------------------

    def _restore(self) -> None:
        geometry = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        self._restored_geometry = isinstance(geometry, QByteArray)
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        else:  # the first start: the whole screen (also where no window manager maximizes)
            screen = self.screen() or QApplication.primaryScreen()
            self.setGeometry(screen.availableGeometry())
        if isinstance(state, QByteArray):
            self.restoreState(state)
        else:
            self.apply_default_layout()

    def apply_default_layout(self) -> None:
        """The first start's layout: on a large screen, room for the queue's columns (up to
        Raised and Escalation) beside the focus wall and a square-ish video wall."""
        width = self.width()
        if width >= 1400:
            self.resizeDocks(
                [self.focus_dock, self.queue_dock],
                [round(width * 0.3), round(width * 0.38)],
                Qt.Orientation.Horizontal,
            )

    def show_as_saved(self) -> None:
        """Show where and how the monitor left it last time; maximized the first time."""
        if self._restored_geometry:
            self.show()
        else:
            self.showMaximized()

    def save_layout(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.setValue("focus/slots", self.focus_model.slot_count)
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_layout()
        self.health.stop()
        self.operator_check.close()
        self.sound.close()
        for view in (
            self.wall,
            self.focus,
            self.queue,
            self.plan,
            self.health_panel,
            self.storage_banner,
        ):
            view.close()
        super().closeEvent(event)
