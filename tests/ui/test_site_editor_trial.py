"""Try before arming from the editor: the edited, unsaved rules run on the courtyard footage
(vtest.avi) with the real detector, through the replay path into a store of their own, and the
alarms they would raise come back on the editor's timeline with their snapshots. Nothing is
saved and the console's own store gets no alarm."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QDate, QDateTime, Qt, QTime
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from console.store import count_alarms
from tests.ui.editor_harness import EditorRoom, click, editor_room, retype, wait_until


@pytest.fixture
def room(tmp_path: Path, qapp) -> EditorRoom:
    with editor_room(tmp_path) as opened:
        yield opened


def test_the_edited_rules_tried_on_footage_show_their_alarms_on_a_timeline(
    room: EditorRoom,
) -> None:
    editor, canvas = room.editor, room.editor.canvas
    before = room.site_path.read_bytes()
    trial = editor.trial
    # an edit with a problem cannot be tried: refused in words
    click(canvas, (300.0, 315.0))
    distance = editor.panel.fields["min_distance_m"]
    retype(distance.edit, "0")
    room.checked()
    editor.tabs.setCurrentWidget(trial)
    QTest.mouseClick(trial.run_button, Qt.MouseButton.LeftButton)
    assert not trial.running
    assert "Refused: the edited site has 1 problem(s)" in trial.said.text()
    # the plinth guarded at 2 m (not saved), tried at 02:00 on a night the museum is closed
    editor.tabs.setCurrentIndex(0)
    click(canvas, (300.0, 315.0))
    retype(editor.panel.fields["min_distance_m"].edit, "2")
    room.checked()
    assert editor.draft.last_check.ok, editor.draft.last_check.problems
    editor.tabs.setCurrentWidget(trial)
    trial.start.setDateTime(QDateTime(QDate(2026, 11, 28), QTime(2, 0), trial.start.timeZone()))
    trial.every.setValue(1.0)
    assert trial.camera.currentData() == "cam-path"
    QTest.mouseClick(trial.run_button, Qt.MouseButton.LeftButton)
    assert trial.running
    assert not trial.run_button.isEnabled()
    assert wait_until(lambda: not trial.running and trial.report is not None, 600), (
        trial.said.text()
    )
    report = trial.report
    assert report.finished, trial.said.text()
    assert report.error is None
    kinds = {(a.rule, a.subject_id) for a in report.alarms}
    assert ("proximity", "plinth") in kinds
    assert ("after_hours", "courtyard") in kinds
    assert f"{len(report.alarms)} alarm(s) in" in trial.said.text()
    assert trial.progress.value() == 1000
    # one bar per alarm on the timeline, one snapshot per alarm below it
    assert set(trial.bars) == {a.alarm_id for a in report.alarms}
    assert trial.snapshots.count() == len(report.alarms)
    proximity = next(a for a in report.alarms if a.rule == "proximity")
    bar = trial.bars[proximity.alarm_id]
    bar.setSelected(True)  # choosing its bar shows its snapshot
    QApplication.processEvents()
    chosen = trial.snapshots.currentItem()
    assert chosen is not None
    assert chosen.data(Qt.ItemDataRole.UserRole) == proximity.alarm_id
    assert not trial.large.pixmap().isNull()
    # tried, not saved: the site file and the console's alarms are as they were
    assert editor.draft.dirty
    assert room.site_path.read_bytes() == before
    assert room.store.read(count_alarms) == 0
