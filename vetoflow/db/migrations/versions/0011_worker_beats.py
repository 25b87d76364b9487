"""Worker heartbeats by host: a container's health check judges its own worker, not the cluster's.

Revision ID: 0011_worker_beats
Revises: 0010_listing_pages
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_worker_beats"
down_revision = "0010_listing_pages"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vetoflow_worker_beats",
        sa.Column("worker_key", sa.String(128), primary_key=True),
        sa.Column("host", sa.String(64), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_heartbeat", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_vetoflow_worker_beats_host", "vetoflow_worker_beats", ["host", "last_heartbeat"])


def downgrade() -> None:
    op.drop_index("ix_vetoflow_worker_beats_host", table_name="vetoflow_worker_beats")
    op.drop_table("vetoflow_worker_beats")
