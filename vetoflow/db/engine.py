"""SQLAlchemy engines and raw SQLite connections, configured in one place (URL, pool size, PRAGMAs)."""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import Engine, Table, create_engine, event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from vetoflow.config import Settings
from vetoflow.setting_rules import ensure_home

# WAL lets a second process (the approver) read and write while another run is in flight;
# synchronous=NORMAL in WAL mode survives a process crash, which is the failure we design for.
SQLITE_PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA busy_timeout=30000")


def sqlalchemy_url(database_url: str) -> str:
    """`postgresql://...` as users write it, with the psycopg 3 driver SQLAlchemy needs spelled out."""
    for prefix in ("postgresql://", "postgres://"):
        if database_url.startswith(prefix):
            return "postgresql+psycopg://" + database_url[len(prefix) :]
    return database_url


def upsert_insert(engine: Engine, table: Table) -> Any:
    """An INSERT that can say what to do on a conflict (`on_conflict_do_nothing` / `_do_update`), in the
    engine's own dialect: PostgreSQL and SQLite spell it alike, but SQLAlchemy keeps a class for each."""
    return (pg_insert if engine.dialect.name == "postgresql" else sqlite_insert)(table)


def make_engine(settings: Settings) -> Engine:
    if settings.database_url:
        url = sqlalchemy_url(settings.database_url)
        return create_engine(url, pool_pre_ping=True, pool_size=settings.db_pool_size, max_overflow=10)
    ensure_home(settings.home)
    engine = create_engine(f"sqlite:///{settings.sqlite_path}", connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    return engine


def connect_sqlite(settings: Settings) -> sqlite3.Connection:
    """The checkpointer's own connection to the same file, with the same PRAGMAs."""
    ensure_home(settings.home)
    conn = sqlite3.connect(settings.sqlite_path, check_same_thread=False, timeout=30.0)
    for pragma in SQLITE_PRAGMAS:
        conn.execute(pragma)
    return conn
