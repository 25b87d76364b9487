"""Runs one worker process: a compiled graph shared by N job threads, until SIGTERM/SIGINT drains it.

On SIGTERM each running job stops after the node it is in (that node is checkpointed) and goes back to
the queue for another worker; a second signal stops at once. A worker killed outright stops sending
heartbeats, and another worker's periodic sweep requeues its jobs after VETOFLOW_WORKER_STALLED_AFTER.
Each worker also beats under its host name (db.worker_beats), so its machine's health check sees it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from procrastinate import App

from vetoflow.config import Settings
from vetoflow.context import Context
from vetoflow.db.worker_beats import WorkerBeats
from vetoflow.runs.store import open_service
from vetoflow.workers.app import make_app
from vetoflow.workers.health import this_host
from vetoflow.workers.reconciling import reconcile_runs
from vetoflow.workers.tasks import WorkerRuntime

log = logging.getLogger(__name__)


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
    name = name or "vetoflow-worker"
    options: dict[str, Any] = {"queues": list(queues)} if queues else {}  # none given: every queue
    beats = WorkerBeats(runtime.service.database.engine)
    key = await asyncio.to_thread(beats.register, this_host(settings), name)
    beating = asyncio.create_task(_beat(beats, key, settings.worker_heartbeat), name="host heartbeat")
    try:
        async with app.open_async():
            await _run(app, runtime, options, concurrency=concurrency, name=name)
    finally:
        beating.cancel()
        await asyncio.to_thread(beats.forget, key)


async def _beat(beats: WorkerBeats, key: str, every: float) -> None:
    """In the worker's event loop, beside procrastinate's beat: a frozen or hung loop goes silent."""
    while True:
        await asyncio.sleep(every)
        try:
            await asyncio.to_thread(beats.beat, key)
        except Exception as exc:  # a database hiccup: the next beat tries again
            log.warning("host heartbeat failed: %s", exc)


async def _run(app: App, runtime: WorkerRuntime, options: dict[str, Any], *, concurrency: int, name: str) -> None:
    settings = runtime.settings
    await app.run_worker_async(
        **options,
        concurrency=concurrency,
        name=name,
        additional_context={"runtime": runtime},
        update_heartbeat_interval=settings.worker_heartbeat,
        stalled_worker_timeout=settings.worker_stalled_after,
        shutdown_graceful_timeout=0,  # stop each job after its current node, not after the whole run
        delete_jobs="never",
    )
