"""Lease fencing: an executor that lost its lease (stopped past it, then resumed) writes nothing more.

The stale executor is a real `vetoflow run` process frozen with SIGSTOP while its LLM call is in flight;
`vetoflow retry` takes the run over, and the frozen one is resumed with SIGCONT while the retry still runs.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace

import pytest

from tests.conftest import ROOT, env_for
from tests.fakes.bedrock_server import BedrockServer, converse_reply
from vetoflow.config import Settings
from vetoflow.graph import Context
from vetoflow.runs.service import RunService
from vetoflow.runs.store import open_service
from vetoflow.scenario import Scenario

pytestmark = pytest.mark.slow  # real processes, a lease to lapse

LEASE = 3.0
STALE_TEXT = "The stale executor's summary [1]."
HOLDER_TEXT = "The new holder's summary [1]."


def _vetoflow(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "vetoflow", *args], env=env, cwd=ROOT, stderr=subprocess.PIPE)


def _wait(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _audited(service: RunService, run_id: str, event: str) -> int:
    entries = [json.loads(line) for line in "".join(service.audit_export("jsonl")).splitlines()]
    return sum(entry["event"] == event and entry["run_id"] == run_id for entry in entries)


def test_an_executor_resumed_after_losing_its_lease_stops_and_the_new_holder_ends_the_run_once(
    settings: Settings, profitable: Scenario, bedrock: BedrockServer
) -> None:
    env = env_for(settings) | {"VETOFLOW_LEASE_SECONDS": str(LEASE), "PYTHONPATH": str(ROOT)}
    env |= {"VETOFLOW_CONTEXT_FACTORY": "tests.worker_clients:make_context", "VETOFLOW_LLM": "bedrock"}
    env |= {"AWS_ENDPOINT_URL_BEDROCK_RUNTIME": bedrock.url, "VETOFLOW_TEST_SLOW_SECONDS": "0"}
    # the stale executor's answer arrives while it is frozen; the new holder's takes long enough to be resumed beside
    bedrock.script = [replace(converse_reply(STALE_TEXT), delay=2), replace(converse_reply(HOLDER_TEXT), delay=10)]
    settings.home.mkdir(parents=True, exist_ok=True)
    scenario_file = settings.home.parent / "plan.json"
    scenario_file.write_text(profitable.model_copy(update={"name": "fenced"}).model_dump_json())
    stale = _vetoflow(env, "run", str(scenario_file))
    _wait(lambda: bedrock.calls == 1, "the first executor's LLM call")
    stale.send_signal(signal.SIGSTOP)
    quick = settings.model_copy(update={"lease_seconds": LEASE})
    try:
        with open_service(quick, Context()) as service:
            [row] = service.list()
            run_id = row.run_id
            _wait(lambda: service.row(run_id).status == "stalled", "the frozen executor's lease to lapse")
            holder = _vetoflow(env, "retry", run_id)
            _wait(lambda: bedrock.calls == 2, "the new holder's LLM call")
            holder_lease = service.row(run_id).lease_owner
            assert holder_lease is not None
            stale.send_signal(signal.SIGCONT)
            _, stale_err = stale.communicate(timeout=60)
            assert stale.returncode == 9, stale_err.decode()  # lost its lease: the busy exit code
            assert b"stops here" in stale_err
            during = service.row(run_id)  # the holder is still in its LLM call
            assert holder.poll() is None, "the new holder ended before the stale one was resumed"
            assert (during.status, during.lease_owner) == ("running", holder_lease)
            assert _audited(service, run_id, "run.completed") == 0
            _, holder_err = holder.communicate(timeout=60)
            assert holder.returncode == 0, holder_err.decode()
            view = service.view(run_id)
            assert view.run.status == "completed"
            assert view.run.lease_owner is None
            assert view.run.lease_expires_at is None
            assert view.state.summary is not None
            assert view.state.summary.text.startswith(HOLDER_TEXT)  # one LLM call's result: the holder's
            assert _audited(service, run_id, "run.completed") == 1
            assert [e.kind for e in service.events_since(run_id)].count("completed") == 1
            assert bedrock.calls == 2  # the stale one's call was in flight at the freeze: the only repeat
    finally:
        if stale.poll() is None:
            stale.send_signal(signal.SIGCONT)
            stale.kill()
