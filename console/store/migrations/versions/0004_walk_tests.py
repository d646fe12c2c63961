"""Walk tests: a session (who, when, which objects and zones) and its result per object or zone
(passed, why, camera, time, distance, the evidence frame's path and SHA-256).

Self-contained, like 0001: it never imports the models.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 00:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _time(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "walk_tests",
        sa.Column("id", sa.Integer(), primary_key=True),
        _time("started_at"),
        _time("ended_at", nullable=True),
        sa.Column("user", sa.String(64), nullable=False),
        sa.Column("site_name", sa.String(255), nullable=False),
        sa.Column("site_digest", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("subjects", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_walk_tests"),
    )
    op.create_index("ix_walk_tests_started_at", "walk_tests", ["started_at"])
    op.create_table(
        "walk_test_results",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("walk_test_id", sa.Integer(), nullable=False),
        sa.Column("subject_kind", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("subject_name", sa.String(255), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("camera_id", sa.String(64), nullable=True),
        _time("at", nullable=True),
        sa.Column("distance_m", sa.Float(), nullable=True),
        sa.Column("track_id", sa.Integer(), nullable=True),
        sa.Column("rule_would_fire", sa.Boolean(), nullable=True),
        sa.Column("evidence_path", sa.String(512), nullable=True),
        sa.Column("evidence_sha256", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_walk_test_results"),
        sa.ForeignKeyConstraint(
            ["walk_test_id"],
            ["walk_tests.id"],
            name="fk_walk_test_results_walk_test_id_walk_tests",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_walk_test_results_walk_test_id", "walk_test_results", ["walk_test_id"])


def downgrade() -> None:
    op.drop_index("ix_walk_test_results_walk_test_id", table_name="walk_test_results")
    op.drop_table("walk_test_results")
    op.drop_index("ix_walk_tests_started_at", table_name="walk_tests")
    op.drop_table("walk_tests")
