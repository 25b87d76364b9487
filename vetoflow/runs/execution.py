"""Drives the graph for one step batch of a run and logs its progress events as it goes."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from vetoflow.runs.history import thread_config

if TYPE_CHECKING:
    from vetoflow.context import Context
    from vetoflow.graph import Graph
    from vetoflow.runs.events import EventBatch
    from vetoflow.runs.views import RunView

StepCallback = Callable[[str, dict[str, Any]], None]


class CarriesRuns:
    """A part of `RunService` that carries runs on: it calls these, which `RunService` provides (declared
    once here, for the type checker)."""

    if TYPE_CHECKING:

        def _enqueue(self, run_id: str, kind: str) -> RunView: ...

        def _advance(
            self,
            run_id: str,
            graph_input: Callable[[], Any],
            on_step: StepCallback | None,
            *,
            owner: str | None = None,
        ) -> RunView: ...


def stream_steps(
    graph: Graph, run_id: str, graph_input: Any, *, context: Context, events: EventBatch, on_step: StepCallback | None
) -> None:
    """Run until the graph pauses or ends, each step checkpointed before the next (durability "sync").

    `tasks` chunks mark a node's start (the chunk carries its input); `updates` chunks its result. Both
    are held: the caller writes them with the index refresh, unless a step runs long enough for the
    ticker to write them first (EventBatch.flush_soon).

    The executor LangGraph hands checkpoint writes to gets one thread (`max_concurrency`): the steps run
    one after another anyway, and each extra thread it would start costs about 0.2 ms per run.
    """
    config: Any = {**thread_config(run_id), "max_concurrency": 1}
    stream: Any = graph.stream(
        graph_input, config, context=context, stream_mode=["updates", "tasks"], durability="sync"
    )
    for mode, chunk in stream:
        if mode == "tasks":
            if "input" in chunk and not chunk["name"].startswith("__"):
                events.add("node_started", node=chunk["name"])
                events.flush_soon()
            continue
        for node, update in chunk.items():
            if node.startswith("__"):
                continue
            events.add("node_finished", node=node, wrote=sorted(update or {}))
            if on_step:
                on_step(node, update or {})
