"""`prune` on SQLite and PostgreSQL: finished runs shrink and stay traceable and replayable; paused runs
are never touched and stay decidable."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.conftest import env_for
from vetoflow.config import Settings
from vetoflow.runs.service import RunService
from vetoflow.scenario import Scenario
from vetoflow.trace import build_trace

pytestmark = pytest.mark.slow  # replays runs and starts processes: left out of make test-fast
LATER = timedelta(0)  # everything finished before now counts as old


def writes_of(service: RunService, run_id: str) -> list[str]:
    table = "checkpoint_writes" if service.database.engine.dialect.name == "postgresql" else "writes"
    with service.database.engine.connect() as conn:
        rows = conn.execute(text(f"SELECT channel FROM {table} WHERE thread_id = :t ORDER BY channel"), {"t": run_id})
        return [r[0] for r in rows]


def test_prune_keeps_traces_and_replays_of_finished_runs_and_never_touches_a_paused_one(
    service: RunService, profitable: Scenario, vetoed: Scenario
) -> None:
    completed = service.start(profitable).run.run_id
    approved = service.start(vetoed).run.run_id
    service.decide(approved, "approve", reviewer="ana", comment="strategic bet")
    rejected = service.start(vetoed).run.run_id
    service.decide(rejected, "reject", reviewer="bo", comment="too thin")
    paused = service.start(vetoed).run.run_id
    finished = [completed, approved, rejected]
    traces = {r: build_trace(service.trace_inputs(r)).model_dump() for r in finished}
    paused_writes = writes_of(service, paused)

    assert service.prune(timedelta(days=30)).runs == 0  # nothing is 30 days old yet
    report = service.prune(LATER)

    assert report.runs == 3
    assert report.writes_deleted > 0
    assert report.bytes_freed > 0
    assert writes_of(service, paused) == paused_writes
    for run_id in finished:
        assert build_trace(service.trace_inputs(run_id)).model_dump() == traces[run_id]
        assert set(writes_of(service, run_id)) <= {"__interrupt__", "__error__"}
    assert "__interrupt__" in writes_of(service, approved)  # the pause the reviewer saw is still shown

    again = service.prune(LATER)
    assert (again.runs, again.writes_deleted) == (3, 0)

    # replayable from each node's kept checkpoint, with the same figures as the original
    original = service.view(approved).state
    for node in ("forecaster", "accountant", "synthesizer"):
        fork = service.replay(approved, from_node=node).new
        assert fork.status == ("paused" if node != "synthesizer" else "completed")
        assert fork.state.financials == original.financials

    # the paused run is decided after the prune as before it
    assert service.decide(paused, "approve", reviewer="ana").status == "completed"


def test_prune_cli_reports_what_it_removed(settings: Settings, examples: Path) -> None:
    env = env_for(settings)
    run = [sys.executable, "-m", "vetoflow"]
    subprocess.run([*run, "run", str(examples / "profitable.yaml")], env=env, check=True, capture_output=True)
    dry = subprocess.run(
        [*run, "prune", "--older-than", "0d", "--dry-run", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert dry.returncode == 0, dry.stderr
    planned = json.loads(dry.stdout)
    assert planned["runs"] == 1
    assert planned["writes_deleted"] > 0
    done = subprocess.run(
        [*run, "prune", "--older-than", "0d", "--json"], env=env, capture_output=True, text=True, check=False
    )
    assert json.loads(done.stdout) == planned | {"dry_run": False}
    bad = subprocess.run([*run, "prune", "--older-than", "ten"], env=env, capture_output=True, text=True, check=False)
    assert bad.returncode == 2
    assert "--older-than" in bad.stderr
