"""The site file's JSON Schema, for editors: `python -m console.site_file --schema >
resources/site.schema.json` (a unit test fails when the committed file and the models differ)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from console.site_file.schema import Site

__all__ = ["main", "site_schema"]


def site_schema() -> dict[str, Any]:
    """The JSON Schema of the site file, for editors (resources/site.schema.json)."""
    schema = Site.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://nightwatch.example/site.schema.json"
    return schema


def main(argv: Sequence[str]) -> int:
    if list(argv) == ["--schema"]:
        sys.stdout.write(json.dumps(site_schema(), indent=2, ensure_ascii=False) + "\n")
        return 0
    sys.stderr.write("usage: python -m console.site_file --schema\n")
    return 2
