"""How the console's charts fit a 390 px phone as well as a desktop: short titles with the detail in a subtitle,
margins that grow to fit their labels, the legend in the bottom margin.

Plotly draws a title wider than its chart cut off, and a fixed margin cuts off the tick labels it rotates on a
narrow screen ("perio"); a legend placed at a paper position lands on the axis title. The console's Plot is
autosized to its column (Gradio), so the figures themselves must leave plotly room to adapt.
"""

from __future__ import annotations

import plotly.graph_objects as go

TITLE_FONT = 15
SUBTITLE_FONT = 12
BOTTOM_LEGEND = {"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom", "x": 0}
"""A horizontal legend at the foot of the figure, under the axis and its title (their margin makes room)."""


def titled(text: str, subtitle: str = "") -> dict[str, object]:
    """A title short enough for a phone, the detail in a smaller subtitle under it; `automargin` makes room for
    both instead of drawing over the plot."""
    title: dict[str, object] = {"text": text, "font": {"size": TITLE_FONT}, "automargin": True, "yref": "container",
                                "y": 1, "yanchor": "top", "pad": {"t": 10}}  # fmt: skip
    if subtitle:
        title["subtitle"] = {"text": subtitle, "font": {"size": SUBTITLE_FONT}}
    return title


def responsive(fig: go.Figure) -> None:
    """Margins that grow to fit their tick labels and axis titles, however plotly lays them out on the width
    it is given."""
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
