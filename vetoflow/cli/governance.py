"""`vetoflow audit export|verify`, `notifications`, `policy`, `sweep`: the governance records and deadlines."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta
from pathlib import Path

import click

from vetoflow.cli.common import acting_option, acting_user, not_empty, service_for
from vetoflow.clock import utcnow
from vetoflow.config import Settings
from vetoflow.errors import UsageError, VetoflowError
from vetoflow.governance.policy import load_policy
from vetoflow.governance.targets import safe_target
from vetoflow.inputs import dump_yaml
from vetoflow.runs.audit import since_text

AUDITOR = acting_option("Who asks: a role granting `audit` (admin), as for the API.")
CLOCK_SKEW = timedelta(minutes=5)  # how far ahead of this machine's clock `sweep --now` may be


def _when(option: str, value: str | None) -> str | None:
    """An ISO date or date-time (UTC unless it says otherwise), as the audit log's timestamps are written."""
    refusal = f"{option} {str(value)[:60]!r}: a date or date-time like 2026-11-01 or 2026-11-01T09:00:00"
    try:
        return since_text(value, refusal)
    except VetoflowError as exc:
        raise UsageError(str(exc)) from None  # a malformed option value: exit 2, as click's own


def _sweep_time(value: str) -> datetime:
    """`sweep --now`: a time no later than now (a little clock skew aside); deadlines are never faked forward."""
    at = datetime.fromisoformat(_when("--now", value) or "")
    latest = utcnow() + CLOCK_SKEW
    if at > latest:
        raise UsageError(
            f"--now {value[:60]!r} is in the future ({at:%Y-%m-%d %H:%M} UTC): a sweep records what it does at "
            "that time, so it may be at most 5 minutes ahead of this machine's clock; leave --now out to use it"
        )
    return at


@click.group()
def audit() -> None:
    """The hash-chained decision log."""


@audit.command("export")
@click.option("--since", help="Only entries at or after this date (ISO 8601, UTC unless it says otherwise).")
@click.option("--run", "run_id", callback=not_empty, help="Only this run's entries (to read; not a chain to verify).")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@AUDITOR
@click.pass_context
def export(ctx: click.Context, since: str | None, run_id: str | None, fmt: str, reviewer: str) -> None:
    """Every entry, oldest first, to standard output (exit code 7 without a role granting `audit`)."""
    start = _when("--since", since)
    acting_user(ctx, reviewer, "audit")
    with service_for(ctx) as service:
        for chunk in service.audit_export(fmt, start, run_id):
            sys.stdout.write(chunk)


@audit.command("verify")
@click.option(
    "--file", "path", type=click.Path(dir_okay=False, path_type=Path),
    help="Check an exported file (jsonl or csv, whole or --since) offline instead of the live log.",
)  # fmt: skip
@click.option(
    "--anchor", "anchors", multiple=True, metavar="SEQ:HASH",
    help="An entry noted down earlier (the 'last entry' a previous verify printed): it must still be there.",
)  # fmt: skip
@click.pass_context
def verify(ctx: click.Context, path: Path | None, anchors: tuple[str, ...]) -> None:
    """Recompute the hash chain; exit code 1 names every edited or deleted row."""
    from vetoflow.runs import audit_check

    expected = [audit_check.parse_anchor(text) for text in anchors]
    if path is not None:
        verdict = audit_check.verify_file(path, expected)
    else:
        with service_for(ctx) as service:
            verdict = service.audit_verify(expected)
    where = f"{path}" if path else "audit log"
    if not verdict.ok:
        raise VetoflowError(f"{where} altered ({verdict.checked} rows checked):\n" + "\n".join(verdict.problems))
    if verdict.last is None:
        click.echo(f"{where}: no entries")
        return
    span = f"seq {verdict.first_seq}-{verdict.last.seq}" if path else f"{verdict.checked} rows"
    met = f"; anchor(s) {', '.join(str(a.seq) for a in verdict.anchors_met)} found" if verdict.anchors_met else ""
    click.echo(f"{where} intact: {span}, hash chain verified{met}")
    click.echo(f"last entry (anchor a later check with --anchor): {verdict.last}")
    if path:
        click.echo("a file cannot show rows deleted after its end: compare its last entry with the live log's")


@click.command()
@click.option("--run", "run_id", callback=not_empty, help="Only this run's notifications (exit 5: no such run).")
@click.option("--limit", "-n", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--deliver", is_flag=True, help="First try every notification that is due.")
@click.option("--json", "json_mode", is_flag=True, help="Print machine-readable JSON.")
@AUDITOR
@click.pass_context
def notifications(
    ctx: click.Context, run_id: str | None, limit: int, deliver: bool, json_mode: bool, reviewer: str
) -> None:
    """The notification outbox: what was sent, is waiting for a retry, or is dead (with each try).

    Needs a role granting `audit` (admin), as `GET /notifications` does (exit code 7 otherwise)."""
    acting_user(ctx, reviewer, "audit")
    with service_for(ctx) as service:
        if run_id is not None:
            service.index.get(run_id)  # an unknown run is exit 5, as for every other command naming one
        if deliver:
            report = service.deliver_notifications()
            click.echo(f"sent {len(report.sent)}, retrying {len(report.retried)}, dead {len(report.dead)}", err=True)
        rows = service.notifications(run_id, limit)
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
    from vetoflow.governance.policy_checks import check_policy
    from vetoflow.identity.directory import Directory

    loaded = load_policy(settings.policy)
    check_policy(loaded, settings, Directory.from_settings(settings, quiet=True).custom_roles())
    click.echo(f"# {settings.policy or 'built-in default policy'}", err=True)
    shown = loaded.model_dump(mode="json")
    for channel in shown.get("notify", []):  # a webhook's URL is its secret: shown as in every listing
        channel.update({k: safe_target(channel[k]) for k in ("webhook", "slack") if channel.get(k)})
    click.echo(dump_yaml(shown))


@click.command()
@click.option(
    "--now",
    "now_text",
    help="Act as if it were this time, at most 5 minutes ahead of the clock (ISO 8601, UTC unless it says otherwise).",
)
@click.option("--no-deliver", is_flag=True, help="Only queue notifications; do not send them now.")
@click.option("--json", "json_mode", is_flag=True, help="Print machine-readable JSON.")
@click.pass_context
def sweep(ctx: click.Context, now_text: str | None, no_deliver: bool, json_mode: bool) -> None:
    """Send due reminders, escalate and expire overdue pauses (each exactly once), then deliver notifications.

    Run it every minute or so (cron, a systemd timer, a worker); several may run at once.
    """
    at = _sweep_time(now_text) if now_text is not None else None
    with service_for(ctx) as service:
        assert service.gate is not None
        if at is not None:
            service.gate.clock = lambda: at
        report = service.sweep()
        delivered = None if no_deliver else service.deliver_notifications()
    counts = None
    if delivered is not None:  # named, as the text line names them (null: --no-deliver sent nothing)
        counts = {"sent": len(delivered.sent), "retrying": len(delivered.retried), "dead": len(delivered.dead)}
    if json_mode:
        result = {"reminded": report.reminded, "escalated": report.escalated, "expired": report.expired,
                  "adopted": report.adopted, "resumed": report.resumed}  # fmt: skip
        click.echo(json.dumps(result | {"notifications": counts}, indent=2))
        return
    line = f"reminded {len(report.reminded)}, escalated {len(report.escalated)}, expired {len(report.expired)}"
    if report.adopted:
        line += f"; {len(report.adopted)} waiting run(s) of an earlier release given a tier and deadline"
    if counts is not None:
        line += "; notifications " + ", ".join(f"{name} {count}" for name, count in counts.items())
    click.echo(line)
