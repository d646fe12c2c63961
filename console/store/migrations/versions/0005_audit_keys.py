"""A keyed audit chain and holds: each audit row gets its payload hash and the digests of the
table rows its step wrote (the keyed hash itself stays in `row_hash`; which rows are keyed is
said by the chain's own `audit.keyed` row, written by the console at its next open, see
docs/storage.md), and incidents can be put under hold (kept past the retention period).

Self-contained, like 0001: it never imports the models. The audit log keeps its append-only
triggers: columns are added in place (SQLite's ADD COLUMN), never by rebuilding the table.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 12:00:00+00:00
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
    op.add_column("audit_log", sa.Column("payload_hash", sa.String(64), nullable=True))
    op.add_column("audit_log", sa.Column("row_digests", sa.Text(), nullable=True))
    op.create_table(
        "holds",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("alarm_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("case_ref", sa.String(128), nullable=True),
        sa.Column("placed_by", sa.String(64), nullable=False),
        _time("placed_at"),
        sa.Column("released_by", sa.String(64), nullable=True),
        _time("released_at", nullable=True),
        sa.Column("release_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_holds"),
        sa.ForeignKeyConstraint(["alarm_id"], ["alarms.id"], name="fk_holds_alarm_id_alarms"),
    )
    op.create_index("ix_holds_alarm_id", "holds", ["alarm_id"])


def downgrade() -> None:
    op.drop_index("ix_holds_alarm_id", table_name="holds")
    op.drop_table("holds")
    if op.get_bind().dialect.name == "sqlite":
        # in place (SQLite >= 3.35), so the append-only triggers stay
        op.execute("ALTER TABLE audit_log DROP COLUMN row_digests")
        op.execute("ALTER TABLE audit_log DROP COLUMN payload_hash")
    else:
        op.drop_column("audit_log", "row_digests")
        op.drop_column("audit_log", "payload_hash")
