"""`vetoflow worker`: process queued runs (VETOFLOW_EXECUTOR=queue) on any number of machines."""

from __future__ import annotations

import json
import logging
import sys

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
    from vetoflow.db.queue import queue_health

    assert settings.database_url is not None
    health = queue_health(settings.database_url, settings.worker_stalled_after)
    report = health.model_dump() | {"queue_depth": health.queue_depth}
    click.echo(json.dumps(report, sort_keys=True))
    if not health.schema_applied or health.workers_alive < 1:
        click.echo("unhealthy: " + ("no queue schema" if not health.schema_applied else "no live worker"), err=True)
        sys.exit(1)
