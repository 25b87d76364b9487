"""Is this host loopback? One answer for the API, the console and `serve` alike."""

from __future__ import annotations

import ipaddress


def is_loopback(host: str | None) -> bool:
    """`localhost` (any case), 127.0.0.0/8 and ::1 (bracketed or not) are loopback; names and None are not."""
    if not host:
        return False
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
