"""Knowledge: a placeholder until the RAG build lands (the lead swaps in `knowledge_tab.render_knowledge_tab`)."""

from __future__ import annotations

import gradio as gr

from vetoflow.config import Settings

NOT_AVAILABLE = (
    "### Knowledge store: not available in this build\n"
    "Uploading documents into the vector store, listing and removing sources, and trying queries arrive "
    "with the retrieval (RAG) build. Summaries are written by the offline synthesizer meanwhile."
)


def render_knowledge(settings: Settings) -> gr.Markdown:
    return gr.Markdown(NOT_AVAILABLE, elem_id="knowledge-unavailable")
