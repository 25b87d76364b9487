"""Runs: every run, filtered by status and searched by name or id; a click opens one. Money carries its run's
currency (EUR and USD runs sit side by side), ratios past the plausibility limit read "> 1,000% ⚠️", and the
flags column says which plausibility flags a run carries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from vetoflow.console.common import ConsoleDeps, display_table, run_rows
from vetoflow.runs.index import RunRow
from vetoflow.state import RUN_STATUSES

RUNS_COLUMNS = ["run id", "name", "status", "created", "investment", "ROI", "downside ROI", "NPV", "flags"]
RUNS_COLUMNS += ["decision", "reviewer"]
NUMBERS = {"investment": "investment", "ROI": "roi", "downside ROI": "downside_roi", "NPV": "npv"}
"""Columns sorted by their numbers (the table shows them formatted, "2,500,000 EUR" or "31.5%")."""
RUNS_TYPES = ["number" if column in NUMBERS else "str" for column in RUNS_COLUMNS]
SEARCH_WINDOW = 2000


@dataclass
class RunsPanel:
    table: gr.Dataframe
    count: gr.Markdown
    statuses: gr.CheckboxGroup
    search: gr.Textbox


def sortable(rows: list[RunRow], currencies: dict[str, str]) -> dict[str, Any]:
    """The Dataframe value: raw numbers to sort by, and the formatted text each cell shows (money with its run's
    currency, from `currencies`)."""
    shown = run_rows(rows, RUNS_COLUMNS, currencies)
    raw = []
    for row, cells in zip(rows, shown, strict=True):
        named = zip(RUNS_COLUMNS, cells, strict=True)
        raw.append([getattr(row, NUMBERS[name]) if name in NUMBERS else text for name, text in named])
    return display_table(RUNS_COLUMNS, raw, shown)


def find_runs(deps: ConsoleDeps, statuses: list[str] | None, search: str | None) -> tuple[dict[str, Any], str]:
    """Newest first. The search matches the name or the run id, case-insensitively, in the newest runs."""
    rows = deps.service.list(statuses or [], limit=SEARCH_WINDOW)
    needle = (search or "").strip().lower()
    if needle:
        rows = [r for r in rows if needle in r.name.lower() or needle in r.run_id.lower()]
    shown = f"{len(rows)} run(s)" + (f" matching “{search}”" if needle else "")
    if statuses:
        shown += f" with status {', '.join(statuses)}"
    return sortable(rows, deps.service.currencies([r.run_id for r in rows])), shown + ", newest first."


def render_runs(deps: ConsoleDeps) -> RunsPanel:
    with gr.Row():
        statuses = gr.CheckboxGroup(list(RUN_STATUSES), label="Status", scale=3, elem_id="runs-status")
        search = gr.Textbox(label="Search name or id", scale=2, elem_id="runs-search")
        refresh = gr.Button("Search", scale=1, elem_id="runs-refresh")
    count = gr.Markdown(elem_id="runs-count")
    table = gr.Dataframe(
        headers=RUNS_COLUMNS,
        datatype=RUNS_TYPES,  # type: ignore[arg-type]
        type="array",
        interactive=False,
        wrap=True,
        label="Runs",
        elem_id="runs-table",
    )

    def load(selected: list[str] | None, text: str | None) -> tuple[dict[str, Any], str]:
        return find_runs(deps, selected, text)

    refresh.click(load, inputs=[statuses, search], outputs=[table, count], api_name="list_runs")
    search.submit(load, inputs=[statuses, search], outputs=[table, count], api_visibility="private")
    statuses.change(load, inputs=[statuses, search], outputs=[table, count], api_visibility="private")
    return RunsPanel(table=table, count=count, statuses=statuses, search=search)
