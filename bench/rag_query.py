"""Retrieval latency p50/p95 over a collection of 10,000 chunks (query embedding + HNSW search); the query
embedding against the sentence-transformers reference, same process, same thread count.

The chunks are real embeddings in a real persistent Chroma collection. They are sentence-sized
(one or two sentences) so that filling 10,000 of them takes minutes, not most of an hour, on a
2-core CPU; search cost depends on the number and dimension of vectors, not on the chunk length.

Usage: python bench/rag_query.py [--chunks 10000] [--queries 200]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from rag_corpus import sentences

from vetoflow.config import Settings
from vetoflow.rag.embeddings import load_embeddings
from vetoflow.rag.reference import ReferenceEmbeddings
from vetoflow.rag.retrieval import search
from vetoflow.rag.store import open_store


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    embeddings = load_embeddings(None)
    rng = random.Random(1)
    pool = sentences()
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Settings(home=Path(tmp) / "home", database_url=None), embeddings)
        texts = [f"Note {i}: " + " ".join(rng.sample(pool, rng.choice((1, 2)))) for i in range(args.chunks)]
        started = time.perf_counter()
        for start in range(0, len(texts), 500):
            batch = texts[start : start + 500]
            metadatas = [{"source": f"note-{start + i}.md", "title": "note", "chunk": 0} for i in range(len(batch))]
            store.vectors.add_texts(batch, metadatas=metadatas, ids=[f"n{start + i}" for i in range(len(batch))])
        print(f"filled {store.count():,} chunks in {time.perf_counter() - started:.0f} s")
        questions = [rng.choice(pool)[:120] for _ in range(args.queries)]
        for q in questions[:5]:
            search(store, q, 4)  # warm-up
        total, embed, index = [], [], []
        for q in questions:
            t0 = time.perf_counter()
            vector = embeddings.embed_query(q)
            t1 = time.perf_counter()
            store.vectors.similarity_search_by_vector_with_relevance_scores(vector, k=4)
            t2 = time.perf_counter()
            search(store, q, 4)
            t3 = time.perf_counter()
            embed.append(t1 - t0)
            index.append(t2 - t1)
            total.append(t3 - t2)
        reference = ReferenceEmbeddings(embeddings.resolved, threads=embeddings.threads)
        reference.embed_query(questions[0])  # warm-up
        torch_embed = []
        for q in questions:
            t0 = time.perf_counter()
            reference.embed_query(q)
            torch_embed.append(time.perf_counter() - t0)
    print(f"{len(questions)} queries, top-4, {store.count():,} chunks, {embeddings.threads} embedding thread(s)")
    for name, values in (
        ("retrieve (embed + search)", total),
        ("  query embedding", embed),
        ("  Chroma search", index),
    ):
        print(f"{name:28s} p50 {pct(values, 50):6.1f} ms   p95 {pct(values, 95):6.1f} ms")
    ratio = statistics.median(embed) / statistics.median(torch_embed)
    print(f"  query embedding, torch reference p50 {pct(torch_embed, 50):6.1f} ms: ONNX / torch {ratio:.2f}x")


if __name__ == "__main__":
    main()
