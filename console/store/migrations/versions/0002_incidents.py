"""Incidents: each alarm keeps its occurrences (who was seen, or for a camera's own alarm which
condition, by which camera, from when to when, how close), alarms written by a replay are marked
as such, and two new alarm events: `activity` (new activity on an alarm already acknowledged)
and `seen` (the monitor saw it).

Self-contained, like 0001: it never imports the models.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 00:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_KINDS = ("raise", "acknowledge", "dispatch", "arrive", "resolve", "comment", "escalate")
KINDS = (*OLD_KINDS, "activity", "seen")


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _time(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "alarm_occurrences",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("alarm_id", sa.Integer(), nullable=False),
        sa.Column("camera_id", sa.String(64), nullable=False),
        sa.Column("track_id", sa.Integer(), nullable=True),
        sa.Column("condition", sa.String(32), nullable=True),
        _time("started_at"),
        _time("ended_at", nullable=True),
        sa.Column("video_start_s", sa.Float(), nullable=True),
        sa.Column("video_end_s", sa.Float(), nullable=True),
        sa.Column("closest_m", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_alarm_occurrences"),
        sa.ForeignKeyConstraint(
            ["alarm_id"],
            ["alarms.id"],
            name="fk_alarm_occurrences_alarm_id_alarms",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_alarm_occurrences_alarm_id", "alarm_occurrences", ["alarm_id"])
    with op.batch_alter_table("alarms") as batch:
        batch.add_column(
            sa.Column("replayed", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("alarm_events") as batch:
        batch.drop_constraint("ck_alarm_events_kind", type_="check")
        batch.create_check_constraint("ck_alarm_events_kind", _in("kind", KINDS))


def downgrade() -> None:
    with op.batch_alter_table("alarm_events") as batch:
        batch.drop_constraint("ck_alarm_events_kind", type_="check")
        batch.create_check_constraint("ck_alarm_events_kind", _in("kind", OLD_KINDS))
    with op.batch_alter_table("alarms") as batch:
        batch.drop_column("replayed")
    op.drop_index("ix_alarm_occurrences_alarm_id", table_name="alarm_occurrences")
    op.drop_table("alarm_occurrences")
