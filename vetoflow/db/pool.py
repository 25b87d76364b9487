"""The process's one PostgreSQL connection pool per database, lent to SQLAlchemy, LangGraph and procrastinate.

Every borrower takes a plain psycopg connection as psycopg makes it (transactions on, tuple rows, psycopg's
JSON decoding) and sets what it needs per cursor or per block: the checkpointer and procrastinate ask
their cursors for dict rows, and SQLAlchemy runs on it as on its own. SQLAlchemy borrows through
`close_returns`: its NullPool "closes" a connection it is done with, which hands it back here (psycopg's
documented integration). A connection comes back IDLE: SQLAlchemy rolls back on check-in and the pool's
`connection()` block commits or rolls back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from vetoflow.config import Settings
from vetoflow.errors import database_unreachable

NoticeHandler = Callable[[psycopg.errors.Diagnostic], None]

OPEN_TIMEOUT = 10.0  # seconds to reach the server at start: longer than a blip, shorter than a hung deploy
CHECKOUT_TIMEOUT = 5.0  # seconds a request waits for a connection (the server down, the pool exhausted)
# A lost connection is retried with doubling delays (1, 2, 4, 8 s...): left to psycopg's five minutes, the next
# try after a long outage could come well after the server is back, and requests would answer 503 meanwhile.
# Given up after as long as a request waits, the next request that finds no connection starts a fresh try.
RECONNECT_TIMEOUT = CHECKOUT_TIMEOUT


class SharedConnection(psycopg.Connection[Any]):
    """A pooled connection that SQLAlchemy meets as new at every checkout (its NullPool cannot tell), and so
    hands the same notice logger each time: keep one copy, not one more per checkout, for as long as it lives."""

    def add_notice_handler(self, callback: NoticeHandler) -> None:
        handlers: set[NoticeHandler] = self.__dict__.setdefault("_distinct_handlers", set())
        if callback not in handlers:
            handlers.add(callback)
            super().add_notice_handler(callback)


@contextmanager
def open_pool(settings: Settings) -> Iterator[ConnectionPool[SharedConnection]]:
    """The pool for VETOFLOW_DATABASE_URL, sized by VETOFLOW_DB_POOL_SIZE, open and holding one connection.

    Its caller connects first (`check_reachable`, or the schema lock's own connection), so that an unreachable
    server is reported at once with libpq's reason: the pool would retry for OPEN_TIMEOUT and then say only
    that it timed out."""
    assert settings.database_url, "a pool is for PostgreSQL; SQLite has one file and its own connections"
    pool = ConnectionPool(
        settings.database_url,
        connection_class=SharedConnection,
        min_size=1,
        max_size=settings.db_pool_size,
        close_returns=True,
        # check_connection drops connections a PostgreSQL restart killed, so the pool heals without a process
        # restart; timeout bounds how long a request waits for a connection while the server is down.
        check=ConnectionPool.check_connection,
        timeout=CHECKOUT_TIMEOUT,
        reconnect_timeout=RECONNECT_TIMEOUT,
        open=False,
        name="vetoflow",
    )
    try:
        pool.open(wait=True, timeout=OPEN_TIMEOUT)
    except Exception as exc:  # psycopg_pool raises PoolTimeout with the cause chained
        pool.close()
        raise database_unreachable(exc) from None
    try:
        yield pool
    finally:
        pool.close()


def check_reachable(url: str) -> None:
    """Connect once before the pool does, for libpq's own reason at once (wrong password, no such host)."""
    try:
        psycopg.connect(url, connect_timeout=int(OPEN_TIMEOUT)).close()
    except psycopg.OperationalError as exc:
        raise database_unreachable(exc) from None


@contextmanager
def autocommit(pool: ConnectionPool[SharedConnection]) -> Iterator[SharedConnection]:
    """A pooled connection outside any transaction for the block (DDL such as CREATE INDEX CONCURRENTLY),
    returned to the pool as every borrower expects it: autocommit off."""
    with pool.connection() as conn:
        conn.autocommit = True
        try:
            yield conn
        finally:
            if not conn.closed:
                conn.autocommit = False
