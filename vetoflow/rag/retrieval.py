"""Retrieval for the Synthesizer: a query built from the run's state, top-k chunks with scores and sources."""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from vetoflow.config import Settings
from vetoflow.errors import VetoflowError
from vetoflow.state import Retrieval, RunState, Source

if TYPE_CHECKING:  # chromadb is a heavy import; only processes that retrieve pay for it
    from vetoflow.rag.store import KnowledgeStore


@runtime_checkable
class RetrieverClient(Protocol):
    """Injected through the graph context; returns None when there is no knowledge base to ask."""

    def retrieve(self, state: RunState) -> Retrieval | None: ...


def build_query(state: RunState) -> str:
    """What the summary needs background on: the plan, its segments, the verdict and its reasons."""
    scenario = state.scenario
    parts = [
        scenario.name,
        "segments: " + ", ".join(s.name for s in scenario.segments),
        "pricing, risks and past investments",
    ]
    if state.decision:
        parts.append("vetoed: " + "; ".join(state.decision.reasons) if state.decision.veto else "no veto")
    return ". ".join(parts)


def search(store: KnowledgeStore, query: str, k: int, *, mmr: bool = False) -> list[Source]:
    vector = store.embeddings.embed_query(query)
    store.check_query_vector(vector)
    if mmr:
        docs = store.vectors.max_marginal_relevance_search_by_vector(vector, k=k, fetch_k=max(4 * k, 20))
        scored = [(doc, float("nan")) for doc in docs]
    else:
        scored = store.vectors.similarity_search_by_vector_with_relevance_scores(vector, k=k)
        scored = [(doc, 1.0 - distance) for doc, distance in scored]  # cosine distance -> similarity
    sources = []
    for ref, (doc, score) in enumerate(scored, start=1):
        meta = doc.metadata
        page = meta.get("page")
        sources.append(
            Source(
                ref=ref,
                source=Path(str(meta.get("source", "?"))).name,
                title=str(meta.get("title", "")),
                page=int(page) if page is not None else None,
                chunk=int(meta.get("chunk", 0)),
                score=round(score, 4) if not math.isnan(score) else 0.0,
                text=doc.page_content,
            )
        )
    return sources


class StoreRetriever:
    """Opens the store lazily: commands that never summarise never load the embedding model."""

    def __init__(self, settings: Settings, store: KnowledgeStore | None = None) -> None:
        self.settings = settings
        self._store = store
        self._lock = threading.Lock()  # a background warm-up and a run may ask at once: open it once

    @property
    def store(self) -> KnowledgeStore:
        with self._lock:
            if self._store is None:
                from vetoflow.rag.embeddings import configured_embeddings
                from vetoflow.rag.store import open_store

                self._store = open_store(self.settings, configured_embeddings(self.settings))
            return self._store

    def retrieve(self, state: RunState) -> Retrieval | None:
        """Sources for the summary. A missing or empty store is reported in the result (the summary then
        cites nothing); a store that cannot be read raises, so the run fails and `retry` resumes it."""
        from vetoflow.rag.store import store_exists

        query = build_query(state)
        where = self.settings.chroma_url or str(self.settings.home / "chroma")
        if self._store is None and not store_exists(self.settings):
            warning = f"no knowledge store at {where}: the summary cites no documents (add some: vetoflow ingest PATH)"
            return Retrieval(query=query, embedding_model="", collection="", warning=warning)
        try:
            store = self.store
            if store.count() == 0:
                warning = f"the knowledge store at {where} is empty: the summary cites no documents"
                return Retrieval(
                    query=query, embedding_model=store.embeddings.name, collection=store.name, warning=warning
                )
            sources = search(store, query, self.settings.rag_top_k, mmr=self.settings.rag_mmr)
        except VetoflowError:
            raise
        except Exception as exc:  # chromadb/sqlite errors of a damaged store: fail the run, keep it retriable
            self._store = None
            raise VetoflowError(
                f"the knowledge store at {where} cannot be read ({type(exc).__name__}: {exc}). Repair it, or move "
                "it aside and rebuild it with `vetoflow ingest PATH`, then resume the run with `vetoflow retry`."
            ) from exc
        return Retrieval(query=query, embedding_model=store.embeddings.name, collection=store.name, sources=sources)
