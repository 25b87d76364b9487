"""Run events (the progress stream), and on PostgreSQL procrastinate's job-queue schema (queue mode).

Revision ID: 0003_queue_events
Revises: 0002_governance
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_queue_events"
down_revision = "0002_governance"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vetoflow_run_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("node", sa.String(64)),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
    )
    op.create_index("ix_vetoflow_run_events_run", "vetoflow_run_events", ["run_id", "id"])
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":  # the job queue lives beside the runs; SQLite has no workers
        from vetoflow.db.queue import create_queue_schema

        driver = bind.connection.driver_connection
        assert driver is not None
        create_queue_schema(driver)


def downgrade() -> None:
    op.drop_index("ix_vetoflow_run_events_run", "vetoflow_run_events")
    op.drop_table("vetoflow_run_events")
