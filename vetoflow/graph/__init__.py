"""Graph assembly: `build_graph()` returns the uncompiled builder; callers compile with their checkpointer."""

from vetoflow.context import Context
from vetoflow.graph.builder import Graph, build_graph

__all__ = ["Context", "Graph", "build_graph"]
