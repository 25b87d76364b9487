"""Scale-out: 3 workers and 2 API server processes share one PostgreSQL; 200 runs finish exactly once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from tests.api_support import ServeProcess, client, scenario
from tests.worker_support import QueueEnv, queue_env

__all__ = ["queue_env"]  # the fixture
pytestmark = pytest.mark.slow  # real worker and server processes, or a live HTTP server

RUNS = 200


def test_two_hundred_runs_through_two_api_servers_and_three_workers_finish_exactly_once(queue_env: QueueEnv) -> None:
    servers = [ServeProcess(queue_env.settings, extra_env={"VETOFLOW_EXECUTOR": "queue"}).start() for _ in range(2)]
    try:
        for name in ("w1", "w2", "w3"):
            queue_env.worker(name, concurrency=2)
        queue_env.wait_workers(3)

        def start(i: int) -> str:
            with client(servers[i % 2].url) as http:
                answer = http.post("/runs", json={"scenario": scenario(f"scale-{i}", paths=200)})
                assert answer.status_code == 202, answer.text
                run_id: str = answer.json()["run"]["run_id"]
                return run_id

        with ThreadPoolExecutor(8) as pool:
            run_ids = list(pool.map(start, range(RUNS)))
        assert len(set(run_ids)) == RUNS
        queue_env.wait_status(run_ids, {"completed"}, timeout=600)
    finally:
        for server in servers:
            server.stop()
    assert queue_env.bedrock.calls == RUNS  # one Synthesizer call per run: none lost, none repeated
    for run_id in run_ids:
        kinds = [event.kind for event in queue_env.service.events_since(run_id, 0)]
        assert kinds.count("completed") == 1
        assert kinds.count("node_finished") == 4  # forecaster, accountant, evidence, synthesizer: each once
    assert queue_env.settings.database_url is not None
    with psycopg.connect(queue_env.settings.database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*), count(DISTINCT lock) FROM procrastinate_jobs WHERE task_name = 'vetoflow.execute_run' "
            "AND status = 'succeeded'"
        ).fetchone()
    assert row == (RUNS, RUNS)
