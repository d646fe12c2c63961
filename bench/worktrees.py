"""A landed commit checked out beside this tree, for the benchmarks that measure against it in
the same run (`--baseline-rev`): a temporary git worktree, removed afterwards."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def baseline_tree(rev: str, folder: Path) -> Iterator[Path]:
    """`rev` checked out (detached) in `folder`, for the duration of the block."""
    tree = folder / f"baseline-{rev[:12]}"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), rev],
        check=True,
        capture_output=True,
    )
    try:
        yield tree
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
            capture_output=True,
        )
