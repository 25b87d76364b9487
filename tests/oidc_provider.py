"""A real OpenID provider on loopback: panva's `oidc-provider` (Node), started by the test with its own keys.

`npm ci` installs tests/oidc/package-lock.json once into a cache directory ($VETOFLOW_NPM_CACHE, default
~/.cache/vetoflow-oidc-provider/<hash of the lock>), then `node provider.js PORT` runs from there. The test
makes the provider's signing key, so it can also mint tokens the provider never would (expired, another
issuer, `alg: none`) that are nevertheless signed by a key of the provider's JWKS.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
from joserfc.jwk import RSAKey

from tests.api_support import free_port

SOURCE = Path(__file__).resolve().parent / "oidc"
API_AUDIENCE = "https://api.vetoflow.test"
OTHER_AUDIENCE = "https://other-api.example.test"
TESTER_REDIRECT = "http://127.0.0.1:9/callback"
CONSOLE_CLIENT_ID, CONSOLE_CLIENT_SECRET = "vetoflow-console", "console-secret-0123456789abcdef"
PASSWORDS = {"ana": "ana-Secret-123", "vic": "vic-Secret-123", "nora": "nora-Secret-123", "fin": "fin-Secret-123"}
KID = "test-key-1"


def provider_dir() -> Path:
    """A directory with node_modules installed by `npm ci` from the committed lock (once per lock)."""
    digest = hashlib.sha256((SOURCE / "package-lock.json").read_bytes()).hexdigest()[:16]
    base = Path(os.environ.get("VETOFLOW_NPM_CACHE") or Path.home() / ".cache" / "vetoflow-oidc-provider")
    target = base / digest
    base.mkdir(parents=True, exist_ok=True)
    with open(base / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / "node_modules" / "oidc-provider" / "package.json").exists():
            target.mkdir(exist_ok=True)
            for name in ("package.json", "package-lock.json"):
                shutil.copy(SOURCE / name, target / name)
            subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
                cwd=target,
                check=True,
                timeout=600,
                stdout=subprocess.DEVNULL,
            )
        fd, tmp = tempfile.mkstemp(dir=target, suffix=".js")
        with os.fdopen(fd, "wb") as handle:
            handle.write((SOURCE / "provider.js").read_bytes())
        os.replace(tmp, target / "provider.js")
    return target


@dataclass
class Provider:
    issuer: str
    key: RSAKey
    log: Path

    def metadata(self) -> dict[str, Any]:
        data: dict[str, Any] = httpx.get(f"{self.issuer}/.well-known/openid-configuration", timeout=10).json()
        return data


@contextmanager
def oidc_provider(tmp: Path, redirect_uris: list[str]) -> Iterator[Provider]:
    """Start the provider on a free port; it trusts `redirect_uris` for the console client."""
    directory = provider_dir()
    key = RSAKey.generate_key(2048, parameters={"kid": KID, "use": "sig", "alg": "RS256"}, private=True)
    jwks = tmp / "provider-jwks.json"
    jwks.write_text(json.dumps({"keys": [key.as_dict(private=True)]}))
    port = free_port()
    log = tmp / "provider.log"
    env = os.environ | {
        "OIDC_JWKS_FILE": str(jwks),
        "OIDC_REDIRECT_URIS": ",".join(redirect_uris),
        "OIDC_API_AUDIENCE": API_AUDIENCE,
    }
    with open(log, "wb") as out:
        process = subprocess.Popen(
            ["node", "provider.js", str(port)], cwd=directory, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    provider = Provider(f"http://127.0.0.1:{port}", key, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"oidc-provider exited ({process.returncode}): {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{provider.issuer}/.well-known/openid-configuration", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"oidc-provider did not answer discovery: {log.read_text()[-2000:]}")
            time.sleep(0.1)
        yield provider
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def access_token(
    provider: Provider,
    user: str,
    *,
    resource: str = API_AUDIENCE,
    client_id: str = "vetoflow-api-tester",
) -> str:
    """A JWT access token for `resource`, obtained as a person would: authorization code + PKCE, the
    provider's own sign-in form posted with the user's password (no browser: plain HTTP with cookies)."""
    metadata = provider.metadata()
    verifier, challenge = _pkce()
    params = {
        "client_id": client_id,
        "response_type": "code",
        "scope": "openid api",
        "redirect_uri": TESTER_REDIRECT,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": secrets.token_urlsafe(16),
        "nonce": secrets.token_urlsafe(16),
        "resource": resource,
    }
    with httpx.Client(timeout=10, follow_redirects=False) as http:
        response = http.get(metadata["authorization_endpoint"], params=params)
        for _ in range(10):
            if response.status_code == 200 and 'name="login"' in response.text:
                action = response.text.split('action="', 1)[1].split('"', 1)[0]
                response = http.post(
                    urljoin(str(response.url), action), data={"login": user, "password": PASSWORDS[user]}
                )
                continue
            location = response.headers.get("location", "")
            if location.startswith(TESTER_REDIRECT):
                break
            assert response.is_redirect, f"unexpected provider answer {response.status_code}: {response.text[:300]}"
            response = http.get(urljoin(str(response.url), location))
        else:
            raise AssertionError("the provider never redirected back with a code")
        query = parse_qs(urlsplit(location).query)
        assert query.get("state") == [params["state"]]
        token = http.post(
            metadata["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": query["code"][0],
                "redirect_uri": TESTER_REDIRECT,
                "client_id": client_id,
                "code_verifier": verifier,
                "resource": resource,
            },
        )
        assert token.status_code == 200, token.text
        value: str = token.json()["access_token"]
        return value
