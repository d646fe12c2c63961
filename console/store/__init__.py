"""Durable storage of alarms and the audit log (SQLAlchemy + Alembic). No Qt, no `ui`.

`Store` (engine.py) opens the database and owns the one writer thread; each area module holds its
write tasks (frozen dataclasses, `store.write(task)`) and its query functions
(`store.read(query, ...)`): `alarms`, `snapshots`, `holds`, `retention`, `staff`,
`config_changes`, `audit` (with `keys`, `heads`, `digests`, and `integrity`, which checks it
all). Every
public name is re-exported here except the query `console.store.snapshots.snapshots`, which would
hide its own module.
"""

from console.store.alarms import (
    AddAlarmEvent,
    AlarmEventRecord,
    AlarmRecord,
    ChangeAlarmState,
    DispatchRecord,
    OccurrenceRecord,
    RaiseAlarm,
    RecordArrival,
    RecordDispatch,
    RecordOccurrence,
    alarm_events,
    count_alarms,
    dispatches,
    find_open_alarm,
    get_alarm,
    list_alarms,
    next_alarm_id,
    occurrences,
    open_alarms,
)
from console.store.audit import (
    AppendAudit,
    AuditEntry,
    AuditKeyMismatchError,
    AuditVerification,
    audit_entries,
    chain_head,
    verify_chain,
)
from console.store.config_changes import (
    ConfigChangeRecord,
    RecordConfigChange,
    list_config_changes,
)
from console.store.engine import FaultListener, Store, default_database_url
from console.store.errors import (
    AlarmIdTakenError,
    AlarmNotFoundError,
    StaleStateError,
    StoreClosedError,
    StoreError,
    StoreLockedError,
    StoreWriteError,
)
from console.store.faults import CloseReport, StoreHealth
from console.store.holds import HoldRecord, PlaceHold, ReleaseHold, active_hold, list_holds
from console.store.integrity import Finding, IntegrityReport, verify_store
from console.store.keys import AuditKeyError, AuditKeys, default_keys_dir, load_audit_keys
from console.store.migrations import upgrade_to_head
from console.store.models import AlarmState, EventKind, Outcome, Role
from console.store.retention import ApplyRetention, PurgeCount
from console.store.snapshots import (
    PurgeExpiredSnapshots,
    SnapshotRecord,
    StoreSnapshot,
    get_snapshot,
    verify_snapshot,
)
from console.store.staff import (
    AddUser,
    EndShift,
    ShiftRecord,
    StartShift,
    UserRecord,
    get_user,
    list_shifts,
    list_users,
)
from console.store.tasks import SYSTEM_USER, StoreFiles, WriteTask

__all__ = [
    "SYSTEM_USER",
    "AddAlarmEvent",
    "AddUser",
    "AlarmEventRecord",
    "AlarmIdTakenError",
    "AlarmNotFoundError",
    "AlarmRecord",
    "AlarmState",
    "AppendAudit",
    "ApplyRetention",
    "AuditEntry",
    "AuditKeyError",
    "AuditKeyMismatchError",
    "AuditKeys",
    "AuditVerification",
    "ChangeAlarmState",
    "CloseReport",
    "ConfigChangeRecord",
    "DispatchRecord",
    "EndShift",
    "EventKind",
    "FaultListener",
    "Finding",
    "HoldRecord",
    "IntegrityReport",
    "OccurrenceRecord",
    "Outcome",
    "PlaceHold",
    "PurgeCount",
    "PurgeExpiredSnapshots",
    "RaiseAlarm",
    "RecordArrival",
    "RecordConfigChange",
    "RecordDispatch",
    "RecordOccurrence",
    "ReleaseHold",
    "Role",
    "ShiftRecord",
    "SnapshotRecord",
    "StaleStateError",
    "StartShift",
    "Store",
    "StoreClosedError",
    "StoreError",
    "StoreFiles",
    "StoreHealth",
    "StoreLockedError",
    "StoreSnapshot",
    "StoreWriteError",
    "UserRecord",
    "WriteTask",
    "active_hold",
    "alarm_events",
    "audit_entries",
    "chain_head",
    "count_alarms",
    "default_database_url",
    "default_keys_dir",
    "dispatches",
    "find_open_alarm",
    "get_alarm",
    "get_snapshot",
    "get_user",
    "list_alarms",
    "list_config_changes",
    "list_holds",
    "list_shifts",
    "list_users",
    "load_audit_keys",
    "next_alarm_id",
    "occurrences",
    "open_alarms",
    "upgrade_to_head",
    "verify_chain",
    "verify_snapshot",
    "verify_store",
]
