"""A worker rides out its database going away (a PostgreSQL restart, a failover): it does not exit, it works
again once the database answers, and the run it was executing when the database went away is finished.

The outage is real: the worker reaches PostgreSQL through a loopback TCP proxy the test cuts."""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest

from tests.api_support import wait_for
from tests.tcp_proxy import TcpProxy, proxied_database
from tests.worker_support import QueueEnv, WorkerProcess, queue_env
from vetoflow.db.job_tallies import JobTallies
from vetoflow.scenario import Scenario

__all__ = ["queue_env"]  # the fixture
pytestmark = [pytest.mark.slow, pytest.mark.postgres]

OUTAGE = 4.0  # seconds: longer than a heartbeat and a checkout timeout's share of it, as a restart would be


@pytest.fixture
def cut_off(queue_env: QueueEnv) -> Iterator[tuple[QueueEnv, TcpProxy]]:
    """Workers started from here reach the database through a proxy the test can cut; the test's own service
    reaches it directly, as the API would from another machine."""
    assert queue_env.settings.database_url is not None
    with proxied_database(queue_env.settings.database_url) as (proxy, through):
        queue_env.env["VETOFLOW_DATABASE_URL"] = through
        yield queue_env, proxy


def _job_of(env: QueueEnv, run_id: str) -> int:
    assert env.settings.database_url is not None
    with psycopg.connect(env.settings.database_url) as conn:
        query = "SELECT id FROM procrastinate_jobs WHERE args->>'run_id' = %s AND task_name = 'vetoflow.execute_run'"
        [(job,)] = conn.execute(query, (run_id,)).fetchall()
    return int(job)


def _outage(proxy: TcpProxy, worker: WorkerProcess) -> None:
    proxy.cut()
    wait_for(lambda: "it starts again once the database answers" in worker.log(), timeout=90, what="the worker stop")
    time.sleep(OUTAGE)
    proxy.restore()


def test_a_worker_whose_database_went_away_finishes_its_run_and_takes_new_ones_once_it_is_back(
    cut_off: tuple[QueueEnv, TcpProxy], profitable: Scenario
) -> None:
    env, proxy = cut_off
    worker = env.worker("w1", slow=3.0)  # the Forecaster is still working when the database goes away
    env.wait_workers(1)
    in_flight = env.start(profitable)
    wait_for(lambda: env.service.index.get(in_flight).status == "running", timeout=30, what="the run executing")
    _outage(proxy, worker)
    after = env.start(profitable)
    env.wait_status([in_flight, after], {"paused", "completed"}, timeout=120)
    assert worker.process is not None
    assert worker.process.poll() is None, worker.log()[-3000:]
    assert "the database answers again; working" in worker.log()
    job = _job_of(env, in_flight)
    assert f"requeued job {job} (vetoflow.execute_run) its worker ran when the database went away" in worker.log()
    assert JobTallies(env.service.database.engine).crashes(job) == 0, "an outage is not a worker's death"


def test_a_worker_told_to_stop_while_its_database_is_away_exits_at_once(cut_off: tuple[QueueEnv, TcpProxy]) -> None:
    env, proxy = cut_off
    worker = env.worker("w1")
    env.wait_workers(1)
    proxy.cut()
    wait_for(lambda: "it starts again once the database answers" in worker.log(), timeout=90, what="the worker stop")
    code = worker.terminate(timeout=30)  # the database never comes back: it must not wait for it
    assert code == 0, worker.log()[-3000:]
