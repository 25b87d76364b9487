"""`vetoflow doctor`: find run-index rows out of line with their checkpoints, and repair them."""

from __future__ import annotations

import json

import click
from rich.table import Table
from rich.text import Text

from vetoflow.cli.common import json_option, service_for
from vetoflow.render import out


@click.command()
@click.option("--repair", is_flag=True, help="Refresh each drifted row from its checkpoint.")
@json_option
@click.pass_context
def doctor(ctx: click.Context, repair: bool, json_mode: bool) -> None:
    """Check the run index against the checkpoints (after a database outage, say); exit 1 on unrepaired drift."""
    with service_for(ctx) as service:
        drifts = service.reconcile(repair=repair)
    if json_mode:
        click.echo(json.dumps([d.model_dump(mode="json") for d in drifts], indent=2))
    else:
        table = Table(title=f"{len(drifts)} run(s) out of line with their checkpoints", title_justify="left")
        for header in ("run id", "listed as", "checkpoint says", "done"):
            table.add_column(header)
        for d in drifts:
            done = "repaired" if d.repaired else (d.note or "run: vetoflow doctor --repair")
            table.add_row(Text(d.run_id), d.listed_as, d.checkpoint_says, Text(done))
        out.print(table)
    if any(not d.repaired and not d.note for d in drifts):
        raise SystemExit(1)
