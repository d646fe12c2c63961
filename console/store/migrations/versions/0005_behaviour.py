"""Behaviour learning: the learned normal (aggregated histograms per room, artwork, camera view
and hour of the week) and the supervisor's switch of the feature. No track, position or
appearance is ever stored.

Self-contained, like 0001: it never imports the models.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 00:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _time(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "behaviour_cells",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("place_id", sa.String(64), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_behaviour_cells"),
    )
    op.create_index(
        "ix_behaviour_cells_place", "behaviour_cells", ["kind", "place_id", "hour"], unique=True
    )
    op.create_table(
        "behaviour_switches",
        sa.Column("id", sa.Integer(), primary_key=True),
        _time("at"),
        sa.Column("user", sa.String(64), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_behaviour_switches"),
    )
    op.create_index("ix_behaviour_switches_at", "behaviour_switches", ["at"])


def downgrade() -> None:
    op.drop_index("ix_behaviour_switches_at", table_name="behaviour_switches")
    op.drop_table("behaviour_switches")
    op.drop_index("ix_behaviour_cells_place", table_name="behaviour_cells")
    op.drop_table("behaviour_cells")
