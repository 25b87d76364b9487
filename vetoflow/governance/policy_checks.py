"""Checks of a policy against the installation it runs in, at start: what the file alone cannot tell.

A tier naming a role nobody can hold (a typo such as `aprover`), or one that cannot approve (`viewer`, an
installation role without `decide`), would refuse every approval until the run expires; a webhook secret
from an unset variable or an e-mail channel without an SMTP server would turn every notification into a
dead letter. Each is refused when the service opens, naming the field.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from vetoflow.config import Settings
from vetoflow.errors import ConfigurationError
from vetoflow.governance.policy import Policy
from vetoflow.identity.roles import BUILTIN_ROLES, Action


def policy_problems(policy: Policy, settings: Settings, custom_roles: Mapping[str, frozenset[Action]]) -> list[str]:
    """Every problem, each naming `file:line: field` and what would fix it (empty: the policy can work).
    `custom_roles`: the users file's roles with the actions they grant."""
    grants = {**BUILTIN_ROLES, **custom_roles}
    problems = []
    for position, tier in enumerate(policy.tiers):
        field = (
            f"{policy.where('tiers', position, 'approvers', 'roles')}: tiers[{position}] ({tier.name}).approvers.roles"
        )
        unknown = [role for role in tier.approvers.roles if role not in grants]
        if unknown:
            problems.append(
                f"{field}: {', '.join(unknown)} is no role here; known roles are {', '.join(sorted(grants))} "
                "(define more under `roles:` in the users file)"
            )
        for role in [r for r in tier.approvers.roles if r in grants and "decide" not in grants[r]]:
            held = ", ".join(sorted(grants[role])) or "nothing"
            problems.append(
                f"{field}: {role} cannot approve (it grants {held}; approving needs `decide`), so no one holding "
                "it could ever approve; name a role that grants decide"
            )
    for position, channel in enumerate(policy.notify):
        field = f"{policy.where('notify', position, 'secret')}: notify[{position}].secret"
        if channel.secret and not os.environ.get(channel.secret.removeprefix("env:")):
            problems.append(f"{field}: {channel.secret} names an unset environment variable")
        if channel.email and not settings.smtp_host:
            field = f"{policy.where('notify', position, 'email')}: notify[{position}].email"
            problems.append(f"{field}: set VETOFLOW_SMTP_HOST, or no e-mail can be sent")
    return problems


def check_policy(policy: Policy, settings: Settings, custom_roles: Mapping[str, frozenset[Action]]) -> Policy:
    """The policy, or ConfigurationError listing every problem `policy_problems` finds."""
    problems = policy_problems(policy, settings, custom_roles)
    if problems:
        source = f"VETOFLOW_POLICY ({settings.policy})" if settings.policy else "the built-in policy"
        raise ConfigurationError(f"{source} cannot work here: " + "; ".join(problems))
    return policy
