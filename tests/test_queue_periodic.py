"""Periodic jobs on the workers: governance sweep, notification delivery and prune, once per period in all."""

from __future__ import annotations

import psycopg
import pytest

from tests.api_support import wait_for
from tests.worker_support import QueueEnv, queue_env
from vetoflow.workers.app import cron_every
from vetoflow.workers.tasks import DELIVER_NOTIFICATIONS, GOVERNANCE_SWEEP, PRUNE_RUNS

__all__ = ["queue_env"]  # the fixture
pytestmark = pytest.mark.slow  # real worker processes

PERIODICS = (GOVERNANCE_SWEEP, DELIVER_NOTIFICATIONS, PRUNE_RUNS)


def periodic_jobs(url: str) -> list[tuple[str, int, str]]:
    """(task, period timestamp, status) of every periodic job procrastinate deferred."""
    query = (
        "SELECT task_name, (args->>'timestamp')::bigint, status::text FROM procrastinate_jobs WHERE task_name = ANY(%s)"
    )
    with psycopg.connect(url, autocommit=True) as conn:
        return [(task, int(stamp), status) for task, stamp, status in conn.execute(query, (list(PERIODICS),))]


def test_two_workers_run_each_periodic_job_once_per_period(queue_env: QueueEnv) -> None:
    queue_env.env |= {
        "VETOFLOW_WORKER_SWEEP_EVERY": "1",
        "VETOFLOW_WORKER_DELIVER_EVERY": "1",
        "VETOFLOW_WORKER_PRUNE_EVERY": "2",
    }
    queue_env.worker("a", concurrency=2)
    queue_env.worker("b", concurrency=2)
    queue_env.wait_workers(2)
    url = queue_env.settings.database_url or ""

    def enough() -> bool:
        succeeded = [(task, stamp) for task, stamp, status in periodic_jobs(url) if status == "succeeded"]
        return all(sum(task == name for task, _ in succeeded) >= 4 for name in PERIODICS)

    wait_for(enough, timeout=60, what="four periods of every periodic job")
    jobs = periodic_jobs(url)
    periods = [(task, stamp) for task, stamp, _ in jobs]
    assert len(periods) == len(set(periods))  # both workers schedule every job; each period has one
    assert {status for _, _, status in jobs} <= {"todo", "doing", "succeeded"}
    prune_stamps = sorted(stamp for task, stamp, _ in jobs if task == PRUNE_RUNS)
    assert all(stamp % 2 == 0 for stamp in prune_stamps)  # every 2 s, on the even seconds
    logs = "".join(worker.log() for worker in queue_env.workers)
    for name in PERIODICS:
        ran = sum(1 for task, _, status in jobs if task == name and status == "succeeded")
        assert logs.count(f"periodic {name} for ") >= ran  # the service call behind each job really ran


def test_periods_map_to_crons() -> None:
    assert cron_every(5) == "* * * * * */5"
    assert cron_every(120) == "*/2 * * * *"
    assert cron_every(7200) == "0 */2 * * *"
    assert cron_every(86_400) == "30 3 * * *"
