"""What the run view shows for one run: the value of each of its components, in the order the view lays
them out. Plain Python over a `RunView` (the charts are plotly figures), tested without a browser."""

from __future__ import annotations

from typing import Any

import gradio as gr

from vetoflow.console import present, run_evidence
from vetoflow.console.charts import fan_chart, npv_histogram, run_fan_chart, tornado_chart
from vetoflow.console.decisions import segment_table
from vetoflow.console.request_text import approval_request_text
from vetoflow.console.run_controls import shown_record
from vetoflow.runs.views import RunView


def view_outputs(view: RunView | None) -> tuple[Any, ...]:
    """headline, figures, chart, reasons, payload, decide box, investment, horizon, rate, segments, summary, history,
    the request text, the NPV histogram and the tornado, the run and digest shown (`shown_record`, what decisions
    act on), the evidence, the comment thread, the error as raised (for developers) and the id of the run shown
    (the address bar follows it)."""
    if view is None:
        hidden = gr.update(visible=False)
        return (
            "",
            "",
            fan_chart(None),
            "",
            None,
            hidden,
            None,
            None,
            None,
            [],
            "",
            [],
            "",
            npv_histogram(None),
            tornado_chart(None),
            None,
            run_evidence.evidence(None),
            run_evidence.thread(None),
            "",
            "",
        )
    scenario = view.state.scenario
    paused = view.status == "paused"
    return (
        present.headline(view),
        present.figures(view),
        run_fan_chart(view.state),
        present.reasons(view),
        view.pending.payload() if view.pending else None,  # the JSON panel: as stored, with its digest
        gr.update(visible=paused),
        scenario.investment,
        scenario.horizon,
        scenario.discount_rate,
        segment_table(scenario),
        present.summary(view),
        present.history_rows(view),
        approval_request_text(view),
        npv_histogram(view.state.forecast.outcomes if view.state.forecast else None, scenario.currency),
        tornado_chart(view.state.forecast.sensitivity if view.state.forecast else None, scenario.currency),
        shown_record(view),
        run_evidence.evidence(view),
        run_evidence.thread(view),
        present.error_details(view),
        view.run.run_id,
    )
