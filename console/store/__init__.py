"""Durable storage of alarms and the audit log (SQLAlchemy + Alembic). No Qt, no `ui`.

`Store` (engine.py) opens the database and owns the one writer thread; each area module holds its
write tasks (frozen dataclasses, `store.write(task)`) and its query functions
(`store.read(query, ...)`): `alarms`, `snapshots`, `staff`, `config_changes`, `audit`,
`walk_tests`. Every public name is re-exported here except the query
`console.store.snapshots.snapshots`, which would hide its own module.
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
    AuditVerification,
    audit_entries,
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
from console.store.migrations import upgrade_to_head
from console.store.models import AlarmState, EventKind, Outcome, Role
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
from console.store.walk_tests import (
    FinishWalkTest,
    StartWalkTest,
    WalkTestRecord,
    WalkTestResultRecord,
    WalkTestResultRow,
    get_walk_test,
    list_walk_tests,
)

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
    "AuditEntry",
    "AuditVerification",
    "ChangeAlarmState",
    "CloseReport",
    "ConfigChangeRecord",
    "DispatchRecord",
    "EndShift",
    "EventKind",
    "FaultListener",
    "FinishWalkTest",
    "OccurrenceRecord",
    "Outcome",
    "PurgeExpiredSnapshots",
    "RaiseAlarm",
    "RecordArrival",
    "RecordConfigChange",
    "RecordDispatch",
    "RecordOccurrence",
    "Role",
    "ShiftRecord",
    "SnapshotRecord",
    "StaleStateError",
    "StartShift",
    "StartWalkTest",
    "Store",
    "StoreClosedError",
    "StoreError",
    "StoreFiles",
    "StoreHealth",
    "StoreLockedError",
    "StoreSnapshot",
    "StoreWriteError",
    "UserRecord",
    "WalkTestRecord",
    "WalkTestResultRecord",
    "WalkTestResultRow",
    "WriteTask",
    "alarm_events",
    "audit_entries",
    "count_alarms",
    "default_database_url",
    "dispatches",
    "find_open_alarm",
    "get_alarm",
    "get_snapshot",
    "get_user",
    "get_walk_test",
    "list_alarms",
    "list_config_changes",
    "list_shifts",
    "list_users",
    "list_walk_tests",
    "next_alarm_id",
    "occurrences",
    "open_alarms",
    "upgrade_to_head",
    "verify_chain",
    "verify_snapshot",
]
