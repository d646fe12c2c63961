"""The site being edited: a copy of the site file's data, every edit an undoable command, and
the check `nightwatch check` runs, on a thread of its own, after each edit.

    draft = SiteDraft(site_path, text)             # the file's text as the editor opened it
    draft.set_value(("zones", 0, "loiter_s"), 300.0, "loiter time of Courtyard")
    draft.stack.undo()                             # QUndoStack: every edit undoes and redoes
    draft.checked.connect(show_problems)           # DraftCheck: problems by field, warnings
    draft.text()                                   # what Save sends to the core

The data is what `Site.model_dump(mode="json", exclude_defaults=True)` gives (lists, dicts,
strings, numbers), so a value typed wrong can be held and shown where it is wrong until it is
put right: validity is the check's to say, never the editor's to guess. The check is exactly
`console.site_apply.check_site_text` (what `nightwatch check` and every save run: video files
probed, outlines against the frame, coverage warnings), debounced and run on the draft's own
thread ("nightwatch-site-check"), joined by `close()`; a check overtaken by a newer edit is
dropped.

Paths address the data: `("protected_objects", 2, "plan_polygon")` is the problems' own
`protected_objects[2].plan_polygon`.
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot
from PySide6.QtGui import QUndoCommand, QUndoStack

from console.site_apply import SiteCheck, check_site_text, site_data_to_yaml
from console.site_file import Site, SiteFileError, load_site_text
from console.site_file.yaml_loading import parse_yaml
from console.store.config_changes import digest

log = logging.getLogger(__name__)

__all__ = ["MISSING", "DataPath", "DraftCheck", "DraftProblem", "SiteDraft", "path_text"]

DataPath = tuple[str | int, ...]
CHECK_DELAY_MS = 250  # an edit waits this long for the next keystroke before it is checked
CHECK_THREAD_NAME = "nightwatch-site-check"
SECTIONS = ("floors", "cameras", "protected_objects", "zones")


class _Missing:
    """An absent key (the field left out: its default)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def path_text(path: DataPath) -> str:
    """("zones", 0, "plan_polygon") -> "zones[0].plan_polygon" (the problems' spelling)."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass(frozen=True, slots=True)
class DraftProblem:
    """One problem of the check: the field's path (problems' spelling), what is wrong, and the
    whole line as `nightwatch check` prints it."""

    path: str
    message: str
    line: str

    def under(self, prefix: str) -> bool:
        """Whether the problem is about `prefix` or a part of it."""
        return self.path == prefix or self.path.startswith((prefix + ".", prefix + "["))


@dataclass(frozen=True, slots=True)
class DraftCheck:
    """What the check said of one version of the draft."""

    generation: int
    text: str
    site: Site | None
    problems: tuple[DraftProblem, ...]
    warnings: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.site is not None and not self.problems

    def at(self, prefix: str) -> list[DraftProblem]:
        return [p for p in self.problems if p.under(prefix)]


def _split(line: str, file: str) -> DraftProblem:
    body = line[len(file) + 2 :] if line.startswith(file + ": ") else line
    if body.startswith("warning: "):
        body = body[len("warning: ") :]
    path, sep, message = body.partition(": ")
    if not sep:
        return DraftProblem("<document>", body, line)
    return DraftProblem(path, message, line)


def initial_data(text: str, path: Path) -> tuple[dict[str, Any], str | None]:
    """The editor's data of a site file's text: the loaded site's (normalised, defaults left
    out), or, when the file does not load, its raw YAML (with why), so it can be put right."""
    file = str(path)
    try:
        site = load_site_text(text, file, path.resolve().parent)
    except SiteFileError as exc:
        data, problems = parse_yaml(text)
        if isinstance(data, dict):
            return _plain(data), f"{len(exc.problems)} problem(s) in the file as it is"
        return {"version": 1}, "; ".join(p.format(file) for p in problems) or str(exc)
    return {"version": site.version, **site.model_dump(mode="json", exclude_defaults=True)}, None


def _plain(value: Any) -> Any:
    """YAML data as JSON-like data (dates and times as text; tuples as lists)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


class _Edit(QUndoCommand):
    """Base of the draft's commands: tells the draft after each do and undo."""

    def __init__(self, draft: SiteDraft, text: str) -> None:
        super().__init__(text)
        self.draft = draft


class SetValue(_Edit):
    """Set (or, with MISSING, remove) the value at a path. Consecutive edits of one field with
    the same `merge_key` (keystrokes) are one step on the undo stack."""

    MERGE_ID = 1701

    def __init__(
        self,
        draft: SiteDraft,
        path: DataPath,
        value: Any,
        text: str,
        merge_key: str | None = None,
    ) -> None:
        super().__init__(draft, text)
        self.path = path
        self.old = copy.deepcopy(draft.get(path, MISSING))
        self.new = copy.deepcopy(value)
        self.merge_key = merge_key

    def id(self) -> int:
        return self.MERGE_ID if self.merge_key is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if (
            not isinstance(other, SetValue)
            or other.merge_key != self.merge_key
            or other.path != self.path
        ):
            return False
        self.new = copy.deepcopy(other.new)
        return True

    def redo(self) -> None:
        self.draft._put(self.path, self.new)

    def undo(self) -> None:
        self.draft._put(self.path, self.old)


class InsertItem(_Edit):
    """Put an item into a list (a section of the site, a floor's ...) at `index`."""

    def __init__(self, draft: SiteDraft, path: DataPath, index: int, item: Any, text: str) -> None:
        super().__init__(draft, text)
        self.path = path
        self.index = index
        self.item = copy.deepcopy(item)

    def redo(self) -> None:
        self.draft._insert(self.path, self.index, copy.deepcopy(self.item))

    def undo(self) -> None:
        self.draft._remove(self.path, self.index)


class RemoveItem(_Edit):
    def __init__(self, draft: SiteDraft, path: DataPath, index: int, text: str) -> None:
        super().__init__(draft, text)
        self.path = path
        self.index = index
        self.item = copy.deepcopy(draft.get((*path, index)))

    def redo(self) -> None:
        self.draft._remove(self.path, self.index)

    def undo(self) -> None:
        self.draft._insert(self.path, self.index, copy.deepcopy(self.item))


class SiteDraft(QObject):
    """The edited copy of a site (see the module doc)."""

    changed = Signal()  # any edit, undo or redo (also a reset)
    checked = Signal(object)  # DraftCheck of the newest version
    _check_done = Signal(object)  # internal: from the check thread, queued to this thread

    def __init__(self, path: Path, text: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.path = Path(path)
        self.stack = QUndoStack(self)
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=CHECK_THREAD_NAME)
        self._generation = 0
        self._checking: Future[Any] | None = None
        self.last_check: DraftCheck | None = None
        self.checks_done = 0
        self._closed = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(CHECK_DELAY_MS)
        self._timer.timeout.connect(self.check_now)
        self._check_done.connect(self._checked)
        self.opened_text = text
        self.opened_digest: str | None = digest(text)
        self.data: dict[str, Any] = {}
        self.load_note: str | None = None
        self.reset(text)

    # -- reading ---------------------------------------------------------------------------

    def get(self, path: DataPath, default: Any = None) -> Any:
        node: Any = self.data
        for part in path:
            if isinstance(part, int):
                if not isinstance(node, list) or not 0 <= part < len(node):
                    return default
                node = node[part]
            else:
                if not isinstance(node, dict) or part not in node:
                    return default
                node = node[part]
        return node

    def items(self, section: str) -> list[dict[str, Any]]:
        found = self.data.get(section)
        return [i for i in found if isinstance(i, dict)] if isinstance(found, list) else []

    def index_of(self, section: str, item_id: str) -> int | None:
        found = self.data.get(section)
        if not isinstance(found, list):
            return None
        for index, item in enumerate(found):
            if isinstance(item, dict) and item.get("id") == item_id:
                return index
        return None

    def item(self, section: str, item_id: str) -> dict[str, Any] | None:
        index = self.index_of(section, item_id)
        return None if index is None else self.data[section][index]

    def ids(self, section: str) -> list[str]:
        return [str(i.get("id")) for i in self.items(section) if i.get("id") is not None]

    def new_id(self, section: str, stem: str) -> str:
        """`stem-1`, `stem-2`, ...: the first not taken in the section (nor by objects or zones,
        which alarms name alike)."""
        taken = {*self.ids(section), *self.ids("protected_objects"), *self.ids("zones")}
        n = 1
        while f"{stem}-{n}" in taken:
            n += 1
        return f"{stem}-{n}"

    def metres_per_pixel(self, floor_id: str) -> float | None:
        floor = self.item("floors", floor_id)
        value = floor.get("metres_per_pixel") if floor else None
        if value is None or not _number(value):
            return None
        return float(value) if float(value) > 0 else None

    def plan_path(self, floor_id: str) -> Path | None:
        floor = self.item("floors", floor_id)
        plan = floor.get("plan") if floor else None
        return self.path.resolve().parent / plan if isinstance(plan, str) and plan else None

    def text(self) -> str:
        return site_data_to_yaml(self.data)

    @property
    def dirty(self) -> bool:
        """Edits not saved (undone back to the saved state counts as none)."""
        return not self.stack.isClean()

    # -- editing (every change an undoable command) ----------------------------------------

    def set_value(
        self, path: DataPath, value: Any, text: str, merge_key: str | None = None
    ) -> None:
        if self.get(path, MISSING) == value:
            return
        self.stack.push(SetValue(self, path, value, text, merge_key))

    def insert_item(self, path: DataPath, item: Any, text: str, index: int | None = None) -> int:
        found = self.get(path)
        length = len(found) if isinstance(found, list) else 0
        at = length if index is None else index
        self.stack.push(InsertItem(self, path, at, item, text))
        return at

    def remove_item(self, path: DataPath, index: int, text: str) -> None:
        self.stack.push(RemoveItem(self, path, index, text))

    def macro(self, text: str) -> _Macro:
        """`with draft.macro("rename camera"): ...`: several edits, one undo step."""
        return _Macro(self.stack, text)

    def reset(self, text: str) -> None:
        """Start again from this text (opened, reverted): no undo history, nothing dirty."""
        self.stack.clear()
        self.opened_text = text
        self.opened_digest = digest(text)
        self.data, self.load_note = initial_data(text, self.path)
        self.stack.setClean()
        self.changed.emit()
        self.check_now()

    def mark_saved(self, text: str) -> None:
        """The core saved this text: it is the file's now (the undo history stays)."""
        self.opened_text = text
        self.opened_digest = digest(text)
        self.stack.setClean()

    # -- the commands' side ----------------------------------------------------------------

    def _put(self, path: DataPath, value: Any) -> None:
        parent = self._container(path[:-1])
        key = path[-1]
        if value is MISSING:
            if isinstance(parent, dict):
                parent.pop(key, None)
            elif isinstance(parent, list) and isinstance(key, int) and key < len(parent):
                del parent[key]
        elif isinstance(parent, list) and isinstance(key, int):
            while len(parent) <= key:
                parent.append(None)
            parent[key] = copy.deepcopy(value)
        else:
            parent[key] = copy.deepcopy(value)
        self._edited()

    def _insert(self, path: DataPath, index: int, item: Any) -> None:
        found = self.get(path)
        if not isinstance(found, list):
            parent = self._container(path[:-1])
            found = []
            parent[path[-1]] = found
        found.insert(index, item)
        self._edited()

    def _remove(self, path: DataPath, index: int) -> None:
        found = self.get(path)
        if isinstance(found, list) and 0 <= index < len(found):
            del found[index]
            if not found and path in (("protected_objects",), ("zones",), ("guards",)):
                self.data.pop(str(path[0]), None)
        self._edited()

    def _container(self, path: DataPath) -> Any:
        """The dict or list at `path`, made (as dicts) where absent."""
        node: Any = self.data
        for part in path:
            if isinstance(part, int):
                node = node[part]
            else:
                if not isinstance(node.get(part), dict | list):
                    node[part] = {}
                node = node[part]
        return node

    def _edited(self) -> None:
        self.changed.emit()
        self._timer.start()

    # -- the check -------------------------------------------------------------------------

    @Slot()
    def check_now(self) -> None:
        """Check the draft as it is now, on the check thread (the answer: `checked`)."""
        if self._closed:
            return
        self._timer.stop()
        self._generation += 1
        generation, text = self._generation, self.text()
        self._checking = self._executor.submit(self._check, generation, text)

    def _check(self, generation: int, text: str) -> None:
        """(the check thread)"""
        if generation != self._generation:
            return  # overtaken by a newer edit before it started
        try:
            result: SiteCheck = check_site_text(text, self.path)
        except Exception as exc:  # a fault of the check itself is shown, not lost
            log.exception("site check failed")
            result = SiteCheck(None, (f"{self.path}: <document>: the check failed: {exc}",))
        file = str(self.path)
        check = DraftCheck(
            generation,
            text,
            result.site,
            tuple(_split(line, file) for line in result.problems),
            tuple(_split(line, file).line for line in result.warnings),
        )
        if not self._closed:
            self._check_done.emit(check)

    @Slot(object)
    def _checked(self, check: DraftCheck) -> None:
        if self._closed or check.generation != self._generation:
            return
        self.last_check = check
        self.checks_done += 1
        self.checked.emit(check)

    @property
    def check_pending(self) -> bool:
        return self._timer.isActive() or (
            self.last_check is None or self.last_check.generation != self._generation
        )

    def problems_at(self, path: DataPath | str) -> list[DraftProblem]:
        check = self.last_check
        if check is None:
            return []
        return check.at(path if isinstance(path, str) else path_text(path))

    def warning_lines(self) -> Sequence[str]:
        return self.last_check.warnings if self.last_check is not None else ()

    def close(self) -> None:
        """Stop checking and join the check thread."""
        self._closed = True
        self._timer.stop()
        self._executor.shutdown(wait=True, cancel_futures=True)


class _Macro:
    def __init__(self, stack: QUndoStack, text: str) -> None:
        self.stack = stack
        self.text = text

    def __enter__(self) -> _Macro:
        self.stack.beginMacro(self.text)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stack.endMacro()


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_INDEX = re.compile(r"^(?P<section>[a-z_]+)\[(?P<index>[0-9]+)\]")


def item_of_problem(problem: DraftProblem) -> tuple[str, int] | None:
    """("zones", 2) for a problem under zones[2]; None for one of the site as a whole."""
    match = _INDEX.match(problem.path)
    if match is None or match.group("section") not in SECTIONS:
        return None
    return match.group("section"), int(match.group("index"))


def number(value: Any) -> float | None:
    """A number of the data, or None (absent, or typed wrong)."""
    return float(value) if _number(value) else None


def points(value: Any) -> list[tuple[float, float]] | None:
    """A polygon or point list of the data as floats, or None when it is not one."""
    if not isinstance(value, list):
        return None
    out = []
    for point in value:
        if (
            not isinstance(point, list | tuple)
            or len(point) != 2
            or not all(_number(v) for v in point)
        ):
            return None
        out.append((float(point[0]), float(point[1])))
    return out
