"""The console's Compare tab: pick two runs, see the inputs that changed, the figures side by side, and the
two NPV distributions overlaid. The same `RunComparison` as `vetoflow compare` and the API's compare endpoint.

`compare_outputs` and `run_choices` are plain Python over the service, tested without a browser.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr
import plotly.graph_objects as go

from vetoflow.console.common import problem
from vetoflow.console.compare_chart import npv_overlay
from vetoflow.console.words import input_label, shown_value
from vetoflow.errors import VetoflowError
from vetoflow.plaintext import clean, md
from vetoflow.risk.compare import RunComparison
from vetoflow.runs.service import RunService

CHOICES_LIMIT = 200
PICK_TWO = "Pick two runs (a run and its revision or replay, or two plans), then press **Compare**."
INPUT_COLUMNS = ["input", "run A", "run B"]
FIGURE_COLUMNS = ["figure", "run A", "run B"]


@dataclass
class CompareOutputs:
    """What the tab shows: a message, the inputs-changed and figures tables, the overlaid histograms."""

    message: str
    inputs: list[list[str]]
    figures: list[list[str]]
    chart: go.Figure

    def as_tuple(self) -> tuple[Any, ...]:
        return self.message, self.inputs, self.figures, self.chart


def run_choices(service: RunService) -> list[tuple[str, str]]:
    """(label, run id) for the newest runs, labelled "name · id · status"."""
    return [
        (clean(f"{row.name} · {row.run_id} · {row.status}"), row.run_id) for row in service.list(limit=CHOICES_LIMIT)
    ]


def _tables(result: RunComparison) -> tuple[list[list[str]], list[list[str]]]:
    inputs = [[clean(input_label(c.key)), shown_value(c.a), shown_value(c.b)] for c in result.inputs_changed]
    figures = [[row.label, clean(row.a), clean(row.b)] for row in result.figures]
    return inputs or [["(no input changed)", "", ""]], figures


def compare_outputs(service: RunService, run_a: str | None, run_b: str | None) -> CompareOutputs:
    """The comparison of two runs, or a message saying what is missing (nothing raises to the browser)."""
    a, b = (run_a or "").strip(), (run_b or "").strip()
    if not a or not b:
        return CompareOutputs(PICK_TWO, [], [], npv_overlay([]))
    try:
        result = service.compare(a, b)
    except VetoflowError as exc:
        return CompareOutputs(problem(str(exc)), [], [], npv_overlay([]))
    side_a, side_b = result.sides
    currency = side_a.currency
    note = f"**A** {md(side_a.name)} ({md(a)}) against **B** {md(side_b.name)} ({md(b)})"
    if side_a.currency != side_b.currency:  # one money axis would read one currency's amounts as the other's
        note += f". ⚠️ The runs use different currencies ({md(side_a.currency)}, {md(side_b.currency)})."
        chart = npv_overlay([])
        chart.update_layout(title=f"NPVs not overlaid: {side_a.currency} and {side_b.currency} share no axis")
        inputs, figures = _tables(result)
        return CompareOutputs(note, inputs, figures, chart)
    chart = npv_overlay([(f"A {side_a.run_id}", side_a.outcomes), (f"B {side_b.run_id}", side_b.outcomes)], currency)
    inputs, figures = _tables(result)
    return CompareOutputs(note, inputs, figures, chart)


def render_compare(service: RunService, tab: gr.Tab) -> None:
    """The Compare tab's components, inside the caller's `gr.Tab`; the run lists refresh when it is opened."""
    choices = run_choices(service)
    with gr.Row():
        run_a = gr.Dropdown(choices, label="Run A", allow_custom_value=True, scale=3, elem_id="compare-a")
        run_b = gr.Dropdown(choices, label="Run B", allow_custom_value=True, scale=3, elem_id="compare-b")
        go_button = gr.Button("Compare", variant="primary", scale=1, elem_id="compare-go")
    message = gr.Markdown(PICK_TWO, elem_id="compare-message")
    with gr.Row(equal_height=False):
        inputs = gr.Dataframe(
            headers=INPUT_COLUMNS, type="array", interactive=False, wrap=True, label="Inputs changed",
            elem_id="compare-inputs",
        )  # fmt: skip
        figures = gr.Dataframe(
            headers=FIGURE_COLUMNS, type="array", interactive=False, wrap=True, label="Figures side by side",
            elem_id="compare-figures",
        )  # fmt: skip
    chart = gr.Plot(show_label=False, elem_id="compare-chart")

    def show(a: str | None, b: str | None) -> tuple[Any, ...]:
        return compare_outputs(service, a, b).as_tuple()

    def refresh() -> tuple[Any, Any]:
        fresh = run_choices(service)
        return gr.Dropdown(choices=fresh), gr.Dropdown(choices=fresh)

    go_button.click(show, inputs=[run_a, run_b], outputs=[message, inputs, figures, chart], api_name="compare")
    tab.select(refresh, outputs=[run_a, run_b], api_visibility="private")
