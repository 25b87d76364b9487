"""What operators see of the queue: depth, jobs by status, the oldest waiting job's age and live workers.

Shared by `vetoflow worker --healthcheck`, `GET /healthz?detail=1` and the console footer; the figures
come from procrastinate's own tables (db.queue), so they hold across every API replica and worker.
`workers_here` is the health check's own question: is a worker of this machine alive (db.worker_beats)?
"""

from __future__ import annotations

import socket

from pydantic import BaseModel, Field

from vetoflow.config import Settings


class QueueFigures(BaseModel):
    queue_depth: int = Field(description="Jobs waiting for a worker (procrastinate status 'todo').")
    jobs: dict[str, int] = Field(description="Jobs by procrastinate status: todo, doing, succeeded, failed, ...")
    oldest_queued_seconds: float | None = Field(description="Age of the oldest job waiting; null when none waits.")
    workers_alive: int = Field(description="Workers whose heartbeat is newer than VETOFLOW_WORKER_STALLED_AFTER.")
    schema_applied: bool = True


def queue_figures(settings: Settings) -> QueueFigures | None:
    """None in inline mode; DatabaseUnavailableError when PostgreSQL does not answer."""
    if settings.executor != "queue" or not settings.database_url:
        return None
    from vetoflow.db.queue import queue_health

    health = queue_health(settings.database_url, settings.worker_stalled_after)
    return QueueFigures(
        queue_depth=health.queue_depth,
        jobs=health.jobs,
        oldest_queued_seconds=None
        if health.oldest_waiting_seconds is None
        else round(health.oldest_waiting_seconds, 1),
        workers_alive=health.workers_alive,
        schema_applied=health.schema_applied,
    )


def this_host(settings: Settings) -> str:
    """The name a worker beats under and its health check asks about: VETOFLOW_WORKER_HOST or the hostname."""
    return settings.worker_host or socket.gethostname()[:64]


def workers_here(settings: Settings, name: str | None = None) -> int:
    """Live workers on this machine (named `name`, if given); DatabaseUnavailableError when unreachable."""
    from vetoflow.db.worker_beats import alive_on

    return alive_on(settings, this_host(settings), name)


def footer_line(figures: QueueFigures | None) -> str:
    """One line for the console footer."""
    if figures is None:
        return ""
    oldest = "" if figures.oldest_queued_seconds is None else f" (oldest {figures.oldest_queued_seconds:.0f} s)"
    running = figures.jobs.get("doing", 0)
    failed = figures.jobs.get("failed", 0)
    return (
        f"Queue: {figures.queue_depth} waiting{oldest} · {running} running · {failed} failed · "
        f"{figures.workers_alive} worker(s) alive"
    )
