"""The console's Notifications tab: the delivery log (what was sent, what waits for a retry, what is dead,
with each try), the rows `vetoflow notifications` and `GET /notifications` list, for roles granting `audit`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import gradio as gr

from vetoflow.console.common import ConsoleDeps, problem
from vetoflow.errors import VetoflowError
from vetoflow.plaintext import md

NOTIFICATION_COLUMNS = ["created (UTC)", "event", "run id", "channel", "target", "status", "tries", "id"]
SHOWN = 200
INTRO = (
    "The delivery log: every notification (webhook, Slack, e-mail) with its status (`sent`, `pending`: waiting "
    "for a retry, `dead`: given up) and each try. Needs a role that may read the audit log (admin)."
)


def _moment(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime) else str(value or "-")


def notification_rows(rows: list[dict[str, Any]]) -> list[list[str]]:
    """One line per notification, its tries as `retry (HTTP 500), sent`."""
    shown = []
    for row in rows:
        tries = ", ".join(
            f"{t['outcome']} ({t['detail']})" if t["detail"] and t["outcome"] != "sent" else str(t["outcome"])
            for t in row["tries"]
        )
        shown.append(
            [
                _moment(row["created_at"]),
                str(row["event"]),
                str(row["run_id"] or "-"),
                str(row["kind"]),
                str(row["target"]),
                str(row["status"]),
                tries or "none yet",
                str(row["id"]),
            ]
        )
    return shown


def delivery_log(deps: ConsoleDeps, run_id: str | None, request: gr.Request | None) -> tuple[str, list[list[str]]]:
    """The newest notifications (of one run when `run_id` names one), or why they are not shown."""
    run = (run_id or "").strip() or None
    try:
        deps.require(request, "audit")
        if run is not None:
            deps.service.index.get(run)  # an unknown run says so, rather than "no notifications"
        rows = deps.service.notifications(run, SHOWN)
    except VetoflowError as exc:
        return problem(str(exc)), []
    scope = f"run {md(run)}" if run else "all runs"
    dead = sum(1 for row in rows if row["status"] == "dead")
    counted = f"{len(rows)} notification(s) for {scope}, newest first" + (f"; {dead} dead" if dead else "")
    return counted + ".", notification_rows(rows)


def render_notifications(deps: ConsoleDeps, tab: gr.Tab) -> None:
    """Build the tab inside the caller's `gr.Tab`; opening it lists the newest notifications."""
    gr.Markdown(INTRO)
    with gr.Row():
        run_id = gr.Textbox(label="Run id (empty: all runs)", scale=4, elem_id="notifications-run")
        show = gr.Button("Show", scale=1, elem_id="notifications-show")
    message = gr.Markdown(elem_id="notifications-message")
    table = gr.Dataframe(
        headers=NOTIFICATION_COLUMNS, type="array", interactive=False, wrap=True, elem_id="notifications-log"
    )

    def listed(run: str | None, request: gr.Request | None = None) -> tuple[str, list[list[str]]]:
        return delivery_log(deps, run, request)

    show.click(listed, inputs=[run_id], outputs=[message, table], api_name="notifications")
    run_id.submit(listed, inputs=[run_id], outputs=[message, table], api_visibility="private")
    tab.select(listed, inputs=[run_id], outputs=[message, table], api_visibility="private")
