"""Hands runs to the workers: one `execute_run` job per request, with the run id as its lock.

Jobs are deferred by task name and queue (db/queue.py), on an App with no tasks registered: a process
that only hands work over (CLI, console, API) never imports the workers' code.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from procrastinate import App, PsycopgConnector
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.jobs import JobDeferrer
from procrastinate.types import JSONValue
from psycopg_pool import ConnectionPool

from vetoflow.config import Settings
from vetoflow.db.queue import EXECUTE_RUN, REPLAY_ITEM, RUNS_QUEUE

log = logging.getLogger(__name__)
DEFER_CHUNK = 500  # jobs per INSERT when a batch is deferred
LIVE_RUNS = """
SELECT j.args->>'run_id' FROM procrastinate_jobs j
 WHERE j.status IN ('todo', 'doing') AND j.task_name = %(run)s AND j.args->>'run_id' = ANY(%(ids)s)
UNION
SELECT i.replay_run_id FROM procrastinate_jobs j
  JOIN vetoflow_replay_batch_items i
    ON i.batch_id = j.args->>'batch_id' AND i.source_run_id = j.args->>'source_run_id'
 WHERE j.status IN ('todo', 'doing') AND j.task_name = %(item)s AND i.replay_run_id = ANY(%(ids)s)
"""


class JobQueue:
    """Defers run jobs from a synchronous process (CLI, console, API replica); RunService's dispatcher."""

    def __init__(self, pool: ConnectionPool[Any]) -> None:
        """`pool`: the process's one pool for the database (its `Database.pool`); jobs are deferred on it."""
        self.pool = pool
        self.app = App(connector=PsycopgConnector())
        self.app.open(pool)  # procrastinate borrows the pool it is given and leaves closing it to its owner

    def submit(self, run_id: str, kind: str) -> int | None:
        """Defer `execute_run`; None when a job for this run already waits (it will do the same work).

        `lock=run_id`: jobs of one run execute one at a time, in order, on whichever worker is free.
        `queueing_lock=run_id`: at most one of them waits, since each carries the run as far as it goes.
        """
        deferrer = self.app.configure_task(EXECUTE_RUN, queue=RUNS_QUEUE, lock=run_id, queueing_lock=run_id)
        try:
            return deferrer.defer(run_id=run_id, kind=kind)
        except AlreadyEnqueued:
            log.info("run %s already has a job waiting; not queueing another %s", run_id, kind)
            return None

    def submit_replay(self, batch_id: str, source_run_id: str) -> int | None:
        """Defer one source run of a queued batch; None when its job already waits (a re-run of the batch)."""
        try:
            return self._replay_deferrer(batch_id, source_run_id).defer(**_replay_kwargs(batch_id, source_run_id))
        except AlreadyEnqueued:
            return None

    def submit_replays(self, batch_id: str, source_run_ids: Sequence[str]) -> int:
        """Defer one job per source run, DEFER_CHUNK to a statement; returns how many were deferred.

        One INSERT per chunk instead of one round trip per run: a 1,000-run batch is on the queue at once,
        so the workers are saturated from the first second. A chunk that meets a job still waiting (the
        batch command run again) falls back to one defer per run, skipping those already queued.
        """
        deferred = 0
        for start in range(0, len(source_run_ids), DEFER_CHUNK):
            chunk = source_run_ids[start : start + DEFER_CHUNK]
            jobs = [
                self._replay_deferrer(batch_id, source).make_new_job(**_replay_kwargs(batch_id, source))
                for source in chunk
            ]
            try:
                deferred += len(self.app.job_manager.batch_defer_jobs(jobs))
            except AlreadyEnqueued:
                deferred += sum(self.submit_replay(batch_id, source) is not None for source in chunk)
        return deferred

    def _replay_deferrer(self, batch_id: str, source_run_id: str) -> JobDeferrer:
        key = f"replay:{batch_id}:{source_run_id}"
        return self.app.configure_task(REPLAY_ITEM, queue=RUNS_QUEUE, lock=key, queueing_lock=key)

    def live_runs(self, run_ids: Sequence[str]) -> set[str]:
        """Which of these runs a waiting or running job will carry on: its own job, or its batch item's."""
        if not run_ids:
            return set()
        with self.pool.connection() as conn:
            rows = conn.execute(LIVE_RUNS, {"ids": list(run_ids), "run": EXECUTE_RUN, "item": REPLAY_ITEM})
            return {str(run_id) for (run_id,) in rows.fetchall()}

    def close(self) -> None:
        self.app.close()


def _replay_kwargs(batch_id: str, source_run_id: str) -> dict[str, JSONValue]:
    return {"batch_id": batch_id, "source_run_id": source_run_id}


@contextmanager
def open_queue(settings: Settings, service: object | None = None) -> Iterator[JobQueue]:
    """The service's own queue in queue mode, else one opened (and closed) for this command."""
    dispatcher = getattr(service, "dispatcher", None)
    if isinstance(dispatcher, JobQueue):
        yield dispatcher
        return
    from vetoflow.db import open_database

    settings.check_queue()
    with open_database(settings) as database:  # the process's own, when a service already opened it
        assert database.pool is not None  # check_queue: queue mode is PostgreSQL only
        queue = JobQueue(database.pool)
        try:
            yield queue
        finally:
            queue.close()
