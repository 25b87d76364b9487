"""The first release's tables. Databases it wrote (made by `create_all`, no version row) are adopted as-is.

Revision ID: 0001_release1
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_release1"
down_revision = None
branch_labels = None
depends_on = None


def _missing(name: str) -> bool:
    return not sa.inspect(op.get_bind()).has_table(name)


def upgrade() -> None:
    if _missing("vetoflow_runs"):
        op.create_table(
            "vetoflow_runs",
            sa.Column("run_id", sa.String(64), primary_key=True),
            sa.Column("name", sa.String(200), nullable=False),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("investment", sa.Float),
            sa.Column("roi", sa.Float),
            sa.Column("downside_roi", sa.Float),
            sa.Column("npv", sa.Float),
            sa.Column("veto", sa.Boolean),
            sa.Column("veto_reason", sa.Text),
            sa.Column("reviewer", sa.String(120)),
            sa.Column("last_action", sa.String(16)),
            sa.Column("revision", sa.Integer, nullable=False),
            sa.Column("error", sa.Text),
            sa.Column("scenario", sa.JSON),
        )
        op.create_index("ix_vetoflow_runs_status_created", "vetoflow_runs", ["status", "created_at"])
        op.create_index("ix_vetoflow_runs_created", "vetoflow_runs", ["created_at"])
    if _missing("vetoflow_decisions"):
        op.create_table(
            "vetoflow_decisions",
            sa.Column("run_id", sa.String(64), primary_key=True),
            sa.Column("pause_id", sa.String(64), primary_key=True),
            sa.Column("action", sa.String(16), nullable=False),
            sa.Column("reviewer", sa.String(120), nullable=False),
            sa.Column("comment", sa.Text, nullable=False),
            sa.Column("payload", sa.JSON, nullable=False),
            sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        )
    if _missing("vetoflow_idempotency"):
        op.create_table(
            "vetoflow_idempotency",
            sa.Column("reviewer", sa.String(120), primary_key=True),
            sa.Column("key", sa.String(200), primary_key=True),
            sa.Column("fingerprint", sa.String(64), nullable=False),
            sa.Column("status_code", sa.Integer),
            sa.Column("response", sa.Text),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        )
    if _missing("vetoflow_replays"):
        op.create_table(
            "vetoflow_replays",
            sa.Column("replay_run_id", sa.String(64), primary_key=True),
            sa.Column("source_run_id", sa.String(64), nullable=False),
            sa.Column("source_checkpoint_id", sa.String(64), nullable=False),
            sa.Column("from_node", sa.String(64), nullable=False),
            sa.Column("overrides", sa.JSON, nullable=False),
            sa.Column("llm_model", sa.String(200)),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        )
        op.create_index("ix_vetoflow_replays_source", "vetoflow_replays", ["source_run_id"])


def downgrade() -> None:
    for name in ("vetoflow_replays", "vetoflow_idempotency", "vetoflow_decisions", "vetoflow_runs"):
        op.drop_table(name)
