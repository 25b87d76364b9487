"""HTTP API load: requests/s and p95 latency for listing runs and for deciding, at 10 and 50 concurrent
clients, on SQLite and PostgreSQL. The server is a real `vetoflow serve` process on loopback; the
baseline is the same call on RunService directly (no HTTP), in this process. Before anything is timed
the server is warmed up (the app built behind /healthz, a few lists and decisions: first-call imports,
connection pools, SQLite page cache), so the figures are the steady state, not the start-up.

Usage: python bench/api_load.py [--list-requests 500] [--decisions 100] [--pg postgresql://...]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
from backends import DEFAULT_PG, backends  # bench/backends.py (the script's own folder)

from vetoflow.config import Settings
from vetoflow.runs.store import open_service
from vetoflow.scenario import validate_scenario

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-token-0123456789abcdef"
CLIENTS = (10, 50)
WARMUP_LISTS = 50
WARMUP_DECISIONS = 10


def plan(name: str) -> dict[str, object]:
    return {
        "name": name,
        "investment": 500_000,
        "horizon": 12,
        "discount_rate": 0.01,
        "veto_threshold": 9.0,  # out of reach: every run pauses for a decision
        "paths": 200,
        "segments": [{"name": "Retail", "base_revenue": 100_000, "growth_mean": 0.02, "margin": 0.3}],
    }


def seed(settings: Settings, count: int) -> tuple[list[str], float, float]:
    """Paused runs to decide on; also times list and decide on the service itself (the baseline)."""
    with open_service(settings) as service:
        ids = [service.start(validate_scenario(plan(f"bench {i}"))).run.run_id for i in range(count + 20)]
        start = time.perf_counter()
        for _ in range(50):
            service.list(["paused"], limit=50)
        list_ms = (time.perf_counter() - start) / 50 * 1e3
        start = time.perf_counter()
        for run_id in ids[count:]:
            service.decide(run_id, "approve", reviewer="baseline")
        decide_ms = (time.perf_counter() - start) / 20 * 1e3
    return ids[:count], list_ms, decide_ms


def serve(settings: Settings) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("VETOFLOW_")}
    env |= {"VETOFLOW_HOME": str(settings.home), "VETOFLOW_API_TOKENS": f"{TOKEN}:bench"}
    if settings.database_url:
        env["VETOFLOW_DATABASE_URL"] = settings.database_url
    command = [sys.executable, "-m", "vetoflow", "serve", "--port", str(port), "--log-level", "warning"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{url}/healthz").status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("vetoflow serve did not start")


async def load(
    url: str, clients: int, requests: list[tuple[str, str, dict[str, object] | None]]
) -> tuple[float, float]:
    """Send `requests` with `clients` concurrent connections; returns (requests/s, p95 ms)."""
    queue: asyncio.Queue[tuple[str, str, dict[str, object] | None]] = asyncio.Queue()
    for item in requests:
        queue.put_nowait(item)
    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {TOKEN}"}
    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120, limits=limits) as http:

        async def worker() -> None:
            while not queue.empty():
                method, path, body = queue.get_nowait()
                start = time.perf_counter()
                response = await http.request(method, path, json=body)
                latencies.append((time.perf_counter() - start) * 1e3)
                if response.status_code >= 400:
                    raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        wall = time.perf_counter() - start
    return len(requests) / wall, statistics.quantiles(latencies, n=20)[-1]


def measure(settings: Settings, label: str, list_requests: int, decisions: int) -> None:
    ids, list_ms, decide_ms = seed(settings, decisions * len(CLIENTS) + WARMUP_DECISIONS)
    warmup, ids = ids[:WARMUP_DECISIONS], ids[WARMUP_DECISIONS:]
    process, url = serve(settings)
    try:
        started = time.perf_counter()
        warming = [("GET", "/runs?status=paused&limit=50", None)] * WARMUP_LISTS
        warming += [("POST", f"/runs/{i}/decision", {"action": "approve", "comment": "warm-up"}) for i in warmup]
        asyncio.run(load(url, 1, warming))
        print(f"{label}: warm-up ({len(warming)} requests, untimed) took {time.perf_counter() - started:.1f} s")
        print(f"{label}: baseline on RunService (no HTTP): list {list_ms:.1f} ms, decide {decide_ms:.1f} ms")
        for clients in CLIENTS:
            listing = [("GET", "/runs?status=paused&limit=50", None)] * list_requests
            rate, p95 = asyncio.run(load(url, clients, listing))
            print(
                f"  list runs   {clients:>2} clients: {rate:7.1f} req/s  p95 {p95:7.1f} ms  ({list_requests} requests)"
            )
            batch, ids = ids[:decisions], ids[decisions:]
            deciding = [("POST", f"/runs/{i}/decision", {"action": "approve", "comment": "bench"}) for i in batch]
            rate, p95 = asyncio.run(load(url, clients, deciding))
            single = 1e3 / decide_ms
            print(
                f"  decide      {clients:>2} clients: {rate:7.1f} req/s  p95 {p95:7.1f} ms  ({decisions} requests; "
                f"{rate / single:.2f}x the sequential baseline of {single:.1f}/s)"
            )
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--list-requests", type=int, default=500)
    parser.add_argument("--decisions", type=int, default=100)
    parser.add_argument("--pg", default=DEFAULT_PG)
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs; server: one uvicorn worker; clients: httpx.AsyncClient in this process")
    for label, settings in backends(args.pg):
        measure(settings, label, args.list_requests, args.decisions)


if __name__ == "__main__":
    main()
