"""Who may decide a pause under its tier: pure checks that refuse with the rule they apply.

approve: a role of the tier, not one of the figures' authors unless `requester_may_approve` (whoever wrote
the figures does not approve them alone: the requester, anyone who revised the run, and for a replay the
requesters and revisers of the runs it replays), and not someone who already approved this pause (approvals
count distinct people). An approval counts only while it qualifies
for the tier in force (`tally`): after an escalation, approvals whose recorded roles (or four-eyes) do not
fit the new tier are set aside, and those people may approve again under it. reject: a role of the tier (the requester
may withdraw their own run: stopping spend needs no second pair of eyes). revise: anyone whose roles
grant `revise` (analysts may rework their own run).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

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


def leaves_room(still_needs: Sequence[str], approved: int, needed: int, roles: Collection[str]) -> bool:
    """Whether one more approval, by someone holding `roles`, leaves a place for every role `including`
    still asks for (`still_needs`, one per person). `check_approval` refuses an approval that would not;
    the console and the inbox ask this beforehand, from the pause's summary."""
    left = list(still_needs)
    for role in set(left) & set(roles):  # one person counts once for each role they hold
        left.remove(role)
    return _room_for(left, approved, needed)


def _room_for(owed: Sequence[str], approved: int, needed: int) -> bool:
    """After one more approval (`approved` before it), the places left can still go to the roles `owed`."""
    return not owed or needed - approved - 1 >= len(owed)


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
    under `tier`; someone whose approval was set aside may approve again (their new approval replaces the
    old one)."""
    aside = tuple(s for s in set_aside if s.reviewer != user.name) if action == "approve" else tuple(set_aside)
    if action == "revise":
        require(user, "revise")
        return Progress(tuple(approved_by), tier.approvers.count, aside)
    require(user, "decide")
    rule = f"tier {tier.name!r}"
    if not set(tier.approvers.roles) & user.roles:
        held = ", ".join(sorted(user.roles)) or "no role"
        raise ApprovalRefusedError(
            f"{rule}: approvers.roles is {', '.join(tier.approvers.roles)}; {user.name} holds {held}"
        )
    if action == "approve" and user.name in authors and not tier.requester_may_approve:
        why = authors[user.name]
        rest = "" if why == STARTED else ", so another approver must approve them"
        raise ApprovalRefusedError(f"{rule}: requester_may_approve is false (four-eyes): {user.name} {why}{rest}")
    if action == "approve":
        if user.name in approved_by:
            raise ApprovalRefusedError(
                f"{rule}: approvals must come from {tier.approvers.count} distinct people; "
                f"{user.name} already approved ({len(approved_by)} of {tier.approvers.count})"
            )
        missing = still_missing(tier, [*approved_roles, user.roles])
        if not _room_for(missing, len(approved_by), tier.approvers.count):
            raise ApprovalRefusedError(
                f"{rule}: approvers.including needs a {' and a '.join(missing)} among its {tier.approvers.count} "
                f"approvers; {user.name} holds {', '.join(sorted(user.roles))}, and the places left must go to them"
            )
        return Progress((*approved_by, user.name), tier.approvers.count, aside, missing)
    return Progress(tuple(approved_by), tier.approvers.count, aside)
