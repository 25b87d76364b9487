"""The console's Trace tab: a run's timeline, its raw trace as JSON, and the graph with its path marked.

`render_trace_tab(service)` builds its components inside the caller's `gr.Tab`/`gr.Blocks` context.
The handler `trace_outputs` is plain Python so it can be tested without a browser.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr
from PIL import Image

from vetoflow.errors import VetoflowError
from vetoflow.graph import build_graph
from vetoflow.plaintext import md
from vetoflow.runs.service import RunService
from vetoflow.trace import Trace, build_trace, drawing
from vetoflow.trace.render import llm_lines, seconds

COLUMNS = ["#", "node", "start (UTC)", "took", "status", "pause / decision", "LLM", "what changed", "checkpoint"]


def timeline_rows(trace: Trace) -> list[list[Any]]:
    rows = []
    for step in trace.steps:
        pause = ""
        if p := step.pause:
            pause = "interrupt: waiting for a human"
            if p.reviewer:
                when = f"{p.decided_at:%Y-%m-%d %H:%M:%S}" if p.decided_at else "?"
                pause += f"; {p.action} by {p.reviewer} at {when}" + (f' "{p.comment}"' if p.comment else "")
        changes = "\n".join(c.describe() for c in step.changes[:12])
        if not step.changes and step.finished_at is not None:
            changes = "(state unchanged)"
        if step.error:
            changes = f"ERROR {step.error}\n{changes}"
        rows.append(
            [
                step.index,
                step.node,
                f"{step.started_at:%Y-%m-%d %H:%M:%S.%f}"[:-3],
                seconds(step.duration_s),
                step.status,
                pause,
                "; ".join(llm_lines(step.llm)) if step.llm else "",
                changes,
                step.checkpoint_id,
            ]
        )
    return rows


def headline(trace: Trace) -> str:
    lines = [
        f"### {md(trace.name)} {md(trace.run_id)}: **{trace.status}**",
        f"Path: {' → '.join(trace.path) or '-'} · {seconds(trace.total_s)} over {trace.checkpoints} checkpoints",
    ]
    if f := trace.forked_from:
        lines.append(f"Replay of {md(f.source_run_id)} from **{f.from_node}** (overrides: {md(f.overrides or 'none')})")
    if trace.replays:
        lines.append("Replayed as: " + ", ".join(md(r.replay_run_id) for r in trace.replays))
    return "\n\n".join(lines)


def graph_picture(trace: Trace) -> tuple[Image.Image | None, str]:
    """The PNG (local Graphviz) and the mermaid text, both with this run's path marked."""
    compiled = build_graph().compile()
    args = (trace.path, trace.finished_at is not None, trace.forked_from is None)
    text = drawing.mermaid(compiled, *args)
    try:
        image: Image.Image | None = Image.open(io.BytesIO(drawing.png(compiled, *args)))
    except VetoflowError:
        image = None  # no Graphviz: the mermaid text still shows the path
    return image, f"```mermaid\n{text}```"


def trace_outputs(
    service: RunService, run_id: str
) -> tuple[str, list[list[Any]], Image.Image | None, str, dict[str, Any]]:
    run_id = (run_id or "").strip()
    if not run_id:
        raise gr.Error("Enter a run id (see the Runs tab or `vetoflow runs`).")
    try:
        trace = build_trace(service.trace_inputs(run_id))
    except VetoflowError as exc:
        raise gr.Error(str(exc)) from None
    image, mermaid_md = graph_picture(trace)
    return headline(trace), timeline_rows(trace), image, mermaid_md, trace.model_dump(mode="json")


@dataclass
class TracePanel:
    """What other tabs need to open a run's trace: the run id box, the outputs and the handler filling them."""

    run_id: gr.Textbox
    outputs: list[Any]
    show: Callable[[str], tuple[Any, ...]]


def render_trace_tab(service: RunService) -> TracePanel:
    with gr.Row():
        run_id = gr.Textbox(label="Run id", placeholder="e.g. 1e3b83d13732", scale=4)
        show = gr.Button("Show trace", variant="primary", scale=1)
    header = gr.Markdown()
    with gr.Row():
        with gr.Column(scale=3):
            timeline = gr.Dataframe(headers=COLUMNS, label="Timeline", interactive=False, wrap=True)
        with gr.Column(scale=1):
            picture = gr.Image(label="Path through the graph", type="pil", format="png", interactive=False)
    with gr.Accordion("Mermaid", open=False):
        mermaid = gr.Markdown()
    with gr.Accordion("Trace JSON", open=False):
        raw = gr.JSON()
    outputs = [header, timeline, picture, mermaid, raw]
    show.click(lambda rid: trace_outputs(service, rid), run_id, outputs, api_name="trace")
    run_id.submit(lambda rid: trace_outputs(service, rid), run_id, outputs, api_visibility="private")
    return TracePanel(run_id=run_id, outputs=outputs, show=lambda rid: trace_outputs(service, rid))
