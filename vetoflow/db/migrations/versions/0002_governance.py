"""Governance: the hash-chained audit log and its head row, the notification outbox, delivery attempts.

Revision ID: 0002_governance
Revises: 0001_release1
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_governance"
down_revision = "0001_release1"
branch_labels = None
depends_on = None

GENESIS = "sha256:" + "0" * 64


def upgrade() -> None:
    op.create_table(
        "vetoflow_audit",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("run_id", sa.String(64)),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("via", sa.String(16), nullable=False),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(80), nullable=False),
        sa.Column("hash", sa.String(80), nullable=False),
    )
    op.create_index("ix_vetoflow_audit_at", "vetoflow_audit", ["at"])
    op.create_index("ix_vetoflow_audit_run", "vetoflow_audit", ["run_id"])
    head = op.create_table(
        "vetoflow_audit_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(80), nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": GENESIS}])
    op.create_table(
        "vetoflow_outbox",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("run_id", sa.String(64)),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("target", sa.String(2000), nullable=False),
        sa.Column("channel", sa.JSON, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True)),
        sa.Column("last_error", sa.Text),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_vetoflow_outbox_due", "vetoflow_outbox", ["status", "next_attempt_at"])
    op.create_table(
        "vetoflow_delivery_attempts",
        sa.Column("outbox_id", sa.String(36), primary_key=True),
        sa.Column("attempt", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for name in ("vetoflow_delivery_attempts", "vetoflow_outbox", "vetoflow_audit_head", "vetoflow_audit"):
        op.drop_table(name)
