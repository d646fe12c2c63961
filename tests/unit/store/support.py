"""What the store's tests share: a JPEG, a time, raw SQLite access, the writer threads."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

from console.store.engine import WRITER_THREAD_NAME

JPEG = b"\xff\xd8\xff\xe0" + b"nightwatch test frame" * 10 + b"\xff\xd9"
T0 = datetime(2025, 3, 1, 22, 0, tzinfo=UTC)


def url_of(path: Path) -> str:
    return f"sqlite:///{path}"


def writer_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == WRITER_THREAD_NAME]


def raw(db_path: Path) -> sqlite3.Connection:
    return sqlite3.connect(db_path, isolation_level=None)
