"""Batch replays on the job queue: record the batch, defer one job per source run, report from the database.

Any number of `vetoflow worker` processes drain a batch, with no fixed shards. The same command resumes
the newest batch of its selection and options; `again` starts a fresh one (after a prompt, knowledge or
model change), which the same command then resumes. Each source run's replay
id is fixed when the batch records it (runs.batches), and its jobs share one lock, so a job that runs
twice (its worker died, the command was run again) resumes that replay instead of forking another.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field

from vetoflow.clock import utcnow
from vetoflow.errors import RunBusyError, RunNotFoundError
from vetoflow.replay.batch import BatchSummary, _row, summarize
from vetoflow.replay.report import BatchOptions, Report, ReportRow
from vetoflow.runs.batches import PENDING, RETRYABLE, BatchRecord, batch_id_for
from vetoflow.runs.execution import StepCallback
from vetoflow.runs.fork import NotReachedError
from vetoflow.runs.service import RunService


class Selection(BaseModel):
    """What the command selected: the same selection and options name the same batch."""

    all_runs: bool = False
    statuses: list[str] = Field(default_factory=list)
    since: datetime | None = None
    ids: list[str] | None = None


class Enqueued(BaseModel):
    batch_id: str
    selected: int
    deferred: int
    already_done: int
    previous_batch_id: str | None = Field(default=None, description="The batch `again` started over from.")


class BatchStatus(BaseModel):
    batch: BatchRecord
    pending: int
    summary: BatchSummary

    @property
    def finished(self) -> bool:
        return self.pending == 0


def enqueue_batch(
    service: RunService,
    submit: Callable[[str, Sequence[str]], int],
    options: BatchOptions,
    selection: Selection,
    sources: Sequence[str],
    *,
    again: bool = False,
) -> Enqueued:
    """Record the batch (or find the newest one again) and defer a job for every run not replayed yet.

    `again`: a fresh batch of the same selection and options, replaying every run once more.
    """
    chosen, identity = selection.model_dump(mode="json"), options.identity()
    newest = service.batches.newest_generation(chosen, identity)
    generation = newest + 1 if again and newest >= 0 else max(newest, 0)
    previous = batch_id_for(chosen, identity, newest) if generation > newest >= 0 else None
    batch_id = batch_id_for(chosen, identity, generation)
    service.batches.record(batch_id, chosen, options.model_dump(mode="json"), sources)
    todo = service.batches.retryable(batch_id)
    deferred = submit(batch_id, todo)
    total = service.batches.get(batch_id).selected
    return Enqueued(
        batch_id=batch_id, selected=total, deferred=deferred, already_done=total - len(todo), previous_batch_id=previous
    )


def batch_options(service: RunService, batch_id: str) -> BatchOptions:
    """The options a batch was recorded with (they name it: its id is their hash)."""
    return BatchOptions.model_validate(service.batches.get(batch_id).options)


def replay_item(
    service: RunService,
    batch_id: str,
    source_run_id: str,
    on_step: StepCallback | None = None,
    *,
    options: BatchOptions | None = None,
    when_busy: Callable[[RunBusyError], None] | None = None,
) -> ReportRow:
    """What a worker does for one job: replay the source run once, or resume its replay; never forks twice.

    `options`: the batch's, when the caller has read them already. A failed replay is retried from its
    own checkpoint. RunBusyError (a dead worker's lease has not lapsed yet) goes to `when_busy`, which
    waits (the replay is then tried again in this job, whose item counts one attempt however long it
    waits) or raises it to give up; it propagates, so the job is tried again later. Every other failure
    is a report row.
    """
    item = service.batches.take(batch_id, source_run_id)  # once per job: `attempts` counts jobs
    if item.status not in RETRYABLE and item.result is not None:
        return ReportRow.model_validate(item.result)
    options = options or batch_options(service, batch_id)
    start = time.perf_counter()

    def attempt(first: bool) -> ReportRow:
        return _replay_or_resume(
            service, source_run_id, item.replay_run_id, options, on_step=on_step, start=start, first=first
        )

    try:
        row = _until_free(attempt, item.attempts == 1, when_busy)  # first taker: its replay cannot exist yet
    except RunBusyError:
        raise
    except NotReachedError as exc:
        row = ReportRow(source_run_id=source_run_id, status="skipped", error=str(exc), finished_at=utcnow())
    except Exception as exc:  # one bad run is a failed row; re-running the batch retries it
        row = ReportRow(
            source_run_id=source_run_id,
            status="failed",
            error=f"{type(exc).__name__}: {exc}",
            seconds=round(time.perf_counter() - start, 4),
            finished_at=utcnow(),
        )
    service.batches.finish(batch_id, source_run_id, row.status, row.model_dump(mode="json"))
    return row


def _until_free(
    attempt: Callable[[bool], ReportRow], first: bool, when_busy: Callable[[RunBusyError], None] | None
) -> ReportRow:
    while True:
        try:
            return attempt(first)
        except RunBusyError as busy:
            if when_busy is None:
                raise
            when_busy(busy)  # waited: try again, now looking for a replay forked meanwhile
            first = False


def _replay_or_resume(
    service: RunService,
    source_run_id: str,
    replay_run_id: str,
    options: BatchOptions,
    *,
    on_step: StepCallback | None,
    start: float,
    first: bool,
) -> ReportRow:
    existing = None
    if not first:  # a job that took the item first forks its replay after taking it: look for that one
        with contextlib.suppress(RunNotFoundError):
            existing = service.row(replay_run_id)
    if existing is None:
        replayed = service.replay(
            source_run_id,
            from_node=options.from_node,
            overrides=options.overrides,
            llm_model=options.llm_model,
            on_step=on_step,
            replay_run_id=replay_run_id,
            requester=options.requester,
            via="batch",
        )
        return _row(replayed.old, replayed.new, time.perf_counter() - start)
    if existing.status == "failed":
        new = service.retry(replay_run_id, on_step)
    else:  # forked earlier by a job that did not finish: carry it on (a no-op when it has settled)
        new = service.resume_pending(replay_run_id, on_step)
    return _row(service.view(source_run_id), new, time.perf_counter() - start)


def batch_report(service: RunService, batch_id: str) -> tuple[BatchStatus, Report]:
    """The batch as it stands now, from the database alone: any machine, at any time.

    `replayed` counts the runs the workers have finished, `already_done` is 0 (nothing was resumed from
    an earlier report here) and the wall time runs from the first replay's start to the last one's end.
    """
    batch = service.batches.get(batch_id)
    report = Report(options=BatchOptions.model_validate(batch.options))
    pending = 0
    for item in service.batches.items(batch_id):
        if item.status == PENDING or item.result is None:
            pending += 1
            continue
        report.rows[item.source_run_id] = ReportRow.model_validate(item.result)
    sources = list(report.rows)
    summary = summarize(report, sources, already_done=0, replayed=len(sources))
    summary.selected = batch.selected
    summary.wall_s = wall_seconds(list(report.rows.values()))
    return BatchStatus(batch=batch, pending=pending, summary=summary), report


def wall_seconds(rows: Sequence[ReportRow]) -> float:
    """From the first replay's start (its finish less its duration) to the last one's finish."""
    timed = [row for row in rows if row.finished_at is not None]
    if not timed:
        return 0.0
    first = min(row.finished_at - timedelta(seconds=row.seconds) for row in timed if row.finished_at)
    last = max(row.finished_at for row in timed if row.finished_at)
    return round((last - first).total_seconds(), 3)


def as_json(status: BatchStatus) -> dict[str, Any]:
    return {
        "batch_id": status.batch.batch_id,
        "created_at": status.batch.created_at.isoformat(),
        "selection": status.batch.selection,
        "options": status.batch.options,
        "selected": status.batch.selected,
        "pending": status.pending,
        "finished": status.finished,
        "summary": status.summary.model_dump(mode="json"),
    }
