"""Ingest Markdown, text, PDF and CSV files into the knowledge store.

Chunk ids are content hashes: re-ingesting an unchanged file embeds nothing; a changed file gets its
new chunks added first and its stale chunks deleted after, so a failure never leaves a file half-gone.
Everything is embedded before anything is written, so a stop (cancel, error) mid-embedding leaves the store
as it was; files over the chunk budget (`rag/budget.py`) are refused before any embedding.
A bad file (unreadable, empty, binary, oversized, unsupported) is reported by name and skipped.
The `source` recorded is the file's absolute path, or a label given by the caller (the console's
uploads are temp copies: their sanitised original name is the label).
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from langchain_text_splitters import Language, RecursiveCharacterTextSplitter

from vetoflow.rag.chunks import CHUNK_OVERLAP, CHUNK_SIZE, CSV_ROWS_PER_PAGE, SUPPORTED, Chunk
from vetoflow.rag.store import KnowledgeStore
from vetoflow.rag.write import Progress, embed_chunks, write_chunks

if TYPE_CHECKING:
    from vetoflow.rag.budget import IngestBudget


class SkipFileError(Exception):
    """Why one file was skipped; the rest of the batch goes on."""


class OverBudgetError(SkipFileError):
    """The file would make more chunks than the budget allows; refused before embedding."""


@dataclass
class IngestReport:
    added: dict[str, int] = field(default_factory=dict)
    unchanged: list[str] = field(default_factory=list)
    removed_stale: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    replaced: list[str] = field(default_factory=list)  # sources in `added` that had other chunks before

    @property
    def chunks_added(self) -> int:
        return sum(self.added.values())


FileProgress = Callable[[int, int, str], None]  # (files read so far, files to read, the next file's label)


def expand(paths: Iterable[Path]) -> list[Path]:
    """Files as given, and the supported files under given directories (sorted, hidden ones left out)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and p.suffix.lower() in SUPPORTED and not any(part.startswith(".") for part in p.parts)
            )
        else:
            files.append(path)
    return files


def _text(data: bytes, name: str) -> str:
    if b"\x00" in data[:8192]:
        raise SkipFileError("binary file (NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SkipFileError("not UTF-8 text") from None


def load_pages(path: Path, max_bytes: int) -> list[tuple[int | None, str]]:
    """(page, text) pairs: PDF pages, CSV row groups, or the whole text file as one page."""
    if not path.is_file():
        raise SkipFileError("no such file")
    kind = SUPPORTED.get(path.suffix.lower())
    if kind is None:
        raise SkipFileError(f"unsupported type {path.suffix or '(none)'}; allowed: {', '.join(sorted(SUPPORTED))}")
    size = path.stat().st_size
    if size > max_bytes:
        raise SkipFileError(f"{size:,} bytes; the limit is {max_bytes:,} (VETOFLOW_MAX_INGEST_BYTES)")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SkipFileError(f"unreadable: {exc.strerror or exc}") from None
    if kind == "pdf":
        pages = _pdf_pages(data)
    elif kind == "csv":
        pages = _csv_pages(_text(data, path.name))
    else:
        pages = [(None, _text(data, path.name))]
    pages = [(page, text) for page, text in pages if text.strip()]
    if not pages:
        raise SkipFileError("empty (no text)")
    return pages


def _pdf_pages(data: bytes) -> list[tuple[int | None, str]]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings repeat what the skip report says

    try:
        reader = PdfReader(io.BytesIO(data))
        return [(number, page.extract_text() or "") for number, page in enumerate(reader.pages, start=1)]
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise SkipFileError(f"unreadable PDF: {exc}") from None


def _csv_pages(text: str) -> list[tuple[int | None, str]]:
    """Rows become `column: value` lines so each chunk keeps its headers; 20 rows per page."""
    try:
        rows = list(csv.DictReader(io.StringIO(text)))
    except csv.Error as exc:
        raise SkipFileError(f"malformed CSV: {exc}") from None
    lines = ["; ".join(f"{k}: {v}" for k, v in row.items() if k and v) for row in rows]
    groups = [lines[i : i + CSV_ROWS_PER_PAGE] for i in range(0, len(lines), CSV_ROWS_PER_PAGE)]
    return [(n, "\n".join(group)) for n, group in enumerate(groups, start=1)]


def _title(path: Path, first_page: str) -> str:
    for line in first_page.splitlines():
        if line.startswith("# "):
            return line[2:].strip()[:120]
    return path.stem.replace("-", " ").replace("_", " ")


def split_file(path: Path, max_bytes: int, source: str | None = None) -> list[Chunk]:
    pages = load_pages(path, max_bytes)
    markdown = SUPPORTED[path.suffix.lower()] == "markdown"
    splitter = (
        RecursiveCharacterTextSplitter.from_language(
            Language.MARKDOWN, chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP
        )
        if markdown
        else RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP)
    )
    title = _title(Path(source) if source else path, pages[0][1])
    source = source or str(path.resolve())
    chunks: list[Chunk] = []
    for page, text in pages:
        for piece in splitter.split_text(text):
            index = len(chunks)
            digest = hashlib.sha256(f"{source}\x00{page}\x00{index}\x00{piece}".encode()).hexdigest()[:32]
            metadata: dict[str, str | int] = {"source": source, "title": title, "chunk": index}
            if page is not None:
                metadata["page"] = page
            chunks.append(Chunk(id=digest, text=piece, metadata=metadata))
    return chunks


@dataclass
class FilePlan:
    """One file split and compared with the store: the chunks to embed and the stale ones to delete after."""

    source: str
    chunks: int
    new: list[Chunk]
    stale: list[str]
    replaced: bool

    @property
    def unchanged(self) -> bool:
        return not self.new and not self.stale


def plan_file(
    store: KnowledgeStore,
    path: Path,
    *,
    max_bytes: int,
    label: str | None = None,
    added_at: str | None = None,
    budget: IngestBudget | None = None,
) -> FilePlan:
    """Split one file and diff it against the store; over the budget (estimated, then exact) it is skipped
    before anything is embedded."""
    name = label or path.name
    if budget is not None and path.is_file():
        estimate = budget.estimate(path, name)
        refusal = budget.refusal(name, estimate.size, estimate.chunks)
        if refusal:
            raise OverBudgetError(refusal)
    chunks = split_file(path, max_bytes, label)
    if budget is not None:
        refusal = budget.refusal(name, path.stat().st_size, len(chunks), exact=True)
        if refusal:
            raise OverBudgetError(refusal)
    source = label or str(path.resolve())
    added_at = added_at or datetime.now(UTC).isoformat(timespec="seconds")
    for chunk in chunks:
        chunk.metadata["added"] = added_at  # not part of the id: an unchanged chunk keeps its first date
    old = set(store.collection.get(where={"source": source}, include=[])["ids"])
    new = [c for c in chunks if c.id not in old]
    stale = sorted(old - {c.id for c in chunks})
    return FilePlan(source=source, chunks=len(chunks), new=new, stale=stale, replaced=bool(old))


def ingest(
    store: KnowledgeStore,
    paths: Iterable[Path],
    *,
    max_bytes: int,
    on_progress: Progress | None = None,
    on_file: FileProgress | None = None,
    labels: Mapping[Path, str] | None = None,
    budget: IngestBudget | None = None,
) -> IngestReport:
    """`labels` maps a given file to the `source` to record (and report) instead of its absolute path.
    Every file is split and checked against `budget` before any is embedded; the store is written at the end."""
    report = IngestReport()
    pending: list[Chunk] = []
    stale: dict[str, list[str]] = {}
    added_at = datetime.now(UTC).isoformat(timespec="seconds")
    files = expand(paths)
    for number, path in enumerate(files):
        label = (labels or {}).get(path)
        if on_file:
            on_file(number, len(files), label or path.name)
        try:
            plan = plan_file(store, path, max_bytes=max_bytes, label=label, added_at=added_at, budget=budget)
        except SkipFileError as exc:
            report.skipped[label or str(path)] = str(exc)
            continue
        if plan.unchanged:
            report.unchanged.append(plan.source)
            continue
        pending += plan.new
        report.added[plan.source] = len(plan.new)
        if plan.replaced:
            report.replaced.append(plan.source)
        if plan.stale:
            stale[plan.source] = plan.stale
    if on_file and files:
        on_file(len(files), len(files), "")
    vectors = embed_chunks(store, pending, on_progress=on_progress)
    write_chunks(store, pending, vectors, [i for ids in stale.values() for i in ids])
    report.removed_stale = {source: len(ids) for source, ids in stale.items()}
    return report


def list_sources(store: KnowledgeStore) -> list[dict[str, str | int]]:
    """One row per ingested file: source, title, chunk count, and when it was last added or changed
    (ISO UTC; "" for chunks ingested before dates were recorded)."""
    metadatas = store.collection.get(include=["metadatas"])["metadatas"] or []
    counts: dict[str, dict[str, str | int]] = {}
    for meta in metadatas:
        source = str(meta.get("source"))
        row = counts.setdefault(
            source, {"source": source, "title": str(meta.get("title", "")), "chunks": 0, "added": ""}
        )
        row["chunks"] = int(row["chunks"]) + 1
        row["added"] = max(str(row["added"]), str(meta.get("added", "")))
    return sorted(counts.values(), key=lambda row: str(row["source"]))


def remove_source(store: KnowledgeStore, source: str) -> tuple[str, int]:
    """Remove by full source path, or by file name when that is unambiguous."""
    from vetoflow.errors import VetoflowError

    sources = [str(row["source"]) for row in list_sources(store)]
    matches = [s for s in sources if s == source] or [s for s in sources if Path(s).name == source]
    if not matches:
        raise VetoflowError(f"no source {source!r} in the store; see `vetoflow sources`")
    if len(matches) > 1:
        raise VetoflowError(f"{source!r} matches {len(matches)} sources; give the full path: {', '.join(matches)}")
    ids = store.collection.get(where={"source": matches[0]}, include=[])["ids"]
    store.vectors.delete(ids=ids)
    return matches[0], len(ids)
