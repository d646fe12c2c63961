"""Fixtures of the store's tests: a real SQLite file in a temporary folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from console.store import Store
from tests.unit.store.support import url_of


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "nightwatch.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    s = Store(url_of(db_path))
    yield s
    assert s.close().all_stored
    assert s._writer is not None
    assert not s._writer.thread.is_alive()
