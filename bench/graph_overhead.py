"""Per-run cost of the whole graph with durable SQLite checkpoints against the same node work in plain Python.

Usage: python bench/graph_overhead.py [--runs N] [--scenario FILE]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from langgraph.runtime import Runtime

from vetoflow.config import Settings
from vetoflow.graph import Context
from vetoflow.nodes.accountant import accountant
from vetoflow.nodes.forecaster import forecaster
from vetoflow.nodes.synthesizer import synthesizer
from vetoflow.runs.store import open_service
from vetoflow.scenario import Scenario, load_scenario
from vetoflow.state import RunState

ROOT = Path(__file__).resolve().parent.parent


def direct(scenario: Scenario) -> None:
    """The baseline: the same node functions called in sequence, with no graph, checkpoints or index."""
    runtime = Runtime(context=Context())
    data = RunState(run_id="x", scenario=scenario).model_dump(mode="json")
    data |= forecaster(RunState.model_validate(data), runtime)
    data |= accountant(RunState.model_validate(data))
    data |= synthesizer(RunState.model_validate(data), runtime)


def interleaved(first: Callable[[], object], second: Callable[[], object], runs: int) -> tuple[list[float], ...]:
    """Alternate the two so that CPU frequency and cache drift hit both alike."""
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(runs):
        for func, bucket in ((first, samples[0]), (second, samples[1])):
            start = time.perf_counter()
            func()
            bucket.append(time.perf_counter() - start)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--scenario", type=Path, default=ROOT / "vetoflow" / "examples" / "profitable.yaml")
    args = parser.parse_args()
    scenario = load_scenario(args.scenario)
    with tempfile.TemporaryDirectory() as home, open_service(Settings(home=Path(home))) as service:
        direct(scenario), service.start(scenario)  # warm up imports and caches
        baseline, graph = interleaved(lambda: direct(scenario), lambda: service.start(scenario), args.runs)
        state = RunState(run_id="bench", scenario=scenario).model_dump(mode="json")
        counter = iter(range(10**9))

        def graph_only() -> None:
            config = {"configurable": {"thread_id": f"bare-{next(counter)}"}}
            service.graph.invoke(state, config, context=Context(), durability="sync")  # type: ignore[arg-type]

        _, bare = interleaved(lambda: direct(scenario), graph_only, args.runs)
    base_ms, graph_ms = statistics.median(baseline) * 1e3, statistics.median(graph) * 1e3
    bare_ms = statistics.median(bare) * 1e3
    print(
        f"scenario: {scenario.name} ({scenario.paths:,} paths x {scenario.horizon} periods x "
        f"{len(scenario.segments)} segments), {args.runs} runs each, medians"
    )
    print(f"node functions, plain Python: {base_ms:8.2f} ms/run")
    print(f"graph + SQLite checkpoints  : {bare_ms:8.2f} ms/run  ratio {bare_ms / base_ms:.2f}x")
    print(f"vetoflow run (graph + index): {graph_ms:8.2f} ms/run  ratio {graph_ms / base_ms:.2f}x")
    print("aim: <= 1.5x")


if __name__ == "__main__":
    main()
