"""The vector store: langchain-chroma over a local persistent Chroma, or a Chroma server.

One collection per embedding model. The collection records the model and dimension that filled it,
and a store opened with another model is refused: vectors of two models are never compared.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from vetoflow.config import Settings
from vetoflow.errors import VetoflowError
from vetoflow.setting_rules import ensure_home

if TYPE_CHECKING:  # langchain-chroma pulls in chromadb (~0.4 s): store_exists (health) must stay cheap
    from langchain_chroma import Chroma

    from vetoflow.rag.embedding_model import ModelEmbeddings

log = logging.getLogger(__name__)
SQLITE_FILE = "chroma.sqlite3"


def collection_name(model: str, dimension: int) -> str:
    """`vetoflow-<model slug>-<dim>`: Chroma allows [a-zA-Z0-9._-], 3-512 chars, alphanumeric at both ends."""
    slug = re.sub(r"[^a-zA-Z0-9._-]+", "-", model).strip("-._").lower()
    return f"vetoflow-{slug}-{dimension}"[:512]


def make_client(settings: Settings) -> Any:
    """A Chroma server when VETOFLOW_CHROMA_URL is set (scales past one machine), else files under home."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise VetoflowError(f"VETOFLOW_CHROMA_URL={settings.chroma_url}: expected http(s)://host:port")
        port = url.port or (443 if url.scheme == "https" else 8000)
        try:
            return chromadb.HttpClient(
                host=url.hostname, port=port, ssl=url.scheme == "https", settings=chroma_settings
            )
        except Exception as exc:
            raise VetoflowError(f"cannot reach the Chroma server at {settings.chroma_url}: {exc}") from None
    path = chroma_path(settings)
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


def chroma_path(settings: Settings) -> Path:
    """The local store under home, seeded from the image's baked store the first time.

    Chroma opens its SQLite file read-write (migrations, WAL), so a store on the read-only image
    filesystem cannot be opened in place: it is copied (a few MB, milliseconds) into the writable home.
    The copy lands in a temp directory first and is renamed, so a crash never leaves half a store.
    """
    path = settings.home / "chroma"
    baked = settings.baked_chroma
    if baked is None or (path / SQLITE_FILE).is_file():
        return path
    if not (baked / SQLITE_FILE).is_file():
        raise VetoflowError(f"VETOFLOW_BAKED_CHROMA={baked}: no Chroma store there (expected {SQLITE_FILE})")
    ensure_home(settings.home)
    staging = Path(tempfile.mkdtemp(prefix=".chroma-", dir=settings.home))
    try:
        shutil.copytree(baked, staging / "chroma", copy_function=shutil.copyfile)  # files: no read-only bits
        for directory in [staging / "chroma", *(p for p in (staging / "chroma").rglob("*") if p.is_dir())]:
            directory.chmod(directory.stat().st_mode | 0o700)  # directories keep theirs: make them writable
        try:
            (staging / "chroma").rename(path)
        except OSError:  # another process seeded it first
            if not (path / SQLITE_FILE).is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("copied the baked knowledge store %s to %s", baked, path)
    return path


@dataclass
class KnowledgeStore:
    """A Chroma collection bound to the one embedding model allowed to read and write it."""

    vectors: Chroma
    embeddings: ModelEmbeddings
    name: str

    @property
    def collection(self) -> Any:
        return self.vectors._collection

    def count(self) -> int:
        return int(self.collection.count())

    def check_query_vector(self, vector: list[float]) -> None:
        """Last line of defence: a query vector of another dimension never reaches the index."""
        expected = int(self.collection.metadata.get("dimension", len(vector)))
        if len(vector) != expected:
            raise VetoflowError(
                f"collection {self.name} holds {expected}-dim vectors; the query has {len(vector)} dimensions "
                f"({self.embeddings.name}). Re-ingest with this model or switch VETOFLOW_EMBEDDING_MODEL back."
            )


def open_store(settings: Settings, embeddings: ModelEmbeddings, *, client: Any = None) -> KnowledgeStore:
    from langchain_chroma import Chroma

    client = client or make_client(settings)
    name = settings.chroma_collection or collection_name(embeddings.name, embeddings.dimension)
    wanted = {"embedding_model": embeddings.name, "dimension": embeddings.dimension}
    existing = {c.name if hasattr(c, "name") else str(c) for c in client.list_collections()}
    if name in existing:
        metadata = client.get_collection(name).metadata or {}
        recorded = {"embedding_model": metadata.get("embedding_model"), "dimension": metadata.get("dimension")}
        if recorded != wanted:
            raise VetoflowError(
                f"collection {name} was filled by {recorded['embedding_model']} ({recorded['dimension']} dims); "
                f"the configured model is {embeddings.name} ({embeddings.dimension} dims). Vectors of different "
                "models cannot be compared: set VETOFLOW_EMBEDDING_MODEL back, or use another "
                "VETOFLOW_CHROMA_COLLECTION and re-ingest."
            )
    vectors = Chroma(
        collection_name=name,
        embedding_function=embeddings,
        client=client,
        collection_metadata=wanted,
        collection_configuration={"hnsw": {"space": "cosine"}},
        relevance_score_fn=lambda distance: 1.0 - distance,
    )
    return KnowledgeStore(vectors=vectors, embeddings=embeddings, name=name)


def store_exists(settings: Settings) -> bool:
    """Whether there is anything to retrieve from, without loading a model (keeps plain CLI calls fast)."""
    if settings.chroma_url:
        return True
    if settings.baked_chroma is not None and (settings.baked_chroma / SQLITE_FILE).is_file():
        return True
    return (settings.home / "chroma" / SQLITE_FILE).is_file()
