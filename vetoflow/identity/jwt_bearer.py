"""Bearer JWTs from the OpenID provider: verified against its JWKS, then mapped to a `User`.

Checked: an asymmetric signature by a key of the provider's JWKS (never `none`, never HMAC, so a public
key can never be used as a shared secret), `iss` equal to the configured issuer, the API audience in
`aud` (Cognito access tokens carry none: their `client_id` is compared instead), `exp` required, `nbf`
and `iat` honoured, all with the configured leeway. Keys are cached for `oidc_jwks_max_age`; a token
naming an unknown `kid` refreshes them at most once per `REFRESH_FLOOR` seconds (key rotation without
letting made-up kids hammer the provider).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from vetoflow.errors import VetoflowError
from vetoflow.identity.oidc import OidcClaimsError, OidcConfig, user_from_claims
from vetoflow.identity.roles import Action, User

log = logging.getLogger(__name__)
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
REFRESH_FLOOR = 10.0
MAX_TOKEN_LENGTH = 16_384
MAX_DOCUMENT_BYTES = 1_000_000


class InvalidBearerError(VetoflowError):
    """A bearer JWT that is not acceptable (HTTP 401); the message says why, never echoes the token."""

    exit_code = 2
    http_status = 401


class ProviderUnavailableError(VetoflowError):
    """The provider's discovery document or keys could not be fetched (HTTP 503: retry shortly)."""

    exit_code = 5
    http_status = 503


def looks_like_jwt(token: str) -> bool:
    """Three dot-separated parts: a JWS compact serialization (vetoflow's own tokens never contain dots)."""
    return token.count(".") == 2


class ProviderKeys:
    """The provider's discovery document and JWKS, fetched lazily and cached (thread-safe)."""

    def __init__(self, config: OidcConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.config, self.clock = config, clock
        self._lock = threading.RLock()
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None
        self._kids: frozenset[str] = frozenset()
        self._fetched_at = float("-inf")

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = httpx.get(url, timeout=self.config.timeout, follow_redirects=False)
            response.raise_for_status()
            if len(response.content) > MAX_DOCUMENT_BYTES:
                raise ValueError("document too large")
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderUnavailableError(f"OpenID provider unavailable ({url}): {type(exc).__name__}") from None
        if not isinstance(data, dict):
            raise ProviderUnavailableError(f"OpenID provider: {url} did not answer a JSON object")
        return data

    def metadata(self) -> dict[str, Any]:
        with self._lock:
            if self._metadata is None:
                document = self._get_json(self.config.discovery_url)
                if document.get("issuer") != self.config.issuer:
                    raise ProviderUnavailableError(
                        f"OpenID provider: discovery names issuer {str(document.get('issuer'))[:100]!r}, "
                        f"not VETOFLOW_OIDC_ISSUER {self.config.issuer!r}"
                    )
                if not isinstance(document.get("jwks_uri"), str):
                    raise ProviderUnavailableError("OpenID provider: discovery has no jwks_uri")
                self._metadata = document
            return self._metadata

    def _refresh(self) -> None:
        raw = self._get_json(str(self.metadata()["jwks_uri"]))
        keys = [k for k in raw.get("keys", []) if isinstance(k, dict) and k.get("kty") in ("RSA", "EC", "OKP")]
        try:
            key_set = KeySet.import_key_set({"keys": [k for k in keys if k.get("use", "sig") == "sig"]})
        except (JoseError, ValueError, TypeError) as exc:
            raise ProviderUnavailableError(f"OpenID provider: unusable JWKS ({type(exc).__name__})") from None
        self._keys, self._fetched_at = key_set, self.clock()
        self._kids = frozenset(str(k.kid) for k in key_set if k.kid)
        log.info("OpenID provider keys loaded: %d key(s)", len(self._kids))

    def key_set(self, kid: str | None) -> KeySet:
        """The cached keys; refreshed when stale, or when `kid` is unknown and the last fetch is old enough."""
        self.metadata()
        with self._lock:
            age = self.clock() - self._fetched_at
            unknown = kid is not None and kid not in self._kids
            if self._keys is None or age >= self.config.jwks_max_age or (unknown and age >= REFRESH_FLOOR):
                self._refresh()
            assert self._keys is not None
            return self._keys


class JwtBearer:
    """Verifies the provider's access tokens for the API and names their user."""

    def __init__(
        self,
        config: OidcConfig,
        custom_roles: Callable[[], Mapping[str, frozenset[Action]]] = dict,
        keys: ProviderKeys | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        if config.audience is None:
            raise VetoflowError("VETOFLOW_OIDC_AUDIENCE: required for the API to accept the provider's JWTs")
        self.config, self.audience = config, config.audience
        self.custom_roles = custom_roles  # read at each request: an edited role applies at once
        self.keys = keys or ProviderKeys(config)
        self.now = now

    def claims(self, token: str) -> dict[str, Any]:
        """The verified claims, or InvalidBearerError saying which check failed."""
        if len(token) > MAX_TOKEN_LENGTH:
            raise InvalidBearerError("bearer JWT too long")
        try:
            header = jws.extract_compact(token.encode("ascii")).headers()
        except (JoseError, ValueError, UnicodeError):
            raise InvalidBearerError("bearer token is not a well-formed JWT") from None
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise InvalidBearerError(f"bearer JWT algorithm {str(alg)[:20]!r} is not accepted (asymmetric only)")
        kid = header.get("kid")
        key_set = self.keys.key_set(kid if isinstance(kid, str) else None)
        try:
            decoded = jwt.decode(token, key_set, algorithms=list(ALGORITHMS))
        except JoseError as exc:
            raise InvalidBearerError(f"bearer JWT signature not valid for the provider's keys ({exc.error})") from None
        self._check(decoded.claims)
        return decoded.claims

    def _check(self, claims: dict[str, Any]) -> None:
        registry = jwt.JWTClaimsRegistry(
            now=int(self.now()),
            leeway=self.config.leeway,
            iss={"essential": True, "value": self.config.issuer},
            exp={"essential": True},
        )
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise InvalidBearerError(f"bearer JWT refused: {exc.description or exc.error}") from None
        audience = claims.get("aud", claims.get("client_id") if "aud" not in claims else None)
        audiences = [audience] if isinstance(audience, str) else audience
        if not isinstance(audiences, list) or self.audience not in audiences:
            raise InvalidBearerError("bearer JWT refused: not issued for this API (audience)")

    def user(self, token: str) -> User:
        try:
            return user_from_claims(self.claims(token), self.config, self.custom_roles())
        except OidcClaimsError as exc:
            raise InvalidBearerError(str(exc)) from None
