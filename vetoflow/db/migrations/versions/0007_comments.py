"""Comment threads on runs, and the run index's plausibility flags (issue 13).

Revision ID: 0007_comments
Revises: 0006_approval_gate
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_comments"
down_revision = "0006_approval_gate"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vetoflow_run_comments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("author", sa.String(120), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("via", sa.String(16), nullable=False),
        sa.Column("lost_race", sa.Boolean, nullable=False),
        sa.Column("action", sa.String(16)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_vetoflow_run_comments_run", "vetoflow_run_comments", ["run_id", "id"])
    with op.batch_alter_table("vetoflow_runs") as batch:
        batch.add_column(sa.Column("plausibility", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("vetoflow_runs") as batch:
        batch.drop_column("plausibility")
    op.drop_index("ix_vetoflow_run_comments_run", "vetoflow_run_comments")
    op.drop_table("vetoflow_run_comments")
