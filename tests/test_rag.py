"""The local half of RAG with the real packaged model and a real Chroma store on disk."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.rag_helpers import KNOWLEDGE, decided_state, store_in
from vetoflow.errors import VetoflowError
from vetoflow.rag.embedding_model import FALLBACK_PACKAGE, resolve_model
from vetoflow.rag.embeddings import LocalEmbeddings
from vetoflow.rag.ingest import ingest, list_sources, remove_source
from vetoflow.rag.retrieval import StoreRetriever, build_query, search
from vetoflow.rag.store import open_store
from vetoflow.scenario import Scenario


def test_model_resolution_falls_back_loudly_and_honours_explicit_paths(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        fallback = resolve_model(None)
    assert fallback.fallback
    assert fallback.name == "sentence-transformers/all-MiniLM-L6-v2"
    assert FALLBACK_PACKAGE in caplog.text
    assert "BAAI/bge-small-en-v1.5" in caplog.text

    explicit = resolve_model(fallback.path)
    assert not explicit.fallback
    assert explicit.path == fallback.path

    with pytest.raises(VetoflowError, match="not a sentence-transformers model directory"):
        resolve_model(str(Path(fallback.path).parent))
    with pytest.raises(VetoflowError, match="no such directory"):
        resolve_model("./BAAI-bge-small")  # looks like a path: never silently read as a hub id


def test_bge_models_get_the_query_instruction() -> None:
    from vetoflow.rag.embedding_model import BGE_QUERY_INSTRUCTION, ResolvedModel

    assert ResolvedModel("BAAI/bge-small-en-v1.5", "/x").query_instruction == BGE_QUERY_INSTRUCTION
    assert ResolvedModel("sentence-transformers/all-MiniLM-L6-v2", "/x").query_instruction == ""


def test_vectors_are_normalised(embeddings: LocalEmbeddings) -> None:
    vectors = embeddings.embed_documents(["kiosk leases", "coffee beans"])
    assert embeddings.dimension == 384
    assert all(abs(sum(x * x for x in v) - 1.0) < 1e-4 for v in vectors)


def test_ingest_is_idempotent_and_a_changed_file_replaces_its_chunks(
    tmp_path: Path, embeddings: LocalEmbeddings
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# Alpha\n\n" + "Kiosk leases run for years. " * 60)
    (docs / "b.txt").write_text("Green coffee prices are volatile.")
    _, store = store_in(tmp_path / "home", embeddings)

    first = ingest(store, [docs], max_bytes=10**6)
    total = store.count()
    assert first.chunks_added == total > 2
    assert not first.skipped

    again = ingest(store, [docs], max_bytes=10**6)
    assert again.chunks_added == 0
    assert sorted(Path(s).name for s in again.unchanged) == ["a.md", "b.txt"]
    assert store.count() == total

    a_source = str((docs / "a.md").resolve())
    old_ids = set(store.collection.get(where={"source": a_source}, include=[])["ids"])
    (docs / "a.md").write_text("# Alpha\n\nThe leases were renegotiated to one year.")
    changed = ingest(store, [docs], max_bytes=10**6)
    new_ids = set(store.collection.get(where={"source": a_source}, include=[])["ids"])
    assert changed.added == {a_source: 1}
    assert changed.removed_stale == {a_source: len(old_ids)}
    assert not old_ids & new_ids
    assert store.count() == 2  # one chunk each
    docs_text = store.collection.get(where={"source": a_source})["documents"]
    assert docs_text == ["# Alpha\n\nThe leases were renegotiated to one year."]


def test_bad_files_are_named_and_skipped_while_the_rest_is_ingested(
    tmp_path: Path, embeddings: LocalEmbeddings
) -> None:
    (tmp_path / "good.md").write_text("# Good\n\nWarehouse automation risks.")
    (tmp_path / "empty.md").write_text("   \n")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02binary")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (tmp_path / "big.txt").write_text("x" * 5000)
    (tmp_path / "notes.docx").write_text("word")
    _, store = store_in(tmp_path / "home", embeddings)
    files = [tmp_path / n for n in ("good.md", "empty.md", "binary.txt", "latin1.txt", "broken.pdf", "big.txt")]
    report = ingest(store, [*files, tmp_path / "notes.docx", tmp_path / "missing.md"], max_bytes=4000)

    reasons = {Path(p).name: why for p, why in report.skipped.items()}
    assert reasons["empty.md"].startswith("empty")
    assert reasons["binary.txt"].startswith("binary")
    assert reasons["latin1.txt"] == "not UTF-8 text"
    assert reasons["broken.pdf"].startswith("unreadable PDF")
    assert "limit is 4,000" in reasons["big.txt"]
    assert reasons["notes.docx"].startswith("unsupported type .docx")
    assert reasons["missing.md"] == "no such file"
    assert [Path(s).name for s in report.added] == ["good.md"]
    assert store.count() == 1


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, embeddings: LocalEmbeddings):  # type: ignore[no-untyped-def]
    settings, store = store_in(tmp_path_factory.mktemp("corpus"), embeddings)
    report = ingest(store, [KNOWLEDGE], max_bytes=settings.max_ingest_bytes)
    assert not report.skipped
    return settings, store


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Why did the kiosk pilot fail in most malls?", "retail-kiosks-pilot.md"),
        ("How do green coffee prices affect our costs?", "coffee-green-bean-prices.md"),
        ("What do public sector tenders require about data residency?", "nordic-saas-enterprise.md"),
        ("What happens to warehouse robots if the largest client leaves?", "logistics-automation-risks.md"),
        ("Exposure to the Swedish krona exchange rate", "risk-currency.txt"),
        ("What did the board say about the kiosk rollout?", "board-memo-kiosks.pdf"),
    ],
)
def test_retrieval_finds_the_right_document(corpus, question: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    _, store = corpus
    hits = search(store, question, 3)
    assert hits[0].source == expected, [(h.source, h.score) for h in hits]
    assert hits[0].score > hits[-1].score
    assert [h.ref for h in hits] == [1, 2, 3]


def test_pdf_pages_and_csv_rows_keep_their_metadata(corpus) -> None:  # type: ignore[no-untyped-def]
    _, store = corpus
    rows = {Path(str(r["source"])).name: r for r in list_sources(store)}
    assert len(rows) == len(list(KNOWLEDGE.iterdir()))
    pdf = store.collection.get(where={"source": str((KNOWLEDGE / "board-memo-kiosks.pdf").resolve())})
    assert pdf["metadatas"][0]["page"] == 1
    assert "smaller first wave" in pdf["documents"][0]
    csv_chunk = store.collection.get(where={"source": str((KNOWLEDGE / "investments-history.csv").resolve())})
    assert "project: Kiosk pilot" in csv_chunk["documents"][0]


def test_retriever_builds_its_query_from_state(corpus, vetoed: Scenario) -> None:  # type: ignore[no-untyped-def]
    settings, store = corpus
    state = decided_state(vetoed)
    query = build_query(state)
    assert "Kiosks" in query
    assert "Accessories" in query
    assert "vetoed" in query
    retrieval = StoreRetriever(settings, store).retrieve(state)
    assert retrieval is not None
    assert retrieval.embedding_model == store.embeddings.name
    assert len(retrieval.sources) == settings.rag_top_k
    assert {s.source for s in retrieval.sources} & {"retail-kiosks-risks.md", "retail-kiosks-pilot.md"}


def test_no_store_means_no_sources_a_warning_and_no_model_load(tmp_path: Path, vetoed: Scenario) -> None:
    from vetoflow.config import Settings

    retriever = StoreRetriever(Settings(home=tmp_path, database_url=None))
    retrieval = retriever.retrieve(decided_state(vetoed))
    assert retrieval is not None
    assert retrieval.sources == []
    assert retrieval.warning is not None
    assert retrieval.warning.startswith(f"no knowledge store at {tmp_path / 'chroma'}")
    assert retriever._store is None
    assert not (tmp_path / "chroma").exists()


def test_another_model_or_dimension_is_refused(tmp_path: Path, embeddings: LocalEmbeddings) -> None:
    settings, store = store_in(tmp_path, embeddings, chroma_collection="knowledge")
    (tmp_path / "doc.md").write_text("# Doc\n\nKiosk leases.")
    ingest(store, [tmp_path / "doc.md"], max_bytes=10**6)

    narrow = LocalEmbeddings(embeddings.resolved, truncate_dim=128)  # the same weights, 128-dim vectors
    assert narrow.dimension == 128
    with pytest.raises(VetoflowError, match=r"filled by sentence-transformers/all-MiniLM-L6-v2 \(384 dims\)"):
        open_store(settings, narrow)

    # the default name is per model, so the narrow model simply gets a collection of its own
    own = open_store(settings.model_copy(update={"chroma_collection": None}), narrow)
    assert own.name.endswith("-128")
    assert own.count() == 0

    with pytest.raises(VetoflowError, match="holds 384-dim vectors; the query has 128"):
        store.check_query_vector(narrow.embed_query("kiosk"))


def test_remove_source_by_file_name(tmp_path: Path, embeddings: LocalEmbeddings) -> None:
    _, store = store_in(tmp_path / "home", embeddings)
    for name in ("one.md", "two.md"):
        (tmp_path / name).write_text(f"# {name}\n\nSome text about {name}.")
    ingest(store, [tmp_path / "one.md", tmp_path / "two.md"], max_bytes=10**6)
    source, count = remove_source(store, "one.md")
    assert (Path(source).name, count) == ("one.md", 1)
    assert [Path(str(r["source"])).name for r in list_sources(store)] == ["two.md"]
    with pytest.raises(VetoflowError, match=r"no source 'one\.md'"):
        remove_source(store, "one.md")


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[str]:
    """A real Chroma server (`chroma run`, shipped with chromadb) on a free loopback port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    chroma = Path(sys.executable).parent / "chroma"
    process = subprocess.Popen(
        [str(chroma), "run", "--path", str(tmp_path / "server"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail(f"chroma server did not start on {url}")
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.slow  # starts a process: left out of make test-fast
def test_client_server_mode(chroma_server: str, tmp_path: Path, embeddings: LocalEmbeddings) -> None:
    settings, store = store_in(tmp_path / "home", embeddings, chroma_url=chroma_server)
    (tmp_path / "doc.md").write_text("# Roastery\n\nGreen coffee prices follow the harvests in Brazil.")
    assert ingest(store, [tmp_path / "doc.md"], max_bytes=10**6).chunks_added == 1
    assert not (tmp_path / "home" / "chroma").exists()  # nothing written locally

    reopened = open_store(settings, embeddings)  # a second client sees the same collection
    assert search(reopened, "coffee bean prices", 1)[0].source == "doc.md"
    narrow = LocalEmbeddings(embeddings.resolved, truncate_dim=128)
    with pytest.raises(VetoflowError, match="384 dims"):
        open_store(settings.model_copy(update={"chroma_collection": store.name}), narrow)


def test_mmr_returns_distinct_chunks(corpus) -> None:  # type: ignore[no-untyped-def]
    _, store = corpus
    hits = search(store, "kiosk rollout risks", 4, mmr=True)
    assert len(hits) == 4
    assert len({(h.source, h.chunk) for h in hits}) == 4
    assert any(h.source.startswith(("retail-kiosks", "board-memo")) for h in hits)
