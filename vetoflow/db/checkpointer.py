"""Durable LangGraph checkpointers: SQLite under VETOFLOW_HOME by default, PostgreSQL when a URL is configured.

Their writes are fenced (vetoflow.fencing): an executor that lost its run's lease cannot checkpoint over
the new holder's work.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver

from vetoflow import fencing
from vetoflow.config import Settings
from vetoflow.db.engine import connect_sqlite
from vetoflow.errors import database_unreachable


@contextmanager
def open_checkpointer(settings: Settings) -> Iterator[BaseCheckpointSaver[str]]:
    settings.check_durable_store()
    if settings.database_url:
        with _postgres(settings.database_url, settings.db_pool_size) as saver:
            yield fence_writes(saver)
        return
    from langgraph.checkpoint.sqlite import SqliteSaver

    conn = connect_sqlite(settings)
    try:
        saver = SqliteSaver(conn)
        saver.setup()
        yield fence_writes(saver)
    finally:
        conn.close()


@contextmanager
def _postgres(url: str, pool_size: int) -> Iterator[BaseCheckpointSaver[str]]:
    from langgraph.checkpoint.postgres import PostgresSaver
    from psycopg.rows import dict_row
    from psycopg_pool import ConnectionPool

    kwargs = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
    # check_connection drops connections a PostgreSQL restart killed, so the pool heals without a process
    # restart; timeout bounds how long a request waits for a connection while the server is down.
    pool = ConnectionPool(
        url, min_size=1, max_size=pool_size, kwargs=kwargs, open=False, check=ConnectionPool.check_connection, timeout=5
    )
    try:
        pool.open(wait=True, timeout=10)
    except Exception as exc:  # psycopg_pool raises PoolTimeout with the cause chained
        pool.close()
        raise database_unreachable(exc) from None
    try:
        saver = PostgresSaver(pool)  # type: ignore[arg-type]
        saver.setup()
        yield saver
    finally:
        pool.close()


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
