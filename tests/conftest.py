"""What every test shares: the audit keys live in a folder of the test session's own.

A console keeps its audit keys outside the database (`console.store.keys`); the tests must never
create or use the keys of the user running them, so `NIGHTWATCH_KEYS_DIR` points into the
session's temporary folder (child processes inherit it).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from console.store.keys import KEYS_ENV


@pytest.fixture(autouse=True, scope="session")
def _audit_keys_of_the_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    before = os.environ.get(KEYS_ENV)
    os.environ[KEYS_ENV] = str(tmp_path_factory.mktemp("audit-keys"))
    yield
    if before is None:
        os.environ.pop(KEYS_ENV, None)
    else:
        os.environ[KEYS_ENV] = before
