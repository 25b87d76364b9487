"""The Compare tab's chart: two runs' NPV distributions overlaid, each named with its share of losing paths."""

from __future__ import annotations

from itertools import pairwise

import plotly.graph_objects as go

from vetoflow.console.chart_layout import BOTTOM_LEGEND, responsive, titled
from vetoflow.console.charts import INVESTMENT_COLOUR, PALETTE, money_axis, rgba
from vetoflow.formatting import figure
from vetoflow.plaintext import chart_text
from vetoflow.state import Outcomes


def npv_overlay(runs: list[tuple[str, Outcomes | None]], currency: str = "USD") -> go.Figure:
    """Two (or more) runs' NPV distributions overlaid as outlined step areas, each named with its P(loss)."""
    currency = chart_text(currency)
    runs = [(chart_text(name), outcomes) for name, outcomes in runs]
    fig = go.Figure()
    edges: list[float] = []
    missing = []
    for index, (name, outcomes) in enumerate(runs):
        if outcomes is None or not outcomes.npv_histogram.counts:
            missing.append(name)
            continue
        colour = (PALETTE[0], PALETTE[3], PALETTE[1], PALETTE[2])[index % 4]
        bins = outcomes.npv_histogram
        mids = [(a + b) / 2 for a, b in pairwise(bins.edges)]
        shares = [c / outcomes.paths for c in bins.counts]
        label = f"{name}: {figure(outcomes.loss_probability, '.0%')} lose money"
        fig.add_trace(go.Scatter(x=mids, y=shares, mode="lines", line={"color": colour, "width": 2, "shape": "hvh"},
                                 fill="tozeroy", fillcolor=rgba(colour, 0.2), name=label,
                                 hovertemplate="%{y:.1%} of paths<extra>" + name + "</extra>"))  # fmt: skip
        edges += bins.edges
    fig.add_vline(x=0, line={"color": INVESTMENT_COLOUR, "width": 2, "dash": "dash"})
    subtitle = ""
    if missing:
        subtitle = f"no distribution for {', '.join(missing)}:<br>band-only, an older release, or not computable"
    fig.update_layout(
        title=titled("NPV of the simulated paths, overlaid", subtitle), height=380,
        margin={"l": 60, "r": 20, "t": 70, "b": 40}, template="plotly_white", legend=BOTTOM_LEGEND,
    )  # fmt: skip
    money_axis(fig, "x", edges, currency)
    fig.update_xaxes(title_text=f"NPV ({currency})")
    fig.update_yaxes(title_text="share of paths", tickformat=".0%")
    responsive(fig)
    return fig
