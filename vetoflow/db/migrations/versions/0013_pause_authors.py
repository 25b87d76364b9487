"""A pause records who wrote the figures it shows (requester, revisers, a replay's inherited authors), so
the inbox and the console apply four-eyes as the gate does without reading a checkpoint. Older rows stay
NULL: they fall back to the requester, and are filled in when the run is next decided or refreshed.

Revision ID: 0013_pause_authors
Revises: 0012_login_failures
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_pause_authors"
down_revision = "0012_login_failures"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("vetoflow_pauses") as batch:
        batch.add_column(sa.Column("authors", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("vetoflow_pauses") as batch:
        batch.drop_column("authors")
