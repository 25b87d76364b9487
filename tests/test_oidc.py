"""OpenID Connect without the node provider: settings refused at start, claims to roles, and the JWT checks
against a real JWKS served over loopback HTTP (key rotation, refresh throttling, forged algorithms)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey
from pydantic import SecretStr

from vetoflow.api import create_app
from vetoflow.cli import cli
from vetoflow.config import Settings, load_settings
from vetoflow.errors import ConfigurationError
from vetoflow.identity import jwt_bearer
from vetoflow.identity.jwt_bearer import InvalidBearerError, JwtBearer, ProviderUnavailableError
from vetoflow.identity.oidc import OidcClaimsError, OidcConfig, user_from_claims
from vetoflow.identity.roles import PermissionDeniedError, require

AUDIENCE = "https://api.example.test"


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"VETOFLOW_OIDC_CLIENT_ID": "console"}, "VETOFLOW_OIDC_ISSUER: required when VETOFLOW_OIDC_CLIENT_ID"),
        ({"VETOFLOW_OIDC_ISSUER": "http://idp.example.com"}, "VETOFLOW_OIDC_ISSUER: 'http://idp.example.com' must"),
        ({"VETOFLOW_OIDC_ISSUER": "https://idp.example.com"}, "VETOFLOW_OIDC_CLIENT_ID: set it"),
        (
            {
                "VETOFLOW_OIDC_ISSUER": "https://idp.example.com",
                "VETOFLOW_OIDC_CLIENT_ID": "c",
                "VETOFLOW_OIDC_SCOPES": "profile",
            },
            "VETOFLOW_OIDC_SCOPES: must include openid",
        ),
        ({"VETOFLOW_OIDC_ROLE_MAP": '{"finance": ["approver", "not a role"]}'}, "VETOFLOW_OIDC_ROLE_MAP: group"),
        ({"VETOFLOW_OIDC_ROLE_MAP": '["approver"]'}, "VETOFLOW_OIDC_ROLE_MAP:"),
        ({"VETOFLOW_OIDC_GROUPS_CLAIM": "groups claim"}, "VETOFLOW_OIDC_GROUPS_CLAIM:"),
        ({"VETOFLOW_OIDC_LEEWAY": "-1"}, "VETOFLOW_OIDC_LEEWAY:"),
        ({"VETOFLOW_OIDC_SESSION_SECRET": "short"}, "VETOFLOW_OIDC_SESSION_SECRET:"),
        ({"VETOFLOW_OIDC_REDIRECT_URI": "https://x.example/elsewhere"}, "VETOFLOW_OIDC_REDIRECT_URI:"),
    ],
)
def test_malformed_oidc_settings_are_refused_at_start_in_one_line_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], names: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    assert str(caught.value).startswith(f"invalid setting: {names}")
    assert "\n" not in str(caught.value)
    result = CliRunner().invoke(cli, ["serve", "--port", "1"])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: invalid setting: {names}")


def test_the_console_sign_in_on_lambda_needs_one_session_secret_for_every_instance(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")
    monkeypatch.setenv("VETOFLOW_OIDC_ISSUER", "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example")
    monkeypatch.setenv("VETOFLOW_OIDC_CLIENT_ID", "console")
    with pytest.raises(ConfigurationError, match=r"^invalid setting: VETOFLOW_OIDC_SESSION_SECRET: required for"):
        load_settings()
    monkeypatch.setenv("VETOFLOW_OIDC_SESSION_SECRET", "s" * 32)
    assert load_settings().on_lambda
    monkeypatch.delenv("VETOFLOW_OIDC_SESSION_SECRET")
    monkeypatch.delenv("LAMBDA_TASK_ROOT")
    assert load_settings().oidc_session_secret is None, "one process off Lambda may sign with a random key"


def test_the_client_secret_never_shows_in_the_settings_repr() -> None:
    settings = Settings(
        oidc_issuer="https://idp.example.com", oidc_client_id="c", oidc_client_secret=SecretStr("hunter2-secret")
    )
    assert "hunter2-secret" not in repr(settings)
    assert "hunter2-secret" not in settings.model_dump_json()


def config(**changes: Any) -> OidcConfig:
    settings = Settings(oidc_issuer="https://idp.example.com", oidc_audience=AUDIENCE, **changes)
    found = OidcConfig.from_settings(settings)
    assert found is not None
    return found


def test_groups_named_like_roles_are_those_roles_and_other_groups_give_none() -> None:
    user = user_from_claims({"sub": "u-1", "preferred_username": "ana", "groups": ["approver", "staff"]}, config())
    assert (user.name, user.roles, user.source) == ("ana", frozenset({"approver"}), "oidc")
    assert user.may("decide")
    viewer = user_from_claims({"sub": "u-2", "groups": ["viewer"]}, config())
    assert viewer.name == "u-2"  # no preferred_username: the subject names the user
    with pytest.raises(PermissionDeniedError, match=r"u-2 \(viewer\) may not approve or reject runs"):
        require(viewer, "decide")


def test_a_role_map_counts_only_mapped_groups_and_reads_provider_specific_claims() -> None:
    mapped = config(oidc_role_map={"fin-approvers": ["approver"], "auditors": ["viewer", "finance_lead"]})
    claims = {"sub": "s", "email": "bo@example.com", "groups": ["fin-approvers", "approver", "admin"]}
    user = user_from_claims(claims, mapped)
    assert user.roles == {"approver"}  # a group literally named admin is not admin once a map is set
    lead = user_from_claims({"sub": "s", "groups": ["auditors"]}, mapped, {"finance_lead": frozenset({"decide"})})
    assert lead.roles == {"viewer", "finance_lead"}
    assert lead.may("decide")
    cognito = config(oidc_groups_claim="cognito:groups", oidc_name_claim="cognito:username,username")
    id_token = user_from_claims({"sub": "x", "cognito:username": "cy", "cognito:groups": ["admin"]}, cognito)
    access_token = user_from_claims({"sub": "x", "username": "cy", "cognito:groups": ["admin"]}, cognito)
    assert id_token == access_token  # the same person through the console and through the API
    assert id_token.roles == {"admin"}
    keycloak = config(oidc_groups_claim="realm_access.roles")
    assert user_from_claims({"sub": "k", "realm_access": {"roles": ["analyst"]}}, keycloak).roles == {"analyst"}
    assert user_from_claims({"sub": "k", "groups": "viewer"}, config()).roles == {"viewer"}


def test_claims_that_cannot_name_a_user_or_carry_a_malformed_groups_claim_are_refused() -> None:
    with pytest.raises(OidcClaimsError, match="not a usable name"):
        user_from_claims({"sub": "has spaces and <html>", "groups": ["approver"]}, config())
    with pytest.raises(OidcClaimsError, match="must be a list"):
        user_from_claims({"sub": "s", "groups": {"approver": True}}, config())


@dataclass
class FakeIdp:
    """A real HTTP server on loopback serving discovery and a JWKS the test can rotate."""

    issuer: str = ""
    keys: list[RSAKey] = field(default_factory=list)
    hits: dict[str, int] = field(default_factory=lambda: {"discovery": 0, "jwks": 0})
    claimed_issuer: str | None = None


@pytest.fixture
def idp() -> Iterator[FakeIdp]:
    state = FakeIdp(keys=[RSAKey.generate_key(2048, parameters={"kid": "k1"}, private=True)])

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/.well-known/openid-configuration":
                state.hits["discovery"] += 1
                body: dict[str, Any] = {
                    "issuer": state.claimed_issuer or state.issuer,
                    "jwks_uri": f"{state.issuer}/jwks",
                }
            else:
                state.hits["jwks"] += 1
                body = {"keys": [key.as_dict(private=False) for key in state.keys]}
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.issuer = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def token(idp: FakeIdp, key: RSAKey | None = None, header: dict[str, Any] | None = None, **claims: Any) -> str:
    key = key or idp.keys[0]
    now = int(time.time())
    payload = {"iss": idp.issuer, "aud": AUDIENCE, "sub": "ana", "groups": ["approver"], "exp": now + 60} | claims
    payload = {name: value for name, value in payload.items() if value is not None}  # None: leave the claim out
    return jwt.encode({"alg": "RS256", "kid": key.kid} | (header or {}), payload, key)


def bearer_for(idp: FakeIdp, **changes: Any) -> JwtBearer:
    settings = Settings(oidc_issuer=idp.issuer, oidc_audience=AUDIENCE, oidc_leeway=0, **changes)
    found = OidcConfig.from_settings(settings)
    assert found is not None
    return JwtBearer(found)


def test_a_valid_token_names_its_user_and_each_broken_claim_is_refused(idp: FakeIdp) -> None:
    bearer = bearer_for(idp)
    assert bearer.user(token(idp)).roles == {"approver"}
    now = int(time.time())
    refused = {
        "expired": token(idp, exp=now - 1),
        "not yet valid": token(idp, nbf=now + 120),
        "another issuer": token(idp, iss="https://evil.example.test"),
        "another audience": token(idp, aud="https://other.example.test"),
        "no exp": token(idp, exp=None),
        "unknown key": token(idp, RSAKey.generate_key(2048, parameters={"kid": "k1"}, private=True)),
        "hmac with the public key": jwt.encode(
            {"alg": "HS256", "kid": "k1"},
            {"iss": idp.issuer, "aud": AUDIENCE, "sub": "ana", "exp": now + 60},
            OctKey.import_key(json.dumps(idp.keys[0].as_dict(private=False)).encode()),
        ),
        "not a jwt": "a.b.c",
    }
    for why, value in refused.items():
        with pytest.raises(InvalidBearerError):
            bearer.user(value)
        assert InvalidBearerError.http_status == 401, why
    cognito_style = token(idp, aud=None, client_id=AUDIENCE)  # Cognito access tokens: client_id, no aud
    assert bearer.user(cognito_style).name == "ana"


def test_keys_are_cached_and_an_unknown_kid_refreshes_them_at_most_once_per_floor(
    idp: FakeIdp, monkeypatch: pytest.MonkeyPatch
) -> None:
    bearer = bearer_for(idp)
    for _ in range(3):
        bearer.user(token(idp))
    assert idp.hits == {"discovery": 1, "jwks": 1}
    rotated = RSAKey.generate_key(2048, parameters={"kid": "k2"}, private=True)
    idp.keys.append(rotated)
    monkeypatch.setattr(jwt_bearer, "REFRESH_FLOOR", 0.0)
    assert bearer.user(token(idp, rotated)).name == "ana"  # the new kid made it fetch the keys again
    assert idp.hits["jwks"] == 2
    monkeypatch.setattr(jwt_bearer, "REFRESH_FLOOR", 3600.0)
    for n in range(5):  # made-up kids do not hammer the provider
        with pytest.raises(InvalidBearerError):
            bearer.user(token(idp, RSAKey.generate_key(2048, parameters={"kid": f"nope-{n}"}, private=True)))
    assert idp.hits["jwks"] == 2


def test_a_discovery_document_naming_another_issuer_is_refused(idp: FakeIdp) -> None:
    idp.claimed_issuer = "https://someone-else.example.test"
    with pytest.raises(ProviderUnavailableError, match="names issuer"):
        bearer_for(idp).user(token(idp))


def test_an_edited_custom_role_applies_to_a_provider_user_at_the_next_request(idp: FakeIdp, tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert (
        CliRunner()
        .invoke(cli, ["--home", str(home), "users", "add", "ap", "--role", "approver", "--no-password"])
        .exit_code
        == 0
    )
    users_file = home / "users.yaml"

    def define_auditor(*actions: str) -> None:
        data = yaml.safe_load(users_file.read_text())
        users_file.write_text(yaml.safe_dump(data | {"roles": {"auditor": list(actions)}}))

    define_auditor("read", "audit")
    settings = Settings(home=home, database_url=None, oidc_issuer=idp.issuer, oidc_audience=AUDIENCE, oidc_leeway=0)
    with TestClient(create_app(settings)) as api:
        headers = {"Authorization": f"Bearer {token(idp, groups=['auditor'])}"}
        assert api.get("/audit", headers=headers).status_code == 200
        define_auditor("read")
        refused = api.get("/audit", headers=headers)
        assert refused.status_code == 403, "the grant taken from the role is gone without a restart"
        users_file.write_text("roles: [not, a, mapping]\n")
        assert api.get("/runs", headers=headers).status_code == 403, "an unreadable file defines no role"
