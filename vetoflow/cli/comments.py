"""`vetoflow comment` and `vetoflow comments`: a run's thread, without deciding."""

from __future__ import annotations

import json

import click

from vetoflow.cli.common import acting_user, json_option, reviewer_option, service_for
from vetoflow.plaintext import plain
from vetoflow.render import out


@click.command()
@click.argument("run_id")
@click.option("--message", "-m", "text", required=True, help="The comment (plain text, up to 4,000 characters).")
@reviewer_option
@json_option
@click.pass_context
def comment(ctx: click.Context, run_id: str, text: str, reviewer: str, json_mode: bool) -> None:
    """Add a comment to a run's thread without deciding (recorded in the audit log)."""
    user = acting_user(ctx, reviewer, "comment")
    with service_for(ctx) as service:
        row = service.comment(run_id, user, text, via="cli")
    if json_mode:
        click.echo(row.model_dump_json(indent=2))
    else:
        out.print(plain(f"comment {row.id} added to run {run_id} by {row.author}"))


@click.command()
@click.argument("run_id")
@json_option
@click.pass_context
def comments(ctx: click.Context, run_id: str, json_mode: bool) -> None:
    """Show a run's comment thread, oldest first."""
    with service_for(ctx) as service:
        rows = service.comments(run_id)
    if json_mode:
        click.echo(json.dumps([row.model_dump(mode="json") for row in rows], indent=2))
        return
    if not rows:
        out.print(plain(f"no comments on run {run_id}"))
    for row in rows:
        late = f" (its {row.action} lost the race: someone decided first)" if row.lost_race else ""
        out.print(plain(f"{row.created_at:%Y-%m-%d %H:%M} {row.author}{late}: {row.text}", multiline=True))
