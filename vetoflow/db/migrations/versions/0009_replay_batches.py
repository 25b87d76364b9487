"""Batch replays on the queue: one row per batch (selection, options, size) and one per source run.

Revision ID: 0009_replay_batches
Revises: 0008_ingest_jobs
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_replay_batches"
down_revision = "0008_ingest_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vetoflow_replay_batches",
        sa.Column("batch_id", sa.String(64), primary_key=True),
        sa.Column("selection", sa.JSON, nullable=False),
        sa.Column("options", sa.JSON, nullable=False),
        sa.Column("selected", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "vetoflow_replay_batch_items",
        sa.Column("batch_id", sa.String(64), primary_key=True),
        sa.Column("source_run_id", sa.String(64), primary_key=True),
        sa.Column("replay_run_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("result", sa.JSON),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("vetoflow_replay_batch_items")
    op.drop_table("vetoflow_replay_batches")
