"""The CLI sends the digest it was shown: figures changed since (a revise) refuse the approval with exit code 6
and nothing is recorded, neither the decision nor its comment. SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_cli import as_json, vetoflow
from vetoflow.config import Settings

pytestmark = pytest.mark.slow  # whole `vetoflow` processes


def test_cli_approve_with_the_digest_of_figures_since_revised_is_refused_and_records_nothing(
    settings: Settings, examples: Path
) -> None:
    started = vetoflow(settings, "run", examples / "vetoed.yaml", "--json")
    assert started.returncode == 3, started.stderr
    run_id = as_json(started)["run"]["run_id"]
    seen = as_json(vetoflow(settings, "show", run_id, "--json"))["pending"]["digest"]
    revise = ("revise", run_id, "--reviewer", "ana", "--set", "investment=150000", "--digest", seen, "--json")
    revised = vetoflow(settings, *revise)
    assert revised.returncode == 3, revised.stderr
    before = as_json(revised)

    stale = vetoflow(settings, "approve", run_id, "--reviewer", "bo", "--comment", "fine", "--digest", seen)
    assert stale.returncode == 6
    assert "the figures changed since you opened this run" in stale.stderr
    after = as_json(vetoflow(settings, "show", run_id, "--json"))
    assert after["run"]["status"] == "paused"
    assert after["decisions"] == before["decisions"]
    assert after["approval"]["approved_by"] == []
    assert as_json(vetoflow(settings, "comments", run_id, "--json")) == [], "the refused decision's comment too"

    current = after["pending"]["digest"]
    assert current != seen
    approved = vetoflow(settings, "approve", run_id, "--reviewer", "bo", "--digest", current, "--json")
    assert approved.returncode == 0, approved.stderr
    assert as_json(approved)["run"]["status"] == "completed"
