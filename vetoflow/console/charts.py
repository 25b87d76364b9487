"""The forecast fan chart: P10-P90 band and P50 line per period, for the total and for each segment."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from vetoflow.state import Band, Forecast

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
