"""Problems found in a site file, and how they are written.

Every problem is one line, `FILE: path.to.field: what is wrong (got VALUE)`; `SiteFileError`
holds them all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

__all__ = ["MISSING", "Problem", "SiteFileError", "field_path", "show"]

MISSING: Any = object()  # "got nothing": the field is absent


@dataclass(frozen=True)
class Problem:
    path: str
    message: str
    got: Any = MISSING

    def format_without_file(self) -> str:
        return f"{self.path}: {self.message} (got {show(self.got)})"

    def format(self, file: str) -> str:
        return f"{file}: {self.format_without_file()}"


class SiteFileError(Exception):
    """A site file that cannot be used; `problems` holds every problem found, one line each."""

    def __init__(self, file: str, problems: Sequence[str]) -> None:
        self.file = file
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def show(value: Any, limit: int = 80) -> str:
    """A value as the site file would spell it, cut to `limit` characters."""
    text = _show_inner(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _show_inner(value: Any) -> str:
    if value is MISSING:
        return "nothing"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_show_inner(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_show_inner(v) for v in value) + "]"
    return repr(value)


def field_path(loc: Sequence[int | str]) -> str:
    """('cameras', 1, 'floor') -> 'cameras[1].floor'; () -> '<document>'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part == "[key]":
            continue
        else:
            out += f".{part}" if out else str(part)
    return out or "<document>"
