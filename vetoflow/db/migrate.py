"""Schema migrations (Alembic), applied automatically when a process opens the database.

Opening is cheap when the schema is current: one SELECT of the version row against `HEAD`. Only a
database behind (or new) loads Alembic. Concurrent starters are serialised by `schema_lock` (an
advisory lock on PostgreSQL, a lock file beside the SQLite database) around both LangGraph's
checkpointer setup and these migrations, so two processes never change the schema at once.
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Connection, Engine, inspect, text

from vetoflow.config import Settings
from vetoflow.db.migrations import HEAD, VERSION_TABLE
from vetoflow.errors import DatabaseUnavailableError, database_unreachable
from vetoflow.setting_rules import ensure_home

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
LOCK_KEY = 0x7665746F  # "veto": the advisory-lock key every vetoflow process agrees on


def current_revision(conn: Connection) -> str | None:
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    return conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def upgrade(engine: Engine, target: str = "head") -> str | None:
    """Bring the schema to `target` (hold `schema_lock`); returns the revision before (None: new or release 1)."""
    with engine.begin() as conn:
        before = current_revision(conn)
        if target != "head" or before != HEAD:
            _run(conn, target)
    return before


def _run(conn: Connection, target: str) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    command.upgrade(config, target)


def _poll_for_lock(conn: psycopg.Connection[Any], patience: float = 300.0) -> None:
    """Poll with short statements: a session blocked in pg_advisory_lock holds a snapshot, and LangGraph's
    `CREATE INDEX CONCURRENTLY` in the lock holder would wait for it (a deadlock PostgreSQL reports)."""
    deadline = time.monotonic() + patience
    while conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone() != (True,):
        if time.monotonic() > deadline:
            raise DatabaseUnavailableError("another process has been migrating the database for 5 minutes; retry")
        time.sleep(0.1)


@contextmanager
def schema_lock(settings: Settings) -> Iterator[None]:
    """Held by a process while it sets up or migrates the schema; other processes wait their turn."""
    if settings.database_url:
        try:
            conn = psycopg.connect(settings.database_url, autocommit=True, connect_timeout=10)
        except psycopg.OperationalError as exc:
            raise database_unreachable(exc) from None
        with conn:
            _poll_for_lock(conn)
            try:
                yield
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
        return
    ensure_home(settings.home)
    with open(settings.sqlite_path.with_suffix(".migrate.lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
