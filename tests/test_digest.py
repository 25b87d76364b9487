"""The digest binds an approval to what the approver saw: stable for one state, changed by any revision."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from vetoflow.config import Settings
from vetoflow.governance.digest import run_digest
from vetoflow.runs.store import open_service
from vetoflow.scenario import Scenario


@pytest.mark.slow  # starts a process: left out of make test-fast
def test_digest_is_stable_across_processes_and_changes_on_revise(tmp_path: Path, vetoed: Scenario) -> None:
    settings = Settings(home=tmp_path / "home", database_url=None)
    with open_service(settings) as service:
        paused = service.start(vetoed)
        first = run_digest(paused.state)
        assert first.startswith("sha256:")
        assert len(first) == 71
        assert run_digest(service.view(paused.run.run_id).state) == first
        code = "import json,sys; from vetoflow.governance.digest import run_digest as d; print(d(json.load(sys.stdin)))"
        other = subprocess.run(
            [sys.executable, "-c", code],
            input=paused.state.model_dump_json(),
            capture_output=True,
            text=True,
            check=True,
        )
        assert other.stdout.strip() == first, "another process computes the same digest"
        revised = service.decide(paused.run.run_id, "revise", reviewer="ana", overrides={"investment": 900_000})
        assert revised.status == "paused"
        assert run_digest(revised.state) != first
        same_plan = service.start(vetoed)
        assert run_digest(same_plan.state) != first, "another run with the same figures has its own digest"
        assert paused.state.decision is not None
        edited = paused.state.decision.model_copy(update={"reasons": ["edited"]})
        changed_reason = paused.state.model_copy(update={"decision": edited})
        assert run_digest(changed_reason) != first


def test_non_finite_figures_are_written_as_strict_json() -> None:
    from vetoflow.governance.digest import digest_of, json_safe

    assert json_safe({"roi": float("inf"), "npv": [float("-inf"), float("nan"), 1.5]}) == {
        "roi": "Infinity",
        "npv": ["-Infinity", "NaN", 1.5],
    }
    assert digest_of({"roi": float("inf")}) == digest_of({"roi": "Infinity"})
