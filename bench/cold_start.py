"""Cold start in Lambda mode: process start to /healthz answering, to the first completed run, and peak RSS.

The server is a real `vetoflow serve` (API + console) with LAMBDA_TASK_ROOT set, on a Lambda-like
filesystem (read-only everywhere but a fresh /tmp; see tests/lambda_sandbox.py, needs root), over a
fresh PostgreSQL database, with the knowledge store baked beforehand and the packaged embedding model, as
in the image. Baselines, same process: when the embedding model was ready (what health would cost if the
server loaded it before answering), the same run on the now-warm server, and the same cold start with the
torch reference embeddings (VETOFLOW_EMBEDDING_BACKEND=torch, what the image ran before ONNX), alternated.
Aims: health < 3 s, first run < 5 s, peak RSS < 1.2 GB (the function has 2048 MB).

Usage: python bench/cold_start.py [--repeat 3] [--pg postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.api_support import client, free_port, scenario
from tests.lambda_sandbox import LambdaServer, bake_store, embedding_model_dir, lambda_server_env, outside_tmp

AIMS = {"health": 3.0, "first_run": 5.0, "rss_gb": 1.2}
BACKENDS = ("onnx", "torch")


def cold_start(pg_url: str, baked: Path, model: str, home: Path, backend: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="vetoflow-lambda-tmp-") as tmp:
        server = LambdaServer(
            tmp=Path(tmp),
            home=home,
            port=free_port(),
            log_path=Path(tmp).parent / f"{Path(tmp).name}.log",
            env=lambda_server_env(pg_url, baked, model) | {"VETOFLOW_EMBEDDING_BACKEND": backend},
        )
        try:
            server.start()
            with client(server.url) as http:
                response = http.post("/runs", json={"scenario": scenario("cold start")})
                first_run = time.perf_counter() - server.started_at
                assert response.status_code == 201, response.text
                assert response.json()["run"]["status"] == "completed", response.text
                assert response.json()["state"]["retrieval"]["sources"], "no retrieval: the model was not used"
                ready = _ready_at(server)
                start = time.perf_counter()
                warm = http.post("/runs", json={"scenario": scenario("warm")})
                warm_run = time.perf_counter() - start
                assert warm.status_code == 201, warm.text
            rss = server.peak_rss_bytes()
        finally:
            server.stop()
            Path(server.log_path).unlink(missing_ok=True)
    return {
        "health": server.health_seconds,
        "model_ready": ready,
        "first_run": first_run,
        "warm_run": warm_run,
        "rss_gb": rss / 1e9,
    }


def _ready_at(server: LambdaServer) -> float:
    """Seconds from process start until /healthz reported the model ready (polled; after the first run)."""
    body = server.wait_ready()
    assert body.get("embeddings") == "ready", body
    return time.perf_counter() - server.started_at


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()

    name = f"vetoflow_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.pg, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    pg_url = f"{args.pg.rsplit('/', 1)[0]}/{name}"
    try:
        with outside_tmp("vetoflow-image-") as image:
            model = embedding_model_dir()
            print("baking the knowledge store (vetoflow ingest, as the Dockerfile does)...", flush=True)
            baked = bake_store(image / "build", model)
            (image / "home").mkdir()
            by_backend: dict[str, list[dict[str, float]]] = {b: [] for b in BACKENDS}
            for i in range(args.repeat):
                for backend in BACKENDS if i % 2 == 0 else reversed(BACKENDS):
                    result = cold_start(pg_url, baked, model, image / "home", backend)
                    by_backend[backend].append(result)
                    print(f"  cold start {i + 1} ({backend}): " + ", ".join(f"{k} {v:.2f}" for k, v in result.items()))
    finally:
        with psycopg.connect(args.pg, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    results = by_backend["onnx"]
    med = {key: statistics.median(r[key] for r in results) for key in results[0]}
    ref = {key: statistics.median(r[key] for r in by_backend["torch"]) for key in results[0]}
    best = {key: min(r[key] for r in results) for key in results[0]}
    peak = max(r["rss_gb"] for r in results)
    load = os.getloadavg()[0]
    print(f"\nLambda-mode cold start, median of {args.repeat} (PostgreSQL, console + API, baked store; "
          f"{os.cpu_count()} CPUs, load average {load:.1f}; best: health {best['health']:.2f} s, "
          f"first run {best['first_run']:.2f} s):")  # fmt: skip
    print(f"  process start -> /healthz answers      {med['health']:6.2f} s   (aim < {AIMS['health']:.0f} s)")
    print(f"  process start -> embedding model ready {med['model_ready']:6.2f} s   (health if loaded eagerly: "
          f"{med['model_ready'] / med['health']:.1f}x later)")  # fmt: skip
    print(f"  process start -> first completed run   {med['first_run']:6.2f} s   (aim < {AIMS['first_run']:.0f} s)")
    print(f"  the same run on the warm server        {med['warm_run']:6.2f} s   (cold first run "
          f"{med['first_run'] / med['warm_run']:.0f}x the warm one)")  # fmt: skip
    print(f"  peak RSS (VmHWM, model loaded)         {peak:6.2f} GB  (aim < {AIMS['rss_gb']} GB; function 2048 MB)")
    print(f"against the torch embeddings (median of {args.repeat}): first run {med['first_run']:.2f} s vs "
          f"{ref['first_run']:.2f} s ({med['first_run'] / ref['first_run']:.2f}x), model ready "
          f"{med['model_ready'] / ref['model_ready']:.2f}x, peak RSS {med['rss_gb']:.2f} vs {ref['rss_gb']:.2f} GB "
          f"({med['rss_gb'] / ref['rss_gb']:.2f}x)")  # fmt: skip
    for key, label in (("health", "health"), ("first_run", "first run")):
        if med[key] >= AIMS[key]:
            print(f"  MISSED: {label} {med[key]:.2f} s >= {AIMS[key]} s", flush=True)
    if peak >= AIMS["rss_gb"]:
        print(f"  MISSED: peak RSS {peak:.2f} GB >= {AIMS['rss_gb']} GB")


if __name__ == "__main__":
    main()
