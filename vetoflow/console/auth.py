"""Who may use the console: logins from VETOFLOW_UI_USERS or a file, and where an open console may listen.

Passwords never leave this module: errors name the entry's position or user, never its secret.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from vetoflow.config import Settings
from vetoflow.errors import VetoflowError
from vetoflow.netloc import is_loopback


def parse_users(text: str, source: str) -> dict[str, str]:
    """`ana:pw,bo:pw2` or one `user:password` a line; blank lines and `#` comments are ignored."""
    users: dict[str, str] = {}
    entries = [e.strip() for line in text.splitlines() for e in line.split(",")]
    for position, entry in enumerate((e for e in entries if e and not e.startswith("#")), start=1):
        user, sep, password = entry.partition(":")
        user = user.strip()
        if not sep or not user or not password:
            raise VetoflowError(f"{source}: entry {position} is not user:password (both non-empty)")
        if user in users:
            raise VetoflowError(f"{source}: user {user!r} is listed twice")
        users[user] = password
    return users


def load_users(settings: Settings) -> dict[str, str]:
    """All configured logins; empty means the console is open."""
    users: dict[str, str] = {}
    for text, source in settings.credential_texts(settings.ui_users, settings.ui_users_file, "VETOFLOW_UI_USERS"):
        users |= parse_users(text, source)
    return users


def auth_checker(users: dict[str, str]) -> Callable[[str, str], bool] | None:
    """Gradio's `auth=` callable (constant-time comparison), or None for an open console."""
    if not users:
        return None

    def check(username: str, password: str) -> bool:
        expected = users.get(username)
        return expected is not None and hmac.compare_digest(expected.encode(), password.encode())

    return check


def check_bind(host: str, has_logins: bool | dict[str, str]) -> None:
    """An open console (no logins) must not be reachable from other machines."""
    if not has_logins and not is_loopback(host):
        raise VetoflowError(
            f"--host {host}: the console has no logins, so it only binds to localhost (127.0.0.1, ::1); "
            "set VETOFLOW_UI_USERS='user:password,...' or VETOFLOW_UI_USERS_FILE to serve it on other addresses"
        )
