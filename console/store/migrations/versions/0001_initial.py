"""Initial schema: alarms, alarm events, dispatches, snapshots, users, shifts, config changes,
and the append-only, hash-chained audit log.

This file is self-contained on purpose (it never imports the models), so that it keeps creating
the first release's schema however the models evolve later.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATES = ("raised", "acknowledged", "dispatched", "resolved")
OUTCOMES = ("false_alarm", "visitor_warned", "intervention", "police_called", "other")
KINDS = ("raise", "acknowledge", "dispatch", "arrive", "resolve", "comment", "escalate")
ROLES = ("monitor", "supervisor", "auditor")


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _time(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    # alarms.snapshot_id -> snapshots.id closes a cycle with snapshots.alarm_id -> alarms.id.
    # SQLite accepts a reference to a table created later (and cannot add one afterwards);
    # other databases get the constraint once both tables exist.
    sqlite = op.get_bind().dialect.name == "sqlite"
    snapshot_fk = sa.ForeignKeyConstraint(
        ["snapshot_id"],
        ["snapshots.id"],
        name="fk_alarms_snapshot_id_snapshots",
        ondelete="SET NULL",
    )
    op.create_table(
        "alarms",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("camera_id", sa.String(64), nullable=False),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(128), nullable=True),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("track_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        _time("raised_at"),
        _time("updated_at"),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("episode_key", sa.String(255), nullable=True),
        sa.Column("snapshot_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_alarms"),
        sa.CheckConstraint(_in("state", STATES), name="ck_alarms_state"),
        sa.CheckConstraint(_in("outcome", OUTCOMES), name="ck_alarms_outcome"),
        *([snapshot_fk] if sqlite else []),
    )
    op.create_index("ix_alarms_raised_at", "alarms", ["raised_at"])
    op.create_index("ix_alarms_camera_id_raised_at", "alarms", ["camera_id", "raised_at"])
    op.create_index("ix_alarms_subject", "alarms", ["subject"])
    op.create_index("ix_alarms_state", "alarms", ["state"])
    op.create_index("ix_alarms_episode_key", "alarms", ["episode_key"])

    def alarm_fk(table: str) -> sa.ForeignKeyConstraint:
        return sa.ForeignKeyConstraint(
            ["alarm_id"], ["alarms.id"], name=f"fk_{table}_alarm_id_alarms", ondelete="CASCADE"
        )

    op.create_table(
        "alarm_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("alarm_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        _time("at"),
        sa.Column("user", sa.String(64), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_alarm_events"),
        alarm_fk("alarm_events"),
        sa.CheckConstraint(_in("kind", KINDS), name="ck_alarm_events_kind"),
    )
    op.create_index("ix_alarm_events_alarm_id", "alarm_events", ["alarm_id"])

    op.create_table(
        "dispatches",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("alarm_id", sa.Integer(), nullable=False),
        sa.Column("guard_id", sa.String(64), nullable=False),
        sa.Column("post", sa.String(64), nullable=True),
        _time("sent_at"),
        _time("arrived_at", nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_dispatches"),
        alarm_fk("dispatches"),
    )
    op.create_index("ix_dispatches_alarm_id", "dispatches", ["alarm_id"])

    op.create_table(
        "snapshots",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("alarm_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(512), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        _time("taken_at"),
        _time("expires_at", nullable=True),
        _time("purged_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_snapshots"),
        alarm_fk("snapshots"),
    )
    op.create_index("ix_snapshots_alarm_id", "snapshots", ["alarm_id"])
    op.create_index("ix_snapshots_expires_at", "snapshots", ["expires_at"])

    if not sqlite:
        op.create_foreign_key(
            "fk_alarms_snapshot_id_snapshots",
            "alarms",
            "snapshots",
            ["snapshot_id"],
            ["id"],
            ondelete="SET NULL",
        )

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        _time("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("name", name="uq_users_name"),
        sa.CheckConstraint(_in("role", ROLES), name="ck_users_role"),
    )

    op.create_table(
        "shifts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        _time("started_at"),
        _time("ended_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_shifts"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_shifts_user_id_users"),
    )
    op.create_index("ix_shifts_user_id", "shifts", ["user_id"])

    op.create_table(
        "config_changes",
        sa.Column("id", sa.Integer(), primary_key=True),
        _time("at"),
        sa.Column("user", sa.String(64), nullable=False),
        sa.Column("what", sa.String(255), nullable=False),
        sa.Column("before_digest", sa.String(64), nullable=True),
        sa.Column("after_digest", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_config_changes"),
    )
    op.create_index("ix_config_changes_at", "config_changes", ["at"])

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        _time("at"),
        sa.Column("user", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(255), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("row_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
        sa.UniqueConstraint("seq", name="uq_audit_log_seq"),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    _append_only_triggers()


def _append_only_triggers() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
            )
    elif dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE "
            "ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    if dialect != "sqlite":
        op.drop_constraint("fk_alarms_snapshot_id_snapshots", "alarms", type_="foreignkey")
    for table in (
        "audit_log",
        "config_changes",
        "shifts",
        "users",
        "snapshots",
        "dispatches",
        "alarm_events",
        "alarms",
    ):
        op.drop_table(table)
