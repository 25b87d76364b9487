"""Chunk and the chunking sizes, on their own so that ingest, budget and write share them without a cycle."""

from __future__ import annotations

from dataclasses import dataclass

SUPPORTED = {".md": "markdown", ".markdown": "markdown", ".txt": "text", ".pdf": "pdf", ".csv": "csv"}
CHUNK_SIZE = 800
CHUNK_OVERLAP = 120
CSV_ROWS_PER_PAGE = 20


@dataclass
class Chunk:
    id: str
    text: str
    metadata: dict[str, str | int]
