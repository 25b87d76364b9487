"""The console's Knowledge tab: upload documents into the vector store, list and remove sources, try a query.

The handlers live in `knowledge_base` (plain Python over `vetoflow.rag`); this module lays them out.
The embedding model is loaded by the first handler that needs it (opening the tab lists the sources,
which loads it unless the store does not exist yet), never while the console's first page loads.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from vetoflow.config import Settings
from vetoflow.console.common import PROGRESS, problem
from vetoflow.console.knowledge_base import (
    HIT_COLUMNS,
    NOT_LOADED,
    REPORT_COLUMNS,
    SOURCE_COLUMNS,
    KnowledgeBase,
    hit_rows,
    ingest_uploads,
    query,
    remove,
    source_choices,
    source_rows,
)
from vetoflow.errors import VetoflowError

INTRO = (
    "Documents here are what the Synthesizer retrieves from when it writes a run's summary. "
    "Markdown, text, PDF and CSV; several at once. Re-uploading an unchanged file embeds nothing; a changed "
    "file (same name) replaces its chunks; a bad file is reported by name and the rest are ingested."
)


def render_knowledge(settings: Settings, tab: gr.Tab | None = None) -> KnowledgeBase:
    """Build the tab inside the caller's `gr.Tab`; given that tab, opening it lists the sources."""
    kb = KnowledgeBase(settings)
    gr.Markdown(INTRO)
    with gr.Accordion("Details: search model (for administrators)", open=False, elem_id="knowledge-details"):
        model_box = gr.Markdown(NOT_LOADED, elem_id="knowledge-model")
    with gr.Row():
        with gr.Column(scale=2):
            files = gr.File(label="Documents", file_count="multiple", type="filepath")
            upload = gr.Button("Add to the knowledge base", variant="primary")
            message = gr.Markdown(elem_id="knowledge-message")
            report = gr.Dataframe(
                headers=REPORT_COLUMNS,
                label="Upload report",
                interactive=False,
                wrap=True,
                column_widths=["30%", "16%", "9%", "45%"],
            )
        with gr.Column(scale=3):
            sources = gr.Dataframe(
                headers=SOURCE_COLUMNS,
                label="Sources in the store",
                interactive=False,
                wrap=True,
                column_widths=["24%", "30%", "9%", "17%", "20%"],
            )
            with gr.Row():
                choice = gr.Dropdown(
                    label="Source (file name or full source)", choices=[], allow_custom_value=True, scale=3
                )
                refresh = gr.Button("Refresh", scale=1)
                drop = gr.Button("Remove", variant="stop", scale=1)
    gr.Markdown("### Try a query")
    with gr.Row():
        question = gr.Textbox(label="Question", placeholder="e.g. Why did the kiosk pilot fail?", scale=4)
        k = gr.Slider(1, 20, value=settings.rag_top_k, step=1, label="chunks (k)", scale=1)
        ask = gr.Button("Search", variant="primary", scale=1)
    answer = gr.Markdown(elem_id="knowledge-answer")
    hits = gr.Dataframe(
        headers=HIT_COLUMNS,
        label="Retrieved chunks",
        interactive=False,
        wrap=True,
        column_widths=["4%", "7%", "15%", "15%", "5%", "6%", "48%"],
    )

    def listing(progress: Any = None) -> tuple[list[list[Any]], Any, str]:
        """Sources, the remove choices and the model note; a store that cannot open is an error toast."""
        try:
            rows = source_rows(kb, progress)
        except VetoflowError as exc:
            raise gr.Error(str(exc)) from None
        return rows, gr.Dropdown(choices=source_choices(rows), value=None), kb.model_note()

    def list_sources(progress: gr.Progress = PROGRESS) -> tuple[Any, ...]:
        return listing(progress)

    def add(paths: list[str] | None, progress: gr.Progress = PROGRESS) -> tuple[Any, ...]:
        if not paths:
            raise gr.Error("Choose one or more files: Markdown, text, PDF or CSV.")
        try:
            text, rows = ingest_uploads(kb, list(paths), progress)
        except VetoflowError as exc:  # the store or model could not open: nothing was ingested
            raise gr.Error(str(exc)) from None
        return text, rows, *listing()

    def drop_source(source: str | None, progress: gr.Progress = PROGRESS) -> tuple[Any, ...]:
        try:
            text = remove(kb, source, progress)
        except VetoflowError as exc:
            text = problem(str(exc))
        return text, *listing()

    def search(text: str, count: float, progress: gr.Progress = PROGRESS) -> tuple[str, list[list[Any]], str]:
        try:
            header, found = query(kb, text, int(count), progress)
        except VetoflowError as exc:
            raise gr.Error(str(exc)) from None
        return header, hit_rows(found), kb.model_note()

    listed = [sources, choice, model_box]
    writes: dict[str, Any] = {"concurrency_id": "knowledge-write", "concurrency_limit": 1}  # one writer at a time
    upload.click(add, files, [message, report, *listed], api_name="knowledge_upload", **writes)
    refresh.click(list_sources, None, listed, api_name="knowledge_sources")
    drop.click(drop_source, choice, [message, *listed], api_name="knowledge_remove", **writes)
    ask.click(search, [question, k], [answer, hits, model_box], api_name="knowledge_query")
    question.submit(search, [question, k], [answer, hits, model_box], api_visibility="private")
    if tab is not None:
        tab.select(list_sources, None, listed, api_visibility="private")
    return kb
