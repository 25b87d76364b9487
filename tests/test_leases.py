"""Run leases: concurrent retries run the graph once; a killed executor's run shows stalled and is taken over."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from tests.api_support import TOKENS, client, free_port, wait_for
from tests.conftest import ROOT, env_for
from tests.fakes.bedrock_server import BedrockServer, converse_reply
from tests.helpers import CountingSynthesizer
from tests.reliability import Tally, tally
from tests.worker_clients import forecaster_log
from vetoflow.config import Settings
from vetoflow.errors import RunBusyError, VetoflowError
from vetoflow.graph import Context
from vetoflow.runs.store import open_service
from vetoflow.scenario import Scenario
from vetoflow.state import RunState, Summary

__all__ = ["tally"]  # the fixture


class GatedSynthesizer(CountingSynthesizer):
    """Counts calls; fails the first, then holds each call until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__(fail_first=1)
        self.gate = threading.Event()
        self.entered = threading.Event()

    def summarize(self, state: RunState) -> Summary:
        if self.calls >= 1:
            self.entered.set()
            self.gate.wait(30)
        return super().summarize(state)


def test_concurrent_retries_run_the_graph_once(settings: Settings, profitable: Scenario, tally: Tally) -> None:
    llm = GatedSynthesizer()
    with open_service(settings.model_copy(update={"lease_seconds": 3.0}), Context(synthesizer=llm)) as service:
        run_id = service.start(profitable).run.run_id
        assert service.row(run_id).status == "failed"
        outcomes: list[str] = []

        def retry() -> None:
            try:
                outcomes.append(service.retry(run_id).status)
            except RunBusyError:
                outcomes.append("busy")
            except VetoflowError as exc:
                outcomes.append("finished" if "already finished" in str(exc) else str(exc))

        first = threading.Thread(target=retry)
        first.start()
        assert llm.entered.wait(30)
        assert service.row(run_id).status == "running"
        others = [threading.Thread(target=retry) for _ in range(9)]
        for thread in others:
            thread.start()
        for thread in others:
            thread.join(30)
        llm.gate.set()
        first.join(30)
        tally.count(retries=len(outcomes), retry_llm_calls=llm.calls - 1)  # the first call was the run's own
        assert sorted(outcomes) == ["busy"] * 9 + ["completed"]
        assert llm.calls == 2  # the failed first call and exactly one retry
        assert service.row(run_id).status == "completed"
        assert service.row(run_id).lease_owner is None


def test_a_busy_run_names_who_holds_it_and_the_lease_is_renewed(settings: Settings, profitable: Scenario) -> None:
    llm = GatedSynthesizer()
    llm.calls = 1  # every call waits at the gate
    quick = settings.model_copy(update={"lease_seconds": 2.0})
    with open_service(quick, Context(synthesizer=llm)) as service:
        worker = threading.Thread(target=service.start, args=(profitable,))
        worker.start()
        assert llm.entered.wait(30)
        [row] = service.list(["running"])
        first_expiry = row.lease_expires_at
        time.sleep(2.5)  # longer than the lease: only renewal keeps it live
        renewed = service.row(row.run_id)
        assert renewed.status == "running"
        assert renewed.lease_expires_at is not None
        assert first_expiry is not None
        assert renewed.lease_expires_at > first_expiry
        with pytest.raises(RunBusyError, match=f"run {row.run_id} is being executed by .*:{os.getpid()}:"):
            service.retry(row.run_id)
        llm.gate.set()
        worker.join(30)
        assert service.row(row.run_id).status == "completed"


def _vetoflow(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "vetoflow", *args], env=env, cwd=ROOT)


def _executing(executor: str, env: dict[str, str], scenario_file: Path) -> subprocess.Popen[bytes]:
    """`vetoflow run` of the plan, or `vetoflow serve` asked for it by a client the kill leaves unanswered."""
    if executor == "run":
        return _vetoflow(env, "run", str(scenario_file))
    port = free_port()
    server = _vetoflow(env | {"VETOFLOW_API_TOKENS": TOKENS}, "serve", "--port", str(port), "--no-console")
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        with contextlib.suppress(httpx.TransportError):
            return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
        return False

    wait_for(healthy, what="vetoflow serve to start")

    def ask() -> None:
        with contextlib.suppress(httpx.TransportError), client(url) as http:
            http.post("/runs", json={"scenario": json.loads(scenario_file.read_text())})

    threading.Thread(target=ask, daemon=True).start()
    return server


@pytest.mark.slow
@pytest.mark.parametrize("executor", ["run", "serve"])
@pytest.mark.parametrize("killed_in", ["forecaster", "llm call"])
def test_a_killed_run_shows_stalled_within_the_lease_and_one_retry_completes_it(
    settings: Settings, profitable: Scenario, bedrock: BedrockServer, tally: Tally, *, killed_in: str, executor: str
) -> None:
    """kill -9 of `vetoflow run` (or of `vetoflow serve` running the run a request started) mid-Forecaster or
    while its LLM call is in flight; LLM calls are counted at the loopback Bedrock server: one in all, or two
    when the kill caught the call in flight."""
    lease = 2.0
    env = env_for(settings) | {"VETOFLOW_LEASE_SECONDS": str(lease), "PYTHONPATH": str(ROOT)}
    env |= {"VETOFLOW_CONTEXT_FACTORY": "tests.worker_clients:make_context", "VETOFLOW_LLM": "bedrock"}
    env |= {"AWS_ENDPOINT_URL_BEDROCK_RUNTIME": bedrock.url}
    if killed_in == "llm call":
        bedrock.script = [replace(converse_reply("The plan pays back [1]."), delay=60)]  # still answering at the kill
    settings.home.mkdir(parents=True, exist_ok=True)  # the Forecaster's log goes there (PostgreSQL makes no file)
    scenario_file = settings.home.parent / "plan.json"
    scenario_file.write_text(profitable.model_copy(update={"name": "killed"}).model_dump_json())
    slow = {"VETOFLOW_TEST_SLOW_SECONDS": "30" if killed_in == "forecaster" else "0"}
    runner = _executing(executor, env | slow, scenario_file)
    deadline = time.monotonic() + 60
    while not (forecaster_log(settings.home) if killed_in == "forecaster" else bedrock.calls):
        assert runner.poll() is None, "the run ended before the kill"
        assert time.monotonic() < deadline, f"the run never reached the {killed_in}"
        time.sleep(0.05)
    runner.send_signal(signal.SIGKILL)
    runner.wait(10)
    killed_at = time.monotonic()
    tally.count(runs_killed=1)
    with open_service(settings.model_copy(update={"lease_seconds": lease}), Context()) as service:
        rows = service.list()
        tally.count(runs_lost=1 - len(rows))
        [row] = rows
        while service.row(row.run_id).status != "stalled":
            assert time.monotonic() - killed_at < lease + 1.0, "not stalled within the lease time"
            time.sleep(0.1)
        assert [r.run_id for r in service.list(["stalled"])] == [row.run_id]
        assert service.list(["running"]) == []
    calls_before_retry = bedrock.calls
    retry = _vetoflow(env | {"VETOFLOW_TEST_SLOW_SECONDS": "0"}, "retry", row.run_id)
    assert retry.wait(120) == 0
    with open_service(settings, Context()) as service:
        assert service.row(row.run_id).status == "completed"
    tally.count(runs_recovered=1)
    assert calls_before_retry == (1 if killed_in == "llm call" else 0)  # the call in flight at the kill
    assert bedrock.calls - calls_before_retry == 1  # the retry's: exactly one LLM call


def test_doctor_brings_rows_an_outage_left_behind_back_in_line(settings: Settings, vetoed: Scenario) -> None:
    with open_service(settings, Context()) as service:
        run_id = service.start(vetoed).run.run_id
        # What an outage during the index refresh leaves: the checkpoint paused, the row still "running".
        service.index.update(run_id, status="running", lease_owner=None, lease_expires_at=None)
        assert service.list(["paused"]) == []  # gone from the inbox
        [found] = service.reconcile()
        assert (found.run_id, found.listed_as, found.checkpoint_says, found.repaired) == (
            run_id,
            "stalled",
            "paused",
            False,
        )
        assert service.list(["paused"]) == []  # looking changes nothing
        [fixed] = service.reconcile(repair=True)
        assert fixed.repaired
        assert [row.run_id for row in service.list(["paused"])] == [run_id]
        assert service.reconcile() == []
        assert service.decide(run_id, "approve", reviewer="ana").status == "completed"


def test_doctor_command_reports_and_repairs(settings: Settings, vetoed: Scenario) -> None:
    from click.testing import CliRunner

    from tests.conftest import env_for
    from vetoflow.cli import cli

    with open_service(settings, Context()) as service:
        run_id = service.start(vetoed).run.run_id
        service.index.update(run_id, status="failed", error="OperationalError: server closed the connection")
    env = env_for(settings)
    found = CliRunner().invoke(cli, ["doctor", "--json"], env=env)
    assert found.exit_code == 1, found.output
    assert '"checkpoint_says": "paused"' in found.output
    repaired = CliRunner().invoke(cli, ["doctor", "--repair"], env=env)
    assert repaired.exit_code == 0, repaired.output
    assert "repaired" in repaired.output
    assert CliRunner().invoke(cli, ["doctor"], env=env).exit_code == 0
