"""The run view's evidence and thread: what the approver decides on besides the figures, as plain text.

Kept apart from run_view.py so other console work (inbox, decision controls, charts) merges cleanly:
the sources with their passages (shown while the run waits), plausibility flags, old against new figures
after a revise, and the comment thread with its "add comment" box.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import gradio as gr

from vetoflow.console.common import ConsoleDeps, ok, problem
from vetoflow.console.run_controls import acting_on
from vetoflow.console.words import changes_text
from vetoflow.errors import VetoflowError
from vetoflow.formatting import when
from vetoflow.pause import PauseSource
from vetoflow.plaintext import md
from vetoflow.risk.words import delta_rows
from vetoflow.runs.views import RunView
from vetoflow.state import Source


def evidence(view: RunView | None) -> str:
    """Why the run waits, flags, the latest revise (old against new), and the sources with their passages."""
    if view is None:
        return ""
    safe = md(view.state.scenario.currency)
    pending = view.pending
    parts: list[str] = []
    if pending and pending.why_waiting:
        parts.append("**Why it waits for you**\n" + "\n".join(f"- {md(reason)}" for reason in pending.why_waiting))
    elif view.state.plausibility:
        parts.append("**Plausibility flags**\n" + "\n".join(f"- {md(f.message)}" for f in view.state.plausibility))
    if pending and (revised := pending.revised):
        changes = changes_text(revised.overrides)
        rows = "\n".join(f"| {label} | {old} | {new} |" for label, old, new in delta_rows(revised, safe))
        head = f"**Revision {revised.revision} by {md(revised.reviewer)}**: {md(changes)}"
        parts.append(f"{head}\n\n| Figure | Before | After |\n|---|---|---|\n{rows}")
    sources: Sequence[PauseSource | Source] = []
    if pending is not None:
        sources = pending.sources
    elif view.state.retrieval:
        sources = view.state.retrieval.sources
    if sources:
        lines = [f"{s.ref}. **{md(s.title or s.source)}** ({md(s.source)})" for s in sources]
        lines = [f"{head}\n\n   {md(' '.join(s.text.split()))}" for head, s in zip(lines, sources, strict=True)]
        parts.append("**Evidence from the knowledge base**\n\n" + "\n\n".join(lines))
    elif view.status == "paused":
        parts.append("_No documents from the knowledge base for this run._")
    return "\n\n".join(parts)


def thread(view: RunView | None) -> str:
    if view is None:
        return ""
    if not view.comments:
        return "_No comments yet._"
    lines = []
    for c in view.comments:
        late = f" (their {md(c.action)} came too late: someone decided first)" if c.lost_race else ""
        lines.append(f"- {when(c.created_at)} **{md(c.author)}**{late}: {md(c.text)}")
    return "**Comments**\n" + "\n".join(lines)


def render_comment_box(
    deps: ConsoleDeps, run_id: gr.Textbox, shown: gr.State
) -> tuple[gr.Markdown, gr.Markdown, gr.Textbox]:
    """The evidence and thread panels with an "add comment" box; returns (evidence, thread, the box) for the
    loader, which empties the box whenever a run is opened. A comment goes to the run shown (`shown`)."""
    evidence_md = gr.Markdown(elem_id="run-evidence")
    thread_md = gr.Markdown(elem_id="run-thread")
    with gr.Row():
        text = gr.Textbox(label="Add a comment (no decision)", lines=2, scale=4, elem_id="run-thread-text")
        post = gr.Button("Add comment", scale=1, elem_id="run-thread-add")
    note = gr.Markdown(elem_id="run-thread-message")
    inputs = [run_id, text, shown]
    post.click(comment_handler(deps), inputs=inputs, outputs=[note, thread_md, text], api_name="comment")
    return evidence_md, thread_md, text


def comment_handler(
    deps: ConsoleDeps,
) -> Callable[[str, str, dict[str, Any] | None, gr.Request], tuple[str, str, Any]]:
    def add_comment(typed: str, text: str, shown: dict[str, Any] | None, request: gr.Request) -> tuple[str, str, Any]:
        """Adds `text` to the thread of the run shown; refused (the text kept) when the Run id box names another."""
        try:
            run, _digest = acting_on(typed, shown)
            user = deps.require(request, "comment")
            deps.service.comment(run, user, text or "", via="console")
            view = deps.service.view(run)
        except VetoflowError as exc:  # said in place; the text stays in the box to fix
            return problem(str(exc)), gr.skip(), gr.skip()
        return ok(f"comment added to {run}"), thread(view), ""

    return add_comment
