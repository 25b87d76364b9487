"""`vetoflow ingest` and `vetoflow sources`: fill and inspect the local knowledge base."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from vetoflow.config import Settings
from vetoflow.errors import VetoflowError
from vetoflow.plaintext import clean, plain
from vetoflow.render import err, out

if TYPE_CHECKING:  # chromadb takes ~0.4 s to import: not on every CLI call, nor before /healthz answers
    from vetoflow.rag.store import KnowledgeStore


def _open(settings: Settings) -> KnowledgeStore:
    from vetoflow.rag.embeddings import configured_embeddings
    from vetoflow.rag.store import open_store

    with err.status("loading the embedding model..."):
        embeddings = configured_embeddings(settings)
    if embeddings.resolved.fallback:
        err.print(f"[bold yellow]Embedding model: FALLBACK {embeddings.name}[/] (bge-small not in the HF cache)")
    return open_store(settings, embeddings)


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "json_mode", is_flag=True, help="Print machine-readable JSON.")
@click.pass_context
def ingest(ctx: click.Context, paths: tuple[Path, ...], json_mode: bool) -> None:
    """Add Markdown, text, PDF and CSV files (or folders of them) to the knowledge base.

    Unchanged files are skipped, changed files replace their chunks; bad files are reported and skipped.
    A file over the chunk budget (VETOFLOW_INGEST_MAX_CHUNKS) is refused before anything is embedded.
    """
    from vetoflow.rag.budget import IngestBudget
    from vetoflow.rag.ingest import expand
    from vetoflow.rag.ingest import ingest as run_ingest

    settings: Settings = ctx.obj
    budget = IngestBudget(settings.ingest_max_chunks)
    refused: dict[str, str] = {}
    files = []
    for path in expand(paths):  # sized up from the bytes, before the model is even loaded
        estimate = budget.estimate(path)
        reason = budget.refusal(path.name, estimate.size, estimate.chunks)
        if reason:
            refused[str(path)] = reason
        else:
            files.append(path)
    if refused and not files:
        for reason in refused.values():
            err.print(Text.assemble(("refused ", "yellow"), clean(reason)))
        raise VetoflowError("no file could be ingested: over the chunk budget")
    store = _open(settings)
    with Progress(
        TextColumn("embedding chunks"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=json_mode,
        transient=False,
    ) as bar:
        task = bar.add_task("embed", total=None)

        def on_progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        report = run_ingest(store, files, max_bytes=settings.max_ingest_bytes, on_progress=on_progress, budget=budget)
        if not report.chunks_added:
            bar.update(task, completed=0, total=0)
    summary = {
        "collection": store.name,
        "embedding_model": store.embeddings.name,
        "added": report.added,
        "unchanged": report.unchanged,
        "removed_stale": report.removed_stale,
        "skipped": report.skipped,
        "refused": refused,
        "chunks_in_store": store.count(),
    }
    if json_mode:
        click.echo(json.dumps(summary, indent=2))
    else:
        changed = sum(1 for n in report.added.values() if n) + len(report.removed_stale)
        out.print(
            f"{report.chunks_added} chunk(s) added from {changed} new or changed file(s); "
            f"{len(report.unchanged)} unchanged; {store.count()} chunk(s) in {store.name} ({store.embeddings.name})"
        )
        for name, reason in report.skipped.items():
            err.print(Text.assemble(("skipped ", "yellow"), clean(f"{name}: {reason}")))
        for reason in refused.values():
            err.print(Text.assemble(("refused ", "yellow"), clean(reason)))
    if (report.skipped or refused) and not (report.added or report.unchanged):
        raise VetoflowError("no file could be ingested")


@click.command()
@click.option("--remove", "remove", metavar="SOURCE", help="Remove a source (full path or file name).")
@click.option("--json", "json_mode", is_flag=True, help="Print machine-readable JSON.")
@click.pass_context
def sources(ctx: click.Context, remove: str | None, json_mode: bool) -> None:
    """List the documents in the knowledge base, or remove one."""
    from vetoflow.rag.ingest import list_sources, remove_source

    store = _open(ctx.obj)
    if remove:
        source, count = remove_source(store, remove)
        out.print(plain(f"removed {source} ({count} chunk(s))"))
        return
    rows = list_sources(store)
    if json_mode:
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table(title=f"{len(rows)} source(s) in {store.name} ({store.embeddings.name})", title_justify="left")
    table.add_column("file")
    table.add_column("title", ratio=1)
    table.add_column("chunks", justify="right")
    table.add_column("path", overflow="fold")
    for row in rows:
        table.add_row(*(plain(v) for v in (Path(str(row["source"])).name, row["title"], row["chunks"], row["source"])))
    out.print(table)
