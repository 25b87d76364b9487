"""Signed webhook delivery: `X-Vetoflow-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "t.body")>`.

Receivers recompute the HMAC over the timestamp, a dot and the raw body, compare in constant time, and
reject old timestamps (replays). `X-Vetoflow-Id` carries the idempotency id (also in the body's `id`).
"""

from __future__ import annotations

import hashlib
import hmac
import time

import httpx

SIGNATURE_HEADER = "X-Vetoflow-Signature"


def sign(secret: bytes, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def post(url: str, body: bytes, *, notification_id: str, secret: bytes | None, timeout: float) -> httpx.Response:
    headers = {"Content-Type": "application/json", "X-Vetoflow-Id": notification_id, "User-Agent": "vetoflow"}
    if secret is not None:
        headers[SIGNATURE_HEADER] = sign(secret, body, int(time.time()))
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        return client.post(url, content=body, headers=headers)
