"""The run view's decision handlers (Approve, its confirmation, Reject, Revise) as plain methods, tested in-process.

Kept apart from run_view.py (the layout, opening and watching a run) so each stays short. Every handler acts
on the run shown (`acting_on`) with the digest of its figures as shown, and answers with the whole run view
(`Screen.shown`) or with the message alone (`Screen.keep`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr

from vetoflow.console.common import PROGRESS, ConsoleDeps, ok, problem
from vetoflow.console.decisions import (
    OVERRULE_NEEDS_REASON,
    OVERRULE_NOT_ASKED,
    overrule_question,
    overrules_veto,
    revise_overrides,
)
from vetoflow.console.refusals import FIGURES_CHANGED, operator_words
from vetoflow.console.run_controls import acting_on
from vetoflow.errors import VetoflowError
from vetoflow.graph.names import NODE_NAMES

NODE_LABELS = {name: name.capitalize() for name in NODE_NAMES}


@dataclass
class Screen:
    """The run view's outputs (the message first) and how to fill them for a run (`shown`)."""

    deps: ConsoleDeps
    outputs: list[Any]
    shown: Callable[..., tuple[Any, ...]]  # (view, request, *, clear_comment=True, ...) -> everything after the message
    details: Any  # the "Details for developers" text: where a refusal's exact words go

    def refused(self, exc: VetoflowError, answer: tuple[Any, ...]) -> tuple[Any, ...]:
        """`answer` (a whole view's) with the refusal in operator words on top and, when those differ from the
        refusal as raised (a digest, a CLI command), the raw text behind "Details for developers"."""
        words, raw = operator_words(exc)
        return self.replace((problem(words), *answer[1:]), {self.details: raw} if raw else {})

    def keep(self, message: Any, changed: dict[Any, Any] | None = None) -> tuple[Any, ...]:
        """`message`, and every other output left as it is but the components in `changed` (their new values)."""
        return self.replace((message, *(gr.skip() for _ in self.outputs[1:])), changed or {})

    def replace(self, answer: tuple[Any, ...], changed: dict[Any, Any]) -> tuple[Any, ...]:
        """`answer` (a value per output) with the components in `changed` given their new values instead."""
        values = list(answer)
        for component, value in changed.items():
            values[self.outputs.index(component)] = value
        return tuple(values)


class DecisionHandlers:
    """Approve (asks first when it overrules a veto), the confirmation's Yes, Reject and Revise."""

    def __init__(self, screen: Screen, confirm: tuple[Any, Any, Any]) -> None:
        """`confirm`: the confirmation's box, its text and the state naming the run it asked about."""
        self.screen, self.deps, self.confirm = screen, screen.deps, confirm

    def decide(
        self, run: str, action: str, request: gr.Request | None, progress: gr.Progress, **kw: Any
    ) -> tuple[Any, ...]:
        """`run` is the run displayed (`acting_on`), `kw` carries the digest of its figures as displayed."""
        deps, shown = self.deps, self.screen.shown
        reviewer = deps.reviewer(request)

        def on_step(node: str, _update: dict[str, Any]) -> None:
            progress(None, desc=f"{NODE_LABELS.get(node, node)} done")

        try:
            user = deps.require(request, "revise" if action == "revise" else "decide")
            view = deps.service.decide(run, action, reviewer=reviewer, on_step=on_step, user=user, via="console", **kw)
        except VetoflowError as exc:  # includes DecisionConflictError: says who decided, and when
            try:
                current = deps.service.view(run) if run else None
            except VetoflowError:
                current = None
            return self.screen.refused(exc, ("", *shown(current, request, clear_comment=False)))
        if view.status == "paused" and action == "approve" and view.approval:
            text = f"approval {view.approval.progress} recorded for {run} by {reviewer}; more approvers needed."
            return (ok(text), *shown(view, request))
        return (ok(f"{action} recorded for {run} by {reviewer}; the run is now {view.status}."), *shown(view, request))

    def ask_approve(
        self,
        typed: str,
        note: str,
        shown_run: dict[str, Any] | None,
        request: gr.Request,
        progress: gr.Progress = PROGRESS,
    ) -> tuple[Any, ...]:
        """Approve button: overruling a veto needs a reason, then a confirmation that repeats the amount (this
        session remembers it asked, server-side, so no call can skip the question). The question describes the
        figures on screen: if the run's figures changed since they were shown, the view reloads instead."""
        try:
            self.deps.require(request, "decide")
            run, digest = acting_on(typed, shown_run)
            view = self.deps.service.view(run)
        except VetoflowError as exc:
            return self.screen.keep(problem(str(exc)))
        if view.pending is None:  # decided meanwhile (or never paused): the service's refusal says by whom and when
            return self.decide(run, "approve", request, progress, comment=(note or "").strip(), digest=digest)
        if digest != view.pending.digest:  # never ask about figures that are not on screen
            return (problem(FIGURES_CHANGED), *self.screen.shown(view, request, clear_comment=False))
        if not overrules_veto(view):
            return self.approve_now(typed, note, shown_run, request, progress)
        if not (note or "").strip():
            return self.screen.keep(problem(OVERRULE_NEEDS_REASON))
        box, text, asked = self.confirm
        return self.screen.keep("", {box: gr.update(visible=True), text: overrule_question(view), asked: run})

    def confirm_approve(
        self,
        typed: str,
        note: str,
        shown_run: dict[str, Any] | None,
        asked_for: str | None,
        request: gr.Request,
        progress: gr.Progress = PROGRESS,
    ) -> tuple[Any, ...]:
        """The confirmation's Yes: approves only the run shown, and only if this session was just asked about it."""
        try:
            run = acting_on(typed, shown_run)[0]
        except VetoflowError as exc:
            return self.screen.keep(problem(str(exc)))
        if asked_for != run:
            return self.screen.keep(problem(OVERRULE_NOT_ASKED))
        return self.approve_now(typed, note, shown_run, request, progress)

    def approve_now(
        self, typed: str, note: str, shown_run: dict[str, Any] | None, request: gr.Request, progress: gr.Progress
    ) -> tuple[Any, ...]:
        try:
            run, digest = acting_on(typed, shown_run)
        except VetoflowError as exc:
            return self.screen.keep(problem(str(exc)))
        try:
            vetoed = overrules_veto(self.deps.service.view(run))
        except VetoflowError:
            vetoed = False  # decide() says what is wrong with the run
        if vetoed and not (note or "").strip():
            return self.screen.keep(problem(OVERRULE_NEEDS_REASON))
        return self.decide(run, "approve", request, progress, comment=(note or "").strip(), digest=digest)

    def reject(
        self,
        typed: str,
        note: str,
        shown_run: dict[str, Any] | None,
        request: gr.Request,
        progress: gr.Progress = PROGRESS,
    ) -> tuple[Any, ...]:
        try:
            run, digest = acting_on(typed, shown_run)
        except VetoflowError as exc:
            return self.screen.keep(problem(str(exc)))
        return self.decide(run, "reject", request, progress, comment=note or "", digest=digest)

    def revise(
        self,
        typed: str,
        note: str,
        new_investment: float | None,
        new_horizon: float | None,
        new_rate: float | None,
        new_segments: list[list[Any]] | None,
        shown_run: dict[str, Any] | None,
        request: gr.Request,
        progress: gr.Progress = PROGRESS,
    ) -> tuple[Any, ...]:
        try:
            run, digest = acting_on(typed, shown_run)
            scenario = self.deps.service.view(run).state.scenario
            top = {"investment": new_investment, "horizon": new_horizon, "discount_rate": new_rate}
            overrides = revise_overrides(scenario, top, new_segments)
        except VetoflowError as exc:
            return self.screen.keep(problem(str(exc)))
        return self.decide(run, "revise", request, progress, comment=note or "", overrides=overrides, digest=digest)

    def as_dict(self) -> dict[str, Callable[..., tuple[Any, ...]]]:
        return {"approve": self.ask_approve, "confirm": self.confirm_approve, "reject": self.reject,
                "revise": self.revise}  # fmt: skip
