"""`vetoflow worker`: process queued runs (VETOFLOW_EXECUTOR=queue) on any number of machines."""

from __future__ import annotations

import json
import logging
import sys
from typing import NoReturn

import click

from vetoflow.config import Settings


@click.command()
@click.option("--concurrency", "-c", default=1, show_default=True, type=click.IntRange(1, 64), help="Runs at once.")
@click.option(
    "--queue",
    "queues",
    multiple=True,
    type=click.Choice(["runs", "maintenance"]),
    help="Only these queues (repeatable; default: all). Some worker must serve 'maintenance'.",
)
@click.option("--name", default=None, help="Shown in the logs (default: vetoflow-worker); --healthcheck: only it.")
@click.option(
    "--healthcheck",
    is_flag=True,
    help="Exit 0 if PostgreSQL answers and a worker on this host (VETOFLOW_WORKER_HOST) is alive, else 1.",
)
@click.option("--cluster", is_flag=True, help="With --healthcheck: any live worker on any host will do.")
@click.option("--log-level", default="info", show_default=True, type=click.Choice(["debug", "info", "warning"]))
@click.pass_obj
def worker(
    settings: Settings,
    concurrency: int,
    queues: tuple[str, ...],
    name: str | None,
    healthcheck: bool,
    cluster: bool,
    log_level: str,
) -> None:
    """Execute queued runs from PostgreSQL until stopped (SIGTERM drains: current node, then stop)."""
    settings.check_queue()
    if healthcheck:
        _healthcheck(settings, name, cluster=cluster)
        return
    if cluster:
        raise click.UsageError("--cluster goes with --healthcheck")
    from vetoflow.runtime import make_context
    from vetoflow.workers.runner import run_worker

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if log_level != "debug":  # procrastinate logs every periodic sweep at INFO
        logging.getLogger("procrastinate").setLevel(logging.WARNING)
    run_worker(settings, make_context(settings), concurrency=concurrency, queues=queues, name=name)


def _healthcheck(settings: Settings, name: str | None, *, cluster: bool) -> None:
    """Exit 0 when PostgreSQL and the queue schema answer, a worker of this host is alive (of any host,
    with `cluster`) and this one could start: a frozen worker's container must not look healthy."""
    from vetoflow.errors import VetoflowError
    from vetoflow.runtime import make_context
    from vetoflow.workers.health import queue_figures, this_host, workers_here

    host = this_host(settings)
    try:
        figures = queue_figures(settings.model_copy(update={"executor": "queue"}))
        assert figures is not None
        here = workers_here(settings, name) if figures.schema_applied else 0
        click.echo(json.dumps(figures.model_dump(mode="json") | {"host": host, "workers_alive_here": here}))
        make_context(settings)  # the clients a worker needs (LLM credentials, custom factory) can be built
    except VetoflowError as exc:
        _unhealthy(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    if not figures.schema_applied:
        _unhealthy("no queue schema (run `vetoflow db upgrade`)")
    if cluster and figures.workers_alive < 1:
        _unhealthy("no live worker")
    if not cluster and here < 1:
        _unhealthy(f"no live worker on this host ({host}{f', named {name}' if name else ''})")


def _unhealthy(reason: str) -> NoReturn:
    click.echo(f"unhealthy: {reason}", err=True)
    sys.exit(1)
