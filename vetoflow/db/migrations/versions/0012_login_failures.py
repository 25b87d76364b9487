"""Failed console sign-ins in the database, so every process and Lambda instance throttles alike.

Revision ID: 0012_login_failures
Revises: 0011_worker_beats
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_login_failures"
down_revision = "0011_worker_beats"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vetoflow_login_failures",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_vetoflow_login_failures_last", "vetoflow_login_failures", ["last_at"])


def downgrade() -> None:
    op.drop_index("ix_vetoflow_login_failures_last", table_name="vetoflow_login_failures")
    op.drop_table("vetoflow_login_failures")
