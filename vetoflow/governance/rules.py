"""Who may decide a pause under its tier: pure checks that refuse with the rule they apply.

approve: a role of the tier, not one of the figures' authors unless `requester_may_approve` (whoever wrote
the figures does not approve them alone: the requester, anyone who revised the run, and for a replay the
requesters and revisers of the runs it replays), and not someone who already approved this pause (approvals
count distinct people), with a place left for every role `approvers.including` still asks for. One rule
(`WhoMayApprove`) says it for the gate and, beforehand, for the console's buttons and the inbox. An approval
counts only while it qualifies for the tier in force (`tally`): after an escalation, approvals whose recorded
roles (or four-eyes) do not fit the new tier are set aside, and those people may approve again under it.
reject: a role of the tier (the requester may withdraw their own run: stopping spend needs no second pair of
eyes). revise: anyone whose roles grant `revise` (analysts may rework their own run).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from vetoflow.errors import VetoflowError
from vetoflow.governance.policy import Tier
from vetoflow.identity.roles import User, require


class ApprovalRefusedError(VetoflowError):
    """The decision breaks a rule of the pause's tier; nothing was recorded (HTTP 403, exit code 7)."""

    exit_code = 7
    http_status = 403


@dataclass(frozen=True)
class Approval:
    """One recorded approval: who, and the roles they held when they gave it."""

    reviewer: str
    roles: frozenset[str]


@dataclass(frozen=True)
class SetAside:
    """An approval that no longer counts under the tier in force, and why."""

    reviewer: str
    reason: str


@dataclass(frozen=True)
class Progress:
    """How far a pause is: the distinct approvers that count, how many the tier needs, and those set aside."""

    approvers: tuple[str, ...]
    needed: int
    set_aside: tuple[SetAside, ...] = ()
    missing: tuple[str, ...] = ()  # roles `including` still asks for among the approvers

    @property
    def label(self) -> str:
        wanted = f" (still needs a {' and a '.join(self.missing)})" if self.missing else ""
        return f"{len(self.approvers)} of {self.needed}{wanted}"

    @property
    def note(self) -> str:
        """'ana's approval no longer counts (tier 'board' needs admin; ana held approver)', or ''."""
        return "; ".join(f"{s.reviewer}'s approval no longer counts ({s.reason})" for s in self.set_aside)

    def details(self) -> list[dict[str, str]]:
        """The set-aside approvals as audit entries and notifications carry them."""
        return [{"reviewer": s.reviewer, "reason": s.reason} for s in self.set_aside]

    @property
    def complete(self) -> bool:
        return len(self.approvers) >= self.needed and not self.missing


def recorded_roles(text: str) -> frozenset[str]:
    """The roles an approval row recorded (comma-separated, as the gate writes them)."""
    return frozenset(role for role in text.split(",") if role)


STARTED = "started this run"
REVISED = "revised this run's figures"


def authors_of(
    requester: str | None, revisers: Iterable[str] = (), lineage: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Who wrote the figures a pause shows, each with how: the requester, whoever revised the run, and the
    authors of the runs it replays (`lineage`, see `replayed_authors`). Four-eyes keeps them all from
    approving it: nobody approves their own figures by replaying them, or by having someone else replay them."""
    found = dict(lineage or {})
    found |= dict.fromkeys(revisers, REVISED)
    if requester:
        found[requester] = STARTED
    return found


def replayed_authors(
    source_run_id: str, requester: str | None, revisers: Iterable[str], lineage: Mapping[str, str]
) -> dict[str, str]:
    """The authors a replay of run `source_run_id` inherits: its requester and revisers, and the authors it
    inherited itself (a replay of a replay), each saying which run they wrote (the earliest, for someone
    who wrote more than one: a replay carries its source's revisions along)."""
    found = dict.fromkeys(revisers, f"revised the figures of run {source_run_id}, which this run replays")
    if requester:
        found[requester] = f"started run {source_run_id}, whose figures this run replays"
    return found | dict(lineage)


def disqualified(tier: Tier, approval: Approval, authors: Mapping[str, str]) -> str | None:
    """Why `approval` does not count under `tier` (None: it counts); the same rules `check_approval` applies."""
    if not set(tier.approvers.roles) & approval.roles:
        held = ", ".join(sorted(approval.roles)) or "no role"
        return f"tier {tier.name!r} needs {' or '.join(tier.approvers.roles)}; {approval.reviewer} held {held}"
    if approval.reviewer in authors and not tier.requester_may_approve:
        why = authors[approval.reviewer]
        return f"tier {tier.name!r} has requester_may_approve false (four-eyes); {approval.reviewer} {why}"
    return None


def tally(tier: Tier, approvals: Sequence[Approval], *, authors: Mapping[str, str], needed: int) -> Progress:
    """Count the approvals that qualify for `tier`, each person once; set the others aside with the reason.
    `authors`: who wrote the figures (`authors_of`)."""
    counted: list[Approval] = []
    aside: list[SetAside] = []
    for approval in approvals:
        if approval.reviewer in {c.reviewer for c in counted}:
            continue
        reason = disqualified(tier, approval, authors)
        if reason is None:
            counted.append(approval)
        else:
            aside.append(SetAside(approval.reviewer, reason))
    missing = still_missing(tier, [c.roles for c in counted])
    return Progress(tuple(c.reviewer for c in counted), needed, tuple(aside), missing)


def still_missing(tier: Tier, held: Sequence[frozenset[str]]) -> tuple[str, ...]:
    """One role name per person `approvers.including` still asks for, given the approvers' roles so far."""
    short: list[str] = []
    for role, needed in tier.approvers.including.items():
        short += [role] * max(0, needed - sum(role in roles for roles in held))
    return tuple(short)


def _left_after(still_needs: Sequence[str], roles: Collection[str]) -> list[str]:
    """The roles `including` still asks for once someone holding `roles` approved (each counts once)."""
    left = list(still_needs)
    for role in set(left) & set(roles):
        left.remove(role)
    return left


@dataclass(frozen=True)
class Refusal:
    """Why someone may not approve a pause: `rule` as the gate refuses it (naming them and the policy field),
    `reason` as the console says it beside the disabled button."""

    rule: str
    reason: str


class WhoMayApprove(BaseModel):
    """Who may approve a pause now: the one rule the gate applies to every decision, and that the console's
    buttons and the inbox's "assigned to me" ask beforehand (the service's views carry it). A role of the
    tier; under four-eyes, none of the figures' authors; not someone whose approval already counts; and a
    place left for every role `approvers.including` still asks for."""

    model_config = ConfigDict(frozen=True)

    tier: str
    roles: list[str] = Field(description="The tier's roles (empty: not known, nobody is refused for their role).")
    needed: int = Field(description="Distinct approvers the tier needs.")
    requester_may_approve: bool = False
    authors: dict[str, str] = Field(
        default_factory=dict, description="Who wrote the figures, and how ('started this run'): four-eyes."
    )
    approved_by: list[str] = Field(default_factory=list, description="The approvals that count under the tier.")
    still_needs: list[str] = Field(default_factory=list, description="Roles `including` still asks for.")

    @classmethod
    def of(cls, tier: Tier, progress: Progress, authors: Mapping[str, str]) -> WhoMayApprove:
        return cls(
            tier=tier.name, roles=list(tier.approvers.roles), needed=progress.needed,
            requester_may_approve=tier.requester_may_approve, authors=dict(authors),
            approved_by=list(progress.approvers), still_needs=list(progress.missing),
        )  # fmt: skip

    def refusal(self, name: str, roles: Collection[str], action: str = "approve") -> Refusal | None:
        """Why `name`, holding `roles`, may not `action` (approve; reject asks the role alone) now; None: they may."""
        rule, held = f"tier {self.tier!r}", ", ".join(sorted(roles)) or "no role"
        if self.roles and not set(self.roles) & set(roles):
            return Refusal(
                f"{rule}: approvers.roles is {', '.join(self.roles)}; {name} holds {held}",
                f"tier {self.tier} needs the role {' or '.join(self.roles)}; you hold {held}",
            )
        if action != "approve":
            return None
        if name in self.authors and not self.requester_may_approve:
            why = self.authors[name]
            rest = "" if why == STARTED else ", so another approver must approve them"
            return Refusal(
                f"{rule}: requester_may_approve is false (four-eyes): {name} {why}{rest}",
                f"you {why}; someone else must approve it (four-eyes)",
            )
        count = len(self.approved_by)
        if name in self.approved_by:
            second = "a second approver" if count == 1 else "another approver"
            return Refusal(
                f"{rule}: approvals must come from {self.needed} distinct people; {name} already approved "
                f"({count} of {self.needed})",
                f"already approved by you ({count} of {self.needed}); needs {second}",
            )
        left = _left_after(self.still_needs, roles)
        if left and self.needed - count - 1 < len(left):  # the places left after this one cannot all go to them
            return Refusal(
                f"{rule}: approvers.including needs a {' and a '.join(left)} among its {self.needed} approvers; "
                f"{name} holds {held}, and the places left must go to them",
                f"the places left are for a {' and a '.join(self.still_needs)}; you hold {held}",
            )
        return None


def check_approval(
    tier: Tier,
    action: str,
    user: User,
    *,
    authors: Mapping[str, str],
    approved_by: Sequence[str] = (),
    set_aside: Sequence[SetAside] = (),
    approved_roles: Sequence[frozenset[str]] = (),
) -> Progress:
    """Refuse (ApprovalRefusedError naming the rule) or return the progress this decision would make.

    `authors`: who wrote the figures, and how (`authors_of`). `approved_by` are the approvals that count
    under `tier` (`approved_roles` their roles); someone whose approval was set aside may approve again
    (their new approval replaces the old one)."""
    aside = tuple(s for s in set_aside if s.reviewer != user.name) if action == "approve" else tuple(set_aside)
    unchanged = Progress(tuple(approved_by), tier.approvers.count, aside)
    if action == "revise":
        require(user, "revise")
        return unchanged
    require(user, "decide")
    owed = still_missing(tier, approved_roles)
    rule = WhoMayApprove.of(tier, Progress(tuple(approved_by), tier.approvers.count, missing=owed), authors)
    refused = rule.refusal(user.name, user.roles, action)
    if refused is not None:
        raise ApprovalRefusedError(refused.rule)
    if action == "approve":
        missing = tuple(_left_after(owed, user.roles))
        return Progress((*approved_by, user.name), tier.approvers.count, aside, missing)
    return unchanged
