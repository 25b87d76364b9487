"""Creates procrastinate's tables and functions in the runs database, once, whoever gets there first."""

from __future__ import annotations

from typing import Any

import psycopg
from procrastinate.schema import SchemaManager

# Any fixed 64-bit key: concurrent starters (two workers, an API replica) queue on it instead of racing.
SCHEMA_LOCK_KEY = 0x5645544F_51554555  # "VETOQUEU"


def libpq_url(database_url: str) -> str:
    """psycopg wants plain `postgresql://`; SQLAlchemy's driver suffix is not part of a libpq URL."""
    for prefix in ("postgresql+psycopg://", "postgres+psycopg://"):
        if database_url.startswith(prefix):
            return "postgresql://" + database_url[len(prefix) :]
    return database_url


def queue_schema_present(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute("SELECT to_regclass('procrastinate_jobs') IS NOT NULL").fetchone()
    return bool(row and row[0])


def apply_queue_schema(conn: psycopg.Connection[Any]) -> bool:
    """Apply procrastinate's schema on this (autocommit) connection unless it is there; True if applied."""
    conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK_KEY,))
    try:
        if queue_schema_present(conn):
            return False
        with conn.transaction():
            conn.execute(SchemaManager.get_schema())  # procrastinate's own SQL, typed LiteralString
        return True
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK_KEY,))


def ensure_queue_schema(database_url: str) -> bool:
    """What `vetoflow worker` and a queue-mode API run at start: idempotent, safe to race."""
    with psycopg.connect(libpq_url(database_url), autocommit=True, connect_timeout=10) as conn:
        return apply_queue_schema(conn)
