"""The site file's YAML: a safe loader without YAML 1.1's surprises, bounded against hostile
files, and keys given twice found (a plain YAML loader keeps the last one silently).

Bounds (docs/site-file.md, "Limits"): a site file holds no aliases (`*name`: an alias lets a
2 KB file expand into billions of values, and a plain site file has no use for one), at most
`MAX_VALUES` values (keys, scalars, lists and mappings), nested at most `MAX_NESTING` deep, and
no number of more than `MAX_NUMBER_DIGITS` digits. The loader stops at the first value past a
bound, so its work is bounded by these numbers and by the size of the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError

from console.site_file.problems import MISSING, Problem, field_path

__all__ = ["MAX_NESTING", "MAX_NUMBER_DIGITS", "MAX_VALUES", "SiteLoader", "parse_yaml"]

MAX_VALUES = 200_000  # a 256-camera demo museum has 4,500
MAX_NESTING = 32  # a site file nests 7 deep (cameras[0].calibration.image[0][0])
MAX_NUMBER_DIGITS = 100


class NotAccepted(ComposerError):
    """Valid YAML that a site file may not hold (an alias, too many values, too deep)."""


class SiteLoader(yaml.SafeLoader):
    """YAML 1.1 safe loader without its surprises: 10:30 is not the number 630, dates stay
    strings for pydantic to check, and 0755 is not octal. Refuses aliases and stops past
    `MAX_VALUES` values or `MAX_NESTING` levels; `values` counts the values composed."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.values = 0
        self._nesting = 0

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node | None:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise NotAccepted(
                None,
                None,
                f"a site file holds no aliases (*{_cut(event.anchor)}): write the value out",
                event.start_mark,
            )
        self.values += 1
        if self.values > MAX_VALUES:
            raise NotAccepted(
                None, None, f"more than {MAX_VALUES:,} values in one site file", event.start_mark
            )
        self._nesting += 1
        try:
            if self._nesting > MAX_NESTING:
                raise NotAccepted(
                    None, None, f"nested more than {MAX_NESTING} levels deep", event.start_mark
                )
            return super().compose_node(parent, index)
        finally:
            self._nesting -= 1

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except yaml.YAMLError:
            raise
        except (ValueError, TypeError, AttributeError, OverflowError, LookupError) as exc:
            # a value PyYAML's constructors fail on (`!!timestamp soon`, `!!timestamp 2026-13-01`,
            # an empty `!!float` or `!!int`: IndexError, an empty `!!bool`: KeyError)
            kind = node.tag.rsplit(":", 1)[-1]
            why = f": {exc}" if type(exc) is ValueError else ""
            raise ConstructorError(
                None, None, f"not a valid {_cut(kind)}{why}", node.start_mark
            ) from None


def _cut(text: object, limit: int = 40) -> str:
    shown = str(text)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


def _bounded_int(loader: SiteLoader, node: yaml.Node) -> int:
    digits = str(node.value)
    if len(digits) > MAX_NUMBER_DIGITS:
        raise ConstructorError(
            None, None, f"a number of more than {MAX_NUMBER_DIGITS} digits", node.start_mark
        )
    return loader.construct_yaml_int(node)


SiteLoader.add_constructor("tag:yaml.org,2002:int", _bounded_int)
SiteLoader.yaml_implicit_resolvers = {
    first: [
        (tag, rx)
        for tag, rx in resolvers
        if tag.rsplit(":", 1)[-1] not in {"int", "float", "timestamp"}
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
SiteLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$"), list("-+0123456789")
)
SiteLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)[eE][-+]?[0-9]+
        |[-+]?\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def _duplicate_keys(node: yaml.Node, loc: tuple[int | str, ...] = ()) -> Iterator[Problem]:
    if isinstance(node, yaml.MappingNode):
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
            if key != "<<":
                line = key_node.start_mark.line + 1
                if key in first_line:
                    got = value_node.value if isinstance(value_node, yaml.ScalarNode) else MISSING
                    yield Problem(
                        field_path((*loc, key)),
                        f"key given twice, on lines {first_line[key]} and {line}",
                        got,
                    )
                else:
                    first_line[key] = line
            yield from _duplicate_keys(value_node, (*loc, key))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _duplicate_keys(item, (*loc, index))


def parse_yaml(text: str) -> tuple[Any, list[Problem]]:
    """The document's data and the keys given twice; or (None, [the problem]) when the text
    is not YAML or holds what a site file may not."""
    loader: SiteLoader | None = None
    try:
        loader = SiteLoader(text)  # its reader refuses control characters at once
        node = loader.get_single_node()
        if node is None:
            return None, []
        problems = list(_duplicate_keys(node))
        return loader.construct_document(node), problems
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if mark is None:
            return None, [Problem("<document>", f"invalid YAML: {exc.problem or exc}")]
        what = exc.problem or "syntax error"
        if exc.context:
            what = f"{what} ({exc.context})"
        if not isinstance(exc, NotAccepted):
            what = f"invalid YAML: {what}"
        return None, [_at(text, mark.line, mark.column, what)]
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position)
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1)
        return None, [
            _at(text, line, column, f"invalid YAML: {exc.reason} (#x{exc.character:04x})")
        ]
    except yaml.YAMLError as exc:
        return None, [Problem("<document>", f"invalid YAML: {exc}")]
    finally:
        if loader is not None:
            loader.dispose()


def _at(text: str, line: int, column: int, what: str) -> Problem:
    """A problem at a place in the text, showing that line."""
    lines = text.splitlines()
    got = lines[line].strip() if line < len(lines) else MISSING
    return Problem(f"line {line + 1} column {column + 1}", what, got)
