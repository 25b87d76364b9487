"""`vetoflow worker`: process queued runs (VETOFLOW_EXECUTOR=queue) on any number of machines."""

from __future__ import annotations

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
@click.option("--name", default=None, help="Shown in the logs (default: vetoflow-worker).")
@click.option("--healthcheck", is_flag=True, help="Exit 0 if PostgreSQL answers and a worker is alive, else 1.")
@click.option("--log-level", default="info", show_default=True, type=click.Choice(["debug", "info", "warning"]))
@click.pass_obj
def worker(
    settings: Settings,
    concurrency: int,
    queues: tuple[str, ...],
    name: str | None,
    healthcheck: bool,
    log_level: str,
) -> None:
    """Execute queued runs from PostgreSQL until stopped (SIGTERM drains: current node, then stop)."""
    settings.check_queue()
    if healthcheck:
        _healthcheck(settings)
        return
    from vetoflow.runtime import make_context
    from vetoflow.workers.runner import run_worker

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if log_level != "debug":  # procrastinate logs every periodic sweep at INFO
        logging.getLogger("procrastinate").setLevel(logging.WARNING)
    run_worker(settings, make_context(settings), concurrency=concurrency, queues=queues, name=name)


def _healthcheck(settings: Settings) -> None:
    """Exit 0 when PostgreSQL and the queue schema answer, some worker is alive and this one could start."""
    from vetoflow.errors import VetoflowError
    from vetoflow.runtime import make_context
    from vetoflow.workers.health import queue_figures

    try:
        figures = queue_figures(settings.model_copy(update={"executor": "queue"}))
        assert figures is not None
        click.echo(figures.model_dump_json())
        make_context(settings)  # the clients a worker needs (LLM credentials, custom factory) can be built
    except VetoflowError as exc:
        _unhealthy(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    if not figures.schema_applied:
        _unhealthy("no queue schema (run `vetoflow db upgrade`)")
    if figures.workers_alive < 1:
        _unhealthy("no live worker")


def _unhealthy(reason: str) -> NoReturn:
    click.echo(f"unhealthy: {reason}", err=True)
    sys.exit(1)
