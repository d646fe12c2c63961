"""The console window an overnight monitor lives in.

    ┌ menu: Alarm · Shift · Supervisor · View · Sound ───────────────────────┐
    │ storage banner (a fault of the store, when there is one)                │
    │ focus wall (dock, floats to a 2nd screen) │ lock bar (while locked)     │ alarm queue (dock)
    │ floor plan (dock)                          │ video wall (all cameras)   │
    └ status bar: detector · cameras live · frames/s · latency · messages ───┘

The window opens on the sign-in screen (`ui.login`): the cameras, the rules and the alarms run
from the start, but nobody sees or acts until someone signs in, and at the first start of a
database with no account it asks for the first supervisor. The role the core answers decides
what shows: an operator or supervisor gets the wall, the docks and the alarm actions (a
supervisor also the Supervisor menu: users, escalations, incidents, console settings, behaviour
learning, the site editor and the walk test); an auditor gets the incident browser
(`ui.incident_browser`) as its page. What a role cannot do is hidden here and refused by the core.
The Shift menu locks the console (also after the configured quiet time: the wall stays live
behind the lock bar, alarms still sound, acting needs the password), hands the shift over to
the next monitor, and signs out.

The window owns no logic: it builds the views over the runtime's models (alarm manager, focus
wall policy, pipeline rings), wires them through the one `PipelineBridge`, and forwards what the
monitor does to the core (`ui.shift.ShiftDesk` for the session). Layout, focus-wall size, font
scale and screen placement persist in QSettings.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable

from PySide6.QtCore import QByteArray, QPoint, QSettings, Qt, Slot
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDockWidget,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from console.accounts import SignedIn
from console.actions import ActionAnswer
from console.alarms import Alarm
from console.behaviour.actions import WatchPerson
from console.behaviour.model import BehaviourView, WatchedPerson
from console.export.run import ExportRequest, ExportResult, export_incidents
from console.focus_wall import FocusWall
from console.operator_check import OperatorCheck, OperatorCheckEvent
from console.passwords import Password
from console.roles import Act
from console.runtime import SiteNotice, SiteRuntime
from console.store import StoreHealth
from ui.alarm_queue import REFRESH_EVERY_MS, AlarmQueueView
from ui.alerts_view import AlertsView
from ui.bridge import PipelineBridge
from ui.display_budget import DisplayBudget
from ui.export_pdf import PdfReport
from ui.floor_plan_view import FloorPlanView
from ui.focus_wall_view import FocusWallView, float_on_screen
from ui.health_panel import HealthMonitor, HealthPanel, HealthStatusLine
from ui.incident_browser import IncidentBrowser, IncidentsDialog
from ui.login import LockBar, SignInPanel
from ui.operator_check import OperatorCheckController
from ui.pacing import Pacer
from ui.shift import ChangePasswordDialog, HandOverDialog, InactivityLock, ShiftDesk
from ui.sound import AlarmSoundPlayer
from ui.storage_banner import StorageBanner
from ui.supervisor import BehaviourDialog, EscalationsDialog, SettingsDialog, UsersDialog
from ui.theme import apply_theme
from ui.video_wall import VideoWall, WallCamera, cameras_from_pipeline
from ui.watch_list_view import WatchListView

log = logging.getLogger(__name__)

SETTINGS_ORG = "Nightwatch"
SETTINGS_APP = "console"
FONT_SCALES = (0.85, 1.0, 1.15, 1.3, 1.5, 1.75)
# the act each of the queue's actions needs: acknowledge, dispatch, guard arrived, resolve
ALARM_ACTS = (Act.ACKNOWLEDGE, Act.DISPATCH, Act.DISPATCH, Act.RESOLVE)
SUPERVISOR_ACTS = (Act.MANAGE_USERS, Act.VIEW_ESCALATIONS, Act.CONFIGURE, Act.SWITCH_BEHAVIOUR)


def default_station() -> str:
    """This console's name in the audit log and for the sign-in back-off."""
    return f"console@{socket.gethostname()}"


class ConsoleWindow(QMainWindow):
    SIGN_IN_PAGE, WATCH_PAGE, RECORDS_PAGE = range(3)

    def __init__(
        self,
        runtime: SiteRuntime,
        bridge: PipelineBridge,
        *,
        station: str | None = None,
        settings: QSettings | None = None,
        sound: AlarmSoundPlayer | None = None,
        parent: QWidget | None = None,
        sign_in: tuple[str, Password] | None = None,
        notice: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.runtime = runtime
        self.bridge = bridge
        self.station = station or default_station()
        self.notice = notice
        self.settings = settings or QSettings(SETTINGS_ORG, SETTINGS_APP)
        site = runtime.site
        manager = runtime.alarms
        self.setObjectName("ConsoleWindow")
        self.desk = ShiftDesk(bridge, self.station, parent=self)
        self._dialog: QDialog | None = None
        self.site_editor: QWidget | None = None  # site editor: ui.site_editor, while open
        self.walk_test_window: QWidget | None = None
        self._docks_hidden = False
        self._dock_state: QByteArray | None = None
        bridge.serve_queries(runtime.query)  # the views' reads of the store: the reader thread

        names = {camera.id: camera.name for camera in site.cameras}
        self.wall = VideoWall(
            cameras_from_pipeline(runtime.pipeline, names), main_streams=runtime.pipeline
        )
        self.wall.listen_to(bridge)
        # a storage fault is said across the top of the window, whatever the page
        self.storage_banner = StorageBanner()
        self.lock_bar = LockBar()
        watch = QWidget()
        watch.setObjectName("watch")
        watch_column = QVBoxLayout(watch)
        watch_column.setContentsMargins(0, 0, 0, 0)
        watch_column.setSpacing(0)
        watch_column.addWidget(self.lock_bar)
        watch_column.addWidget(self.wall, 1)
        self.sign_in_panel = SignInPanel(site.site.name, self.station, notice)
        self.sign_in_panel.set_first_run(not runtime.accounts.has_accounts)
        # the auditor's page: the incident browser (ui/incident_browser.py)
        self.records = IncidentBrowser(
            self.desk, site, runtime.clock, runtime.store.files, exporter=self._export
        )
        # in a scroll area: a stack is as wide as its widest page, and the browser's filters
        # must not squeeze the wall's docks (the browser fills a 1920 px screen; a smaller
        # window scrolls it)
        records_page = QScrollArea()
        records_page.setWidgetResizable(True)
        records_page.setFrameShape(QScrollArea.Shape.NoFrame)
        records_page.setWidget(self.records)
        self.pages = QStackedWidget()
        for page in (self.sign_in_panel, watch, records_page):
            self.pages.addWidget(page)
        centre = QWidget()
        centre.setObjectName("centre")
        column = QVBoxLayout(centre)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.storage_banner)
        column.addWidget(self.pages, 1)
        self.setCentralWidget(centre)
        bridge.store_health_changed.connect(self.storage_banner.show_health)
        bridge.store_health_changed.connect(self._store_health_changed)

        slots = int(str(self.settings.value("focus/slots", 4)))
        self.focus_model = FocusWall(runtime.clock, slots if slots in (1, 2, 4, 6, 9) else 4)
        self.focus = FocusWallView(self.focus_model, site, runtime.pipeline.rings)
        self.focus.listen_to(bridge)
        self.focus_dock = self._dock(
            "focus", "Focus wall", self.focus, Qt.DockWidgetArea.LeftDockWidgetArea
        )

        self.queue = AlarmQueueView(manager, site, "", runtime.clock, bridge)
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
        # the walls redraw less often while the window takes more than its share of the CPU
        # (ui/display_budget.py), and the status line says so
        self.display_budget = DisplayBudget(self)
        self.display_budget.rate_changed.connect(self._display_rate)
        self.display_line = QLabel("")
        self.display_line.setObjectName("display_line")
        self.display_line.hide()
        self.statusBar().addPermanentWidget(self.display_line)

        self.operator_check = OperatorCheckController(
            OperatorCheck(site, runtime.clock, runtime.audit_log),
            lambda: self.desk.user or "",
            prompt_parent=self,
            parent=self,
            post=lambda action: self.desk.ask(action, self._check_answered),
        )
        self.operator_check.escalated.connect(self._operator_unanswered)

        # -- alerts (ui/alerts_view.py): escalations in a banner, routes that go nowhere in a
        # banner above the walls (their count and NO SOUND in the status line), the still-there
        # check's page to the supervisor
        self.alerts_view = AlertsView(runtime, bridge, self.sound, parent=self)
        column.insertWidget(1, self.alerts_view.banner)
        column.insertWidget(2, self.alerts_view.setup_banner)
        self.statusBar().addPermanentWidget(self.alerts_view.status_line)
        self.alerts_view.follow_operator_check(self.operator_check)
        self.alerts_view.message.connect(self._message)
        # -- end alerts
        # the session: sign in, lock, hand over, sign out (answered by the core)
        self.idle_lock = InactivityLock(self)
        self.idle_lock.idle.connect(self._idle)
        self.sign_in_panel.sign_in_requested.connect(self.desk.sign_in)
        self.sign_in_panel.first_supervisor_requested.connect(self.desk.create_first_supervisor)
        self.lock_bar.unlock_requested.connect(self.desk.unlock)
        self.lock_bar.switch_user_requested.connect(self._switch_user)
        self.desk.signed_in.connect(self._on_session)
        self.desk.signed_out.connect(self._on_signed_out)
        self.desk.lock_changed.connect(self._on_lock)
        self.desk.watching.connect(self._show_watch)
        self.desk.refused.connect(self._desk_refused)

        # the one door: the runtime's alarms arrive through the bridge, on this thread
        self._alarms_pacer = Pacer(self._refresh_alarms, REFRESH_EVERY_MS, self)
        bridge.alarm_changed.connect(self._on_alarm_changed)
        self.queue.message.connect(self._message)
        self.queue.alarms_changed.connect(self.sound.set_alarms)
        self.sound.notice.connect(self._message)
        self.focus.camera_activated.connect(self.wall.enlarge)
        self.focus.watch_asked.connect(self.watch_person)
        # the focus wall follows watched visitors: the cameras that see one are pinned while
        # they do (and unpinned after, unless the operator pinned them)
        self._followed: set[str] = set()
        bridge.behaviour_changed.connect(self.follow_watched)
        bridge.behaviour_changed.connect(self.plan.show_watched)
        runtime.add_behaviour_listener(bridge.on_behaviour)
        # -- watch list (ui/watch_list_view.py): who is watched, and unwatching with a reason
        self.watch_list = WatchListView(self.desk, site)
        self.watch_dock = self._dock(
            "watched", "Watched people", self.watch_list, Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.splitDockWidget(self.queue_dock, self.watch_dock, Qt.Orientation.Vertical)
        bridge.behaviour_changed.connect(self.watch_list.show_view)
        self.watch_list.person_selected.connect(self.plan.focus_watched)
        self.watch_list.person_activated.connect(self.show_watched_camera)
        self.watch_list.message.connect(self._message)
        # -- end watch list
        self.focus.slot_count_changed.connect(lambda n: self.settings.setValue("focus/slots", n))
        self.plan.camera_clicked.connect(self.focus.show_camera)
        # -- site editor: an edit applied without a restart is shown, and the views follow it
        self.site_line = QLabel("")
        self.site_line.setObjectName("site_line")
        self.site_line.hide()
        self.statusBar().addPermanentWidget(self.site_line)
        bridge.site_notice.connect(self._site_notice)
        bridge.pipeline_event.connect(self._camera_event)
        # -- end site editor

        self._build_menus()
        self._restore()
        self._hide_docks()
        self._update_for_session()
        self._refresh_alarms()
        self.health.start()
        self.display_budget.start()
        self.sound.start()
        self.operator_check.start()
        if sign_in is not None:  # the demo: straight onto the wall as its operator
            self.sign_in_panel.set_busy(True)
            self.desk.sign_in(*sign_in)

    @property
    def docks(self) -> tuple[QDockWidget, ...]:
        return (self.focus_dock, self.queue_dock, self.plan_dock, self.health_dock, self.watch_dock)

    @property
    def user(self) -> str | None:
        """Who is signed in at this console (None: nobody)."""
        return self.desk.user

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

    def _action(self, text: str, shortcut: str, slot: Callable[[], object]) -> QAction:
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
        self.go_to_watch_list = self._action("Go to the watch list", "F3", self._focus_watch_list)
        alarm_menu.addAction(self.go_to_watch_list)

        view = bar.addMenu("&View")
        for dock in self.docks:
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

        self.shift_menu = QMenu("S&hift", self)
        bar.insertMenu(view.menuAction(), self.shift_menu)
        self.lock_action = self._action("Lock the console", "Ctrl+L", lambda: self.desk.lock())
        self.hand_over_action = self._action("Hand over to the next monitor…", "", self.hand_over)
        self.password_action = self._action("Change my password…", "", self.change_password)
        self.sign_out_action = self._action("Sign out", "", lambda: self.desk.sign_out())
        for action in (
            self.lock_action,
            self.hand_over_action,
            self.password_action,
            self.sign_out_action,
        ):
            self.shift_menu.addAction(action)

        self.supervisor_menu = QMenu("Su&pervisor", self)
        bar.insertMenu(view.menuAction(), self.supervisor_menu)
        self.users_action = self._action("Users…", "", self.open_users)
        self.escalations_action = self._action("Escalations…", "", self.open_escalations)
        self.incidents_action = self._action("Incidents…", "", self.open_incidents)
        self.settings_action = self._action("Console settings…", "", self.open_settings)
        self.behaviour_action = self._action("Behaviour learning…", "", self.open_behaviour)
        # site editor: the site (plan, objects, zones, cameras, calibration, hours, rules) and
        # the walk test, both the supervisor's `configure`
        self.site_editor_action = self._action("Site editor…", "", self.open_site_editor)
        self.walk_test_action = self._action("Walk test…", "", self.open_walk_test)
        for action in (
            self.users_action,
            self.escalations_action,
            self.incidents_action,
            self.settings_action,
            self.behaviour_action,
            self.site_editor_action,
            self.walk_test_action,
        ):
            self.supervisor_menu.addAction(action)
        self._alarm_menu = alarm_menu
        self._view_menu = view

    # -- what arrives --------------------------------------------------------------------------

    def _on_alarm_changed(self, _alarm: Alarm) -> None:
        # at once, or in a flood as the pacing allows (as the queue does: ui/pacing.py)
        self._alarms_pacer.request()

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
        self._message("Nobody answered the “still there?” check: escalated")
        log.warning("operator check unanswered: %s", event)

    def watch_person(self, camera_id: str, track_id: int, reason: str | None = None) -> None:
        """Put the person boxed as `track_id` on `camera_id` on the watch list; the reason is
        asked (it is audited). The core's answer is said in the status line."""
        if reason is None:
            reason, ok = QInputDialog.getText(
                self,
                "Watch this person",
                f"Why should person #{track_id} be watched? (audited)",
            )
            if not ok:
                return
        action = WatchPerson(self.desk.user or "", camera_id, track_id, reason)
        self.desk.ask(action, self._watch_answered)

    def follow_watched(self, view: BehaviourView) -> None:
        """Pin the cameras that see a watched visitor now; unpin those this pinned before."""
        cameras = set(view.watched_cameras)
        for camera_id in sorted(cameras - self._followed):
            if camera_id in self.focus.focus_wall.pinned:
                continue  # the operator's own pin: left alone
            self.focus.pin(camera_id)
            self._followed.add(camera_id)
        for camera_id in sorted(self._followed - cameras):
            self._followed.discard(camera_id)
            if camera_id in self.focus.focus_wall.pinned:
                self.focus.unpin(camera_id)

    def _watch_answered(self, answer: ActionAnswer) -> None:
        if answer.ok:
            person = answer.value
            self._message(f"{person.label} is on the watch list: followed across cameras")
        else:
            self._message(f"Not watched: {answer.refusal or 'refused'}")

    def _check_answered(self, answer: ActionAnswer) -> None:
        if not answer.ok:
            self.operator_check.ask_again(answer.refusal or "refused")

    # -- the session ---------------------------------------------------------------------------

    def _on_session(self, signed: SignedIn) -> None:
        """Signed in, unlocked, locked, or handed over (the core's answer)."""
        self.sign_in_panel.set_busy(False)
        self.queue.set_user(signed.user)
        self.idle_lock.set_timeout_s(signed.lock_after_s)
        if not signed.may(Act.WATCH):
            self._hide_docks()
            self.pages.setCurrentIndex(self.RECORDS_PAGE)
            if signed.may(Act.READ_INCIDENT_LOG):
                self.records.refresh()
        if signed.handed_over_by:
            self._message(f"{signed.user} took over from {signed.handed_over_by}: {signed.note}")
        self._update_for_session()
        if not signed.locked and self.pages.currentIndex() != self.SIGN_IN_PAGE:
            self.idle_lock.start()

    def _show_watch(self, _open_alarms: list[Alarm]) -> None:
        """The core let this user watch: the wall, the docks, the queue."""
        self.pages.setCurrentIndex(self.WATCH_PAGE)
        self._show_docks()
        self._refresh_alarms()
        self._update_for_session()
        if not self.desk.locked:
            self.idle_lock.start()
            self.queue.setFocus(Qt.FocusReason.OtherFocusReason)

    def _on_signed_out(self, reason: str) -> None:
        self._close_dialog()
        self._close_site_windows()
        self.idle_lock.stop()
        self.queue.set_user("")
        self._hide_docks()
        self.lock_bar.hide()
        self.sign_in_panel.set_first_run(not self.runtime.accounts.has_accounts)
        self.pages.setCurrentIndex(self.SIGN_IN_PAGE)
        self.sign_in_panel.reset(reason if reason != "signed out" else "Signed out.")
        self._update_for_session()

    def _on_lock(self, locked: bool) -> None:
        signed = self.desk.session
        if locked and signed is not None:
            self.idle_lock.stop()
            self._close_dialog()
            self._hide_site_windows(True)
            self.lock_bar.show_locked(signed.user)
            if self.pages.currentIndex() == self.SIGN_IN_PAGE:
                self.pages.setCurrentIndex(self.WATCH_PAGE)
        else:
            self.lock_bar.hide()
            self.idle_lock.start()
            self._hide_site_windows(False)
        self._update_for_session()

    def _desk_refused(self, text: str) -> None:
        if self.desk.session is None or self.pages.currentIndex() == self.SIGN_IN_PAGE:
            self.sign_in_panel.refused(text)
        elif self.desk.locked:
            self.lock_bar.refused(text)
        else:
            self._message(text)

    def _switch_user(self) -> None:
        """At a locked console: another person signs in (which ends the locked shift)."""
        self.pages.setCurrentIndex(self.SIGN_IN_PAGE)
        self._hide_docks()
        self.sign_in_panel.reset(
            f"The console is locked by {self.desk.user}: signing in ends their shift."
        )

    def _idle(self) -> None:
        minutes = (self.idle_lock.timeout_s or 0) / 60
        self.desk.lock(f"no input for {minutes:g} min")

    def _update_for_session(self) -> None:
        """Titles, menus and actions for who is signed in (hidden: what the role cannot do)."""
        signed = self.desk.session
        site = self.runtime.site.site.name
        who = f"{signed.user} ({signed.role.value})" if signed else "signed out"
        if signed is not None and signed.locked:
            who += " · LOCKED"
        title = f"Nightwatch · {site} · {who}"
        self.setWindowTitle(f"{title} · {self.notice}" if self.notice else title)
        watching = signed is not None and self.pages.currentIndex() == self.WATCH_PAGE
        acting = watching and signed is not None and not signed.locked
        for action, act in zip(self.queue.alarm_actions, ALARM_ACTS, strict=True):
            action.setVisible(signed is None or signed.may(act))
            action.setEnabled(acting and signed is not None and signed.may(act))
        self._alarm_menu.menuAction().setVisible(signed is not None and signed.may(Act.WATCH))
        for dock in self.docks:
            dock.toggleViewAction().setEnabled(watching)
        self.shift_menu.menuAction().setVisible(signed is not None)
        self.lock_action.setEnabled(signed is not None and not signed.locked)
        self.hand_over_action.setVisible(signed is not None and signed.may(Act.WATCH))
        self.hand_over_action.setEnabled(acting)
        self.password_action.setEnabled(signed is not None and not signed.locked)
        self.sign_out_action.setEnabled(signed is not None and not signed.locked)
        supervising = signed is not None and any(signed.may(a) for a in SUPERVISOR_ACTS)
        self.supervisor_menu.menuAction().setVisible(supervising)
        for action, act in (
            (self.users_action, Act.MANAGE_USERS),
            (self.escalations_action, Act.VIEW_ESCALATIONS),
            (self.incidents_action, Act.READ_INCIDENT_LOG),
            (self.settings_action, Act.CONFIGURE),
            (self.behaviour_action, Act.SWITCH_BEHAVIOUR),
            (self.site_editor_action, Act.CONFIGURE),
            (self.walk_test_action, Act.CONFIGURE),
        ):
            action.setVisible(signed is not None and signed.may(act))
            action.setEnabled(signed is not None and not signed.locked)

    def _hide_docks(self) -> None:
        if self._docks_hidden:
            return
        self._dock_state = self.saveState()
        for dock in self.docks:
            dock.hide()
        self._docks_hidden = True

    def _show_docks(self) -> None:
        if not self._docks_hidden:
            return
        self._docks_hidden = False
        if self._dock_state is not None:
            self.restoreState(self._dock_state)

    # -- the shift's dialogs -------------------------------------------------------------------

    def _open(self, dialog: QDialog) -> QDialog:
        self._close_dialog()
        self._dialog = dialog
        dialog.finished.connect(lambda _result: self._dialog_done(dialog))
        dialog.open()
        return dialog

    def _dialog_done(self, dialog: QDialog) -> None:
        if self._dialog is dialog:
            self._dialog = None
        dialog.deleteLater()

    def _close_dialog(self) -> None:
        if self._dialog is not None:
            self._dialog.reject()

    @property
    def active_dialog(self) -> QDialog | None:
        return self._dialog

    def hand_over(self) -> QDialog:
        return self._open(HandOverDialog(self.desk, self))

    def change_password(self) -> QDialog:
        return self._open(ChangePasswordDialog(self.desk, self))

    def open_users(self) -> QDialog:
        return self._open(UsersDialog(self.desk, self))

    def open_escalations(self) -> QDialog:
        return self._open(EscalationsDialog(self.desk, self.runtime.clock, parent=self))

    def open_incidents(self) -> QDialog:
        """The incident browser beside the live wall (a supervisor's view)."""
        runtime = self.runtime
        return self._open(
            IncidentsDialog(self.desk, runtime.site, runtime.clock, runtime.store.files, self)
        )

    def _export(
        self, request: ExportRequest, progress: Callable[[str, int, int], None]
    ) -> ExportResult:
        """The browser's export (on its own thread): the one export of `nightwatch export`, on
        the running console's store and site, the PDF drawn by `ui.export_pdf`."""
        renderer = PdfReport() if "pdf" in request.formats else None
        runtime = self.runtime
        return export_incidents(
            runtime.store, runtime.site, request, progress=progress, renderer=renderer
        )

    def open_settings(self) -> QDialog:
        return self._open(SettingsDialog(self.desk, self))

    def open_behaviour(self) -> QDialog:
        return self._open(BehaviourDialog(self.desk, self))

    # -- site editor ---------------------------------------------------------------------------

    def open_site_editor(self) -> QWidget:
        """The site editor in a window of its own (one at a time); it saves through the core."""
        from ui.site_editor import SiteEditorWindow

        if self.site_editor is None:
            editor = SiteEditorWindow(self.runtime, self.desk, self.bridge, parent=self)
            editor.destroyed.connect(lambda: setattr(self, "site_editor", None))
            editor.message.connect(self._message)
            self.site_editor = editor
        self.site_editor.show()
        self.site_editor.raise_()
        return self.site_editor

    def open_walk_test(self) -> QWidget:
        from ui.site_editor import WalkTestWindow

        if self.walk_test_window is None:
            window = WalkTestWindow(self.runtime, self.desk, self.bridge, parent=self)
            window.destroyed.connect(lambda: setattr(self, "walk_test_window", None))
            self.walk_test_window = window
        self.walk_test_window.show()
        self.walk_test_window.raise_()
        return self.walk_test_window

    def _hide_site_windows(self, hidden: bool) -> None:
        """A locked console hides the supervisor's windows (their work is kept)."""
        for window in (self.site_editor, self.walk_test_window):
            if window is not None:
                window.setVisible(not hidden)

    def _close_site_windows(self) -> None:
        for window in (self.site_editor, self.walk_test_window):
            if window is not None:
                window.close_for_console()  # type: ignore[attr-defined]

    def _site_notice(self, notice: SiteNotice) -> None:
        """An edited site was applied (the views follow it) or an edit refused (said until the
        next one is applied)."""
        if notice.kind == "applied":
            self.site_line.hide()
            self._follow_site()
            self._message(notice.text)
        else:
            self.site_line.setText("⚠ site edit refused")
            self.site_line.setToolTip("\n".join((notice.text, *notice.problems[:20])))
            self.site_line.show()
            self._message(notice.text)

    def _camera_event(self, event: object) -> None:
        if getattr(event, "kind", "") in ("camera-added", "camera-removed", "camera-restarted"):
            self._follow_site()

    def _follow_site(self) -> None:
        """The wall, the focus wall, the plan and the queue over the site running now: a
        camera added gets its tile, a removed one loses it; the other tiles are kept as they
        are (their picture, counters and main stream)."""
        runtime = self.runtime
        site = runtime.site
        rings = dict(runtime.pipeline.rings)
        cameras: list[WallCamera] = []
        for camera in site.cameras:
            ring = rings.get(camera.id)
            if ring is None:
                continue  # not (yet) in the pipeline: its camera-added event follows
            if camera.id in self.wall.camera_ids:
                kept = self.wall.tile(camera.id).camera
                if kept.ring is ring and kept.name == camera.name:
                    cameras.append(kept)
                    continue
            try:
                status, reason, _ = runtime.pipeline.status(camera.id)
            except KeyError:
                continue
            cameras.append(WallCamera(camera.id, ring, camera.name, status, reason))
        self.wall.set_cameras(cameras)
        self.plan.set_site(site)
        self.watch_list.set_site(site)
        self.focus.set_site(site)
        self.queue.set_site(site)
        self._refresh_alarms()

    # -- what the monitor does -----------------------------------------------------------------

    def _focus_queue(self) -> None:
        self.queue_dock.show()
        self.queue_dock.raise_()
        self.queue.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def _focus_watch_list(self) -> None:
        self.watch_dock.show()
        self.watch_dock.raise_()
        self.watch_list.table.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def show_watched_camera(self, person: WatchedPerson) -> None:
        """The watch list's Enter: the camera that sees them now (else saw them last) on the
        focus wall, pinned like a camera clicked on the plan."""
        camera = person.cameras_now[0] if person.cameras_now else person.last_camera
        if camera is None:
            self._message(f"{person.label} has not been placed on a camera yet")
            return
        self.focus.show_camera(camera)

    def _float_focus(self) -> None:
        """F8: the focus wall in a window of its own (on the second screen when there is one);
        F8 again docks it back, so on one screen it never hides the console for good."""
        if self.focus_dock.isFloating():
            self.focus_dock.setFloating(False)
            self.focus_dock.show()
            self._message("Focus wall docked in the console again")
            return
        queue_left = None
        if self.queue_dock.isVisible() and not self.queue_dock.isFloating():
            queue_left = self.queue_dock.mapToGlobal(QPoint(0, 0)).x()
        float_on_screen(self.focus_dock, keep_visible=self, keep_left_of=queue_left)
        if len(QApplication.screens()) < 2:
            self._message("Focus wall in its own window: F8 docks it back")

    def _toggle_full_screen(self) -> None:
        self.showNormal() if self.isFullScreen() else self.showFullScreen()

    def _step_font(self, step: int) -> None:
        scale = float(str(self.settings.value("view/font_scale", 1.0)))
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
        state = self._dock_state if self._docks_hidden else self.saveState()
        if state is not None:
            self.settings.setValue("window/state", state)
        self.settings.setValue("focus/slots", self.focus_model.slot_count)
        self.settings.sync()

    @Slot(float)
    def _display_rate(self, factor: float) -> None:
        """The display budget stepped: both walls redraw at `factor` of their rate."""
        self.wall.set_rate_factor(factor)
        self.focus.set_rate_factor(factor)
        if factor < 1:
            self.display_line.setText(f"Live pictures at {factor:.0%} of their rate: busy")
            self.display_line.setToolTip(
                f"The window used {self.display_budget.last_used:.0%} of a processor core, more "
                f"than its {self.display_budget.share:.0%}: live pictures are redrawn less often "
                "so that detection keeps its share. Alarms, the plan and the keys are not slowed. "
                "The full rate comes back when the window is quieter."
            )
            self.display_line.show()
        else:
            self.display_line.hide()
            self.display_line.setText("")

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.desk.session is not None and not self.desk.locked:
            self.desk.sign_out("console closed")  # the core runs it before it stops
        self._close_dialog()
        self._close_site_windows()
        self.idle_lock.stop()
        self.save_layout()
        self.health.stop()
        self.display_budget.stop()
        self.alerts_view.close()  # alerts
        self.operator_check.close()
        self.sound.close()
        for view in (
            self.wall,
            self.focus,
            self.queue,
            self.plan,
            self.health_panel,
            self.storage_banner,
            self.records,
        ):
            view.close()
        self.records.stop()  # the clip player's decoder
        super().closeEvent(event)
