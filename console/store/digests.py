"""Digests of the rows the audit chain vouches for: alarms, their events, occurrences,
dispatches, snapshots, clips, config changes, holds, user accounts, shifts and walk tests.

Every task that writes such a row records the row's digest, as it is after the task, in its
audit row (`audit.append(..., rows=[alarm, event])`). `nightwatch audit verify` reads each
table again, recomputes every row's digest and compares it with the newest one the chain
recorded for that row: an edited outcome, note, user, guard or time no longer matches, a
deleted row is missing, a row added by hand was never recorded.

A row's digest is SHA-256 over sorted-key compact JSON of `{"_table": name, column: value, ...}`
with every column; times as ISO UTC text with microseconds, enums as their values.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, Enum, Select, String, Table, select, type_coerce
from sqlalchemy.orm import Session

from console.store.models import (
    Alarm,
    AlarmEvent,
    Base,
    Clip,
    ConfigChange,
    Dispatch,
    Hold,
    Occurrence,
    Shift,
    Snapshot,
    User,
    UTCDateTime,
    WalkTest,
    WalkTestResult,
)
from console.store.tasks import canonical_json, iso

# The tables whose rows the chain vouches for, in the order verify reads them.
CROSS_CHECKED: tuple[type[Base], ...] = (
    Alarm,
    AlarmEvent,
    Occurrence,
    Dispatch,
    Snapshot,
    Clip,
    ConfigChange,
    Hold,
    User,
    Shift,
    WalkTest,
    WalkTestResult,
)
# What a chain keyed before `audit.keyed` listed its tables vouched for; a chain covers a table
# from its `audit.keyed` row (its "tables") or a later `audit.cover` row on, each followed by the
# baseline of the rows already there.
FIRST_TABLES: tuple[str, ...] = (
    "alarms",
    "alarm_events",
    "alarm_occurrences",
    "dispatches",
    "snapshots",
    "config_changes",
    "holds",
)
TABLE_NAMES: tuple[str, ...] = tuple(m.__tablename__ for m in CROSS_CHECKED)
# what verify calls a row of each table
ROW_WORDS: dict[str, str] = {
    "alarms": "alarm",
    "alarm_events": "alarm event",
    "alarm_occurrences": "occurrence",
    "dispatches": "dispatch",
    "snapshots": "snapshot",
    "clips": "clip",
    "config_changes": "config change",
    "holds": "hold",
    "users": "user account",
    "shifts": "shift",
    "walk_tests": "walk test",
    "walk_test_results": "walk test result",
}


def row_key(table: str, row_id: int) -> str:
    return f"{table}:{row_id}"


def parse_row_key(key: str) -> tuple[str, int]:
    table, _, number = key.partition(":")
    return table, int(number)


def _normal(value: Any, column: Column[Any]) -> Any:
    """A column's value as the digest spells it, whatever Python or the database made of it: a
    REAL column written as `0` reads back as `0.0`, a BOOLEAN as `1`."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, enum.Enum):
        return value.value
    python_type = _python_type(column)
    if python_type is float and isinstance(value, int | float):
        return float(value)
    if python_type is bool and isinstance(value, int | bool):
        return bool(value)
    if python_type is int and isinstance(value, int | bool):
        return int(value)
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return value


def _python_type(column: Column[Any]) -> type | None:
    try:
        return column.type.python_type
    except NotImplementedError:
        return None


def digest_values(table: str, values: Mapping[str, Any]) -> str:
    """The digest of a row given its column values (already normalised)."""
    document = {"_table": table, **values}
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()


def row_values(obj: Base) -> dict[str, Any]:
    """A mapped object's column values, normalised as the digest spells them."""
    table: Table = obj.__table__  # type: ignore[assignment]
    return {col.name: _normal(getattr(obj, col.key), col) for col in table.columns}


def row_digest(obj: Base) -> tuple[str, str]:
    """(`"table:id"`, digest) of a mapped object as it is now (after a flush)."""
    table = obj.__table__.name  # type: ignore[attr-defined]
    values = row_values(obj)
    return row_key(table, int(values["id"])), digest_values(table, values)


def digests_of(rows: Iterable[Base]) -> dict[str, str]:
    return dict(row_digest(obj) for obj in rows)


# --------------------------------------------------------------------------- reading back


def _raw(column: Column[Any]) -> Any:
    # Times and enums are read as the text stored: a mangled value is a finding, not a crash.
    if isinstance(column.type, UTCDateTime | Enum):
        return type_coerce(column, String).label(column.name)
    return column


def raw_select(model: type[Base]) -> Select[Any]:
    table: Table = model.__table__  # type: ignore[assignment]
    return select(*(_raw(c) for c in table.columns)).order_by(table.c.id)


def _parse_time(raw: object) -> datetime:
    if isinstance(raw, datetime):
        value = raw
    elif isinstance(raw, str):
        value = datetime.fromisoformat(raw)
    else:
        raise TypeError(f"time stored as {type(raw).__name__}")
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def stored_values(model: type[Base], row: Mapping[Any, Any]) -> dict[str, Any]:
    """A raw row (from `raw_select`) normalised like `row_values`; ValueError/TypeError if a
    value cannot be read."""
    table: Table = model.__table__  # type: ignore[assignment]
    values: dict[str, Any] = {}
    for col in table.columns:
        value = row[col.name]
        if value is not None and isinstance(col.type, UTCDateTime):
            value = iso(_parse_time(value))
        values[col.name] = _normal(value, col)
    return values


def stored_rows(session: Session, model: type[Base]) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """Each row of the table as (id, normalised values), or (id, why it cannot be read)."""
    result = session.execute(raw_select(model).execution_options(yield_per=2000))
    for row in result.mappings():
        try:
            yield int(row["id"]), stored_values(model, row)
        except (TypeError, ValueError) as exc:
            yield int(row["id"]), f"unreadable ({exc})"


def parse_digests(text: str | None) -> dict[str, str]:
    if not text:
        return {}
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("row digests are not a mapping")
    return {str(k): str(v) for k, v in value.items()}
