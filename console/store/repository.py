"""`AlarmStore`: the one door to Nightwatch's database.

One writer thread owns every write: callers put jobs on its queue and get a
`concurrent.futures.Future` (the `*_async` methods) or block for the result (the plain methods).
A blocking write returns only after its transaction is committed, so "returned" means "durable".
On SQLite the writer runs in WAL mode with `synchronous=FULL` and takes the write lock up front
(`BEGIN IMMEDIATE`), so neither this process nor another one sharing the file ever meets
"database is locked"; reads use their own connections and never wait for the writer.

Every alarm step (raise, acknowledge, dispatch, arrival, resolve, comment, escalation), snapshot,
user, shift and config change is also appended to the hash-chained audit log in the same
transaction, so `verify_audit_chain()` proves the record was neither altered nor cut.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import queue
import threading
import weakref
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any, Generic, TypeVar

import platformdirs
from sqlalchemy import (
    Connection,
    Engine,
    String,
    create_engine,
    event,
    func,
    make_url,
    select,
    text,
    type_coerce,
)
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from console.store.migrations import upgrade_to_head
from console.store.models import (
    Alarm,
    AlarmEvent,
    AlarmState,
    AuditRecord,
    ConfigChange,
    Dispatch,
    EventKind,
    Outcome,
    Role,
    Shift,
    Snapshot,
    User,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

GENESIS_HASH = "0" * 64
SYSTEM_USER = "system"
JPEG_MAGIC = b"\xff\xd8"
STATE_EVENTS: dict[AlarmState, EventKind] = {
    AlarmState.ACKNOWLEDGED: EventKind.ACKNOWLEDGE,
    AlarmState.RESOLVED: EventKind.RESOLVE,
}
FREE_EVENTS = frozenset({EventKind.COMMENT, EventKind.ESCALATE})


# --------------------------------------------------------------------------- errors


class StoreError(Exception):
    """A store operation failed; the message names the database or file concerned."""


class StoreWriteError(StoreError):
    """A write did not reach the disk (disk full, I/O error, permissions): nothing was stored."""


class StoreClosedError(StoreError):
    """The store was closed; no more work is accepted."""


class AlarmNotFoundError(StoreError, LookupError):
    """No alarm (or dispatch, snapshot, user, shift) with that id."""


class StaleStateError(StoreError):
    """The alarm is not in the state the caller expected (or is already resolved)."""


# --------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class AlarmRecord:
    id: int
    camera_id: str
    rule: str
    subject: str | None
    severity: str
    track_id: int | None
    state: AlarmState
    raised_at: datetime
    updated_at: datetime
    outcome: Outcome | None
    note: str | None
    episode_key: str | None
    snapshot_id: int | None


@dataclass(frozen=True, slots=True)
class AlarmEventRecord:
    id: int
    alarm_id: int
    kind: EventKind
    at: datetime
    user: str
    detail: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class DispatchRecord:
    id: int
    alarm_id: int
    guard_id: str
    post: str | None
    sent_at: datetime
    arrived_at: datetime | None
    outcome: str | None


@dataclass(frozen=True, slots=True)
class SnapshotRecord:
    id: int
    alarm_id: int
    path: Path  # absolute
    sha256: str
    taken_at: datetime
    expires_at: datetime | None
    purged_at: datetime | None


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: int
    name: str
    role: Role
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ShiftRecord:
    id: int
    user: str
    started_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True, slots=True)
class ConfigChangeRecord:
    id: int
    at: datetime
    user: str
    what: str
    before_digest: str | None
    after_digest: str | None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    seq: int
    at: datetime
    user: str
    action: str
    target: str | None
    detail: dict[str, Any]
    prev_hash: str
    row_hash: str


@dataclass(frozen=True, slots=True)
class AuditVerification:
    """The result of `verify_audit_chain`: `ok`, or the first bad row and why."""

    ok: bool
    rows_checked: int
    head_seq: int
    head_hash: str
    first_bad_id: int | None = None
    first_bad_seq: int | None = None
    reason: str | None = None

    def __bool__(self) -> bool:
        return self.ok


# --------------------------------------------------------------------------- audit hashing


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable: {value!r}")


def canonical_json(value: object) -> str:
    """The one JSON spelling of `value`: sorted keys, no spaces, UTF-8, no NaN."""
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_json_default,
    )


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def audit_content(
    seq: int, at: datetime, user: str, action: str, target: str | None, detail_json: str
) -> bytes:
    """The canonical bytes of one audit row (everything but its hashes)."""
    fields = {
        "seq": seq,
        "at": _iso(at),
        "user": user,
        "action": action,
        "target": target,
        "detail": detail_json,
    }
    return canonical_json(fields).encode("utf-8")


def chain_hash(prev_hash: str, content: bytes) -> str:
    """SHA-256 (hex) of the previous row's hash followed by this row's canonical content."""
    return hashlib.sha256(prev_hash.encode("ascii") + content).hexdigest()


def _digest(content: str | bytes | None) -> str | None:
    if content is None:
        return None
    data = content.encode("utf-8") if isinstance(content, str) else content
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------- helpers


def default_database_url() -> str:
    """`sqlite:///<user data dir>/nightwatch/nightwatch.db` (platformdirs)."""
    path = platformdirs.user_data_path("nightwatch", appauthor=False) / "nightwatch.db"
    return f"sqlite:///{path}"


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(at: datetime | None, name: str = "time") -> datetime:
    if at is None:
        return _now()
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{name} {at.isoformat()} is naive: pass an aware datetime")
    return at.astimezone(UTC)


def _fsync_dir(path: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _alarm_record(a: Alarm) -> AlarmRecord:
    return AlarmRecord(
        id=a.id,
        camera_id=a.camera_id,
        rule=a.rule,
        subject=a.subject,
        severity=a.severity,
        track_id=a.track_id,
        state=AlarmState(a.state),
        raised_at=a.raised_at,
        updated_at=a.updated_at,
        outcome=Outcome(a.outcome) if a.outcome is not None else None,
        note=a.note,
        episode_key=a.episode_key,
        snapshot_id=a.snapshot_id,
    )


def _event_record(e: AlarmEvent) -> AlarmEventRecord:
    return AlarmEventRecord(e.id, e.alarm_id, EventKind(e.kind), e.at, e.user, e.detail)


def _dispatch_record(d: Dispatch) -> DispatchRecord:
    return DispatchRecord(d.id, d.alarm_id, d.guard_id, d.post, d.sent_at, d.arrived_at, d.outcome)


def _audit_entry(r: AuditRecord) -> AuditEntry:
    return AuditEntry(
        id=r.id,
        seq=r.seq,
        at=r.at,
        user=r.user,
        action=r.action,
        target=r.target,
        detail=json.loads(r.detail),
        prev_hash=r.prev_hash,
        row_hash=r.row_hash,
    )


class _Job(Generic[T]):
    __slots__ = ("fn", "future", "on_failure")

    def __init__(
        self, fn: Callable[[Session], T], on_failure: Callable[[], None] | None = None
    ) -> None:
        self.fn = fn
        self.future: Future[T] = Future()
        self.on_failure = on_failure


_STOP = object()


def _stop_writer(jobs: queue.Queue[object], thread: threading.Thread) -> None:
    # Shared by close() and the interpreter-exit finaliser: everything queued before the stop
    # marker is still written.
    if thread.is_alive():
        jobs.put(_STOP)
        thread.join()


# --------------------------------------------------------------------------- the store


class AlarmStore:
    """Durable store of alarms, their lifecycle, snapshots, users, shifts, config changes and
    the audit log, over SQLite (default) or any SQLAlchemy URL (PostgreSQL for shared use).

    Opening migrates the schema to head. `close()` (or leaving a `with` block) writes every
    queued job, then stops and joins the writer thread.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        snapshots_dir: str | os.PathLike[str] | None = None,
        busy_timeout_s: float = 30.0,
    ) -> None:
        self.url = url or default_database_url()
        parsed = make_url(self.url)
        self.dialect = parsed.get_backend_name()
        database = parsed.database or ""
        memory = self.dialect == "sqlite" and (
            database in ("", ":memory:") or parsed.query.get("mode") == "memory"
        )
        self.db_path: Path | None = (
            Path(database).expanduser().resolve()
            if self.dialect == "sqlite" and not memory
            else None
        )
        self._where = (
            str(self.db_path) if self.db_path else parsed.render_as_string(hide_password=True)
        )
        if snapshots_dir is not None:
            self.snapshots_dir: Path | None = Path(snapshots_dir).expanduser().resolve()
        elif self.db_path is not None:
            self.snapshots_dir = self.db_path.parent / "snapshots"
        elif memory:
            self.snapshots_dir = None
        else:
            self.snapshots_dir = (
                platformdirs.user_data_path("nightwatch", appauthor=False) / "snapshots"
            )
        self._busy_ms = int(busy_timeout_s * 1000)
        self._reads_via_writer = memory

        if self.db_path is not None:
            try:
                self.db_path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreWriteError(
                    f"{self.db_path.parent}: cannot create the database folder: {exc.strerror}"
                ) from exc

        self._write_engine, self._read_engine = self._make_engines(memory)
        try:
            if memory:
                with self._write_engine.begin() as conn:
                    upgrade_to_head(connection=conn)
            else:
                upgrade_to_head(self.url)
        except DBAPIError as exc:
            self._dispose()
            raise StoreError(f"{self._where}: cannot open the store: {exc.orig}") from exc
        except BaseException:
            self._dispose()
            raise

        self._lock = threading.Lock()
        self._closed = False
        self._jobs: queue.Queue[object] = queue.Queue()
        self._thread = threading.Thread(
            target=self._run_writer, name="nightwatch-store-writer", daemon=True
        )
        self._thread.start()
        self._finalizer = weakref.finalize(self, _stop_writer, self._jobs, self._thread)
        log.info("store open at %s (%s)", self._where, self.dialect)

    # ------------------------------------------------------------------ engines

    def _make_engines(self, memory: bool) -> tuple[Engine, Engine]:
        if self.dialect != "sqlite":
            engine = create_engine(self.url, pool_pre_ping=True)
            return engine, engine
        args = {"check_same_thread": False, "timeout": self._busy_ms / 1000}
        if memory:
            engine = create_engine(self.url, connect_args=args, poolclass=StaticPool)
            self._sqlite_events(engine, writer=True)
            return engine, engine
        writer = create_engine(self.url, connect_args=args, pool_size=1, max_overflow=0)
        self._sqlite_events(writer, writer=True)
        reader = create_engine(self.url, connect_args=args, pool_size=4, max_overflow=4)
        self._sqlite_events(reader, writer=False)
        return writer, reader

    def _sqlite_events(self, engine: Engine, *, writer: bool) -> None:
        busy_ms = self._busy_ms

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: object) -> None:
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if writer:
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA synchronous = FULL")
            else:
                cursor.execute("PRAGMA query_only = ON")
            cursor.close()

        begin = "BEGIN IMMEDIATE" if writer else "BEGIN"

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            conn.exec_driver_sql(begin)

    def _dispose(self) -> None:
        self._write_engine.dispose()
        if self._read_engine is not self._write_engine:
            self._read_engine.dispose()

    # ------------------------------------------------------------------ writer thread

    def _run_writer(self) -> None:
        while True:
            job = self._jobs.get()
            if job is _STOP:
                break
            assert isinstance(job, _Job)
            if not job.future.set_running_or_notify_cancel():
                continue
            try:
                result = self._run_job(job)
            except Exception as exc:
                job.future.set_exception(exc)
            else:
                job.future.set_result(result)
        log.debug("store writer for %s stopped", self._where)

    def _run_job(self, job: _Job[T]) -> T:
        try:
            with Session(self._write_engine, expire_on_commit=False) as session, session.begin():
                return job.fn(session)
        except BaseException as exc:
            if job.on_failure is not None:
                job.on_failure()
            if isinstance(exc, DBAPIError) and not isinstance(exc, IntegrityError):
                raise StoreWriteError(
                    f"{self._where}: write failed, nothing stored: {exc.orig}"
                ) from exc
            raise

    def submit(
        self, fn: Callable[[Session], T], *, on_failure: Callable[[], None] | None = None
    ) -> Future[T]:
        """Queue `fn(session)` for the writer thread; it runs inside one transaction, committed
        before the future completes. `on_failure` runs if the job or its commit fails."""
        job = _Job(fn, on_failure)
        with self._lock:
            if self._closed:
                raise StoreClosedError(f"{self._where}: the store is closed")
            self._jobs.put(job)
        return job.future

    def _read(self, fn: Callable[[Session], T]) -> T:
        if self._reads_via_writer:
            return self.submit(fn).result()
        with self._lock:
            if self._closed:
                raise StoreClosedError(f"{self._where}: the store is closed")
        try:
            with Session(self._read_engine, expire_on_commit=False) as session, session.begin():
                return fn(session)
        except DBAPIError as exc:
            raise StoreError(f"{self._where}: read failed: {exc.orig}") from exc

    def close(self) -> None:
        """Write everything queued, stop and join the writer thread, release connections."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._finalizer()
        self._dispose()
        log.info("store closed at %s", self._where)

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> AlarmStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def settings(self) -> dict[str, str | int]:
        """The writer connection's SQLite settings (journal_mode, synchronous, foreign_keys,
        busy_timeout); empty for other databases."""
        if self.dialect != "sqlite":
            return {}

        def job(s: Session) -> dict[str, str | int]:
            conn = s.connection()
            return {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar_one()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            }

        return self.submit(job).result()

    # ------------------------------------------------------------------ audit (inside jobs)

    def _audit(
        self,
        s: Session,
        user: str,
        action: str,
        target: str | None,
        detail: Mapping[str, Any] | None,
        at: datetime,
    ) -> AuditRecord:
        if s.get_bind().dialect.name == "postgresql":
            # Several consoles may share the database: one appender at a time.
            s.execute(text("LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE"))
        last = s.execute(
            select(AuditRecord.seq, AuditRecord.row_hash).order_by(AuditRecord.seq.desc()).limit(1)
        ).first()
        seq, prev = (1, GENESIS_HASH) if last is None else (last.seq + 1, last.row_hash)
        detail_json = canonical_json(dict(detail or {}))
        row = AuditRecord(
            seq=seq,
            at=at,
            user=user,
            action=action,
            target=target,
            detail=detail_json,
            prev_hash=prev,
            row_hash=chain_hash(prev, audit_content(seq, at, user, action, target, detail_json)),
        )
        s.add(row)
        s.flush()
        return row

    @staticmethod
    def _alarm(s: Session, alarm_id: int) -> Alarm:
        alarm = s.get(Alarm, alarm_id)
        if alarm is None:
            raise AlarmNotFoundError(f"no alarm {alarm_id}")
        return alarm

    def _event(
        self,
        s: Session,
        alarm: Alarm,
        kind: EventKind,
        user: str,
        detail: Mapping[str, Any] | None,
        at: datetime,
    ) -> AlarmEvent:
        detail_dict = json.loads(canonical_json(dict(detail))) if detail else None
        ev = AlarmEvent(alarm_id=alarm.id, kind=kind, at=at, user=user, detail=detail_dict)
        s.add(ev)
        s.flush()
        audit_detail = {"event_id": ev.id, **(detail_dict or {})}
        self._audit(s, user, f"alarm.{kind.value}", f"alarm:{alarm.id}", audit_detail, at)
        return ev

    # ------------------------------------------------------------------ alarms: writes

    def create_alarm_async(
        self,
        camera_id: str,
        rule: str,
        severity: str,
        *,
        subject: str | None = None,
        track_id: int | None = None,
        episode_key: str | None = None,
        user: str = SYSTEM_USER,
        raised_at: datetime | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> Future[int]:
        at = _aware(raised_at, "raised_at")

        def job(s: Session) -> int:
            alarm = Alarm(
                camera_id=camera_id,
                rule=rule,
                subject=subject,
                severity=str(severity),
                track_id=track_id,
                state=AlarmState.RAISED,
                raised_at=at,
                updated_at=at,
                episode_key=episode_key,
            )
            s.add(alarm)
            s.flush()
            facts = {
                "camera_id": camera_id,
                "rule": rule,
                "subject": subject,
                "severity": str(severity),
                "track_id": track_id,
                "episode_key": episode_key,
                **(detail or {}),
            }
            self._event(s, alarm, EventKind.RAISE, user, facts, at)
            return alarm.id

        return self.submit(job)

    def create_alarm(
        self,
        camera_id: str,
        rule: str,
        severity: str,
        *,
        subject: str | None = None,
        track_id: int | None = None,
        episode_key: str | None = None,
        user: str = SYSTEM_USER,
        raised_at: datetime | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> int:
        """Store a newly raised alarm (and its `raise` event); returns its id once committed."""
        return self.create_alarm_async(
            camera_id,
            rule,
            severity,
            subject=subject,
            track_id=track_id,
            episode_key=episode_key,
            user=user,
            raised_at=raised_at,
            detail=detail,
        ).result()

    def add_event_async(
        self,
        alarm_id: int,
        kind: EventKind | str,
        user: str,
        detail: Mapping[str, Any] | None = None,
        *,
        at: datetime | None = None,
    ) -> Future[int]:
        kind = EventKind(kind)
        if kind not in FREE_EVENTS:
            raise ValueError(
                f"event kind {kind.value!r} changes the alarm's state: use set_state, "
                "record_dispatch or record_arrival (add_event takes comment or escalate)"
            )
        when = _aware(at, "at")

        def job(s: Session) -> int:
            alarm = self._alarm(s, alarm_id)
            alarm.updated_at = when
            return self._event(s, alarm, kind, user, detail, when).id

        return self.submit(job)

    def add_event(
        self,
        alarm_id: int,
        kind: EventKind | str,
        user: str,
        detail: Mapping[str, Any] | None = None,
        *,
        at: datetime | None = None,
    ) -> int:
        """Add a comment or escalation to an alarm; returns the event id."""
        return self.add_event_async(alarm_id, kind, user, detail, at=at).result()

    @staticmethod
    def _check_expected(alarm: Alarm, expected: AlarmState | str | None) -> None:
        if alarm.state == AlarmState.RESOLVED:
            raise StaleStateError(f"alarm {alarm.id} is resolved; a resolved alarm is final")
        if expected is not None and alarm.state != AlarmState(expected):
            raise StaleStateError(
                f"alarm {alarm.id} is {alarm.state.value}, expected {AlarmState(expected).value}"
            )

    def set_state_async(
        self,
        alarm_id: int,
        state: AlarmState | str,
        user: str,
        *,
        outcome: Outcome | str | None = None,
        note: str | None = None,
        expected: AlarmState | str | None = None,
        detail: Mapping[str, Any] | None = None,
        at: datetime | None = None,
    ) -> Future[AlarmRecord]:
        state = AlarmState(state)
        if state not in STATE_EVENTS:
            raise ValueError(
                f"set_state takes acknowledged or resolved, not {state.value!r} "
                "(create_alarm raises, record_dispatch dispatches)"
            )
        outcome = Outcome(outcome) if outcome is not None else None
        if (state == AlarmState.RESOLVED) != (outcome is not None):
            raise ValueError("an outcome is required to resolve, and only to resolve")
        when = _aware(at, "at")

        def job(s: Session) -> AlarmRecord:
            alarm = self._alarm(s, alarm_id)
            self._check_expected(alarm, expected)
            previous = alarm.state
            alarm.state = state
            alarm.updated_at = when
            if outcome is not None:
                alarm.outcome = outcome
            if note is not None:
                alarm.note = note
            facts: dict[str, Any] = {"from": previous.value, "to": state.value}
            if outcome is not None:
                facts["outcome"] = outcome.value
            if note is not None:
                facts["note"] = note
            self._event(s, alarm, STATE_EVENTS[state], user, {**facts, **(detail or {})}, when)
            return _alarm_record(alarm)

        return self.submit(job)

    def set_state(
        self,
        alarm_id: int,
        state: AlarmState | str,
        user: str,
        *,
        outcome: Outcome | str | None = None,
        note: str | None = None,
        expected: AlarmState | str | None = None,
        detail: Mapping[str, Any] | None = None,
        at: datetime | None = None,
    ) -> AlarmRecord:
        """Acknowledge or resolve (with an outcome) an alarm, with its event.

        `expected`: refuse (StaleStateError) unless the alarm is in that state now, so two
        consoles cannot both act on the same alarm. A resolved alarm never changes.
        """
        return self.set_state_async(
            alarm_id,
            state,
            user,
            outcome=outcome,
            note=note,
            expected=expected,
            detail=detail,
            at=at,
        ).result()

    def record_dispatch_async(
        self,
        alarm_id: int,
        guard_id: str,
        user: str,
        *,
        post: str | None = None,
        expected: AlarmState | str | None = None,
        at: datetime | None = None,
    ) -> Future[int]:
        when = _aware(at, "at")

        def job(s: Session) -> int:
            alarm = self._alarm(s, alarm_id)
            self._check_expected(alarm, expected)
            previous = alarm.state
            dispatch = Dispatch(alarm_id=alarm.id, guard_id=guard_id, post=post, sent_at=when)
            s.add(dispatch)
            s.flush()
            alarm.state = AlarmState.DISPATCHED
            alarm.updated_at = when
            facts = {
                "from": previous.value,
                "to": AlarmState.DISPATCHED.value,
                "dispatch_id": dispatch.id,
                "guard_id": guard_id,
                "post": post,
            }
            self._event(s, alarm, EventKind.DISPATCH, user, facts, when)
            return dispatch.id

        return self.submit(job)

    def record_dispatch(
        self,
        alarm_id: int,
        guard_id: str,
        user: str,
        *,
        post: str | None = None,
        expected: AlarmState | str | None = None,
        at: datetime | None = None,
    ) -> int:
        """A guard was sent: stores the dispatch, moves the alarm to `dispatched`; returns the
        dispatch id."""
        return self.record_dispatch_async(
            alarm_id, guard_id, user, post=post, expected=expected, at=at
        ).result()

    def record_arrival_async(
        self,
        dispatch_id: int,
        user: str,
        *,
        outcome: str | None = None,
        at: datetime | None = None,
    ) -> Future[None]:
        when = _aware(at, "at")

        def job(s: Session) -> None:
            dispatch = s.get(Dispatch, dispatch_id)
            if dispatch is None:
                raise AlarmNotFoundError(f"no dispatch {dispatch_id}")
            if dispatch.arrived_at is not None:
                raise StaleStateError(
                    f"dispatch {dispatch_id} already arrived at {_iso(dispatch.arrived_at)}"
                )
            dispatch.arrived_at = when
            if outcome is not None:
                dispatch.outcome = outcome
            alarm = self._alarm(s, dispatch.alarm_id)
            alarm.updated_at = when
            facts = {"dispatch_id": dispatch_id, "guard_id": dispatch.guard_id, "outcome": outcome}
            self._event(s, alarm, EventKind.ARRIVE, user, facts, when)

        return self.submit(job)

    def record_arrival(
        self,
        dispatch_id: int,
        user: str,
        *,
        outcome: str | None = None,
        at: datetime | None = None,
    ) -> None:
        """The dispatched guard arrived on site."""
        self.record_arrival_async(dispatch_id, user, outcome=outcome, at=at).result()

    # ------------------------------------------------------------------ snapshots

    def _snapshot_file(self, alarm_id: int, sha: str, taken_at: datetime) -> Path:
        if self.snapshots_dir is None:
            raise StoreError(f"{self._where}: an in-memory store needs snapshots_dir=")
        name = f"alarm-{alarm_id}-{taken_at:%H%M%S%f}-{sha[:12]}.jpg"
        return self.snapshots_dir / f"{taken_at:%Y}" / f"{taken_at:%m}" / f"{taken_at:%d}" / name

    def _write_file(self, target: Path, data: bytes) -> None:
        assert self.snapshots_dir is not None
        part = target.with_name(target.name + ".part")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(part, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(part, target)
            folder = target.parent
            while True:  # make the new name (and any new folders) durable too
                _fsync_dir(folder)
                if folder == self.snapshots_dir or folder == folder.parent:
                    break
                folder = folder.parent
        except OSError as exc:
            with contextlib.suppress(OSError):
                part.unlink(missing_ok=True)
            where = exc.filename or target
            raise StoreWriteError(
                f"{where}: could not write snapshot, nothing stored: {exc.strerror or exc}"
            ) from exc

    def store_snapshot_async(
        self,
        alarm_id: int,
        jpeg: bytes | str | os.PathLike[str],
        *,
        taken_at: datetime | None = None,
        expires_at: datetime | None = None,
        user: str = SYSTEM_USER,
    ) -> Future[tuple[Path, str]]:
        if isinstance(jpeg, bytes):
            data, source = jpeg, "bytes"
        else:
            source = str(jpeg)
            try:
                data = Path(jpeg).read_bytes()
            except OSError as exc:
                raise StoreError(f"{source}: cannot read snapshot: {exc.strerror}") from exc
        if not data.startswith(JPEG_MAGIC):
            raise ValueError(f"{source}: not a JPEG image (no FF D8 start marker)")
        when = _aware(taken_at, "taken_at")
        expires = _aware(expires_at, "expires_at") if expires_at is not None else None
        sha = hashlib.sha256(data).hexdigest()
        written: list[Path] = []

        def job(s: Session) -> tuple[Path, str]:
            alarm = self._alarm(s, alarm_id)
            target = self._snapshot_file(alarm_id, sha, when)
            self._write_file(target, data)
            written.append(target)
            assert self.snapshots_dir is not None
            snap = Snapshot(
                alarm_id=alarm_id,
                path=target.relative_to(self.snapshots_dir).as_posix(),
                sha256=sha,
                taken_at=when,
                expires_at=expires,
            )
            s.add(snap)
            s.flush()
            if alarm.snapshot_id is None:
                alarm.snapshot_id = snap.id
            facts = {"snapshot_id": snap.id, "path": snap.path, "sha256": sha}
            self._audit(s, user, "snapshot.store", f"alarm:{alarm_id}", facts, when)
            return target, sha

        def undo() -> None:
            for path in written:
                path.unlink(missing_ok=True)

        return self.submit(job, on_failure=undo)

    def store_snapshot(
        self,
        alarm_id: int,
        jpeg: bytes | str | os.PathLike[str],
        *,
        taken_at: datetime | None = None,
        expires_at: datetime | None = None,
        user: str = SYSTEM_USER,
    ) -> tuple[Path, str]:
        """Write the JPEG (bytes, or a file to copy) under the snapshots folder, fsynced, then
        its row; returns (absolute path, SHA-256 hex). The alarm's first snapshot becomes its
        `snapshot_id`."""
        return self.store_snapshot_async(
            alarm_id, jpeg, taken_at=taken_at, expires_at=expires_at, user=user
        ).result()

    def snapshots(self, alarm_id: int) -> list[SnapshotRecord]:
        def read(s: Session) -> list[SnapshotRecord]:
            rows = s.scalars(
                select(Snapshot).where(Snapshot.alarm_id == alarm_id).order_by(Snapshot.id)
            )
            return [self._snapshot_record(r) for r in rows]

        return self._read(read)

    def _snapshot_record(self, r: Snapshot) -> SnapshotRecord:
        base = self.snapshots_dir or Path()
        return SnapshotRecord(
            r.id, r.alarm_id, base / r.path, r.sha256, r.taken_at, r.expires_at, r.purged_at
        )

    def verify_snapshot(self, snapshot_id: int) -> bool:
        """True when the snapshot file exists and its bytes still match the stored SHA-256."""

        def read(s: Session) -> SnapshotRecord:
            row = s.get(Snapshot, snapshot_id)
            if row is None:
                raise AlarmNotFoundError(f"no snapshot {snapshot_id}")
            return self._snapshot_record(row)

        record = self._read(read)
        try:
            data = record.path.read_bytes()
        except FileNotFoundError:
            return False
        return hashlib.sha256(data).hexdigest() == record.sha256

    def purge_expired_snapshots(
        self, *, now: datetime | None = None, user: str = SYSTEM_USER
    ) -> int:
        """Delete snapshot files past their `expires_at` (privacy retention); their rows stay,
        with `purged_at` set, so the audit trail keeps the hash. Returns how many."""
        when = _aware(now, "now")

        def job(s: Session) -> int:
            rows = s.scalars(
                select(Snapshot).where(Snapshot.expires_at <= when, Snapshot.purged_at.is_(None))
            ).all()
            base = self.snapshots_dir or Path()
            for row in rows:
                path = base / row.path
                try:
                    path.unlink(missing_ok=True)
                except OSError as exc:
                    raise StoreWriteError(f"{path}: cannot delete: {exc.strerror}") from exc
                row.purged_at = when
                facts = {"snapshot_id": row.id, "sha256": row.sha256}
                self._audit(s, user, "snapshot.purge", f"alarm:{row.alarm_id}", facts, when)
            return len(rows)

        return self.submit(job).result()

    # ------------------------------------------------------------------ alarms: reads

    def get_alarm(self, alarm_id: int) -> AlarmRecord:
        return self._read(lambda s: _alarm_record(self._alarm(s, alarm_id)))

    def list_alarms(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        camera_id: str | Collection[str] | None = None,
        subject: str | Collection[str] | None = None,
        state: AlarmState | str | Collection[AlarmState | str] | None = None,
        outcome: Outcome | str | Collection[Outcome | str] | None = None,
        rule: str | Collection[str] | None = None,
        limit: int | None = None,
        offset: int = 0,
        newest_first: bool = True,
    ) -> list[AlarmRecord]:
        """Alarms raised in [since, until), filtered by any of camera, subject, state, outcome,
        rule (each one value or several)."""
        query = select(Alarm)
        if since is not None:
            query = query.where(Alarm.raised_at >= _aware(since, "since"))
        if until is not None:
            query = query.where(Alarm.raised_at < _aware(until, "until"))

        def values(value: object, convert: Callable[[Any], Any]) -> list[Any]:
            if isinstance(value, str):
                return [convert(value)]
            assert isinstance(value, Collection)
            return [convert(v) for v in value]

        if camera_id is not None:
            query = query.where(Alarm.camera_id.in_(values(camera_id, str)))
        if subject is not None:
            query = query.where(Alarm.subject.in_(values(subject, str)))
        if rule is not None:
            query = query.where(Alarm.rule.in_(values(rule, str)))
        if state is not None:
            query = query.where(Alarm.state.in_(values(state, AlarmState)))
        if outcome is not None:
            query = query.where(Alarm.outcome.in_(values(outcome, Outcome)))
        order = (
            (Alarm.raised_at.desc(), Alarm.id.desc())
            if newest_first
            else (
                Alarm.raised_at,
                Alarm.id,
            )
        )
        query = query.order_by(*order).offset(offset)
        if limit is not None:
            query = query.limit(limit)
        return self._read(lambda s: [_alarm_record(a) for a in s.scalars(query)])

    def open_alarms(self) -> list[AlarmRecord]:
        """Every alarm not yet resolved, oldest first (what a restarted console latches)."""
        unresolved = [st for st in AlarmState if st != AlarmState.RESOLVED]
        return self.list_alarms(state=unresolved, newest_first=False)

    def find_open_alarm(self, episode_key: str) -> AlarmRecord | None:
        """The newest unresolved alarm of an episode, if any."""
        query = (
            select(Alarm)
            .where(Alarm.episode_key == episode_key, Alarm.state != AlarmState.RESOLVED)
            .order_by(Alarm.id.desc())
            .limit(1)
        )

        def read(s: Session) -> AlarmRecord | None:
            alarm = s.scalars(query).first()
            return _alarm_record(alarm) if alarm is not None else None

        return self._read(read)

    def count_alarms(self) -> int:
        return self._read(lambda s: s.scalar(select(func.count()).select_from(Alarm)) or 0)

    def alarm_events(self, alarm_id: int) -> list[AlarmEventRecord]:
        query = select(AlarmEvent).where(AlarmEvent.alarm_id == alarm_id).order_by(AlarmEvent.id)
        return self._read(lambda s: [_event_record(e) for e in s.scalars(query)])

    def dispatches(self, alarm_id: int) -> list[DispatchRecord]:
        query = select(Dispatch).where(Dispatch.alarm_id == alarm_id).order_by(Dispatch.id)
        return self._read(lambda s: [_dispatch_record(d) for d in s.scalars(query)])

    # ------------------------------------------------------------------ users and shifts

    def add_user(self, name: str, role: Role | str, *, by: str = SYSTEM_USER) -> int:
        """Create a user; returns its id. A taken name raises StoreError."""
        role = Role(role)
        when = _now()

        def job(s: Session) -> int:
            if s.scalar(select(User.id).where(User.name == name)) is not None:
                raise StoreError(f"{self._where}: user {name!r} already exists")
            user = User(name=name, role=role, created_at=when)
            s.add(user)
            s.flush()
            facts = {"user_id": user.id, "role": role.value}
            self._audit(s, by, "user.add", f"user:{name}", facts, when)
            return user.id

        return self.submit(job).result()

    def get_user(self, name: str) -> UserRecord | None:
        def read(s: Session) -> UserRecord | None:
            u = s.scalars(select(User).where(User.name == name)).first()
            return UserRecord(u.id, u.name, Role(u.role), u.created_at) if u else None

        return self._read(read)

    def list_users(self) -> list[UserRecord]:
        def read(s: Session) -> list[UserRecord]:
            rows = s.scalars(select(User).order_by(User.name))
            return [UserRecord(u.id, u.name, Role(u.role), u.created_at) for u in rows]

        return self._read(read)

    def start_shift(self, user: str, *, at: datetime | None = None) -> int:
        """Open a shift for a known user; returns the shift id."""
        when = _aware(at, "at")

        def job(s: Session) -> int:
            user_id = s.scalar(select(User.id).where(User.name == user))
            if user_id is None:
                raise AlarmNotFoundError(f"no user {user!r}")
            shift = Shift(user_id=user_id, started_at=when)
            s.add(shift)
            s.flush()
            self._audit(s, user, "shift.start", f"shift:{shift.id}", {}, when)
            return shift.id

        return self.submit(job).result()

    def end_shift(self, shift_id: int, *, at: datetime | None = None) -> None:
        when = _aware(at, "at")

        def job(s: Session) -> None:
            shift = s.get(Shift, shift_id)
            if shift is None:
                raise AlarmNotFoundError(f"no shift {shift_id}")
            if shift.ended_at is not None:
                raise StaleStateError(f"shift {shift_id} already ended")
            shift.ended_at = when
            self._audit(s, shift.user.name, "shift.end", f"shift:{shift_id}", {}, when)

        self.submit(job).result()

    def list_shifts(
        self, *, user: str | None = None, since: datetime | None = None
    ) -> list[ShiftRecord]:
        query = select(Shift, User.name).join(User).order_by(Shift.started_at, Shift.id)
        if user is not None:
            query = query.where(User.name == user)
        if since is not None:
            query = query.where(Shift.started_at >= _aware(since, "since"))

        def read(s: Session) -> list[ShiftRecord]:
            return [
                ShiftRecord(sh.id, name, sh.started_at, sh.ended_at)
                for sh, name in s.execute(query)
            ]

        return self._read(read)

    # ------------------------------------------------------------------ config changes

    def record_config_change(
        self,
        user: str,
        what: str,
        before: str | bytes | None,
        after: str | bytes | None,
        *,
        at: datetime | None = None,
    ) -> int:
        """Record that `what` (e.g. a site file) changed; stores SHA-256 of before and after."""
        when = _aware(at, "at")
        before_digest, after_digest = _digest(before), _digest(after)

        def job(s: Session) -> int:
            change = ConfigChange(
                at=when,
                user=user,
                what=what,
                before_digest=before_digest,
                after_digest=after_digest,
            )
            s.add(change)
            s.flush()
            facts = {"change_id": change.id, "before": before_digest, "after": after_digest}
            self._audit(s, user, "config.change", what, facts, when)
            return change.id

        return self.submit(job).result()

    def list_config_changes(self, *, since: datetime | None = None) -> list[ConfigChangeRecord]:
        query = select(ConfigChange).order_by(ConfigChange.at, ConfigChange.id)
        if since is not None:
            query = query.where(ConfigChange.at >= _aware(since, "since"))

        def read(s: Session) -> list[ConfigChangeRecord]:
            return [
                ConfigChangeRecord(c.id, c.at, c.user, c.what, c.before_digest, c.after_digest)
                for c in s.scalars(query)
            ]

        return self._read(read)

    # ------------------------------------------------------------------ audit log

    def append_audit_async(
        self,
        user: str,
        action: str,
        target: str | None = None,
        detail: Mapping[str, Any] | None = None,
        *,
        at: datetime | None = None,
    ) -> Future[AuditEntry]:
        when = _aware(at, "at")
        canonical_json(dict(detail or {}))  # refuse what cannot be stored, in the caller

        def job(s: Session) -> AuditEntry:
            return _audit_entry(self._audit(s, user, action, target, detail, when))

        return self.submit(job)

    def append_audit(
        self,
        user: str,
        action: str,
        target: str | None = None,
        detail: Mapping[str, Any] | None = None,
        *,
        at: datetime | None = None,
    ) -> AuditEntry:
        """Append one row to the audit log (e.g. `("ana", "export.pdf", "alarm:7", {...})`)."""
        return self.append_audit_async(user, action, target, detail, at=at).result()

    def audit_entries(
        self, *, since: datetime | None = None, limit: int | None = None
    ) -> list[AuditEntry]:
        query = select(AuditRecord).order_by(AuditRecord.seq)
        if since is not None:
            query = query.where(AuditRecord.at >= _aware(since, "since"))
        if limit is not None:
            query = query.limit(limit)
        return self._read(lambda s: [_audit_entry(r) for r in s.scalars(query)])

    def verify_audit_chain(self, *, expected_head: str | None = None) -> AuditVerification:
        """Re-hash the whole audit log. Finds an edited row (its hash no longer matches), a
        removed row (a gap in `seq`, or a `prev_hash` that no longer links), and, given the head
        hash an auditor noted earlier (`head_hash` of an earlier result), rows cut from the end."""
        cols = (
            AuditRecord.id,
            AuditRecord.seq,
            type_coerce(AuditRecord.at, String).label("at"),  # raw: a mangled time is a finding
            AuditRecord.user,
            AuditRecord.action,
            AuditRecord.target,
            AuditRecord.detail,
            AuditRecord.prev_hash,
            AuditRecord.row_hash,
        )

        def read(s: Session) -> AuditVerification:
            prev, expected_seq, checked = GENESIS_HASH, 1, 0
            head_seen = expected_head is None or expected_head == GENESIS_HASH

            def bad(row: Any, reason: str) -> AuditVerification:
                return AuditVerification(
                    ok=False,
                    rows_checked=checked,
                    head_seq=expected_seq - 1,
                    head_hash=prev,
                    first_bad_id=row.id,
                    first_bad_seq=row.seq,
                    reason=f"audit row id={row.id} seq={row.seq}: {reason}",
                )

            rows = s.execute(
                select(*cols).order_by(AuditRecord.seq).execution_options(yield_per=1000)
            )
            for row in rows:
                if row.seq != expected_seq:
                    missing = (
                        f"seq {expected_seq}"
                        if row.seq == expected_seq + 1
                        else f"seq {expected_seq}..{row.seq - 1}"
                    )
                    return bad(row, f"row(s) {missing} missing before it (removed)")
                if row.prev_hash != prev:
                    return bad(row, "prev_hash does not link to the previous row (altered)")
                try:
                    at = _parse_time(row.at)
                    content = audit_content(
                        row.seq, at, row.user, row.action, row.target, row.detail
                    )
                except (TypeError, ValueError) as exc:
                    return bad(row, f"unreadable content ({exc})")
                if chain_hash(prev, content) != row.row_hash:
                    return bad(row, "content does not match its hash (altered)")
                prev, expected_seq, checked = row.row_hash, expected_seq + 1, checked + 1
                head_seen = head_seen or row.row_hash == expected_head
            result = AuditVerification(
                ok=True, rows_checked=checked, head_seq=expected_seq - 1, head_hash=prev
            )
            if not head_seen:
                return AuditVerification(
                    ok=False,
                    rows_checked=checked,
                    head_seq=result.head_seq,
                    head_hash=prev,
                    reason=(
                        f"the noted head {expected_head} is no longer in the log, which ends at "
                        f"seq {result.head_seq} (rows removed from the end, or the log rewritten)"
                    ),
                )
            return result

        return self._read(read)


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
