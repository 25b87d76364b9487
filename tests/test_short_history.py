"""Short and flat histories, and figures that cannot be computed (issue: a 4-row history gave NaN figures).

A segment's `history_csv` may hold as few as 4 rows. Holt's fit estimates 4 parameters, and statsmodels takes
the noise's variance over `rows - 4` degrees of freedom: 0/0 on 4 rows, so every simulated path was NaN, P(loss)
read 0% ("nan < 0" is false), and the CLI crashed drawing the tornado. The fit now works on 4 rows; figures that
still cannot be computed pause the run for a human, say which, and every view shows them as "n/a".
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from numpy.typing import NDArray

from tests.conftest import env_for
from tests.governance_support import governed_settings, people
from vetoflow.cli import cli
from vetoflow.config import Settings
from vetoflow.console import present
from vetoflow.console.charts import npv_histogram, tornado_chart
from vetoflow.console.run_outputs import view_outputs
from vetoflow.console.trace_tab import trace_outputs
from vetoflow.forecasting.montecarlo import forecast_from_paths, simulate_history, simulate_revenue
from vetoflow.governance.digest import json_safe
from vetoflow.governance.messages import facts
from vetoflow.graph import Context
from vetoflow.llm.prompt import NOT_COMPUTABLE, build_messages
from vetoflow.render import out, run_panel
from vetoflow.risk import guard, policy
from vetoflow.runs.service import RunService
from vetoflow.runs.store import open_service
from vetoflow.runs.views import RunView
from vetoflow.scenario import Scenario, load_scenario, validate_scenario
from vetoflow.state import Forecast

FLAT = [100.0, 100.0, 100.0, 100.0]
SHORT_SERIES = {
    "flat": FLAT,
    "linear": [100.0, 110.0, 120.0, 130.0],
    "noisy": [100.0, 105.0, 98.0, 120.0],
    "zeros": [0.0, 0.0, 0.0, 0.0],
}


def scenario_with(history: list[float], **extra: Any) -> Scenario:
    segment = {"name": "Subscriptions", "base_revenue": 100, "margin": 0.5, "history": history}
    data = {"name": "short history", "investment": 200, "horizon": 8, "discount_rate": 0.02, "paths": 500}
    return validate_scenario({**data, "segments": [segment], **extra})


def every_number(node: object) -> Iterator[float]:
    if isinstance(node, bool):
        return
    if isinstance(node, int | float):
        yield float(node)
    elif isinstance(node, dict):
        for value in node.values():
            yield from every_number(value)
    elif isinstance(node, list):
        for value in node:
            yield from every_number(value)


@pytest.mark.parametrize("history", SHORT_SERIES.values(), ids=SHORT_SERIES.keys())
def test_a_history_of_the_documented_minimum_length_gives_finite_figures(
    service: RunService, history: list[float]
) -> None:
    view = service.start(scenario_with(history))
    state = view.state
    assert state.forecast is not None
    assert state.forecast.segment_methods == {"Subscriptions": "exponential_smoothing"}
    assert guard.problems(state.forecast, state.financials, state.scenario.horizon) == []
    numbers = [*every_number(state.forecast.model_dump()), *every_number(state.financials.model_dump())]
    assert numbers
    assert all(math.isfinite(n) for n in numbers)
    assert state.decision is not None
    assert not state.decision.reasons[0].startswith("The figures could not be computed")


def test_a_four_row_history_forecasts_from_its_last_value_with_its_own_trend_and_spread() -> None:
    flat = simulate_history(FLAT, 6, 1000, 7)
    assert np.array_equal(flat, np.full((1000, 6), 100.0))  # nothing ever moved: the forecast does not either
    linear = simulate_history([100.0, 110.0, 120.0, 130.0], 3, 1000, 7)
    assert np.allclose(linear, [140.0, 150.0, 160.0])  # a straight line continues
    noisy = simulate_history([100.0, 105.0, 98.0, 120.0], 12, 4000, 7)
    assert np.isfinite(noisy).all()
    low, median, high = np.percentile(noisy[:, -1], [10, 50, 90])
    assert low < median < high  # the past changes' spread widens the band
    assert median == pytest.approx(120 + 12 * (20 / 3), rel=0.05)  # the mean past change, per period
    assert np.array_equal(noisy, simulate_history([100.0, 105.0, 98.0, 120.0], 12, 4000, 7))  # same seed, same paths


def holt(history: list[float], horizon: int, paths: int, seed: int) -> NDArray[np.float64]:
    """statsmodels' Holt fit and simulation as the Forecaster calls them (on 4 rows: NaN paths)."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = ExponentialSmoothing(np.asarray(history), trend="add", initialization_method="estimated").fit()
        sims = fit.simulate(horizon, repetitions=paths, error="add", random_state=seed)
    return np.asarray(sims, dtype=np.float64).reshape(horizon, paths).T


def test_only_four_rows_leave_holt_s_fit_and_longer_histories_keep_their_numbers(examples: Path) -> None:
    assert np.isnan(holt(FLAT, 6, 50, 7)).all()  # the defect: 4 parameters from 4 rows, 0/0 for the noise
    assert np.isfinite(simulate_history(FLAT, 6, 50, 7)).all()
    sample = load_scenario(examples / "with_history.yaml").segments[0].history
    for history in (sample, [100.0] * 5, [100.0, 110.0, 120.0, 130.0, 140.0]):
        assert history is not None
        expected = np.clip(holt(history, 8, 200, 3), 0.0, None)
        assert np.array_equal(simulate_history(history, 8, 200, 3), expected)  # runs saved earlier replay the same


def test_a_four_row_history_csv_runs_from_the_cli(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "h.csv").write_text("revenue\n100\n100\n100\n100\n")
    (tmp_path / "h8.yaml").write_text(
        "name: short history\ninvestment: 200\nhorizon: 8\ndiscount_rate: 0.02\npaths: 500\n"
        "segments:\n  - name: Subs\n    base_revenue: 100\n    margin: 0.5\n    history_csv: h.csv\n"
    )
    result = CliRunner().invoke(cli, ["run", str(tmp_path / "h8.yaml")], env=env_for(settings))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code == 0, result.output  # 8 periods of 50 profit pay back 200: no veto, done
    assert "could not be computed" not in result.output
    assert "n/a" not in result.output


# -- figures that cannot be computed -------------------------------------------------------------


def unfittable(scenario: Scenario) -> Forecast:
    """The real Forecaster, its 4-row history fitted by Holt as before the fix: a forecast that cannot be computed."""
    revenue, methods = simulate_revenue(scenario)
    history = scenario.segments[0].history
    assert history is not None
    revenue[0] = holt(history, scenario.horizon, scenario.paths, scenario.seed)
    assert np.isnan(revenue[0]).all()
    return forecast_from_paths(scenario, revenue, methods, "exponential_smoothing")


@pytest.fixture
def uncomputable(settings: Settings) -> Iterator[tuple[RunService, str]]:
    """A run whose figures could not be computed, paused (any policy: the figures cannot pass)."""
    with open_service(settings, Context(forecast=unfittable)) as service:
        view = service.start(scenario_with(FLAT, veto_policy={"any_of": ["roi", "loss_probability"]}))
        yield service, view.run.run_id


def test_a_run_whose_figures_cannot_be_computed_waits_for_a_human_naming_each_figure(
    uncomputable: tuple[RunService, str],
) -> None:
    service, run_id = uncomputable
    view = service.view(run_id)
    assert view.status == "paused"
    state = view.state
    assert state.financials is not None
    assert state.forecast is not None
    assert state.forecast.outcomes is not None
    assert math.isnan(state.financials.loss_probability or 0.0)  # not 0%: no path has a computable NPV
    assert math.isnan(state.forecast.outcomes.loss_probability)
    assert math.isnan(state.forecast.outcomes.never_payback_share)
    assert state.decision is not None
    assert state.decision.veto
    reasons = state.decision.reasons
    assert reasons[0].startswith("The figures could not be computed")
    for figure in (
        "The forecast of revenue of segment Subscriptions could not be computed",
        "NPV could not be computed (not a number)",
        "The probability of loss could not be computed (not a number)",
        "The share of paths never paying back could not be computed (not a number)",
        "The median payback could not be computed (not a number)",
        "The NPV histogram could not be computed",
        "The sensitivity analysis (tornado) could not be computed",
    ):
        assert any(reason.startswith(figure) for reason in reasons), (figure, reasons)
    assert len(reasons) == len(set(reasons))
    assert view.pending is not None
    assert view.pending.why_waiting[0].startswith("The figures could not be computed")
    row = service.row(run_id)
    assert row.loss_probability is None or math.isnan(row.loss_probability)  # not 0.0
    [item] = service.inbox()
    assert item.run.loss_probability is None or math.isnan(item.run.loss_probability)


def test_a_probability_of_loss_that_is_not_a_number_vetoes_even_without_the_guard(
    uncomputable: tuple[RunService, str],
) -> None:
    service, run_id = uncomputable
    state = service.view(run_id).state
    assert state.financials is not None
    for rule in ("loss_probability", "roi", "npv"):
        scenario = state.scenario.model_copy(update={"veto_policy": rule, "loss_limit": 1.0, "veto_threshold": -1.0})
        verdict, reasons = policy.decision(state.financials, scenario)
        assert verdict.veto, rule
        assert "could not be computed" in reasons[0]


def cli_output(settings: Settings, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), env=env_for(settings))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_the_cli_shows_traces_compares_and_approves_a_run_whose_figures_cannot_be_computed(
    settings: Settings, uncomputable: tuple[RunService, str], profitable: Scenario
) -> None:
    _, run_id = uncomputable
    code, shown = cli_output(settings, "show", run_id)
    assert code == 0
    assert "P(loss) = P(NPV < 0)  n/a" in shown
    assert "Sensitivity of median NPV (n/a USD)" in shown
    assert "The probability of loss could not be computed" in shown
    assert "nan" not in shown

    code, exported = cli_output(settings, "show", run_id, "--json")
    assert code == 0
    financials = json.loads(exported)["state"]["financials"]
    assert financials["loss_probability"] is None  # not 0.0
    assert financials["npv"] is None

    assert cli_output(settings, "runs")[0] == 0
    assert cli_output(settings, "trace", run_id)[0] == 0
    with open_service(settings) as service:
        computable = service.start(profitable).run.run_id
    code, compared = cli_output(settings, "compare", run_id, computable)
    assert code == 0
    assert "n/a" in compared
    assert "nan" not in compared
    code, approved = cli_output(settings, "approve", run_id, "--reviewer", "ana", "-m", "ok")
    assert code == 0, approved
    assert "completed" in approved
    assert cli_output(settings, "show", run_id)[0] == 0


def test_the_console_draws_a_run_whose_figures_cannot_be_computed(uncomputable: tuple[RunService, str]) -> None:
    service, run_id = uncomputable
    paused = service.view(run_id)
    outputs = view_outputs(paused)
    figures = present.figures(paused)
    assert "| P(loss) = P(NPV < 0) | n/a |" in figures
    assert "| NPV | n/a USD |" in figures
    assert "nan" not in figures
    assert "could not be computed" in present.reasons(paused)
    assert paused.state.forecast is not None
    assert "could not be computed" in npv_histogram(paused.state.forecast.outcomes).layout.title.text
    assert "could not be computed" in tornado_chart(paused.state.forecast.sensitivity).layout.title.text
    assert outputs[12]  # the approval request's text
    assert "nan" not in outputs[12]
    trace_outputs(service, run_id)

    assert paused.state.financials is not None
    notice = dict(facts({"event": "run.paused", "run": {"figures": json_safe(paused.state.financials.model_dump())}}))
    assert notice["NPV"] == notice["ROI"] == "n/a"

    done = service.decide(run_id, "approve", reviewer="ana", comment="ok")
    assert done.status == "completed"
    view_outputs(done)
    out.print(run_panel(done))
    assert done.state.summary is not None
    assert "nan" not in done.state.summary.text


def test_runs_saved_with_such_figures_still_render(uncomputable: tuple[RunService, str]) -> None:
    """A run stored before the fix: P(loss) 0.0 beside NaN NPVs (as the reviewer found it)."""
    service, run_id = uncomputable
    view = service.view(run_id)
    assert view.state.financials is not None
    old = view.state.financials.model_copy(update={"loss_probability": 0.0, "never_payback_share": 1.0})
    stored = RunView.model_validate(view.model_dump() | {"state": view.state.model_copy(update={"financials": old})})
    out.print(run_panel(stored))
    view_outputs(stored)
    assert guard.problems(stored.state.forecast, old, stored.state.scenario.horizon)


def test_the_llm_is_told_which_figures_could_not_be_computed_never_shown_nan(
    uncomputable: tuple[RunService, str],
) -> None:
    service, run_id = uncomputable
    done = service.decide(run_id, "approve", reviewer="ana", comment="ok")
    system, _ = build_messages(done.state)
    shown = json.loads(system.rsplit("<figures>", 1)[1].split("</figures>")[0], parse_constant=refuse_constant)
    assert shown["financials"]["npv"] == shown["financials"]["loss_probability"] == NOT_COMPUTABLE
    assert shown["financials"]["investment"] == done.state.scenario.investment, "computable figures stay numbers"
    assert "NaN" not in system
    assert 'given as "not computable" could not be computed' in system


def refuse_constant(name: str) -> float:
    raise AssertionError(f"{name} in the figures the LLM is shown")


ROUTED_ON_FIGURES = """\
tiers:
  - name: fast_track
    when: {roi_at_least: 0.5, npv_at_least: 0}
    approvers: {roles: [approver]}
  - name: board
    approvers: {roles: [approver], count: 2}
"""


def test_a_run_whose_figures_cannot_be_computed_is_never_fast_tracked(settings: Settings, tmp_path: Path) -> None:
    governed = governed_settings(settings, tmp_path, ROUTED_ON_FIGURES)
    people(governed)
    with open_service(governed, Context(forecast=unfittable)) as service:
        view = service.start(scenario_with(FLAT))
    assert view.status == "paused"
    assert view.approval is not None
    assert (view.approval.tier, view.approval.progress) == ("board", "0 of 2")
