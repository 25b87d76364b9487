"""Hands runs to the workers: one `execute_run` job per request, with the run id as its lock."""

from __future__ import annotations

import logging

from procrastinate import App
from procrastinate.exceptions import AlreadyEnqueued

from vetoflow.config import Settings
from vetoflow.workers.app import EXECUTE_RUN, make_app

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

    def close(self) -> None:
        self.app.close()
