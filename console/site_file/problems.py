"""Problems found in a site file, and how they are written.

Every problem is one line, `FILE: path.to.field: what is wrong (got VALUE)`; `SiteFileError`
holds them all.
"""

from __future__ import annotations

import contextlib
import reprlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from inference.sources import mask_credentials

__all__ = ["MISSING", "Problem", "SiteFileError", "field_path", "show", "site_file_error"]

MISSING: Any = object()  # "got nothing": the field is absent
SHOW_LIMIT = 80  # characters of a value shown after "got"
PATH_PART_LIMIT = 40  # characters of one key in a field path
MAX_PROBLEMS = 200  # lines of one SiteFileError; the rest are counted


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


def site_file_error(file: str, problems: Sequence[Problem]) -> SiteFileError:
    """The error holding the problems' lines; past `MAX_PROBLEMS`, one line counts the rest."""
    lines = [p.format(file) for p in problems[:MAX_PROBLEMS]]
    if len(problems) > MAX_PROBLEMS:
        more = len(problems) - MAX_PROBLEMS
        lines.append(
            Problem(
                "<document>", f"{more} more problems not listed (fix these first)", more
            ).format(file)
        )
    return SiteFileError(file, lines)


def show(value: Any, limit: int = SHOW_LIMIT) -> str:
    """A value as the site file would spell it, cut to `limit` characters.

    Never builds more than `limit` characters of it, however large the value (a list of a
    million points, a string of a megabyte); credentials in URLs are masked.
    """
    out = _Bounded(limit + 1)
    with contextlib.suppress(_Full):
        _write(value, out)
    text = "".join(out.pieces)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _Full(Exception):
    """Enough has been written."""


class _Bounded:
    def __init__(self, capacity: int) -> None:
        self.pieces: list[str] = []
        self.room = capacity

    def add(self, text: str) -> None:
        piece = text[: self.room]
        self.pieces.append(piece)
        self.room -= len(piece)
        if self.room <= 0:
            raise _Full


def _write(value: Any, out: _Bounded) -> None:
    if value is MISSING:
        out.add("nothing")
    elif value is None:
        out.add("null")
    elif isinstance(value, bool):
        out.add("true" if value else "false")
    elif isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        out.add(str(int(value)))
    elif isinstance(value, int) and value.bit_length() > 10_000:  # past str()'s digit limit
        out.add(f"a number of {value.bit_length()} bits")
    elif isinstance(value, int | float):
        out.add(repr(value))
    elif isinstance(value, str):
        out.add(_repr_str(mask_credentials(value) if "://" in value else value, out.room))
    elif isinstance(value, date | datetime):
        out.add(value.isoformat())
    elif isinstance(value, dict):
        out.add("{")
        for index, (key, item) in enumerate(value.items()):
            out.add(", " if index else "")
            out.add(_key_text(key, out.room))
            out.add(": ")
            _write(item, out)
        out.add("}")
    elif isinstance(value, list | tuple):
        out.add("[")
        for index, item in enumerate(value):
            out.add(", " if index else "")
            _write(item, out)
        out.add("]")
    else:
        out.add(_SHORT_REPR.repr(value))


def _key_text(key: Any, room: int) -> str:
    if isinstance(key, str):
        text = key[:room]
    elif isinstance(key, bytes):
        text = str(key[:room])
    else:
        text = str(key)
    return text if text.isprintable() else repr(text)[1:-1]  # a line break stays "\n"


def _repr_str(text: str, room: int) -> str:
    """repr(text), or its first `room` characters when text is longer (same quotes)."""
    if len(text) <= room:
        return repr(text)
    head = repr(text[:room])
    if head[0] == "'" and "'" in text and '"' not in text:
        head = '"' + head[1:]  # repr(text) would have used double quotes
    return head


_SHORT_REPR = reprlib.Repr()
_SHORT_REPR.maxstring = _SHORT_REPR.maxother = _SHORT_REPR.maxlong = SHOW_LIMIT


def field_path(loc: Sequence[int | str]) -> str:
    """('cameras', 1, 'floor') -> 'cameras[1].floor'; () -> '<document>'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part == "[key]":
            continue
        else:
            text = str(part)
            if not text.isprintable():
                text = repr(text)[1:-1]  # a key holding a line break stays on one line
            if len(text) > PATH_PART_LIMIT:
                text = text[: PATH_PART_LIMIT - 3] + "..."
            out += f".{text}" if out else text
    return out or "<document>"
