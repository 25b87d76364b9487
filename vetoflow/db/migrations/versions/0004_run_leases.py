"""Run leases: who executes a run and until when, so a crashed run shows as stalled and is taken over.

Revision ID: 0004_run_leases
Revises: 0003_queue_events
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_run_leases"
down_revision = "0003_queue_events"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("vetoflow_runs") as batch:
        batch.add_column(sa.Column("lease_owner", sa.String(80)))
        batch.add_column(sa.Column("lease_expires_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("vetoflow_runs") as batch:
        batch.drop_column("lease_expires_at")
        batch.drop_column("lease_owner")
