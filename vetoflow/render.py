"""Rich renderings of runs for the terminal; `--json` output bypasses this module entirely."""

from __future__ import annotations

import os
from collections.abc import Collection
from typing import TYPE_CHECKING

from rich.console import Console, ConsoleDimensions, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from vetoflow.clock import utcnow
from vetoflow.formatting import ago, money, pct, periods
from vetoflow.plaintext import clean, plain
from vetoflow.risk.words import DELTA_LABELS, delta_value, method_note, risk_rows, tornado_lines

if TYPE_CHECKING:  # annotations only: `vetoflow runs` renders index rows without loading LangGraph
    from vetoflow.pause import PauseRequest
    from vetoflow.runs.index import RunRow
    from vetoflow.runs.views import RunView
    from vetoflow.state import Forecast, Retrieval, Summary

PIPED_WIDTH = 160


class CommandConsole(Console):
    """Sized at each print, not once at import: $COLUMNS, else the terminal, else 160 columns for piped
    output (logs, CI), so tables stay readable instead of rich's 80-column default."""

    @property
    def size(self) -> ConsoleDimensions:
        measured = super().size
        columns = os.environ.get("COLUMNS", "")
        if columns.isdigit() and int(columns) > 0:
            return ConsoleDimensions(int(columns), measured.height)
        return measured if self.is_terminal else ConsoleDimensions(PIPED_WIDTH, measured.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        self._width, self._height = new_size


out = CommandConsole()
err = Console(stderr=True)

STATUS_STYLE = {
    "queued": "blue",
    "running": "cyan",
    "stalled": "bold red",
    "paused": "bold yellow",
    "completed": "green",
    "rejected": "magenta",
    "failed": "bold red",
}


def status_text(status: str) -> Text:
    return Text(status, style=STATUS_STYLE.get(status, ""))


def run_status(row: RunRow) -> Text:
    return Text(status_words(row), style=STATUS_STYLE.get(row.status, ""))


def status_words(row: RunRow) -> str:
    """The row's status; a stalled run says for how long ('stalled 3m'): since its lease lapsed, or since
    its row last changed when it never had one (a queued run flagged by the reconciler)."""
    if row.status != "stalled":
        return row.status
    since = row.lease_expires_at or row.updated_at
    return f"stalled {ago((utcnow() - since).total_seconds())}"


def runs_table(rows: list[RunRow]) -> Table:
    table = Table(title=f"{len(rows)} run(s), newest first", title_justify="left")
    table.add_column("run id", no_wrap=True, min_width=12)
    table.add_column("created (UTC)", no_wrap=True)
    table.add_column("name", ratio=1, min_width=10)
    table.add_column("status", no_wrap=True, min_width=9)
    for header in ("investment", "ROI", "downside"):
        table.add_column(header, justify="right", no_wrap=True)
    table.add_column("decision", no_wrap=True)
    table.add_column("reviewer", overflow="ellipsis")
    for row in rows:
        decision = "-" if row.veto is None else ("veto" if row.veto else "pass")
        if row.last_action:
            decision += f" -> {row.last_action}"
        table.add_row(
            plain(row.run_id),
            row.created_at.strftime("%m-%d %H:%M"),
            plain(row.name),
            run_status(row),
            money(row.investment),
            pct(row.roi),
            pct(row.downside_roi),
            plain(decision),
            plain(row.reviewer or "-"),
        )
    return table


def forecast_table(forecast: Forecast, currency: str) -> Table:
    table = Table(title=plain(f"Total revenue forecast ({currency}, {forecast.paths:,} paths, {forecast.method})"))
    for header in ("period", "P10", "P50", "P90", "profit P50"):
        table.add_column(header, justify="right")
    band, profit = forecast.revenue, forecast.profit
    for t in range(forecast.periods):
        table.add_row(str(t + 1), money(band.p10[t]), money(band.p50[t]), money(band.p90[t]), money(profit.p50[t]))
    return table


def figures_grid(view: RunView) -> Table:
    """Status, investment and the figures the decision rests on, label beside value."""
    state, run = view.state, view.run
    currency = state.scenario.currency
    figures = Table.grid(padding=(0, 2))
    figures.add_column(style="bold")
    figures.add_column()
    figures.add_row("status", run_status(run))
    figures.add_row("investment", plain(f"{money(run.investment)} {currency}"))
    if fin := state.financials:
        figures.add_row("ROI (P50)", pct(fin.roi))
        figures.add_row("downside ROI (P10)", pct(fin.downside_roi))
        figures.add_row("NPV (P50)", plain(f"{money(fin.npv)} {currency}"))
        unit = state.scenario.period_word
        figures.add_row("payback", periods(fin.payback_period, unit, "never (within horizon)"))
        for label, value in risk_rows(fin, currency, unit):
            figures.add_row(label, plain(value))
        figures.add_row("figures", method_note(fin))
    if run.revision:
        figures.add_row("revision", str(run.revision))
    return figures


def run_panel(view: RunView) -> RenderableType:
    state, run = view.state, view.run
    currency = state.scenario.currency
    parts: list[RenderableType] = [figures_grid(view)]
    if state.forecast:
        parts.append(forecast_table(state.forecast, currency))
        parts.extend(plain(line) for line in tornado_lines(state.forecast.sensitivity, currency))
    if decision := state.decision:
        verdict = "[bold yellow]VETO[/]" if decision.veto else "[green]no veto[/]"
        parts.append(Text.from_markup(f"\n[bold]Accountant:[/] {verdict}"))
        parts.extend(plain(f"  - {reason}") for reason in decision.reasons)
    if view.decisions:
        parts.append(Text.from_markup("\n[bold]Decisions[/]"))
        for d in view.decisions:
            comment = f' "{d.comment}"' if d.comment else ""
            parts.append(plain(f"  {d.decided_at:%Y-%m-%d %H:%M} {d.reviewer}: {d.action}{comment}"))
        if (closed := view.approval) and not view.pending and len(closed.approved_by) > 1:
            who = ", ".join(closed.approved_by)
            parts.append(plain(f"  approvals that counted (tier {closed.tier}, {closed.progress}): {who}"))
    if run.error:
        parts.append(Text.assemble(("\nError: ", "bold red"), clean(run.error, multiline=True)))
        parts.append(plain(f"Resume from the last checkpoint with: vetoflow retry {run.run_id}"))
    if note := view.decided_note():
        parts.append(Text.assemble("\n", (clean(note), "bold")))
    if view.pending:
        if refused := view.pending.error:
            parts.append(Text.assemble(("\nLast answer refused: ", "red"), clean(refused)))
        parts.append(Text.assemble(("\nWaiting for a decision. ", "bold yellow"), clean(decision_hint(run.run_id))))
        if approval := view.approval:
            who = clean(", ".join(approval.approved_by) or "nobody yet")
            progress = f"approvals {approval.progress} ({who})"
            parts.append(Text(f"  tier {clean(approval.tier)}: {progress}; due {approval.due_at}"))
            for aside in approval.set_aside:
                parts.append(Text(f"  {clean(aside.reviewer)}'s approval no longer counts: {clean(aside.reason)}"))
        if digest := view.pending.digest:
            parts.append(Text(f"  digest {digest} (pass it with --digest to bind your decision to these figures)"))
        shown = set(state.decision.reasons) if state.decision else set()
        parts.extend(pause_parts(view.pending, currency, shown=shown))
    parts.extend(flags_and_comments(view))
    if summary := state.summary:
        title = plain(f"Summary ({summary.model})")
        parts.append(Panel(plain(summary.text, multiline=True), title=title, title_align="left"))
        parts.extend(summary_details(summary, state.retrieval))
    return Panel(Group(*parts), title=plain(f"{run.name} [{run.run_id}]"), title_align="left")


def flags_and_comments(view: RunView) -> list[RenderableType]:
    """Plausibility flags (once the run no longer waits: the pause shows them as reasons) and the thread."""
    parts: list[RenderableType] = []
    if view.state.plausibility and not view.pending:
        parts.append(Text("\nPlausibility flags", style="bold yellow"))
        parts.extend(plain(f"  - {flag.message}") for flag in view.state.plausibility)
    if view.comments:
        parts.append(Text("\nComments", style="bold"))
        for c in view.comments:
            late = f" (its {c.action} lost the race)" if c.lost_race else ""
            parts.append(plain(f"  {c.created_at:%Y-%m-%d %H:%M} {c.author}{late}: {c.text}", multiline=True))
    return parts


def pause_parts(pending: PauseRequest, currency: str, *, shown: Collection[str] = ()) -> list[RenderableType]:
    """What the approver decides on, besides the figures: why it waits, flags, old against new, the evidence.

    Reasons already printed under the Accountant's verdict (`shown`) are referred to, not printed twice.
    """
    parts: list[RenderableType] = []
    why = pending.why_waiting
    if why:
        fresh = [reason for reason in why if reason not in shown]
        head = "  Why it waits for you:"
        if len(fresh) < len(why):
            head += " the Accountant's reasons above" + ("; and" if fresh else ".")
        parts.append(Text(head, style="bold"))
        parts.extend(plain(f"    - {reason}") for reason in fresh)
    if revised := pending.revised:
        changes = ", ".join(f"{k}={v}" for k, v in revised.overrides.items())
        header = f"\nRevision {revised.revision} by {revised.reviewer}: {changes}"
        parts.append(plain(header, style="bold"))
        table = Table("figure", "before", "after", title_justify="left")
        for name, delta in revised.deltas.items():
            table.add_row(
                DELTA_LABELS.get(name, name),
                plain(delta_value(name, delta.old, currency)),
                plain(delta_value(name, delta.new, currency)),
            )
        parts.append(table)
    if pending.sources:
        parts.append(Text("\nEvidence from the knowledge base", style="bold"))
        for src in pending.sources:
            parts.append(plain(f"  [{src.ref}] {src.title or src.source} ({src.source})", style="bold"))
            parts.append(plain(f"      {src.text}", multiline=True))
    return parts


def summary_details(summary: Summary, retrieval: Retrieval | None) -> list[RenderableType]:
    """What the summary rests on: cited sources, unmatched numbers, tokens and cost."""
    parts: list[RenderableType] = []
    if retrieval and retrieval.sources:
        table = Table(title=plain(f"Sources (embedded with {retrieval.embedding_model})"), title_justify="left")
        for header in ("ref", "document", "title", "score"):
            table.add_column(header, justify="right" if header in ("ref", "score") else "left")
        for src in retrieval.sources:
            where = src.source + (f" p.{src.page}" if src.page else "")
            table.add_row(plain(f"[{src.ref}]"), plain(where), plain(src.title), f"{src.score:.2f}")
        parts.append(table)
    if retrieval and retrieval.warning:
        parts.append(Text.assemble(("Knowledge: ", "bold yellow"), clean(retrieval.warning)))
    if summary.grounding:
        listed = clean(", ".join(summary.grounding))
        parts.append(Text.assemble(("Grounding: ", "bold red"), f"numbers matching no figure of this run: {listed}"))
    elif not summary.offline:
        parts.append(Text.from_markup("[green]Grounding:[/] every number matches the run's figures"))
    usage = summary.usage
    if usage:
        cost = summary.cost_usd
        shown = "unknown (model not in the price table)" if cost is None else f"${cost:.4f}"
        region = f"; region {summary.region}" if summary.region else ""
        parts.append(
            plain(
                f"Tokens: {usage.get('input_tokens', 0):,} in, {usage.get('output_tokens', 0):,} out; "
                f"estimated cost {shown}{region}"
            )
        )
    return parts


def decision_hint(run_id: str) -> str:
    return (
        f"Approve: vetoflow approve {run_id} --comment '...'   "
        f"Reject: vetoflow reject {run_id}   Revise: vetoflow revise {run_id} --set investment=..."
    )
