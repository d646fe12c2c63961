"""Accounts: password hashes, disabled accounts, case-insensitive names, shifts at a console
with hand-over notes, the sign-in back-off, and console settings. The role `monitor` becomes
`operator`.

Self-contained (never imports the models), like 0001. SQLite rebuilds `users` and `shifts`
(batch mode; the migration runs with foreign keys off). `users` and `shifts` were never written
before this revision, but rows there are carried over all the same: `name_key` is filled from
the name, `monitor` becomes `operator`.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 00:00:00+00:00
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_ROLES = ("monitor", "supervisor", "auditor")
ROLES = ("operator", "supervisor", "auditor")


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _time(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _key(name: str) -> str:
    return unicodedata.normalize("NFKC", name).strip().casefold()


def upgrade() -> None:
    with op.batch_alter_table("users", recreate="auto") as batch:
        batch.drop_constraint("ck_users_role", type_="check")
        batch.add_column(sa.Column("name_key", sa.String(64), nullable=True))
        batch.add_column(sa.Column("created_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("password_hash", sa.String(255), nullable=True))
        batch.add_column(_time("password_changed_at", nullable=True))
        batch.add_column(_time("disabled_at", nullable=True))
        batch.add_column(sa.Column("disabled_by", sa.String(64), nullable=True))
    bind = op.get_bind()
    users = sa.table(
        "users", sa.column("id"), sa.column("name"), sa.column("name_key"), sa.column("role")
    )
    for user_id, name in bind.execute(sa.select(users.c.id, users.c.name)).all():
        bind.execute(users.update().where(users.c.id == user_id).values(name_key=_key(name)))
    bind.execute(users.update().where(users.c.role == "monitor").values(role="operator"))
    with op.batch_alter_table("users", recreate="auto") as batch:
        batch.alter_column("name_key", existing_type=sa.String(64), nullable=False)
        batch.create_unique_constraint("uq_users_name_key", ["name_key"])
        batch.create_check_constraint("ck_users_role", _in("role", ROLES))

    with op.batch_alter_table("shifts", recreate="auto") as batch:
        batch.add_column(sa.Column("station", sa.String(128), nullable=True))
        batch.add_column(sa.Column("end_reason", sa.String(64), nullable=True))
        batch.add_column(sa.Column("handover_note", sa.Text(), nullable=True))
        batch.add_column(sa.Column("handed_to_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("taken_over_from_id", sa.Integer(), nullable=True))
        batch.add_column(_time("note_confirmed_at", nullable=True))
        batch.create_foreign_key("fk_shifts_handed_to_id_users", "users", ["handed_to_id"], ["id"])
        batch.create_foreign_key(
            "fk_shifts_taken_over_from_id_shifts", "shifts", ["taken_over_from_id"], ["id"]
        )

    op.create_table(
        "login_backoff",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        _time("last_failed_at"),
        sa.PrimaryKeyConstraint("key", name="pk_login_backoff"),
    )
    op.create_table(
        "console_settings",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        _time("changed_at"),
        sa.Column("changed_by", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_console_settings"),
    )


def downgrade() -> None:
    op.drop_table("console_settings")
    op.drop_table("login_backoff")
    with op.batch_alter_table("shifts", recreate="auto") as batch:
        batch.drop_constraint("fk_shifts_taken_over_from_id_shifts", type_="foreignkey")
        batch.drop_constraint("fk_shifts_handed_to_id_users", type_="foreignkey")
        for column in (
            "note_confirmed_at",
            "taken_over_from_id",
            "handed_to_id",
            "handover_note",
            "end_reason",
            "station",
        ):
            batch.drop_column(column)
    with op.batch_alter_table("users", recreate="auto") as batch:
        batch.drop_constraint("ck_users_role", type_="check")
        batch.drop_constraint("uq_users_name_key", type_="unique")
        for column in (
            "disabled_by",
            "disabled_at",
            "password_changed_at",
            "password_hash",
            "created_by",
            "name_key",
        ):
            batch.drop_column(column)
    users = sa.table("users", sa.column("role"))
    op.get_bind().execute(users.update().where(users.c.role == "operator").values(role="monitor"))
    with op.batch_alter_table("users", recreate="auto") as batch:
        batch.create_check_constraint("ck_users_role", _in("role", OLD_ROLES))
