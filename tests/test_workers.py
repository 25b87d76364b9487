"""Queue mode with real `vetoflow worker` processes on the real PostgreSQL (issue 14)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import inspect

from tests.api_support import wait_for
from tests.conftest import ROOT, env_for
from tests.worker_clients import forecaster_log, ticks
from tests.worker_support import STALLED_AFTER, QueueEnv, queue_env
from vetoflow.config import Settings
from vetoflow.db.worker_beats import WorkerBeats
from vetoflow.runs.store import open_service
from vetoflow.scenario import Scenario

__all__ = ["queue_env"]  # the fixture
pytestmark = pytest.mark.slow  # real worker and server processes, or a live HTTP server


def vetoflow(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "vetoflow", *args]
    return subprocess.run(command, check=False, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)


def named(scenario: Scenario, name: str) -> Scenario:
    return scenario.model_copy(update={"name": name})


def job_intervals(url: str, lock: str) -> list[tuple[Any, Any]]:
    """(started, finished) of every job run under `lock`, from procrastinate's own event log."""
    query = """
        SELECT min(e.at) FILTER (WHERE e.type = 'started'),
               max(e.at) FILTER (WHERE e.type IN ('succeeded', 'failed', 'deferred_for_retry'))
          FROM procrastinate_jobs j JOIN procrastinate_events e ON e.job_id = j.id
         WHERE j.lock = %s GROUP BY j.id ORDER BY 1"""
    with psycopg.connect(url, autocommit=True) as conn:
        return [(start, end) for start, end in conn.execute(query, (lock,)).fetchall()]


def test_queue_mode_without_postgres_is_refused_with_what_to_set(tmp_path: Path) -> None:
    env = env_for(Settings(home=tmp_path / "home", database_url=None)) | {"VETOFLOW_EXECUTOR": "queue"}
    for args in (["runs"], ["run", str(ROOT / "vetoflow/examples/profitable.yaml")], ["worker"]):
        result = vetoflow(env, *args)
        assert result.returncode == 1, result.stderr
        assert "VETOFLOW_EXECUTOR=queue and `vetoflow worker` need PostgreSQL" in result.stderr
        assert "VETOFLOW_DATABASE_URL=postgresql://" in result.stderr
    inline = env_for(Settings(home=tmp_path / "home", database_url=None))
    assert vetoflow(inline, "worker").returncode == 1  # a worker needs PostgreSQL whatever the executor


def test_the_queue_schema_comes_with_the_migrations_on_postgres_and_not_on_sqlite(settings: Settings) -> None:
    with open_service(settings) as service:
        tables = set(inspect(service.database.engine).get_table_names())
    assert "vetoflow_run_events" in tables
    assert ("procrastinate_jobs" in tables) is (settings.database_url is not None)


def test_workers_carry_queued_runs_to_their_end_and_each_llm_call_happens_once(
    queue_env: QueueEnv, profitable: Scenario, vetoed: Scenario
) -> None:
    queue_env.worker("a", concurrency=2)
    queue_env.worker("b", concurrency=2)
    queue_env.wait_workers(2)
    completed = [queue_env.start(named(profitable, f"p{i}")) for i in range(6)]
    paused = queue_env.start(vetoed)
    queue_env.wait_status(completed, {"completed"})
    queue_env.wait_status([paused], {"paused"})
    assert queue_env.bedrock.calls == 6  # one summary per completed run; the vetoed one waits for a human
    view = queue_env.service.view(completed[0])
    assert view.state.summary is not None
    assert view.state.summary.text
    log = [
        json.loads(line)
        for line in "".join(queue_env.service.audit_export("jsonl", run_id=completed[0])).split("\n")[:-1]
    ]
    events = [(e["event"], e["details"].get("queued")) for e in log]
    assert events == [("run.started", True), ("run.completed", None)]  # started where queued, ended by a worker

    healthy = vetoflow(queue_env.env, "worker", "--healthcheck")
    assert healthy.returncode == 0, healthy.stderr
    report = json.loads(healthy.stdout)
    assert (report["workers_alive"], report["queue_depth"]) == (2, 0)
    assert report["jobs"]["succeeded"] >= 7


def test_jobs_of_one_run_execute_one_at_a_time(queue_env: QueueEnv, profitable: Scenario) -> None:
    queue_env.worker("a", concurrency=2, slow=1.5)
    queue_env.worker("b", concurrency=2, slow=1.5)
    queue_env.wait_workers(2)
    run_id = queue_env.start(profitable)
    wait_for(lambda: forecaster_log(queue_env.settings.home), timeout=30, what="the forecaster to start")
    assert queue_env.queue.submit(run_id, "retry") is not None  # waits behind the running job: same lock
    assert queue_env.queue.submit(run_id, "retry") is None  # one waiting job per run is enough
    queue_env.wait_status([run_id], {"completed"})
    url = queue_env.settings.database_url or ""

    def both_jobs_ended() -> bool:
        intervals = job_intervals(url, run_id)
        return len(intervals) == 2 and all(start and end for start, end in intervals)

    wait_for(both_jobs_ended, what="both jobs to end")
    (_, first_end), (second_start, _) = job_intervals(url, run_id)
    assert first_end <= second_start  # never two at once, on any worker
    assert forecaster_log(queue_env.settings.home) == [f"start {profitable.name}", f"end {profitable.name}"]
    assert queue_env.bedrock.calls == 1


def test_a_worker_killed_mid_run_loses_nothing_its_run_finishes_on_another(
    queue_env: QueueEnv, profitable: Scenario
) -> None:
    doomed = queue_env.worker("doomed", slow=30)  # still in the Forecaster when killed
    queue_env.wait_workers(1)
    run_id = queue_env.start(profitable)
    wait_for(lambda: forecaster_log(queue_env.settings.home), timeout=30, what="the forecaster to start")
    queue_env.worker("survivor", slow=0.5)
    queue_env.wait_workers(2)
    doomed.kill9()
    assert queue_env.service.index.get(run_id).status == "running"  # what the dead worker left behind
    queue_env.wait_status([run_id], {"completed"}, timeout=60)
    log = forecaster_log(queue_env.settings.home)
    assert log == [f"start {profitable.name}", f"start {profitable.name}", f"end {profitable.name}"]
    assert queue_env.bedrock.calls == 1  # resumed from the last checkpoint: nothing after it ran twice
    assert "requeued job" in "".join(w.log() for w in queue_env.workers)


def test_sigterm_drains_after_the_current_node_frees_the_lease_and_the_next_worker_starts_at_once(
    queue_env: QueueEnv, profitable: Scenario
) -> None:
    long_lease = 60.0  # a hand-off that waited for the drained worker's lease to lapse would take this long
    queue_env.env["VETOFLOW_LEASE_SECONDS"] = str(long_lease)
    draining = queue_env.worker("draining", slow=3)
    queue_env.wait_workers(1)
    run_id = queue_env.start(profitable)
    wait_for(lambda: forecaster_log(queue_env.settings.home), timeout=30, what="the forecaster to start")
    assert draining.terminate(timeout=30) == 0
    assert forecaster_log(queue_env.settings.home) == [f"start {profitable.name}", f"end {profitable.name}"]
    row = queue_env.service.index.get(run_id)
    assert (row.status, row.lease_owner, row.lease_expires_at) == ("queued", None, None)  # handed back, lease free
    assert queue_env.bedrock.calls == 0
    queue_env.worker("next")
    queue_env.wait_workers(1)
    ready = time.monotonic()
    queue_env.wait_status([run_id], {"completed"}, timeout=long_lease / 2)
    assert time.monotonic() - ready < long_lease / 2
    assert len(forecaster_log(queue_env.settings.home)) == 2  # the drained node was checkpointed, not re-run
    assert queue_env.bedrock.calls == 1


def test_healthcheck_fails_without_a_live_worker(queue_env: QueueEnv) -> None:
    result = vetoflow(queue_env.env, "worker", "--healthcheck")
    assert result.returncode == 1
    assert "unhealthy: no live worker on this host" in result.stderr
    assert json.loads(result.stdout)["workers_alive"] == 0


def test_healthcheck_judges_the_worker_of_its_own_host_so_a_frozen_one_is_unhealthy_beside_a_live_one(
    queue_env: QueueEnv,
) -> None:
    frozen = queue_env.worker("frozen", host="box-frozen")
    queue_env.worker("alive", host="box-alive")
    queue_env.wait_workers(2)

    def healthcheck(host: str, *args: str) -> subprocess.CompletedProcess[str]:
        return vetoflow(queue_env.env | {"VETOFLOW_WORKER_HOST": host}, "worker", "--healthcheck", *args)

    beats = WorkerBeats(queue_env.service.database.engine)
    wait_for(lambda: beats.alive("box-frozen", STALLED_AFTER) == 1, what="the frozen-to-be worker's host beat")
    frozen.freeze()
    try:
        wait_for(lambda: beats.alive("box-frozen", STALLED_AFTER) == 0, what="the frozen worker to go silent")
        sick = healthcheck("box-frozen")
        assert sick.returncode == 1
        assert "unhealthy: no live worker on this host (box-frozen)" in sick.stderr
        figures = json.loads(sick.stdout)
        assert (figures["host"], figures["workers_alive_here"], figures["workers_alive"]) == ("box-frozen", 0, 1)
        assert healthcheck("box-frozen", "--cluster").returncode == 0  # the cluster view: some worker is alive
        well = healthcheck("box-alive")
        assert well.returncode == 0, well.stderr
        assert json.loads(well.stdout)["workers_alive_here"] == 1
        assert healthcheck("box-alive", "--name", "frozen").returncode == 1  # only the worker of that name
    finally:
        frozen.thaw()


def test_a_registered_periodic_job_runs_once_per_period_across_workers(queue_env: QueueEnv) -> None:
    queue_env.env["VETOFLOW_TEST_PERIODIC"] = "1"
    queue_env.worker("a")
    queue_env.worker("b")
    queue_env.wait_workers(2)
    wait_for(lambda: len(ticks(queue_env.settings.home)) >= 6, timeout=30, what="six periodic ticks")
    query = "SELECT args->>'timestamp' FROM procrastinate_jobs WHERE task_name = 'vetoflow.periodic.test.tick'"
    with psycopg.connect(queue_env.settings.database_url or "", autocommit=True) as conn:
        periods = [row[0] for row in conn.execute(query).fetchall()]
    assert len(periods) >= 6
    assert len(periods) == len(set(periods))  # never twice for one period, though both workers schedule it


def test_the_cli_queues_a_run_with_exit_code_8_and_a_worker_finishes_it(queue_env: QueueEnv) -> None:
    started = vetoflow(queue_env.env, "run", str(ROOT / "vetoflow/examples/profitable.yaml"), "--json")
    assert started.returncode == 8, started.stderr  # queued: a worker will execute it
    run_id = json.loads(started.stdout)["run"]["run_id"]
    assert json.loads(vetoflow(queue_env.env, "runs", "--status", "queued", "--json").stdout)[0]["run_id"] == run_id
    queue_env.worker("a")
    queue_env.wait_status([run_id], {"completed"})
    shown = vetoflow(queue_env.env, "show", run_id, "--json")
    assert shown.returncode == 0
    assert json.loads(shown.stdout)["state"]["summary"]["text"]
