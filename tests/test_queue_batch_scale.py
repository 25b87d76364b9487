"""The batch at scale: 1,000 saved runs replayed by 3 workers against a 300 ms loopback LLM, one worker
killed with SIGKILL halfway; the LLM cap holds across the worker processes throughout."""

from __future__ import annotations

import time

import psycopg
import pytest

from tests.api_support import wait_for
from tests.queue_batch_support import enqueue, saved_sources
from tests.worker_support import QueueEnv, queue_env
from vetoflow.replay.queued import batch_report
from vetoflow.scenario import Scenario

__all__ = ["queue_env"]  # the fixture
pytestmark = [pytest.mark.slow, pytest.mark.postgres]

RUNS = 1000
PER_WORKER = 4
CAP = 8  # below the 3 x 4 job threads: the cap, not the threads, bounds the LLM calls


def finished(queue_env: QueueEnv, batch_id: str) -> int:
    status, _ = batch_report(queue_env.service, batch_id)
    return status.batch.selected - status.pending


@pytest.mark.timeout(1500)
def test_a_thousand_runs_replayed_by_three_workers_once_each_with_a_worker_killed_halfway(
    queue_env: QueueEnv, profitable: Scenario
) -> None:
    sources = saved_sources(queue_env, profitable, RUNS)
    queue_env.bedrock.delay = 0.3
    queue_env.env["VETOFLOW_LLM_MAX_IN_FLIGHT"] = str(CAP)
    batch_id = str(enqueue(queue_env)["batch_id"])
    workers = [queue_env.worker(name, concurrency=PER_WORKER) for name in ("w1", "w2", "w3")]
    wait_for(lambda: finished(queue_env, batch_id) >= RUNS // 2, timeout=900, what="half the batch")
    before_kill = queue_env.bedrock.restart_max_in_flight()
    workers[0].kill9()  # mid-batch: its job threads were inside replays
    # The dead worker's slots free as soon as PostgreSQL drops its session, while the loopback server is still
    # answering the requests it had sent (up to one latency): that window is left out, then counting starts
    # again. The cap binds the live processes before and after it.
    time.sleep(queue_env.bedrock.delay + 1.0)
    queue_env.bedrock.restart_max_in_flight()
    wait_for(lambda: finished(queue_env, batch_id) == RUNS, timeout=900, what="the whole batch")

    status, report = batch_report(queue_env.service, batch_id)
    assert status.summary.by_status == {"completed": RUNS}
    assert sorted(report.rows) == sorted(sources)  # none missed
    replay_ids = {row.replay_run_id for row in report.rows.values()}
    assert len(replay_ids) == RUNS
    url = queue_env.settings.database_url or ""
    with psycopg.connect(url, autocommit=True) as conn:
        forks = conn.execute(
            "SELECT count(*), count(DISTINCT source_run_id) FROM vetoflow_replays WHERE source_run_id = ANY(%s)",
            (sources,),
        ).fetchone()
        completions = conn.execute(
            "SELECT count(*), count(DISTINCT run_id) FROM vetoflow_run_events WHERE kind = 'completed' "
            "AND run_id = ANY(%s)",
            (list(replay_ids),),
        ).fetchone()
    assert forks == (RUNS, RUNS)  # no run replayed twice
    assert completions == (RUNS, RUNS)
    # One LLM call per replay, plus at most the calls the killed worker had in flight (they run again).
    assert RUNS <= queue_env.bedrock.calls <= RUNS + PER_WORKER
    assert before_kill <= CAP
    assert queue_env.bedrock.max_in_flight <= CAP
    assert enqueue(queue_env)["deferred"] == 0  # the same command again: nothing left to do
