"""Where LangGraph's own share of a run's fixed cost goes: the floor under `bench/graph_overhead.py`.

The same four nodes of a profitable run (100 paths, so the node work is small) run, interleaved, as:
plain calls (the baseline); the compiled graph with no checkpointer; with LangGraph's in-memory
checkpointer (its bookkeeping, no storage); with the SQLite checkpointer vetoflow uses, durability
"sync"; the same with `max_concurrency=1`, as vetoflow runs it (one checkpoint-writer thread); and, to
size two changes we would offer upstream (patched in this bench only, never in vetoflow): one executor
kept for the process instead of a thread pool made and torn down for every invocation, and, with
durability "sync" (where the loop waits for each checkpoint anyway), the checkpoint writes run in the
loop's own thread instead of being handed to a writer thread one by one.

CPU time of the whole process, medians. Usage: python bench/langgraph_floor.py [--runs 100] [--rounds 9]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import itertools
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import langgraph.pregel._executor as langgraph_executor
from langchain_core.runnables.config import ContextThreadPoolExecutor
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.runtime import Runtime

from vetoflow.db.engine import SQLITE_PRAGMAS
from vetoflow.graph import Context
from vetoflow.graph.builder import build_graph
from vetoflow.nodes.accountant import accountant
from vetoflow.nodes.evidence import evidence
from vetoflow.nodes.forecaster import forecaster
from vetoflow.nodes.synthesizer import synthesizer
from vetoflow.scenario import load_scenario
from vetoflow.state import RunState

ROOT = Path(__file__).resolve().parent.parent
EXECUTOR_FACTORY = "get_executor_for_config"  # what LangGraph's loop calls for its checkpoint writer


class InlineExecutor(concurrent.futures.Executor):
    """Runs each submitted call at once, in the caller's thread: the writes of durability "sync" inline."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to the caller through the future, as a pool would
            future.set_exception(exc)
        return future


def measure(kinds: dict[str, Callable[[], None]], runs: int, rounds: int) -> dict[str, list[float]]:
    """CPU ms per call of each kind, the kinds alternated round by round so that drift hits all alike."""
    samples: dict[str, list[float]] = {name: [] for name in kinds}
    for func in kinds.values():  # warm-up
        for _ in range(10):
            func()
    for _ in range(rounds):
        for name, func in kinds.items():
            start = time.process_time()
            for _ in range(runs):
                func()
            samples[name].append((time.process_time() - start) / runs * 1e3)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=100, help="runs per measurement")
    parser.add_argument("--rounds", type=int, default=9, help="interleaved rounds (the median is printed)")
    args = parser.parse_args()
    scenario = load_scenario(ROOT / "vetoflow" / "examples" / "profitable.yaml").model_copy(update={"paths": 100})
    state = RunState(run_id="bench", scenario=scenario).model_dump(mode="json")
    context = Context()
    threads = itertools.count()

    def plain() -> None:
        runtime = Runtime(context=context)
        data = dict(state)
        data |= forecaster(RunState.model_validate(data), runtime)
        data |= accountant(RunState.model_validate(data))
        data |= evidence(RunState.model_validate(data), runtime)
        data |= synthesizer(RunState.model_validate(data), runtime)

    with tempfile.TemporaryDirectory() as home:
        conn = sqlite3.connect(str(Path(home) / "checkpoints.db"), check_same_thread=False)
        for pragma in SQLITE_PRAGMAS:
            conn.execute(pragma)
        sqlite = SqliteSaver(conn)
        sqlite.setup()
        bare, memory, durable = (build_graph().compile(checkpointer=saver) for saver in (None, InMemorySaver(), sqlite))

        def graph(compiled: Any, **config: Any) -> Callable[[], None]:
            durability = {"durability": "sync"} if compiled is not bare else {}

            def invoke() -> None:
                thread = {"configurable": {"thread_id": f"t{next(threads)}"}, **config}
                compiled.invoke(state, thread, context=context, **durability)

            return invoke

        shared = ContextThreadPoolExecutor(max_workers=1)

        @contextmanager
        def kept(_config: Any) -> Iterator[ContextThreadPoolExecutor]:
            yield shared

        @contextmanager
        def inline(_config: Any) -> Iterator[InlineExecutor]:
            yield InlineExecutor()

        def patched(executor: Callable[[Any], Any]) -> Callable[[], None]:
            def invoke() -> None:
                original = getattr(langgraph_executor, EXECUTOR_FACTORY)
                setattr(langgraph_executor, EXECUTOR_FACTORY, executor)
                try:
                    durable_one()
                finally:
                    setattr(langgraph_executor, EXECUTOR_FACTORY, original)

            return invoke

        durable_one = graph(durable, max_concurrency=1)
        kinds: dict[str, Callable[[], None]] = {
            "node functions called in sequence (baseline)": plain,
            "graph, no checkpointer": graph(bare),
            "graph + in-memory checkpointer": graph(memory),
            "graph + SQLite checkpointer (durability sync)": graph(durable),
            "  the same, max_concurrency=1 (as vetoflow runs it)": durable_one,
            "  the same, one executor kept for the process (upstream idea)": patched(kept),
            "  the same, writes in the loop's thread (upstream idea)": patched(inline),
        }
        samples = measure(kinds, args.runs, args.rounds)
        shared.shutdown()
        conn.close()
    base = statistics.median(samples["node functions called in sequence (baseline)"])
    print(f"profitable scenario at 100 paths, CPU ms per run, median of {args.rounds} rounds of {args.runs}")
    print(f"{'':66} {'ms':>7} {'ratio':>7} {'over baseline':>14}")
    for name, values in samples.items():
        ms = statistics.median(values)
        print(f"{name:66} {ms:7.2f} {ms / base:6.2f}x {ms - base:+13.2f}")


if __name__ == "__main__":
    main()
