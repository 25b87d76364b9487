"""Worker deaths and transient failures per queued job, apart from procrastinate's attempts (which drains
raise too), so only deaths fail a run as WorkerLost.

Revision ID: 0014_job_tallies
Revises: 0013_pause_authors
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_job_tallies"
down_revision = "0013_pause_authors"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vetoflow_job_tallies",
        sa.Column("job_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("crashes", sa.Integer, nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("vetoflow_job_tallies")
