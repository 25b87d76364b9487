"""The graph as mermaid text or a PNG drawn locally by Graphviz, with one run's path marked.

LangGraph's `draw_mermaid_png()` calls a web service; Graphviz's `dot` (Debian package `graphviz`,
installed by `make install`) draws the same nodes and edges offline.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from langgraph.graph.state import CompiledStateGraph

from vetoflow.errors import VetoflowError

VISITED_FILL = "#ffe082"
VISITED_LINE = "#e65100"
START, END = "__start__", "__end__"
Compiled = CompiledStateGraph[Any, Any, Any, Any]


def path_edges(path: Sequence[str], finished: bool, from_start: bool = True) -> set[tuple[str, str]]:
    """Consecutive node pairs this run traversed, with START/END when the run began/ended there."""
    full = [*([START] if from_start else []), *path, *([END] if finished else [])]
    return set(itertools.pairwise(full))


def mermaid(graph: Compiled, path: Sequence[str] = (), finished: bool = False, from_start: bool = True) -> str:
    """LangGraph's mermaid text plus styles marking the visited nodes and traversed edges."""
    text = graph.get_graph().draw_mermaid()
    if not path:
        return text
    lines = text.rstrip("\n").split("\n")
    traversed = path_edges(path, finished, from_start)
    link_index = 0
    styles = [f"\tclassDef visited fill:{VISITED_FILL},stroke:{VISITED_LINE},stroke-width:3px"]
    for line in lines:
        parts = line.strip().rstrip(";").split()
        if len(parts) == 3 and parts[1] in ("-->", "-.->"):
            if (parts[0], parts[2]) in traversed:
                styles.append(f"\tlinkStyle {link_index} stroke:{VISITED_LINE},stroke-width:3px")
            link_index += 1
    styles.append(f"\tclass {','.join(dict.fromkeys(path))} visited")
    return "\n".join([*lines, *styles]) + "\n"


def png(graph: Compiled, path: Sequence[str] = (), finished: bool = False, from_start: bool = True) -> bytes:
    """A PNG of the graph, drawn by the local `dot` binary; visited nodes filled, traversed edges bold."""
    import graphviz

    drawable = graph.get_graph()
    traversed = path_edges(path, finished, from_start) if path else set()
    visited = set(path) | ({START} if path and from_start else set()) | ({END} if finished else set())
    dot = graphviz.Digraph("vetoflow", graph_attr={"rankdir": "TB", "fontname": "Helvetica"})
    dot.attr("node", fontname="Helvetica", style="filled,rounded", shape="box", fillcolor="#f2f0ff")
    for name in drawable.nodes:
        shape = "oval" if name in (START, END) else "box"
        label = {START: "start", END: "end"}.get(name, name)
        fill = VISITED_FILL if name in visited else ("#bfb6fc" if name == END else "#f2f0ff")
        pen = "3" if name in visited else "1"
        dot.node(name, label=label, shape=shape, fillcolor=fill, penwidth=pen)
    for edge in drawable.edges:
        taken = (edge.source, edge.target) in traversed
        dot.edge(
            edge.source,
            edge.target,
            style="dashed" if edge.conditional and not taken else "solid",
            color=VISITED_LINE if taken else "#555555",
            penwidth="3" if taken else "1",
        )
    try:
        data: bytes = dot.pipe(format="png")
    except graphviz.ExecutableNotFound:
        raise VetoflowError(
            "drawing needs Graphviz's `dot` (Debian: apt-get install graphviz; `make install` does it)"
        ) from None
    return data
