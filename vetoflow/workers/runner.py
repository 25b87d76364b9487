"""Runs one worker process: a compiled graph shared by N job threads, until SIGTERM/SIGINT drains it.

On SIGTERM each running job stops after the node it is in (that node is checkpointed) and goes back to
the queue for another worker; a second signal stops at once. A worker killed outright stops sending
heartbeats, and another worker's periodic sweep requeues its jobs after VETOFLOW_WORKER_STALLED_AFTER.
Each worker also beats under its host name (db.worker_beats), so its machine's health check sees it.
A worker whose database goes away does not exit: it starts working again once the database answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from procrastinate import App

from vetoflow.config import Settings
from vetoflow.context import Context
from vetoflow.db.errors import DATABASE_ERRORS
from vetoflow.db.pool import check_reachable
from vetoflow.db.worker_beats import WorkerBeats
from vetoflow.errors import DatabaseUnavailableError
from vetoflow.runs.store import open_service
from vetoflow.workers.app import make_app
from vetoflow.workers.health import this_host
from vetoflow.workers.reconciling import reconcile_runs
from vetoflow.workers.tasks import WorkerRuntime, hand_back_cut_off

log = logging.getLogger(__name__)
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
RESTART_PAUSE = 1.0  # seconds before a stopped worker checks for its database, doubling while restarts come fast
MAX_PAUSE = 30.0
UNREACHABLE: tuple[type[Exception], ...] = (DatabaseUnavailableError, *DATABASE_ERRORS)
STEADY_AFTER = 60.0  # a worker that ran this long before stopping starts again after RESTART_PAUSE


def run_worker(
    settings: Settings, context: Context, *, concurrency: int, queues: Sequence[str], name: str | None
) -> None:
    settings.check_queue()
    with open_service(settings, context, dispatch=False) as service:  # it executes; it never defers
        reconcile_runs(service, settings)  # rows an outage left behind, queued runs that lost their job
        runtime = WorkerRuntime(settings=settings, service=service)
        asyncio.run(_serve(runtime, concurrency=concurrency, queues=queues, name=name or "vetoflow-worker"))


async def _serve(runtime: WorkerRuntime, *, concurrency: int, queues: Sequence[str], name: str) -> None:
    """Work until SIGTERM/SIGINT; a worker that stops of itself (its database went away) starts again once the
    database answers, so a PostgreSQL restart or failover never leaves the queue without its workers."""
    # Graph runs are synchronous: each job takes a thread of the loop's default executor.
    executor = ThreadPoolExecutor(max_workers=concurrency + 2, thread_name_prefix="vetoflow-job")
    asyncio.get_running_loop().set_default_executor(executor)
    settings = runtime.settings
    options: dict[str, Any] = {"queues": list(queues)} if queues else {}  # none given: every queue
    beats = WorkerBeats(runtime.service.database.engine)
    key = await asyncio.to_thread(beats.register, this_host(settings), name)
    beating = asyncio.create_task(_beat(beats, key, settings.worker_heartbeat), name="host heartbeat")
    stopping = asyncio.Event()
    try:
        with _stop_on_signal(stopping):
            pause = RESTART_PAUSE
            while True:
                began = time.monotonic()
                app = make_app(settings, pool_size=concurrency + 4)  # + listener, heartbeat, fetch, sweeps
                why = await _work(app, runtime, options, stopping, concurrency=concurrency, name=name)
                if stopping.is_set():
                    return
                pause = RESTART_PAUSE if time.monotonic() - began > STEADY_AFTER else min(pause * 2, MAX_PAUSE)
                log.warning("worker %s stopped (%s); it starts again once the database answers", name, why)
                if not await _database_back(settings, stopping, pause):
                    return
                try:
                    await asyncio.to_thread(reconcile_runs, runtime.service, settings)  # what the outage cut short
                except UNREACHABLE as exc:  # gone again: the periodic pass catches up
                    log.warning("worker %s: the reconciler's pass failed: %s", name, exc)
                log.warning("worker %s: the database answers again; working", name)
    finally:
        beating.cancel()
        try:
            await asyncio.to_thread(beats.forget, key)
        except DATABASE_ERRORS as exc:  # stopped during an outage: its beat goes stale instead, as a crash's would
            log.warning("worker %s: its host heartbeat could not be removed: %s", name, exc)


async def _work(
    app: App, runtime: WorkerRuntime, options: dict[str, Any], stopping: asyncio.Event, *, concurrency: int, name: str
) -> str:
    """One procrastinate worker until `stopping` (it then drains) or until it stops of itself: why it did."""
    settings = runtime.settings
    try:
        async with app.open_async():
            await hand_back_cut_off(app, runtime)  # what the last round ran when the database went away
            working = asyncio.create_task(
                app.run_worker_async(
                    **options,
                    concurrency=concurrency,
                    name=name,
                    additional_context={"runtime": runtime},
                    update_heartbeat_interval=settings.worker_heartbeat,
                    stalled_worker_timeout=settings.worker_stalled_after,
                    shutdown_graceful_timeout=0,  # stop each job after its current node, not after the whole run
                    delete_jobs="never",
                    install_signal_handlers=False,  # _stop_on_signal: a stop is told apart from a lost database
                ),
                name="procrastinate worker",
            )
            asked = asyncio.create_task(stopping.wait(), name="stop requested")
            await asyncio.wait({working, asked}, return_when=asyncio.FIRST_COMPLETED)
            asked.cancel()
            if not working.done():
                working.cancel()  # procrastinate stops a cancelled worker as on a signal: each job after its node
            with contextlib.suppress(asyncio.CancelledError):
                await working
    except Exception as exc:  # procrastinate's ConnectorException, or the pool failing to open
        return f"{type(exc).__name__}: {' '.join(str(exc).split()) or 'database error'}"
    return "one of its side tasks failed (listener, heartbeat), as it does when the database goes away"


async def _database_back(settings: Settings, stopping: asyncio.Event, pause: float) -> bool:
    """Wait `pause`, then until PostgreSQL accepts a connection: True, or False when a stop came first."""
    assert settings.database_url is not None
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), pause)
        if stopping.is_set():
            return False
        try:
            await asyncio.to_thread(check_reachable, settings.database_url)
            return True
        except DatabaseUnavailableError as exc:
            log.info("waiting for the database: %s", exc)
            pause = RESTART_PAUSE


@contextlib.contextmanager
def _stop_on_signal(stopping: asyncio.Event) -> Iterator[None]:
    """The first SIGTERM/SIGINT drains (each job stops after its current node); the handlers then go back to
    the defaults, so a second signal stops at once."""
    loop = asyncio.get_running_loop()

    def restore() -> None:
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)

    def first_signal() -> None:
        restore()
        stopping.set()

    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, first_signal)
    try:
        yield
    finally:
        restore()


async def _beat(beats: WorkerBeats, key: str, every: float) -> None:
    """In the worker's event loop, beside procrastinate's beat: a frozen or hung loop goes silent."""
    while True:
        await asyncio.sleep(every)
        try:
            await asyncio.to_thread(beats.beat, key)
        except Exception as exc:  # a database hiccup: the next beat tries again
            log.warning("host heartbeat failed: %s", exc)
