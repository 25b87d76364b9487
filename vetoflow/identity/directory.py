"""One identity model for CLI, console and API: the users file, or the deprecated plain-text demo mode.

With a users file present, only it counts (plain-text variables are then ignored, with a warning), even an
empty one: it means named users, and nobody gets in until one is added. Without one, `VETOFLOW_UI_USERS` /
`VETOFLOW_API_TOKENS` still work as a demo: loudly warned, every such user gets the analyst and approver
roles (what any login could do before roles existed).

A running server sees the file change at its next lookup (`vetoflow users ...` replaces it atomically):
a revoked token, a removed user or a lost role counts at once, without a restart. Fail closed: a file
that becomes unreadable lets nobody in until it is fixed, and emptying it never brings back demo mode.
"""

from __future__ import annotations

import hmac
import logging
import os
import threading
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path

from vetoflow.config import Settings, default_reviewer
from vetoflow.errors import VetoflowError
from vetoflow.identity.passwords import dummy_verify, verify_password
from vetoflow.identity.roles import Action, User, grants_for
from vetoflow.identity.throttle import LoginThrottle, Throttle
from vetoflow.identity.users_file import UsersFile, load_users_file

log = logging.getLogger(__name__)
DEMO_ROLES = frozenset({"analyst", "approver"})
DEMO_WARNING = (
    "DEPRECATED: plain-text passwords/tokens from {source} (demo mode). Anyone who can read the environment "
    "can sign in; create a users file with `vetoflow users add NAME --role approver --password-stdin` instead."
)


class UnknownOperatorError(VetoflowError):
    """The local operator, who acts for callers without a token on an open server, is not in the users file."""

    def __init__(self, name: str, path: Path) -> None:
        super().__init__(f"the local operator {name!r} is not a user in {path}")
        self.name = name
        self.path = path


client_address: ContextVar[str | None] = ContextVar("vetoflow_client_address", default=None)


def users_file_path(settings: Settings) -> Path:
    return settings.users_file or settings.home / "users.yaml"


def file_stamp(path: Path | None) -> tuple[int, int, int] | None:
    """What changes when the file is replaced or edited (inode, size, mtime); None when it is absent."""
    if path is None:
        return None
    try:
        found = os.stat(path)
    except OSError:
        return None
    return (found.st_ino, found.st_size, found.st_mtime_ns)


class Directory:
    """Looks users up and checks their secrets; `active` is False when no identity is configured at all."""

    def __init__(
        self,
        users_file: UsersFile | None,
        demo_passwords: dict[str, str] | None = None,
        demo_tokens: dict[str, str] | None = None,
        throttle: Throttle | None = None,
        *,
        path: Path | None = None,
    ) -> None:
        self.path = path or (users_file.path if users_file else None)  # watched for changes
        self._stamp = file_stamp(self.path)
        self._reload_lock = threading.Lock()
        self.users_file = users_file if users_file and (users_file.present or users_file.users) else None
        self.demo_passwords = {} if self.users_file else dict(demo_passwords or {})
        self.demo_tokens = {} if self.users_file else dict(demo_tokens or {})
        self.throttle: Throttle = throttle or LoginThrottle()

    @classmethod
    def from_settings(cls, settings: Settings, throttle: Throttle | None = None, *, quiet: bool = False) -> Directory:
        from vetoflow.identity.demo_logins import load_users
        from vetoflow.identity.tokens import TokenTable

        users_file = load_users_file(users_file_path(settings))
        if settings.users_file is not None and not users_file.present:
            # named explicitly, it means named users even before it exists: a typo in the path never opens
            # the door the demo settings (or no logins at all) would
            if not quiet:
                log.warning("VETOFLOW_USERS_FILE: %s does not exist yet", users_file.path)
            users_file = UsersFile(users_file.path)
        passwords = load_users(settings)
        tokens = {t.decode(): name for t, name in TokenTable.from_settings(settings).entries}
        if quiet:
            pass
        elif users_file.present and (passwords or tokens):
            log.warning("users file %s is in use: VETOFLOW_UI_USERS / VETOFLOW_API_TOKENS are ignored", users_file.path)
        elif passwords or tokens:
            log.warning(DEMO_WARNING.format(source="VETOFLOW_UI_USERS / VETOFLOW_API_TOKENS"))
        if users_file.present and not users_file.users and not quiet:
            log.warning("users file %s has no users: nobody is let in until one is added (`vetoflow users add`)",
                        users_file.path)  # fmt: skip
        return cls(users_file, passwords, tokens, throttle, path=users_file.path)

    def refresh(self) -> None:
        """Re-read the users file if it changed since it was read (one stat per lookup)."""
        stamp = file_stamp(self.path)
        if stamp == self._stamp or self.path is None:
            return
        with self._reload_lock:
            if stamp == self._stamp:
                return
            broken = False
            try:
                loaded = load_users_file(self.path)
            except VetoflowError as exc:  # fail closed: nobody until the file is fixed
                log.error("users file changed and cannot be read; nobody is let in until it is fixed: %s", exc)
                loaded, broken = UsersFile(self.path), True
            if loaded.present or broken or self.users_file is not None:  # once a users file counts, it always does
                self.users_file, self.demo_passwords, self.demo_tokens = loaded, {}, {}
                log.info("users file %s reloaded: %d user(s)", self.path, len(loaded.users))
            self._stamp = stamp

    def custom_roles(self) -> dict[str, frozenset[Action]]:
        """The users file's own roles as they are now: a provider's users (OIDC, JWT) get an edited role's
        grants at their next request, like the file's users (an unreadable file defines none)."""
        self.refresh()
        return dict(self.users_file.roles) if self.users_file else {}

    @property
    def active(self) -> bool:
        return bool(self.users_file or self.demo_passwords or self.demo_tokens)

    @property
    def demo(self) -> bool:
        return self.users_file is None and self.active

    @property
    def login_count(self) -> int:
        """How many people can sign in to the console with a password."""
        if self.users_file:
            return sum(1 for u in self.users_file.users.values() if u.password)
        return len(self.demo_passwords)

    @property
    def has_logins(self) -> bool:
        return self.login_count > 0

    def user(self, name: str) -> User | None:
        self.refresh()
        if self.users_file:
            record = self.users_file.users.get(name)
            if record is None:
                return None
            roles = frozenset(record.roles)
            return User(name, roles, grants_for(roles, self.users_file.roles), "users-file")
        if name in self.demo_passwords or name in self.demo_tokens.values():
            return User(name, DEMO_ROLES, grants_for(DEMO_ROLES, {}), "demo")
        return None

    def login(self, name: str, password: str, address: str | None = None) -> User | None:
        """Check a password; throttled per user and per address (a throttled try is refused unchecked)."""
        name = name.strip()[:64]
        address = address or client_address.get()
        self.refresh()
        if self.throttle.wait_seconds(name, address) > 0:
            log.warning("login throttled for user %r from %s", name, address or "unknown address")
            return None
        ok = False
        if self.users_file:
            record = self.users_file.users.get(name)
            if record is None or not record.password:
                dummy_verify(password)
            else:
                ok = verify_password(record.password, password)
        else:
            expected = self.demo_passwords.get(name)
            ok = expected is not None and hmac.compare_digest(expected.encode(), password.encode())
        if not ok:
            self.throttle.failed(name, address)
            log.warning("login failed for user %r from %s", name, address or "unknown address")  # never the password
            return None
        self.throttle.succeeded(name)
        return self.user(name)

    def token_hint(self, token: str) -> str:
        """Whose token a refused request claims to hold, for the log (never the token's secret part)."""
        found = self.users_file.token_owner(token) if self.users_file else None
        if found is None:
            return "a token that is not a users-file token" if self.users_file else "an unknown demo token"
        token_id, owner = found
        return f"token {token_id} of user {owner!r}" if owner else f"token {token_id} (no user holds it)"

    def by_token(self, token: str) -> User | None:
        self.refresh()
        if self.users_file:
            record = self.users_file.find_token(token)
            return self.user(record.name) if record else None
        found: str | None = None
        for secret, name in self.demo_tokens.items():
            if hmac.compare_digest(secret.encode(), token.encode()) and found is None:
                found = name
        return self.user(found) if found else None

    def password_checker(self) -> Callable[[str, str], bool] | None:
        """Gradio's `auth=` callable, or None when nobody can sign in (open console)."""
        if not self.has_logins:
            return None
        return lambda name, password: self.login(name, password) is not None

    def local_operator(self) -> User | None:
        """Who acts without a token on an open server or console: with named users, the local operator
        ($VETOFLOW_REVIEWER or the login name), who must be one of them (UnknownOperatorError), so named
        users and four-eyes still hold; None in demo mode, where that is the fictitious `local`."""
        self.refresh()
        if self.users_file is None:
            return None
        name = default_reviewer()
        user = self.user(name)
        if user is None:
            raise UnknownOperatorError(name, self.users_file.path)
        return user

    def reviewer(self, name: str, option: str = "--reviewer") -> User:
        """The CLI's `--reviewer` (or `--requester`): must name a user of the users file when one exists."""
        self.refresh()
        if self.users_file is None:
            return User(name, DEMO_ROLES, grants_for(DEMO_ROLES, {}), "cli")
        user = self.user(name)
        if user is None:
            raise VetoflowError(f"{option} {name}: no such user in {self.users_file.path} (see `vetoflow users add`)")
        return User(user.name, user.roles, user.grants, "cli")
