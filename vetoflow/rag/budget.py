"""A chunk budget per knowledge file, checked before any embedding starts (CLI and console alike).

Embedding is the slow part of ingest: about `SECONDS_PER_CHUNK` per 800-character chunk for the packaged
model on one ONNX thread of a 2-core machine (measured there: 0.05 s for prose, 0.13 s for dense CSV rows
and junk, whose tokens run to the model's 256-token cap; `bench/rag_ingest.py` measures it anew). A
10 MB CSV of junk is about 20,000 chunks, over 40 minutes of one CPU. So a file is sized up first, from its
bytes (and for a CSV its row and column counts, since every row repeats the header), in milliseconds;
a file whose estimate is over `max_chunks` is refused with the estimate, the limit and the setting that
raises it. The exact count, known once the file is split (still before embedding), is checked again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from vetoflow.errors import VetoflowError
from vetoflow.rag.chunks import CHUNK_OVERLAP, CHUNK_SIZE, CSV_ROWS_PER_PAGE, SUPPORTED

SECONDS_PER_CHUNK = 0.15  # a cautious figure for a loaded 2-core machine; see the module docstring
DEFAULT_MAX_CHUNKS = 2_000  # about 5 minutes of embedding at SECONDS_PER_CHUNK
MAX_CHUNKS_BOUND = 1_000_000
# Characters per chunk as the splitter makes them (splits fall on paragraphs and lines, short of the cap):
# measured on prose and on CSVs of 3 to 20 columns; the estimate lands within a third of the real count.
TEXT_CHARS_PER_CHUNK = 600
CSV_CHARS_PER_CHUNK = CHUNK_SIZE - CHUNK_OVERLAP // 3
PDF_CHUNKS_PER_PAGE = 4  # a dense page of text is about 3,000 characters


@dataclass(frozen=True)
class Estimate:
    name: str
    size: int
    chunks: int
    seconds: float

    @property
    def duration(self) -> str:
        return readable_seconds(self.seconds)


def readable_seconds(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def _csv_chunks(data: bytes) -> int:
    """Rows become `column: value; ...` lines, so the header's text is repeated once per row."""
    header, _, body = data.partition(b"\n")
    rows = body.count(b"\n") + (1 if body and not body.endswith(b"\n") else 0)
    if rows == 0:
        return 0
    columns = header.count(b",") + 1
    chars = len(body) + rows * (len(header) + 3 * columns)
    pages = math.ceil(rows / CSV_ROWS_PER_PAGE)
    return pages * math.ceil(chars / pages / CSV_CHARS_PER_CHUNK)


def _pdf_chunks(path: Path) -> int:
    from pypdf import PdfReader

    try:
        return len(PdfReader(path).pages) * PDF_CHUNKS_PER_PAGE
    except Exception:  # unreadable: ingest reports why by name; nothing to embed
        return 0


def estimate_chunks(path: Path) -> int:
    """Chunks `split_file` will make, from the bytes alone; 0 for a file ingest will skip anyway."""
    kind = SUPPORTED.get(path.suffix.lower())
    if kind is None or not path.is_file():
        return 0
    if kind == "pdf":
        return _pdf_chunks(path)
    data = path.read_bytes()
    if kind == "csv":
        return _csv_chunks(data)
    return math.ceil(len(data) / TEXT_CHARS_PER_CHUNK)


class IngestBudget:
    """`max_chunks` per file; `seconds_per_chunk` only words the estimate (the console learns it as it embeds)."""

    def __init__(self, max_chunks: int = DEFAULT_MAX_CHUNKS, seconds_per_chunk: float = SECONDS_PER_CHUNK) -> None:
        self.max_chunks = max_chunks
        self.seconds_per_chunk = seconds_per_chunk

    def estimate(self, path: Path, name: str | None = None) -> Estimate:
        chunks = estimate_chunks(path)
        size = path.stat().st_size if path.is_file() else 0
        return Estimate(name or path.name, size, chunks, chunks * self.seconds_per_chunk)

    def refusal(self, name: str, size: int, chunks: int, *, exact: bool = False) -> str | None:
        """The one message both front ends show for a file over the budget; None when it fits."""
        if chunks <= self.max_chunks:
            return None
        about = "" if exact else "about "
        return (
            f"{name}: {size:,} bytes make {about}{chunks:,} chunks, {about}"
            f"{readable_seconds(chunks * self.seconds_per_chunk)} of embedding; the limit is "
            f"{self.max_chunks:,} chunks per file (VETOFLOW_INGEST_MAX_CHUNKS, up to {MAX_CHUNKS_BOUND:,}). "
            "Split the file or raise the limit."
        )

    def check(self, path: Path, name: str | None = None) -> Estimate:
        """The estimate, if the file fits; else a VetoflowError saying what it would cost and what allows it."""
        estimate = self.estimate(path, name)
        message = self.refusal(estimate.name, estimate.size, estimate.chunks)
        if message:
            raise VetoflowError(message)
        return estimate
