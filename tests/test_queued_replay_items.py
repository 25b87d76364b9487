"""The job a worker runs for one run of a queued batch replay, called in-process as the worker calls it:
taken once per job (however long it waits for a busy replay), forked once whatever happens, a settled item
answered from the database."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta

from procrastinate import App
from procrastinate.job_context import JobContext
from procrastinate.jobs import Job
from procrastinate.testing import InMemoryConnector

from vetoflow.clock import utcnow
from vetoflow.config import Settings
from vetoflow.replay.queued import Enqueued, Selection, batch_report, enqueue_batch, replay_item
from vetoflow.replay.report import BatchOptions
from vetoflow.runs.service import RunService
from vetoflow.scenario import Scenario
from vetoflow.workers import tasks
from vetoflow.workers.tasks import WorkerRuntime

OPTIONS = BatchOptions(from_node="synthesizer")


def enqueue(service: RunService, sources: Sequence[str], *, again: bool = False) -> Enqueued:
    def submit(_batch_id: str, todo: Sequence[str]) -> int:
        return len(todo)  # the queue would hold one job per run; the test runs them itself

    return enqueue_batch(service, submit, OPTIONS, Selection(ids=list(sources)), sources, again=again)


def record(service: RunService, sources: Sequence[str]) -> str:
    batch = enqueue(service, sources)
    assert batch.deferred == len(sources)
    return batch.batch_id


def test_a_repeated_job_answers_from_the_settled_item_without_forking_or_counting_again(
    service: RunService, profitable: Scenario
) -> None:
    source = service.start(profitable).run.run_id
    batch_id = record(service, [source])
    first = replay_item(service, batch_id, source)
    assert first.status == "completed"
    again = replay_item(service, batch_id, source)
    assert again == first
    item = service.batches.item(batch_id, source)
    assert (item.status, item.attempts) == ("completed", 1)
    assert [fork.replay_run_id for fork in service.lineage.replays_of(source)] == [item.replay_run_id]


def test_a_job_after_one_that_died_between_fork_and_report_carries_that_replay_on(
    service: RunService, profitable: Scenario
) -> None:
    source = service.start(profitable).run.run_id
    batch_id = record(service, [source])
    taken = service.batches.take(batch_id, source)  # the first job took it and forked, then died
    assert taken.attempts == 1
    service.replay(source, from_node="synthesizer", replay_run_id=taken.replay_run_id)

    row = replay_item(service, batch_id, source)
    assert (row.status, row.replay_run_id) == ("completed", taken.replay_run_id)
    item = service.batches.item(batch_id, source)
    assert (item.status, item.attempts) == ("completed", 2)
    assert len(service.lineage.replays_of(source)) == 1, "forked once"


def test_a_job_waiting_out_a_dead_workers_lease_on_its_replay_counts_one_attempt(
    settings: Settings, service: RunService, profitable: Scenario
) -> None:
    source = service.start(profitable).run.run_id
    batch_id = record(service, [source])
    taken = service.batches.take(batch_id, source)  # the first job took it and forked, then its worker died
    service.replay(source, from_node="synthesizer", replay_run_id=taken.replay_run_id)
    lapses = utcnow() + timedelta(seconds=2.5)  # the dead worker's lease on the replay, a few polls from lapsing
    service.index.update(taken.replay_run_id, lease_owner="dead-worker", lease_expires_at=lapses)
    job = Job(id=7, queue="runs", lock=taken.replay_run_id, queueing_lock=None, task_name="vetoflow.replay_item",
              task_kwargs={"batch_id": batch_id, "source_run_id": source})  # fmt: skip
    context = JobContext(
        app=App(connector=InMemoryConnector()),  # not used by the task: it never defers
        job=job,
        start_timestamp=time.time(),
        additional_context={"runtime": WorkerRuntime(settings, service)},
        abort_reason=lambda: None,
    )
    tasks.replay_item(context, batch_id, source)  # the worker's task, polling while the lease is live
    item = service.batches.item(batch_id, source)
    assert (item.status, item.attempts) == ("completed", 2)  # the dead job's and this one's, not one per poll


def test_a_finished_batch_is_resumed_by_the_same_command_and_replayed_afresh_with_again(
    service: RunService, profitable: Scenario
) -> None:
    sources = [service.start(profitable.model_copy(update={"name": f"src-{i}"})).run.run_id for i in range(2)]
    first = record(service, sources)
    rows = [replay_item(service, first, source) for source in sources]
    status, _ = batch_report(service, first)
    summary = status.summary
    assert (status.pending, summary.replayed, summary.already_done, summary.by_status) == (0, 2, 0, {"completed": 2})
    assert summary.wall_s >= max(row.seconds for row in rows) > 0  # first start to last finish, not 0
    resumed = enqueue(service, sources)
    assert (resumed.batch_id, resumed.deferred, resumed.already_done, resumed.previous_batch_id) == (first, 0, 2, None)

    fresh = enqueue(service, sources, again=True)
    assert (fresh.deferred, fresh.already_done, fresh.previous_batch_id) == (2, 0, first)
    assert fresh.batch_id != first
    for source in sources:
        replay_item(service, fresh.batch_id, source)
    assert all(len(service.lineage.replays_of(source)) == 2 for source in sources)  # each replayed once more
    assert enqueue(service, sources).batch_id == fresh.batch_id  # the same command now resumes the fresh one
    assert batch_report(service, first)[0].summary.by_status == {"completed": 2}  # the first batch stays
