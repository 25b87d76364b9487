"""The console's Knowledge tab: uploads, sources, removal and queries through `gradio_client` against a
launched console, over the real packaged embedding model and a real Chroma store in a temp home.

The session `embeddings` fixture loads the model once; the console then finds it loaded in-process.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from tests.console_helpers import ANA, Console, serve_console
from vetoflow.config import Settings
from vetoflow.console.knowledge_base import NOT_LOADED, SUBSTITUTE_MODEL, upload_label
from vetoflow.rag.embeddings import LocalEmbeddings

pytestmark = pytest.mark.slow  # servers, subprocesses or a browser: left out of make test-fast

KNOWLEDGE = Path(__file__).resolve().parent.parent / "vetoflow" / "examples" / "knowledge"
GOOD = ["board-memo-kiosks.pdf", "retail-kiosks-pilot.md", "coffee-green-bean-prices.md", "risk-currency.txt"]
GOOD += ["investments-history.csv"]
MAX_INGEST = 4_000


def rows(value: dict[str, Any]) -> list[list[Any]]:
    return list(value["data"])


def test_upload_names_become_plain_labels() -> None:
    assert upload_label("../../etc/passwd.md") == "passwd.md"
    assert upload_label("..\\..\\windows\\notes.txt") == "notes.txt"
    assert upload_label("....evil.md") == "evil.md"  # what Gradio leaves of "../../evil.md"
    assert upload_label("bad\x00na\nme<>.md") == "badname_.md"
    assert upload_label("Café résumé (v2).md") == "Café résumé (v2).md"
    assert upload_label("..") == "upload"
    long = upload_label("x" * 500 + ".pdf")
    assert len(long) == 120
    assert long.endswith(".pdf")


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory, embeddings: LocalEmbeddings) -> Iterator[Console]:
    settings = Settings(home=tmp_path_factory.mktemp("home"), database_url=None, max_ingest_bytes=MAX_INGEST)
    with serve_console(settings) as served:
        yield served


@pytest.fixture(scope="module")
def ana(console: Console) -> Client:
    return Client(console.url, auth=ANA, verbose=False)


def finished_uploads(ana: Client, timeout: float = 300) -> dict[str, list[Any]]:
    """Poll the uploads table (as the tab's timer does) until nothing is queued or running; newest row per file."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        table = ana.predict(api_name="/knowledge_uploads")[0]
        jobs = rows(table)
        if not any(row[1] in ("queued", "running") for row in jobs):
            latest: dict[str, list[Any]] = {}
            for row in jobs:
                latest.setdefault(row[0], row)
            return latest
        time.sleep(0.5)
    raise TimeoutError("uploads still running")


def test_knowledge_tab_uploads_lists_replaces_queries_and_removes(
    console: Console, ana: Client, tmp_path: Path
) -> None:

    # Nothing is opened until first use: listing an absent store does not load a model or create files.
    table, _, details, note = ana.predict(api_name="/knowledge_sources")
    assert rows(table) == []
    assert (details, note) == (NOT_LOADED, "")
    header, hits, details, note = ana.predict("kiosks?", 4, api_name="/knowledge_query")
    assert (header, rows(hits), details) == ("The knowledge store is empty: upload documents first.", [], NOT_LOADED)
    assert note == ""
    assert not (console.settings.home / "chroma").exists()
    with pytest.raises(AppError, match="Choose one or more files"):
        ana.predict([], api_name="/knowledge_upload")

    bad = {"blob.txt": b"\x00\x01\x02 binary", "empty.md": b"  \n", "notes.docx": b"word", "big.md": b"x" * 5000}
    for name, data in bad.items():
        (tmp_path / name).write_bytes(data)
    uploads = [KNOWLEDGE / name for name in GOOD] + [tmp_path / name for name in bad]
    message, jobs, _ = ana.predict([handle_file(str(p)) for p in uploads], api_name="/knowledge_upload")
    assert message.startswith("✅ 7 file(s) queued")
    assert "**2 file(s) refused**" in message
    results = {name: (row[1], row[3]) for name, row in finished_uploads(ana).items()}
    assert {name for name, (status, _) in results.items() if status == "done"} == set(GOOD)
    assert all(row[4] == "ana" for row in rows(jobs))
    assert results["blob.txt"] == ("failed", "blob.txt: binary file (NUL bytes)")
    assert results["empty.md"] == ("failed", "empty.md: empty (no text)")
    assert results["notes.docx"][1].startswith("notes.docx: unsupported type .docx")
    assert results["big.md"] == (
        "refused",
        f"big.md: 5,000 bytes; the limit is {MAX_INGEST:,} (VETOFLOW_MAX_INGEST_BYTES)",
    )
    sources, _, details, note = ana.predict(api_name="/knowledge_sources")
    listed = {row[0]: row for row in rows(sources)}
    assert set(listed) == set(GOOD)
    assert listed["board-memo-kiosks.pdf"][4] == "board-memo-kiosks.pdf"  # the label, not Gradio's temp path
    assert listed["retail-kiosks-pilot.md"][3].startswith("20")  # added (UTC)
    assert "FALLBACK embedding model `sentence-transformers/all-MiniLM-L6-v2`" in details  # loud, behind Details
    assert note == SUBSTITUTE_MODEL  # what the operator reads
    chunks = sum(row[2] for row in listed.values())

    # Re-uploading the same files embeds nothing; a changed file under the same name replaces its chunks.
    ana.predict([handle_file(str(KNOWLEDGE / n)) for n in GOOD], api_name="/knowledge_upload")
    again = finished_uploads(ana)
    assert {again[n][3] for n in GOOD} == {"unchanged: the same content is in the store already"}
    sources, *_ = ana.predict(api_name="/knowledge_sources")
    assert sum(row[2] for row in rows(sources)) == chunks
    changed = tmp_path / "changed" / "coffee-green-bean-prices.md"
    changed.parent.mkdir()
    changed.write_text("# Green beans\n\nArabica futures doubled; we hedge six months ahead.")
    ana.predict([handle_file(str(changed))], api_name="/knowledge_upload")
    replaced = finished_uploads(ana)["coffee-green-bean-prices.md"]
    assert replaced[1:4] == ["done", "1 / 1 chunks (100%)", "replaced: 1 new chunk(s), 1 old chunk(s) removed"]

    query_then_remove(ana)


def query_then_remove(ana: Client) -> None:
    """The query finds the right document (the model is named in the details); removing it takes it out of both
    lists."""
    question = "What did the board say about the kiosk rollout?"
    header, hits, details, note = ana.predict(question, 3, api_name="/knowledge_query")
    assert header == "3 passage(s) closest in meaning to the question, best match first."
    assert "**sentence-transformers/all-MiniLM-L6-v2**" in details
    assert note == SUBSTITUTE_MODEL
    found = rows(hits)
    assert found[0][2] == "board-memo-kiosks.pdf", found
    assert [row[0] for row in found] == [1, 2, 3]
    assert float(found[0][1]) > float(found[-1][1])
    assert found[0][4] == 1  # the PDF's page
    header, hits, *_ = ana.predict("How do we hedge arabica futures?", 1, api_name="/knowledge_query")
    assert "hedge six months ahead" in rows(hits)[0][6]
    with pytest.raises(AppError, match="type a question"):
        ana.predict("  ", 3, api_name="/knowledge_query")

    message, sources, *_ = ana.predict("board-memo-kiosks.pdf", api_name="/knowledge_remove")
    assert message == "✅ Removed **board-memo-kiosks.pdf** (1 chunk(s))."
    assert "board-memo-kiosks.pdf" not in {row[0] for row in rows(sources)}
    _, hits, *_ = ana.predict(question, 5, api_name="/knowledge_query")
    assert "board-memo-kiosks.pdf" not in {row[2] for row in rows(hits)}
    message, *_ = ana.predict("board-memo-kiosks.pdf", api_name="/knowledge_remove")
    assert "no source 'board-memo-kiosks.pdf' in the store" in message


def test_a_hostile_upload_name_is_only_a_plain_label(console: Console, ana: Client, tmp_path: Path) -> None:
    """A raw multipart upload named ../../evil.md: stored by Gradio under its upload dir, recorded as evil.md."""
    response = httpx.post(
        ana.upload_url,
        files=[("files", ("../../evil.md", b"# Evil\n\nPath traversal in a file name."))],
        cookies=ana.cookies,
        timeout=30,
    )
    response.raise_for_status()
    [server_path] = response.json()
    assert ".." not in Path(server_path).parts
    ana.predict([handle_file(server_path)], api_name="/knowledge_upload")
    assert finished_uploads(ana)["evil.md"][1:4] == ["done", "1 / 1 chunks (100%)", "1 chunk(s) added"]
    sources, *_ = ana.predict(api_name="/knowledge_sources")
    assert "evil.md" in {row[4] for row in rows(sources)}
    assert not (tmp_path.parent / "evil.md").exists()
