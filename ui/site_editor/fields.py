"""Form fields over the draft: each shows a value of the site file, writes what is typed back as
one undoable edit (keystrokes of one field merge into one step), and shows under itself, in
words, what the check finds wrong with it.

    row = TextField(draft, ("zones", 0, "name"), "Name", tooltip=...)
    row = NumberField(draft, ("zones", 0, "loiter_s"), "Loiter time, s", optional=True)
    row = ChoiceField(draft, ("zones", 0, "kind"), "Kind", ["gallery", "restricted", ...])

Titles and help come from the site file's own models (`field_help`), so the editor says what
docs/site-file.md says.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from ui.site_editor.draft import MISSING, DataPath, SiteDraft, path_text
from ui.theme import PALETTE

__all__ = [
    "BoolField",
    "ChoiceField",
    "Field",
    "NumberField",
    "ProblemLabel",
    "TextField",
    "field_help",
]


def field_help(model: type[BaseModel], name: str) -> tuple[str, str]:
    """(title, description) of a site-file model's field."""
    info = model.model_fields[name]
    return info.title or name, info.description or ""


def typed_number(text: str) -> Any:
    """What a number field holds for this text: the number, or the text itself (the check then
    says it is not one)."""
    stripped = text.strip()
    try:
        value = float(stripped)
    except ValueError:
        return stripped
    if value.is_integer() and "." not in stripped and "e" not in stripped.lower():
        return int(value)
    return value


def shown(value: Any) -> str:
    if value is MISSING or value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class ProblemLabel(QLabel):
    """What the check says is wrong, in red, hidden when nothing is."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setStyleSheet(f"color: {PALETTE.offline};")
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.hide()

    def say(self, lines: Sequence[str]) -> None:
        self.setText("\n".join(f"⚠ {line}" for line in lines))
        self.setVisible(bool(lines))


class Field(QWidget):
    """A labelled editor of one value, with its problems under it."""

    def __init__(
        self,
        draft: SiteDraft,
        path: DataPath,
        label: str,
        editor: QWidget,
        *,
        tooltip: str = "",
        what: str = "",
    ) -> None:
        super().__init__()
        self.draft = draft
        self.path = path
        self.label_text = label
        self.what = what or label.lower()
        self.editor = editor
        self.problem = ProblemLabel(self)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 4)
        column.setSpacing(1)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel(label)
        self.label.setMinimumWidth(150)
        self.label.setToolTip(tooltip)
        editor.setToolTip(tooltip)
        editor.setAccessibleName(label)
        row.addWidget(self.label)
        row.addWidget(editor, 1)
        column.addLayout(row)
        column.addWidget(self.problem)

    @property
    def merge_key(self) -> str:
        return f"field:{path_text(self.path)}"

    def write(self, value: Any, *, merge: bool = True) -> None:
        self.draft.set_value(self.path, value, f"{self.what}", self.merge_key if merge else None)

    def refresh(self) -> None:
        """Show the draft's value (after an undo, a redo, another view's edit) and problems."""
        self.problem.say([p.message for p in self.draft.problems_at(self.path)])


class TextField(Field):
    def __init__(
        self,
        draft: SiteDraft,
        path: DataPath,
        label: str,
        *,
        optional: bool = False,
        on_finish: Callable[[str], None] | None = None,
        tooltip: str = "",
        what: str = "",
        placeholder: str = "",
    ) -> None:
        """`on_finish`: the value is written when typing ends (Enter, or leaving the field),
        by this callable (an id, whose references follow it); else at each keystroke."""
        self.edit = QLineEdit()
        self.edit.setPlaceholderText(placeholder)
        super().__init__(draft, path, label, self.edit, tooltip=tooltip, what=what)
        self.optional = optional
        self._on_finish = on_finish
        if on_finish is None:
            self.edit.textEdited.connect(self._typed)
        else:
            self.edit.editingFinished.connect(self._finished)
        self.refresh()

    def _value(self, text: str) -> Any:
        return MISSING if self.optional and not text.strip() else text

    def _typed(self, text: str) -> None:
        self.write(self._value(text))

    def _finished(self) -> None:
        assert self._on_finish is not None
        text = self.edit.text()
        if text != shown(self.draft.get(self.path, MISSING)):
            self._on_finish(text)

    def refresh(self) -> None:
        text = shown(self.draft.get(self.path, MISSING))
        if self.edit.text() != text:
            self.edit.setText(text)
        super().refresh()


class NumberField(TextField):
    def __init__(
        self,
        draft: SiteDraft,
        path: DataPath,
        label: str,
        *,
        optional: bool = False,
        default: Any = None,
        tooltip: str = "",
        what: str = "",
    ) -> None:
        placeholder = f"default {shown(default)}" if default not in (None, MISSING) else ""
        if optional and not placeholder:
            placeholder = "none"
        super().__init__(
            draft,
            path,
            label,
            optional=optional or default is not None,
            tooltip=tooltip,
            what=what,
            placeholder=placeholder,
        )

    def _value(self, text: str) -> Any:
        if not text.strip() and self.optional:
            return MISSING
        return typed_number(text)


class ChoiceField(Field):
    def __init__(
        self,
        draft: SiteDraft,
        path: DataPath,
        label: str,
        choices: Sequence[str] | Sequence[tuple[str, str]],
        *,
        optional: bool = False,
        default: str | None = None,
        tooltip: str = "",
        what: str = "",
    ) -> None:
        self.box = QComboBox()
        super().__init__(draft, path, label, self.box, tooltip=tooltip, what=what)
        self.optional = optional
        self.default = default
        if optional:
            self.box.addItem("(none)", None)
        for choice in choices:
            value, words = choice if isinstance(choice, tuple) else (choice, choice)
            self.box.addItem(words, value)
        self.box.activated.connect(self._chosen)
        self.refresh()

    def _chosen(self, index: int) -> None:
        value = self.box.itemData(index)
        if value is None or (self.default is not None and value == self.default):
            present = self.draft.get(self.path, MISSING)
            if value is None or present is MISSING:
                self.write(MISSING, merge=False)
                return
        self.write(value, merge=False)

    def refresh(self) -> None:
        value = self.draft.get(self.path, MISSING)
        if value is MISSING:
            value = self.default
        index = self.box.findData(value)
        if index < 0 and value is not None:
            self.box.addItem(f"{value} (not a valid choice)", value)
            index = self.box.count() - 1
        self.box.setCurrentIndex(max(0, index))
        super().refresh()


class BoolField(Field):
    def __init__(
        self,
        draft: SiteDraft,
        path: DataPath,
        label: str,
        *,
        default: bool = True,
        tooltip: str = "",
        what: str = "",
    ) -> None:
        self.box = QCheckBox()
        super().__init__(draft, path, label, self.box, tooltip=tooltip, what=what)
        self.default = default
        self.box.clicked.connect(self._clicked)
        self.refresh()

    def _clicked(self, checked: bool) -> None:
        present = self.draft.get(self.path, MISSING)
        self.write(
            MISSING if checked == self.default and present is MISSING else checked, merge=False
        )

    def refresh(self) -> None:
        value = self.draft.get(self.path, MISSING)
        self.box.setChecked(bool(self.default if value is MISSING else value))
        super().refresh()
