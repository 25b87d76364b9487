"""The console footer in queue mode: the queue's figures in one line, refreshed every few seconds."""

from __future__ import annotations

import gradio as gr

from vetoflow.config import Settings
from vetoflow.errors import VetoflowError
from vetoflow.workers.health import footer_line, queue_figures


def queue_footer_text(settings: Settings) -> str:
    try:
        return footer_line(queue_figures(settings))
    except VetoflowError as exc:
        return f"Queue: unavailable ({exc})"


def render_queue_footer(settings: Settings, every: float = 10.0) -> None:
    """Nothing in inline mode (no queue to show)."""
    if settings.executor == "queue":
        gr.Markdown(lambda: queue_footer_text(settings), every=every, elem_id="queue-footer")
