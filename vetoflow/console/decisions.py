"""Turns the run view's form into a decision (which assumptions changed become the revise overrides), and says
beforehand which decisions the operator may make, and what overruling a veto means in money."""

from __future__ import annotations

import math
from typing import Any

from vetoflow.console.words import SEGMENT_FIELDS, input_label
from vetoflow.errors import VetoflowError
from vetoflow.formatting import money
from vetoflow.identity.roles import User
from vetoflow.inputs import decimal_float
from vetoflow.plaintext import md
from vetoflow.runs.views import RunView
from vetoflow.scenario import SEGMENT_COLUMNS, Scenario

TOP_FIELDS = {"investment": float, "horizon": int, "discount_rate": float}


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool):
        raise VetoflowError(f"{where}: {str(value).lower()} is not a number")
    if isinstance(value, str):
        return decimal_float(value.strip(), where)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise VetoflowError(f"{where}: {value!r} is not a number") from None
    if not math.isfinite(number):
        raise VetoflowError(f"{where}: {value!r} must be a finite number")
    return number


def _changed(old: Any, new: float) -> bool:
    return old is None or not math.isclose(float(old), new, rel_tol=1e-12, abs_tol=1e-12)


def segment_table(scenario: Scenario | None) -> list[list[Any]]:
    segments = scenario.segments if scenario else []
    return [[getattr(seg, column) for column in SEGMENT_COLUMNS] for seg in segments]


def revise_overrides(scenario: Scenario, top: dict[str, Any], segments: list[list[Any]] | None) -> dict[str, Any]:
    """Only what differs from the current scenario, as `field` / `segments.<name>.<field>` overrides."""
    overrides: dict[str, Any] = {}
    for field, kind in TOP_FIELDS.items():
        if top.get(field) is None or top.get(field) == "":
            continue
        value = _number(top[field], input_label(field))
        if kind is int and value != int(value):
            raise VetoflowError(f"{input_label(field)}: must be a whole number of periods, got {value}")
        if _changed(getattr(scenario, field), value):
            overrides[field] = int(value) if kind is int else value
    by_name = {seg.name: seg for seg in scenario.segments}
    for position, row in enumerate(segments or [], start=1):
        if not row or all(cell in (None, "") for cell in row):
            continue
        name = str(row[0]).strip()
        if name not in by_name:
            raise VetoflowError(
                f"segments row {position}: no segment named {name!r}; a revision changes the existing "
                f"segments ({', '.join(by_name)}), it cannot add or rename them"
            )
        for column, cell in zip(SEGMENT_COLUMNS[1:], row[1:], strict=False):
            if cell is None or cell == "":
                continue
            value = _number(cell, f"segments row {position} ({name}), {SEGMENT_FIELDS[column]}")
            if _changed(getattr(by_name[name], column), value):
                overrides[f"segments.{name}.{column}"] = value
    if not overrides:
        raise VetoflowError("revise: change at least one assumption (investment, horizon, discount rate or a segment)")
    return overrides


def _roles(user: User) -> str:
    return ", ".join(sorted(user.roles)) or "no role"


def blocked_actions(view: RunView, user: User) -> dict[str, str | None]:
    """For approve, reject and revise: None when `user` may use it on this run now, else why not, in the
    words an operator reads next to a disabled button. The gate re-checks every decision; this only shows
    beforehand what it would refuse, by the gate's own rule (`RunView.approval_rule`)."""
    if view.status != "paused":
        closed = f"the run is {view.status}"
        return {"approve": closed, "reject": closed, "revise": closed}
    blocked: dict[str, str | None] = {"approve": None, "reject": None, "revise": None}
    if not user.may("revise"):
        blocked["revise"] = f"your role ({_roles(user)}) cannot revise runs"
    if not user.may("decide"):
        why = f"your role ({_roles(user)}) cannot decide"
        return blocked | {"approve": why, "reject": why}
    rule = view.approval_rule
    if rule is not None and (refused := rule.refusal(user.name, user.roles, "reject")) is not None:
        return blocked | {"approve": refused.reason, "reject": refused.reason}
    if rule is not None and (refused := rule.refusal(user.name, user.roles)) is not None:
        blocked["approve"] = refused.reason
    return blocked


def overrules_veto(view: RunView) -> bool:
    """Approving this run overrules the Accountant's veto (and so needs a reason and a confirmation)."""
    decision = view.state.decision
    return view.status == "paused" and decision is not None and decision.veto


def overrule_question(view: RunView) -> str:
    """What the confirmation step asks: repeats the amount and its currency, and the reason for the veto."""
    scenario, decision = view.state.scenario, view.state.decision
    why = md(decision.reasons[0].rstrip(".")) if decision and decision.reasons else "the Accountant vetoed it"
    return (
        f"### Overrule the veto?\nYou are about to approve **{money(scenario.investment)} {md(scenario.currency)}** "
        f"for **{md(view.run.name)}** although {why}.\n\nYour reason is recorded with your name."
    )


OVERRULE_NEEDS_REASON = "Overruling a veto needs a reason: write it in the comment box, then press Approve."
OVERRULE_NOT_ASKED = (
    "Nothing to confirm: press Approve on this run first; overruling a veto is confirmed after its question."
)
