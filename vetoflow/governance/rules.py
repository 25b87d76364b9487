"""Who may decide a pause under its tier: pure checks that refuse with the rule they apply.

approve: a role of the tier, not the requester unless `requester_may_approve`, and not someone who
already approved this pause (approvals count distinct people). reject: a role of the tier (the requester
may withdraw their own run: stopping spend needs no second pair of eyes). revise: anyone whose roles
grant `revise` (analysts may rework their own run).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from vetoflow.errors import VetoflowError
from vetoflow.governance.policy import Tier
from vetoflow.identity.roles import User, require


class ApprovalRefusedError(VetoflowError):
    """The decision breaks a rule of the pause's tier; nothing was recorded (HTTP 403, exit code 7)."""

    exit_code = 7
    http_status = 403


@dataclass(frozen=True)
class Progress:
    """How far a pause is: the distinct approvers so far and how many the tier needs."""

    approvers: tuple[str, ...]
    needed: int

    @property
    def label(self) -> str:
        return f"{len(self.approvers)} of {self.needed}"

    @property
    def complete(self) -> bool:
        return len(self.approvers) >= self.needed


def check_approval(
    tier: Tier,
    action: str,
    user: User,
    *,
    requester: str | None,
    approved_by: Sequence[str] = (),
) -> Progress:
    """Refuse (ApprovalRefusedError naming the rule) or return the progress this decision would make."""
    if action == "revise":
        require(user, "revise")
        return Progress(tuple(approved_by), tier.approvers.count)
    require(user, "decide")
    rule = f"tier {tier.name!r}"
    if not set(tier.approvers.roles) & user.roles:
        held = ", ".join(sorted(user.roles)) or "no role"
        raise ApprovalRefusedError(
            f"{rule}: approvers.roles is {', '.join(tier.approvers.roles)}; {user.name} holds {held}"
        )
    if action == "approve" and requester is not None and user.name == requester and not tier.requester_may_approve:
        raise ApprovalRefusedError(f"{rule}: requester_may_approve is false (four-eyes): {user.name} started this run")
    if action == "approve":
        if user.name in approved_by:
            raise ApprovalRefusedError(
                f"{rule}: approvals must come from {tier.approvers.count} distinct people; "
                f"{user.name} already approved ({len(approved_by)} of {tier.approvers.count})"
            )
        return Progress((*approved_by, user.name), tier.approvers.count)
    return Progress(tuple(approved_by), tier.approvers.count)
