"""Console charts: the forecast fan chart, the NPV histogram of the simulated paths, and the tornado."""

from __future__ import annotations

from itertools import pairwise

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from vetoflow.state import Band, Forecast, Outcomes, Sensitivity

PALETTE = ("#2563eb", "#059669", "#d97706", "#db2777", "#7c3aed", "#0891b2", "#65a30d", "#dc2626")


def _rgba(hex_colour: str, alpha: float) -> str:
    red, green, blue = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


def _fan(fig: go.Figure, band: Band, label: str, colour: str, row: int) -> None:
    periods = list(range(1, len(band.p50) + 1))
    group = f"{label}-{row}"
    fig.add_trace(
        go.Scatter(x=periods, y=band.p90, mode="lines", line={"width": 0}, legendgroup=group, showlegend=False,
                   name=f"{label} P90", hovertemplate="P90 %{y:,.0f}<extra>" + label + "</extra>"),
        row=row, col=1,
    )  # fmt: skip
    fig.add_trace(
        go.Scatter(x=periods, y=band.p10, mode="lines", line={"width": 0}, fill="tonexty",
                   fillcolor=_rgba(colour, 0.18), legendgroup=group, showlegend=False, name=f"{label} P10",
                   hovertemplate="P10 %{y:,.0f}<extra>" + label + "</extra>"),
        row=row, col=1,
    )  # fmt: skip
    fig.add_trace(
        go.Scatter(x=periods, y=band.p50, mode="lines+markers", line={"color": colour, "width": 2},
                   marker={"size": 5}, legendgroup=group, name=f"{label} (P50, band P10-P90)",
                   hovertemplate="P50 %{y:,.0f}<extra>" + label + "</extra>"),
        row=row, col=1,
    )  # fmt: skip


def fan_chart(forecast: Forecast | None, currency: str = "USD") -> go.Figure:
    """Top: total revenue and profit. Bottom: revenue per segment. Empty figure until a forecast exists."""
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.1,
        subplot_titles=("Total revenue and profit per period", "Revenue per segment"),
    )  # fmt: skip
    if forecast:
        _fan(fig, forecast.revenue, "Revenue", PALETTE[0], 1)
        _fan(fig, forecast.profit, "Profit", PALETTE[1], 1)
        for index, (name, band) in enumerate(sorted(forecast.segments.items())):
            _fan(fig, band, name, PALETTE[(index + 2) % len(PALETTE)], 2)
    fig.update_layout(
        height=560, margin={"l": 60, "r": 20, "t": 70, "b": 40}, template="plotly_white",
        legend={"orientation": "h", "y": -0.1}, hovermode="x unified",
    )  # fmt: skip
    fig.update_yaxes(title_text=currency, tickformat="~s")
    fig.update_xaxes(title_text="period", row=2, col=1, dtick=1)
    return fig


def npv_histogram(outcomes: Outcomes | None, currency: str = "USD", other: Outcomes | None = None) -> go.Figure:
    """Simulated NPVs: bars left of the zero line (losses) shaded red, with P(loss) in the title.

    With `other`, a second run's distribution is overlaid as a line, for comparing two runs.
    """
    fig = go.Figure()
    if outcomes is not None and outcomes.npv_histogram.counts:
        _npv_bars(fig, outcomes, "this run" if other else "paths")
        if other is not None and other.npv_histogram.counts:
            edges, counts = other.npv_histogram.edges, other.npv_histogram.counts
            mids = [(a + b) / 2 for a, b in pairwise(edges)]
            shares = [c / other.paths for c in counts]
            fig.add_trace(go.Scatter(x=mids, y=shares, mode="lines+markers", name="other run",
                                     line={"color": PALETTE[4], "width": 2}))  # fmt: skip
        fig.add_vline(x=0, line={"color": "#111827", "width": 2, "dash": "dash"})
        title = f"NPV of the simulated paths: {outcomes.loss_probability:.0%} lose money (NPV < 0)"
    else:
        title = "NPV distribution: not available (band-only forecast, or a run from an older release)"
    fig.update_layout(
        title=title, height=320, margin={"l": 60, "r": 20, "t": 60, "b": 40}, template="plotly_white",
        bargap=0.02, showlegend=other is not None,
    )  # fmt: skip
    fig.update_xaxes(title_text=f"NPV ({currency})", tickformat="~s")
    fig.update_yaxes(title_text="share of paths", tickformat=".0%")
    return fig


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
    fig = go.Figure()
    if sensitivity is not None and sensitivity.bars:
        bars = list(reversed(sensitivity.bars[:top]))  # plotly draws the first category at the bottom
        names = [bar.input for bar in bars]
        base = sensitivity.npv_p50
        for key, label, colour in (("npv_low", "input down", "#dc2626"), ("npv_high", "input up", PALETTE[1])):
            values = [getattr(bar, key) - base for bar in bars]
            hover = "%{y}: median NPV %{customdata:,.0f}<extra>" + label + "</extra>"
            fig.add_trace(go.Bar(y=names, x=values, base=base, orientation="h", name=label, hovertemplate=hover,
                                 marker={"color": colour}, customdata=[getattr(b, key) for b in bars]))  # fmt: skip
        fig.add_vline(x=base, line={"color": "#111827", "width": 1})
        title = f"Sensitivity: median NPV {base:,.0f} {currency}, each input moved down and up"
    else:
        title = "Sensitivity: not available (band-only forecast, or a run from an older release)"
    fig.update_layout(
        title=title, barmode="overlay", height=80 + 28 * min(top, len(sensitivity.bars) if sensitivity else 1),
        margin={"l": 240, "r": 20, "t": 60, "b": 40}, template="plotly_white",
    )  # fmt: skip
    fig.update_xaxes(title_text=f"median NPV ({currency})", tickformat="~s")
    return fig
