"""The procrastinate App: which tasks exist, on which queues, and the periodic jobs every worker schedules.

One App per process, built from Settings. API replicas and the CLI only defer jobs through it; worker
processes also run them. Periodic jobs run once per period across all workers (procrastinate records
each period's job under a unique key), so other features register theirs here (`register_periodic`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from procrastinate import App, BaseRetryStrategy, JobContext, PsycopgConnector, RetryDecision
from procrastinate.exceptions import JobAborted
from procrastinate.jobs import Job

from vetoflow.config import Settings
from vetoflow.db.pool import CHECKOUT_TIMEOUT, RECONNECT_TIMEOUT
from vetoflow.db.queue import EXECUTE_RUN, MAINTENANCE_QUEUE, REPLAY_ITEM, RUNS_QUEUE, libpq_url
from vetoflow.errors import VetoflowError
from vetoflow.workers import reconciling, tasks

RECOVER_STALLED = "vetoflow.recover_stalled"
PRUNE_JOBS = "vetoflow.prune_jobs"
RECOVER_EVERY_SECONDS = 2  # how often some worker looks for jobs a dead worker left behind
RunKind = Literal["start", "decide", "retry", "replay"]
RUN_KINDS: tuple[RunKind, ...] = ("start", "decide", "retry", "replay")
TRANSIENT_RETRIES = 4  # a job whose worker lost the database is tried again, then left failed


@dataclass(frozen=True)
class PeriodicJob:
    """A maintenance job some worker runs once per `cron` period (5 fields, or 6 with seconds last)."""

    name: str
    cron: str
    run: Callable[[Settings], None]


_periodic_jobs: dict[str, PeriodicJob] = {}


def register_periodic(name: str, cron: str, run: Callable[[Settings], None]) -> None:
    """The registration point for periodic work (e.g. the governance sweep): call it at import time."""
    if not name.replace("_", "").replace(".", "").isalnum() or len(name) > 80:
        raise VetoflowError(f"periodic job name {name!r}: letters, digits, '.' and '_' only, 1-80 characters")
    _periodic_jobs[name] = PeriodicJob(name, cron, run)


def periodic_jobs() -> list[PeriodicJob]:
    return list(_periodic_jobs.values())


class RequeueInterrupted(BaseRetryStrategy):
    """A job stopped by a draining worker goes straight back to the queue, however often; a job that failed
    with an error a retry may not meet again (`tasks.TransientJobError`) is tried TRANSIENT_RETRIES times.

    Drains are not failures, so the budget counts the job's failures (db.job_tallies), not procrastinate's
    attempts; only when that count could not be kept (the database failed) do the attempts stand in.
    Running a run's job again is always safe: it resumes the run from its last checkpoint.
    """

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if isinstance(exception, JobAborted):  # only shutdown aborts reach the retry strategy
            return RetryDecision()
        failures = exception.failures if isinstance(exception, tasks.TransientJobError) else job.attempts + 1
        if failures <= TRANSIENT_RETRIES:
            return RetryDecision(retry_in={"seconds": 2 * failures})
        return None


def make_app(settings: Settings, *, pool_size: int = 4) -> App:
    """A fresh App (tests build several in one process); nothing connects until it is opened."""
    settings.check_queue()
    assert settings.database_url is not None
    connector = PsycopgConnector(
        conninfo=libpq_url(settings.database_url),
        min_size=1,
        max_size=pool_size,
        # as the process's own pool: a worker whose database went away stops within seconds and starts again
        # soon after it is back (workers/runner.py), not after psycopg's 30 s waits and 5 min retries
        timeout=CHECKOUT_TIMEOUT,
        reconnect_timeout=RECONNECT_TIMEOUT,
    )
    app = App(connector=connector)
    app.task(name=EXECUTE_RUN, queue=RUNS_QUEUE, pass_context=True, retry=RequeueInterrupted())(tasks.execute_run)
    app.task(name=REPLAY_ITEM, queue=RUNS_QUEUE, pass_context=True, retry=RequeueInterrupted())(tasks.replay_item)
    recover = app.task(
        name=RECOVER_STALLED,
        queue=MAINTENANCE_QUEUE,
        pass_context=True,
        lock=RECOVER_STALLED,  # one sweep at a time, so no job is requeued twice
        queueing_lock=RECOVER_STALLED,
    )(tasks.recover_stalled)
    app.periodic(cron=f"* * * * * */{RECOVER_EVERY_SECONDS}")(recover)
    prune = app.task(name=PRUNE_JOBS, queue=MAINTENANCE_QUEUE, pass_context=True, queueing_lock=PRUNE_JOBS)
    app.periodic(cron="17 * * * *")(prune(tasks.prune_jobs))
    _register_service_periodics(app, settings)
    for job in periodic_jobs():
        lock = f"vetoflow.periodic.{job.name}"
        task = app.task(name=lock, queue=MAINTENANCE_QUEUE, pass_context=True, lock=lock, queueing_lock=lock)(
            _periodic_runner(job)
        )
        app.periodic(cron=job.cron)(task)
    return app


def cron_every(seconds: int) -> str:
    """A cron for "every `seconds`": the seconds field under a minute, then minutes, hours, or daily."""
    if seconds < 60:
        return f"* * * * * */{seconds}"
    if seconds < 3600:
        return f"*/{seconds // 60} * * * *"
    if seconds < 86_400:
        return f"0 */{seconds // 3600} * * *"
    return "30 3 * * *"


def _register_service_periodics(app: App, settings: Settings) -> None:
    """The governance sweep, notification delivery, pruning and the reconciler: each once per period across
    all workers."""
    every = {
        tasks.GOVERNANCE_SWEEP: settings.worker_sweep_every,
        tasks.DELIVER_NOTIFICATIONS: settings.worker_deliver_every,
        tasks.PRUNE_RUNS: settings.worker_prune_every,
    }
    for name, seconds in every.items():
        if seconds > 0:
            task = app.task(name=name, queue=MAINTENANCE_QUEUE, pass_context=True, lock=name, queueing_lock=name)(
                tasks.SERVICE_PERIODICS[name]
            )
            app.periodic(cron=cron_every(seconds))(task)
    if settings.reconcile_every > 0:
        name = reconciling.RECONCILE
        task = app.task(name=name, queue=MAINTENANCE_QUEUE, pass_context=True, lock=name, queueing_lock=name)(
            reconciling.periodic_reconcile
        )
        app.periodic(cron=cron_every(settings.reconcile_every))(task)


def _periodic_runner(job: PeriodicJob) -> Callable[[JobContext, int], None]:
    def run_periodic(context: JobContext, timestamp: int) -> None:
        job.run(context.additional_context["runtime"].settings)

    run_periodic.__name__ = f"periodic_{job.name.replace('.', '_')}"
    return run_periodic
