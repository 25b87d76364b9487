"""Run view: one run's figures, fan chart, the Accountant's reasons, and the Approve / Reject / Revise controls."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr

from vetoflow.console import present, run_evidence
from vetoflow.console.common import ConsoleDeps
from vetoflow.console.follow import moving_progress, progress_panel
from vetoflow.console.run_controls import (
    OPEN,
    colleague_notice,
    controls,
    moved_draft,
    only_comments_changed,
    still_named,
    watch_record,
)
from vetoflow.console.run_decide import DecisionHandlers, Screen
from vetoflow.console.run_outputs import view_outputs
from vetoflow.console.words import SEGMENT_HEADERS
from vetoflow.errors import VetoflowError
from vetoflow.runs.queueing import UNSETTLED
from vetoflow.runs.views import RunView

PICK_A_RUN = "Pick a run in the **Inbox** or **Runs** tab (or paste its id and press Open)."


@dataclass
class RunViewPanel:
    run_id: gr.Textbox
    outputs: list[Any]  # the message first, then everything `view_outputs` fills, then the controls
    load: Callable[..., tuple[Any, ...]]
    watch: Callable[..., tuple[Any, ...]]  # the change poll: reloads only when the open run changed
    unchanged: Callable[..., tuple[Any, ...]]  # the poll when nothing changed: only a live progress panel moves
    watched: gr.State
    trace_button: gr.Button
    shown_id: gr.Textbox  # the id of the run displayed (hidden): set only when a run is opened or reloaded
    shown_run: gr.State  # {"run", "digest"} of the run displayed: what decisions, revises and comments act on
    handlers: dict[str, Callable[..., tuple[Any, ...]]]  # approve (asks first on a veto), confirm, reject, revise
    drafts: list[Any]  # the decision's comment box and "Add a comment": what the poll hands `watch`


def render_run_view(deps: ConsoleDeps) -> RunViewPanel:
    with gr.Row():
        run_id = gr.Textbox(label="Run id", scale=4, elem_id="run-id", placeholder="e.g. 1e3b83d13732")
        open_button = gr.Button("Open", scale=1, elem_id="run-open")
        trace_button = gr.Button("Trace of this run", scale=1, size="sm", elem_id="run-trace-link")
    shown_id = gr.Textbox(visible="hidden", interactive=False, elem_id="run-shown-id")
    message = gr.Markdown(PICK_A_RUN, elem_id="run-message")
    headline = gr.Markdown(elem_id="run-headline")
    live = gr.Markdown(visible=False, elem_id="run-progress")
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=280):
            figures = gr.Markdown(elem_id="run-figures")
            reasons = gr.Markdown(elem_id="run-reasons")
        with gr.Column(scale=2):
            gr.Markdown("**Forecast fan chart**: P50 line, shaded band from P10 to P90, per period.")
            chart = gr.Plot(show_label=False, elem_id="run-chart")
    with gr.Row(equal_height=False):
        with gr.Column(scale=1):
            histogram = gr.Plot(show_label=False, elem_id="run-npv-histogram")
        with gr.Column(scale=1):
            tornado = gr.Plot(show_label=False, elem_id="run-tornado")
    request_text = gr.Textbox(
        label="The approval request", lines=4, max_lines=60, interactive=False, elem_id="run-request"
    )
    with gr.Column(visible=False, variant="panel", elem_id="run-decide") as decide_box:
        decide_head = gr.Markdown(elem_id="run-decide-head")  # whether Approve overrules a veto (`decision_header`)
        comment = gr.Textbox(
            label="Comment (kept in the run's history; required to overrule a veto)", lines=2, elem_id="run-comment"
        )
        with gr.Row():
            approve = gr.Button("Approve", variant="primary", elem_id="run-approve")
            reject = gr.Button("Reject", variant="stop", elem_id="run-reject")
        blocked_note = gr.Markdown(elem_id="run-approval")
        with gr.Column(visible=False, elem_id="run-confirm") as confirm_box:
            confirm_text = gr.Markdown(elem_id="run-confirm-text")
            with gr.Row():
                confirm = gr.Button("Yes, overrule the veto and approve", variant="primary", elem_id="run-confirm-yes")
                cancel = gr.Button("Cancel", elem_id="run-confirm-cancel")
        with gr.Accordion("Revise assumptions and re-run the Forecaster and Accountant", open=False):
            with gr.Row():
                investment = gr.Number(label="Investment", elem_id="revise-investment")
                horizon = gr.Number(label="Horizon (periods)", elem_id="revise-horizon")  # 8.7 is refused, not rounded
                rate = gr.Number(label="Discount rate per period", elem_id="revise-rate")
            segments = gr.Dataframe(
                headers=list(SEGMENT_HEADERS),
                datatype=["str", "number", "number", "number", "number"],
                type="array",
                interactive=True,
                static_columns=[0],
                label="Segments (edit the numbers)",
                elem_id="revise-segments",
            )
            revise = gr.Button("Revise and re-run", elem_id="run-revise")
    moved_note = gr.Markdown(elem_id="run-draft-note")  # where the decision box was: an unsent comment moved
    shown_run = gr.State(None)  # {"run", "digest"} of the run displayed: what decisions and comments act on
    evidence, thread, thread_text = run_evidence.render_comment_box(deps, run_id, shown_run)
    summary = gr.Markdown(elem_id="run-summary")
    with gr.Accordion("Details for developers (the raw approval payload, the error as raised)", open=False):
        error_details = gr.Markdown(elem_id="run-error-details")
        payload = gr.JSON(label="Approval payload", elem_id="run-payload")
    history = gr.Dataframe(
        headers=present.HISTORY_COLUMNS, type="array", interactive=False, label="Decisions", elem_id="run-history"
    )
    fields = [headline, figures, chart, reasons, payload, decide_box, investment, horizon, rate, segments, summary]
    watched = gr.State(None)
    asked = gr.State(None)  # the run whose veto this session was asked to overrule (server-side, per session)
    control_fields = [comment, approve, reject, revise, blocked_note, confirm_box, confirm_text, asked, thread_text]
    control_fields += [decide_head, moved_note]
    outputs: list[Any] = [
        message,
        *fields,
        history,
        request_text,
        histogram,
        tornado,
        shown_run,
        evidence,
        thread,
        error_details,
        shown_id,
        *control_fields,
        watched,
        live,
    ]
    keep_rest = tuple(gr.skip() for _ in outputs[1:])

    def shown(
        view: RunView | None,
        request: gr.Request | None,
        *,
        clear_comment: bool = True,
        opened: bool = False,
        watched_active: bool = False,
        named: str = "",
    ) -> tuple[Any, ...]:
        """Everything after the message for `view` as this operator sees it (`opened`: a run was opened, so
        both comment boxes start empty; `named`: the colleague's action the poll keeps announcing)."""
        marker = deps.service.run_marker(view.run.run_id) if view is not None else None
        user = deps.user(request)
        return (
            *view_outputs(view),
            *controls(view, user, clear_comment=clear_comment or opened, clear_thread_text=opened),
            watch_record(view, marker, named),
            progress_panel(deps.service, view, watched_active=watched_active),
        )

    screen = Screen(deps, outputs, shown, error_details)

    def load(run: str, request: gr.Request | None = None) -> tuple[Any, ...]:
        run = (run or "").strip()
        if not run:
            return (PICK_A_RUN, *shown(None, request, opened=True))
        try:
            view = deps.service.view(run)
        except VetoflowError as exc:  # a bad link or id: operator words, the raw refusal behind Details
            return screen.refused(exc, ("", *shown(None, request, opened=True)))
        return ("", *shown(view, request, opened=True))

    def unchanged(_typed: str, before: dict[str, Any] | None) -> tuple[Any, ...]:
        """Nothing to reload; a queued or running run's progress panel still moves (its elapsed times)."""
        run = str((before or {}).get("run") or "")
        return (gr.skip(), *keep_rest[:-1], moving_progress(deps.service, run, before))

    def watch(
        _typed: str,
        before: dict[str, Any] | None,
        request: gr.Request | None = None,
        typed_comment: str | None = "",
        draft: str | None = "",
    ) -> tuple[Any, ...]:
        """The change poll's part for the run displayed (whatever the Run id box says): nothing unless it
        changed; a new comment redraws only the thread; anything else reloads the view and says who did it.
        `typed_comment` and `draft`: what the decision's comment box and the "Add a comment" box hold now, so a
        comment typed on a run a colleague just closed moves to the thread's box instead of vanishing."""
        run = str((before or {}).get("run") or "")
        if not run or not before:
            return (gr.skip(), *keep_rest)
        try:
            marker = deps.service.run_marker(run)
            if marker == before.get("marker"):
                return unchanged(run, before)
            view = deps.service.view(run)
        except VetoflowError:
            return (gr.skip(), *keep_rest)
        if only_comments_changed(before, view):
            return screen.keep(gr.skip(), {thread: run_evidence.thread(view), watched: watch_record(view, marker)})
        me = deps.reviewer(request)
        notice = colleague_notice(before, view, me)
        active = before.get("status") in UNSETTLED  # the operator watched it run: keep its progress in view
        keep_comment = view.status in OPEN  # the README's promise: a comment on a still-open run is kept
        named = still_named(before, view, me)
        reloaded = (notice or gr.skip(), *shown(view, request, clear_comment=not keep_comment,
                                                  watched_active=active, named=named))  # fmt: skip
        if not keep_comment and (moved := moved_draft(view, typed_comment, draft)):
            return screen.replace(reloaded, {moved_note: moved[0], thread_text: gr.update(value=moved[1])})
        return reloaded

    handlers = DecisionHandlers(screen, (confirm_box, confirm_text, asked))

    def hide_confirm() -> tuple[Any, Any, None]:
        return gr.update(visible=False), "", None

    decide_options: dict[str, Any] = {"concurrency_limit": 4, "concurrency_id": "decide", "outputs": outputs}
    private: dict[str, Any] = {"api_visibility": "private"}
    open_button.click(load, inputs=[run_id], outputs=outputs, api_name="open_run")
    run_id.submit(load, inputs=[run_id], outputs=outputs, **private)
    decision_inputs = [run_id, comment, shown_run]
    approve.click(handlers.ask_approve, inputs=decision_inputs, api_name="approve", **decide_options)
    confirm_inputs = [*decision_inputs, asked]
    confirm.click(handlers.confirm_approve, inputs=confirm_inputs, api_name="confirm_approve", **decide_options)
    cancel.click(hide_confirm, outputs=[confirm_box, confirm_text, asked], **private)
    reject.click(handlers.reject, inputs=decision_inputs, api_name="reject", **decide_options)
    revise_inputs = [run_id, comment, investment, horizon, rate, segments, shown_run]
    revise.click(handlers.revise, inputs=revise_inputs, api_name="revise", **decide_options)
    return RunViewPanel(
        run_id=run_id,
        outputs=outputs,
        load=load,
        watch=watch,
        unchanged=unchanged,
        watched=watched,
        trace_button=trace_button,
        shown_id=shown_id,
        shown_run=shown_run,
        handlers=handlers.as_dict(),
        drafts=[comment, thread_text],
    )
