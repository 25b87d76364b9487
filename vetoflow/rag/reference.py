"""The torch reference: the same model through sentence-transformers, as it was embedded before ONNX.

Never on the run path (importing it costs seconds and hundreds of MB). Tests assert that the ONNX path
gives the same vectors and the same retrieval as this one; benchmarks measure one against the other.
Needs the `export` extra (sentence-transformers, torch). `VETOFLOW_EMBEDDING_BACKEND=torch` selects it.
"""

from __future__ import annotations

from typing import Any

from vetoflow.rag.embedding_model import BATCH_SIZE, ModelEmbeddings, ResolvedModel


class ReferenceEmbeddings(ModelEmbeddings):
    """sentence-transformers' `encode`, normalised, with the bge query instruction on queries only."""

    def __init__(self, resolved: ResolvedModel, *, truncate_dim: int | None = None, threads: int | None = None) -> None:
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        if threads is not None:  # process-wide in torch; the reference path is for comparison only
            torch.set_num_threads(threads)
        self.resolved = resolved
        self.name = resolved.name if truncate_dim is None else f"{resolved.name}@{truncate_dim}"
        self.client: Any = SentenceTransformer(resolved.path, device="cpu", truncate_dim=truncate_dim)
        self.dimension = int(self.client.get_embedding_dimension() or 0)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        vectors = self.client.encode(list(texts), batch_size=BATCH_SIZE, normalize_embeddings=True)
        return [[float(x) for x in row] for row in vectors.tolist()]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([self.resolved.query_instruction + text])[0]
