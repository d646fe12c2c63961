"""Schema migrations of the Nightwatch store (Alembic), run from code: no alembic.ini needed.

`upgrade_to_head(url)` brings any database to the newest revision; `Store` calls it on
every open. The scripts live in this package (`env.py`, `versions/`), shipped as package data.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, make_url, pool, text

log = logging.getLogger(__name__)

SCRIPT_LOCATION = Path(__file__).resolve().parent
# An arbitrary, fixed key: consoles sharing one PostgreSQL database migrate one at a time.
_PG_MIGRATION_LOCK = 0x4E57_0001


def alembic_config(url: str | None = None, connection: Connection | None = None) -> Config:
    """An Alembic `Config` pointing at this package's scripts (no ini file)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPT_LOCATION).replace("%", "%%"))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The newest revision these scripts know."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"{SCRIPT_LOCATION}: no migration revisions found")
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision the database behind `connection` is at (None: never migrated)."""
    return MigrationContext.configure(connection).get_current_revision()


def _migration_engine(url: str) -> Engine:
    engine = create_engine(url, poolclass=pool.NullPool)
    if engine.dialect.name != "sqlite":
        return engine

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: object, _record: object) -> None:
        # Manual transactions; foreign keys off while tables may be rebuilt (batch mode would
        # otherwise cascade deletes); WAL from the file's first write.
        # the DB-API connection is sqlite3's; SQLAlchemy's event hands it over as a plain object
        dbapi_connection.isolation_level = None  # type: ignore[attr-defined]
        cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.execute("PRAGMA foreign_keys = OFF")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Take the write lock first, so two processes opening a fresh file migrate in turn.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def upgrade_to_head(url: str | None = None, *, connection: Connection | None = None) -> str:
    """Migrate the database at `url` (or behind an open `connection`) to the newest revision.

    Returns the head revision. Safe to call on an up-to-date database (it does nothing) and from
    several processes at once (SQLite: the write lock; PostgreSQL: an advisory lock).
    """
    if connection is not None:
        command.upgrade(alembic_config(connection=connection), "head")
        return head_revision()
    if url is None:
        raise ValueError("upgrade_to_head needs a url or a connection")
    engine = _migration_engine(url)
    shown = make_url(url).render_as_string(hide_password=True)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK}
                )
            before = current_revision(conn)
            command.upgrade(alembic_config(connection=conn), "head")
            after = current_revision(conn)
        if engine.dialect.name == "sqlite":
            with engine.connect() as conn:
                problems = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if problems:
                raise RuntimeError(f"{shown}: foreign key violations after migration: {problems}")
    finally:
        engine.dispose()
    if before != after:
        log.info("store %s migrated from %s to %s", shown, before, after)
    return after or head_revision()
