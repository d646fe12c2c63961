"""`Store`: the one door to Nightwatch's database.

One writer thread owns every write: `write(task)` queues a named task (see `console.store.tasks`)
and returns a `concurrent.futures.Future`; the task runs inside one transaction, committed before
the future completes, so "done" means "durable". On SQLite the writer runs in WAL mode with
`synchronous=FULL` and takes the write lock up front (`BEGIN IMMEDIATE`), so it never meets
"database is locked"; `read(query, ...)` runs a query function on its own connection in the
caller's thread and never waits for the writer.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Generic, TypeVar

import platformdirs
from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from console.store.errors import StoreClosedError, StoreError, StoreWriteError
from console.store.migrations import upgrade_to_head
from console.store.snapshots import SnapshotRecord
from console.store.tasks import StoreFiles, WriteTask

log = logging.getLogger(__name__)

T = TypeVar("T")

WRITER_THREAD_NAME = "nightwatch-store-writer"


def default_database_url() -> str:
    """`sqlite:///<user data dir>/nightwatch/nightwatch.db` (platformdirs)."""
    path = platformdirs.user_data_path("nightwatch", appauthor=False) / "nightwatch.db"
    return f"sqlite:///{path}"


class _Job(Generic[T]):
    """A task (or, for an in-memory database, a read) waiting for the writer thread."""

    __slots__ = ("fn", "future", "name")

    def __init__(self, name: str, fn: Callable[[Session, StoreFiles], T] | None) -> None:
        self.name = name
        self.fn = fn
        self.future: Future[T] = Future()


_STOP = object()


def _stop_writer(jobs: queue.Queue[object], thread: threading.Thread) -> None:
    # Shared by close() and the interpreter-exit finaliser: everything queued before the stop
    # marker is still written.
    if thread.is_alive():
        jobs.put(_STOP)
        thread.join()


class Store:
    """Nightwatch's durable record over SQLite (default) or any SQLAlchemy URL (PostgreSQL for
    shared use): alarms, snapshots, users, shifts, config changes and the audit log.

    Opening migrates the schema to head. `close()` (or leaving a `with` block) writes every
    queued task, then stops and joins the writer thread.
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
        self.files = StoreFiles(self.snapshots_dir, self._where)
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
            target=self._run_writer, name=WRITER_THREAD_NAME, daemon=True
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
            if job.fn is None:  # a flush marker: everything before it is done
                job.future.set_result(None)
                continue
            try:
                result = self._run_job(job)
            except Exception as exc:
                job.future.set_exception(exc)
            else:
                job.future.set_result(result)
        log.debug("store writer for %s stopped", self._where)

    def _run_job(self, job: _Job[T]) -> T:
        assert job.fn is not None
        files = StoreFiles(self.snapshots_dir, self._where)
        try:
            with Session(self._write_engine, expire_on_commit=False) as session, session.begin():
                return job.fn(session, files)
        except BaseException as exc:
            files.undo()
            if isinstance(exc, OSError):
                where = exc.filename or self._where
                raise StoreWriteError(
                    f"{where}: {job.name} failed, nothing stored: {exc.strerror or exc}"
                ) from exc
            if isinstance(exc, DBAPIError) and not isinstance(exc, IntegrityError):
                raise StoreWriteError(
                    f"{self._where}: {job.name} failed, nothing stored: {exc.orig}"
                ) from exc
            raise

    def _submit(self, job: _Job[T]) -> Future[T]:
        with self._lock:
            if self._closed:
                raise StoreClosedError(f"{self._where}: the store is closed")
            self._jobs.put(job)
        return job.future

    def write(self, task: WriteTask[T]) -> Future[T]:
        """Queue `task` for the writer thread. It runs inside one transaction, committed before
        the future completes; the future raises what the task raised (nothing of it stored)."""
        return self._submit(_Job(task.name, task.run))

    def flush(self, timeout_s: float | None = None) -> bool:
        """Wait until every write queued before this call is done (committed or failed); False
        if `timeout_s` passed first."""
        marker: _Job[None] = _Job("store.flush", None)
        try:
            self._submit(marker).result(timeout=timeout_s)
        except TimeoutError:
            return False
        return True

    def read(self, query: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """`query(session, *args, **kwargs)` on a read connection of its own, in this thread
        (an in-memory database reads through the writer thread)."""
        if self._reads_via_writer:
            name = getattr(query, "__name__", "read")
            job = _Job(name, lambda session, _files: query(session, *args, **kwargs))
            return self._submit(job).result()
        with self._lock:
            if self._closed:
                raise StoreClosedError(f"{self._where}: the store is closed")
        try:
            with Session(self._read_engine, expire_on_commit=False) as session, session.begin():
                return query(session, *args, **kwargs)
        except DBAPIError as exc:
            raise StoreError(f"{self._where}: read failed: {exc.orig}") from exc

    def snapshot_path(self, record: SnapshotRecord) -> Path:
        """The absolute path of a snapshot's file."""
        return self.files.path(record.relative_path)

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

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def settings(self) -> dict[str, str | int]:
        """The writer connection's SQLite settings (journal_mode, synchronous, foreign_keys,
        busy_timeout); empty for other databases."""
        if self.dialect != "sqlite":
            return {}

        def pragmas(session: Session, _files: StoreFiles) -> dict[str, str | int]:
            conn = session.connection()
            return {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar_one()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            }

        return self._submit(_Job("store.settings", pragmas)).result()
