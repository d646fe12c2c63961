"""What the console says about alerts: escalations in a banner in the router's exact words, a
permanent NO SOUND in the status line, "gallery alerts go nowhere" with its fix in the banner
above the walls and counted in the status line (and audited), a failed
delivery shown until one gets through, and a still-there prompt that claims no more than was
sent.

The views on their own (pytest-qt, offscreen), then over a real runtime's core thread and alert
router on a real SQLite store (no cameras), with the reference site: no gallery and no
supervisor destination configured.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QVBoxLayout, QWidget

from console.alarms import Alarm
from console.alerts.router import AlertNotice
from console.clock import FakeClock
from console.operator_check import OperatorCheck, OperatorCheckSettings
from console.runtime import SiteRuntime
from console.severity import Severity
from console.site_file import load_site
from console.store import AlarmState, Store, audit_entries
from tests.ui.conftest import flush_deleted
from ui.alerts_view import AlertStatusLine, AlertsView, EscalationBanner
from ui.bridge import PipelineBridge
from ui.operator_check import OperatorCheckController
from ui.sound import AlarmSoundPlayer

SITE = Path(__file__).resolve().parents[1] / "data" / "example_site" / "site.yaml"
START = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)  # 03:00 in Amsterdam: closed


def notice(state: str, text: str, **changes: object) -> AlertNotice:
    made = AlertNotice(
        "alarm:7",
        "escalated",
        "supervisor",
        state,  # type: ignore[arg-type]
        text,
        START,
        "alarm 7: proximity at The Milkmaid (high)",
        7,
    )
    return replace(made, **changes)  # type: ignore[arg-type]


def an_alarm(state: AlarmState) -> Alarm:
    return Alarm(
        7, "cam-east", "proximity", "milkmaid", Severity.HIGH, state, START, START, START,
        (3,), None, None,
    )  # fmt: skip


def wait_until(condition: Callable[[], bool], timeout_s: float = 30) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        QApplication.processEvents()
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_the_banner_shows_escalations_in_the_routers_words_until_acknowledged(qtbot) -> None:
    banner = EscalationBanner()
    qtbot.addWidget(banner)
    banner.show_notice(notice("sent", "raised: gallery alerted via MQTT at 03:00:01",
                              what="raised", destination="gallery"))  # fmt: skip
    assert banner.isHidden()  # not an escalation
    banner.show_notice(notice("sending", "escalated: paging the supervisor via MQTT…"))
    assert not banner.isHidden()
    banner.show_notice(notice("sent", "escalated: supervisor paged via MQTT at 03:00:31"))
    assert banner.text == (
        "⚠ ESCALATED · alarm 7: proximity at The Milkmaid (high) — "
        "escalated: supervisor paged via MQTT at 03:00:31"
    )
    assert "#d2a24c" in banner.styleSheet()  # amber: paged
    banner.show_notice(
        notice("failed", "escalated: supervisor NOT paged: MQTT failed after 5 tries: x")
    )
    assert "supervisor NOT paged" in banner.text
    assert "#d06a64" in banner.styleSheet()  # red: not paged, and the words say so
    banner.alarm_changed(an_alarm(AlarmState.RAISED))
    assert not banner.isHidden()
    banner.alarm_changed(an_alarm(AlarmState.ACKNOWLEDGED))
    assert banner.isHidden()


def test_the_banners_words_are_drawn_on_the_banners_colour_under_the_theme(qtbot) -> None:
    """The theme paints every widget dark; a banner's label must not hide its words in a dark
    box on the red (as the storage banner's once did)."""
    from console.store import StoreHealth
    from ui.storage_banner import StorageBanner
    from ui.theme import PALETTE, stylesheet

    escalations = EscalationBanner()
    escalations.show_notice(notice("failed", "escalated: supervisor NOT paged: MQTT failed"))
    storage = StorageBanner()
    storage.show_health(StoreHealth(ok=False, fault="the disk is full", since=START, pending=1))
    for banner in (escalations, storage):
        holder = QWidget()
        holder.setStyleSheet(stylesheet())  # as the application's theme does
        QVBoxLayout(holder).addWidget(banner)
        qtbot.addWidget(holder)
        holder.resize(900, 80)
        holder.show()
        QApplication.processEvents()
        image = banner.grab().toImage()
        colours = [
            image.pixelColor(x, y).name()
            for x in range(0, image.width(), 5)
            for y in range(0, image.height(), 2)
        ]
        dark = colours.count(PALETTE.background) / len(colours)
        assert dark < 0.4, f"{type(banner).__name__}: {dark:.0%} dark: the words in a dark box"
        assert colours.count(PALETTE.offline) / len(colours) > 0.5  # red behind the words


def test_the_status_line_keeps_warnings_and_the_last_failure_until_a_success(qtbot) -> None:
    line = AlertStatusLine()
    qtbot.addWidget(line)
    assert line.isHidden()
    line.set_warning(
        "sound", "NO SOUND: no audio output device — alarms are silent on this console"
    )
    failed = notice("failed", "raised: gallery NOT alerted: webhook failed after 1 try: HTTP 404",
                    what="raised", destination="gallery")  # fmt: skip
    line.show_notice(failed)
    assert line.text == (
        "NO SOUND: no audio output device — alarms are silent on this console | "
        "ALERT NOT DELIVERED: alarm 7: proximity at The Milkmaid (high) — raised: gallery NOT "
        "alerted: webhook failed after 1 try: HTTP 404"
    )
    line.show_notice(replace(failed, state="retrying", text="..."))  # news on the way: kept
    assert "ALERT NOT DELIVERED" in line.text
    line.show_notice(replace(failed, state="sent", text="raised: gallery alerted via webhook"))
    assert line.text == "NO SOUND: no audio output device — alarms are silent on this console"


def test_a_player_without_an_audio_device_says_so_when_it_starts(tmp_path: Path) -> None:
    player = AlarmSoundPlayer(FakeClock(START), cache_dir=tmp_path, has_output=lambda: False)
    silenced: list[str] = []
    player.silenced.connect(silenced.append)
    try:
        player.start()
        assert silenced == ["no audio output device"]
        assert player.silent_reason == "no audio output device"
    finally:
        player.close()
    player.deleteLater()
    flush_deleted()


@pytest.fixture
def console(tmp_path: Path, qapp) -> Iterator[tuple[SiteRuntime, PipelineBridge]]:
    store = Store(f"sqlite:///{tmp_path / 'alarms.db'}")
    bridge = PipelineBridge()
    runtime = SiteRuntime(
        load_site(SITE),
        store,
        clock=FakeClock(START),
        on_alarm=bridge.on_alarm,
        on_alert_notice=bridge.on_alert_notice,
    )
    bridge.serve(runtime.post)
    runtime.alerts.start()
    runtime.core.start()  # the core without cameras
    runtime.core.post(runtime.alerts.announce_start).result(timeout=30)
    try:
        yield runtime, bridge
    finally:
        bridge.close()
        runtime.alerts.stop()
        runtime.core.stop()
        store.close()
        bridge.deleteLater()
        flush_deleted()


def test_no_sound_and_routes_that_go_nowhere_are_on_screen_and_audited(
    console: tuple[SiteRuntime, PipelineBridge], tmp_path: Path
) -> None:
    runtime, bridge = console
    player = AlarmSoundPlayer(runtime.clock, cache_dir=tmp_path, has_output=lambda: False)
    view = AlertsView(runtime, bridge, player)
    try:
        player.start()
        text = view.status_line.text
        assert "NO SOUND: no audio output device — alarms are silent on this console" in text
        assert "ALERTS: 2 setup warnings, see above the walls" in text
        assert [label.text() for label in view.setup_banner.labels] == [
            "⚠ ALERTS · gallery alerts go nowhere: no gallery destination is configured "
            "(alert_destinations.gallery) — fix: add alert_destinations.gallery (MQTT or "
            "webhook) to the site file, or take gallery out of alert_routes[0].to (a new "
            "destination takes effect at the next start)",
            "⚠ ALERTS · escalations page nobody: no supervisor destination is configured, only "
            "this console knows — fix: add alert_destinations.supervisor (the supervisor's MQTT "
            "topic or webhook) to the site file",
        ]
        assert not view.status_line.isHidden()
        assert not view.setup_banner.isHidden()

        def rows() -> list[tuple[str, str]]:
            return [(e.action, str(e.detail)) for e in runtime.store.read(audit_entries)]

        assert wait_until(lambda: any(action == "sound.off" for action, _ in rows()))
        sound_rows = [detail for action, detail in rows() if action == "sound.off"]
        assert sound_rows == ["{'reason': 'no audio output device'}"]
        warnings = [detail for action, detail in rows() if action == "alerts.warning"]
        assert any("gallery alerts go nowhere" in w for w in warnings)
    finally:
        view.close()
        player.close()
        player.deleteLater()
        view.banner.deleteLater()
        view.setup_banner.deleteLater()
        view.status_line.deleteLater()
        flush_deleted()


def test_an_unanswered_check_says_exactly_what_became_of_the_page(
    console: tuple[SiteRuntime, PipelineBridge], tmp_path: Path
) -> None:
    runtime, bridge = console
    clock = runtime.clock
    assert isinstance(clock, FakeClock)
    player = AlarmSoundPlayer(clock, cache_dir=tmp_path, has_output=lambda: False)
    view = AlertsView(runtime, bridge, player)
    settings = OperatorCheckSettings(min_interval_min=1, max_interval_min=1, answer_within_s=60)
    check = OperatorCheck(runtime.site, clock, runtime.audit_log, settings=settings, seed=3)
    controller = OperatorCheckController(check, "night-monitor", tick_ms=3_600_000)
    view.follow_operator_check(controller)
    try:
        controller.tick()  # closed: the next prompt is a minute away
        clock.advance(61)
        controller.tick()
        assert controller.prompt.pending
        assert "or it is escalated" in controller.prompt.detail_text
        clock.advance(61)
        controller.tick()  # unanswered: escalated, and the router is asked to page
        expected = (
            "The check was not answered in time: escalated — NO supervisor destination "
            "configured — only this console knows.\nConfirm now that you are at the console."
        )
        assert wait_until(lambda: controller.prompt.detail_text == expected)
        assert view.banner.text == (
            "⚠ ESCALATED · nobody answered the still-there check at console control-room within "
            "60 s (check 1) — still-there check unanswered: NO supervisor destination "
            "configured — only this console knows"
        )
        controller.prompt.button.click()  # "I'm here"
        assert wait_until(lambda: view.banner.isHidden())

        def actions() -> set[str]:
            return {e.action for e in runtime.store.read(audit_entries)}

        wanted = {"alert.not_sent", "operator_check.escalated", "operator_check.answered"}
        assert wait_until(lambda: wanted <= actions()), actions()
    finally:
        view.close()
        controller.close()
        controller.deleteLater()
        player.close()
        player.deleteLater()
        view.banner.deleteLater()
        view.setup_banner.deleteLater()
        view.status_line.deleteLater()
        flush_deleted()
