"""A tier whose approver role cannot approve is refused at start, by file, line and field: every run in it
would otherwise wait for an approval nobody can give, and expire."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_support import invoke, refused
from vetoflow.config import Settings
from vetoflow.errors import ConfigurationError
from vetoflow.runs.store import open_service

USERS = """\
roles:
  reader: [read, comment]
  finance_lead: [read, comment, decide]
users:
  fi: {roles: [finance_lead]}
"""
POLICY = """\
tiers:
  - name: large
    when: {investment_at_least: 1000000}
    approvers: {roles: [viewer]}
  - name: standard
    approvers:
      roles: [approver, reader]
"""


@pytest.fixture
def installed(home: Settings, tmp_path: Path) -> Settings:
    home.home.mkdir(parents=True, exist_ok=True)
    (home.home / "users.yaml").write_text(USERS)
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    return home.model_copy(update={"policy": path})


def test_a_tier_whose_roles_cannot_decide_is_refused_naming_file_line_and_field(installed: Settings) -> None:
    with pytest.raises(ConfigurationError) as refusal, open_service(installed):
        pass
    message = str(refusal.value)
    assert (
        "policy.yaml:4: tiers[0] (large).approvers.roles: viewer cannot approve (it grants comment, read; "
        "approving needs `decide`)"
    ) in message
    assert "policy.yaml:7: tiers[1] (standard).approvers.roles: reader cannot approve" in message
    assert "approver cannot approve" not in message
    line = refused(invoke(installed, "policy", VETOFLOW_POLICY=str(installed.policy)), 1, "cannot work here")
    assert "policy.yaml:4: tiers[0] (large).approvers.roles: viewer cannot approve" in line


def test_an_installation_role_granting_decide_may_approve(installed: Settings) -> None:
    assert installed.policy is not None
    installed.policy.write_text(POLICY.replace("[viewer]", "[finance_lead]").replace(", reader]", "]"))
    with open_service(installed) as service:
        assert service.gate is not None
        assert service.gate.policy.tiers[0].approvers.roles == ["finance_lead"]
    assert invoke(installed, "policy", VETOFLOW_POLICY=str(installed.policy)).exit_code == 0
