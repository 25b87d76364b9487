"""Checks of a policy against the installation it runs in, at start: what the file alone cannot tell.

A tier naming a role nobody can hold (a typo such as `aprover`) would refuse every approval until the
run expires; a webhook secret from an unset variable or an e-mail channel without an SMTP server would
turn every notification into a dead letter. Each is refused when the service opens, naming the field.
"""

from __future__ import annotations

import os
from collections.abc import Collection

from vetoflow.config import Settings
from vetoflow.errors import ConfigurationError
from vetoflow.governance.policy import Policy
from vetoflow.identity.roles import BUILTIN_ROLES


def policy_problems(policy: Policy, settings: Settings, custom_roles: Collection[str]) -> list[str]:
    """Every problem, each naming the policy field and what would fix it (empty: the policy can work)."""
    known = set(BUILTIN_ROLES) | set(custom_roles)
    problems = []
    for position, tier in enumerate(policy.tiers):
        unknown = [role for role in tier.approvers.roles if role not in known]
        if unknown:
            problems.append(
                f"tiers[{position}] ({tier.name}).approvers.roles: {', '.join(unknown)} is no role here; known "
                f"roles are {', '.join(sorted(known))} (define more under `roles:` in the users file)"
            )
    for position, channel in enumerate(policy.notify):
        if channel.secret and not os.environ.get(channel.secret.removeprefix("env:")):
            problems.append(f"notify[{position}].secret: {channel.secret} names an unset environment variable")
        if channel.email and not settings.smtp_host:
            problems.append(f"notify[{position}].email: set VETOFLOW_SMTP_HOST, or no e-mail can be sent")
    return problems


def check_policy(policy: Policy, settings: Settings, custom_roles: Collection[str]) -> Policy:
    """The policy, or ConfigurationError listing every problem `policy_problems` finds."""
    problems = policy_problems(policy, settings, custom_roles)
    if problems:
        source = f"VETOFLOW_POLICY ({settings.policy})" if settings.policy else "the built-in policy"
        raise ConfigurationError(f"{source} cannot work here: " + "; ".join(problems))
    return policy
