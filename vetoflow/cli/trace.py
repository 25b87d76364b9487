"""Developer commands: a run's trace, and the graph as mermaid or a picture."""

from __future__ import annotations

from pathlib import Path

import click

from vetoflow.cli.common import json_option, service_for
from vetoflow.render import err, out


@click.command()
@click.argument("run_id")
@json_option
@click.pass_context
def trace(ctx: click.Context, run_id: str, json_mode: bool) -> None:
    """Show a run's timeline from its checkpoints: nodes, timings, state changes, pauses, decisions, errors."""
    from vetoflow.trace import build_trace, render

    with service_for(ctx) as service:
        result = build_trace(service.trace_inputs(run_id))
    if json_mode:
        click.echo(result.model_dump_json(indent=2))
    else:
        out.print(render.trace_view(result))


@click.command()
@click.option(
    "--png", "png_file", type=click.Path(path_type=Path, dir_okay=False), help="Write a PNG (local Graphviz)."
)
@click.option("--run", "run_id", help="Mark the path this run took.")
@click.pass_context
def graph(ctx: click.Context, png_file: Path | None, run_id: str | None) -> None:
    """Print the graph as mermaid, or draw it as a PNG without any web service."""
    if png_file is not None and not png_file.parent.is_dir():  # before drawing: say it now, not after the work
        raise click.BadParameter(
            f"{str(png_file)!r}: no folder {str(png_file.parent)!r} to write it in", param_hint="--png"
        )
    from vetoflow.graph import build_graph
    from vetoflow.trace import build_trace, drawing

    path: list[str] = []
    finished = from_start = False
    if run_id:
        with service_for(ctx) as service:
            result = build_trace(service.trace_inputs(run_id))
        path, finished, from_start = result.path, result.finished_at is not None, result.forked_from is None
    compiled = build_graph().compile()
    if png_file is None:
        click.echo(drawing.mermaid(compiled, path, finished, from_start), nl=False)
        return
    picture = drawing.png(compiled, path, finished, from_start)
    try:
        png_file.write_bytes(picture)
    except OSError as exc:
        raise click.ClickException(f"--png: cannot write {png_file}: {exc.strerror}") from None
    err.print(f"wrote {png_file}")
