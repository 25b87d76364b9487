"""The CLI as users run it: separate processes sharing only the durable store."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import env_for
from vetoflow.config import Settings
from vetoflow.identity.users_file import add_user

pytestmark = pytest.mark.slow  # servers, subprocesses or a browser: left out of make test-fast


def vetoflow(settings: Settings, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vetoflow", *map(str, args)],
        env=env_for(settings),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def as_json(result: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(result.stdout)


@pytest.mark.parametrize("action", ["approve", "reject", "revise"])
def test_pause_in_one_process_decide_in_another(settings: Settings, examples: Path, action: str) -> None:
    started = vetoflow(settings, "run", examples / "vetoed.yaml", "--json")
    assert started.returncode == 3, started.stderr
    run_id = as_json(started)["run"]["run_id"]

    paused = vetoflow(settings, "runs", "--status", "paused", "--json")
    assert [r["run_id"] for r in as_json(paused)] == [run_id]

    extra = ["--set", "investment=150000"] if action == "revise" else []
    decided = vetoflow(settings, action, run_id, "--reviewer", "ana", "--comment", "strategic bet", *extra, "--json")
    view = as_json(decided)
    expected = {"approve": (0, "completed"), "reject": (0, "rejected"), "revise": (3, "paused")}[action]
    assert (decided.returncode, view["run"]["status"]) == expected, decided.stderr
    assert view["decisions"][0]["reviewer"] == "ana"
    assert (view["state"]["summary"] is None) == (action != "approve")
    if action == "revise":  # the revised figures pass, but a vetoed run waits for a human approval (sticky veto)
        assert view["state"]["financials"]["investment"] == 150000
        assert view["state"]["revision"] == 1
        assert view["state"]["decision"]["veto"] is False
        assert view["pending"]["revised"]["reviewer"] == "ana"
        shown = vetoflow(settings, "show", run_id)
        assert "revised after a veto: a human must approve the revised figures" in shown.stdout, shown.stdout
        assert "Revision 1 by ana: investment=150000" in shown.stdout
        final = vetoflow(settings, "approve", run_id, "--reviewer", "bo", "--json")
        assert final.returncode == 0, final.stderr
        assert "revised by ana, then approved by bo" in as_json(final)["state"]["summary"]["text"]
        action = "approve"  # the last decision, for the late one below

    again = vetoflow(settings, "approve", run_id, "--reviewer", "cy", "--comment", "too late?")
    assert again.returncode == 6
    assert f"already decided: {action} by" in again.stderr
    thread = as_json(vetoflow(settings, "comments", run_id, "--json"))
    assert [(c["author"], c["text"], c["lost_race"]) for c in thread] == [("cy", "too late?", True)]


def test_show_and_table_output(settings: Settings, examples: Path) -> None:
    started = vetoflow(settings, "run", examples / "vetoed.yaml")
    assert started.returncode == 3
    assert "Waiting for a decision." in started.stdout
    assert "✓ forecaster" in started.stderr
    run_id = vetoflow(settings, "runs", "--json").stdout.split('"run_id": "')[1][:12]
    shown = vetoflow(settings, "show", run_id)
    assert shown.returncode == 0
    for text in ("ROI (P50)", "NPV", "VETO", f"vetoflow approve {run_id}", "Total revenue forecast"):
        assert text in shown.stdout
    # the veto's reasons are why it waits: printed once, under the verdict, and referred to at the pause
    assert shown.stdout.count("below the veto threshold") == 1, shown.stdout
    assert "Why it waits for you: the Accountant's reasons above." in shown.stdout
    table = vetoflow(settings, "runs")
    assert run_id in table.stdout
    assert "paused" in table.stdout
    add_user(settings.home / "users.yaml", "ad", ["admin"], None)  # reading the log needs the audit role
    log = [json.loads(line) for line in vetoflow(settings, "audit", "export", "--reviewer", "ad").stdout.splitlines()]
    started_entry = next(e for e in log if e["run_id"] == run_id)
    assert (started_entry["event"], started_entry["via"], started_entry["details"]["queued"]) == (
        "run.started", "cli", False
    )  # fmt: skip


def test_user_errors_are_clean_with_documented_exit_codes(settings: Settings, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ninvestment: -1\nhorizon: 4\ndiscount_rate: 0.1\nsegments: []\n")
    result = vetoflow(settings, "run", bad)
    assert result.returncode == 1
    assert "investment: Input should be greater than or equal to 1 (got -1)" in result.stderr
    assert "segments: List should have at least 1 item" in result.stderr
    assert "Traceback" not in result.stderr
    missing = vetoflow(settings, "show", "doesnotexist")
    assert missing.returncode == 5
    assert "no run with id 'doesnotexist'" in missing.stderr
    usage = vetoflow(settings, "revise", "x", "--set", "novalue")
    assert usage.returncode == 2
    assert "is not KEY=VALUE" in usage.stderr


def test_demo_runs_the_samples_and_prints_the_approve_command(settings: Settings) -> None:
    result = vetoflow(settings, "demo")
    assert result.returncode == 0, result.stderr
    assert "Retail kiosk rollout is paused" in result.stdout
    assert "vetoflow approve " in result.stdout
    command = next(line for line in result.stdout.splitlines() if "vetoflow approve" in line)
    run_id = command.split("vetoflow approve ")[1].split()[0]
    approved = vetoflow(settings, "approve", run_id, "--reviewer", "ana")
    assert approved.returncode == 0, approved.stderr


def test_help_teaches(settings: Settings) -> None:
    result = vetoflow(settings, "--help")
    assert "Exit codes:" in result.stdout
    assert "vetoflow approve RUN_ID" in result.stdout


def test_comment_and_comments(settings: Settings, examples: Path) -> None:
    run_id = as_json(vetoflow(settings, "run", examples / "vetoed.yaml", "--json"))["run"]["run_id"]
    added = vetoflow(settings, "comment", run_id, "-m", "see the pilot review [1]", "--reviewer", "ana")
    assert added.returncode == 0, added.stderr
    assert f"added to run {run_id} by ana" in added.stdout
    listed = vetoflow(settings, "comments", run_id)
    assert "ana: see the pilot review [1]" in listed.stdout
    shown = vetoflow(settings, "show", run_id)
    assert "ana: see the pilot review [1]" in shown.stdout
    empty = vetoflow(settings, "comment", run_id, "-m", "  ", "--reviewer", "ana")
    assert empty.returncode == 1
    assert "cannot be empty" in empty.stderr
    missing = vetoflow(settings, "comments", "nope")
    assert missing.returncode == 5
