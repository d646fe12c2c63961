"""Evidence clips: the table `clips` (an alarm's video clip per camera: the camera's own packets
from the pre-roll before the alarm to the post-roll after its risk cleared, its file in the
store's file area with its SHA-256, its state, the tracked boxes drawn over it when it plays,
`purged_at` once retention deleted the file), and `snapshots.kind` (`annotated`, the frame with
the boxes drawn, as before; `clean`, the same frame as the camera gave it, kept beside it).
Existing snapshots become `annotated`.

Self-contained (never imports the models), like 0001.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 00:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CLIP_STATES = ("recording", "kept", "failed", "unavailable")
SNAPSHOT_KINDS = ("annotated", "clean")


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _time(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "clips",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("alarm_id", sa.Integer(), nullable=False),
        sa.Column("camera_id", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        _time("window_start_at"),
        _time("window_end_at", nullable=True),
        _time("start_at", nullable=True),
        _time("end_at", nullable=True),
        sa.Column("path", sa.String(512), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("size_bytes", sa.Integer(), nullable=True),
        sa.Column("codec", sa.String(32), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("overlay", sa.JSON(), nullable=True),
        _time("opened_at"),
        _time("kept_at", nullable=True),
        _time("purged_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_clips"),
        sa.ForeignKeyConstraint(
            ["alarm_id"], ["alarms.id"], name="fk_clips_alarm_id_alarms", ondelete="CASCADE"
        ),
        sa.CheckConstraint(_in("state", CLIP_STATES), name="ck_clips_state"),
    )
    op.create_index("ix_clips_alarm_id", "clips", ["alarm_id"])
    op.create_index("ix_clips_start_at", "clips", ["start_at"])
    with op.batch_alter_table("snapshots") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(16), nullable=False, server_default="annotated")
        )
        batch.create_check_constraint("ck_snapshots_kind", _in("kind", SNAPSHOT_KINDS))


def downgrade() -> None:
    with op.batch_alter_table("snapshots") as batch:
        batch.drop_constraint("ck_snapshots_kind", type_="check")
        batch.drop_column("kind")
    op.drop_index("ix_clips_start_at", table_name="clips")
    op.drop_index("ix_clips_alarm_id", table_name="clips")
    op.drop_table("clips")
