"""The architecture, enforced: only `runs/` and `db/` touch the checkpointer, LangGraph configs or SQL."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from vetoflow.graph import build_graph
from vetoflow.graph.names import NODE_NAMES

PACKAGE = Path(__file__).resolve().parent.parent / "vetoflow"
OWNERS = ("runs", "db")  # the run service and the persistence module
FORBIDDEN_IMPORTS = ("sqlalchemy", "psycopg", "sqlite3", "langgraph.checkpoint", "langgraph.types")
FORBIDDEN_CALLS = {"get_state", "get_state_history", "update_state", "execute", "create_all"}


def outside_modules() -> list[Path]:
    return [p for p in PACKAGE.rglob("*.py") if p.relative_to(PACKAGE).parts[0] not in OWNERS]


def violations(path: Path, root: Path = PACKAGE.parent) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        found += [f"imports {n}" for n in names if n.startswith(FORBIDDEN_IMPORTS)]
        if isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_CALLS:
            found.append(f"calls .{node.attr}")
        if isinstance(node, ast.Constant) and node.value == "configurable":
            found.append('builds a {"configurable": ...} config')
    return [f"{path.relative_to(root)}:{v}" for v in found]


# Nodes may raise interrupts and route with Command, and the graph is assembled with LangGraph types:
# these modules are the graph core, not front ends.
GRAPH_CORE = {"nodes/approval.py", "graph/builder.py"}


@pytest.mark.parametrize("path", outside_modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_front_ends_reach_runs_only_through_the_run_service(path: Path) -> None:
    found = violations(path)
    if str(path.relative_to(PACKAGE)) in GRAPH_CORE:
        found = [v for v in found if "langgraph.types" not in v]
    assert found == []


def test_the_boundary_check_catches_a_reach_through(tmp_path: Path) -> None:
    leak = tmp_path / "leak.py"
    leak.write_text(
        "from sqlalchemy import select\n"
        "def peek(service, run_id):\n"
        "    return service.graph.get_state({'configurable': {'thread_id': run_id}})\n"
    )
    assert [v.split(":", 1)[1] for v in violations(leak, tmp_path)] == [
        "imports sqlalchemy",
        "calls .get_state",
        'builds a {"configurable": ...} config',
    ]


def test_node_names_are_the_graphs_nodes() -> None:
    assert set(NODE_NAMES) == set(build_graph().nodes)
