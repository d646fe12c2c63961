"""The site editor over a real core, for its widget tests: the courtyard test site in a temp
folder, a real SQLite store with a supervisor and an operator, the real `SiteRuntime` whose
core thread and reader thread run (the service layer, the save thread, the store's writer),
and the real window pieces (bridge, desk). Only the cameras are not started: these tests draw,
type and save; the live tests (`test_site_editor_live.py`) run the cameras too."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

from console.roles import Role
from console.runtime import RuntimeOptions, SiteRuntime
from console.site_file import load_site
from console.store import Store
from tests.people import enroll, password_of
from tests.sites import courtyard_site
from tests.ui.conftest import flush_deleted
from ui.bridge import PipelineBridge
from ui.shift import ShiftDesk
from ui.site_editor import SiteEditorWindow


def wait_until(condition: Callable[[], bool], timeout_s: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        QApplication.processEvents()
        if condition():
            return True
        time.sleep(0.01)
    QApplication.processEvents()
    return condition()


@dataclass
class EditorRoom:
    site_path: Path
    store: Store
    runtime: SiteRuntime
    bridge: PipelineBridge
    desk: ShiftDesk
    editor: SiteEditorWindow

    def checked(self) -> None:
        """Wait until the check has seen the draft as it is now."""
        assert wait_until(lambda: not self.editor.draft.check_pending, 30), "check never came"

    def saved(self) -> None:
        """Wait for the core's answer to the save and the writes it handed on."""
        assert wait_until(lambda: not self.editor.saving and self.desk.waiting == 0, 60)
        assert self.runtime.store.flush(timeout_s=30)


def plan_point(view: QWidget, point: tuple[float, float]) -> QPoint:
    at = view.view_point(point)  # type: ignore[attr-defined]
    return QPoint(round(at.x()), round(at.y()))


def click(view: QWidget, point: tuple[float, float], *, double: bool = False) -> None:
    where = plan_point(view, point)
    target = view.viewport()  # type: ignore[attr-defined]
    if double:
        QTest.mouseDClick(target, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, where)
    else:
        QTest.mouseClick(target, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, where)
    QApplication.processEvents()


def drag(view: QWidget, start: tuple[float, float], end: tuple[float, float]) -> None:
    """Press, move in steps, release: a mouse drag on a graphics view."""
    target = view.viewport()  # type: ignore[attr-defined]
    a, b = plan_point(view, start), plan_point(view, end)
    QTest.mousePress(target, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, a)
    for step in range(1, 9):
        t = step / 8
        at = QPointF(a.x() + t * (b.x() - a.x()), a.y() + t * (b.y() - a.y()))
        QTest.mouseMove(target, QPoint(round(at.x()), round(at.y())))
        QApplication.processEvents()
    QTest.mouseRelease(target, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, b)
    QApplication.processEvents()


def retype(edit: QWidget, text: str) -> None:
    """Select what a line edit holds and type over it, key by key."""
    edit.setFocus()
    QTest.keyClick(edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(edit, text)
    QApplication.processEvents()


def shortcut(editor: QWidget, key: Qt.Key, modifiers: Qt.KeyboardModifier) -> None:
    """A window shortcut (Ctrl+S, Ctrl+Z) pressed on the active editor."""
    editor.activateWindow()
    assert wait_until(editor.isActiveWindow, 5), "the editor is not the active window"
    target = QApplication.focusWidget() or editor
    QTest.keyClick(target, key, modifiers)
    QApplication.processEvents()


@contextmanager
def editor_room(tmp_path: Path, *, user: str = "boss") -> Iterator[EditorRoom]:
    site_path = courtyard_site(tmp_path)
    store = Store(f"sqlite:///{tmp_path / 'console.db'}", snapshots_dir=tmp_path / "snapshots")
    enroll(store, "boss", Role.SUPERVISOR)
    enroll(store, "night-monitor", Role.OPERATOR)
    bridge = PipelineBridge()
    runtime = SiteRuntime(
        load_site(site_path),
        store,
        RuntimeOptions(site_path=site_path),
        on_site_notice=bridge.on_site_notice,
        on_alarm=bridge.on_alarm,
    )
    bridge.serve(runtime.post)
    bridge.serve_queries(runtime.query)
    runtime.core.start()
    runtime.reader.start()
    desk = ShiftDesk(bridge, "editor-desk")
    editor: SiteEditorWindow | None = None
    try:
        desk.sign_in(user, password_of(user))
        assert wait_until(lambda: desk.session is not None, 30), "not signed in"
        editor = SiteEditorWindow(runtime, desk, bridge)
        editor.resize(1400, 900)
        editor.show()
        assert wait_until(editor.isVisible, 5)
        room = EditorRoom(site_path, store, runtime, bridge, desk, editor)
        room.checked()
        yield room
    finally:
        if editor is not None:
            editor.close_for_console()
        flush_deleted()
        bridge.close()
        runtime.site_desk.close()
        runtime.core.stop()
        runtime.reader.stop()
        store.close()
        desk.deleteLater()
        bridge.deleteLater()
        flush_deleted()
