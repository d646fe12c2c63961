"""The site file's YAML: a safe loader without YAML 1.1's surprises, and keys given twice
found (a plain YAML loader keeps the last one silently)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import yaml

from console.site_file.problems import MISSING, Problem, field_path

__all__ = ["SiteLoader", "parse_yaml"]


class SiteLoader(yaml.SafeLoader):
    """YAML 1.1 safe loader without its surprises: 10:30 is not the number 630, dates stay
    strings for pydantic to check, and 0755 is not octal."""


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
    loader = SiteLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, []
        problems = list(_duplicate_keys(node))
        return loader.construct_document(node), problems
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if mark is None:
            return None, [Problem("<document>", f"invalid YAML: {exc.problem or exc}")]
        lines = text.splitlines()
        got = lines[mark.line].strip() if mark.line < len(lines) else MISSING
        what = exc.problem or "syntax error"
        if exc.context:
            what = f"{what} ({exc.context})"
        return None, [
            Problem(f"line {mark.line + 1} column {mark.column + 1}", f"invalid YAML: {what}", got)
        ]
    except yaml.YAMLError as exc:
        return None, [Problem("<document>", f"invalid YAML: {exc}")]
    finally:
        loader.dispose()
