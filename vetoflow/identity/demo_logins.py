"""Demo console logins (`VETOFLOW_UI_USERS`, `VETOFLOW_UI_USERS_FILE`: `user:password` entries).

The deprecated plain-text mode (a users file with argon2 hashes replaces it). Passwords never leave this
module: errors name the entry's position or user, never its secret.
"""

from __future__ import annotations

from vetoflow.config import Settings
from vetoflow.errors import VetoflowError
from vetoflow.identity.passwords import check_strength
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


def check_reachable_passwords(passwords: dict[str, str], host: str, *, on_lambda: bool) -> None:
    """Demo logins other machines can reach (a non-loopback address, or Lambda behind its URL) need passwords
    as strong as the users file's: `ana:a` falls to the first guesses whatever the throttle."""
    if is_loopback(host) and not on_lambda:
        return
    for user, password in passwords.items():
        try:
            check_strength(password, user)
        except VetoflowError as exc:
            raise VetoflowError(f"VETOFLOW_UI_USERS: user {user!r} served on {host}: {exc}") from None
