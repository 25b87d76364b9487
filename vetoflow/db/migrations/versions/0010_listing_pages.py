"""Listing indexes end in the full sort key (created_at, run_id), so keyset pages seek instead of scanning.

The old (status, created_at) and (created_at) indexes are their prefixes, so they are replaced.

Revision ID: 0010_listing_pages
Revises: 0009_replay_batches
"""

from __future__ import annotations

from alembic import op

revision = "0010_listing_pages"
down_revision = "0009_replay_batches"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_vetoflow_runs_status_page", "vetoflow_runs", ["status", "created_at", "run_id"])
    op.create_index("ix_vetoflow_runs_page", "vetoflow_runs", ["created_at", "run_id"])
    op.drop_index("ix_vetoflow_runs_status_created", table_name="vetoflow_runs")
    op.drop_index("ix_vetoflow_runs_created", table_name="vetoflow_runs")


def downgrade() -> None:
    op.create_index("ix_vetoflow_runs_status_created", "vetoflow_runs", ["status", "created_at"])
    op.create_index("ix_vetoflow_runs_created", "vetoflow_runs", ["created_at"])
    op.drop_index("ix_vetoflow_runs_page", table_name="vetoflow_runs")
    op.drop_index("ix_vetoflow_runs_status_page", table_name="vetoflow_runs")
