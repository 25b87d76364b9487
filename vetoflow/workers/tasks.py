"""What a worker does with a job: carry one run forward, or requeue jobs that dead workers left behind."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from procrastinate import App, JobContext
from procrastinate.exceptions import JobAborted
from procrastinate.jobs import Status

from vetoflow.config import Settings
from vetoflow.db.job_tallies import JobTallies
from vetoflow.db.queue import MAINTENANCE_QUEUE, RUNS_QUEUE
from vetoflow.errors import RunBusyError, VetoflowError
from vetoflow.replay.report import BatchOptions
from vetoflow.runs.queueing import HandBack
from vetoflow.runs.service import RunService
from vetoflow.runs.views import RunView

log = logging.getLogger(__name__)
MAX_WORKER_DEATHS = 5  # a run that takes its worker down this often is failed, not retried forever


@dataclass(frozen=True)
class WorkerRuntime:
    """What every job in a worker process shares: one compiled graph, one pool, the settings."""

    settings: Settings
    service: RunService
    by_model: dict[str, RunService] = field(default_factory=dict)  # batch replays with --llm-model
    batch_options: dict[str, BatchOptions] = field(default_factory=dict)  # a batch's id is its options' hash
    worker_ids: set[int] = field(default_factory=set)  # procrastinate's ids for this process since it last lost them

    def took(self, context: JobContext) -> None:
        """Note the procrastinate worker this job runs under, to find its jobs again if the database goes away."""
        if context.job.worker_id is not None:
            self.worker_ids.add(context.job.worker_id)

    @property
    def tallies(self) -> JobTallies:
        return JobTallies(self.service.database.engine)

    def options_of(self, batch_id: str) -> BatchOptions:
        """A batch's options, read once per worker process: they never change (they name the batch)."""
        from vetoflow.replay.queued import batch_options

        if batch_id not in self.batch_options:
            self.batch_options[batch_id] = batch_options(self.service, batch_id)
        return self.batch_options[batch_id]

    def service_for_model(self, llm_model: str | None) -> RunService:
        if llm_model is None:
            return self.service
        if llm_model not in self.by_model:
            from vetoflow.runtime import make_context

            self.by_model[llm_model] = self.service.with_context(make_context(self.settings, llm_model=llm_model))
        return self.by_model[llm_model]


class Drained(HandBack):
    """The worker is shutting down: the service stops the run between two nodes and hands it back."""


class TransientJobError(Exception):
    """An error a retry may not meet again (the database lost, a run busy elsewhere) escaped a job, for the
    `failures`-th time: the retry strategy's budget counts these, not drains or deaths (db.job_tallies)."""

    def __init__(self, failures: int, error: BaseException) -> None:
        super().__init__(f"{type(error).__name__}: {error} (failure {failures} of this job)")
        self.failures = failures


def counted(context: JobContext, error: Exception) -> Exception:
    """`error` as a TransientJobError with this job's count; as it is if the count cannot be kept (the
    database is what failed), and the strategy then falls back on procrastinate's attempts."""
    runtime: WorkerRuntime = context.additional_context["runtime"]
    try:
        failures = runtime.tallies.count_failure(context.job.id or 0)
    except Exception as exc:  # whatever broke the job may break this too
        log.warning("job %s: its failure could not be counted: %s", context.job.id, exc)
        return error
    return TransientJobError(failures, error)


def execute_run(context: JobContext, run_id: str, kind: str) -> None:
    """Resume the run from its last checkpoint until it pauses, ends or fails; idempotent."""
    runtime: WorkerRuntime = context.additional_context["runtime"]

    def on_step(node: str, _update: dict[str, Any]) -> None:
        if context.should_abort():
            raise Drained(f"worker stopping after {node}")

    log.info("job %s: %s run %s", context.job.id, kind, run_id)
    runtime.took(context)
    try:
        view = _resume_when_free(runtime, context, run_id, on_step)
    except Drained as drained:  # the service has queued the run again and freed its lease
        log.info("run %s handed back to the queue: %s", run_id, drained)
        raise JobAborted(f"worker stopping; run {run_id} requeued") from None
    except VetoflowError as exc:  # unknown run, nothing stored: retrying cannot help
        log.warning("job %s: run %s: %s", context.job.id, run_id, exc)
        return
    except Exception as exc:  # tried again (RequeueInterrupted), within its own budget
        raise counted(context, exc) from exc
    log.info("run %s is %s", run_id, view.status)


def _resume_when_free(runtime: WorkerRuntime, context: JobContext, run_id: str, on_step: Any) -> RunView:
    """A run whose previous executor died keeps its lease until it lapses: wait that long, then take over.

    Another executor with a live lease (a worker's job is locked per run, but a CLI retry is not) keeps
    the run; after twice the lease time the job leaves it to them.
    """
    deadline = time.monotonic() + 2 * runtime.service.leases.ttl
    while True:
        try:
            return runtime.service.resume_pending(run_id, on_step=on_step)
        except RunBusyError:
            if context.should_abort() or time.monotonic() > deadline:
                raise
            time.sleep(min(1.0, runtime.service.leases.ttl / 4))


def replay_item(context: JobContext, batch_id: str, source_run_id: str) -> None:
    """One source run of a queued batch replay (replay.queued): replayed once, or its replay resumed."""
    from vetoflow.replay.queued import replay_item as replay_one

    runtime: WorkerRuntime = context.additional_context["runtime"]
    runtime.took(context)
    options = runtime.options_of(batch_id)
    service = runtime.service_for_model(options.llm_model)

    def on_step(node: str, _update: dict[str, Any]) -> None:
        if context.should_abort():
            raise Drained(f"worker stopping after {node}")

    deadline = time.monotonic() + 2 * service.leases.ttl  # a dead worker's lease on the replay lapses first

    def when_busy(busy: RunBusyError) -> None:
        if context.should_abort() or time.monotonic() > deadline:
            raise busy
        time.sleep(min(1.0, service.leases.ttl / 4))

    try:
        row = replay_one(service, batch_id, source_run_id, on_step, options=options, when_busy=when_busy)
    except Drained as drained:  # the service has queued the replay again and freed its lease
        log.info("batch %s: replay of %s handed back to the queue: %s", batch_id, source_run_id, drained)
        raise JobAborted(f"worker stopping; replay of {source_run_id} requeued") from None
    except Exception as exc:  # a run busy past the deadline, the database lost: tried again later
        raise counted(context, exc) from exc
    log.info("batch %s: %s -> %s", batch_id, source_run_id, row.status)


async def recover_stalled(context: JobContext, timestamp: int) -> None:
    """Jobs still 'doing' on a worker whose heartbeat stopped go back to the queue (or fail, if cursed).

    Deaths are counted per job (db.job_tallies), not by procrastinate's attempts, which drains and
    transient retries raise too. One sweep runs at a time (its lock), so reading then counting is safe.
    """
    runtime: WorkerRuntime = context.additional_context["runtime"]
    manager, tallies = context.app.job_manager, runtime.tallies
    stalled = await manager.get_stalled_jobs(seconds_since_heartbeat=runtime.settings.worker_stalled_after)
    for job in stalled:
        if job.id == context.job.id or job.id is None:
            continue
        run_id = job.task_kwargs.get("run_id")
        try:
            deaths = await asyncio.to_thread(tallies.crashes, job.id) + 1
            if deaths >= MAX_WORKER_DEATHS:
                await manager.finish_job(job=job, status=Status.FAILED, delete_job=False)
                await asyncio.to_thread(tallies.count_crash, job.id)
                if isinstance(run_id, str):
                    error = f"WorkerLost: the worker running this run died {deaths} times"
                    await asyncio.to_thread(runtime.service.abandon, run_id, error)
                continue
            await manager.retry_job(job)
            await asyncio.to_thread(tallies.count_crash, job.id)
            if isinstance(run_id, str):
                await asyncio.to_thread(runtime.service.requeued, run_id, "its worker stopped sending heartbeats")
            log.warning("requeued job %s (%s) left by a dead worker (death %s)", job.id, job.task_name, deaths)
        except Exception as exc:  # another state change won the race; the next sweep looks again
            log.warning("could not requeue stalled job %s: %s", job.id, exc)


async def hand_back_cut_off(app: App, runtime: WorkerRuntime) -> None:
    """Jobs this process was running when its database went away are still 'doing' under the procrastinate
    worker that stopped: back to the queue as a drain puts them, not counted as a death (nobody died)."""
    manager = app.job_manager
    for worker_id in sorted(runtime.worker_ids):
        for job in await manager.list_jobs_async(status="doing", worker_id=worker_id):
            try:
                await manager.retry_job(job)
            except Exception as exc:  # another worker's sweep requeued it meanwhile
                log.warning("could not requeue job %s after the outage: %s", job.id, exc)
                continue
            run_id = job.task_kwargs.get("run_id")
            if isinstance(run_id, str):
                await asyncio.to_thread(runtime.service.requeued, run_id, "its worker lost the database")
            log.warning("requeued job %s (%s) its worker ran when the database went away", job.id, job.task_name)
    runtime.worker_ids.clear()


async def prune_jobs(context: JobContext, timestamp: int) -> None:
    """Finished jobs are history the run index already holds: keep a day of run jobs, an hour of sweeps."""
    manager = context.app.job_manager
    await manager.delete_old_jobs(nb_hours=24, queue=RUNS_QUEUE)
    await manager.delete_old_jobs(nb_hours=1, queue=MAINTENANCE_QUEUE)
    await asyncio.to_thread(context.additional_context["runtime"].tallies.forget_pruned)


GOVERNANCE_SWEEP = "vetoflow.governance_sweep"
DELIVER_NOTIFICATIONS = "vetoflow.deliver_notifications"
PRUNE_RUNS = "vetoflow.prune_runs"


def governance_sweep(context: JobContext, timestamp: int) -> None:
    """Reminders, escalations and expiries that are due (RunService.sweep); expired runs end rejected."""
    service: RunService = context.additional_context["runtime"].service
    if service.gate is not None:
        report = service.sweep()
        log.info("periodic %s for %s: %s", GOVERNANCE_SWEEP, timestamp, report)


def deliver_notifications(context: JobContext, timestamp: int) -> None:
    """Every notification due now (RunService.deliver_notifications); failures stay in the outbox."""
    service: RunService = context.additional_context["runtime"].service
    if service.gate is not None:
        report = service.deliver_notifications()
        log.info("periodic %s for %s: %s", DELIVER_NOTIFICATIONS, timestamp, report)


def prune_runs(context: JobContext, timestamp: int) -> None:
    """`vetoflow prune` with VETOFLOW_RETENTION_DAYS: finished runs shrunk to what trace and audit need."""
    runtime: WorkerRuntime = context.additional_context["runtime"]
    report = runtime.service.prune(timedelta(days=runtime.settings.retention_days))
    log.info("periodic %s for %s: %s", PRUNE_RUNS, timestamp, report)


SERVICE_PERIODICS = {
    GOVERNANCE_SWEEP: governance_sweep,
    DELIVER_NOTIFICATIONS: deliver_notifications,
    PRUNE_RUNS: prune_runs,
}
