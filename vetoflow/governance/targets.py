"""Notification targets as people may see them: a webhook or Slack URL carries its secret in the path
(`/services/T000/B000/XXXX`), the query or the userinfo, so every log line, listing and error shows
only `scheme://host[:port]/…`. The full URL stays in the outbox's `channel` (needed to deliver).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

MASK = "…"
URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")


def safe_target(target: str) -> str:
    """`https://hooks.slack.com/…`, `https://***@host:8443/…`; e-mail addresses (no scheme) are kept."""
    if "://" not in target:
        return target
    try:
        parts = urlsplit(target.strip())
    except ValueError:
        return MASK
    userinfo, _, hostport = parts.netloc.rpartition("@")
    shown = f"{parts.scheme}://{'***@' if userinfo else ''}{hostport}"
    hidden = parts.path not in ("", "/") or parts.query or parts.fragment
    return f"{shown}/{MASK}" if hidden else f"{shown}/"


def scrub(text: str) -> str:
    """Any URL inside `text` (an error message, say) rendered by `safe_target`."""
    return URL.sub(lambda found: safe_target(found.group(0)), text)
