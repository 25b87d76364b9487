"""`vetoflow audit export|verify`, `vetoflow notifications`, `vetoflow policy`: the governance records."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

import click
import yaml

from vetoflow.config import Settings
from vetoflow.db import open_database
from vetoflow.errors import VetoflowError
from vetoflow.governance import audit as audit_log
from vetoflow.governance import outbox
from vetoflow.governance.delivery import deliver_due
from vetoflow.governance.policy import load_policy


def _since(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise VetoflowError(f"--since {value!r}: a date or date-time like 2026-11-01 or 2026-11-01T09:00:00") from None
    aware = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="microseconds")


@click.group()
def audit() -> None:
    """The hash-chained decision log."""


@audit.command("export")
@click.option("--since", help="Only entries at or after this date (ISO 8601, UTC unless it says otherwise).")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@click.pass_context
def export(ctx: click.Context, since: str | None, fmt: str) -> None:
    """Every entry, oldest first, to standard output."""
    settings: Settings = ctx.obj
    with open_database(settings) as database:
        engine = database.engine
        for chunk in audit_log.export(engine, fmt, _since(since)):
            sys.stdout.write(chunk)


@audit.command("verify")
@click.pass_context
def verify(ctx: click.Context) -> None:
    """Recompute the hash chain; exit code 1 names every edited or deleted row."""
    with open_database(ctx.obj) as database:
        engine = database.engine
        verdict = audit_log.verify(engine)
    if not verdict.ok:
        raise VetoflowError(f"audit log altered ({verdict.checked} rows checked):\n" + "\n".join(verdict.problems))
    click.echo(f"audit log intact: {verdict.checked} rows, hash chain verified")


@click.command()
@click.option("--run", "run_id", help="Only this run's notifications.")
@click.option("--limit", "-n", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--deliver", is_flag=True, help="First try every notification that is due.")
@click.option("--json", "json_mode", is_flag=True, help="Print machine-readable JSON.")
@click.pass_context
def notifications(ctx: click.Context, run_id: str | None, limit: int, deliver: bool, json_mode: bool) -> None:
    """The notification outbox: what was sent, is waiting for a retry, or is dead (with each try)."""
    settings: Settings = ctx.obj
    with open_database(settings) as database:
        engine = database.engine
        if deliver:
            report = deliver_due(engine, settings)
            click.echo(f"sent {len(report.sent)}, retrying {len(report.retried)}, dead {len(report.dead)}", err=True)
        rows = outbox.listing(engine, run_id, limit)
    if json_mode:
        click.echo(json.dumps(rows, default=str, indent=2))
        return
    for row in rows:
        error = f"  ({row['last_error']})" if row["last_error"] else ""
        click.echo(f"{row['created_at']:%Y-%m-%d %H:%M:%S}  {row['event']:<14} {row['run_id'] or '-':<14} "
                   f"{row['kind']:<8} {row['status']:<8} tries {row['attempts']}  {row['target']}{error}")  # fmt: skip


@click.command()
@click.pass_context
def policy(ctx: click.Context) -> None:
    """Check and print the approval policy in force (VETOFLOW_POLICY, or the built-in default)."""
    settings: Settings = ctx.obj
    loaded = load_policy(settings.policy)
    click.echo(f"# {settings.policy or 'built-in default policy'}", err=True)
    click.echo(yaml.safe_dump(loaded.model_dump(mode="json", exclude_defaults=False), sort_keys=False))
