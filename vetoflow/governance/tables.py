"""The governance tables (audit log, its head, notification outbox, delivery attempts, approvals, pauses).

Kept in one MetaData of their own until the shared `vetoflow/db/tables.py` arrives; `ensure_tables` creates
them if missing (idempotent, safe to call from several processes).
"""

from __future__ import annotations

import threading

from sqlalchemy import JSON, Column, DateTime, Engine, Index, Integer, MetaData, String, Table, Text, insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError

GENESIS = "sha256:" + "0" * 64
metadata = MetaData()

audit_table = Table(
    "vetoflow_audit",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", String(40), nullable=False),  # ISO 8601 UTC text: hashed exactly as stored
    Column("event", String(40), nullable=False),
    Column("run_id", String(64)),
    Column("actor", String(120), nullable=False),
    Column("via", String(16), nullable=False),
    Column("details", Text, nullable=False),  # canonical JSON
    Column("prev_hash", String(80), nullable=False),
    Column("hash", String(80), nullable=False),
    Index("ix_vetoflow_audit_at", "at"),
    Index("ix_vetoflow_audit_run", "run_id"),
)

audit_head_table = Table(
    "vetoflow_audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", Integer, nullable=False),
    Column("hash", String(80), nullable=False),
)

outbox_table = Table(
    "vetoflow_outbox",
    metadata,
    Column("id", String(36), primary_key=True),  # the idempotency id sent with every try
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("event", String(40), nullable=False),
    Column("run_id", String(64)),
    Column("kind", String(16), nullable=False),
    Column("target", String(2000), nullable=False),
    Column("channel", JSON, nullable=False),
    Column("payload", Text, nullable=False),
    Column("status", String(16), nullable=False),  # pending, sent, dead
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("claimed_until", DateTime(timezone=True)),
    Column("last_error", Text),
    Column("sent_at", DateTime(timezone=True)),
    Index("ix_vetoflow_outbox_due", "status", "next_attempt_at"),
)

attempts_table = Table(
    "vetoflow_delivery_attempts",
    metadata,
    Column("outbox_id", String(36), primary_key=True),
    Column("attempt", Integer, primary_key=True, autoincrement=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("outcome", String(16), nullable=False),  # sent, retry, dead
    Column("detail", Text, nullable=False),
)

_created: set[str] = set()
_lock = threading.Lock()


def ensure_tables(engine: Engine) -> None:
    key = str(engine.url)
    with _lock:
        if key in _created:
            return
        try:
            metadata.create_all(engine)
        except DBAPIError:  # another process created them at the same moment: the second pass sees them
            metadata.create_all(engine)
        try:  # the audit chain's head row, seeded once (a concurrent seed loses the race harmlessly)
            with engine.begin() as conn:
                if conn.execute(select(audit_head_table.c.id)).first() is None:
                    conn.execute(insert(audit_head_table).values(id=1, seq=0, hash=GENESIS))
        except IntegrityError:
            pass
        _created.add(key)
