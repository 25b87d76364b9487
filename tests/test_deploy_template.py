"""The SAM template means what vetoflow reads: its environment, evaluated for the parameters a deployer
gives, loads as Lambda-mode settings; its rules refuse the deployments vetoflow would refuse; its clock
reaches the route that keeps deadlines. (`make test` also runs cfn-lint on it.)"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from vetoflow.api.lambda_schedule import PATH
from vetoflow.config import Settings, load_settings

TEMPLATE = Path(__file__).resolve().parents[1] / "deploy" / "template.yaml"
NO_VALUE = object()


class Tag:
    def __init__(self, name: str, value: Any) -> None:
        self.name, self.value = name, value


class CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags (!Ref, !If, ...) kept as `Tag`s."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Tag:
    if isinstance(node, yaml.ScalarNode):
        return Tag(suffix, loader.construct_scalar(node))
    if isinstance(node, yaml.SequenceNode):
        return Tag(suffix, loader.construct_sequence(node, deep=True))
    return Tag(suffix, loader.construct_mapping(node, deep=True))  # type: ignore[arg-type]


CfnLoader.add_multi_constructor("!", _tag)


def template() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load(TEMPLATE.read_text(encoding="utf-8"), Loader=CfnLoader)
    return loaded


class Stack:
    """The parts of CloudFormation's evaluation the template uses."""

    def __init__(self, given: dict[str, str]) -> None:
        self.doc = template()
        declared = self.doc["Parameters"]
        unknown = set(given) - set(declared)
        assert not unknown, f"not parameters of the template: {unknown}"
        self.params = {name: given.get(name, spec.get("Default")) for name, spec in declared.items()}
        missing = [name for name, value in self.params.items() if value is None]
        assert not missing, f"parameters without a default need a value: {missing}"
        self.conditions = {name: self.value(body) for name, body in self.doc["Conditions"].items()}

    def value(self, node: Any) -> Any:
        if isinstance(node, Tag):
            return self.function(node.name, node.value)
        if isinstance(node, dict):
            evaluated = {k: self.value(v) for k, v in node.items()}
            return {k: v for k, v in evaluated.items() if v is not NO_VALUE}
        if isinstance(node, list):
            return [self.value(v) for v in node]
        return node

    def function(self, name: str, arg: Any) -> Any:
        if name == "Ref":
            if arg == "AWS::NoValue":
                return NO_VALUE
            return self.params[arg]
        if name == "If":
            chosen = arg[1] if self.conditions[arg[0]] else arg[2]
            return self.value(chosen)
        if name == "Equals":
            left, right = (self.value(v) for v in arg)
            return left == right
        if name == "Not":
            return not self.value(arg[0])
        if name == "Or":
            return any(self.value(v) for v in arg)
        if name == "Join":
            parts = self.value(arg[1])
            return arg[0].join(parts if isinstance(parts, list) else [parts])
        raise AssertionError(f"!{name} is not evaluated by this test: add it")

    def broken_rules(self) -> list[str]:
        broken = []
        for rule in self.doc.get("Rules", {}).values():
            if "RuleCondition" in rule and not self.value(rule["RuleCondition"]):
                continue
            broken += [a["AssertDescription"] for a in rule["Assertions"] if not self.value(a["Assert"])]
        return broken

    def environment(self) -> dict[str, str]:
        function = self.doc["Resources"]["VetoflowFunction"]["Properties"]
        variables: dict[str, str] = self.value(function["Environment"]["Variables"])
        return variables


BASE = {
    "ImageUri": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/vetoflow:0.1.0",
    "DatabaseUrl": "postgresql://vetoflow:secret@db.internal:5432/vetoflow",
}
OIDC = {
    "OidcIssuer": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example",
    "OidcClientId": "console-client",
    "OidcClientSecret": "client-secret",
    "OidcSessionSecret": "s" * 40,
    "OidcAudience": "https://vetoflow.example.com/api",
    "PolicyFile": "/var/task/policy.yaml",
}


def lambda_settings(monkeypatch: pytest.MonkeyPatch, environment: dict[str, str]) -> Settings:
    for name in [n for n in os.environ if n.startswith("VETOFLOW_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return load_settings()


def test_a_deployment_signing_in_through_the_provider_loads_as_lambda_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    stack = Stack(BASE | OIDC)
    assert stack.broken_rules() == []
    environment = stack.environment()
    ours = {name for name in environment if name.startswith("VETOFLOW_")}
    fields = {f"VETOFLOW_{name.upper()}" for name in Settings.model_fields}
    assert ours <= fields, f"the template sets variables vetoflow does not read: {ours - fields}"
    assert "VETOFLOW_UI_USERS" not in environment, "no demo logins beside the provider's"
    settings = lambda_settings(monkeypatch, environment)
    assert settings.on_lambda
    assert settings.oidc_issuer == OIDC["OidcIssuer"]
    assert settings.oidc_groups_claim == "cognito:groups"
    assert settings.oidc_session_secret is not None
    assert settings.policy == Path("/var/task/policy.yaml")
    assert (settings.notify_every, settings.reconcile_every) == (0, 0), "the Clock keeps time, not a thread"


def test_the_clock_reaches_the_route_that_keeps_deadlines() -> None:
    stack = Stack(BASE | OIDC)
    function = stack.doc["Resources"]["VetoflowFunction"]["Properties"]
    assert stack.environment()["AWS_LWA_PASS_THROUGH_PATH"] == PATH
    clock = function["Events"]["Clock"]
    assert (clock["Type"], clock["Properties"]["Schedule"]) == ("Schedule", "rate(1 minute)")


def test_the_deprecated_logins_still_deploy_without_any_provider_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    stack = Stack(BASE | {"UiUsers": "ana:a-long-console-password"})
    assert stack.broken_rules() == []
    environment = stack.environment()
    provider = {name for name in environment if name.startswith("VETOFLOW_OIDC_")}
    assert provider == {"VETOFLOW_OIDC_GROUPS_CLAIM", "VETOFLOW_OIDC_ROLE_MAP"}, "only defaults, which do nothing alone"
    settings = lambda_settings(monkeypatch, environment)
    assert settings.oidc_issuer is None
    assert settings.policy is None, "the built-in default policy"


@pytest.mark.parametrize(
    ("given", "refusal"),
    [
        ({}, "Set OidcIssuer (and OidcClientId, OidcSessionSecret), or the deprecated UiUsers."),
        (
            {k: v for k, v in OIDC.items() if k != "OidcSessionSecret"},
            "OidcIssuer needs OidcSessionSecret (32+ characters, shared by every instance).",
        ),
        ({"OidcIssuer": OIDC["OidcIssuer"], "OidcSessionSecret": "s" * 40}, "OidcIssuer needs OidcClientId"),
    ],
)
def test_the_template_refuses_a_deployment_nobody_could_sign_in_to(given: dict[str, str], refusal: str) -> None:
    broken = Stack(BASE | given).broken_rules()
    assert any(message.startswith(refusal) for message in broken), broken
