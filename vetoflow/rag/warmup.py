"""Loading the embedding model in the background at server start, so health and the first page are fast.

The model (an ONNX Runtime session and its tokenizer) takes up to a second to load, more on a cold disk;
a Lambda cold start must answer the adapter's readiness check before that. A run that needs the model
meanwhile simply waits for it (the loader holds the same lock the run's retriever takes).
"""

from __future__ import annotations

import logging
import threading
from typing import Literal

from vetoflow.rag.retrieval import RetrieverClient, StoreRetriever

log = logging.getLogger(__name__)

EmbeddingsStatus = Literal["loading", "ready", "unavailable"]


class EmbeddingsWarmup:
    """`status`: None (not started, or nothing to load: no knowledge store), loading, ready, unavailable."""

    def __init__(self, retriever: RetrieverClient | None) -> None:
        self.retriever = retriever
        self.status: EmbeddingsStatus | None = None
        self.error: str | None = None
        self._thread: threading.Thread | None = None

    def will_load(self) -> bool:
        """Whether there is a model to load: no knowledge base means summaries never retrieve."""
        if not isinstance(self.retriever, StoreRetriever):
            return False
        from vetoflow.rag.store import store_exists

        return store_exists(self.retriever.settings)

    def reported(self) -> EmbeddingsStatus | None:
        """What health reports: a load that is due but not started yet is already "loading"; None: no model."""
        if self.status is None and self.will_load():
            return "loading"
        return self.status

    def start(self) -> None:
        """Idempotent; a daemon thread, so a shutting-down server never waits for a half-loaded model."""
        if self._thread is not None or not self.will_load():
            return
        assert isinstance(self.retriever, StoreRetriever)
        self.status = "loading"
        self._thread = threading.Thread(target=self._load, args=(self.retriever,), name="embeddings-warmup")
        self._thread.daemon = True
        self._thread.start()

    def _load(self, retriever: StoreRetriever) -> None:
        try:
            retriever.store.count()  # loads the model, opens (or first copies) the store
        except Exception as exc:  # reported by /healthz; the run that needs it gets the real error
            self.status, self.error = "unavailable", str(exc)
            log.warning("embedding model not loaded in the background: %s", exc)
        else:
            self.status = "ready"

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)
