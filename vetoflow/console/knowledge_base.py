"""The Knowledge tab's plain-Python side: the store opened on first use, upload names, sources and queries.

Everything goes through `vetoflow.rag` (the same ingest, listing, removal and search as the CLI). The
embedding model takes seconds to load on a small CPU, so nothing here loads it until a handler needs it:
building the console and its first page never do.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vetoflow.config import Settings
from vetoflow.errors import VetoflowError
from vetoflow.plaintext import md

if TYPE_CHECKING:  # chromadb and torch are heavy imports: paid on first use only
    from vetoflow.rag.store import KnowledgeStore
    from vetoflow.state import Source

Progress = Callable[..., Any]  # gr.Progress, or anything with its call signature (tests record the calls)
LOADING = "loading the embedding model…"
NOT_LOADED = (
    "Embedding model: loads on first use (listing, uploading or searching); that takes a few seconds on a "
    "small CPU and happens once per console process."
)
SUBSTITUTE_MODEL = (
    "⚠️ Search uses a substitute language model, so results may be less precise. Your administrator can "
    "change this (what is used is under **Details** below)."
)
MAX_LABEL = 120
UNSAFE = re.compile(r"[^\w.()+,@ -]+")  # \w is Unicode-aware: accented names stay readable
SOURCE_COLUMNS = ["file", "title", "chunks", "added (UTC)", "source"]
HIT_COLUMNS = ["#", "score", "source", "title", "page", "chunk", "text"]


class KnowledgeBase:
    """The console's one store, opened on first use and then shared by every session."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._store: KnowledgeStore | None = None
        self._lock = threading.Lock()

    @property
    def opened(self) -> bool:
        return self._store is not None

    def exists(self) -> bool:
        """Whether there can be anything in the store, without loading the model."""
        from vetoflow.rag.store import store_exists

        return self._store is not None or store_exists(self.settings)

    def store(self, progress: Progress | None = None) -> KnowledgeStore:
        with self._lock:
            if self._store is None:
                from vetoflow.rag.embeddings import configured_embeddings
                from vetoflow.rag.store import open_store

                if progress is not None:
                    progress(None, desc=LOADING)
                self._store = open_store(self.settings, configured_embeddings(self.settings))
            return self._store

    def search_note(self) -> str:
        """What an operator needs to know about the model, in plain words: only that a substitute is in use."""
        if self._store is not None and self._store.embeddings.resolved.fallback:
            return SUBSTITUTE_MODEL
        return ""

    def model_note(self) -> str:
        """For the Details accordion: which model answers, said loudly when it is the packaged fallback rather
        than bge-small (with the package, the model it stands in for and the setting that chooses)."""
        if self._store is None:
            return NOT_LOADED
        from vetoflow.rag.embedding_model import DEFAULT_MODEL, FALLBACK_PACKAGE

        store, model = self._store, self._store.embeddings
        note = (
            f"Embedding model: **{model.name}** ({model.dimension} dims) · collection `{store.name}` · "
            f"{store.count()} chunk(s)"
        )
        if model.resolved.fallback:
            note = (
                f"⚠️ **FALLBACK embedding model `{model.name}`** (from the PyPI package {FALLBACK_PACKAGE}): "
                f"{self.settings.embedding_model or DEFAULT_MODEL} is not available offline. Set "
                "`VETOFLOW_EMBEDDING_MODEL` to a local model directory to choose.\n\n" + note
            )
        return note


def upload_label(name: str) -> str:
    """The `source` recorded for an upload: its base name only, printable, safe characters, bounded.

    Only a label (the file read is Gradio's temp copy), but it is shown, matched by `remove` and used in
    citations, so `../../x.md` and friends become plain names.
    """
    base = re.split(r"[\\/]", name)[-1]
    base = "".join(ch for ch in unicodedata.normalize("NFC", base) if ch.isprintable())
    base = UNSAFE.sub("_", base).lstrip(". ").rstrip(" ")
    if len(base) > MAX_LABEL:
        stem, suffix = (base.rsplit(".", 1)[0], "." + base.rsplit(".", 1)[1][:10]) if "." in base else (base, "")
        base = stem[: MAX_LABEL - len(suffix)] + suffix
    return base or "upload"


def plan_uploads(paths: list[str]) -> tuple[dict[Path, str], list[list[Any]]]:
    """Temp path -> label; a second file with the same label in one upload is refused (rows for the report)."""
    labels: dict[Path, str] = {}
    refused: list[list[Any]] = []
    for path in paths:
        label = upload_label(Path(path).name)
        if label in labels.values():
            refused.append([label, "skipped", 0, "another file in this upload has the same name"])
        else:
            labels[Path(path)] = label
    return labels, refused


def _added(value: str) -> str:
    try:
        return f"{datetime.fromisoformat(value):%Y-%m-%d %H:%M}"
    except ValueError:
        return "-"


def source_rows(kb: KnowledgeBase, progress: Progress | None = None) -> list[list[Any]]:
    """file, title, chunks, added, source: newest first. An absent store is listed as empty, model unloaded."""
    from vetoflow.rag.ingest import list_sources

    if not kb.exists():
        return []
    rows = sorted(list_sources(kb.store(progress)), key=lambda r: (str(r["added"]), str(r["source"])), reverse=True)
    return [[Path(str(r["source"])).name, r["title"], r["chunks"], _added(str(r["added"])), r["source"]] for r in rows]


def source_choices(rows: list[list[Any]]) -> list[tuple[str, str]]:
    """Dropdown (label, value): the file name, with the full source when that is more than the name."""
    return [(name if name == source else f"{name} ({source})", source) for name, *_, source in rows]


def remove(kb: KnowledgeBase, source: str | None, progress: Progress | None = None) -> str:
    from vetoflow.rag.ingest import remove_source

    if not source:
        raise VetoflowError("pick a source to remove (the list shows what is in the store)")
    if not kb.exists():
        raise VetoflowError("the knowledge store is empty")
    removed, count = remove_source(kb.store(progress), source)
    return f"✅ Removed **{md(Path(removed).name)}** ({count} chunk(s))."


def query(kb: KnowledgeBase, question: str, k: int, progress: Progress | None = None) -> tuple[str, list[Source]]:
    """The chunks the Synthesizer's retriever would see for this question (plain top-k, cosine scores)."""
    from vetoflow.rag.retrieval import search

    question = (question or "").strip()
    if not question:
        raise VetoflowError("type a question to search the knowledge base")
    if not kb.exists() or kb.store(progress).count() == 0:
        return "The knowledge store is empty: upload documents first.", []
    store = kb.store()
    hits = search(store, question, max(1, min(int(k), 20)))
    return f"{len(hits)} passage(s) closest in meaning to the question, best match first.", hits


def hit_rows(hits: list[Source]) -> list[list[Any]]:
    return [[h.ref, f"{h.score:.3f}", h.source, h.title, h.page or "", h.chunk, h.text] for h in hits]
