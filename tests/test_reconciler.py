"""The reconciler: queued runs no job will run, and rows an outage left behind, found and repaired at the
service, periodically on a running server and on the workers."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from datetime import timedelta

import pytest
from click.testing import CliRunner

from tests.api_support import ANA, ServeProcess, client, scenario, wait_for
from tests.conftest import env_for
from tests.helpers import CountingSynthesizer
from tests.worker_support import STALLED_AFTER, QueueEnv, queue_env
from vetoflow.cli import cli
from vetoflow.clock import utcnow
from vetoflow.config import Settings
from vetoflow.console.common import ConsoleDeps
from vetoflow.console.runs import RUNS_COLUMNS, find_runs
from vetoflow.graph import Context
from vetoflow.runs.store import open_service
from vetoflow.scenario import Scenario

__all__ = ["queue_env"]  # the fixture


class UnreachableQueue:
    """A dispatcher whose queue cannot be reached: the run is recorded as queued, its job never is."""

    def submit(self, run_id: str, kind: str) -> int | None:
        raise ConnectionError("the job queue is unreachable")

    def live_runs(self, run_ids: Sequence[str]) -> set[str]:
        raise ConnectionError("the job queue is unreachable")


def test_in_process_a_queued_run_whose_dispatch_failed_is_flagged_stalled_and_retry_completes_it(
    settings: Settings, vetoed: Scenario
) -> None:
    llm = CountingSynthesizer()
    grace = 2.0  # the lease time: how long a row may sit queued while its dispatch is under way
    with open_service(settings.model_copy(update={"lease_seconds": grace}), Context(synthesizer=llm)) as service:
        run_id = service.start(vetoed).run.run_id
        assert service.row(run_id).status == "paused"
        with pytest.raises(ConnectionError):  # the decision is recorded, then the hand-over fails
            service.with_dispatcher(UnreachableQueue()).decide(run_id, "approve", reviewer="ana")
        assert service.row(run_id).status == "queued"
        assert service.reconcile(repair=True) == []  # too fresh: a dispatch may still be under way
        time.sleep(grace + 0.2)
        [found] = service.reconcile()
        assert (found.run_id, found.listed_as, found.repaired) == (run_id, "queued", False)
        assert service.row(run_id).status == "queued"  # looking changes nothing
        [flagged] = service.reconcile(repair=True)
        assert flagged.repaired
        assert f"vetoflow retry {run_id}" in flagged.note
        assert [row.run_id for row in service.list(["stalled"])] == [run_id]
        [stalled] = service.reconcile(repair=True)  # flagged for good: decided, so retry is what it needs
        assert (stalled.listed_as, stalled.repaired) == ("stalled", False)
        assert stalled.note == f"stopped mid-graph: vetoflow retry {run_id}"
    env = env_for(settings)
    listing = CliRunner().invoke(cli, ["runs", "--status", "stalled"], env=env | {"COLUMNS": "200"})
    assert re.search(r"stalled \d+s", listing.output), listing.output
    shown = CliRunner().invoke(cli, ["show", run_id], env=env | {"COLUMNS": "200"})
    assert re.search(r"stalled \d+s", shown.output), shown.output
    with open_service(settings, Context(synthesizer=llm)) as service:
        deps = ConsoleDeps(service, settings, auth_enabled=False, open_reviewer="ana")
        value, _ = find_runs(deps, ["stalled"], "")
        [console_row] = value["metadata"]["display_value"]
        assert re.fullmatch(r"stalled \d+s", console_row[RUNS_COLUMNS.index("status")]), console_row
        assert service.retry(run_id).status == "completed"  # the recorded decision is applied
        assert llm.calls == 1
        assert service.reconcile() == []


@pytest.mark.slow
def test_in_queue_mode_a_worker_re_dispatches_a_run_whose_job_was_lost_and_completes_it(
    queue_env: QueueEnv, profitable: Scenario
) -> None:
    queue_env.env |= {"VETOFLOW_RECONCILE_EVERY": "1"}
    queue_env.worker("a")
    queue_env.wait_workers(1)
    service = queue_env.service
    with pytest.raises(ConnectionError):
        service.with_dispatcher(UnreachableQueue()).start(profitable)
    [row] = service.list(["queued"])
    assert queue_env.queue.live_runs([row.run_id]) == set()
    # the worker's periodic pass, once the row has been queued longer than a lease
    queue_env.wait_status([row.run_id], {"completed"}, timeout=STALLED_AFTER + 60)
    assert queue_env.bedrock.calls == 1
    assert "re-dispatched to the workers" in queue_env.workers[0].log()


def test_a_queued_run_with_a_waiting_job_is_left_alone(queue_env: QueueEnv, profitable: Scenario) -> None:
    run_id = queue_env.start(profitable)  # no worker: its job waits
    time.sleep(STALLED_AFTER + 0.2)  # queued for longer than a lease
    assert queue_env.queue.live_runs([run_id]) == {run_id}
    assert queue_env.service.reconcile(repair=True) == []


@pytest.mark.slow
def test_a_running_server_repairs_a_row_an_outage_left_behind_without_a_restart(settings: Settings) -> None:
    server = ServeProcess(settings, extra_env={"VETOFLOW_RECONCILE_EVERY": "1"}).start()
    try:
        with open_service(settings) as service, client(server.url, ANA) as http:
            run_id = http.post("/runs", json={"scenario": scenario("outage", vetoed=True)}).json()["run"]["run_id"]
            assert service.row(run_id).status == "paused"
            # what an outage during the index refresh leaves: the checkpoint paused, the row running, its lease lapsed
            lapsed = utcnow() - timedelta(seconds=5)
            service.index.update(run_id, status="running", lease_owner="gone:1:dead", lease_expires_at=lapsed)
            assert service.row(run_id).status == "stalled"

            def listed_paused() -> bool:
                runs = http.get("/runs", params={"status": "paused"}).json()["runs"]
                return [r["run_id"] for r in runs] == [run_id]

            wait_for(listed_paused, timeout=20, what="the server's periodic reconciler to repair the row")
            assert service.row(run_id).lease_owner is None
    finally:
        server.stop()
