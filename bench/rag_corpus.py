"""A synthetic knowledge corpus for the RAG benchmarks: files written from the sample corpus' sentences."""

from __future__ import annotations

import random
import re
from pathlib import Path

KNOWLEDGE = Path(__file__).resolve().parent.parent / "vetoflow" / "examples" / "knowledge"


def sentences() -> list[str]:
    text = " ".join(p.read_text() for p in sorted(KNOWLEDGE.glob("*.md")))
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", re.sub(r"#.*\n", " ", text)) if len(s.strip()) > 30]


def write_corpus(folder: Path, files: int, paragraphs: int = 8, seed: int = 0) -> list[Path]:
    """`files` Markdown files of `paragraphs` ~700-character paragraphs (about one chunk each)."""
    rng = random.Random(seed)
    pool = sentences()
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(files):
        body = []
        for p in range(paragraphs):
            words: list[str] = [f"Note {i}.{p}:"]
            while sum(len(w) + 1 for w in words) < 650:
                words.append(rng.choice(pool))
            body.append(" ".join(words))
        path = folder / f"doc-{i:05d}.md"
        path.write_text(f"# Document {i}\n\n" + "\n\n".join(body) + "\n")
        paths.append(path)
    return paths
