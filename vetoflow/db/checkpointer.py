"""Durable LangGraph checkpointers: SQLite under VETOFLOW_HOME by default, PostgreSQL when a URL is configured."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from langgraph.checkpoint.base import BaseCheckpointSaver

from vetoflow.config import Settings
from vetoflow.db.engine import connect_sqlite
from vetoflow.errors import database_unreachable


@contextmanager
def open_checkpointer(settings: Settings) -> Iterator[BaseCheckpointSaver[str]]:
    settings.check_durable_store()
    if settings.database_url:
        with _postgres(settings.database_url, settings.db_pool_size) as saver:
            yield saver
        return
    from langgraph.checkpoint.sqlite import SqliteSaver

    conn = connect_sqlite(settings)
    try:
        saver = SqliteSaver(conn)
        saver.setup()
        yield saver
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
