"""Only deaths count towards "the worker died 5 times": SIGTERM drains and transient retries, which
procrastinate also counts as attempts, have budgets of their own (real `vetoflow worker` processes)."""

from __future__ import annotations

import datetime

import psycopg
import pytest
from procrastinate.exceptions import JobAborted
from procrastinate.jobs import Job

from tests.api_support import wait_for
from tests.worker_clients import forecaster_log
from tests.worker_support import QueueEnv, queue_env
from vetoflow.db.job_tallies import JobTallies
from vetoflow.scenario import Scenario
from vetoflow.workers.app import TRANSIENT_RETRIES, RequeueInterrupted
from vetoflow.workers.tasks import MAX_WORKER_DEATHS, TransientJobError

__all__ = ["queue_env"]  # the fixture
pytestmark = pytest.mark.slow  # real worker processes


def job_of(env: QueueEnv, run_id: str) -> int:
    assert env.settings.database_url is not None
    with psycopg.connect(env.settings.database_url, autocommit=True) as conn:
        row = conn.execute("SELECT id FROM procrastinate_jobs WHERE lock = %s ORDER BY id", (run_id,)).fetchone()
    assert row is not None
    return int(row[0])


def node_started(env: QueueEnv, run_id: str, node: str) -> int:
    return sum(1 for e in env.service.events_since(run_id, 0) if e.kind == "node_started" and e.node == node)


def test_drains_are_not_deaths_a_drained_run_survives_four_crashes_and_the_fifth_fails_it(
    queue_env: QueueEnv, profitable: Scenario
) -> None:
    queue_env.worker("sweeper", queues=("maintenance",))  # requeues the jobs of dead workers
    queue_env.wait_workers(1)
    run_id = queue_env.start(profitable)
    job_id = job_of(queue_env, run_id)

    draining = queue_env.worker("drain-1", queues=("runs",), slow=2)
    wait_for(lambda: forecaster_log(queue_env.settings.home), timeout=60, what="the forecaster to start")
    assert draining.terminate(timeout=60) == 0  # drained after the forecaster
    draining = queue_env.worker("drain-2", queues=("runs",), slow_evidence=2)
    wait_for(lambda: node_started(queue_env, run_id, "evidence") == 1, timeout=60, what="the evidence node")
    assert draining.terminate(timeout=60) == 0  # drained after the evidence
    assert queue_env.service.row(run_id).status == "queued"

    queue_env.bedrock.delay = 300.0  # every Synthesizer call hangs: its worker is killed in it
    for death in range(1, MAX_WORKER_DEATHS + 1):
        doomed = queue_env.worker(f"doomed-{death}", queues=("runs",))
        wait_for(lambda: queue_env.bedrock.calls == death, timeout=60, what=f"LLM call {death}")  # noqa: B023
        doomed.kill9()
        queue_env.wait_status([run_id], {"queued", "failed"}, timeout=60)  # requeued, or given up on
        row = queue_env.service.row(run_id)
        if death < MAX_WORKER_DEATHS:
            assert row.status == "queued", f"death {death} after two drains failed it: {row.error}"
    assert row.status == "failed"
    assert row.error == f"WorkerLost: the worker running this run died {MAX_WORKER_DEATHS} times"
    assert JobTallies(queue_env.service.database.engine).crashes(job_id) == MAX_WORKER_DEATHS


def test_transient_failures_have_their_own_budget_whatever_the_drains_and_deaths() -> None:
    strategy = RequeueInterrupted()
    many = Job(id=1, queue="runs", lock=None, queueing_lock=None, task_name="t", attempts=40,
               scheduled_at=datetime.datetime.now(datetime.UTC))  # fmt: skip
    assert strategy.get_retry_decision(exception=JobAborted("draining"), job=many) is not None
    for failures in range(1, TRANSIENT_RETRIES + 1):
        decision = strategy.get_retry_decision(exception=TransientJobError(failures, OSError("lost")), job=many)
        assert decision is not None, failures
    assert strategy.get_retry_decision(exception=TransientJobError(TRANSIENT_RETRIES + 1, OSError()), job=many) is None
    # uncounted (the tally itself failed): procrastinate's attempts, as before
    assert strategy.get_retry_decision(exception=OSError("lost"), job=many) is None


def test_tallies_are_kept_per_job_and_leave_with_the_pruned_job(queue_env: QueueEnv, profitable: Scenario) -> None:
    run_id = queue_env.start(profitable)
    job_id = job_of(queue_env, run_id)
    tallies = JobTallies(queue_env.service.database.engine)
    assert tallies.crashes(job_id) == 0
    assert [tallies.count_crash(job_id), tallies.count_crash(job_id), tallies.count_failure(job_id)] == [1, 2, 1]
    assert tallies.crashes(job_id) == 2
    assert tallies.forget_pruned() == 0  # its job is still there
    assert queue_env.settings.database_url is not None
    with psycopg.connect(queue_env.settings.database_url, autocommit=True) as conn:
        conn.execute("DELETE FROM procrastinate_jobs WHERE id = %s", (job_id,))  # as the hourly prune does
    assert tallies.forget_pruned() == 1
    assert tallies.crashes(job_id) == 0
