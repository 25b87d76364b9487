"""Hands runs to the workers: one `execute_run` job per request, with the run id as its lock."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from procrastinate import App
from procrastinate.exceptions import AlreadyEnqueued

from vetoflow.config import Settings
from vetoflow.workers.app import EXECUTE_RUN, REPLAY_ITEM, make_app

log = logging.getLogger(__name__)


class JobQueue:
    """Defers run jobs from a synchronous process (CLI, console, API replica); RunService's dispatcher."""

    def __init__(self, settings: Settings) -> None:
        self.app: App = make_app(settings)
        self.app.open()

    def submit(self, run_id: str, kind: str) -> int | None:
        """Defer `execute_run`; None when a job for this run already waits (it will do the same work).

        `lock=run_id`: jobs of one run execute one at a time, in order, on whichever worker is free.
        `queueing_lock=run_id`: at most one of them waits, since each carries the run as far as it goes.
        """
        deferrer = self.app.configure_task(EXECUTE_RUN, lock=run_id, queueing_lock=run_id)
        try:
            return deferrer.defer(run_id=run_id, kind=kind)
        except AlreadyEnqueued:
            log.info("run %s already has a job waiting; not queueing another %s", run_id, kind)
            return None

    def submit_replay(self, batch_id: str, source_run_id: str) -> int | None:
        """Defer one source run of a queued batch; None when its job already waits (a re-run of the batch)."""
        key = f"replay:{batch_id}:{source_run_id}"
        deferrer = self.app.configure_task(REPLAY_ITEM, lock=key, queueing_lock=key)
        try:
            return deferrer.defer(batch_id=batch_id, source_run_id=source_run_id)
        except AlreadyEnqueued:
            return None

    def close(self) -> None:
        self.app.close()


@contextmanager
def open_queue(settings: Settings, service: object | None = None) -> Iterator[JobQueue]:
    """The service's own queue in queue mode, else one opened (and closed) for this command."""
    dispatcher = getattr(service, "dispatcher", None)
    if isinstance(dispatcher, JobQueue):
        yield dispatcher
        return
    queue = JobQueue(settings)
    try:
        yield queue
    finally:
        queue.close()
