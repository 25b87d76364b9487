"""Graph assembly: `build_graph()` returns the uncompiled builder; callers compile with their checkpointer."""

from vetoflow.graph.builder import build_graph
from vetoflow.graph.context import Context

__all__ = ["Context", "build_graph"]
