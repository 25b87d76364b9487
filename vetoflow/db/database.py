"""One `Database` per process per database: its one pool, the engine (vetoflow's tables) and the
checkpointer, shared. On PostgreSQL the engine, the checkpointer and the job queue all borrow from that pool.

Every front end in a process (the API, the console mounted beside it, a batch replay's threads) opens
the same database through `open_database`; the first opener connects and migrates, the last one closes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from psycopg_pool import ConnectionPool
from sqlalchemy import Engine

from vetoflow.config import Settings
from vetoflow.db.checkpointer import open_checkpointer
from vetoflow.db.engine import make_engine
from vetoflow.db.migrate import schema_lock, upgrade
from vetoflow.db.pool import open_pool


@dataclass
class Database:
    engine: Engine
    checkpointer: BaseCheckpointSaver[str]
    backend: str
    pool: ConnectionPool[Any] | None  # PostgreSQL's; None on SQLite
    migrated_from: str | None  # the schema revision found when this process opened it (None: new or release 1)
    _stack: ExitStack = field(repr=False)
    _users: int = 0


_open: dict[str, Database] = {}
_lock = threading.Lock()


def _key(settings: Settings) -> str:
    return settings.database_url or f"sqlite:{settings.sqlite_path.resolve()}"


@contextmanager
def open_database(settings: Settings) -> Iterator[Database]:
    """The process's Database for `settings`, migrated to the newest schema; closed with its last user."""
    key = _key(settings)
    with _lock:
        database = _open.get(key)
        if database is None:
            database = _connect(settings)
            _open[key] = database
        database._users += 1
    try:
        yield database
    finally:
        with _lock:
            database._users -= 1
            if database._users == 0:
                del _open[key]
                database._stack.close()


def _connect(settings: Settings) -> Database:
    settings.check_durable_store()  # before anything is created, e.g. SQLite's folder on Lambda
    stack = ExitStack()
    try:
        with schema_lock(settings):  # its connection reports an unreachable server first (see open_pool)
            pool = stack.enter_context(open_pool(settings)) if settings.database_url else None
            engine = make_engine(settings, pool)
            stack.callback(engine.dispose)
            checkpointer = stack.enter_context(open_checkpointer(settings, engine, pool))
            before = upgrade(engine)
    except BaseException:
        stack.close()
        raise
    return Database(
        engine=engine,
        checkpointer=checkpointer,
        backend=settings.backend_name,
        pool=pool,
        migrated_from=before,
        _stack=stack,
    )
