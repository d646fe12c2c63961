"""What every test shares: the audit keys live in a folder of the test session's own.

A console keeps its audit keys outside the database (`console.store.keys`); the tests must never
create or use the keys of the user running them, so `NIGHTWATCH_KEYS_DIR` points into the
session's temporary folder (child processes inherit it). Nor may they write the user's OS
keyring: `PYTHON_KEYRING_BACKEND` (the `keyring` package's own setting) names its fail backend,
the state of a machine without one (CI, a service account), so the keys are files; the keyring's
own tests set a fake in-memory backend (tests/unit/store/test_keyring.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from console.store.keys import KEYS_ENV

KEYRING_BACKEND_ENV = "PYTHON_KEYRING_BACKEND"


@pytest.fixture(autouse=True, scope="session")
def _audit_keys_of_the_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    before = {name: os.environ.get(name) for name in (KEYS_ENV, KEYRING_BACKEND_ENV)}
    os.environ[KEYS_ENV] = str(tmp_path_factory.mktemp("audit-keys"))
    os.environ[KEYRING_BACKEND_ENV] = "keyring.backends.fail.Keyring"
    yield
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
