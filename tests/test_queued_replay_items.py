"""The job a worker runs for one run of a queued batch replay, called in-process as the worker calls it:
taken once per attempt, forked once whatever happens, a settled item answered from the database."""

from __future__ import annotations

from collections.abc import Sequence

from vetoflow.replay.queued import Selection, enqueue_batch, replay_item
from vetoflow.replay.report import BatchOptions
from vetoflow.runs.service import RunService
from vetoflow.scenario import Scenario

OPTIONS = BatchOptions(from_node="synthesizer")


def record(service: RunService, sources: Sequence[str]) -> str:
    deferred: list[str] = []

    def submit(_batch_id: str, todo: Sequence[str]) -> int:
        deferred.extend(todo)  # the queue would hold one job per run; the test runs them itself
        return len(todo)

    batch = enqueue_batch(service, submit, OPTIONS, Selection(ids=list(sources)), sources)
    assert deferred == sorted(sources)
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
