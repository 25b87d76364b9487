"""SQLAlchemy engines, configured in one place (URL, the pool, PRAGMAs)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, NullPool, Table, create_engine, event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from vetoflow.config import Settings
from vetoflow.setting_rules import ensure_home

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool

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


def make_engine(settings: Settings, pool: ConnectionPool[Any] | None = None) -> Engine:
    """The engine for vetoflow's tables: on PostgreSQL it borrows from `pool` (db/pool.py), the process's one
    pool for that database, instead of keeping connections of its own; on SQLite it opens the file."""
    if settings.database_url:
        assert pool is not None, "PostgreSQL engines borrow from the database's one pool (open_pool)"
        return create_engine(sqlalchemy_url(settings.database_url), creator=pool.getconn, poolclass=NullPool)
    ensure_home(settings.home)
    # One connection more than the setting: the checkpointer holds one for as long as the database is open.
    engine = create_engine(
        f"sqlite:///{settings.sqlite_path}",
        connect_args={"timeout": 30},
        pool_size=settings.db_pool_size,
        max_overflow=1,
    )

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    return engine


@contextmanager
def open_engine(settings: Settings) -> Iterator[Engine]:
    """An engine of its own, for a one-shot command that needs vetoflow's tables and nothing else (`vetoflow
    runs`, `db upgrade`, a worker health check); disposed, with its pool, when the block ends."""
    from vetoflow.db.pool import check_reachable, open_pool

    with ExitStack() as stack:
        pool = None
        if settings.database_url:
            check_reachable(settings.database_url)
            pool = stack.enter_context(open_pool(settings))
        engine = make_engine(settings, pool)
        stack.callback(engine.dispose)
        yield engine
