"""Local CPU embeddings: one loaded instance per process of the model `rag/embedding_model.py` resolves.

The model runs through ONNX Runtime from its fp32 export (`rag/onnx_export.py`): no torch on the run path.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from vetoflow.errors import VetoflowError
from vetoflow.rag.embedding_model import BATCH_SIZE, ModelEmbeddings, ResolvedModel, resolve_model

if TYPE_CHECKING:
    from vetoflow.config import Settings


class LocalEmbeddings(ModelEmbeddings):
    """The model run by ONNX Runtime (no torch), plus what the store must record: model name and dimension.

    Vectors equal sentence-transformers' (the reference in `rag/reference.py`; tests compare the two).
    """

    def __init__(
        self,
        resolved: ResolvedModel,
        *,
        batch_size: int = BATCH_SIZE,
        truncate_dim: int | None = None,
        threads: int = 1,
        cache_home: Path | None = None,
    ) -> None:
        from vetoflow.rag.onnx_encoder import OnnxEncoder
        from vetoflow.rag.onnx_export import ensure_export

        self.resolved = resolved
        self.name = resolved.name if truncate_dim is None else f"{resolved.name}@{truncate_dim}"
        model_dir = Path(resolved.path)
        export = ensure_export(model_dir, cache_home)
        self.encoder = OnnxEncoder(model_dir, export.onnx_file, export.tokenizer_file, threads=threads)
        self.onnx_file = export.onnx_file
        self.batch_size = batch_size
        self.truncate_dim = truncate_dim
        self.threads = threads
        self.dimension = truncate_dim or self.encoder.config.dimension

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        vectors = self.encoder.encode(list(texts), batch_size=self.batch_size, truncate_dim=self.truncate_dim)
        return [[float(x) for x in row] for row in vectors.tolist()]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([self.resolved.query_instruction + text])[0]


def default_threads() -> int:
    """1 on Lambda and on small shared CPUs (two threads ran 2.1x slower than one under load), else up to 4."""
    import os

    from vetoflow.lambda_env import on_lambda

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return 1 if on_lambda() or cpus <= 2 else min(4, cpus // 2)


_loaded: dict[tuple[str, str, int | None, int], ModelEmbeddings] = {}
_lock = threading.Lock()


def load_embeddings(
    setting: str | None,
    *,
    truncate_dim: int | None = None,
    threads: int | None = None,
    cache_home: Path | None = None,
) -> LocalEmbeddings:
    """Load (once per process) the model the setting resolves to. `cache_home` is where an export is
    cached when the model folder is read-only; `threads`: ONNX Runtime intra-op threads (None: default)."""
    loaded = _load("onnx", setting, truncate_dim=truncate_dim, threads=threads, cache_home=cache_home)
    assert isinstance(loaded, LocalEmbeddings)
    return loaded


def _load(
    backend: str, setting: str | None, *, truncate_dim: int | None, threads: int | None, cache_home: Path | None
) -> ModelEmbeddings:
    resolved = resolve_model(setting)
    threads = threads or default_threads()
    key = (backend, resolved.path, truncate_dim, threads)
    with _lock:
        if key not in _loaded:
            try:
                if backend == "torch":
                    from vetoflow.rag.reference import ReferenceEmbeddings

                    _loaded[key] = ReferenceEmbeddings(resolved, truncate_dim=truncate_dim, threads=threads)
                else:
                    _loaded[key] = LocalEmbeddings(
                        resolved, truncate_dim=truncate_dim, threads=threads, cache_home=cache_home
                    )
            except OSError as exc:
                raise VetoflowError(
                    f"cannot load embedding model {resolved.name} from {resolved.path}: {exc}"
                ) from None
        return _loaded[key]


def configured_embeddings(settings: Settings) -> ModelEmbeddings:
    """The model the settings name, through their backend (ONNX unless the torch reference is asked for),
    with their thread count and the export cache under home."""
    return _load(
        settings.embedding_backend,
        settings.embedding_model,
        truncate_dim=None,
        threads=settings.embedding_threads,
        cache_home=settings.home,
    )
