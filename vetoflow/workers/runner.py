"""Runs one worker process: a compiled graph shared by N job threads, until SIGTERM/SIGINT drains it.

On SIGTERM each running job stops after the node it is in (that node is checkpointed) and goes back to
the queue for another worker; a second signal stops at once. A worker killed outright stops sending
heartbeats, and another worker's periodic sweep requeues its jobs after VETOFLOW_WORKER_STALLED_AFTER.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from procrastinate import App

from vetoflow.config import Settings
from vetoflow.context import Context
from vetoflow.runs.store import open_service
from vetoflow.workers.app import make_app
from vetoflow.workers.reconciling import reconcile_runs
from vetoflow.workers.tasks import WorkerRuntime


def run_worker(
    settings: Settings, context: Context, *, concurrency: int, queues: Sequence[str], name: str | None
) -> None:
    settings.check_queue()
    with open_service(settings, context, dispatch=False) as service:  # it executes; it never defers
        reconcile_runs(service, settings)  # rows an outage left behind, queued runs that lost their job
        app = make_app(settings, pool_size=concurrency + 4)  # + listener, heartbeat, fetch, sweeps
        runtime = WorkerRuntime(settings=settings, service=service)
        asyncio.run(_work(app, runtime, concurrency=concurrency, queues=queues, name=name))


async def _work(app: App, runtime: WorkerRuntime, *, concurrency: int, queues: Sequence[str], name: str | None) -> None:
    # Graph runs are synchronous: each job takes a thread of the loop's default executor.
    executor = ThreadPoolExecutor(max_workers=concurrency + 2, thread_name_prefix="vetoflow-job")
    asyncio.get_running_loop().set_default_executor(executor)
    settings = runtime.settings
    options: dict[str, Any] = {"queues": list(queues)} if queues else {}  # none given: every queue
    async with app.open_async():
        await app.run_worker_async(
            **options,
            concurrency=concurrency,
            name=name or "vetoflow-worker",
            additional_context={"runtime": runtime},
            update_heartbeat_interval=settings.worker_heartbeat,
            stalled_worker_timeout=settings.worker_stalled_after,
            shutdown_graceful_timeout=0,  # stop each job after its current node, not after the whole run
            delete_jobs="never",
        )
