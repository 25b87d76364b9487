"""`vetoflow replay`: fork one saved run (and compare), or replay a batch with bounded concurrency."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from vetoflow.cli.common import (
    STATUS_EXIT,
    acting_user,
    json_option,
    not_empty,
    parse_assignments,
    progress,
    requester_option,
    service_for,
)
from vetoflow.clock import aware
from vetoflow.graph.names import NODE_NAMES
from vetoflow.plaintext import clean
from vetoflow.render import err, out
from vetoflow.replay import batch
from vetoflow.replay import render as replay_render
from vetoflow.replay.queued import Selection
from vetoflow.replay.report import BatchOptions, ReportRow, load_report, save_report
from vetoflow.state import RUN_STATUSES
from vetoflow.trace import render


@click.command("replay")
@click.argument("run_id", required=False)
@click.argument("batch_id", required=False)
@click.option(
    "--checkpoint", "checkpoint_id", callback=not_empty, help="Fork at this checkpoint id (see `vetoflow trace`)."
)
@click.option("--from", "from_node", type=click.Choice(NODE_NAMES), help="Fork just before the last time NODE ran.")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE", help="Change the scenario (repeatable).")
@click.option("--all", "all_runs", is_flag=True, help="Batch: every saved run (replays excluded).")
@click.option("--status", "statuses", multiple=True, type=click.Choice(RUN_STATUSES), help="Batch: runs in a status.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]), help="Batch: created since (UTC).")
@click.option("--ids", "ids_file", type=click.Path(path_type=Path, dir_okay=False), help="Batch: run ids, one a line.")
@click.option("--llm-model", help="Model id for the Synthesizer in the replays.")
@requester_option("Who asks for the replays (recorded as their requester; four-eyes: they cannot approve them).")
@click.option("--concurrency", default=4, show_default=True, type=click.IntRange(1, 256))
@click.option("--shard", help="i/n: inline batches only: replay this machine's share, e.g. 0/2 (see --queue).")
@click.option("--queue", "on_queue", is_flag=True, help="Batch: defer one job per run to `vetoflow worker`s.")
@click.option(
    "--again",
    is_flag=True,
    help="With --queue: a fresh batch replaying every run again (e.g. after a prompt, knowledge or model change); "
    "without it the same command resumes the newest batch.",
)
@click.option(
    "--out",
    "out_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("replay-report.json"),
    show_default=True,
    help="Batch report (.json or .csv); a second invocation resumes it.",
)
@json_option
@click.pass_context
def replay(
    ctx: click.Context,
    run_id: str | None,
    batch_id: str | None,
    checkpoint_id: str | None,
    from_node: str | None,
    assignments: tuple[str, ...],
    all_runs: bool,
    statuses: tuple[str, ...],
    since: datetime | None,
    ids_file: Path | None,
    llm_model: str | None,
    requester: str,
    concurrency: int,
    shard: str | None,
    on_queue: bool,
    again: bool,
    out_file: Path,
    json_mode: bool,
) -> None:
    """Re-run saved runs from a checkpoint as forks; the originals stay untouched.

    \b
    One run:  vetoflow replay RUN_ID --set investment=800000
    A batch:  vetoflow replay --all --from synthesizer --llm-model ID --concurrency 16 --out report.json
    On workers: vetoflow replay --all --from synthesizer --queue   (then: vetoflow replay status BATCH_ID)
    Once more:  vetoflow replay --all --from synthesizer --queue --again   (a fresh batch of every run)
    A replay that reaches the veto stays paused ("needs approval"); approve it like any run.
    """
    if run_id == "status":
        if not batch_id:
            raise click.UsageError("vetoflow replay status BATCH_ID")
        given = ctx.get_parameter_source("out_file") is not click.core.ParameterSource.DEFAULT
        _status(ctx, batch_id, json_mode, out_file if given else None)
        return
    if batch_id:
        raise click.UsageError(f"unexpected argument {batch_id!r}; did you mean `vetoflow replay status {batch_id}`?")
    selectors = sum([all_runs, bool(statuses), since is not None, ids_file is not None])
    if run_id and selectors:
        raise click.UsageError("give either RUN_ID or a batch selector (--all, --status, --since, --ids), not both")
    if checkpoint_id and from_node:
        raise click.UsageError("--checkpoint and --from are alternatives; give one")
    from vetoflow.replay.compare import compare
    from vetoflow.runtime import make_context

    overrides = parse_assignments(assignments)
    user = acting_user(ctx, requester, "start", "--requester")
    context = make_context(ctx.obj, llm_model=llm_model)
    if run_id:
        with service_for(ctx, context) as service:
            replayed = service.replay(
                run_id,
                checkpoint_id=checkpoint_id,
                from_node=from_node,
                overrides=overrides,
                llm_model=llm_model,
                on_step=progress(json_mode),
                requester=user.name,
                via="cli",
            )
        new = replayed.new
        result = compare(replayed.old, new)
        if json_mode:
            click.echo(result.model_dump_json(indent=2))
        else:
            out.print(replay_render.comparison_table(result.old, result.new))
            if result.summary_diff:
                out.print(replay_render.summary_diff(result.summary_diff))
            out.print(f"replay stored as run {new.run.run_id}: vetoflow trace {new.run.run_id}", highlight=False)
            if new.status == "paused":
                out.print(f"it needs approval: vetoflow approve {new.run.run_id} --comment '...'", highlight=False)
        sys.exit(STATUS_EXIT[new.status])
    if not selectors:
        raise click.UsageError("give a RUN_ID, or a batch selector: --all, --status S, --since DATE or --ids FILE")
    if checkpoint_id:
        raise click.UsageError("--checkpoint names one run's checkpoint; a batch takes --from NODE")
    if from_node is None:
        raise click.UsageError("a batch replay needs --from NODE")
    options = BatchOptions(from_node=from_node, llm_model=llm_model, overrides=overrides, requester=user.name)
    if on_queue:
        if shard:
            raise click.UsageError("--shard splits an inline batch by machine; with --queue every worker drains it")
        selection = Selection(
            all_runs=all_runs,
            statuses=sorted(statuses),
            since=aware(since),
            ids=batch.read_ids(ids_file) if ids_file else None,
        )
        _enqueue(ctx, options, selection, json_mode, again=again)
        return
    if again:
        raise click.UsageError("--again starts a fresh --queue batch; an inline batch starts over with a new --out")
    if ctx.obj.executor == "queue":  # its replays would be queued one by one and reported final while queued
        raise click.UsageError(
            "VETOFLOW_EXECUTOR=queue: a batch replay runs on the workers; add --queue (then: vetoflow replay "
            "status BATCH_ID), or set VETOFLOW_EXECUTOR=inline to replay the batch in this process"
        )
    _batch(
        ctx,
        options,
        llm_model=llm_model,
        concurrency=concurrency,
        shard=shard,
        out_file=out_file,
        json_mode=json_mode,
        statuses=statuses,
        since=since,
        ids_file=ids_file,
    )


def _batch(
    ctx: click.Context,
    options: BatchOptions,
    *,
    llm_model: str | None,
    concurrency: int,
    shard: str | None,
    out_file: Path,
    json_mode: bool,
    statuses: tuple[str, ...],
    since: datetime | None,
    ids_file: Path | None,
) -> None:
    report = load_report(out_file, options)
    shard_spec = batch.parse_shard(shard) if shard else None
    from vetoflow.runtime import make_context

    with service_for(ctx, make_context(ctx.obj, llm_model=llm_model)) as service:
        ids = batch.read_ids(ids_file) if ids_file else None
        run_ids = service.select_for_replay(statuses=statuses, since=aware(since), ids=ids)
        if shard_spec:
            run_ids = [r for r in run_ids if batch.shard_of(r, shard_spec[1]) == shard_spec[0]]
        todo = len(run_ids) - len(report.done_ids() & set(run_ids))
        columns = (
            TextColumn("replaying"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=err, disable=json_mode) as bar:
            task = bar.add_task("replay", total=todo)

            def on_row(row: ReportRow) -> None:
                save_report(report, out_file)
                bar.advance(task)
                if row.status == "failed":
                    bar.console.print(Text.assemble(("failed ", "red"), clean(f"{row.source_run_id}: {row.error}")))

            summary = batch.run_batch(service, run_ids, report, concurrency=concurrency, on_row=on_row)
    save_report(report, out_file)
    if json_mode:
        click.echo(json.dumps({"summary": summary.model_dump(mode="json"), "report": str(out_file)}, indent=2))
    else:
        out.print(batch_table(summary, shard))
        out.print(f"report: {out_file} (run the same command again to resume)", highlight=False)
    sys.exit(4 if summary.by_status.get("failed") else 0)


def _enqueue(ctx: click.Context, options: BatchOptions, selection: Selection, json_mode: bool, *, again: bool) -> None:
    from vetoflow.db.job_queue import open_queue
    from vetoflow.replay.queued import enqueue_batch

    settings = ctx.obj
    settings.check_queue("`replay --queue`")  # the user asked for the queue here, whatever VETOFLOW_EXECUTOR says
    with service_for(ctx) as service, open_queue(settings, service) as queue:
        ids = service.select_for_replay(statuses=selection.statuses, since=selection.since, ids=selection.ids)
        enqueued = enqueue_batch(service, queue.submit_replays, options, selection, ids, again=again)
    if json_mode:
        click.echo(enqueued.model_dump_json(indent=2))
        return
    out.print(
        f"batch {enqueued.batch_id}: {enqueued.selected} run(s), {enqueued.already_done} done before, "
        f"{enqueued.deferred} job(s) deferred to the workers",
        highlight=False,
    )
    if enqueued.previous_batch_id:
        out.print(f"a fresh batch: {enqueued.previous_batch_id} stays as it was", highlight=False)
    out.print(f"progress and report: vetoflow replay status {enqueued.batch_id}", highlight=False)


def _status(ctx: click.Context, batch_id: str, json_mode: bool, out_file: Path | None) -> None:
    from vetoflow.replay.queued import as_json, batch_report

    with service_for(ctx) as service:
        status, report = batch_report(service, batch_id)
    if out_file is not None:
        save_report(report, out_file)
    if json_mode:
        click.echo(json.dumps(as_json(status), indent=2))
    else:
        out.print(batch_table(status.summary, None, title=f"Batch {batch_id}", pending=status.pending))
        out.print("finished" if status.finished else f"pending: {status.pending}", highlight=False)
    sys.exit(4 if status.summary.by_status.get("failed") else 0)


def batch_table(
    summary: batch.BatchSummary, shard: str | None, title: str = "Batch replay", *, pending: int | None = None
) -> Table:
    """An inline batch's summary (`pending` None), or a queued batch's as it stands (`replay status`)."""
    title = f"{title}{f' (shard {shard})' if shard else ''}: {summary.selected} run(s)"
    table = Table(title=title, title_justify="left")
    table.add_column("")
    table.add_column("runs", justify="right")
    if pending is None:
        table.add_row("replayed now", str(summary.replayed))
        table.add_row("done before (resumed)", str(summary.already_done))
    else:
        table.add_row("replayed", str(summary.replayed))
        table.add_row("pending", str(pending))
    for status, count in sorted(summary.by_status.items()):
        table.add_row(f"  {status}", str(count), style="red" if status == "failed" else None)
    table.add_row("decision changed", str(summary.decision_changed))
    table.add_row("summary changed", str(summary.summary_changed))
    table.add_row("with grounding flags", str(summary.flagged))
    table.add_row("tokens", f"{summary.tokens:,}")
    wall = "wall time" if pending is None else "wall time (first start to last finish)"
    table.add_row(wall, render.seconds(summary.wall_s))
    return table
