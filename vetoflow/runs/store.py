"""Opens what a process needs to work with runs: the checkpointer, the run index, and the service."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from vetoflow.config import Settings
from vetoflow.graph import Context, build_graph
from vetoflow.graph.checkpointer import open_checkpointer
from vetoflow.runs.index import RunIndex, make_engine
from vetoflow.runs.service import RunService


@contextmanager
def open_service(settings: Settings, context: Context | None = None) -> Iterator[RunService]:
    """Compile the graph against the configured durable checkpointer (SQLite or PostgreSQL)."""
    with open_checkpointer(settings) as checkpointer:
        index = RunIndex(make_engine(settings))
        try:
            yield RunService(build_graph().compile(checkpointer=checkpointer), index, context)
        finally:
            index.close()
