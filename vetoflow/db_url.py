"""The database URL as banners and logs may show it. libpq takes a password in the userinfo and in the
query string (`?password=...`, `sslpassword=`), so both are masked; host, port, database and the other
parameters stay, since they are what an operator checks.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

SECRET_KEY = re.compile(r"pass|secret|token|key", re.IGNORECASE)
"""Query keys masked: `password`, `sslpassword`, `passfile` (a path, but a path to passwords), `sslkey`,
and whatever a driver adds under such a name. Non-secret keys (`sslmode`, `connect_timeout`) stay."""
MASK = "***"


def redact_database_url(url: str) -> str:
    """`postgresql://ana:***@db:5432/runs?sslmode=require&password=***`: never the password, however given."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return MASK
    authority = rest.split("/", 1)[0]  # libpq looks for the userinfo's `@` before the first `/`, so `?#` may be in it
    userinfo, at, _ = authority.rpartition("@")
    shown = f"{scheme}://"
    if at:
        user, colon, _ = userinfo.partition(":")
        shown += f"{user}:{MASK}@" if colon else f"{userinfo}@"
        rest = rest[len(userinfo) + 1 :]
    rest, hash_sign, _ = rest.partition("#")
    rest, question, query = rest.partition("?")
    pairs = []
    for pair in query.split("&") if query else []:
        key, equals, _ = pair.partition("=")
        pairs.append(f"{key}={MASK}" if equals and SECRET_KEY.search(unquote(key)) else pair)
    return f"{shown}{rest}{question}{'&'.join(pairs)}" + (f"#{MASK}" if hash_sign else "")
