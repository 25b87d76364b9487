"""The run view's decision controls and its watch on the open run, as plain functions (tested without a browser).

- Decisions, revises and comments act on the run shown, never on what is typed in the Run id box: the
  view holds the shown run's id and the digest of the figures shown (`shown_record`), set only when a run
  is opened or reloaded; `acting_on` refuses when the box names another run, and the digest sent makes the
  service refuse a decision on figures that changed since.
- The comment boxes belong to the run shown: every open empties both, every decision the decision's.
- A button the operator may not use is disabled, with the reason beside it.
- The change poll compares a cheap per-run marker; when a colleague decided (or approved) while the
  operator was looking, the view reloads and says so, and keeps saying who did it while the run they set
  going runs and settles; a comment being typed on a run still open (queued, running or paused) is kept.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from vetoflow.console.decisions import blocked_actions, overrules_veto
from vetoflow.errors import VetoflowError
from vetoflow.identity.roles import User
from vetoflow.plaintext import md
from vetoflow.runs.queueing import UNSETTLED
from vetoflow.runs.views import RunView

ACTION_WORDS = {"approve": "approved", "reject": "rejected", "revise": "revised"}
OPEN = UNSETTLED | {"paused"}
"""A run still open for a decision: paused, or queued or running (a revise re-running it): a comment stays."""
BUTTONS = ("approve", "reject", "revise")


def shown_record(view: RunView | None) -> dict[str, Any] | None:
    """What the view remembers about the run it displays: its id and the digest of the figures displayed
    (None when it waits for nothing). Decisions read it back instead of the Run id box."""
    if view is None:
        return None
    return {"run": view.run.run_id, "digest": view.pending.digest if view.pending else None}


def acting_on(typed: str | None, shown: dict[str, Any] | None) -> tuple[str, str | None]:
    """The run a decision, revise or comment acts on (the one displayed) and the digest of its figures as
    displayed. Refused when no run is displayed, or when the Run id box names another run than the one
    displayed (typed but not opened): nothing is recorded, on either run."""
    if not shown or not shown.get("run"):
        raise VetoflowError("No run is open: open one (from the Inbox, Runs, or by its id); nothing was recorded.")
    run, box = str(shown["run"]), (typed or "").strip()
    if box != run:
        said = f"names {md(box[:64])}" if box else "is empty"
        raise VetoflowError(
            f"The Run id box {said} but the run shown is {md(run)}: nothing was recorded. "
            "Press Open to show the run you mean (or put back the id of the one shown)."
        )
    digest = shown.get("digest")
    return run, str(digest) if digest else None


def controls(
    view: RunView | None, user: User, *, clear_comment: bool = True, clear_thread_text: bool = False
) -> tuple[Any, ...]:
    """comment, approve, reject, revise buttons, the note saying why some are off, the (hidden) confirm box,
    its text and the pending confirmation (none: whatever was asked before is void once the view changes),
    the "add a comment" box (emptied when a run is opened, kept while it is reloaded), the decision's header
    and the note saying an unsent comment was moved (cleared when a run is opened)."""
    blocked = blocked_actions(view, user) if view is not None else dict.fromkeys(BUTTONS, "no run is open")
    buttons = tuple(gr.update(interactive=blocked[name] is None) for name in BUTTONS)
    notes = [f"- **{name.capitalize()}** is off: {md(why)}" for name, why in blocked.items() if why]
    paused = view is not None and view.status == "paused"
    note = "\n\n".join(filter(None, [approval_line(view), "\n".join(notes)])) if paused else ""
    comment = gr.update(value="") if clear_comment else gr.skip()
    thread_text = gr.update(value="") if clear_thread_text else gr.skip()
    moved_note = "" if clear_thread_text else gr.skip()  # "your comment was moved" stays until another run opens
    header = decision_header(view)
    return (comment, *buttons, note, gr.update(visible=False), "", None, thread_text, header, moved_note)


def decision_header(view: RunView | None) -> str:
    """Above the buttons: what Approve means for this run. It overrules a veto only when the Accountant vetoed
    the figures shown; a plan revised after a veto, or held for a flag, is approved without overruling anything."""
    if view is None or view.status != "paused":
        return "### Your decision"
    if overrules_veto(view):
        return (
            "### Your decision\nThe Accountant **vetoed** these figures: Approve overrules the veto (with a reason), "
            "Reject upholds it, Revise re-runs the numbers."
        )
    return (
        "### Your decision\nThe Accountant did not veto these figures: Approve lets the plan go ahead, "
        "Reject ends the run, Revise re-runs the numbers."
    )


def approval_line(view: RunView | None) -> str:
    """The rule this pause is under, as the gate recorded it: tier, who may approve, how many, who did, due."""
    approval = view.approval if view is not None else None
    if approval is None:
        return ""
    roles = " or ".join(approval.approvers.roles) or "-"
    done = ", ".join(approval.approved_by) or "nobody yet"
    text = (
        f"**Tier {md(approval.tier)}**: {approval.approvers.count} distinct approver(s) with the role "
        f"{md(roles)} · approved so far: {md(done)} ({approval.progress})"
    )
    for aside in approval.set_aside:
        text += f" · {md(aside.reviewer)}'s approval no longer counts ({md(aside.reason)})"
    if approval.due_at:
        text += f" · due {md(approval.due_at.replace('T', ' ').replace('+00:00', ' UTC'))}"
    if approval.requester:
        text += f" · requested by {md(approval.requester)}"
        if not approval.requester_may_approve:
            text += " (who may not approve it)"
    return text


def watch_record(view: RunView | None, marker: str | None, named: str = "") -> dict[str, Any] | None:
    """What the poll remembers about the run on screen, to tell afterwards what changed and who did it (`named`:
    the colleague's action last announced, while the run it set going has not settled)."""
    if view is None:
        return None
    return {
        "run": view.run.run_id,
        "marker": marker,
        "status": view.status,
        "decisions": len(view.decisions),
        "approved_by": list(view.approval.approved_by) if view.approval else [],
        "digest": view.pending.digest if view.pending else None,
        "comments": len(view.comments),
        "named": named,
    }


def only_comments_changed(before: dict[str, Any], view: RunView) -> bool:
    """The run's marker moved only because its thread grew (a colleague's note): the figures, decisions and
    approvals shown are still current, so only the thread needs redrawing (what the operator is typing, the
    revise form and an open confirmation stay as they are)."""
    now = watch_record(view, None) or {}
    same = ("status", "decisions", "approved_by", "digest")
    return view.status not in UNSETTLED and all(now[key] == before.get(key) for key in same)


def colleague_named(before: dict[str, Any], view: RunView, me: str) -> str:
    """Who else did what since `before`: "🔔 **bo revised this run** while you were looking (12:03 UTC)"; empty
    when nobody else decided or approved (my own decision, or the run only moved on by itself)."""
    fresh = view.decisions[before.get("decisions", 0) :]
    others = [d for d in fresh if d.reviewer != me]
    if others:
        last = others[-1]
        did = ACTION_WORDS.get(last.action, last.action)
        return f"🔔 **{md(last.reviewer)} {did} this run** while you were looking ({last.decided_at:%H:%M} UTC)"
    if fresh:
        return ""  # my own decision, caught by the poll while it ran
    approved_now = list(view.approval.approved_by) if view.approval else []
    new = [name for name in approved_now if name not in before.get("approved_by", []) and name != me]
    if new:
        progress = view.approval.progress if view.approval else ""
        return f"🔔 **{md(', '.join(new))} approved this run** while you were looking ({progress} approvals)"
    return ""


def colleague_notice(before: dict[str, Any], view: RunView, me: str) -> str:
    """'bo approved this run while you were looking': only for what somebody else did. A change of status alone
    (the colleague's revise settling into a pause) restates who set it going, never replaces it with a bare
    status, so the operator still reads who did what."""
    fresh = view.decisions[before.get("decisions", 0) :]
    if fresh and all(d.reviewer == me for d in fresh):
        return ""
    if named := colleague_named(before, view, me):
        if fresh:
            return f"{named}; it is now **{view.status}**. The view below is up to date."
        return f"{named}."
    if view.status != before.get("status") and not {view.status, before.get("status")} <= UNSETTLED:
        if before.get("named"):
            return f"{before['named']}; it is now **{view.status}**. The view below is up to date."
        return f"🔔 This run changed while you were looking: it is now **{view.status}**."
    return ""


def still_named(before: dict[str, Any], view: RunView, me: str) -> str:
    """The colleague's action to remember for the next poll: a new one, or the last one while the run it set
    going (a revise, an approval resuming it) has not settled."""
    return colleague_named(before, view, me) or (str(before.get("named") or "") if view.status in UNSETTLED else "")


def moved_draft(view: RunView, typed: str | None, draft: str | None) -> tuple[str, str] | None:
    """A colleague's decision closed the run while a comment was being typed in the decision box (which the
    view now hides): the text goes to the "Add a comment" box, after any note already there, so nothing typed is
    lost. Returns (the note shown where the decision box was, the comment box's new text); None when nothing
    was typed or the run is still open."""
    text = (typed or "").strip()
    if not text or view.status in OPEN:
        return None
    last = view.decisions[-1] if view.decisions else None
    first = (
        f"{md(last.reviewer)} {ACTION_WORDS.get(last.action, last.action)} this run first"
        if last
        else f"the run is now {view.status}"
    )
    note = (
        f"✋ **Your comment was not sent**: {first}. It is now in **Add a comment** below; press **Add comment** "
        "to keep it in the run's thread."
    )
    kept = (draft or "").rstrip()
    return note, f"{kept}\n\n{text}" if kept else text
