"""The run index keeps P(NPV < 0), for the inbox's P(loss) column. Older rows stay NULL (shown as "-").

Revision ID: 0005_loss_probability
Revises: 0004_run_leases
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_loss_probability"
down_revision = "0004_run_leases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("vetoflow_runs") as batch:
        batch.add_column(sa.Column("loss_probability", sa.Float, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("vetoflow_runs") as batch:
        batch.drop_column("loss_probability")
