"""The fixed CPU cost of a run (graph, checkpoints, run index) over the node work, by regression over paths.

For each Monte Carlo size (100 to 100,000 paths) the same scenario runs, interleaved, as the node
functions called in sequence in plain Python (the baseline) and as `vetoflow run` does it (RunService:
graph, durable SQLite checkpoints, run index), and as the bare graph with checkpoints but no run index.
CPU time is the process's (every thread). The fixed overhead is the intercept of a least-squares line
through (paths, run CPU - baseline CPU): what a run costs on top of its work whatever its size; the
slope says whether anything grows with the work (it should not). Ratios are printed at each size.
Aim: a fixed overhead of at most 5 ms CPU.

Usage: python bench/graph_overhead.py [--scale 1.0] [--scenario FILE]
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
SIZES = ((100, 80), (1_000, 60), (5_000, 40), (20_000, 16), (100_000, 8))  # (paths, runs of each kind)
AIM_MS = 5.0


def direct(scenario: Scenario) -> None:
    """The baseline: the same node functions called in sequence, with no graph, checkpoints or index."""
    runtime = Runtime(context=Context())
    data = RunState(run_id="x", scenario=scenario).model_dump(mode="json")
    data |= forecaster(RunState.model_validate(data), runtime)
    data |= accountant(RunState.model_validate(data))
    data |= synthesizer(RunState.model_validate(data), runtime)


def cpu_samples(funcs: list[Callable[[], object]], runs: int) -> tuple[list[float], list[float]]:
    """Median CPU and wall seconds of each function, alternated so that frequency and cache drift hit all alike."""
    cpu: list[list[float]] = [[] for _ in funcs]
    wall: list[list[float]] = [[] for _ in funcs]
    for _ in range(runs):
        for i, func in enumerate(funcs):
            start, started = time.process_time(), time.perf_counter()
            func()
            cpu[i].append(time.process_time() - start)
            wall[i].append(time.perf_counter() - started)
    return [statistics.median(s) for s in cpu], [statistics.median(s) for s in wall]


def fit(xs: list[float], ys: list[float], weights: list[float]) -> tuple[float, float]:
    """Weighted least-squares (intercept, slope). Timing noise grows with the run's length, so each point
    is weighted by 1/time^2: a 100k-path run's jitter of a few ms must not decide a 5 ms intercept."""
    total = sum(weights)
    mx = sum(w * x for w, x in zip(weights, xs, strict=True)) / total
    my = sum(w * y for w, y in zip(weights, ys, strict=True)) / total
    sxy = sum(w * (x - mx) * (y - my) for w, x, y in zip(weights, xs, ys, strict=True))
    sxx = sum(w * (x - mx) ** 2 for w, x in zip(weights, xs, strict=True))
    slope = sxy / sxx
    return my - slope * mx, slope


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the number of runs per size")
    parser.add_argument("--scenario", type=Path, default=ROOT / "vetoflow" / "examples" / "profitable.yaml")
    args = parser.parse_args()
    base = load_scenario(args.scenario)
    rows: list[tuple[int, float, float, float]] = []
    walls: list[tuple[int, float, float, float]] = []
    with tempfile.TemporaryDirectory() as home, open_service(Settings(home=Path(home))) as service:
        counter = iter(range(10**9))
        for paths, runs in SIZES:
            scenario = base.model_copy(update={"paths": paths})
            state = RunState(run_id="bench", scenario=scenario).model_dump(mode="json")

            def graph_only(state: dict[str, object] = state) -> None:
                config = {"configurable": {"thread_id": f"bare-{next(counter)}"}}
                service.graph.invoke(state, config, context=Context(), durability="sync")  # type: ignore[arg-type]

            def run(scenario: Scenario = scenario) -> None:
                service.start(scenario)

            def baseline(scenario: Scenario = scenario) -> None:
                direct(scenario)

            cpu_samples([baseline, graph_only, run], 2)  # warm-up
            cpu, wall = cpu_samples([baseline, graph_only, run], max(3, round(runs * args.scale)))
            rows.append((paths, *cpu))
            walls.append((paths, *wall))
    print(f"scenario: {base.name} ({base.horizon} periods x {len(base.segments)} segments), SQLite, CPU ms per run "
          "(medians, every thread of the process)")  # fmt: skip
    print(f"{'paths':>8} {'nodes':>9} {'graph+ckpt':>11} {'vetoflow run':>13} {'ratio':>7}")
    for paths, direct_s, graph_s, run_s in rows:
        print(f"{paths:8,} {direct_s * 1e3:9.2f} {graph_s * 1e3:11.2f} {run_s * 1e3:13.2f} {run_s / direct_s:6.2f}x")
    xs, weights = [float(r[0]) for r in rows], [1 / r[1] ** 2 for r in rows]
    fixed_graph, slope_graph = fit(xs, [(r[2] - r[1]) * 1e3 for r in rows], weights)
    fixed_run, slope_run = fit(xs, [(r[3] - r[1]) * 1e3 for r in rows], weights)
    print(f"fixed overhead (intercept of run - nodes over paths): vetoflow run {fixed_run:.2f} ms CPU "
          f"(slope {slope_run * 1e3:+.3f} ms per 1,000 paths), graph + checkpoints alone {fixed_graph:.2f} ms "
          f"(slope {slope_graph * 1e3:+.3f}); aim <= {AIM_MS} ms")  # fmt: skip
    fixed_wall, _ = fit(xs, [(r[3] - r[1]) * 1e3 for r in walls], [1 / r[1] ** 2 for r in walls])
    print(f"the same in wall time (SQLite commits wait on the disk): {fixed_wall:.2f} ms")


if __name__ == "__main__":
    main()
