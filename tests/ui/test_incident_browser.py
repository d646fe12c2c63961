"""The incident browser (pytest-qt, offscreen) on a real store, through the real service layer:
the runtime's core applies the auditor's (or supervisor's) searches, which run on its reader
thread; the window shows names and site times, answers each filter with the incidents the
store holds, opens an incident with its timeline, response times and clip (boxes over it), draws
the figures, exports with a progress bar, and every reading is in the audit log."""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QDate
from PySide6.QtWidgets import QApplication

from console.export.run import ExportRequest, ExportResult, export_incidents
from console.export.verify import verify_export
from console.roles import Role
from console.runtime import RuntimeOptions, SiteRuntime
from console.site_file import Site, load_site
from console.store import Outcome, Store, audit_entries
from inference.worker_pool import DetectorSpec
from tests.clips import grey_clip, keep_clip
from tests.incidents import Made, make
from tests.people import QUICK_HASHING, enroll, password_of
from tests.sites import courtyard_site
from tests.ui.conftest import flush_deleted
from ui.bridge import PipelineBridge
from ui.export_pdf import PdfReport
from ui.incident_browser import Exporter, IncidentBrowser, IncidentsDialog
from ui.shift import ShiftDesk

SUBJECTS = ("plinth", "courtyard")


def wait_until(condition: Callable[[], object], timeout_s: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        QApplication.processEvents()
        if condition():
            return True
        time.sleep(0.01)
    return bool(condition())


@dataclass
class Desk:
    site: Site
    store: Store
    runtime: SiteRuntime
    bridge: PipelineBridge
    desk: ShiftDesk
    made: list[Made]
    clip_alarm: int


@pytest.fixture
def records(tmp_path: Path, qapp) -> Iterator[Callable[[str], Desk]]:
    """`records(name)`: a store of 30 incidents on the courtyard site (one with a kept clip), its
    runtime's core and reader running, and a desk signed in as `name`."""
    made_desks: list[Desk] = []

    def sign_in(name: str) -> Desk:
        site_yaml = courtyard_site(tmp_path)
        # the incidents are from March: the runtime's daily retention must not purge them
        text = site_yaml.read_text() + "retention: {snapshots_days: null, clips_days: null}\n"
        site_yaml.write_text(text)
        site = load_site(site_yaml)
        store = Store(f"sqlite:///{tmp_path / 'alarms.db'}")
        for person, role in (
            ("audrey", Role.AUDITOR),
            ("boss", Role.SUPERVISOR),
            ("night-monitor", Role.OPERATOR),
        ):
            enroll(store, person, role)
        made = [make(store, n, ("cam-path",), SUBJECTS) for n in range(30)]
        target = made[6]  # acknowledged, dispatched, resolved
        clip = grey_clip(tmp_path / "grey.mkv", target.raised_at - timedelta(seconds=1))
        boxes = [
            [(target.raised_at - timedelta(seconds=1)).timestamp() + 0.2 * k, 7, 100, 80, 300, 280]
            for k in range(15)
        ]
        overlay = {"size": [640, 360], "tracks": [7], "boxes": boxes}
        keep_clip(
            store,
            target.alarm_id,
            "cam-path",
            clip,
            target.raised_at - timedelta(seconds=1),
            overlay,
        )
        bridge = PipelineBridge()
        runtime = SiteRuntime(site, store, RuntimeOptions(detector=DetectorSpec("ssdlite")))
        runtime.room.accounts.hashing = QUICK_HASHING
        bridge.serve(runtime.post)
        bridge.serve_queries(runtime.query)
        runtime.core.start()
        runtime.reader.start()
        desk = ShiftDesk(bridge, "desk-1")
        desk.sign_in(name, password_of(name))
        assert wait_until(lambda: desk.session is not None and desk.waiting == 0)
        d = Desk(site, store, runtime, bridge, desk, made, target.alarm_id)
        made_desks.append(d)
        return d

    yield sign_in
    for d in made_desks:
        d.bridge.close()
        d.runtime.stop()
        assert d.store.close().all_stored
        d.desk.deleteLater()
        d.bridge.deleteLater()
        flush_deleted()


def browser_for(d: Desk, qtbot, **kwargs) -> IncidentBrowser:  # type: ignore[no-untyped-def]
    browser = IncidentBrowser(d.desk, d.site, d.runtime.clock, d.store.files, **kwargs)
    qtbot.addWidget(browser)
    browser.resize(1600, 900)
    browser.from_edit.setDate(QDate(2026, 3, 1))
    browser.to_edit.setDate(QDate(2026, 3, 31))
    return browser


def search(browser: IncidentBrowser, **choices: str) -> list[int]:
    """Set the filters by their shown words, search, and return the alarm ids listed."""
    for name, words in choices.items():
        if name == "operator":
            browser.operator_edit.setText(words)
            continue
        box = getattr(browser, f"{name}_box")
        index = box.findText(words)
        assert index >= 0, f"{name}: no choice {words!r}"
        box.setCurrentIndex(index)
    before = browser.page
    browser.refresh()
    assert wait_until(
        lambda: (
            browser.page is not before and not browser.message_label.text().startswith("searching")
        )
    )
    return [row.alarm_id for row in browser.rows]


def newest_first(made: list[Made]) -> list[int]:
    return [m.alarm_id for m in sorted(made, key=lambda m: m.raised_at, reverse=True)]


def test_the_filters_answer_with_what_the_store_holds(records, qtbot) -> None:
    d = records("audrey")
    browser = browser_for(d, qtbot)
    made = d.made
    assert search(browser) == newest_first(made)
    assert browser.count_label.text() == "30 incidents match; 30 shown"
    first = browser.rows[0]
    cells = [browser.table.item(0, c).text() for c in range(browser.table.columnCount())]
    local = first.raised_at.astimezone(d.site.tz)
    assert cells[0] == f"{local:%Y-%m-%d %H:%M:%S}"  # the site's time, not UTC
    assert cells[2] in ("Plinth by the sign", "Courtyard")  # names, not ids
    assert cells[3] == "Courtyard path"
    want = [m for m in made if m.rule == "loitering"]
    assert search(browser, rule="Loitering") == newest_first(want)
    both = [m for m in want if m.severity == "high"]
    assert both
    assert search(browser, severity="HIGH") == newest_first(both)
    browser.rule_box.setCurrentIndex(0)
    browser.severity_box.setCurrentIndex(0)
    false = [m for m in made if m.outcome == Outcome.FALSE_ALARM]
    assert search(browser, outcome="False alarm") == newest_first(false)
    browser.outcome_box.setCurrentIndex(0)
    plinth = [m for m in made if m.subject == "plinth"]
    assert search(browser, object="Plinth by the sign") == newest_first(plinth)
    browser.object_box.setCurrentIndex(0)
    # the plinth stands in the courtyard: the zone finds both
    assert sorted(search(browser, zone="Courtyard")) == sorted(m.alarm_id for m in made)
    browser.zone_box.setCurrentIndex(0)
    bert = [m for m in made if m.ack_s is not None and m.operator == "bert"]
    assert search(browser, operator="bert") == newest_first(bert)
    browser.operator_edit.clear()
    browser.to_edit.setDate(QDate(2026, 3, 4))  # local dates, both days included
    early = [m for m in made if m.raised_at.astimezone(d.site.tz).date().day <= 4]
    assert search(browser) == newest_first(early)
    d.store.flush()
    reads = [e for e in d.store.read(audit_entries) if e.action == "incident_log.read"]
    assert reads
    assert all(e.user == "audrey" for e in reads)
    assert {"rules": ["loitering"]}.items() <= reads[1].detail["filter"].items()


def test_an_incident_opens_with_its_timeline_response_times_and_clip(records, qtbot) -> None:
    d = records("audrey")
    browser = browser_for(d, qtbot)
    search(browser)
    row = next(i for i, r in enumerate(browser.rows) if r.alarm_id == d.clip_alarm)
    assert browser.table.item(row, 8).text() == "yes"  # it has a clip
    with qtbot.waitSignal(browser.incident_shown, timeout=30_000):
        browser.table.selectRow(row)
    record = browser.record
    assert record is not None
    assert record.alarm.id == d.clip_alarm
    assert browser.response_label.text().startswith(
        "Raised → acknowledge 45 s → dispatch 30 s → on scene 2:00 → resolve 2:30"
    )
    steps = [browser.steps_table.item(r, 1).text() for r in range(browser.steps_table.rowCount())]
    # the clip begins with its pre-roll, before the raise; the steps follow in time order
    assert steps.index("Clip") < steps.index("Raised") < steps.index("Acknowledged")
    assert steps.index("Guard sent") < steps.index("Guard on scene") < steps.index("Resolved")
    player = browser.evidence.player
    assert wait_until(lambda: player.frames_shown >= 1), player.view.message
    player.view.grab()
    assert 7 in player.view.boxes_drawn  # the stored box, over the clip
    assert "Clip of Courtyard path" in browser.evidence.clip_status.text()
    d.store.flush()
    viewed = [e for e in d.store.read(audit_entries) if e.action == "incident.viewed"]
    assert [(e.user, e.target) for e in viewed] == [("audrey", f"alarm:{d.clip_alarm}")]
    browser.stop()
    assert not browser.is_running


def test_the_figures_are_drawn_for_what_was_found(records, qtbot) -> None:
    d = records("audrey")
    browser = browser_for(d, qtbot)
    search(browser)
    browser.tabs.setCurrentWidget(browser.charts)
    assert wait_until(lambda: browser.charts.figures is not None)
    figures = browser.charts.figures
    assert figures is not None
    assert figures.total == 30
    subjects = browser.charts.bar_heights("subjects")
    assert sorted(subjects, reverse=True) == subjects
    assert sum(subjects) == 30
    assert sum(browser.charts.bar_heights("nights")) == 30
    acked = sum(1 for m in d.made if m.ack_s is not None)
    assert sum(browser.charts.bar_heights("ack")) == 30  # acknowledged ones, and "never"
    assert browser.charts.bar_heights("ack")[-1] == 30 - acked
    assert "30 incidents" in browser.charts.status.text()


def exporter_of(d: Desk) -> Exporter:
    """The console's own export (as the main window gives it), on this desk's store."""

    def export(request: ExportRequest, progress: Callable[[str, int, int], None]) -> ExportResult:
        renderer = PdfReport() if "pdf" in request.formats else None
        return export_incidents(d.store, d.site, request, progress=progress, renderer=renderer)

    return export


def test_the_auditor_exports_with_a_progress_bar(records, qtbot, tmp_path: Path) -> None:
    d = records("audrey")
    browser = browser_for(d, qtbot, exporter=exporter_of(d))
    seen: list[tuple[str, int, int]] = []
    browser.export_progress.connect(lambda *step: seen.append((*step, browser.progress.value())))
    browser.blur_box.setChecked(False)  # clips are exported only unblurred
    out = tmp_path / "march"
    browser.export_to(out)
    assert wait_until(lambda: not browser.progress.isHidden())  # the bar while it runs
    assert wait_until(lambda: "exported to" in browser.message_label.text(), 120)
    assert browser.progress.isHidden()
    assert not browser.export_running
    assert ("incidents", 30, 30, 30) in [(a, b, c, v) for a, b, c, v in seen]  # bar at the end
    assert seen[-1][0] == "manifest"
    result = browser.last_export
    assert result is not None
    assert result.incidents == 30
    with (out / "incidents.csv").open(newline="", encoding="utf-8-sig") as f:
        assert len(list(csv.DictReader(f))) == 30
    assert (out / "report.pdf").read_bytes().startswith(b"%PDF")
    assert verify_export(out).ok  # the one signed export of `nightwatch export`
    clips = sorted((out / "clips").glob("*.mkv"))
    assert len(clips) == 1  # the one incident with a clip (see `records`)
    lines = [json.loads(line) for line in (out / "incidents.jsonl").open()]
    kept = [
        m for x in lines for m in x["media"] if m["state"] == "exported" and "clip" in m["kind"]
    ]
    assert [m["file"] for m in kept] == [c.relative_to(out).as_posix() for c in clips]
    d.store.flush()
    created = [e for e in d.store.read(audit_entries) if e.action == "export.created"]
    assert [(e.user, e.target) for e in created] == [("audrey", str(out.resolve()))]


def test_the_page_shows_the_key_that_signs_its_exports(records, qtbot, tmp_path: Path) -> None:
    d = records("audrey")
    browser = browser_for(d, qtbot, exporter=exporter_of(d))
    browser.show()
    assert wait_until(lambda: browser.signing_key is not None)
    key = browser.signing_key
    assert key is not None
    assert key.fingerprint in browser.key_label.text()
    assert "(in key files)" in browser.key_label.text()  # no OS keyring in tests
    assert key.location.startswith("key files in ")
    browser.copy_public_key()
    assert QApplication.clipboard().text() == key.public_pem
    browser.blur_box.setChecked(False)
    out = tmp_path / "checked"
    browser.export_to(out)
    assert wait_until(lambda: "exported to" in browser.message_label.text(), 120)
    # the key on screen is the one beside the export, and it verifies the export
    assert (out / "public_key.pem").read_text() == key.public_pem
    pasted = tmp_path / "pasted.pem"
    pasted.write_text(QApplication.clipboard().text())
    assert verify_export(out, public_key=pasted).ok


def test_a_supervisor_may_not_export_and_the_refusal_is_audited(records, qtbot, tmp_path) -> None:
    d = records("boss")
    browser = browser_for(d, qtbot, exporter=exporter_of(d))
    browser.export_to(tmp_path / "nope")
    assert wait_until(lambda: "may not" in browser.message_label.text())
    assert not (tmp_path / "nope").exists()
    d.store.flush()
    refused = [e for e in d.store.read(audit_entries) if e.action == "permission.refused"]
    assert [(e.user, e.detail["act"]) for e in refused] == [("boss", "export")]


def test_a_supervisor_browses_without_exporting(records, qtbot) -> None:
    d = records("boss")
    dialog = IncidentsDialog(d.desk, d.site, d.runtime.clock, d.store.files)
    qtbot.addWidget(dialog)
    dialog.browser.from_edit.setDate(QDate(2026, 3, 1))
    dialog.browser.to_edit.setDate(QDate(2026, 3, 31))
    assert search(dialog.browser) == newest_first(d.made)
    assert dialog.browser.export_button.isHidden()
    dialog.reject()


def test_an_operator_is_refused_and_the_refusal_audited(records, qtbot) -> None:
    d = records("night-monitor")
    browser = browser_for(d, qtbot)
    browser.refresh()
    assert wait_until(lambda: "may not" in browser.message_label.text())
    assert browser.rows == []
    d.store.flush()
    refused = [e for e in d.store.read(audit_entries) if e.action == "permission.refused"]
    assert [(e.user, e.detail["act"]) for e in refused] == [("night-monitor", "read_incident_log")]
