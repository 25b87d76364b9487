"""Names in the console's charts are plain text: plotly draws `<a href>`, `<b>` and `%{x}` as written.

Real runs with hostile segment names, run names and currency; the figures are read as the JSON gradio sends
to the browser, where plotly would render any tag and fill any `%{...}` it finds.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr
import plotly.graph_objects as go
import pytest

from vetoflow.config import Settings
from vetoflow.console.compare import compare_outputs
from vetoflow.console.compare_chart import npv_overlay
from vetoflow.console.run_outputs import view_outputs
from vetoflow.plaintext import chart_text
from vetoflow.runs.service import RunService
from vetoflow.runs.store import open_service
from vetoflow.scenario import Scenario

LINK = '<a href="https://evil.example">x</a>'
BOLD = "<b>bold</b>"
TEMPLATE = "%{x} of 100%"
RUN_NAME = f'{LINK} <b>%{{y}}</b> <span style="color:red">run</span>'
OUR_TAGS = {"<extra>", "</extra>", "<br>"}  # hover names; a subtitle's line break
"""The only tags vetoflow itself puts in a chart: the hover box's secondary label."""
OUR_FIELDS = {"customdata", "customdata:,.0f", "y", "x:,.0f", "y:.1%"}
"""The only `%{...}` fields vetoflow's hover templates fill."""


@pytest.fixture
def service(tmp_path: Path) -> Iterator[RunService]:
    with open_service(Settings(home=tmp_path / "home", database_url=None)) as opened:
        yield opened


def hostile(scenario: Scenario, currency: str = "USD") -> Scenario:
    first, second = scenario.segments[:2]
    segments = [first.model_copy(update={"name": LINK}), second.model_copy(update={"name": BOLD})]
    segments.append(second.model_copy(update={"name": TEMPLATE}))
    data = scenario.model_dump() | {"name": RUN_NAME, "currency": currency}
    return Scenario.model_validate(data | {"segments": [s.model_dump() for s in segments]})


def sent(figure: go.Figure) -> dict[str, Any]:
    """The figure as the console sends it to the browser (gradio's Plot payload)."""
    payload = gr.Plot().postprocess(figure)
    assert payload is not None
    loaded: dict[str, Any] = json.loads(payload.plot)
    return loaded


def strings(node: object) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value)


def assert_plain(figure: dict[str, Any]) -> list[str]:
    """No tag but vetoflow's own, no `%{...}` but its own hover fields; returns every text read back."""
    texts = list(strings(figure))
    tags = {tag for text in texts for tag in re.findall(r"<[^<>]*>", text)}
    assert tags <= OUR_TAGS, tags
    assert not [text for text in texts if "<a" in text or "<b>" in text or "<span" in text]
    templates = [trace.get("hovertemplate", "") for trace in figure["data"]]
    fields = {field for template in templates for field in re.findall(r"%\{([^}]*)\}", template)}
    assert fields <= OUR_FIELDS, fields
    return [html.unescape(text) for text in texts]


def test_segment_names_and_currency_reach_the_run_view_s_charts_as_plain_text(
    service: RunService, vetoed: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a run stored by an earlier release, which took any three characters as the currency
    monkeypatch.setattr("vetoflow.runs.service.check_new_scenario", lambda scenario: None)
    view = service.start(hostile(vetoed, currency="<b>"))
    assert view.status == "paused"
    figures = [sent(value) for value in view_outputs(view) if isinstance(value, go.Figure)]
    assert len(figures) == 3  # the fan chart, the NPV histogram, the tornado
    fan, histogram, tornado = (assert_plain(figure) for figure in figures)

    for name in (LINK, BOLD, TEMPLATE):  # read back as the characters the operator typed
        assert f"{name} (P50, band P10-P90)" in fan  # the legend
        assert f"{name}: margin" in tornado  # the tornado's labels and their hover
    assert "<b>" in fan  # the currency on the axis, drawn as three characters
    assert "NPV (<b>)" in histogram
    escaped = chart_text(LINK)
    assert escaped == '&lt;a href="https://evil.example"&gt;x&lt;/a&gt;'
    assert any(escaped in text for text in strings(figures[0]))
    assert chart_text(TEMPLATE) == "&#37;{x} of 100&#37;"


def test_run_names_in_the_overlaid_histograms_are_plain_text(service: RunService, vetoed: Scenario) -> None:
    first = service.start(hostile(vetoed))
    second = service.start(hostile(vetoed).model_copy(update={"investment": 900_000.0}))
    assert first.state.forecast is not None
    assert second.state.forecast is not None
    runs = [(RUN_NAME, first.state.forecast.outcomes), (BOLD, second.state.forecast.outcomes), (TEMPLATE, None)]
    texts = assert_plain(sent(npv_overlay(runs)))
    assert any(text.startswith(f"{RUN_NAME}: ") and text.endswith("lose money") for text in texts)  # legend
    assert f"%{{y:.1%}} of paths<extra>{RUN_NAME}</extra>" in texts  # the hover's name, unescaped
    assert any(f"no distribution for {TEMPLATE}:" in text for text in texts)  # the subtitle

    compared = compare_outputs(service, first.run.run_id, second.run.run_id)
    assert_plain(sent(compared.chart))
