"""`Store`: the one door to Nightwatch's database.

One writer thread owns every write: `write(task)` queues a named task (see `console.store.tasks`)
and returns a `concurrent.futures.Future`; the task runs inside one transaction, committed before
the future completes, so "done" means "durable". On SQLite the writer runs in WAL mode with
`synchronous=FULL` and takes the write lock up front (`BEGIN IMMEDIATE`); `read(query, ...)` runs
a query function on its own connection in the caller's thread and never waits for the writer.

The writer holds its order through a disk fault: a task that fails because of the disk (full,
I/O error, read-only, permissions, the file deleted or replaced) is not dropped. The store reports
the fault (`health()`, fault listeners), keeps that task at the head of the queue and tries it
again (0.5 s, doubling to 5 s) with everything queued behind it waiting, so rows land in order
once the disk is back. A task's own mistake (a stale state, a missing alarm, a taken id) fails
that task's future at once and holds nothing up. `close()` writes what it can and reports, by
name, every write it had to give up.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import platformdirs
from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.pool import QueuePool, StaticPool

from console.store.audit import (
    INFO_CHAIN,
    INFO_HEAD,
    INFO_KEYS,
    ChainState,
    OpenStore,
    chain_head,
)
from console.store.errors import StoreClosedError, StoreError, StoreWriteError
from console.store.faults import CloseReport, StoreHealth, describe_errno, disk_fault
from console.store.heads import HeadSigner
from console.store.keys import AuditKeyError, AuditKeys, load_audit_keys
from console.store.lock import DatabaseLock, command_line
from console.store.migrations import current_revision, head_revision, upgrade_to_head
from console.store.snapshots import SnapshotRecord, sweep_unrecorded_snapshots
from console.store.tasks import (
    FILE_MODE,
    StoreFiles,
    WriteTask,
    fsync_folders,
    make_folders,
    sweep_half_written,
)
from console.store.watch import DatabaseWatch, unwritable_reason

log = logging.getLogger(__name__)

T = TypeVar("T")

WRITER_THREAD_NAME = "nightwatch-store-writer"
WATCH_INTERVAL_S = 1.0
GROUP_MAX = 64  # write tasks committed together (one fsync) when they queue up behind a slow disk
RETRY_FIRST_S = 0.5
RETRY_MAX_S = 5.0
CLOSE_TIMEOUT_S = 30.0

FaultListener = Callable[[StoreHealth], None]


def default_database_url() -> str:
    """`sqlite:///<user data dir>/nightwatch/nightwatch.db` (platformdirs)."""
    path = platformdirs.user_data_path("nightwatch", appauthor=False) / "nightwatch.db"
    return f"sqlite:///{path}"


class _Job(Generic[T]):
    """A task (or a flush marker, or an in-memory database's read) for the writer thread."""

    __slots__ = ("fn", "future", "is_write", "name", "started")

    def __init__(
        self, name: str, fn: Callable[[Session, StoreFiles], T] | None, *, is_write: bool
    ) -> None:
        self.name = name
        self.fn = fn
        self.is_write = is_write
        self.started = False
        self.future: Future[T] = Future()


class _Writer:
    """The writer thread, its queue and the fault state. It holds no reference to the `Store`,
    so the interpreter-exit finaliser can stop it."""

    def __init__(
        self,
        engine: Engine,
        *,
        where: str,
        files_root: Path | None,
        folder: Path | None,
        watch: DatabaseWatch | None,
        reconnect: bool,
        chain: ChainState,
    ) -> None:
        self.engine = engine
        self.chain = chain
        self.heads = HeadSigner(chain.keys, self._committed_head)
        self.where = where
        self.files_root = files_root
        self.folder = folder
        self.watch = watch
        self.reconnect = reconnect  # a file or server database: a fresh connection after a fault
        self._cond = threading.Condition()
        self._jobs: deque[_Job[Any]] = deque()
        self._accepting = True
        self._stopping = False
        self._give_up_at: float | None = None
        self._fault: str | None = None
        self._fault_since: datetime | None = None
        self._fault_held_by_watch = False
        self._unstored: tuple[str, ...] = ()
        self._report: CloseReport | None = None
        self._listeners: list[FaultListener] = []
        self._retry_s = RETRY_FIRST_S
        self._next_watch = 0.0
        self._opened_at = time.time()  # files half-written before this are a dead writer's
        self.sweep_half_written = False  # set when the last console did not close cleanly
        self.thread = threading.Thread(target=self._run, name=WRITER_THREAD_NAME, daemon=True)

    # ---------------------------------------------------------------- callers' side

    def submit(self, job: _Job[T]) -> Future[T]:
        with self._cond:
            if not self._accepting:
                raise StoreClosedError(f"{self.where}: the store is closed")
            self._jobs.append(job)
            self._cond.notify_all()
        return job.future

    def health(self) -> StoreHealth:
        with self._cond:
            return StoreHealth(
                ok=self._fault is None and not self._unstored,
                fault=self._fault,
                since=self._fault_since,
                pending=sum(1 for job in self._jobs if job.is_write),
                unstored=len(self._unstored),
            )

    def add_listener(self, listener: FaultListener) -> None:
        with self._cond:
            self._listeners.append(listener)

    def remove_listener(self, listener: FaultListener) -> None:
        with self._cond:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def stop(self, timeout_s: float) -> CloseReport:
        """Write everything queued; past `timeout_s` with a fault persisting, give the rest up."""
        with self._cond:
            if self._report is not None:
                return self._report
            self._accepting = False
            self._stopping = True
            self._give_up_at = time.monotonic() + max(0.0, timeout_s)
            self._cond.notify_all()
        if self.thread.is_alive():
            self.thread.join()
        else:
            self._give_up_rest()  # never started (the open failed)
        self.heads.sign()  # the head at close: rows cut from the end are seen from here on
        with self._cond:
            self._report = CloseReport(self._unstored, self._fault if self._unstored else None)
            return self._report

    # ---------------------------------------------------------------- one attempt

    def attempt(self, job: _Job[T]) -> T:
        """Run the job's task in one transaction; files it wrote are removed if it fails."""
        assert job.fn is not None
        files = StoreFiles(self.files_root, self.where)
        try:
            with self.session() as session:
                with session.begin():
                    result = job.fn(session, files)
                head = session.info.get(INFO_HEAD)
        except BaseException:
            files.undo()
            raise
        if head is not None:
            self.heads.note(head[0])
        return result

    def session(self) -> Session:
        """A session of the writer: it carries the audit key and the chain's state, which
        `audit.append` needs (every task's transaction, a group's too, is opened here)."""
        info = {INFO_KEYS: self.chain.keys, INFO_CHAIN: self.chain}
        return Session(self.engine, expire_on_commit=False, info=info)

    def _committed_head(self) -> tuple[int, str]:
        """The chain's head as committed (what the head signer signs: never a row of a
        transaction or savepoint that was rolled back)."""
        with Session(self.engine) as session, session.begin():
            return chain_head(session)

    def attempt_group(self, jobs: list[_Job[Any]]) -> list[tuple[bool, Any]]:
        """Run several queued write tasks in ONE transaction (group commit: one fsync for all
        of them, so a slow disk does not make a queue of alarms wait one fsync each). Each task
        runs in its own savepoint: a task refused for a reason of its own (a stale state, an
        unknown alarm) is rolled back alone and reported as (False, the error); the others
        commit. A disk fault anywhere raises, and the whole group is rolled back and held."""
        outcomes: list[tuple[bool, Any]] = []
        made: list[StoreFiles] = []
        folders: set[Path] = set()  # fsynced once each, after all the tasks, before the commit
        try:
            with self.session() as session:
                with session.begin():
                    for job in jobs:
                        assert job.fn is not None
                        files = StoreFiles(self.files_root, self.where, folders)
                        made.append(files)
                        head = session.info.get(INFO_HEAD)
                        try:
                            with session.begin_nested():
                                value = job.fn(session, files)
                        except Exception as exc:  # in the task, or in releasing its savepoint
                            files.undo()
                            # the savepoint took back the task's audit rows: the head too
                            session.info[INFO_HEAD] = head
                            if self._disk_fault_within(exc) is not None:
                                raise  # SQLite may have rolled back the whole transaction
                            outcomes.append((False, exc))
                        else:
                            outcomes.append((True, value))
                    fsync_folders(folders)  # a fault here rolls the whole group back
                head = session.info.get(INFO_HEAD)
        except BaseException:
            for files in made:
                files.undo()
            raise
        if head is not None:
            self.heads.note(head[0])  # a count only: the signer reads the committed head
        return outcomes

    def _disk_fault_within(self, exc: BaseException) -> str | None:
        """A disk fault in this error or in what it was raised from or during (a full disk
        inside a savepoint surfaces as "no such savepoint" once SQLite has rolled back)."""
        seen: set[int] = set()
        current: BaseException | None = exc
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            if isinstance(current, Exception):
                fault = disk_fault(current, self.where, self.folder)
                if fault is not None:
                    return fault
            current = current.__cause__ or current.__context__
        return None

    def refusal(self, exc: Exception, job: _Job[Any]) -> Exception:
        """What a task's future raises for a failure that is not a disk fault."""
        if isinstance(exc, OSError):
            return StoreWriteError(
                f"{exc.filename or self.where}: {job.name} failed, nothing stored: "
                f"{exc.strerror or exc}"
            )
        if isinstance(exc, DBAPIError) and not isinstance(exc, IntegrityError):
            return StoreWriteError(f"{self.where}: {job.name} failed, nothing stored: {exc.orig}")
        return exc

    # ---------------------------------------------------------------- the thread

    def start(self) -> None:
        self.thread.start()

    def _sweep_dead_writers_files(self, root: Path) -> None:
        """What a console that did not close left in the file area: half-written files, and
        whole snapshots whose rows it never committed. A database that cannot be read now is
        left for the fault path (the first task reports it); nothing is removed then."""
        sweep_half_written(root, self._opened_at)
        try:
            with Session(self.engine) as session:
                sweep_unrecorded_snapshots(session, root, self._opened_at)
        except DBAPIError as exc:
            log.warning("%s: unrecorded snapshots not swept: %s", self.where, exc.orig)

    def _run(self) -> None:
        if self.files_root is not None and self.sweep_half_written:
            self._sweep_dead_writers_files(self.files_root)
        try:
            while True:
                self._watch_if_due()
                with self._cond:
                    if self._stopping and self._past_give_up():
                        break
                    if not self._jobs:
                        if self._stopping:
                            break
                        self._cond.wait(self._until_due())
                        if not self._jobs:
                            self.heads.sign_if_due()
                        continue
                    job = self._jobs[0]
                    group = self._group()
                if job.fn is not None and self._fault is not None and self._fault_held_by_watch:
                    self._pause()  # a flush marker at the head passes: all before it is done
                    continue
                if len(group) > 1:
                    self._step_group(group)
                else:
                    self._step(job)
        except BaseException:  # pragma: no cover - a bug here must not lose the queue silently
            log.exception("store writer for %s failed", self.where)
            raise
        finally:
            self._give_up_rest()
            log.debug("store writer for %s stopped", self.where)

    def _past_give_up(self) -> bool:
        # Called with the lock held: give up only while a fault keeps the queue from moving.
        return (
            self._fault is not None
            and self._give_up_at is not None
            and time.monotonic() >= self._give_up_at
        )

    def _group(self) -> list[_Job[Any]]:
        """The write tasks at the head of the queue, in order, up to GROUP_MAX (under the lock;
        a flush marker or a read ends the group)."""
        group: list[_Job[Any]] = []
        for job in self._jobs:
            if job.fn is None or not job.is_write or len(group) >= GROUP_MAX:
                break
            group.append(job)
        return group

    def _step_group(self, group: list[_Job[Any]]) -> None:
        live: list[_Job[Any]] = []
        for job in group:
            if not job.started:
                if not job.future.set_running_or_notify_cancel():
                    continue  # cancelled before it ran: dropped below with the group
                job.started = True
            live.append(job)
        if self.watch is not None:
            problem = self.watch.guard()
            if problem is not None:
                self._set_fault(problem, held_by_watch=True)
                self._pause()
                return
        try:
            outcomes = self.attempt_group(live)
        except Exception as exc:
            fault = self._disk_fault_within(exc)
            if fault is None:  # the commit itself failed for a reason of its own: one by one
                for job in live:
                    self._step(job)
                return
            names = ", ".join(sorted({job.name for job in live}))
            self._set_fault(
                f"{fault}; {len(live)} writes ({names}) are held and retried",
                held_by_watch=False,
            )
            if self.reconnect:
                self.engine.dispose()
                if self.watch is not None:
                    self.watch.forget_shm_size()
            self._pause()
            return
        with self._cond:
            for job in group:
                if self._jobs and self._jobs[0] is job:
                    self._jobs.popleft()
        self._retry_s = RETRY_FIRST_S
        if self._fault is not None and not self._fault_held_by_watch:
            self._clear_fault()
        for job, (ok, value) in zip(live, outcomes, strict=True):
            if ok:
                job.future.set_result(value)
            else:
                job.future.set_exception(self.refusal(value, job))
        self.heads.sign_if_due()

    def _pop(self, job: _Job[Any]) -> None:
        with self._cond:
            if self._jobs and self._jobs[0] is job:
                self._jobs.popleft()

    def _step(self, job: _Job[Any]) -> None:
        if job.fn is None:  # a flush marker: everything before it is done
            self._pop(job)
            job.future.set_result(None)
            return
        if not job.started:
            if not job.future.set_running_or_notify_cancel():
                self._pop(job)
                return
            job.started = True
        if self.watch is not None:
            problem = self.watch.guard()  # a fault instead of a SIGBUS in SQLite
            if problem is not None:
                self._set_fault(problem, held_by_watch=True)
                self._pause()
                return
        try:
            result = self.attempt(job)
        except Exception as exc:
            fault = disk_fault(exc, self.where, self.folder)
            if fault is None:
                self._pop(job)
                job.future.set_exception(self.refusal(exc, job))
                return
            log.debug("%s held by a disk fault", job.name, exc_info=True)
            self._set_fault(f"{fault}; {job.name} is held and retried", held_by_watch=False)
            if self.reconnect:
                self.engine.dispose()  # a connection that met a disk error may be stale
                if self.watch is not None:
                    self.watch.forget_shm_size()
            self._pause()
            return
        self._pop(job)
        self._retry_s = RETRY_FIRST_S
        if self._fault is not None and not self._fault_held_by_watch:
            self._clear_fault()
        job.future.set_result(result)
        self.heads.sign_if_due()

    def _pause(self) -> None:
        """Wait before the next try (backing off), watching the files meanwhile; returns early
        when the fault clears or close gives up."""
        delay = self._retry_s
        self._retry_s = min(delay * 2, RETRY_MAX_S)
        end = time.monotonic() + delay
        while True:
            with self._cond:
                limit = end
                if self._stopping and self._give_up_at is not None:
                    limit = min(limit, self._give_up_at)
                now = time.monotonic()
                if now >= limit or self._fault is None:
                    return
                self._cond.wait(min(limit - now, WATCH_INTERVAL_S))
            self._watch_if_due()

    def _until_watch(self) -> float | None:
        if self.watch is None:
            return None
        return max(0.0, self._next_watch - time.monotonic())

    def _until_due(self) -> float | None:
        """How long the idle writer may sleep: until the next watch or head signature."""
        waits = [w for w in (self._until_watch(), self.heads.seconds_until_due()) if w is not None]
        return min(waits) if waits else None

    def _watch_if_due(self) -> None:
        if self.watch is None or time.monotonic() < self._next_watch:
            return
        self._next_watch = time.monotonic() + WATCH_INTERVAL_S
        problem = self.watch.check()
        if problem is not None:
            self._set_fault(problem, held_by_watch=True)
        elif self._fault is not None and self._fault_held_by_watch:
            self._clear_fault()

    def _give_up_rest(self) -> None:
        with self._cond:
            rest = list(self._jobs)
            self._jobs.clear()
            self._accepting = False
            given_up = tuple(job.name for job in rest if job.is_write)
            self._unstored += given_up
            fault = self._fault or "the store closed"
        for job in rest:
            if job.future.done() or (not job.started and job.future.cancelled()):
                continue
            job.future.set_exception(
                StoreWriteError(f"{fault}; {job.name} was not stored (the store closed)")
            )
        if given_up:
            log.error(
                "store %s closed with %d writes NOT stored: %s", self.where, len(given_up), fault
            )

    # ---------------------------------------------------------------- faults

    def _set_fault(self, message: str, *, held_by_watch: bool) -> None:
        with self._cond:
            changed = message != self._fault
            if self._fault is None:
                self._fault_since = datetime.now(UTC)
            self._fault = message
            self._fault_held_by_watch = held_by_watch
            pending = sum(1 for job in self._jobs if job.is_write)
        if changed:
            log.error("store fault: %s (%d writes waiting)", message, pending)
            self._notify()

    def _clear_fault(self) -> None:
        with self._cond:
            if self._fault is None:
                return
            since = self._fault_since
            self._fault = None
            self._fault_since = None
            self._fault_held_by_watch = False
            self._retry_s = RETRY_FIRST_S
        lasted = (datetime.now(UTC) - since).total_seconds() if since else 0.0
        log.warning("store fault at %s cleared after %.1f s", self.where, lasted)
        self._notify()

    def _notify(self) -> None:
        health = self.health()
        with self._cond:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(health)
            except Exception:
                log.exception("store fault listener failed")


def _on_read_only_file_system(path: Path) -> bool:
    try:
        return bool(os.statvfs(path.parent).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _shutdown(
    writer: _Writer | None,
    engines: tuple[Engine, ...],
    lock: DatabaseLock | None,
    watch: DatabaseWatch | None,
    timeout_s: float,
) -> CloseReport:
    # Shared by close() and the interpreter-exit finaliser.
    report = writer.stop(timeout_s) if writer is not None else CloseReport()
    if watch is not None:
        watch.guard(reading=True)  # a -shm cut short is made whole before SQLite closes it
    for engine in engines:
        engine.dispose()
    if lock is not None:
        lock.release()
    return report


class Store:
    """Nightwatch's durable record over SQLite (default) or any SQLAlchemy URL (PostgreSQL for
    shared use): alarms, snapshots, users, shifts, config changes and the audit log.

    Opening migrates the schema to head, takes the database's lock (SQLite: one console per
    database) and proves with a real write (the audit row `store.open`) that the database can be
    written; any of these failing raises `StoreWriteError` or `StoreLockedError` naming the file.
    `read_only=True` opens for reading only (export, verify): no migration, no lock, no probe.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        snapshots_dir: str | os.PathLike[str] | None = None,
        busy_timeout_s: float = 30.0,
        read_only: bool = False,
        keys: AuditKeys | None = None,
        keys_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.url = url or default_database_url()
        parsed = make_url(self.url)
        self.dialect = parsed.get_backend_name()
        self.read_only = read_only
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
        self.files = StoreFiles(self.snapshots_dir, self._where)
        self.keys: AuditKeys | None = keys or self._load_keys(keys_dir, create=not read_only)
        self._busy_s = busy_timeout_s
        self._reads_via_writer = memory
        self._state_lock = threading.Lock()
        self._closed = False
        self._report: CloseReport | None = None
        self._lock: DatabaseLock | None = None
        self._watch: DatabaseWatch | None = None
        self._writer: _Writer | None = None
        self._engines: tuple[Engine, ...] = ()
        try:
            if read_only:
                self._open_for_reading(memory)
            else:
                self._open_for_writing(memory)
        except BaseException:
            _shutdown(self._writer, self._engines, self._lock, self._watch, 0.0)
            raise
        self._finalizer = weakref.finalize(
            self, _shutdown, self._writer, self._engines, self._lock, self._watch, CLOSE_TIMEOUT_S
        )
        log.info(
            "store open at %s (%s%s)", self._where, self.dialect, ", read-only" if read_only else ""
        )

    # ------------------------------------------------------------------ opening

    @property
    def writer_thread(self) -> threading.Thread | None:
        """The thread that writes (None for a store opened read-only)."""
        return self._writer.thread if self._writer is not None else None

    def _load_keys(
        self, folder: str | os.PathLike[str] | None, *, create: bool
    ) -> AuditKeys | None:
        """The audit keys (created on first use by a writing store); a reading store without
        them can read, but not check the keyed chain."""
        try:
            return load_audit_keys(Path(folder) if folder is not None else None, create=create)
        except AuditKeyError as exc:
            if create:
                raise StoreError(f"{self._where}: the store did not open: {exc}") from exc
            log.info("store %s opened without audit keys: %s", self._where, exc)
            return None

    def _open_for_writing(self, memory: bool) -> None:
        db = self.db_path
        if db is not None:
            try:
                make_folders(db.parent)
            except OSError as exc:
                reason = describe_errno(exc.errno) or exc.strerror
                raise StoreWriteError(
                    f"cannot write {db}: cannot create its folder {exc.filename or db.parent}: "
                    f"{reason}"
                ) from exc
            self._lock = DatabaseLock(db)
            self._create_database_file(db)
        writer_engine, reader_engine = self._make_engines(memory)
        self._engines = (
            (writer_engine,)
            if reader_engine is writer_engine
            else (
                writer_engine,
                reader_engine,
            )
        )
        self._read_engine = reader_engine
        try:
            if memory:
                with writer_engine.begin() as conn:
                    upgrade_to_head(connection=conn)
            else:
                upgrade_to_head(self.url)
        except DBAPIError as exc:
            fault = disk_fault(exc, self._where, db.parent if db else None)
            if fault is not None:
                raise StoreWriteError(f"{fault}; the store did not open") from exc
            raise StoreError(f"{self._where}: cannot open the store: {exc.orig}") from exc
        if db is not None:
            self._watch = DatabaseWatch(db, writer=True)
        assert self.keys is not None
        self._writer = _Writer(
            writer_engine,
            where=self._where,
            files_root=self.snapshots_dir,
            folder=db.parent if db else None,
            watch=self._watch,
            reconnect=not memory,
            chain=ChainState(self.keys),
        )
        if self._lock is not None and self._lock.left_by is not None:
            # the last console stopped without closing the store: it may have left half-written
            # files (only then is the file area walked for them, not at every open)
            left_by = self._lock.left_by
            log.warning("%s: the last console did not close it: %s", self._where, left_by)
            self._writer.sweep_half_written = True
        self._probe()
        self._writer.heads.chain_id = self._writer.chain.chain_id
        self._writer.heads.sign()  # the head at open: the file exists from the first start
        self._writer.start()

    def _create_database_file(self, db: Path) -> None:
        """Create the file 0600 before SQLite does (its -wal and -shm take the same mode), and
        refuse, naming the reason, a file or folder that cannot be written."""
        try:
            fd = os.open(db, os.O_RDWR | os.O_CREAT | os.O_EXCL, FILE_MODE)
        except FileExistsError:
            if not os.access(db, os.W_OK):
                raise StoreWriteError(
                    f"cannot write {db}: {unwritable_reason(db)}; the store did not open"
                ) from None
        except OSError as exc:
            reason = describe_errno(exc.errno) or exc.strerror
            raise StoreWriteError(f"cannot write {db}: {reason}; the store did not open") from exc
        else:
            os.close(fd)
        if not os.access(db.parent, os.W_OK):
            raise StoreWriteError(
                f"cannot write {db}: its folder {db.parent} is not writable "
                f"({unwritable_reason(db.parent)}); the store did not open"
            )

    def _probe(self) -> None:
        """An honest write at open: the audit row `store.open`, with who opened it (the chain
        keyed first, if it is not yet)."""
        assert self._writer is not None
        detail = {"pid": os.getpid(), "command": command_line()}
        task = OpenStore(detail, f"process:{os.getpid()}")
        job: _Job[Any] = _Job(task.name, task.run, is_write=True)
        try:
            self._writer.attempt(job)
        except StoreError:
            raise
        except Exception as exc:
            fault = disk_fault(exc, self._where, self._writer.folder)
            if fault is not None:
                raise StoreWriteError(f"{fault}; the store did not open") from exc
            raise StoreError(f"{self._where}: cannot open the store: {exc}") from exc

    def _open_for_reading(self, memory: bool) -> None:
        if memory:
            raise ValueError("an in-memory database cannot be opened read-only: it would be empty")
        db = self.db_path
        if db is not None:
            if not db.is_file():
                raise StoreError(f"{db}: no database there")
            uri = f"file:{quote(str(db))}?mode=ro"
            if _on_read_only_file_system(db) and not Path(f"{db}-wal").exists():
                # A WAL database needs its -shm, which a read-only file system cannot hold;
                # nothing can change the file there, so SQLite may read it as immutable.
                uri += "&immutable=1"

            def connect() -> sqlite3.Connection:
                return sqlite3.connect(
                    uri,
                    uri=True,
                    check_same_thread=False,
                    timeout=self._busy_s,
                )

            engine = create_engine(
                "sqlite://", creator=connect, poolclass=QueuePool, pool_size=4, max_overflow=4
            )
            self._sqlite_events(engine, writer=False)
        else:
            engine = create_engine(self.url, pool_pre_ping=True)
        self._engines = (engine,)
        self._read_engine = engine
        try:
            with engine.connect() as conn:
                revision = current_revision(conn)
        except DBAPIError as exc:
            raise StoreError(f"{self._where}: cannot open the store: {exc.orig}") from exc
        head = head_revision()
        if revision != head:
            raise StoreError(
                f"{self._where} is at schema revision {revision or 'none'}, this Nightwatch "
                f"reads {head}: open it once with a console (not read-only) to migrate it"
            )
        if db is not None:
            self._watch = DatabaseWatch(db, writer=False)

    def _make_engines(self, memory: bool) -> tuple[Engine, Engine]:
        if self.dialect != "sqlite":
            engine = create_engine(self.url, pool_pre_ping=True)
            return engine, engine
        args = {"check_same_thread": False, "timeout": self._busy_s}
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
        busy_ms = int(self._busy_s * 1000)

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

    # ------------------------------------------------------------------ writing and reading

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosedError(f"{self._where}: the store is closed")

    def write(self, task: WriteTask[T]) -> Future[T]:
        """Queue `task` for the writer thread. It runs inside one transaction, committed before
        the future completes; the future raises what the task raised (nothing of it stored).
        While a disk fault lasts the task waits its turn; it is never dropped unless `close()`
        gives it up (then its future raises `StoreWriteError`)."""
        if self._writer is None:
            self._check_open()
            raise StoreError(f"{self._where}: opened read-only; {task.name} refused")
        return self._writer.submit(_Job(task.name, task.run, is_write=True))

    def flush(self, timeout_s: float | None = None) -> bool:
        """Wait until every write queued before this call is done (committed, or failed); False
        if `timeout_s` passed first (a fault holds the queue) or the writes were given up."""
        if self._writer is None:
            self._check_open()
            return True
        marker: _Job[None] = _Job("store.flush", None, is_write=False)
        try:
            self._writer.submit(marker).result(timeout=timeout_s)
        except (TimeoutError, StoreWriteError):
            return False
        return True

    def read(self, query: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """`query(session, *args, **kwargs)` on a read connection of its own, in this thread
        (an in-memory database reads through the writer thread)."""
        if self._reads_via_writer:
            assert self._writer is not None
            name = getattr(query, "__name__", "read")
            job: _Job[T] = _Job(
                name, lambda session, _files: query(session, *args, **kwargs), is_write=False
            )
            return self._writer.submit(job).result()
        self._check_open()
        if self._watch is not None:
            problem = self._watch.guard(reading=True)
            if problem is not None:
                raise StoreError(f"{problem}; not read (touching it now could crash the console)")
        info = {INFO_KEYS: self.keys}
        try:
            with (
                Session(self._read_engine, expire_on_commit=False, info=info) as session,
                session.begin(),
            ):
                return query(session, *args, **kwargs)
        except DBAPIError as exc:
            raise StoreError(f"{self._where}: read failed: {exc.orig}") from exc

    @property
    def chain_id(self) -> str | None:
        """The audit chain's id (names its signed heads' file); None for a reading store."""
        return self._writer.chain.chain_id if self._writer is not None else None

    def snapshot_path(self, record: SnapshotRecord) -> Path:
        """The absolute path of a snapshot's file."""
        return self.files.path(record.relative_path)

    # ------------------------------------------------------------------ faults

    def health(self) -> StoreHealth:
        """Whether writes reach the disk now, what is wrong if not, and how many wait."""
        if self._writer is None:
            return StoreHealth(ok=True)
        return self._writer.health()

    def add_fault_listener(self, listener: FaultListener) -> None:
        """`listener(health)` is called on the writer thread when a fault starts, changes and
        clears. It must return quickly and never wait on a store future (it would wait for
        itself)."""
        if self._writer is not None:
            self._writer.add_listener(listener)

    def remove_fault_listener(self, listener: FaultListener) -> None:
        if self._writer is not None:
            self._writer.remove_listener(listener)

    # ------------------------------------------------------------------ closing

    def close(self, timeout_s: float = CLOSE_TIMEOUT_S) -> CloseReport:
        """Write everything queued, then stop and join the writer thread and let go of the
        database. If a fault keeps writes out for longer than `timeout_s`, they are given up: the
        report names each, and their futures raise `StoreWriteError`."""
        with self._state_lock:
            if self._report is not None:
                return self._report
            if self._closed:  # another thread is closing it
                return CloseReport()
            self._closed = True
        self._finalizer.detach()
        report = _shutdown(self._writer, self._engines, self._lock, self._watch, timeout_s)
        self._report = report
        if report.all_stored:
            log.info("store closed at %s; every write is stored", self._where)
        else:
            log.error("store closed at %s: %s", self._where, report)
        return report

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def settings(self) -> dict[str, str | int]:
        """The writer connection's SQLite settings (journal_mode, synchronous, foreign_keys,
        busy_timeout; a read-only store's reader's); empty for other databases."""
        if self.dialect != "sqlite":
            return {}
        names = ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")

        def pragmas(session: Session, _files: StoreFiles | None = None) -> dict[str, str | int]:
            conn = session.connection()
            return {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar_one() for name in names}

        if self._writer is None:
            return self.read(pragmas)
        return self._writer.submit(_Job("store.settings", pragmas, is_write=False)).result()
