"""Inbox: the paused runs waiting for a human, for triage: amounts that sort as numbers and carry their
currency, how long each waited and when it is due, who asked, how many approvals it has, totals per currency,
and filters (all / assigned to me / overdue). A click (or j/k and o) opens one.

The table's cells hold raw numbers (so sorting is numeric) and a display text per cell (Gradio's
`metadata.display_value`), which is what people read.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import gradio as gr

from vetoflow.console.common import RUNS_PAGE, ConsoleDeps, display_table, flag_words
from vetoflow.formatting import amount, pct
from vetoflow.identity.roles import User
from vetoflow.plaintext import clean
from vetoflow.runs.inbox import InboxItem

InboxFilter = Literal["all", "assigned to me", "overdue"]
FILTERS: tuple[InboxFilter, ...] = ("all", "assigned to me", "overdue")
INBOX_COLUMNS = ["run id", "name", "amount", "waiting", "due", "approvals", "tier", "requester", "P(loss)"]
INBOX_COLUMNS += ["why vetoed"]
INBOX_TYPES = ["str", "str", "number", "number", "number", "str", "str", "str", "number", "str"]
SHORTCUTS_HELP = (
    "Keys: **j** / **k** move down / up the inbox, **o** or **Enter** opens the marked run, **?** shows this."
)


@dataclass
class InboxPanel:
    table: gr.Dataframe
    count: gr.Markdown
    show: gr.Radio
    load: Any  # (show, request) -> (table value, count text)


def duration(seconds: float) -> str:
    """A rough age for people: '12 min', '3 h', '2 d'."""
    seconds = abs(seconds)
    if seconds < 3600:
        return f"{max(1, round(seconds / 60))} min"
    if seconds < 2 * 86400:
        return f"{round(seconds / 3600)} h"
    return f"{round(seconds / 86400)} d"


def assigned_to(item: InboxItem, user: User) -> bool:
    """Whether `user` could approve this run now, by the gate's own rule (`InboxItem.rule`): a role of its
    tier, not already approved, none of the figures' authors under four-eyes, and a place left for each role
    the tier still asks for (a second plain approver of a run that still needs its finance lead is not
    assigned it)."""
    rule = item.rule
    return user.may("decide") and (rule is None or rule.refusal(user.name, user.roles) is None)


def overdue(item: InboxItem, now: datetime) -> bool:
    return item.due_at is not None and item.due_at < now


def pick(items: list[InboxItem], show: str, user: User, now: datetime) -> list[InboxItem]:
    if show == "assigned to me":
        return [i for i in items if assigned_to(i, user)]
    if show == "overdue":
        return [i for i in items if overdue(i, now)]
    return items


def why_waiting(item: InboxItem) -> str:
    """The run's first reason to wait, then each plausibility flag it does not already state in a few words
    ("...below the veto threshold of 0.0%.; ⚠️ revenue under 1% of the investment"): a flagged input shows in
    the inbox even when a veto is the reason given first."""
    reason = item.run.veto_reason or ""
    unstated = [flag for flag in item.run.plausibility if flag.message.rstrip(".") not in reason]
    return clean("; ".join(part for part in (reason, flag_words(unstated)) if part))


def cells(item: InboxItem, now: datetime) -> tuple[list[Any], list[str]]:
    """One row: the raw values (numbers sort as numbers) and what each cell shows."""
    run, currency = item.run, item.currency
    waited = (now - item.waiting_since).total_seconds()
    due_in = (item.due_at - now).total_seconds() if item.due_at else None
    if due_in is None:
        due_text = "-"
    elif due_in < 0:
        due_text = f"⚠️ overdue {duration(due_in)}"
    else:
        due_text = f"in {duration(due_in)}"
    raw: list[Any] = [
        run.run_id,
        clean(run.name),
        run.investment,
        round(waited / 3600, 3),
        None if due_in is None else round(due_in / 3600, 3),
        item.progress or "-",
        item.tier or "-",
        clean(item.requester or "-"),
        run.loss_probability,
        why_waiting(item),
    ]
    shown = [str(v) if v is not None else "-" for v in raw]
    shown[2], shown[3], shown[4], shown[8] = (
        amount(run.investment, currency),
        duration(waited),
        due_text,
        pct(run.loss_probability),
    )
    return raw, shown


def totals(items: list[InboxItem]) -> str:
    """'2 runs · 6,600,000 EUR; 1 run · 950,000 USD': never adds different currencies together."""
    sums: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    for item in items:
        sums[item.currency] += item.run.investment or 0.0
        counts[item.currency] += 1
    return "; ".join(f"{counts[c]} run{'s' if counts[c] != 1 else ''} · {amount(sums[c], c)}" for c in sorted(sums))


def inbox_table(
    items: list[InboxItem], show: str, user: User, now: datetime | None = None
) -> tuple[dict[str, Any], str]:
    """The Dataframe value (raw data plus display text) and the line above it."""
    now = now or datetime.now(UTC)
    chosen = pick(items, show, user, now)
    rows = [cells(item, now) for item in chosen]
    value = display_table(INBOX_COLUMNS, [raw for raw, _ in rows], [shown for _, shown in rows])
    if not items:
        return value, "Nothing waits for a decision. New runs that the Accountant vetoes appear here."
    late = sum(overdue(i, now) for i in items)
    noun = "run waits" if len(items) == 1 else "runs wait"
    head = f"**{len(items)} {noun} for a decision** ({totals(items)})"
    if late:
        head += f" · ⚠️ {late} overdue"
    if show != "all":
        head += f" · showing {len(chosen)} {show}: {totals(chosen) or 'none'}"
    return value, head + ". Click a row (or press **o**) to open it."


def inbox_rows(deps: ConsoleDeps, show: str = "all", request: gr.Request | None = None) -> tuple[dict[str, Any], str]:
    return inbox_table(deps.service.inbox(limit=RUNS_PAGE), show, deps.user(request))


def selected_run_id(evt: gr.SelectData) -> str:
    """The run id of the clicked row (first column), whichever cell was clicked."""
    row = evt.row_value or []
    return str(row[0]) if row else ""


def render_inbox(deps: ConsoleDeps) -> InboxPanel:
    with gr.Row(elem_id="inbox-bar"):
        show = gr.Radio(list(FILTERS), value="all", label="Show", elem_id="inbox-filter", scale=3)
        refresh = gr.Button("Refresh", size="sm", elem_id="inbox-refresh", scale=1)
    count = gr.Markdown(elem_id="inbox-count")
    table = gr.Dataframe(
        headers=INBOX_COLUMNS,
        datatype=INBOX_TYPES,  # type: ignore[arg-type]
        type="array",
        interactive=False,
        wrap=True,
        label="Paused runs",
        elem_id="inbox-table",
        max_height=720,
    )
    with gr.Accordion("Keyboard shortcuts", open=False, elem_id="inbox-keys"):
        gr.Markdown(SHORTCUTS_HELP)

    def load(choice: str, request: gr.Request) -> tuple[dict[str, Any], str]:
        return inbox_rows(deps, choice or "all", request)

    refresh.click(load, inputs=[show], outputs=[table, count], api_name="inbox")
    show.change(load, inputs=[show], outputs=[table, count], api_visibility="private")
    return InboxPanel(table=table, count=count, show=show, load=load)
