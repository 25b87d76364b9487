"""Batch replays on the queue: runs per second against the number of workers (1, 2, 4), each worker running
`--concurrency` replays at once, the Synthesizer calling a loopback Bedrock that answers after 300 ms.

Each row: a fresh PostgreSQL database, RUNS saved runs made inline in this process (offline summary, not
timed), the batch recorded and one job per run deferred (`vetoflow replay --all --from synthesizer
--queue` does the same) once every worker is live; timed from the first job deferred to the last replay
recorded. The ideal wall time is runs x latency / total concurrency.

Usage: python bench/queue_batch.py [--runs 96] [--concurrency 4] [--latency 0.3] [--pg postgresql://...]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.queue_throughput import DEFAULT_PG, WORKERS, drop, environment, fresh_database, plan, running_workers
from tests.fakes.bedrock_server import bedrock_server
from vetoflow.config import Settings
from vetoflow.db.job_queue import open_queue
from vetoflow.llm.offline import OfflineSynthesizer
from vetoflow.replay.queued import Selection, batch_report, enqueue_batch
from vetoflow.replay.report import BatchOptions
from vetoflow.runs.batches import PENDING
from vetoflow.runs.store import open_service
from vetoflow.runtime import make_context
from vetoflow.scenario import validate_scenario


def sources(settings: Settings, runs: int) -> None:
    inline = settings.model_copy(update={"executor": "inline", "llm": "offline"})
    context = replace(make_context(inline), synthesizer=OfflineSynthesizer())
    with open_service(inline, context) as service, ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: service.start(validate_scenario(plan(f"source {i}") | {"paths": 100})), range(runs)))


def measure(settings: Settings, env: dict[str, str], workers: int, concurrency: int, runs: int) -> float:
    assert settings.database_url is not None
    sources(settings, runs)
    inline = settings.model_copy(update={"executor": "inline"})
    with open_service(inline) as service, running_workers(settings, env, workers, concurrency):
        start = time.perf_counter()  # all workers up before the batch is deferred
        with open_queue(settings) as queue:
            ids = service.select_for_replay()
            options, selection = BatchOptions(from_node="synthesizer"), Selection(all_runs=True)
            batch = enqueue_batch(service, queue.submit_replays, options, selection, ids)
        while service.batches.counts(batch.batch_id).get(PENDING, 0):  # one COUNT, not the whole report
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
        status = batch_report(service, batch.batch_id)[0]
        assert status.summary.by_status == {"completed": runs}, status.summary.by_status
        return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=96)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--pg", default=DEFAULT_PG)
    parser.add_argument("--workers", type=int, nargs="*", default=list(WORKERS))
    args = parser.parse_args()
    server = bedrock_server(delay=args.latency)
    print(f"{args.runs} replays per row, {args.latency * 1e3:.0f} ms loopback LLM, {args.concurrency} per worker")
    print("| workers | concurrency | wall s | runs/s | ideal wall s | ideal / wall | LLM calls |")
    print("|---|---|---|---|---|---|---|")
    try:
        for workers in args.workers:
            url = fresh_database(args.pg)
            calls = server.calls
            try:
                with tempfile.TemporaryDirectory() as home:
                    settings = Settings(home=Path(home), database_url=url, executor="queue")
                    env = environment(settings, server.url) | {"VETOFLOW_EXECUTOR": "queue"}
                    wall = measure(settings, env, workers, args.concurrency, args.runs)
                    total = workers * args.concurrency
                    ideal = args.runs * args.latency / total
                    row = [workers, total, f"{wall:.2f}", f"{args.runs / wall:.1f}", f"{ideal:.2f}"]
                    row += [f"{ideal / wall:.2f}", server.calls - calls]
                    print("| " + " | ".join(str(cell) for cell in row) + " |", flush=True)
            finally:
                drop(args.pg, url)
    finally:
        server.stop()


if __name__ == "__main__":
    os.environ.setdefault("VETOFLOW_LLM", "offline")
    main()
