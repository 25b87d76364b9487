"""Runs: every run, filtered by status and searched by name or id; a click opens one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from vetoflow.console.common import ConsoleDeps, run_rows
from vetoflow.state import RUN_STATUSES

RUNS_COLUMNS = ["run id", "name", "status", "created", "investment", "ROI", "downside ROI", "NPV"]
RUNS_COLUMNS += ["decision", "reviewer"]
SEARCH_WINDOW = 2000


@dataclass
class RunsPanel:
    table: gr.Dataframe
    count: gr.Markdown
    statuses: gr.CheckboxGroup
    search: gr.Textbox


def find_runs(deps: ConsoleDeps, statuses: list[str] | None, search: str | None) -> tuple[list[list[Any]], str]:
    """Newest first. The search matches the name or the run id, case-insensitively, in the newest runs."""
    rows = deps.service.list(statuses or [], limit=SEARCH_WINDOW)
    needle = (search or "").strip().lower()
    if needle:
        rows = [r for r in rows if needle in r.name.lower() or needle in r.run_id.lower()]
    shown = f"{len(rows)} run(s)" + (f" matching “{search}”" if needle else "")
    if statuses:
        shown += f" with status {', '.join(statuses)}"
    return run_rows(rows, RUNS_COLUMNS), shown + ", newest first."


def render_runs(deps: ConsoleDeps) -> RunsPanel:
    with gr.Row():
        statuses = gr.CheckboxGroup(list(RUN_STATUSES), label="Status", scale=3, elem_id="runs-status")
        search = gr.Textbox(label="Search name or id", scale=2, elem_id="runs-search")
        refresh = gr.Button("Search", scale=1, elem_id="runs-refresh")
    count = gr.Markdown(elem_id="runs-count")
    table = gr.Dataframe(
        headers=RUNS_COLUMNS, type="array", interactive=False, wrap=True, label="Runs", elem_id="runs-table"
    )

    def load(selected: list[str] | None, text: str | None) -> tuple[list[list[Any]], str]:
        return find_runs(deps, selected, text)

    refresh.click(load, inputs=[statuses, search], outputs=[table, count], api_name="list_runs")
    search.submit(load, inputs=[statuses, search], outputs=[table, count], api_visibility="private")
    statuses.change(load, inputs=[statuses, search], outputs=[table, count], api_visibility="private")
    return RunsPanel(table=table, count=count, statuses=statuses, search=search)
