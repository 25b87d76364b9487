"""Comparing two runs: once at the service, then thinly through the API (TestClient) and the console handler."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from vetoflow.api import create_app
from vetoflow.config import Settings
from vetoflow.console.compare import compare_outputs, run_choices
from vetoflow.console.words import input_label
from vetoflow.risk.compare import RunComparison
from vetoflow.runs.service import RunService
from vetoflow.runs.store import open_service
from vetoflow.scenario import load_scenario

TOKEN = "compare-token-0123456789abcdef"


@pytest.fixture
def service(home: Settings) -> Iterator[RunService]:
    with open_service(home) as opened:
        yield opened


@pytest.fixture
def pair(service: RunService, examples: Path) -> tuple[str, str]:
    """A borderline plan (vetoed) and its replay with a smaller investment and a better margin."""
    original = service.start(load_scenario(examples / "borderline.yaml")).run.run_id
    overrides = {"investment": 300_000, "segments.Warehousing.margin": 0.3}
    replayed = service.replay(original, from_node="forecaster", overrides=overrides).new.run.run_id
    return original, replayed


def test_the_service_compares_inputs_figures_and_distributions(service: RunService, pair: tuple[str, str]) -> None:
    a, b = pair
    result = service.compare(a, b)
    assert (result.run_a, result.run_b) == (a, b)
    assert {(c.key, c.a, c.b) for c in result.inputs_changed} == {
        ("investment", 420_000, 300_000),
        ("segments.Warehousing.margin", 0.25, 0.3),
    }
    rows = {row.key: row for row in result.figures}
    assert rows["loss_probability"].a == "55.2%"
    assert rows["decision"].a == "veto"
    assert rows["decision"].b == "no veto"
    side_a, side_b = result.sides
    for side, run_id in ((side_a, a), (side_b, b)):
        state = service.view(run_id).state
        assert state.forecast is not None
        assert side.outcomes == state.forecast.outcomes  # the histograms to overlay, exactly as computed
        assert side.run_id == run_id
    assert side_b.outcomes is not None
    assert side_b.outcomes.loss_probability == rows["loss_probability"].b_value


def test_the_api_returns_the_same_comparison(home: Settings, service: RunService, pair: tuple[str, str]) -> None:
    a, b = pair
    settings = home.model_copy(update={"api_tokens": SecretStr(f"{TOKEN}:ana")})
    with TestClient(create_app(settings, service=service), client=("127.0.0.1", 5000)) as http:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        response = http.get(f"/runs/{a}/compare/{b}", headers=headers)
        assert response.status_code == 200, response.text
        assert RunComparison.model_validate(response.json()) == service.compare(a, b)
        missing = http.get(f"/runs/{a}/compare/nope", headers=headers)
        assert missing.status_code == 404
        assert "no run with id 'nope'" in missing.json()["error"]
        assert http.get(f"/runs/{a}/compare/{b}").status_code == 401
        assert http.get(f"/runs/{a}/compare/{b}?with=x", headers=headers).status_code == 422
        assert "/runs/{run_a}/compare/{run_b}" in http.get("/openapi.json").json()["paths"]


def test_the_console_shows_two_runs_side_by_side_with_overlaid_histograms(
    service: RunService, pair: tuple[str, str]
) -> None:
    a, b = pair
    shown = compare_outputs(service, a, b)
    assert shown.message.startswith("**A** Logistics automation")
    assert ["Warehousing: margin", "0.25", "0.3"] in shown.inputs
    assert ["investment", "420,000", "300,000"] in shown.inputs
    assert ["P(loss) = P(NPV < 0)", "55.2%", shown.figures[3][2]] == shown.figures[3]
    names = [trace.name for trace in shown.chart.data]
    assert names[0] == f"A {a}: 55% lose money"
    assert names[1].startswith(f"B {b}: ")
    listed = {(value, label.rsplit(" · ", 1)[1]) for label, value in run_choices(service)}
    assert {(a, "paused"), (b, "paused")} <= listed  # a replay with changed inputs of a vetoed run waits too


def test_the_console_says_what_is_missing_instead_of_failing(service: RunService, pair: tuple[str, str]) -> None:
    assert "Pick two runs" in compare_outputs(service, pair[0], "").message
    refused = compare_outputs(service, pair[0], "nope")
    assert "no run with id 'nope'" in refused.message
    assert refused.figures == []
    assert input_label("segments.Warehousing.growth_mean") == "Warehousing: growth"


def test_the_cli_comparison_prints_names_and_segment_keys_as_written(home: Settings, examples: Path) -> None:
    import io

    from click.testing import CliRunner
    from rich.console import Console

    from vetoflow.cli import cli
    from vetoflow.cli.compare import comparison_tables

    hostile = "[bold red]X[/] \x1b[31mRED \u202eevil"
    base = load_scenario(examples / "borderline.yaml")
    segments = [s.model_copy(update={"name": f"[link=http://x]{s.name}[/link]"}) for s in base.segments]
    with open_service(home) as service:
        first = service.start(base.model_copy(update={"name": hostile, "segments": segments})).run.run_id
        key = f"segments.{segments[0].name}.margin"
        second = service.replay(first, from_node="forecaster", overrides={key: 0.3}).new.run.run_id
        result = service.compare(first, second)
    shown = CliRunner().invoke(cli, ["--home", str(home.home), "compare", first, second])
    assert shown.exit_code == 0, shown.output
    assert "\x1b" not in shown.output
    assert "\u202e" not in shown.output
    wide = Console(width=400, record=True, file=io.StringIO())  # one line per row: nothing wraps the key
    for table in comparison_tables(result):
        wide.print(table)
    assert key in wide.export_text(), "the segment key as written, markup and all"


def test_runs_in_two_currencies_are_compared_side_by_side_but_not_on_one_money_axis(
    service: RunService, examples: Path
) -> None:
    usd = service.start(load_scenario(examples / "borderline.yaml")).run.run_id
    eur = service.start(load_scenario(examples / "profitable.yaml")).run.run_id
    shown = compare_outputs(service, usd, eur)
    assert "different currencies (USD, EUR)" in shown.message
    assert shown.figures, "the figures table is still there, each side in its own currency"
    assert list(shown.chart.data) == []
    assert "NPVs not overlaid: USD and EUR share no axis" in shown.chart.layout.title.text
