"""The risk figures as people see them: `vetoflow show`, console charts, prompt, grounding, comparisons."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.rag_helpers import decided_state
from tests.test_cli import vetoflow
from vetoflow.config import Settings
from vetoflow.console.charts import npv_histogram, tornado_chart
from vetoflow.console.words import input_label
from vetoflow.llm.grounding import check
from vetoflow.llm.offline import OfflineSynthesizer
from vetoflow.llm.prompt import figures_payload
from vetoflow.risk import plausibility
from vetoflow.risk.compare import compare
from vetoflow.scenario import Scenario, apply_overrides, load_scenario


@pytest.fixture
def borderline(examples: Path) -> Scenario:
    return load_scenario(examples / "borderline.yaml")


@pytest.mark.slow  # whole `vetoflow` processes (or a browser): the full suite runs it
def test_show_prints_the_risk_block_and_a_text_tornado(settings: Settings, examples: Path) -> None:
    assert vetoflow(settings, "run", examples / "borderline.yaml").returncode == 3
    run_id = vetoflow(settings, "runs", "--json").stdout.split('"run_id": "')[1][:12]
    shown = vetoflow(settings, "show", run_id).stdout
    for text in (
        "P(loss) = P(NPV < 0)",
        "55.2%",
        "NPV P10 to P90",
        "expected shortfall",
        "IRR",
        "path-wise: percentiles over the simulated paths",
        "Sensitivity of median NPV (-20,249 USD), widest swing first:",
        "segments.Warehousing.base_revenue",
    ):
        assert text in shown, text


def test_npv_histogram_shades_losses_and_states_the_loss_share(borderline: Scenario) -> None:
    state = decided_state(borderline)
    assert state.forecast is not None
    assert state.forecast.outcomes is not None
    figure = npv_histogram(state.forecast.outcomes, "USD")
    bars = figure.data[0]
    colours = list(bars.marker.color)
    assert {c for x, c in zip(bars.x, colours, strict=True) if x < 0} == {"#dc2626"}
    assert "#dc2626" not in {c for x, c in zip(bars.x, colours, strict=True) if x > 0}
    assert sum(bars.y) == pytest.approx(1.0)
    assert "55% lose money" in figure.layout.title.text
    assert any(shape.x0 == 0 for shape in figure.layout.shapes)  # the zero line


def test_tornado_chart_puts_the_widest_swing_on_top(borderline: Scenario) -> None:
    state = decided_state(borderline)
    assert state.forecast is not None
    sensitivity = state.forecast.sensitivity
    assert sensitivity is not None
    figure = tornado_chart(sensitivity, "USD")
    top = input_label(sensitivity.bars[0].input)  # in words: "Warehousing: margin", not the override key
    assert list(figure.data[0].y)[-1] == top  # plotly's last category is drawn on top
    assert list(figure.data[1].customdata)[-1] == sensitivity.bars[0].npv_high


def test_charts_say_when_a_run_has_no_paths() -> None:
    assert "not available" in npv_histogram(None).layout.title.text
    assert "not available" in tornado_chart(None).layout.title.text


def test_prompt_carries_the_risk_figures_and_grounding_accepts_them(borderline: Scenario) -> None:
    state = decided_state(borderline)
    payload = figures_payload(state)
    assert payload["financials"]["loss_probability"] == pytest.approx(0.5524)
    assert payload["most_sensitive_inputs"][0] == "segments.Warehousing.base_revenue"
    summary = OfflineSynthesizer().summarize(state)
    assert "55% of simulated outcomes lose money" in summary.text
    assert check(summary.text, state) == []
    assert state.financials is not None
    written = f"Expected shortfall {state.financials.expected_shortfall:,.0f} USD; IRR {state.financials.irr:.1%}."
    assert check(written, state) == []
    assert check("The probability of loss is 35%; NPV ranges up to 950,000 USD.", state) == ["35%", "950,000 USD"]


def test_grounding_accepts_the_numbers_a_plausibility_flag_states_and_no_other(profitable: Scenario) -> None:
    """A summary that quotes the flag the prompt carries ("ROI (P50) of 2,920.1% is above 1,000.0%") is not
    flagged for the bound; a bound the flag never stated still is."""
    tiny = profitable.model_copy(update={"investment": 50_000.0, "name": "Tiny plan 2024"})
    state = decided_state(tiny)
    assert state.forecast is not None
    assert state.financials is not None
    state = state.model_copy(update={"plausibility": plausibility.flags(tiny, state.forecast, state.financials)})
    [flag] = state.plausibility
    assert "is above 1,000.0%" in flag.message
    assert check(f"Note: {flag.message}.", state) == []
    assert check("ROI well above 1,000% calls for a check of the inputs.", state) == []
    assert check("ROI above 2,000% calls for a check of the inputs; see the 2024 plan.", state) == ["2,000%", "2024"]


def test_compare_puts_inputs_changed_and_risk_figures_side_by_side(borderline: Scenario) -> None:
    revised = apply_overrides(borderline, {"investment": 300_000, "segments.Warehousing.margin": 0.3})
    result = compare(decided_state(borderline), decided_state(revised))
    assert {(c.key, c.a, c.b) for c in result.inputs_changed} == {
        ("investment", 420_000, 300_000),
        ("segments.Warehousing.margin", 0.25, 0.3),
    }
    rows = {row.key: row for row in result.figures}
    assert rows["loss_probability"].a == "55.2%"
    assert isinstance(rows["loss_probability"].b_value, float)
    assert rows["loss_probability"].b_value < 0.2
    assert rows["decision"].a == "veto"
    assert rows["decision"].b == "no veto"
    assert rows["method"].a == "path-wise"
