"""`vetoflow compare RUN_A RUN_B`: two runs side by side (inputs changed, risk figures)."""

from __future__ import annotations

import click
from rich.table import Table

from vetoflow.cli.common import json_option, service_for
from vetoflow.plaintext import plain
from vetoflow.render import out
from vetoflow.risk.compare import RunComparison


def comparison_tables(result: RunComparison) -> tuple[Table, Table]:
    """Every cell is user text (names, segment keys, values): plain, never markup or escape sequences."""
    inputs = Table(title="Inputs changed", title_justify="left")
    for column in ("input", result.run_a, result.run_b):
        inputs.add_column(plain(column), overflow="fold")
    for change in result.inputs_changed:
        inputs.add_row(*(plain("-" if value is None else value) for value in (change.key, change.a, change.b)))
    if not result.inputs_changed:
        inputs.add_row("(none)", "", "")
    figures = Table(title="Figures", title_justify="left")
    for column in ("figure", result.run_a, result.run_b):
        figures.add_column(plain(column), justify="left" if column == "figure" else "right")
    for row in result.figures:
        figures.add_row(plain(row.label), plain(row.a), plain(row.b))
    return inputs, figures


@click.command()
@click.argument("run_a")
@click.argument("run_b")
@json_option
@click.pass_context
def compare(ctx: click.Context, run_a: str, run_b: str, json_mode: bool) -> None:
    """Put two runs side by side: inputs changed, ROI, P(loss), NPV range, IRR, payback."""
    with service_for(ctx) as service:
        result = service.compare(run_a, run_b)
    if json_mode:
        click.echo(result.model_dump_json(indent=2))
        return
    for table in comparison_tables(result):
        out.print(table)
