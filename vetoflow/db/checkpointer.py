"""Durable LangGraph checkpointers: SQLite under VETOFLOW_HOME by default, PostgreSQL when a URL is configured.

Their writes are fenced (vetoflow.fencing): an executor that lost its run's lease cannot checkpoint over
the new holder's work.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from langgraph.checkpoint.base import BaseCheckpointSaver

from vetoflow import fencing
from vetoflow.config import Settings

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool
    from sqlalchemy import Engine


@contextmanager
def open_checkpointer(
    settings: Settings, engine: Engine, pool: ConnectionPool[Any] | None = None
) -> Iterator[BaseCheckpointSaver[str]]:
    """The saver borrows from the process's one pool for the database: on PostgreSQL from `pool`
    (db/pool.py), on SQLite one connection of `engine`'s, held for as long as the saver is open."""
    settings.check_durable_store()
    if settings.database_url:
        assert pool is not None, "PostgreSQL checkpoints borrow from the database's one pool (open_pool)"
        yield fence_writes(_postgres(pool))
        return
    from langgraph.checkpoint.sqlite import SqliteSaver

    lent = engine.raw_connection()  # with the engine's PRAGMAs; SqliteSaver serialises its own use of it
    try:
        assert isinstance(lent.driver_connection, sqlite3.Connection)
        saver = SqliteSaver(lent.driver_connection)
        saver.setup()
        yield fence_writes(saver)
    finally:
        lent.close()  # back to the engine's pool


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
