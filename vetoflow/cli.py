"""The `vetoflow` command line: start runs, list and inspect them, decide paused ones, retry failed ones."""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.text import Text

from vetoflow import render
from vetoflow.config import Settings
from vetoflow.errors import VetoflowError
from vetoflow.inputs import parse_assignments
from vetoflow.plaintext import clean, plain
from vetoflow.render import err, out
from vetoflow.runs.service import RunService, RunView
from vetoflow.runs.store import open_service
from vetoflow.runtime import make_context
from vetoflow.scenario import load_scenario
from vetoflow.state import RUN_STATUSES

EXIT_CODES = """\b
Exit codes:
  0  done (run completed, or rejected by a human)
  1  invalid input or configuration
  2  bad command-line usage
  3  run paused, waiting for a human decision
  4  run failed (resume it with: vetoflow retry RUN_ID)
  5  no such run
  6  the pause was already decided by someone else
  7  not allowed: your role does not grant this action"""

STATUS_EXIT = {"completed": 0, "rejected": 0, "paused": 3, "failed": 4, "running": 4}
F = TypeVar("F", bound=Callable[..., Any])


class VetoflowGroup(click.Group):
    """Prints user errors as `Error: ...` with their documented exit code, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except VetoflowError as exc:
            error_type = type("VetoflowCliError", (click.ClickException,), {"exit_code": exc.exit_code})
            raise error_type(clean(str(exc), multiline=True)) from None


@contextmanager
def service_for(ctx: click.Context) -> Iterator[RunService]:
    settings: Settings = ctx.obj
    with open_service(settings, make_context(settings)) as service:
        yield service


def progress(json_mode: bool) -> Callable[[str, dict[str, Any]], None]:
    def on_step(node: str, _update: dict[str, Any]) -> None:
        err.print(f"[green]✓[/] {node}", highlight=False)

    return (lambda *_: None) if json_mode else on_step


def emit(view: RunView, json_mode: bool) -> None:
    if json_mode:
        click.echo(view.model_dump_json(indent=2))
    else:
        out.print(render.run_panel(view))
    sys.exit(STATUS_EXIT[view.status])


json_option = click.option("--json", "json_mode", is_flag=True, help="Print machine-readable JSON.")


def reviewer_option(func: F) -> F:
    default = os.environ.get("VETOFLOW_REVIEWER") or getpass.getuser()
    return click.option(
        "--reviewer", default=default, show_default=True, help="Who decides (recorded). Env: VETOFLOW_REVIEWER."
    )(func)


comment_option = click.option("--comment", "-m", default="", help="Why; kept in the run's history.")


@click.group(cls=VetoflowGroup, epilog=EXIT_CODES, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", type=click.Path(path_type=Path), help="Data directory. Env: VETOFLOW_HOME (./.vetoflow).")
@click.version_option(package_name="vetoflow")
@click.pass_context
def cli(ctx: click.Context, home: Path | None) -> None:
    """Run investment decisions through the vetoflow graph, with a human veto.

    \b
    Typical session:
      vetoflow run examples/vetoed.yaml        # pauses: the Accountant vetoes
      vetoflow runs --status paused            # what waits for a decision
      vetoflow approve RUN_ID -m "strategic"   # resumes it, from any shell
    """
    settings = Settings()
    ctx.obj = settings.model_copy(update={"home": home}) if home else settings


@cli.command()
@click.argument("scenario", type=click.Path(path_type=Path))
@json_option
@click.pass_context
def run(ctx: click.Context, scenario: Path, json_mode: bool) -> None:
    """Start a run from a scenario file (YAML or JSON)."""
    parsed = load_scenario(scenario, max_bytes=ctx.obj.max_file_bytes)
    with service_for(ctx) as service:
        view = service.start(parsed, on_step=progress(json_mode))
    emit(view, json_mode)


@cli.command()
@click.option("--status", "-s", "statuses", multiple=True, type=click.Choice(RUN_STATUSES), help="Filter (repeatable).")
@click.option("--limit", "-n", default=50, show_default=True, type=click.IntRange(1, 10_000))
@json_option
@click.pass_context
def runs(ctx: click.Context, statuses: tuple[str, ...], limit: int, json_mode: bool) -> None:
    """List runs, newest first."""
    with service_for(ctx) as service:
        rows = service.list(statuses, limit=limit)
    if json_mode:
        click.echo(json.dumps([row.model_dump(mode="json") for row in rows], indent=2))
    else:
        out.print(render.runs_table(rows))


@cli.command()
@click.argument("run_id")
@json_option
@click.pass_context
def show(ctx: click.Context, run_id: str, json_mode: bool) -> None:
    """Show one run: figures, forecast, the Accountant's reasons, decisions and the summary."""
    with service_for(ctx) as service:
        view = service.view(run_id)
    if json_mode:
        click.echo(view.model_dump_json(indent=2))
    else:
        out.print(render.run_panel(view))


def _decide(ctx: click.Context, run_id: str, action: str, json_mode: bool, **kwargs: Any) -> None:
    from vetoflow.identity.directory import Directory
    from vetoflow.identity.roles import require

    user = Directory.from_settings(ctx.obj).reviewer(kwargs["reviewer"])  # a user of the users file, if any
    require(user, "revise" if action == "revise" else "decide")
    with service_for(ctx) as service:
        view = service.decide(run_id, action, on_step=progress(json_mode), **kwargs)
    emit(view, json_mode)


@cli.command()
@click.argument("run_id")
@reviewer_option
@comment_option
@json_option
@click.pass_context
def approve(ctx: click.Context, run_id: str, reviewer: str, comment: str, json_mode: bool) -> None:
    """Overrule the Accountant's veto: the run goes on to the Synthesizer."""
    _decide(ctx, run_id, "approve", json_mode, reviewer=reviewer, comment=comment)


@cli.command()
@click.argument("run_id")
@reviewer_option
@comment_option
@json_option
@click.pass_context
def reject(ctx: click.Context, run_id: str, reviewer: str, comment: str, json_mode: bool) -> None:
    """Uphold the veto: the run ends as rejected; no LLM is called."""
    _decide(ctx, run_id, "reject", json_mode, reviewer=reviewer, comment=comment)


@cli.command()
@click.argument("run_id")
@click.option(
    "--set",
    "assignments",
    multiple=True,
    required=True,
    metavar="KEY=VALUE",
    help="investment=800000, horizon=10, segments.Retail.growth_mean=0.06 (repeatable).",
)
@reviewer_option
@comment_option
@json_option
@click.pass_context
def revise(
    ctx: click.Context, run_id: str, assignments: tuple[str, ...], reviewer: str, comment: str, json_mode: bool
) -> None:
    """Change assumptions and re-run the Forecaster and Accountant."""
    overrides = parse_assignments(assignments)
    _decide(ctx, run_id, "revise", json_mode, reviewer=reviewer, comment=comment, overrides=overrides)


@cli.command()
@click.argument("run_id")
@json_option
@click.pass_context
def retry(ctx: click.Context, run_id: str, json_mode: bool) -> None:
    """Resume a failed or interrupted run from its last checkpoint."""
    with service_for(ctx) as service:
        view = service.retry(run_id, on_step=progress(json_mode))
    emit(view, json_mode)


@cli.command()
@click.option(
    "--examples",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Folder of scenarios (default: the samples shipped with vetoflow).",
)
@click.pass_context
def demo(ctx: click.Context, examples: Path | None) -> None:
    """Run every sample scenario and say which runs wait for approval."""
    folder = examples or Path(__file__).parent / "examples"
    files = sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml", ".json"))
    if not files:
        raise click.ClickException(f"no scenarios in {folder}")
    views = []
    with service_for(ctx) as service:
        for path in files:
            err.print(plain(path.name, style="bold"))
            views.append(service.start(load_scenario(path), on_step=progress(False)))
        out.print(render.runs_table([v.run for v in views]))
    for view in views:
        summary, retrieval = view.state.get("summary"), view.state.get("retrieval")
        if summary and retrieval and retrieval["sources"]:
            cited = ", ".join(f"[{src['ref']}] {src['source']}" for src in retrieval["sources"])
            out.print(plain(f"{view.run.name} ({summary['model']} summary) cites {cited}"), soft_wrap=True)
        if view.status == "paused":
            reason = clean(f" is paused: {view.run.veto_reason}")
            out.print(Text.assemble((clean(view.run.name), "bold yellow"), reason), soft_wrap=True)
            command = f'vetoflow approve {view.run.run_id} --reviewer ana --comment "strategic bet"'
            out.print(Text.assemble("  approve it with: ", (command, "bold")), soft_wrap=True)
    out.print(f"Runs are stored in {ctx.obj.redacted_database()}")


from vetoflow.commands import governance as governance_commands  # noqa: E402
from vetoflow.commands import trace as trace_commands  # noqa: E402  (it uses the helpers above)
from vetoflow.commands.knowledge import ingest, sources  # noqa: E402
from vetoflow.commands.serve import serve  # noqa: E402
from vetoflow.commands.ui import ui as ui_command  # noqa: E402
from vetoflow.commands.users import users as users_commands  # noqa: E402

cli.add_command(ui_command)

cli.add_command(trace_commands.trace)
cli.add_command(trace_commands.graph)
cli.add_command(trace_commands.replay_command)
cli.add_command(serve)
cli.add_command(ingest)
cli.add_command(sources)
cli.add_command(users_commands)
cli.add_command(governance_commands.audit)
cli.add_command(governance_commands.notifications)
cli.add_command(governance_commands.policy)


def main() -> None:
    cli(prog_name="vetoflow")


if __name__ == "__main__":
    main()
