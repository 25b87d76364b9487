"""The approval gate: one row per pause (tier, recorded policy, deadlines) and one per approval.

Revision ID: 0006_approval_gate
Revises: 0005_loss_probability
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_approval_gate"
down_revision = "0005_loss_probability"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vetoflow_pauses",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("pause_id", sa.String(64), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("tier", sa.String(64), nullable=False),
        sa.Column("policy", sa.Text, nullable=False),
        sa.Column("needed", sa.Integer, nullable=False),
        sa.Column("approvals", sa.Integer, nullable=False),
        sa.Column("requester", sa.String(120)),
        sa.Column("digest", sa.String(80), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_reminder_at", sa.DateTime(timezone=True)),
        sa.Column("reminders_sent", sa.Integer, nullable=False),
        sa.Column("escalations", sa.Integer, nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_vetoflow_pauses_due", "vetoflow_pauses", ["status", "due_at"])
    op.create_index("ix_vetoflow_pauses_remind", "vetoflow_pauses", ["status", "next_reminder_at"])
    op.create_table(
        "vetoflow_approvals",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("pause_id", sa.String(64), primary_key=True),
        sa.Column("reviewer", sa.String(120), primary_key=True),
        sa.Column("roles", sa.String(400), nullable=False),
        sa.Column("digest", sa.String(80), nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("via", sa.String(16), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("vetoflow_approvals")
    op.drop_table("vetoflow_pauses")
