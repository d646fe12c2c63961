"""Alembic environment of the Nightwatch store.

Run through `console.store.migrations.upgrade_to_head`, which hands over an open connection in
`config.attributes["connection"]`; with only `sqlalchemy.url` set (authoring a new revision with
`alembic_config(url)` and `alembic.command.revision(..., autogenerate=True)`), it opens its own.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine, pool

from console.store.models import Base

config = context.config
target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection: Connection | None = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "", poolclass=pool.NullPool)
    try:
        with engine.connect() as own:
            _configure(own)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
