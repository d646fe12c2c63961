"""Durable storage of alarms and the audit log (SQLAlchemy + Alembic). No Qt, no `ui`."""

from console.store.migrations import upgrade_to_head
from console.store.models import AlarmState, EventKind, Outcome, Role
from console.store.repository import (
    AlarmEventRecord,
    AlarmNotFoundError,
    AlarmRecord,
    AlarmStore,
    AuditEntry,
    AuditVerification,
    ConfigChangeRecord,
    DispatchRecord,
    ShiftRecord,
    SnapshotRecord,
    StaleStateError,
    StoreClosedError,
    StoreError,
    StoreWriteError,
    UserRecord,
    default_database_url,
)

__all__ = [
    "AlarmEventRecord",
    "AlarmNotFoundError",
    "AlarmRecord",
    "AlarmState",
    "AlarmStore",
    "AuditEntry",
    "AuditVerification",
    "ConfigChangeRecord",
    "DispatchRecord",
    "EventKind",
    "Outcome",
    "Role",
    "ShiftRecord",
    "SnapshotRecord",
    "StaleStateError",
    "StoreClosedError",
    "StoreError",
    "StoreWriteError",
    "UserRecord",
    "default_database_url",
    "upgrade_to_head",
]
