"""The job queue's side of the database: procrastinate's schema (created by migrations) and its figures.

The Alembic revision `0003_queue_events` calls `create_queue_schema` on PostgreSQL (SQLite has no
workers), under the schema lock every opener takes, so concurrent starters never race. A later
procrastinate release that changes its schema needs a new revision applying its migration files.
`queue_health` gives operators jobs by status, the oldest waiting job and the live workers.
"""

from __future__ import annotations

from typing import Any

import psycopg
from procrastinate.schema import SchemaManager
from pydantic import BaseModel

from vetoflow.errors import database_unreachable

# The contract between whoever defers a job and the workers that run it: task names and queues.
EXECUTE_RUN = "vetoflow.execute_run"
REPLAY_ITEM = "vetoflow.replay_item"
RUNS_QUEUE = "runs"  # graph work: runs and replays
MAINTENANCE_QUEUE = "maintenance"  # periodic upkeep: sweeps, deliveries, pruning


def libpq_url(database_url: str) -> str:
    """psycopg wants plain `postgresql://`; SQLAlchemy's driver suffix is not part of a libpq URL."""
    for prefix in ("postgresql+psycopg://", "postgres+psycopg://"):
        if database_url.startswith(prefix):
            return "postgresql://" + database_url[len(prefix) :]
    return database_url


def queue_schema_present(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute("SELECT to_regclass('procrastinate_jobs') IS NOT NULL").fetchone()
    return bool(row and row[0])


def create_queue_schema(conn: psycopg.Connection[Any]) -> bool:
    """Apply procrastinate's schema on this connection (in the caller's transaction) unless it is there."""
    if queue_schema_present(conn):
        return False
    conn.execute(SchemaManager.get_schema())  # procrastinate's own SQL, typed LiteralString
    return True


class QueueHealth(BaseModel):
    schema_applied: bool
    workers_alive: int = 0
    jobs: dict[str, int] = {}
    oldest_waiting_seconds: float | None = None

    @property
    def queue_depth(self) -> int:
        return self.jobs.get("todo", 0)


def queue_health(database_url: str, stalled_after: float) -> QueueHealth:
    """One short connection; DatabaseUnavailableError (database_unreachable) when PostgreSQL cannot be reached."""
    try:
        conn = psycopg.connect(libpq_url(database_url), autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        raise database_unreachable(exc) from None
    with conn:
        if not queue_schema_present(conn):
            return QueueHealth(schema_applied=False)
        return QueueHealth(
            schema_applied=True,
            workers_alive=_scalar(
                conn,
                "SELECT count(*) FROM procrastinate_workers WHERE last_heartbeat >= now() - make_interval(secs => %s)",
                (stalled_after,),
            ),
            jobs={
                str(status): int(count)
                for status, count in conn.execute(
                    "SELECT status::text, count(*) FROM procrastinate_jobs GROUP BY status"
                ).fetchall()
            },
            oldest_waiting_seconds=_scalar(
                conn,
                "SELECT extract(epoch FROM now() - min(e.at)) FROM procrastinate_jobs j "
                "JOIN procrastinate_events e ON e.job_id = j.id AND e.type = 'deferred' "
                "WHERE j.status = 'todo' AND (j.scheduled_at IS NULL OR j.scheduled_at <= now())",
                (),
            ),
        )


def _scalar(conn: psycopg.Connection[Any], query: str, params: tuple[Any, ...]) -> Any:
    row = conn.execute(query, params).fetchone()
    value = row[0] if row else None
    return float(value) if value is not None and not isinstance(value, int) else value
