"""Queue figures for operators: jobs by status, oldest waiting job, live workers (healthcheck, /healthz)."""

from __future__ import annotations

from typing import Any

import psycopg
from pydantic import BaseModel

from vetoflow.workers.schema import libpq_url, queue_schema_present


class QueueHealth(BaseModel):
    schema_applied: bool
    workers_alive: int = 0
    jobs: dict[str, int] = {}
    oldest_waiting_seconds: float | None = None

    @property
    def queue_depth(self) -> int:
        return self.jobs.get("todo", 0)


def queue_health(database_url: str, stalled_after: float) -> QueueHealth:
    """One short connection; raises psycopg.OperationalError when PostgreSQL cannot be reached."""
    with psycopg.connect(libpq_url(database_url), autocommit=True, connect_timeout=5) as conn:
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
