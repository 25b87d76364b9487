"""Durable LangGraph checkpointers: SQLite under VETOFLOW_HOME by default, PostgreSQL when a URL is configured.

Their writes are fenced (vetoflow.fencing): an executor that lost its run's lease cannot checkpoint over
the new holder's work.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from langgraph.checkpoint.base import BaseCheckpointSaver

from vetoflow import fencing
from vetoflow.config import Settings
from vetoflow.db.engine import connect_sqlite

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool


@contextmanager
def open_checkpointer(
    settings: Settings, pool: ConnectionPool[Any] | None = None
) -> Iterator[BaseCheckpointSaver[str]]:
    """On PostgreSQL the saver borrows from `pool`, the process's one pool for the database (db/pool.py)."""
    settings.check_durable_store()
    if settings.database_url:
        assert pool is not None, "PostgreSQL checkpoints borrow from the database's one pool (open_pool)"
        yield fence_writes(_postgres(pool))
        return
    from langgraph.checkpoint.sqlite import SqliteSaver

    conn = connect_sqlite(settings)
    try:
        saver = SqliteSaver(conn)
        saver.setup()
        yield fence_writes(saver)
    finally:
        conn.close()


def _postgres(pool: ConnectionPool[Any]) -> BaseCheckpointSaver[str]:
    from langgraph.checkpoint.postgres import PostgresSaver

    from vetoflow.db.pool import autocommit

    # The saver's own migrations build indexes CONCURRENTLY, which PostgreSQL refuses inside a transaction;
    # its reads and writes run in the pool's ordinary commit-on-exit blocks.
    with autocommit(pool) as conn:
        PostgresSaver(conn).setup()
    return PostgresSaver(pool)


def fence_writes(saver: BaseCheckpointSaver[str]) -> BaseCheckpointSaver[str]:
    """Check the current execution's fence before each checkpoint write of its run (the thread id)."""
    for name in ("put", "put_writes"):
        setattr(saver, name, _fenced(getattr(saver, name)))
    return saver


def _fenced(write: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(write)  # LangGraph reads put_writes' signature: wraps keeps it
    def fenced_write(config: Any, *args: Any, **kwargs: Any) -> Any:
        fencing.check(config.get("configurable", {}).get("thread_id"))
        return write(config, *args, **kwargs)

    return fenced_write
