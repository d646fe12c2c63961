"""Fuzzing, CI-sized: a few hundred generated and mutated inputs for the site file's YAML loader
(and `load_site` behind it) and for the still-image reader, in a child process whose address space
is capped (tests/reliability/fuzzing.py says the contract). bench/reliability.py fuzz runs it for
minutes, with atheris where it is installed. The property tests over whole site files and
polygons are tests/unit/test_hostile_input.py (marked `reliability` too)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.reliability.children import REPO, child_env

pytestmark = pytest.mark.reliability

EXAMPLES = {"yaml": 250, "image": 800}
MAX_MB = 1024  # above what the child holds after its imports


@pytest.mark.parametrize("target", sorted(EXAMPLES))
def test_fuzzed_input_is_an_answer_or_a_clear_refusal_within_bounded_memory(target: str) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.reliability.fuzzing",
            target,
            "--examples",
            str(EXAMPLES[target]),
            "--seconds",
            "3600",  # the count ends it
            "--max-mb",
            str(MAX_MB),
            "--seed",
            "20261130",
        ],
        cwd=REPO,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (line,) = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
    result = json.loads(line.removeprefix("RESULT "))
    assert result["inputs"] >= EXAMPLES[target]
    assert sum(result["outcomes"].values()) == result["inputs"]  # each one answered
    assert result["peak_rss_mb"] < result["address_space_cap_mb"]
