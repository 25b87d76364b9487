"""The run view's charts on runs the real graph made: investment line, break-even, units, bands, currency ticks."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import accumulate
from pathlib import Path

import pytest

from vetoflow.config import Settings
from vetoflow.console.chart_format import compact, compact_money, period_ticks
from vetoflow.console.charts import HATCHES, SEGMENT_COLOURS, npv_histogram, run_fan_chart, tornado_chart
from vetoflow.runs.service import RunService
from vetoflow.runs.store import open_service
from vetoflow.scenario import Scenario, load_scenario
from vetoflow.state import RunState


@pytest.fixture
def runs(tmp_path: Path) -> Iterator[RunService]:
    with open_service(Settings(home=tmp_path / "home", database_url=None)) as service:
        yield service


def run(service: RunService, scenario: Scenario) -> RunState:
    return service.start(scenario).state


def by_name(figure: object, prefix: str) -> list[object]:
    return [trace for trace in figure.data if (trace.name or "").startswith(prefix)]  # type: ignore[attr-defined]


def test_fan_chart_draws_cumulative_profit_against_the_investment_and_marks_break_even(
    runs: RunService, profitable: Scenario
) -> None:
    state = run(runs, profitable)  # EUR, 12 quarters, pays back
    assert state.forecast is not None
    figure = run_fan_chart(state)
    [investment] = by_name(figure, "investment")
    assert list(investment.y) == [700_000, 700_000]  # type: ignore[attr-defined]
    assert investment.name == "investment €700k"  # type: ignore[attr-defined]
    [cumulative] = by_name(figure, "cumulative profit")
    expected = list(accumulate(state.forecast.profit.p50))
    assert list(cumulative.y) == pytest.approx(expected)  # type: ignore[attr-defined]
    [marker] = by_name(figure, "break-even")
    crossing = marker.x[0]  # type: ignore[attr-defined]
    period = next(p for p, total in enumerate(expected, start=1) if total >= 700_000)
    assert period - 1 < crossing <= period
    assert marker.name == f"break-even: quarter {crossing:.1f}"  # type: ignore[attr-defined]
    assert list(figure.layout.xaxis3.ticktext) == [f"quarter {p}" for p in range(1, 13)]
    assert figure.layout.xaxis3.title.text == "quarter"
    assert "€700k" in figure.layout.yaxis.ticktext or "€500k" in figure.layout.yaxis.ticktext
    assert all(text.startswith(("€", "-€")) for text in figure.layout.yaxis2.ticktext)


def test_a_plan_that_never_pays_back_says_so_on_the_chart(runs: RunService, vetoed: Scenario) -> None:
    state = run(runs, vetoed)
    figure = run_fan_chart(state)
    assert by_name(figure, "break-even") == []
    notes = [note.text for note in figure.layout.annotations]
    assert f"no break-even within {vetoed.horizon} quarters" in notes
    assert "Revenue and profit per quarter" in notes


def test_a_scenario_without_a_unit_says_period_and_one_with_a_unit_uses_it(runs: RunService, examples: Path) -> None:
    scenario = load_scenario(examples / "borderline.yaml")
    assert scenario.period_unit is None
    assert "period_unit" not in scenario.model_dump()  # unset left out: digests of older pauses stay equal
    unlabelled = run_fan_chart(run(runs, scenario))
    assert list(unlabelled.layout.xaxis3.ticktext) == [f"period {p}" for p in range(1, 11)]
    yearly = scenario.model_copy(update={"period_unit": "year", "horizon": 5})
    figure = run_fan_chart(run(runs, yearly))
    assert list(figure.layout.xaxis3.ticktext) == [f"year {p}" for p in range(1, 6)]
    assert yearly.model_dump()["period_unit"] == "year"


def test_segment_bands_have_their_own_colour_hatch_and_outline(runs: RunService, profitable: Scenario) -> None:
    many = profitable.model_copy(
        update={"segments": [s.model_copy(update={"name": f"S{i}"}) for i in range(3) for s in profitable.segments[:1]]}
    )
    figure = run_fan_chart(run(runs, many))
    fills = [t for t in figure.data if t.fill == "tonexty" and t.xaxis == "x3"]
    assert len(fills) == 3
    styles = {(t.fillpattern.fgcolor, t.fillpattern.shape) for t in fills}
    assert styles == {(SEGMENT_COLOURS[i], HATCHES[i]) for i in range(3)}
    assert all(t.line.width and t.line.dash == "dot" for t in fills)  # P10 outline drawn, not invisible
    legend = {t.name for t in figure.data if t.showlegend is not False and t.xaxis == "x3"}
    assert legend == {f"S{i} (P50, band P10-P90)" for i in range(3)}


def test_histogram_and_tornado_ticks_read_as_money(runs: RunService, examples: Path) -> None:
    state = run(runs, load_scenario(examples / "borderline.yaml"))
    assert state.forecast is not None
    histogram = npv_histogram(state.forecast.outcomes, "USD")
    assert "$0" in histogram.layout.xaxis.ticktext
    assert all(text.startswith(("$", "-$")) for text in histogram.layout.xaxis.ticktext)
    tornado = tornado_chart(state.forecast.sensitivity, "USD")
    assert tornado.layout.title.text.startswith("Sensitivity: median NPV -$")
    assert all(text.startswith(("$", "-$")) for text in tornado.layout.xaxis.ticktext)


@pytest.mark.parametrize(
    ("value", "text"),
    [(1_200_000, "1.2M"), (950_000, "950k"), (-300_000, "-300k"), (1_250_000, "1.25M"), (12.5, "12.5"), (0, "0"),
     (2.5e9, "2.5B"), (999_999, "1M")],
)  # fmt: skip
def test_compact_numbers_read_as_a_finance_reader_writes_them(value: float, text: str) -> None:
    assert compact(value) == text


def test_money_carries_its_currency_and_periods_their_unit() -> None:
    assert compact_money(1_200_000, "USD") == "$1.2M"
    assert compact_money(-950_000, "EUR") == "-€950k"
    assert compact_money(950_000, "SEK") == "950k SEK"
    ticks, texts = period_ticks(120, "month")
    assert len(ticks) <= 13
    assert texts[0] == "month 1"
    assert texts[-1] == "month 120"


def test_a_narrow_spread_far_below_zero_stays_readable(runs: RunService, vetoed: Scenario) -> None:
    """The audit's plan: 3M invested for 1,000 of revenue; every NPV sits in a band a few pounds wide."""
    tiny = vetoed.model_copy(
        update={
            "currency": "GBP",
            "investment": 3_000_000.0,
            "segments": [s.model_copy(update={"base_revenue": 1_000.0}) for s in vetoed.segments],
        }
    )
    state = run(runs, tiny)
    assert state.forecast is not None
    histogram = npv_histogram(state.forecast.outcomes, "GBP")
    assert not histogram.layout.shapes, "no zero line squeezing the bars against it"
    assert "zero is off the chart, right of every path" in histogram.layout.title.subtitle.text
    ticks = histogram.layout.xaxis.ticktext
    assert len(set(ticks)) == len(ticks), ticks
    tornado = tornado_chart(state.forecast.sensitivity, "GBP")
    labels = tornado.layout.xaxis.ticktext
    assert len(set(labels)) == len(labels), labels


def test_the_charts_leave_plotly_room_to_fit_a_phone(runs: RunService, examples: Path) -> None:
    """What lets plotly lay them out on a 390 px screen (tests/test_screenshots.py measures the result):
    short titles, margins that grow, the legend in the bottom margin, room above the break-even label."""
    state = run(runs, load_scenario(examples / "borderline.yaml"))  # break-even late, in period 9.6
    assert state.forecast is not None
    figure = run_fan_chart(state)
    titles = [note.text for note in figure.layout.annotations][:3]
    assert titles == ["Cumulative profit vs investment", "Revenue and profit per period", "Revenue per segment"]
    assert all(axis.automargin for axis in (figure.layout.xaxis3, figure.layout.yaxis, figure.layout.yaxis3))
    assert (figure.layout.legend.yref, figure.layout.legend.y) == ("container", 0)
    [marker] = by_name(figure, "break-even")
    assert marker.textposition == "top left", "towards the middle of the panel"  # type: ignore[attr-defined]
    investment = max(marker.y)  # type: ignore[attr-defined]
    assert figure.layout.yaxis.range[1] > investment * 1.1, "room above the label, under the panel's title"
    histogram = npv_histogram(state.forecast.outcomes)
    assert histogram.layout.title.text == "55% lose money (NPV < 0)"
    assert histogram.layout.title.subtitle.text == "NPV of the simulated paths"
    assert histogram.layout.title.automargin
    tornado = tornado_chart(state.forecast.sensitivity)
    assert tornado.layout.margin.l == 20, "the input names make their own room"
    assert tornado.layout.yaxis.automargin
