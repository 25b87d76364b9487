"""`vetoflow prune`: shrink finished runs older than an age to what trace, replay and audit need."""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from datetime import timedelta

import click

from vetoflow.config import Settings
from vetoflow.render import out

MAX_DAYS = 36_500


class AgeType(click.ParamType[timedelta, object]):
    """`30d`, `12h` or `0d`: whole days or hours, at most 100 years."""

    name = "age"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> timedelta:
        if isinstance(value, timedelta):
            return value
        match = re.fullmatch(r"(\d{1,6})([dh])", str(value).strip())
        if not match:
            self.fail(f"{value!r}: expected a whole number of days or hours, like 30d or 12h", param, ctx)
        amount, unit = int(match.group(1)), match.group(2)
        age = timedelta(days=amount) if unit == "d" else timedelta(hours=amount)
        if age > timedelta(days=MAX_DAYS):
            self.fail(f"{value!r}: at most {MAX_DAYS} days", param, ctx)
        return age


@click.command()
@click.option(
    "--older-than",
    type=AgeType(),
    default=None,
    help="Runs finished longer ago than this (30d, 12h; default: VETOFLOW_RETENTION_DAYS).",
)
@click.option("--dry-run", is_flag=True, help="Report what would be removed; remove nothing.")
@click.option("--json", "json_mode", is_flag=True, help="Print machine-readable JSON.")
@click.pass_context
def prune(ctx: click.Context, older_than: timedelta | None, dry_run: bool, json_mode: bool) -> None:
    """Remove what finished runs no longer need; paused, running and failed runs are never touched.

    Kept: every checkpoint (trace rows, replay points), pauses and errors, decisions and lineage.
    Removed: superseded pending writes of completed and rejected runs older than the age.
    """
    from vetoflow.cli.common import service_for

    settings: Settings = ctx.obj
    age = older_than if older_than is not None else timedelta(days=settings.retention_days)
    with service_for(ctx) as service:
        report = service.prune(age, dry_run=dry_run)
    if json_mode:
        click.echo(json.dumps(asdict(report) | {"dry_run": dry_run}))
        return
    verb = "would remove" if dry_run else "removed"
    out.print(
        f"{report.runs} finished run(s) older than {age}: {verb} {report.writes_deleted} superseded write(s), "
        f"{report.bytes_freed:,} bytes",
        highlight=False,
    )
