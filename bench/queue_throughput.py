"""Queue mode throughput: runs per second against the number of workers (1, 2, 4), each worker running
`--concurrency` runs at once, with a loopback Bedrock answering every summary after 300 ms.

The baseline is the ideal wall time of the batch, runs x LLM latency / total concurrency (what perfect
workers would take if the LLM were the only cost), and inline execution in this process (one run at a
time, as `vetoflow run` does). Each row enqueues RUNS runs through RunService (as an API replica would),
starts the workers, and times until every run has completed.

Usage: python bench/queue_throughput.py [--runs 64] [--concurrency 4] [--latency 0.3] [--pg postgresql://...]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fakes.bedrock_server import bedrock_server
from vetoflow.config import Settings
from vetoflow.runs.store import open_service
from vetoflow.scenario import validate_scenario

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
WORKERS = (1, 2, 4)


def plan(name: str) -> dict[str, object]:
    return {
        "name": name,
        "investment": 500_000,
        "horizon": 12,
        "discount_rate": 0.01,
        "veto_threshold": -1.0,  # never vetoed: every run reaches the Synthesizer (the 300 ms call)
        "paths": 500,
        "segments": [{"name": "Retail", "base_revenue": 100_000, "growth_mean": 0.02, "margin": 0.3}],
    }


def environment(settings: Settings, bedrock_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VETOFLOW_", "AWS_"))}
    env |= {
        "PYTHONPATH": str(ROOT),
        "VETOFLOW_HOME": str(settings.home),
        "VETOFLOW_DATABASE_URL": settings.database_url or "",
        "VETOFLOW_LLM": "bedrock",
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": bedrock_url,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_REGION": "eu-west-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    return env


def fresh_database(admin_url: str) -> str:
    name = f"vetoflow_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def drop(admin_url: str, url: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def live_workers(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM procrastinate_workers").fetchone()
    return int(row[0]) if row else 0


@contextmanager
def running_workers(settings: Settings, env: dict[str, str], workers: int, concurrency: int) -> Iterator[None]:
    """`workers` worker processes, all registered before the body runs; terminated after it."""
    assert settings.database_url is not None
    command = [sys.executable, "-m", "vetoflow", "worker", "--concurrency", str(concurrency), "--log-level", "warning"]
    processes = [subprocess.Popen(command, env=env, cwd=ROOT) for _ in range(workers)]
    try:
        deadline = time.monotonic() + 60
        while live_workers(settings.database_url) < workers:
            if time.monotonic() > deadline:
                raise RuntimeError("workers did not start")
            time.sleep(0.1)
        yield
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


def measure(settings: Settings, env: dict[str, str], workers: int, concurrency: int, runs: int) -> float:
    """Seconds from the first job deferred (workers already up) to the last run completed."""
    with open_service(settings) as service, running_workers(settings, env, workers, concurrency):
        # open_service migrates the fresh database (queue schema included) before the workers start
        start = time.perf_counter()
        ids = [service.start(validate_scenario(plan(f"bench {i}"))).run.run_id for i in range(runs)]
        while len(service.list(["completed"], limit=runs + 1)) < runs:
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
        assert all(service.row(run_id).status == "completed" for run_id in ids)
        return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=64)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--pg", default=DEFAULT_PG)
    args = parser.parse_args()
    server = bedrock_server(delay=args.latency)
    aws = {k: v for k, v in environment(Settings(), server.url).items() if k.startswith("AWS_")}
    os.environ.update(aws | {"VETOFLOW_LLM": "bedrock"})  # the inline baseline calls the same loopback LLM
    print(f"{args.runs} runs per row, {args.latency * 1e3:.0f} ms loopback LLM, {args.concurrency} runs per worker")
    print("| workers | concurrency | wall s | runs/s | ideal wall s | ideal / wall |")
    print("|---|---|---|---|---|---|")
    try:
        for workers in WORKERS:
            url = fresh_database(args.pg)
            try:
                with tempfile.TemporaryDirectory() as home:
                    settings = Settings(home=Path(home), database_url=url, executor="queue")
                    env = environment(settings, server.url)
                    wall = measure(settings, env, workers, args.concurrency, args.runs)
                    ideal = args.runs * args.latency / (workers * args.concurrency)
                    total = workers * args.concurrency
                    rate, ratio = f"{args.runs / wall:.1f}", f"{ideal / wall:.2f}"
                    row = [workers, total, f"{wall:.2f}", rate, f"{ideal:.2f}", ratio]
                    print("| " + " | ".join(str(cell) for cell in row) + " |")
            finally:
                drop(args.pg, url)
        with tempfile.TemporaryDirectory() as home:
            settings = Settings(home=Path(home), executor="inline")
            with open_service(settings) as service:
                start = time.perf_counter()
                for i in range(8):
                    service.start(validate_scenario(plan(f"inline {i}")))
                inline = (time.perf_counter() - start) / 8
        print(f"inline baseline (SQLite, one run at a time, this process): {1 / inline:.1f} runs/s")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
