"""Embed first, write last: the store sees a file's new chunks all at once, or not at all.

`embed_chunks` asks `stop` between batches (a cancelled upload ends there, having written nothing);
`write_chunks` upserts the vectors, and a failure part-way deletes the new ids again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vetoflow.rag.chunks import Chunk
    from vetoflow.rag.store import KnowledgeStore

EMBED_BATCH = 256
Progress = Callable[[int, int], None]  # (chunks embedded so far, chunks to embed)


class CancelledError(Exception):
    """Raised between embedding batches when the caller asked to stop; nothing was written."""


def embed_chunks(
    store: KnowledgeStore,
    chunks: list[Chunk],
    *,
    batch: int = EMBED_BATCH,
    on_progress: Progress | None = None,
    stop: Callable[[], bool] | None = None,
) -> list[list[float]]:
    """Vectors for `chunks`, batch by batch, without touching the store; `stop` is asked between batches."""
    vectors: list[list[float]] = []
    for start in range(0, len(chunks), batch):
        if stop is not None and stop():
            raise CancelledError
        vectors += store.embeddings.embed_documents([c.text for c in chunks[start : start + batch]])
        if on_progress:
            on_progress(len(vectors), len(chunks))
    return vectors


def write_chunks(store: KnowledgeStore, chunks: list[Chunk], vectors: list[list[float]], stale: list[str]) -> None:
    """New chunks in, then stale ones out. A failure part-way takes the new ones out again (they were not
    in the store before, by their content-hash ids), so the store is left as it was."""
    try:
        for start in range(0, len(chunks), EMBED_BATCH):
            part = chunks[start : start + EMBED_BATCH]
            store.collection.upsert(
                ids=[c.id for c in part],
                embeddings=vectors[start : start + EMBED_BATCH],
                metadatas=[c.metadata for c in part],
                documents=[c.text for c in part],
            )
    except BaseException:
        if chunks:
            store.collection.delete(ids=[c.id for c in chunks])
        raise
    if stale:
        store.collection.delete(ids=stale)
