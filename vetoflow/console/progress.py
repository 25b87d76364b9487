"""A run's progress as an operator reads it, rendered from the run's event log.

The log is the one `GET /runs/{id}/events` streams (written wherever the run executes: in the process
that started it, or in a worker), so the New run tab and the Run view show the same thing in inline and
queue mode, for runs started from the console, the CLI or the API. Pure: events in, Markdown out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from vetoflow.plaintext import md
from vetoflow.runs.events import SETTLED, RunEvent

STEP_TEXT = {  # a node done
    "forecaster": "Forecaster: revenue paths simulated, P10/P50/P90 per period",
    "accountant": "Accountant: ROI, NPV, payback computed; veto checked",
    "evidence": "Evidence: knowledge base searched for sources",
    "approval": "Approval: decision applied",
    "synthesizer": "Synthesizer: summary written",
}
STEP_DOING = {  # a node under way
    "forecaster": "Forecaster: simulating revenue paths",
    "accountant": "Accountant: computing ROI, NPV and payback, checking the veto",
    "evidence": "Evidence: searching the knowledge base",
    "approval": "Approval: applying the decision",
    "synthesizer": "Synthesizer: writing the summary",
}
STEPS_PER_PASS = 4  # forecaster, accountant, evidence, then approval or synthesizer
JOB_WORDS = {"decide": "decision recorded; ", "retry": "retry requested; ", "replay": "replay requested; "}
OUTCOME = {
    "paused": "🟡 Paused for approval",
    "completed": "🟢 Completed",
    "rejected": "🟣 Rejected",
    "failed": "🔴 Failed",
}


def seconds(value: float) -> str:
    """`under 0.1 s`, `0.8 s`, `12 s`, `3 min 04 s`, `2 h 05 min`."""
    value = max(value, 0.0)  # another machine's clock may run a little ahead
    if value < 0.1:
        return "under 0.1 s"
    if value < 10:
        return f"{value:.1f} s"
    whole = round(value)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def label(node: str | None) -> str:
    return md(node or "").capitalize()


@dataclass
class _Line:
    """One timeline line: a wait for a worker, a node, or how an earlier pass of the run ended."""

    kind: str  # "wait", "node" or a settled kind
    start: datetime
    end: datetime | None = None
    node: str | None = None
    note: str = ""  # how it ended when not finished (paused there, failed there, handed back)
    event: RunEvent | None = None


@dataclass
class _Pass:
    """From a `queued`/`running` event to the event that settled it (a run passes again after a decision)."""

    start: datetime
    lines: list[_Line] = field(default_factory=list)
    running_since: datetime | None = None
    state: str = "queued"
    end: RunEvent | None = None

    def open_nodes(self) -> list[_Line]:
        return [line for line in self.lines if line.kind == "node" and line.end is None and not line.note]


@dataclass(frozen=True)
class RunProgress:
    """What the console shows: `text` (Markdown), and the figures the progress bar needs."""

    text: str
    state: str  # "" before the first event; then the newest: queued, running, paused, completed, rejected, failed
    done: int  # nodes finished in the current pass
    node: str | None  # the node under way

    @property
    def settled(self) -> bool:
        return self.state in SETTLED

    def bar(self) -> tuple[int, int]:
        total = max(STEPS_PER_PASS, self.done + (1 if self.node else 0))
        return min(self.done, total), total

    def bar_label(self) -> str:
        return label(self.node) if self.node else self.state or "starting"


def _passes(events: Sequence[RunEvent]) -> list[_Pass]:
    passes: list[_Pass] = []
    for event in events:
        if not passes or (passes[-1].end is not None and event.kind in ("queued", "running")):
            passes.append(_Pass(start=event.at))
        _apply(passes[-1], event)
    return passes


def _apply(current: _Pass, event: RunEvent) -> None:
    kind = event.kind
    waiting = [line for line in current.lines if line.kind == "wait" and line.end is None]
    if kind == "queued":
        for line in current.open_nodes():  # a worker handed the run back mid-node: it runs again from there
            line.note = "handed back to the queue"
        current.lines.append(_Line("wait", event.at, event=event))
        current.state = "queued"
    elif kind in ("running", "node_started"):
        for line in waiting:
            line.end = event.at
        current.running_since = current.running_since or event.at
        current.state = "running"
        if kind == "node_started":
            current.lines.append(_Line("node", event.at, node=event.node))
    elif kind == "node_finished":
        for line in current.open_nodes():
            if line.node == event.node:
                line.end = event.at
    elif kind in SETTLED:
        note = {"paused": "paused here for a human decision", "failed": "failed here"}.get(kind, "stopped here")
        for line in current.open_nodes():
            line.note = note
        current.end = event
        current.state = kind


def _wait_text(line: _Line, now: datetime) -> str:
    data = line.event.data if line.event else {}
    why = f"back in the queue ({md(data['why'])}); " if data.get("why") else JOB_WORDS.get(str(data.get("job")), "")
    if line.end is None:
        return f"⚪ Queued: {why}waiting for a worker · {seconds((now - line.start).total_seconds())} so far"
    return f"⚪ Queued: {why}a worker took it after {seconds((line.end - line.start).total_seconds())}"


def _node_text(line: _Line, now: datetime) -> str:
    node = line.node or ""
    if line.end is not None:
        return f"✓ {STEP_TEXT.get(node, label(node))} · {seconds((line.end - line.start).total_seconds())}"
    if line.note.startswith("paused"):
        return f"✋ {label(node)}: {line.note}"
    if line.note:
        return f"✗ {label(node)}: {line.note}"
    doing = STEP_DOING.get(node, f"{label(node)}: running")
    return f"⏳ {doing}… · {seconds((now - line.start).total_seconds())} so far"


def _outcome_text(run_pass: _Pass) -> str:
    assert run_pass.end is not None
    end = run_pass.end
    took = seconds((end.at - (run_pass.running_since or run_pass.start)).total_seconds())
    text = f"{OUTCOME[end.kind]} after {took}" if end.kind != "completed" else f"{OUTCOME['completed']} in {took}"
    detail = end.data.get("error") or end.data.get("reason")
    return f"**{text}**" + (f": {md(detail)}" if detail else "")


def _now_text(run_pass: _Pass | None, now: datetime) -> str:
    if run_pass is None:
        return "**⏳ Starting…**"
    if run_pass.end is not None:
        return _outcome_text(run_pass)
    if run_pass.state == "queued":
        queued_at = max(line.start for line in run_pass.lines if line.kind == "wait")
        return f"**⚪ Queued: waiting for a worker** · {seconds((now - queued_at).total_seconds())} so far"
    running = [line.node for line in run_pass.open_nodes()]
    took = seconds((now - (run_pass.running_since or run_pass.start)).total_seconds())
    doing = f": {label(running[-1])}" if running else ""
    return f"**🔵 Running{doing}** · {took} so far"


def run_progress(events: Sequence[RunEvent], now: datetime | None = None) -> RunProgress:
    """The current state on top, then the timeline: waits for a worker, one line per node (done with its
    time, or under way), and how each earlier pass ended (a pause before a decision, a failure before a retry)."""
    now = now or datetime.now(UTC)
    passes = _passes(events)
    current = passes[-1] if passes else None
    lines = [_now_text(current, now)]
    for run_pass in passes:
        for line in run_pass.lines:
            lines.append(_wait_text(line, now) if line.kind == "wait" else _node_text(line, now))
        if run_pass.end is not None and run_pass is not current:
            lines.append(_outcome_text(run_pass))
    if current is None:
        return RunProgress("\n\n".join(lines), "", 0, None)
    done = sum(1 for line in current.lines if line.kind == "node" and line.end is not None)
    running = [line.node for line in current.open_nodes()]
    return RunProgress("\n\n".join(lines), current.state, done, running[-1] if running else None)
