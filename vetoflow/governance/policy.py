"""The approval policy (`VETOFLOW_POLICY`): ordered tiers matched on a run's figures, and notify channels.

Loaded once at start; a malformed file is refused with its line and field. The policy in force is recorded
on each pause (`Policy.model_dump`), so editing the file never changes the rules of a run already waiting.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from vetoflow.errors import VetoflowError
from vetoflow.governance.durations import Duration
from vetoflow.inputs import load_yaml

Event = Literal[
    "run.paused", "run.reminder", "run.escalated", "run.expired", "run.decided", "run.completed", "run.failed"
]
EVENTS: tuple[Event, ...] = get_args(Event)
NAME = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
MAX_POLICY_BYTES = 200_000
FIGURES = ("investment", "roi", "downside_roi", "npv")
MONEY_FIGURES = ("investment", "npv")  # bounds in the policy's currency; ROI figures are fractions


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class When(Strict):
    """All given bounds must hold (`_at_least` is >=, `_below` is <). ROI figures are fractions (0.1 = 10%)."""

    investment_at_least: float | None = Field(default=None, ge=0, le=1e12)
    investment_below: float | None = Field(default=None, ge=0, le=1e12)
    roi_at_least: float | None = Field(default=None, ge=-100, le=100)
    roi_below: float | None = Field(default=None, ge=-100, le=100)
    downside_roi_at_least: float | None = Field(default=None, ge=-100, le=100)
    downside_roi_below: float | None = Field(default=None, ge=-100, le=100)
    npv_at_least: float | None = Field(default=None, ge=-1e13, le=1e13)
    npv_below: float | None = Field(default=None, ge=-1e13, le=1e13)

    @model_validator(mode="after")
    def _some_bound(self) -> When:
        if not self.model_dump(exclude_none=True):
            raise ValueError("an empty `when` matches every run and hides the tiers after it; leave `when` out")
        return self

    def bounds_money(self) -> bool:
        """Whether an investment or NPV bound is set: an amount, meaningful only in the policy's currency."""
        return any(
            getattr(self, f"{figure}_{kind}") is not None for figure in MONEY_FIGURES for kind in ("at_least", "below")
        )

    def matches(self, figures: Mapping[str, float | None]) -> bool:
        for field, bound in self.model_dump(exclude_none=True).items():
            figure, _, _kind = field.rpartition("_at_least" if field.endswith("_at_least") else "_below")
            value = figures.get(figure)
            if value is None or not math.isfinite(value):  # NaN would pass every bound: it matches none
                return False
            if (field.endswith("_at_least") and value < bound) or (field.endswith("_below") and value >= bound):
                return False
        return True


class Approvers(Strict):
    roles: list[str] = Field(min_length=1, max_length=10)
    count: int = Field(default=1, ge=1, le=10, description="Distinct approvers needed.")
    including: dict[str, int] = Field(
        default_factory=dict,
        max_length=10,
        description="Of them, at least this many holding each role: {finance_lead: 1} with count 2 is the "
        "finance lead and a second, different approver.",
    )

    @model_validator(mode="after")
    def _including_fits(self) -> Approvers:
        for role, needed in self.including.items():
            if role not in self.roles:
                raise ValueError(f"including: {role} is not one of roles ({', '.join(self.roles)})")
            if not 1 <= needed <= self.count:
                raise ValueError(f"including: {role}: {needed} must be 1 to count ({self.count})")
        if sum(self.including.values()) > self.count:
            raise ValueError(f"including: asks for more people ({sum(self.including.values())}) than count")
        return self


class Escalate(Strict):
    escalate: str = Field(pattern=NAME)


class Tier(Strict):
    name: str = Field(pattern=NAME)
    when: When | None = None
    approvers: Approvers
    requester_may_approve: bool = False
    due: Duration = 7 * 86400
    remind_every: list[Duration] = Field(default_factory=list, max_length=10)
    at_deadline: Literal["expire"] | Escalate = "expire"

    @model_validator(mode="before")
    @classmethod
    def _one_reminder(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("remind_every"), str | int):
            return {**data, "remind_every": [data["remind_every"]]}
        return data


class Channel(Strict):
    """Exactly one of webhook, slack or email; `events` defaults to all of them."""

    webhook: str | None = Field(default=None, pattern=r"^https?://", max_length=2000)
    slack: str | None = Field(default=None, pattern=r"^https?://", max_length=2000)
    email: list[str] | None = Field(default=None, min_length=1, max_length=50)
    secret: str | None = Field(default=None, pattern=r"^env:[A-Za-z_][A-Za-z0-9_]{0,127}$")
    events: list[Event] = Field(default_factory=lambda: list(EVENTS), min_length=1)
    tiers: list[str] | None = Field(
        default=None, min_length=1, max_length=20, description="Only runs in these tiers (an escalation's new one)."
    )

    @model_validator(mode="after")
    def _one_kind(self) -> Channel:
        kinds = [k for k in ("webhook", "slack", "email") if getattr(self, k)]
        if len(kinds) != 1:
            raise ValueError("each notify entry needs exactly one of webhook, slack, email")
        if self.secret and not self.webhook:
            raise ValueError("secret: only webhooks are signed")
        for address in self.email or []:
            if not re.fullmatch(r"[^@\s,;<>]{1,64}@[^@\s,;<>]{1,255}", address):
                raise ValueError(f"email: {address!r} is not an e-mail address")
        return self

    @property
    def kind(self) -> Literal["webhook", "slack", "email"]:
        return "webhook" if self.webhook else "slack" if self.slack else "email"

    @property
    def target(self) -> str:
        return self.webhook or self.slack or ", ".join(self.email or [])


class Policy(Strict):
    currency: str = Field(
        default="USD", pattern=r"^[A-Z]{3}$", description="ISO 4217 code of the tiers' investment and NPV bounds."
    )
    tiers: list[Tier] = Field(min_length=1, max_length=20)
    notify: list[Channel] = Field(default_factory=list, max_length=20)
    _source: str = PrivateAttr(default="the policy")  # where it was read, for `where`
    _lines: dict[tuple[Any, ...], int] = PrivateAttr(default_factory=dict)

    def where(self, *path: Any) -> str:
        """`file:line` of a field (its nearest written ancestor), so later checks name it as parsing does."""
        line = next((self._lines[path[:n]] for n in range(len(path), -1, -1) if path[:n] in self._lines), None)
        return f"{self._source}:{line}" if line else self._source

    @model_validator(mode="after")
    def _consistent(self) -> Policy:
        names = [t.name for t in self.tiers]
        if len(set(names)) != len(names):
            raise ValueError("tier names must be unique")
        for position, channel in enumerate(self.notify):
            unknown = [name for name in channel.tiers or [] if name not in names]
            if unknown:
                raise ValueError(f"notify[{position}].tiers: no tier named {', '.join(unknown)}")
        if self.tiers[-1].when is not None:
            raise ValueError(f"the last tier ({self.tiers[-1].name}) must have no `when`, so every run matches a tier")
        for tier in self.tiers:
            seen = {tier.name}
            step = tier
            while isinstance(step.at_deadline, Escalate):
                target = step.at_deadline.escalate
                if target not in names:
                    raise ValueError(f"tier {step.name}: at_deadline escalates to unknown tier {target!r}")
                if target in seen:
                    raise ValueError(f"tier {tier.name}: escalation loops back to {target!r}; end it with expire")
                seen.add(target)
                step = self.tier(target)
        return self

    def tier(self, name: str) -> Tier:
        for tier in self.tiers:
            if tier.name == name:
                return tier
        raise VetoflowError(f"the policy has no tier {name!r}")


DEFAULT_POLICY_YAML = """\
tiers:
  - name: default
    approvers: {roles: [approver], count: 1}
    requester_may_approve: false
    due: 7d
    remind_every: 1d
    at_deadline: expire
"""


ROUTING_FIGURES = ("investment", "roi", "downside_roi", "npv")
"""What a tier's `when` may consult (`When`'s fields without their `_at_least` / `_below`)."""


def match_tier(policy: Policy, figures: Mapping[str, float | None], *, currency: str) -> Tier:
    """The first tier whose `when` holds for the figures (investment, roi, downside_roi, npv) of a run in
    `currency`.

    Figures that could not be computed, or money in another currency than the policy's when a tier bounds
    money (900,000 KWD is no less than 1,000,000 USD), cannot say how light a tier the run deserves: such a
    run goes to the tier needing the most approvers (the first of them), whatever order the tiers are in."""
    consulted = (figures.get(name) for name in ROUTING_FIGURES)
    unknown = any(isinstance(value, float) and not math.isfinite(value) for value in consulted)
    foreign = currency != policy.currency and any(t.when is not None and t.when.bounds_money() for t in policy.tiers)
    if unknown or foreign:
        return max(policy.tiers, key=lambda tier: tier.approvers.count)  # max keeps the first of equals
    for tier in policy.tiers:
        if tier.when is None or tier.when.matches(figures):
            return tier
    raise AssertionError("unreachable: the last tier has no `when`")


def _lines(node: yaml.Node, path: tuple[Any, ...], found: dict[tuple[Any, ...], int]) -> None:
    found[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            found[(*path, key.value)] = key.start_mark.line + 1
            _lines(value, (*path, key.value), found)
    elif isinstance(node, yaml.SequenceNode):
        for position, item in enumerate(node.value):
            _lines(item, (*path, position), found)


def parse_policy(text: str, source: str) -> Policy:
    """Parse and validate; every error names `source:line` and the field path."""
    try:
        data = load_yaml(text)  # bounded nesting, text keys, no repeats: before the recursive compose below
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise VetoflowError(f"{source}: not valid YAML: {exc}") from None
    except VetoflowError as exc:
        raise VetoflowError(f"{source}: {exc}") from None
    lines: dict[tuple[Any, ...], int] = {}
    if root is not None:
        _lines(root, (), lines)
    try:
        policy = Policy.model_validate(data)
        policy._source, policy._lines = source, lines
        return policy
    except ValidationError as exc:
        problems = []
        for item in exc.errors():
            loc = tuple(p for p in item["loc"] if not (isinstance(p, str) and (p[0].isupper() or "[" in p)))
            line = next((lines[loc[:n]] for n in range(len(loc), -1, -1) if loc[:n] in lines), 1)
            field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".") or "<root>"
            problems.append(f"{source}:{line}: {field}: {item['msg'].removeprefix('Value error, ')}")
        raise VetoflowError("invalid approval policy:\n" + "\n".join(problems)) from None


def load_policy(path: Path | None, *, named_users: bool = True) -> Policy:
    """The file named by VETOFLOW_POLICY, or the built-in default (one tier, one approver, 7 days).

    Without a users file or OpenID Connect (`named_users=False`: the deprecated plain-text demo or an open
    localhost server) nobody is authenticated as a person, so the built-in default lets the requester
    approve; with either it enforces four-eyes. A policy file always means exactly what it says.
    """
    if path is None:
        policy = parse_policy(DEFAULT_POLICY_YAML, "<built-in policy>")
        if named_users:
            return policy
        tiers = [t.model_copy(update={"requester_may_approve": True}) for t in policy.tiers]
        return policy.model_copy(update={"tiers": tiers})
    try:
        if path.stat().st_size > MAX_POLICY_BYTES:
            raise VetoflowError(f"VETOFLOW_POLICY: {path} is larger than {MAX_POLICY_BYTES} bytes")
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise VetoflowError(f"VETOFLOW_POLICY: cannot read {path}: {exc.strerror}") from None
    return parse_policy(text, str(path))
