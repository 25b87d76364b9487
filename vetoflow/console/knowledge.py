"""The console's Knowledge tab: upload documents into the vector store, list and remove sources, try a query.

The handlers live in `knowledge_base` and `knowledge_uploads` (plain Python over `vetoflow.rag`); this module
lays them out. Uploads are background jobs (`rag.upload_jobs`): the button returns at once, a timer shows
every user's uploads with their progress, and any of them can be cancelled.
The embedding model is loaded by the first handler that needs it (opening the tab lists the sources,
which loads it unless the store does not exist yet), never while the console's first page loads.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from vetoflow.console.common import PROGRESS, ConsoleDeps, problem
from vetoflow.console.knowledge_base import (
    HIT_COLUMNS,
    NOT_LOADED,
    SOURCE_COLUMNS,
    KnowledgeBase,
    hit_rows,
    query,
    remove,
    source_choices,
    source_rows,
)
from vetoflow.console.knowledge_uploads import (
    JOB_COLUMNS,
    SHOWN_JOBS,
    cancel_choices,
    cancel_upload,
    job_rows,
    submit_uploads,
)
from vetoflow.db.ingest_jobs import IngestJobs
from vetoflow.errors import VetoflowError
from vetoflow.plaintext import md
from vetoflow.rag.upload_jobs import UploadService

INTRO = (
    "Documents here are what the Synthesizer retrieves from when it writes a run's summary. "
    "Markdown, text, PDF and CSV; several at once. Re-uploading an unchanged file embeds nothing; a changed "
    "file (same name) replaces its chunks; a bad file is reported by name and the rest are ingested."
)
UPLOADS_NOTE = (
    "Uploads run in the background: you can keep working, everyone sees their progress, and Cancel leaves the "
    "knowledge base as it was. A file too large to add in a few minutes is refused at once, with its estimate."
)
LIMIT_NOTE = "Upload limit: {limit:,} chunks per file (`VETOFLOW_INGEST_MAX_CHUNKS`)."
POLL_SECONDS = 2.0


def render_knowledge(deps: ConsoleDeps, tab: gr.Tab | None = None) -> KnowledgeBase:
    """Build the tab inside the caller's `gr.Tab`; given that tab, opening it lists the sources."""
    settings = deps.settings
    kb = KnowledgeBase(settings)
    uploads = UploadService(settings, IngestJobs(deps.service.database.engine), kb.store)
    gr.Markdown(INTRO)
    search_note = gr.Markdown(elem_id="knowledge-search-note")  # plain words; the model itself is in Details
    with gr.Accordion("Details: search model (for administrators)", open=False, elem_id="knowledge-details"):
        model_box = gr.Markdown(NOT_LOADED, elem_id="knowledge-model")
        gr.Markdown(LIMIT_NOTE.format(limit=settings.ingest_max_chunks))
    with gr.Row():
        with gr.Column(scale=2):
            files = gr.File(label="Documents", file_count="multiple", type="filepath")
            upload = gr.Button("Add to the knowledge base", variant="primary")
            message = gr.Markdown(elem_id="knowledge-message")
            gr.Markdown(UPLOADS_NOTE)
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
    jobs = gr.Dataframe(
        headers=JOB_COLUMNS,
        label="Uploads (everyone's, newest first)",
        interactive=False,
        wrap=True,
        elem_id="knowledge-uploads",
        column_widths=["18%", "8%", "16%", "40%", "6%", "12%"],
    )
    with gr.Row():
        to_cancel = gr.Dropdown(label="Upload to cancel", choices=[], scale=3)
        cancel = gr.Button("Cancel upload", variant="stop", scale=1)
    gr.Markdown("### Try a query")
    with gr.Row():
        question = gr.Textbox(label="Question", placeholder="e.g. Why did the kiosk pilot fail?", scale=4)
        k = gr.Slider(1, 20, value=settings.rag_top_k, step=1, label="passages to show", scale=1)
        ask = gr.Button("Search", variant="primary", scale=1)
    answer = gr.Markdown(elem_id="knowledge-answer")
    hits = gr.Dataframe(
        headers=HIT_COLUMNS,
        label="Passages found",
        interactive=False,
        wrap=True,
        column_widths=["4%", "7%", "15%", "15%", "5%", "6%", "48%"],
    )

    def listing(progress: Any = None) -> tuple[list[list[Any]], Any, str, str]:
        """Sources, the remove choices, the model details and the operator's note; a store that cannot open is
        an error toast."""
        try:
            rows = source_rows(kb, progress)
        except VetoflowError as exc:
            raise gr.Error(str(exc)) from None
        return rows, gr.Dropdown(choices=source_choices(rows), value=None), kb.model_note(), kb.search_note()

    def list_sources(progress: gr.Progress = PROGRESS) -> tuple[Any, ...]:
        return listing(progress)

    def add(paths: list[str] | None, request: gr.Request) -> tuple[Any, ...]:
        try:
            text, rows = submit_uploads(uploads, list(paths or []), deps.user(request))
        except VetoflowError as exc:
            raise gr.Error(str(exc)) from None
        return text, rows, gr.Dropdown(choices=cancel_choices(uploads.recent(SHOWN_JOBS)))

    def stop(job_id: str | None, request: gr.Request) -> tuple[Any, ...]:
        try:
            text = cancel_upload(uploads, job_id, deps.user(request))
        except VetoflowError as exc:
            text = problem(str(exc))
        recent = uploads.recent(SHOWN_JOBS)
        return text, job_rows(recent), gr.Dropdown(choices=cancel_choices(recent), value=None)

    def poll(finished_before: int) -> tuple[Any, ...]:
        """Every user's uploads; the sources list too when an upload finished since the last tick."""
        recent = uploads.recent(SHOWN_JOBS)
        finished = sum(1 for job in recent if job.status == "done")
        choices = gr.Dropdown(choices=cancel_choices(recent))
        if finished != finished_before and kb.opened:
            return job_rows(recent), choices, finished, *listing()
        return job_rows(recent), choices, finished, *(gr.skip() for _ in listed)

    def drop_source(source: str | None, request: gr.Request, progress: gr.Progress = PROGRESS) -> tuple[Any, ...]:
        try:
            deps.require(request, "start")  # what later runs cite: analysts and admins only
            text = remove(kb, source, progress)
        except VetoflowError as exc:
            text = problem(str(exc))
        return text, *listing()

    def search(text: str, count: float, progress: gr.Progress = PROGRESS) -> tuple[str, list[list[Any]], str, str]:
        try:
            header, found = query(kb, text, int(count), progress)
        except VetoflowError as exc:
            raise gr.Error(str(exc)) from None
        return header, hit_rows(found), kb.model_note(), kb.search_note()

    listed = [sources, choice, model_box, search_note]
    finished = gr.State(0)
    quick: dict[str, Any] = {"concurrency_limit": None}  # table reads and writes only: never queue behind a run
    upload.click(add, files, [message, jobs, to_cancel], api_name="knowledge_upload", **quick)
    cancel.click(stop, to_cancel, [message, jobs, to_cancel], api_name="knowledge_cancel", **quick)
    timer = gr.Timer(POLL_SECONDS)
    polled = [jobs, to_cancel, finished, *listed]
    timer.tick(poll, finished, polled, api_name="knowledge_uploads", show_progress="hidden", **quick)
    refresh.click(list_sources, None, listed, api_name="knowledge_sources")
    writes: dict[str, Any] = {"concurrency_id": "knowledge-write", "concurrency_limit": 1}  # one remover at a time
    drop.click(drop_source, choice, [message, *listed], api_name="knowledge_remove", **writes)
    answered = [answer, hits, model_box, search_note]
    ask.click(search, [question, k], answered, api_name="knowledge_query")
    question.submit(search, [question, k], answered, api_visibility="private")
    if tab is not None:
        tab.select(list_sources, None, listed, api_visibility="private")

    def may_write(request: gr.Request) -> tuple[Any, Any, str]:
        """Adding and removing documents is for roles that may start runs: off for others, saying why."""
        try:
            deps.require(request, "start")
        except VetoflowError as exc:
            off = gr.update(interactive=False)
            return off, off, f"**Add to the knowledge base** and **Remove** are off: {md(str(exc))}"
        return gr.update(interactive=True), gr.update(interactive=True), ""

    gr.on(None, may_write, outputs=[upload, drop, message], api_visibility="private")  # when the page loads
    return kb
