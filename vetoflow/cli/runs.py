"""Commands on runs: start, list, show, approve, reject, revise, retry, and the samples (`demo`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.text import Text

from vetoflow import render
from vetoflow.cli.common import (
    acting_option,
    acting_user,
    comment_option,
    digest_option,
    emit,
    json_option,
    parse_assignments,
    progress,
    requester_option,
    reviewer_option,
    service_for,
)
from vetoflow.errors import VetoflowError
from vetoflow.plaintext import clean, plain
from vetoflow.render import err, out
from vetoflow.scenario import Scenario, load_scenario
from vetoflow.state import RUN_STATUSES


@click.command()
@click.argument("scenario", type=click.Path(path_type=Path))
@requester_option("Who starts the run (recorded; four-eyes: they cannot approve it).")
@json_option
@click.pass_context
def run(ctx: click.Context, scenario: Path, requester: str, json_mode: bool) -> None:
    """Start a run from a scenario file (YAML or JSON)."""
    user = acting_user(ctx, requester, "start", "--requester")
    parsed = load_scenario(scenario, max_bytes=ctx.obj.max_file_bytes)
    with service_for(ctx) as service:
        view = service.start(parsed, on_step=progress(json_mode), requester=user.name, via="cli")
    emit(view, json_mode)


@click.command()
@click.option("--status", "-s", "statuses", multiple=True, type=click.Choice(RUN_STATUSES), help="Filter (repeatable).")
@click.option("--limit", "-n", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.option(
    "--after",
    metavar="CURSOR",
    default=None,
    help="The next page: the cursor the previous page printed (empty: the first page).",
)
@json_option
@click.pass_context
def runs(ctx: click.Context, statuses: tuple[str, ...], limit: int, after: str | None, json_mode: bool) -> None:
    """List runs, newest first, a page at a time (the next page's command goes to stderr)."""
    from vetoflow.runs.listing import open_listing  # the run index alone: no graph, no checkpointer

    with open_listing(ctx.obj) as listing:
        page = listing.page(statuses, limit=limit, after=after)
    if json_mode:
        click.echo(json.dumps([row.model_dump(mode="json") for row in page.runs], indent=2))
    else:
        out.print(render.runs_table(page.runs))
    if page.next_cursor:
        filters = "".join(f" -s {status}" for status in statuses)
        err.print(plain(f"more: vetoflow runs{filters} -n {limit} --after {page.next_cursor}"), soft_wrap=True)


@click.command()
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
    user = acting_user(ctx, kwargs["reviewer"], "revise" if action == "revise" else "decide")
    with service_for(ctx) as service:
        view = service.decide(run_id, action, on_step=progress(json_mode), user=user, via="cli", **kwargs)
    emit(view, json_mode)


def _verdict_command(action: str, help_text: str) -> click.Command:
    """`approve` and `reject`: the same options, a different action."""

    @click.command(action, help=help_text)
    @click.argument("run_id")
    @reviewer_option
    @comment_option
    @digest_option
    @json_option
    @click.pass_context
    def command(
        ctx: click.Context, run_id: str, reviewer: str, comment: str, digest: str | None, json_mode: bool
    ) -> None:
        _decide(ctx, run_id, action, json_mode, reviewer=reviewer, comment=comment, digest=digest)

    return command


approve = _verdict_command("approve", "Overrule the Accountant's veto: the run goes on to the Synthesizer.")
reject = _verdict_command("reject", "Uphold the veto: the run ends as rejected; no LLM is called.")


@click.command()
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
@digest_option
@json_option
@click.pass_context
def revise(
    ctx: click.Context,
    run_id: str,
    assignments: tuple[str, ...],
    reviewer: str,
    comment: str,
    digest: str | None,
    json_mode: bool,
) -> None:
    """Change assumptions and re-run the Forecaster and Accountant."""
    overrides = parse_assignments(assignments)
    _decide(ctx, run_id, "revise", json_mode, reviewer=reviewer, comment=comment, overrides=overrides, digest=digest)


@click.command()
@click.argument("run_id")
@acting_option("Who resumes it: a role granting `start` (analyst, admin), as for the API.")
@json_option
@click.pass_context
def retry(ctx: click.Context, run_id: str, reviewer: str, json_mode: bool) -> None:
    """Resume a failed or interrupted run from its last checkpoint."""
    acting_user(ctx, reviewer, "start")
    with service_for(ctx) as service:
        view = service.retry(run_id, on_step=progress(json_mode))
    emit(view, json_mode)


@click.command()
@click.option(
    "--examples",
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    default=None,
    help="Folder of scenarios (default: the samples shipped with vetoflow).",
)
@requester_option("Who starts the runs (recorded; four-eyes: they cannot approve them).")
@click.pass_context
def demo(ctx: click.Context, examples: Path | None, requester: str) -> None:
    """Run every sample scenario and say which runs wait for approval."""
    user = acting_user(ctx, requester, "start", "--requester")
    folder = examples or Path(__file__).resolve().parent.parent / "examples"
    scenarios = _load_all(folder, ctx.obj.max_file_bytes)  # every file checked before any run is saved
    views = []
    with service_for(ctx) as service:
        for path, scenario in scenarios:
            err.print(plain(path.name, style="bold"))
            views.append(service.start(scenario, on_step=progress(False), requester=user.name, via="cli"))
        out.print(render.runs_table([v.run for v in reversed(views)]))  # newest first, as `vetoflow runs`
    for view in views:
        summary, retrieval = view.state.summary, view.state.retrieval
        if summary and retrieval and retrieval.sources:
            cited = ", ".join(f"[{src.ref}] {src.source}" for src in retrieval.sources)
            out.print(plain(f"{view.run.name} ({summary.model} summary) cites {cited}"), soft_wrap=True)
        if view.status == "paused":
            reason = clean(f" is paused: {view.run.veto_reason}")
            out.print(Text.assemble((clean(view.run.name), "bold yellow"), reason), soft_wrap=True)
            command = f'vetoflow approve {view.run.run_id} --reviewer ana --comment "strategic bet"'
            out.print(Text.assemble("  approve it with: ", (command, "bold")), soft_wrap=True)
    out.print(f"Runs are stored in {ctx.obj.redacted_database()}")


def _load_all(folder: Path, max_bytes: int) -> list[tuple[Path, Scenario]]:
    """Every scenario in `folder`, or one error naming each file that is not valid (and nothing run)."""
    files = sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml", ".json"))
    if not files:
        raise click.ClickException(f"no scenarios in {folder}")
    loaded, problems = [], []
    for path in files:
        try:
            loaded.append((path, load_scenario(path, max_bytes=max_bytes)))
        except VetoflowError as exc:
            problems.append(str(exc))
    if problems:
        raise VetoflowError(
            f"{len(problems)} of {len(files)} scenario(s) invalid; nothing was run:\n" + "\n".join(problems)
        )
    return loaded
