"""Knowledge uploads as background jobs: one row per uploaded file, its progress and its outcome.

Revision ID: 0008_ingest_jobs
Revises: 0007_comments
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_ingest_jobs"
down_revision = "0007_comments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vetoflow_ingest_jobs",
        sa.Column("job_id", sa.String(32), primary_key=True),
        sa.Column("file_name", sa.String(200), nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("chunks_estimated", sa.Integer, nullable=False),
        sa.Column("chunks_total", sa.Integer),
        sa.Column("chunks_done", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("stage", sa.String(200), nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("requested_by", sa.String(120), nullable=False),
        sa.Column("cancel_requested_by", sa.String(120)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_vetoflow_ingest_jobs_created", "vetoflow_ingest_jobs", ["created_at"])


def downgrade() -> None:
    op.drop_table("vetoflow_ingest_jobs")
