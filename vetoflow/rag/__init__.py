"""The local half of hybrid RAG: CPU embeddings, the Chroma store, ingest and retrieval."""
