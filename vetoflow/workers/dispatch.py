"""Hands runs to the workers: record the run, then defer one job for it (the run id is its lock)."""

from __future__ import annotations

import logging
import uuid

from procrastinate import App
from procrastinate.exceptions import AlreadyEnqueued

from vetoflow.config import Settings
from vetoflow.runs.service import RunService
from vetoflow.scenario import Scenario
from vetoflow.workers.app import EXECUTE_RUN, RunKind, make_app
from vetoflow.workers.schema import ensure_queue_schema

log = logging.getLogger(__name__)


class JobQueue:
    """Defers run jobs from a synchronous process (CLI, console, API replica). Open once per process."""

    def __init__(self, settings: Settings) -> None:
        settings.check_queue()
        assert settings.database_url is not None
        ensure_queue_schema(settings.database_url)
        self.app: App = make_app(settings)
        self.app.open()

    def submit(self, run_id: str, kind: RunKind) -> int | None:
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


def enqueue_start(service: RunService, queue: JobQueue, scenario: Scenario, run_id: str | None = None) -> str:
    """Record a new run as `queued` (with its scenario, which is all a worker needs), then defer it."""
    run_id = run_id or uuid.uuid4().hex[:12]
    service.index.create(run_id, scenario.name, scenario.investment, scenario.model_dump(mode="json"), status="queued")
    queue.submit(run_id, "start")
    return run_id
