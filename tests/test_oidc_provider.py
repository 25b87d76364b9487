"""OpenID Connect against a real provider on loopback (panva's oidc-provider under node, see tests/oidc/).

The API takes the provider's JWT access tokens (verified against its JWKS) beside the users file's hashed
tokens; the console signs people in through the provider's own login form, in a real browser, with roles
from their `groups` claim.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc import jwt
from playwright.sync_api import Browser, expect, sync_playwright
from pydantic import SecretStr

from tests.api_support import client, free_port, live_server
from tests.console_helpers import ensure_chromium
from tests.oidc_provider import (
    API_AUDIENCE,
    CONSOLE_CLIENT_ID,
    CONSOLE_CLIENT_SECRET,
    KID,
    OTHER_AUDIENCE,
    PASSWORDS,
    Provider,
    access_token,
    oidc_provider,
)
from vetoflow.api import create_app
from vetoflow.config import Settings
from vetoflow.identity.users_file import add_user, new_token
from vetoflow.runs.service import RunService
from vetoflow.runs.store import open_service
from vetoflow.scenario import load_scenario
from vetoflow.ui import build_console

pytestmark = pytest.mark.slow  # a node process, a server and a browser

EXAMPLES = Path(__file__).resolve().parent.parent / "vetoflow" / "examples"
TIMEOUT_MS = 60_000


@dataclass
class Served:
    url: str
    provider: Provider
    service: RunService
    settings: Settings
    ops_token: str  # a users-file API token, hashed on disk
    ui_port: int  # a port the provider also trusts, for `vetoflow ui`


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("oidc")
    port, ui_port = free_port(), free_port()
    callbacks = [f"http://127.0.0.1:{p}/console-auth/callback" for p in (port, ui_port)]
    with oidc_provider(tmp, callbacks) as provider:
        home = tmp / "home"
        add_user(home / "users.yaml", "ops", ["approver"], None)
        ops_token = new_token(home / "users.yaml", "ops")
        settings = Settings(
            home=home,
            database_url=None,
            oidc_issuer=provider.issuer,
            oidc_client_id=CONSOLE_CLIENT_ID,
            oidc_client_secret=SecretStr(CONSOLE_CLIENT_SECRET),
            oidc_scopes="openid profile groups",
            oidc_audience=API_AUDIENCE,
            oidc_leeway=0,
            oidc_session_secret=SecretStr("s" * 40),
        )
        with open_service(settings) as service:
            app = create_app(settings, service=service, console=build_console(service, settings), bind_host="127.0.0.1")
            with live_server(app, port=port) as url:
                yield Served(url, provider, service, settings, ops_token, ui_port)


def vetoed_run(service: RunService, name: str) -> tuple[str, str]:
    scenario = load_scenario(EXAMPLES / "vetoed.yaml").model_copy(update={"name": name})
    view = service.start(scenario, requester="someone-else")
    assert view.status == "paused"
    assert view.pending is not None
    return view.run.run_id, str(view.pending.digest)


def decide(url: str, token: str, run_id: str, digest: str) -> httpx.Response:
    with client(url, token) as http:
        return http.post(f"/runs/{run_id}/decision", json={"action": "approve", "digest": digest, "comment": "ok"})


def mint(provider: Provider, header: dict[str, Any] | None = None, **claims: Any) -> str:
    """A token signed with the provider's own key, carrying claims the provider would not issue."""
    now = int(time.time())
    payload = {
        "iss": provider.issuer,
        "aud": API_AUDIENCE,
        "sub": "ana",
        "preferred_username": "ana",
        "groups": ["approver"],
        "iat": now,
        "exp": now + 300,
    } | claims
    payload = {name: value for name, value in payload.items() if value is not None}  # None: leave the claim out
    return jwt.encode({"alg": "RS256", "kid": KID} | (header or {}), payload, provider.key)


def test_an_approvers_provider_jwt_decides_and_a_viewers_gets_403(served: Served) -> None:
    run_id, digest = vetoed_run(served.service, "JWT approvals")
    viewer = access_token(served.provider, "vic")
    refused = decide(served.url, viewer, run_id, digest)
    assert refused.status_code == 403, refused.text
    assert "vic (viewer) may not approve or reject runs" in refused.json()["error"]
    with client(served.url, viewer) as http:
        assert http.get(f"/runs/{run_id}").status_code == 200  # a viewer may read
    approver = access_token(served.provider, "ana")
    done = decide(served.url, approver, run_id, digest)
    assert done.status_code == 200, done.text
    assert done.json()["run"]["status"] == "completed"
    assert [(d.reviewer, d.action) for d in served.service.view(run_id).decisions] == [("ana", "approve")]


def test_a_users_file_token_keeps_working_beside_the_providers_jwts(served: Served) -> None:
    run_id, digest = vetoed_run(served.service, "Hashed token")
    done = decide(served.url, served.ops_token, run_id, digest)
    assert done.status_code == 200, done.text
    assert served.service.view(run_id).decisions[-1].reviewer == "ops"


def test_a_person_whose_groups_map_to_no_role_may_not_even_read(served: Served) -> None:
    with client(served.url, access_token(served.provider, "nora")) as http:
        answer = http.get("/runs")
    assert answer.status_code == 403
    assert "nora (no role) may not read runs" in answer.json()["error"]


def test_tampered_expired_foreign_and_unsigned_tokens_get_401(served: Served) -> None:
    run_id, digest = vetoed_run(served.service, "Bad tokens")
    viewer = access_token(served.provider, "vic")
    head, payload, signature = viewer.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["groups"] = ["admin"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    unsigned_head = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    expired = access_token(served.provider, "ana", client_id="vetoflow-short-lived")  # lives 1 second
    time.sleep(2.1)
    bad = {
        "tampered": f"{head}.{forged}.{signature}",
        "expired at the provider": expired,
        "another audience": access_token(served.provider, "ana", resource=OTHER_AUDIENCE),
        "alg none": f"{unsigned_head}.{payload}.",
        "another issuer": mint(served.provider, iss="https://evil.example.test"),
        "expired": mint(served.provider, exp=int(time.time()) - 5),
        "not yet valid": mint(served.provider, nbf=int(time.time()) + 300),
        "no exp": mint(served.provider, exp=None),
        "HS256 with the public key": _hs256_with_public_key(served.provider),
    }
    for why, token in bad.items():
        answer = decide(served.url, token, run_id, digest)
        assert answer.status_code == 401, f"{why}: {answer.status_code} {answer.text}"
        assert answer.headers["www-authenticate"] == "Bearer"
    assert served.service.view(run_id).status == "paused"
    good = decide(served.url, mint(served.provider), run_id, digest)  # the same minting, valid claims: accepted
    assert good.status_code == 200, good.text


def _hs256_with_public_key(provider: Provider) -> str:
    """The classic confusion attack: HMAC keyed with the provider's public key."""
    from joserfc.jwk import OctKey

    public = json.dumps(provider.key.as_dict(private=False)).encode()
    now = int(time.time())
    claims = {"iss": provider.issuer, "aud": API_AUDIENCE, "sub": "ana", "groups": ["admin"], "exp": now + 60}
    return jwt.encode({"alg": "HS256", "kid": KID}, claims, OctKey.import_key(public))


def sign_in(browser: Browser, url: str, user: str) -> Any:
    page = browser.new_context(viewport={"width": 1440, "height": 800}).new_page()
    page.goto(f"{url}/console/")
    page.locator("#login").fill(user)  # the provider's own sign-in form
    page.locator("#password").fill(PASSWORDS[user])
    page.locator("#submit").click()
    return page


def test_console_sign_in_through_the_provider_in_a_real_browser(served: Served, tmp_path: Path) -> None:
    chromium = ensure_chromium()
    run_id, _ = vetoed_run(served.service, "Console sign-in")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=["--no-sandbox"])
        try:
            ana = sign_in(browser, served.url, "ana")
            banner = ana.locator("#console-banner")
            expect(banner).to_contain_text("Signed in as ana (approver)", timeout=TIMEOUT_MS)
            assert ana.url.startswith(f"{served.url}/console/")
            inbox = ana.locator("#inbox-table")
            expect(inbox).to_contain_text("Console sign-in", timeout=TIMEOUT_MS)
            ana.screenshot(path=tmp_path / "oidc-console.png")

            vic = sign_in(browser, served.url, "vic")
            expect(vic.locator("#console-banner")).to_contain_text("Signed in as vic (viewer)", timeout=TIMEOUT_MS)
            vic.get_by_role("tab", name="Run", exact=True).click()
            vic.locator("#run-id textarea, #run-id input").first.fill(run_id)
            vic.locator("#run-open").click()
            expect(vic.locator("#run-headline")).to_contain_text("Console sign-in", timeout=TIMEOUT_MS)
            expect(vic.locator("#run-approve")).to_be_disabled(timeout=TIMEOUT_MS)  # roles from the groups claim
            expect(vic.locator("#run-approval")).to_contain_text("your role (viewer) cannot decide")
            assert served.service.view(run_id).status == "paused"

            nora = sign_in(browser, served.url, "nora")
            expect(nora.locator("#no-role")).to_contain_text("You signed in as nora", timeout=TIMEOUT_MS)
            expect(nora.locator("#no-role")).to_contain_text("marketing")
            nora.goto(f"{served.url}/console/")  # no console session was made: back through the provider, refused again
            expect(nora.locator("#no-role")).to_contain_text("You signed in as nora", timeout=TIMEOUT_MS)
            assert nora.locator("#console-banner").count() == 0

            ana.goto(f"{served.url}/console-auth/logout")
            if ana.locator("button[autofocus], button[type=submit]").count():  # the provider asks to confirm
                ana.locator("button[autofocus], button[type=submit]").first.click()
            expect(ana.locator("#signed-out")).to_contain_text("You are signed out", timeout=TIMEOUT_MS)
        finally:
            browser.close()
    assert served.service.view(run_id).status == "paused"  # the viewer's click changed nothing


def test_the_console_refuses_a_forged_callback_and_a_missing_session(served: Served) -> None:
    with httpx.Client(base_url=served.url, follow_redirects=False, timeout=30) as http:
        page = http.get("/console/")
        assert page.status_code == 303
        assert page.headers["location"].endswith("/console-auth/login")
        assert http.get("/console/config").status_code == 401  # Gradio's own endpoints: no session, no entry
        with http.stream("GET", "/console/gradio_api/heartbeat/anything") as heartbeat:  # Gradio leaves it open
            assert heartbeat.status_code == 401
        start = http.get("/console-auth/login")
        assert start.status_code == 302
        query = httpx.URL(start.headers["location"]).params
        assert query["code_challenge_method"] == "S256"
        assert query["nonce"]
        assert query["state"]
        forged = http.get("/console-auth/callback", params={"code": "stolen", "state": "not-the-one-we-sent"})
        assert forged.status_code == 401
        assert "Sign-in failed" in forged.text
        assert http.get("/console/").status_code == 303


def sign_in_over_http(http: httpx.Client, start: str, user: str) -> httpx.Response:
    """Follow the redirects from the console to the provider's form, post it, and follow back."""
    response = http.get(start)
    for _ in range(15):
        if response.status_code == 200 and 'name="login"' in response.text:
            action = response.text.split('action="', 1)[1].split('"', 1)[0]
            response = http.post(str(response.url.join(action)), data={"login": user, "password": PASSWORDS[user]})
        elif response.is_redirect:
            response = http.get(str(response.url.join(response.headers["location"])))
        else:
            return response
    raise AssertionError("too many redirects")


def test_a_notification_s_link_to_a_run_opens_that_run_after_signing_in_at_the_provider(served: Served) -> None:
    run_id, _ = vetoed_run(served.service, "Linked before sign-in")
    with httpx.Client(follow_redirects=False, timeout=30) as http:
        landed = sign_in_over_http(http, f"{served.url}/console/?run={run_id}", "ana")
        assert landed.status_code == 200
        assert str(landed.url) == f"{served.url}/console/?run={run_id}", "the deep link survives the sign-in"
    with httpx.Client(follow_redirects=False, timeout=30) as http:
        landed = sign_in_over_http(http, f"{served.url}/console/?run=../elsewhere", "ana")
        assert str(landed.url) == f"{served.url}/console/", "only a run id is carried through"


def test_vetoflow_ui_alone_signs_in_through_the_provider_too(served: Served) -> None:
    from vetoflow import ui

    demo = ui.launch(served.service, served.settings, port=served.ui_port, prevent_thread_lock=True)
    base = f"http://127.0.0.1:{served.ui_port}"
    try:
        with httpx.Client(follow_redirects=False, timeout=30) as http:
            first = http.get(f"{base}/")
            assert first.status_code == 303
            assert first.headers["location"] == "/console-auth/login"
            assert http.get(f"{base}/config").status_code == 401
            landed = sign_in_over_http(http, f"{base}/", "fin")  # groups finance-leads, staff: no vetoflow role
            assert landed.status_code == 403
            assert "You signed in as <b>fin</b>" in landed.text
            assert http.get(f"{base}/config").status_code == 401
        with httpx.Client(follow_redirects=False, timeout=30) as http:
            landed = sign_in_over_http(http, f"{base}/", "ana")
            assert landed.status_code == 200
            assert str(landed.url) == f"{base}/"
            assert http.get(f"{base}/config").status_code == 200
            assert http.get(f"{base}/gradio_api/user").json() == "ana"
    finally:
        demo.close()
