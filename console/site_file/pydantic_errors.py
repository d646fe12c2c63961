"""Pydantic's validation errors, said in the site file's words: `cameras[1].flor: unknown field,
did you mean 'floor'? (got 'ground')`."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import BaseModel, ValidationError

from console.site_file.problems import MISSING, Problem, field_path
from console.site_file.schema import Site

__all__ = ["from_pydantic", "problems_of"]


def problems_of(exc: ValidationError) -> list[Problem]:
    """One problem per error, in the file's order."""
    errors = exc.errors()
    # A list whose items failed also reports being too short: the item errors say it all.
    # (Found through the set of every error's enclosing places: one pass, however many errors.)
    enclosing = {tuple(e["loc"][:k]) for e in errors for k in range(len(e["loc"]))}
    errors = [e for e in errors if e["type"] != "too_short" or tuple(e["loc"]) not in enclosing]
    return [from_pydantic(e) for e in errors]


def _model_fields_at(loc: Sequence[int | str]) -> list[str]:
    """Field names of the model found by following loc from Site (for 'did you mean')."""
    tp: Any = Site
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if not isinstance(part, str) or part not in tp.model_fields:
                return []
            tp = tp.model_fields[part].annotation
            continue
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin is tuple and args:
            tp = args[0]
        elif origin is dict and len(args) == 2:
            tp = args[1]
        else:
            return []
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return list(tp.model_fields)
    return []


def _unwrap(tp: Any) -> Any:
    while True:
        origin = typing.get_origin(tp)
        if origin is Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


_MESSAGE_FIXES = (
    ("Input should be a valid tuple", "should be a list"),
    ("Input should be a valid dictionary or instance of", "should be a mapping of"),
    ("Input should be a valid dictionary", "should be a mapping"),
    ("Input should be", "should be"),
    ("String should", "should"),
)


def from_pydantic(error: Any) -> Problem:
    loc = tuple(error.get("loc", ()))
    kind = error["type"]
    ctx = error.get("ctx") or {}
    value = error.get("input", MISSING)
    if kind == "missing":
        return Problem(field_path(loc), "required field missing")
    if kind == "extra_forbidden":
        message = "unknown field"
        known = _model_fields_at(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), known, n=1) if known else []
        if close:
            message += f", did you mean '{close[0]}'?"
        return Problem(field_path(loc), message, value)
    if kind in ("too_short", "too_long"):
        bound = ctx.get("min_length") if kind == "too_short" else ctx.get("max_length")
        word = "at least" if kind == "too_short" else "at most"
        items = "item" if bound == 1 else "items"
        return Problem(field_path(loc), f"needs {word} {bound} {items}", ctx.get("actual_length"))
    if "got" in ctx:
        value = ctx["got"]
    message = str(error.get("msg", kind))
    message = message.removeprefix("Value error, ")
    for old, new in _MESSAGE_FIXES:
        if message.startswith(old):
            message = new + message[len(old) :]
            break
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        message = "should be a mapping of fields"
    message = message[:1].lower() + message[1:]
    return Problem(field_path(loc), message, value)
