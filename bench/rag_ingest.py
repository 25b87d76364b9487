"""Ingest throughput (chunks/s) against the raw model encoding the same chunks, same process.

Ingest = read + split + hash + embed + write to a persistent Chroma collection. The baseline only
encodes the already-split texts (the ONNX Runtime encoder ingest uses, and the torch reference for
scale), so the ratio is what the rest of the pipeline costs on top of the model.

Usage: python bench/rag_ingest.py [--files 60] [--repeats 2]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from rag_corpus import write_corpus

from vetoflow.config import Settings
from vetoflow.rag.embedding_model import BATCH_SIZE
from vetoflow.rag.embeddings import load_embeddings
from vetoflow.rag.ingest import ingest, split_file
from vetoflow.rag.reference import ReferenceEmbeddings
from vetoflow.rag.store import open_store


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    embeddings = load_embeddings(None)
    reference = ReferenceEmbeddings(embeddings.resolved, threads=embeddings.threads)
    with tempfile.TemporaryDirectory() as tmp:
        files = write_corpus(Path(tmp) / "docs", args.files)
        texts = [c.text for f in files for c in split_file(f, 10**7)]
        embeddings.encoder.encode(texts[:64], batch_size=BATCH_SIZE)  # warm-up
        reference.embed_documents(texts[:64])
        raw, torch, piped = [], [], []
        for r in range(args.repeats):
            started = time.perf_counter()
            embeddings.encoder.encode(texts, batch_size=BATCH_SIZE)
            raw.append(len(texts) / (time.perf_counter() - started))
            started = time.perf_counter()
            reference.embed_documents(texts)
            torch.append(len(texts) / (time.perf_counter() - started))

            settings = Settings(home=Path(tmp) / f"home{r}", database_url=None)
            store = open_store(settings, embeddings)
            started = time.perf_counter()
            report = ingest(store, [Path(tmp) / "docs"], max_bytes=10**7)
            piped.append(report.chunks_added / (time.perf_counter() - started))
            assert report.chunks_added == len(texts) == store.count()
    raw_rate, torch_rate, ingest_rate = statistics.median(raw), statistics.median(torch), statistics.median(piped)
    print(f"model: {embeddings.name} ({embeddings.dimension} dims), {len(texts):,} chunks from {args.files} files, "
          f"{embeddings.threads} thread(s)")  # fmt: skip
    print(f"raw ONNX Runtime encode             : {raw_rate:8.1f} chunks/s  1.00")
    print(f"raw SentenceTransformer.encode      : {torch_rate:8.1f} chunks/s  {torch_rate / raw_rate:.2f}")
    print(
        f"vetoflow ingest (split+embed+Chroma): {ingest_rate:8.1f} chunks/s  {ingest_rate / raw_rate:.2f} (aim >= 0.80)"
    )


if __name__ == "__main__":
    main()
