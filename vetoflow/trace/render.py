"""Rich renderings of a run's trace for the terminal."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from vetoflow.plaintext import clean, plain
from vetoflow.render import status_text
from vetoflow.trace.extras import LlmInfo
from vetoflow.trace.timeline import Trace, TraceStep

MAX_CHANGES = 8


def seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 120:
        return f"{value:.2f} s"
    minutes, secs = divmod(int(value), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s"


def llm_lines(info: LlmInfo) -> list[str]:
    lines = [f"model {info.model or '?'}" + (" (offline)" if info.offline else "")]
    if info.total_tokens is not None:
        lines.append(f"tokens {info.input_tokens or 0} in / {info.output_tokens or 0} out = {info.total_tokens}")
    if info.latency_ms is not None:
        lines.append(f"LLM latency {info.latency_ms:.0f} ms")
    if info.cost is not None:
        lines.append(f"cost {info.cost:.4f}")
    lines.extend(f"source: {s}" for s in info.sources)
    lines.extend(f"grounding flag: {f}" for f in info.grounding_flags)
    return [clean(line) for line in lines]


def step_details(step: TraceStep) -> Text:
    text = Text()
    if step.pause:
        p = step.pause
        text.append("interrupt: waiting for a human", style="bold yellow")
        if p.payload.get("error"):
            text.append(f" (refused answer: {clean(p.payload['error'])})", style="red")
        text.append("\n")
        if p.reviewer:
            comment = f' "{p.comment}"' if p.comment else ""
            when = f"{p.decided_at:%Y-%m-%d %H:%M:%S}" if p.decided_at else "?"
            text.append(clean(f"resumed: {p.action} by {p.reviewer} at {when}{comment}"), style="bold")
            text.append(f" after {seconds(p.waited_s)}\n")
    if step.error:
        text.append(f"error: {clean(step.error, multiline=True)}\n", style="bold red")
    if step.llm:
        text.append("\n".join(llm_lines(step.llm)) + "\n", style="cyan")
    if not step.changes and step.finished_at is not None:
        text.append("(state unchanged)", style="dim")
    shown = step.changes[:MAX_CHANGES]
    text.append("\n".join(clean(c.describe()) for c in shown))
    if len(step.changes) > MAX_CHANGES:
        text.append(f"\n... {len(step.changes) - MAX_CHANGES} more (see --json)", style="dim")
    return text


def trace_view(trace: Trace) -> RenderableType:
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    head.add_row("run", plain(f"{trace.name} [{trace.run_id}]"))
    head.add_row("status", status_text(trace.status))
    head.add_row("path", plain(" -> ".join(trace.path) or "-"))
    if trace.next_nodes:
        head.add_row("next", plain(", ".join(trace.next_nodes)))
    head.add_row("time", f"{seconds(trace.total_s)} over {trace.checkpoints} checkpoints")
    if f := trace.forked_from:
        changed = ", ".join(f"{k}={v}" for k, v in f.overrides.items()) or "nothing changed"
        model = f", model {f.llm_model}" if f.llm_model else ""
        head.add_row(
            "replay of",
            plain(f"{f.source_run_id} from {f.from_node} (checkpoint {f.source_checkpoint_id}; {changed}{model})"),
        )
    for r in trace.replays:
        head.add_row("replayed as", plain(f"{r.replay_run_id} from {r.from_node} at {r.created_at:%Y-%m-%d %H:%M}"))
    table = Table(title="Timeline (UTC)", title_justify="left", show_lines=True)
    table.add_column("#", justify="right")
    table.add_column("node", no_wrap=True)
    table.add_column("start", no_wrap=True)
    table.add_column("took", justify="right", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("checkpoint", no_wrap=True, overflow="fold", max_width=14)
    table.add_column("what changed", ratio=1)
    for step in trace.steps:
        table.add_row(
            str(step.index),
            plain(step.node),
            f"{step.started_at:%H:%M:%S.%f}"[:-3],
            seconds(step.duration_s),
            status_text(
                "paused" if step.status == "paused" else ("failed" if "failed" in step.status else step.status)
            ),
            plain(step.checkpoint_id[-12:]),
            step_details(step),
        )
    return Group(head, table)
