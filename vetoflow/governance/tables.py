"""The governance tables, declared with every other table in `vetoflow/db/tables.py` (created by migrations)."""

from __future__ import annotations

from vetoflow.db.tables import attempts_table, audit_head_table, audit_table, outbox_table

GENESIS = "sha256:" + "0" * 64  # the audit chain's first "previous hash"

__all__ = ["GENESIS", "attempts_table", "audit_head_table", "audit_table", "outbox_table"]
