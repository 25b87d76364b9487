"""The same request gives the same result from the CLI, the API and the console: one service, one root."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from gradio_client import Client

from tests.conftest import env_for
from tests.console_helpers import ANA, overrule_veto, serve_console
from tests.custom_context import MODEL
from vetoflow.api import create_app
from vetoflow.cli import cli
from vetoflow.config import Settings
from vetoflow.console import present
from vetoflow.plaintext import md
from vetoflow.runs.store import open_service
from vetoflow.scenario import Scenario

FACTORY = "tests.custom_context:house_context"


@pytest.fixture
def house(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings whose composition root loads the installation's own client, as VETOFLOW_CONTEXT_FACTORY does."""
    monkeypatch.setenv("VETOFLOW_CONTEXT_FACTORY", FACTORY)
    return settings.model_copy(update={"context_factory": FACTORY})


def paused_run(settings: Settings, vetoed: Scenario) -> str:
    with open_service(settings) as service:
        return service.start(vetoed).run.run_id


def cli_env(settings: Settings) -> dict[str, str]:
    env = env_for(settings)
    env["VETOFLOW_CONTEXT_FACTORY"] = FACTORY
    return env


@pytest.fixture
def api(house: Settings) -> Iterator[TestClient]:
    app = create_app(house.model_copy(update={"api_open": True}))  # opens its own service, as `serve` does
    with TestClient(app, client=("127.0.0.1", 5000)) as http:
        yield http


@pytest.mark.slow
def test_the_configured_client_writes_the_summary_from_every_front_end(
    house: Settings, vetoed: Scenario, api: TestClient
) -> None:
    from_cli, from_api, from_console = (paused_run(house, vetoed) for _ in range(3))

    result = CliRunner().invoke(cli, ["approve", from_cli, "--reviewer", "ana", "--json"], env=cli_env(house))
    assert result.exit_code == 0, result.output
    assert api.post(f"/runs/{from_api}/decision", json={"action": "approve"}).status_code == 200
    with serve_console(house) as console:
        overrule_veto(Client(console.url, auth=ANA, verbose=False), from_console, "ok")

    with open_service(house) as service:
        writers = {run_id: service.view(run_id).state.summary for run_id in (from_cli, from_api, from_console)}
    assert {run_id: summary.model if summary else None for run_id, summary in writers.items()} == {
        from_cli: MODEL,
        from_api: MODEL,
        from_console: MODEL,
    }


def test_replay_defaults_to_the_revised_scenario_from_the_cli_and_the_api(
    house: Settings, vetoed: Scenario, api: TestClient, tmp_path: Path
) -> None:
    run_id = paused_run(house, vetoed)
    with open_service(house) as service:
        revised = service.decide(run_id, "revise", reviewer="ana", overrides={"investment": 900_000})
    args = ["replay", run_id, "--json"]
    result = CliRunner().invoke(cli, args, env=cli_env(house), catch_exceptions=False)
    assert result.exit_code in (0, 3), result.output
    from_api = api.post(f"/runs/{run_id}/replay").json()
    with open_service(house) as service:
        replays = [service.view(r.replay_run_id) for r in service.trace_inputs(run_id).replays]
    scenarios = {view.state.scenario.investment for view in replays}
    assert len(replays) == 2
    assert scenarios == {900_000}
    assert from_api["state"]["scenario"]["investment"] == revised.state.scenario.investment
    assert [view.state.financials for view in replays] == [revised.state.financials] * 2


def test_a_bad_replay_names_the_input_as_each_front_end_spells_it(
    house: Settings, vetoed: Scenario, api: TestClient
) -> None:
    run_id = paused_run(house, vetoed)
    missing = f"run {run_id} has no checkpoint 'abc'"
    by_cli = CliRunner().invoke(cli, ["replay", run_id, "--checkpoint", "abc"], env=cli_env(house))
    assert by_cli.exit_code == 1
    assert f"Error: --checkpoint: {missing}" in by_cli.stderr
    by_api = api.post(f"/runs/{run_id}/replay", json={"checkpoint_id": "abc"})
    assert by_api.status_code == 422
    assert by_api.json()["error"] == f"checkpoint_id: {missing} (its history lists them)"
    unreached = CliRunner().invoke(cli, ["replay", run_id, "--from", "synthesizer"], env=cli_env(house))
    assert f"Error: --from: run {run_id} never reached synthesizer" in unreached.stderr
    assert "vetoflow" not in api.post(f"/runs/{run_id}/replay", json={"from_node": "synthesizer"}).json()["error"]


def test_a_one_dollar_plan_s_reasons_read_the_same_in_the_cli_the_api_and_the_console(
    house: Settings, profitable: Scenario, api: TestClient
) -> None:
    with open_service(house) as service:
        view = service.start(profitable.model_copy(update={"investment": 1, "name": "One dollar plan"}))
    assert view.state.decision is not None
    reasons = view.state.decision.reasons
    assert reasons[1].startswith("Some figures are outside the credible range")

    shown = CliRunner().invoke(cli, ["show", view.run.run_id], env=cli_env(house))
    assert shown.exit_code == 0, shown.output
    words = re.sub(r"[│╭╮╰╯─\s]+", " ", shown.output)  # the panel's borders and its line breaks
    from_api = api.get(f"/runs/{view.run.run_id}").json()["state"]["decision"]["reasons"]
    from_console = present.reasons(view)
    for reason in reasons:
        assert reason in words
        assert md(reason) in from_console
    assert from_api == reasons
