"""Console charts: the forecast fan chart with cumulative profit against the investment, the NPV histogram
of the simulated paths, and the tornado. Axes carry the scenario's currency and period unit.

Plotly renders HTML tags and fills `%{...}` in the text it draws, so every public builder passes the user
text it is given (segment and run names, currency, unit, tornado labels) through `chart_text` first, once.
"""

from __future__ import annotations

import math
from itertools import accumulate, pairwise

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from vetoflow.console.chart_format import compact_money, money_ticks, period_ticks
from vetoflow.console.chart_layout import BOTTOM_LEGEND, TITLE_FONT, responsive, titled
from vetoflow.console.words import input_label
from vetoflow.formatting import figure
from vetoflow.plaintext import chart_text
from vetoflow.state import Band, Forecast, Outcomes, RunState, Sensitivity

PALETTE = ("#2563eb", "#059669", "#d97706", "#db2777", "#7c3aed", "#0891b2", "#65a30d", "#dc2626")
# Segments: the Okabe-Ito colour-blind-safe palette with a hatch each; 8 colours x 7 hatches never repeat a pair
# within the 50 segments a scenario may have.
SEGMENT_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#000000", "#B8A000")
HATCHES = ("/", "\\", "x", ".", "-", "|", "+")
INVESTMENT_COLOUR = "#111827"
NOT_COMPUTABLE = "could not be computed (the figures are not finite numbers; the run waits for a human)"
NOT_COMPUTABLE_WHY = "the figures are not finite numbers;<br>the run waits for a human"
NOT_AVAILABLE_WHY = "band-only forecast, or a run from an older release"
ROWS = ("Cumulative profit vs investment", "Revenue and profit per {unit}", "Revenue per segment")
"""The fan chart's panel titles: short enough for a 390 px phone (a title wider than its panel is cut off)."""
HEADROOM = 0.18
"""Room above the top panel's highest value, so the break-even label never reaches the panel's title."""


def rgba(hex_colour: str, alpha: float) -> str:
    red, green, blue = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


def segment_style(index: int) -> tuple[str, str]:
    """The (colour, hatch) of the index-th segment (sorted by name)."""
    return SEGMENT_COLOURS[index % len(SEGMENT_COLOURS)], HATCHES[index % len(HATCHES)]


def _fan(fig: go.Figure, band: Band, label: str, colour: str, row: int, currency: str, hatch: str | None) -> None:
    """P90 and P10 as thin dashed outlines with the band filled between them (hatched for segments), P50 solid."""
    periods = list(range(1, len(band.p50) + 1))
    group = f"{label}-{row}"
    outline = {"color": colour, "width": 1, "dash": "dot"}

    def hover(level: str, values: list[float]) -> dict[str, object]:
        texts = [compact_money(v, currency) for v in values]
        return {"customdata": texts, "hovertemplate": f"{level} %{{customdata}}<extra>{label}</extra>"}

    fig.add_trace(
        go.Scatter(x=periods, y=band.p90, mode="lines", line=outline, legendgroup=group, showlegend=False,
                   name=f"{label} P90", **hover("P90", band.p90)),
        row=row, col=1,
    )  # fmt: skip
    pattern = {"shape": hatch, "fgcolor": colour, "solidity": 0.25} if hatch else None
    fig.add_trace(
        go.Scatter(x=periods, y=band.p10, mode="lines", line=outline, fill="tonexty", fillcolor=rgba(colour, 0.15),
                   fillpattern=pattern, legendgroup=group, showlegend=False, name=f"{label} P10",
                   **hover("P10", band.p10)),
        row=row, col=1,
    )  # fmt: skip
    fig.add_trace(
        go.Scatter(x=periods, y=band.p50, mode="lines+markers", line={"color": colour, "width": 2.5},
                   marker={"size": 5}, legendgroup=group, name=f"{label} (P50, band P10-P90)",
                   **hover("P50", band.p50)),
        row=row, col=1,
    )  # fmt: skip


def break_even(cumulative: list[float], investment: float) -> float | None:
    """The (interpolated) period where cumulative profit first reaches the investment, or None within the horizon."""
    previous = 0.0
    for period, total in enumerate(cumulative, start=1):
        if total >= investment:
            step = total - previous
            return period - 1 + ((investment - previous) / step if step > 0 else 1.0)
        previous = total
    return None


def _cumulative(fig: go.Figure, forecast: Forecast, investment: float, currency: str, unit: str) -> list[float]:
    periods = list(range(1, forecast.periods + 1))
    cumulative = list(accumulate(forecast.profit.p50))
    texts = [compact_money(v, currency) for v in cumulative]
    fig.add_trace(
        go.Scatter(x=periods, y=cumulative, mode="lines+markers", line={"color": PALETTE[1], "width": 3},
                   name="cumulative profit (sum of P50 per period)", customdata=texts,
                   hovertemplate="cumulative profit %{customdata}<extra></extra>"),
        row=1, col=1,
    )  # fmt: skip
    fig.add_trace(
        go.Scatter(x=[0.5, forecast.periods + 0.5], y=[investment, investment], mode="lines",
                   line={"color": INVESTMENT_COLOUR, "width": 2, "dash": "dash"},
                   name=f"investment {compact_money(investment, currency)}", hoverinfo="skip"),
        row=1, col=1,
    )  # fmt: skip
    crossing = break_even(cumulative, investment)
    if not all(math.isfinite(v) for v in cumulative):
        fig.add_annotation(
            text=f"cumulative profit {NOT_COMPUTABLE}", x=forecast.periods, y=investment,
            xanchor="right", yanchor="bottom", showarrow=False, font={"color": "#b91c1c"}, row=1, col=1,
        )  # fmt: skip
    elif crossing is None:
        fig.add_annotation(
            text=f"no break-even within {forecast.periods} {unit}s", x=forecast.periods, y=investment,
            xanchor="right", yanchor="bottom", showarrow=False, font={"color": "#b91c1c"}, row=1, col=1,
        )  # fmt: skip
    else:
        label = f"break-even: {unit} {crossing:.1f}"
        side = "top left" if crossing > forecast.periods / 2 else "top right"  # towards the middle, never off the edge
        fig.add_trace(
            go.Scatter(x=[crossing], y=[investment], mode="markers+text", text=[label], textposition=side,
                       marker={"color": "#b91c1c", "size": 12, "symbol": "diamond"}, name=label,
                       hoverinfo="skip", cliponaxis=False),
            row=1, col=1,
        )  # fmt: skip
    return [*cumulative, investment]


def fan_chart(
    forecast: Forecast | None, currency: str = "USD", *, investment: float | None = None, period_unit: str = "period"
) -> go.Figure:
    """Top: cumulative profit against the investment, break-even marked. Middle: revenue and profit per period.
    Bottom: revenue per segment, each band its own colour and hatch. Empty figure until a forecast exists."""
    currency, period_unit = chart_text(currency), chart_text(period_unit)
    fig = make_subplots(
        rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.08,
        subplot_titles=[title.format(unit=period_unit) for title in ROWS],
    )  # fmt: skip
    if forecast:
        row_values: list[list[float]] = [[], [], []]
        if investment is not None:
            row_values[0] = _cumulative(fig, forecast, investment, currency, period_unit)
        for band, label, colour in ((forecast.revenue, "Revenue", PALETTE[0]), (forecast.profit, "Profit", PALETTE[1])):
            _fan(fig, band, label, colour, 2, currency, None)
            row_values[1] += [*band.p10, *band.p90]
        for index, (name, band) in enumerate(sorted(forecast.segments.items())):
            colour, hatch = segment_style(index)
            _fan(fig, band, chart_text(name), colour, 3, currency, hatch)
            row_values[2] += [*band.p10, *band.p90]
        for row, values in enumerate(row_values, start=1):
            if values:
                ticks, texts = money_ticks(values, currency)
                fig.update_yaxes(tickvals=ticks, ticktext=texts, row=row, col=1)
                if row == 1:  # room above the investment line for the break-even label, below the panel title
                    low, high = min([*values, 0.0]), max(values)
                    fig.update_yaxes(range=[low, high + HEADROOM * max(high - low, 1.0)], row=1, col=1)
        ticks_x, texts_x = period_ticks(forecast.periods, period_unit)
        fig.update_xaxes(tickvals=ticks_x, ticktext=texts_x)
    fig.update_annotations(font_size=TITLE_FONT)
    fig.update_layout(
        height=820,
        margin={"l": 60, "r": 20, "t": 50, "b": 20},
        template="plotly_white",
        legend=BOTTOM_LEGEND,
        hovermode="x unified",
    )  # fmt: skip  the legend sits in the bottom margin, under the axis title, never over it
    fig.update_yaxes(title_text=currency)
    fig.update_xaxes(title_text=period_unit, row=3, col=1)
    responsive(fig)
    return fig


def run_fan_chart(state: RunState | None) -> go.Figure:
    """The fan chart of a run: its forecast, with its scenario's currency, investment and period unit."""
    if state is None:
        return fan_chart(None)
    scenario = state.scenario
    return fan_chart(
        state.forecast, scenario.currency, investment=scenario.investment, period_unit=scenario.period_word
    )


def npv_histogram(outcomes: Outcomes | None, currency: str = "USD", other: Outcomes | None = None) -> go.Figure:
    """Simulated NPVs: bars left of the zero line (losses) shaded red, with P(loss) in the title.

    With `other`, a second run's distribution is overlaid as a line, for comparing two runs.
    """
    currency = chart_text(currency)
    fig = go.Figure()
    if outcomes is not None and outcomes.npv_histogram.counts:
        _npv_bars(fig, outcomes, "this run" if other else "paths")
        if other is not None and other.npv_histogram.counts:
            edges, counts = other.npv_histogram.edges, other.npv_histogram.counts
            mids = [(a + b) / 2 for a, b in pairwise(edges)]
            shares = [c / other.paths for c in counts]
            fig.add_trace(go.Scatter(x=mids, y=shares, mode="lines+markers", name="other run",
                                     line={"color": PALETTE[4], "width": 2}))  # fmt: skip
        edges = outcomes.npv_histogram.edges
        zero_in_view = zero_near(edges[0], edges[-1])
        if zero_in_view:  # else the line would squeeze every bar into a sliver far from it
            fig.add_vline(x=0, line={"color": "#111827", "width": 2, "dash": "dash"})
        title = f"{figure(outcomes.loss_probability, '.0%')} lose money (NPV < 0)"
        subtitle = "NPV of the simulated paths"
        if not zero_in_view:
            subtitle += f"<br>zero is off the chart, {'right' if edges[-1] < 0 else 'left'} of every path"
    elif outcomes is not None:
        title, subtitle = "NPV: could not be computed", NOT_COMPUTABLE_WHY
    else:
        title, subtitle = "NPV: not available", NOT_AVAILABLE_WHY
    fig.update_layout(
        title=titled(title, subtitle), height=340, margin={"l": 60, "r": 20, "t": 70, "b": 40},
        template="plotly_white", bargap=0.02, showlegend=other is not None,
    )  # fmt: skip
    edges = outcomes.npv_histogram.edges if outcomes else []
    money_axis(fig, "x", edges, currency, with_zero=bool(edges) and zero_near(edges[0], edges[-1]))
    fig.update_xaxes(title_text=f"NPV ({currency})")
    fig.update_yaxes(title_text="share of paths", tickformat=".0%")
    responsive(fig)
    return fig


def zero_near(low: float, high: float) -> bool:
    """Whether the zero line belongs on an axis spanning [low, high]: inside it, or within three spans."""
    span = max(high - low, 1e-9)
    return low - 3 * span <= 0 <= high + 3 * span


def money_axis(
    fig: go.Figure, axis: str, values: list[float], currency: str, *, with_zero: bool = True, target: int = 6
) -> None:
    if values:
        ticks, texts = money_ticks(values, currency, with_zero=with_zero, target=target)
        (fig.update_xaxes if axis == "x" else fig.update_yaxes)(tickvals=ticks, ticktext=texts)


def _npv_bars(fig: go.Figure, outcomes: Outcomes, name: str) -> None:
    edges, counts = outcomes.npv_histogram.edges, outcomes.npv_histogram.counts
    mids = [(a + b) / 2 for a, b in pairwise(edges)]
    widths = [b - a for a, b in pairwise(edges)]
    colours = ["#dc2626" if mid < 0 else PALETTE[0] for mid in mids]
    fig.add_trace(go.Bar(x=mids, y=[c / outcomes.paths for c in counts], width=widths, name=name,
                         marker={"color": colours, "opacity": 0.75},
                         hovertemplate="NPV %{x:,.0f}: %{y:.1%} of paths<extra></extra>"))  # fmt: skip


def tornado_chart(sensitivity: Sensitivity | None, currency: str = "USD", top: int = 10) -> go.Figure:
    """Median NPV with each input moved down (left colour) and up (right colour), widest swing on top."""
    currency = chart_text(currency)
    fig = go.Figure()
    subtitle = "each input moved down and up, widest swing on top"
    if sensitivity is not None and sensitivity.bars and not math.isfinite(sensitivity.npv_p50):
        title, subtitle = "Sensitivity: could not be computed", NOT_COMPUTABLE_WHY
    elif sensitivity is not None and sensitivity.bars:
        bars = list(reversed(sensitivity.bars[:top]))  # plotly draws the first category at the bottom
        names = [chart_text(input_label(bar.input)) for bar in bars]  # "Kiosks: margin", not the override key
        base = sensitivity.npv_p50
        for key, label, colour in (("npv_low", "input down", "#dc2626"), ("npv_high", "input up", PALETTE[1])):
            values = [getattr(bar, key) - base for bar in bars]
            hover = "%{y}: median NPV %{customdata:,.0f}<extra>" + label + "</extra>"
            fig.add_trace(go.Bar(y=names, x=values, base=base, orientation="h", name=label, hovertemplate=hover,
                                 marker={"color": colour}, customdata=[getattr(b, key) for b in bars]))  # fmt: skip
        fig.add_vline(x=base, line={"color": "#111827", "width": 1})
        title = f"Sensitivity: median NPV {compact_money(base, currency)}"
    else:
        title, subtitle = "Sensitivity: not available", NOT_AVAILABLE_WHY
    fig.update_layout(
        title=titled(title, subtitle),
        barmode="overlay",
        height=110 + 28 * min(top, len(sensitivity.bars) if sensitivity else 1),
        margin={"l": 20, "r": 20, "t": 70, "b": 40},
        template="plotly_white",
        legend=BOTTOM_LEGEND,
    )  # fmt: skip  the input names make their own room (automargin), not a fixed 240 px
    if sensitivity is not None and sensitivity.bars:
        ends = [value for bar in sensitivity.bars[:top] for value in (bar.npv_low, bar.npv_high)]
        money_axis(fig, "x", ends, currency, with_zero=False, target=4)  # a narrow panel: few, unrotated labels
    fig.update_xaxes(title_text=f"median NPV ({currency})")
    responsive(fig)
    return fig
