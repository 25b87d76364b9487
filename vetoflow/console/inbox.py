"""Inbox: the paused runs waiting for a human, newest first, refreshed on a timer; a click opens one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from vetoflow.console.common import RUNS_PAGE, ConsoleDeps, run_rows

INBOX_COLUMNS = ["run id", "name", "created", "investment", "ROI", "downside ROI", "NPV", "P(loss)", "why vetoed"]


@dataclass
class InboxPanel:
    table: gr.Dataframe
    count: gr.Markdown


def inbox_rows(deps: ConsoleDeps) -> tuple[list[list[Any]], str]:
    rows = deps.service.list(["paused"], limit=RUNS_PAGE)
    if not rows:
        return [], "Nothing waits for a decision. New runs that the Accountant vetoes appear here."
    noun = "run waits" if len(rows) == 1 else "runs wait"
    return run_rows(rows, INBOX_COLUMNS), f"**{len(rows)} {noun} for a decision.** Click a row to open it."


def selected_run_id(evt: gr.SelectData) -> str:
    """The run id of the clicked row (first column), whichever cell was clicked."""
    row = evt.row_value or []
    return str(row[0]) if row else ""


def render_inbox(deps: ConsoleDeps, *, refresh_seconds: float = 5.0) -> InboxPanel:
    count = gr.Markdown(elem_id="inbox-count")
    table = gr.Dataframe(
        headers=INBOX_COLUMNS,
        datatype="str",
        type="array",
        interactive=False,
        wrap=True,
        label="Paused runs",
        elem_id="inbox-table",
        column_widths=["11%", "16%", "12%", "9%", "7%", "8%", "9%", "28%"],
    )
    refresh = gr.Button("Refresh", size="sm", elem_id="inbox-refresh")
    timer = gr.Timer(refresh_seconds)

    def load() -> tuple[list[list[Any]], str]:
        return inbox_rows(deps)

    refresh.click(load, outputs=[table, count], api_name="inbox")
    timer.tick(load, outputs=[table, count], api_visibility="private", show_progress="hidden", queue=False)
    return InboxPanel(table=table, count=count)
