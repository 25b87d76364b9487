"""The users file (`VETOFLOW_USERS_FILE`, default `$VETOFLOW_HOME/users.yaml`): names, roles, hashes.

Passwords are stored as argon2id hashes. API tokens are 256-bit random secrets shown once; the file keeps
only their SHA-256 (a slow hash adds nothing to a secret that cannot be guessed, and would cost every API
call tens of milliseconds). Writes take a lock and replace the file atomically, readable by its owner only.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import os
import re
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from vetoflow.errors import VetoflowError
from vetoflow.identity.roles import BUILTIN_ROLES, Action, check_name, parse_custom_roles
from vetoflow.inputs import dump_yaml, load_yaml_text

TOKEN_PREFIX = "vft_"
MAX_TOKENS = 20
MAX_ROLES = 20
MAX_FILE_BYTES = 2_000_000


@dataclass(frozen=True)
class TokenRecord:
    id: str
    sha256: str
    created: str


@dataclass(frozen=True)
class UserRecord:
    name: str
    roles: tuple[str, ...]
    password: str | None = None
    tokens: tuple[TokenRecord, ...] = ()


@dataclass
class UsersFile:
    path: Path
    users: dict[str, UserRecord] = field(default_factory=dict)
    roles: dict[str, frozenset[Action]] = field(default_factory=dict)
    raw_roles: dict[str, list[str]] = field(default_factory=dict)
    present: bool = True  # False: no file at that path (an empty file is present: named users, nobody yet)

    def token_owner(self, token: str) -> tuple[str, str | None] | None:
        """(token id, owner or None) by the id part alone, for a refusal's log line; None: not a vft_ token."""
        token_id = token[len(TOKEN_PREFIX) :].split("_", 1)[0] if token.startswith(TOKEN_PREFIX) else ""
        if not re.fullmatch(r"[0-9a-f]{8}", token_id):
            return None
        owners = [u.name for u in self.users.values() if any(r.id == token_id for r in u.tokens)]
        return token_id, owners[0] if owners else None

    def find_token(self, token: str) -> UserRecord | None:
        """The user owning `token` (looked up by its id part, compared in constant time), or None."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        token_id = token[len(TOKEN_PREFIX) :].split("_", 1)[0]
        digest = hashlib.sha256(token.encode()).hexdigest()
        for user in self.users.values():
            for record in user.tokens:
                if record.id == token_id and hmac.compare_digest(record.sha256, digest):
                    return user
        return None


def _fail(path: Path, where: str, what: str) -> VetoflowError:
    return VetoflowError(f"{path}: {where}: {what}")


def _user(path: Path, name: str, raw: Any) -> UserRecord:
    check_name(name)
    if not isinstance(raw, dict):
        raise _fail(path, f"users.{name}", "must be a mapping with roles, password, tokens")
    unknown = set(raw) - {"roles", "password", "tokens"}
    if unknown:
        raise _fail(path, f"users.{name}", f"unknown field(s) {', '.join(sorted(unknown))}")
    roles = raw.get("roles") or []
    if not isinstance(roles, list) or not roles or len(roles) > MAX_ROLES:
        raise _fail(path, f"users.{name}.roles", f"a list of 1-{MAX_ROLES} role names")
    for role in roles:
        check_name(str(role), f"users.{name}.roles: role")
    password = raw.get("password")
    if password is not None and not (isinstance(password, str) and password.startswith("$argon2")):
        raise _fail(path, f"users.{name}.password", "must be an argon2 hash (set it with `vetoflow users passwd`)")
    tokens = []
    for position, item in enumerate(raw.get("tokens") or []):
        if not isinstance(item, dict) or not {"id", "sha256"} <= set(item):
            raise _fail(path, f"users.{name}.tokens[{position}]", "needs id and sha256")
        tokens.append(TokenRecord(str(item["id"]), str(item["sha256"]), str(item.get("created", ""))))
    return UserRecord(name, tuple(str(r) for r in roles), password, tuple(tokens))


def load_users_file(path: Path) -> UsersFile:
    """Parse the file; a missing file is an empty one. Errors name the file and the field."""
    if not path.exists():
        return UsersFile(path, present=False)
    if path.stat().st_size > MAX_FILE_BYTES:
        raise VetoflowError(f"{path}: larger than {MAX_FILE_BYTES} bytes")
    try:
        data = load_yaml_text(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise VetoflowError(f"{path}: not valid YAML: {exc}") from None
    except VetoflowError as exc:  # nested too deep, a key that is not text, a key given twice
        raise VetoflowError(f"{path}: {exc}") from None
    if not isinstance(data, dict) or set(data) - {"users", "roles"}:
        raise VetoflowError(f"{path}: expected a mapping with 'users' and optionally 'roles'")
    raw_users = data.get("users") or {}
    if not isinstance(raw_users, dict):
        raise _fail(path, "users", "must be a mapping of user name to {roles, password, tokens}")
    users = {str(name): _user(path, str(name), raw) for name, raw in raw_users.items()}
    custom = parse_custom_roles(data.get("roles"), str(path))
    raw_roles = {k: sorted(v) for k, v in custom.items()}
    return UsersFile(path, users, custom, {k: list(v) for k, v in raw_roles.items()})


def _dump(users_file: UsersFile) -> str:
    users: dict[str, Any] = {}
    for name, record in sorted(users_file.users.items()):
        entry: dict[str, Any] = {"roles": list(record.roles)}
        if record.password:
            entry["password"] = record.password
        if record.tokens:
            entry["tokens"] = [{"id": t.id, "sha256": t.sha256, "created": t.created} for t in record.tokens]
        users[name] = entry
    data: dict[str, Any] = {"users": users}
    if users_file.raw_roles:
        data["roles"] = users_file.raw_roles
    header = "# vetoflow users: written by `vetoflow users`; hashes only, keep it readable by vetoflow alone\n"
    return header + dump_yaml(data)


@contextlib.contextmanager
def editing(path: Path) -> Iterator[UsersFile]:
    """Load under an exclusive lock, let the caller change it, then replace the file atomically (mode 600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = path.with_name(path.name + ".lock")
    with open(lock_path, "a", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        users_file = load_users_file(path)
        yield users_file
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".users-", suffix=".yaml")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(_dump(users_file))
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def add_user(path: Path, name: str, roles: list[str], password_hash: str | None) -> None:
    check_name(name)
    with editing(path) as users_file:
        if name in users_file.users:
            raise VetoflowError(
                f"user {name!r} already exists in {path} (change it with `vetoflow users passwd` or `users roles`)"
            )
        users_file.users[name] = UserRecord(name, _known_roles(users_file, roles), password_hash)


def set_roles(path: Path, name: str, roles: list[str]) -> None:
    """Replace a user's roles; a running server applies them at its next request."""
    with editing(path) as users_file:
        record = _existing(users_file, name)
        users_file.users[name] = replace(record, roles=_known_roles(users_file, roles))


def revoke_tokens(path: Path, name: str, token_id: str | None) -> int:
    """Remove one token (by its id, the part after `vft_`) or, with None, all of them; returns how many."""
    with editing(path) as users_file:
        record = _existing(users_file, name)
        kept = tuple(t for t in record.tokens if token_id is not None and t.id != token_id)
        if token_id is not None and len(kept) == len(record.tokens):
            known = ", ".join(t.id for t in record.tokens) or "none"
            raise VetoflowError(f"--token {token_id[:40]}: {name} has no such token (their token ids: {known})")
        users_file.users[name] = replace(record, tokens=kept)
        return len(record.tokens) - len(kept)


def remove_user(path: Path, name: str) -> None:
    """Remove a user with their password and tokens; the runs and audit entries naming them stay."""
    with editing(path) as users_file:
        _existing(users_file, name)
        del users_file.users[name]


def _known_roles(users_file: UsersFile, roles: list[str]) -> tuple[str, ...]:
    if not roles:
        raise VetoflowError("--role: give at least one role")
    for role in roles:
        check_name(role, "role")
        if role not in BUILTIN_ROLES and role not in users_file.roles:
            known = ", ".join([*BUILTIN_ROLES, *users_file.roles])
            raise VetoflowError(
                f"--role {role}: unknown role; known: {known} (define more under roles: in {users_file.path})"
            )
    return tuple(dict.fromkeys(roles))


def set_password(path: Path, name: str, password_hash: str) -> None:
    with editing(path) as users_file:
        record = _existing(users_file, name)
        users_file.users[name] = replace(record, password=password_hash)


def new_token(path: Path, name: str) -> str:
    """A fresh token for `name`; returned once, only its SHA-256 is written."""
    token_id = secrets.token_hex(4)
    token = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
    created = datetime.now(UTC).isoformat(timespec="seconds")
    with editing(path) as users_file:
        record = _existing(users_file, name)
        if len(record.tokens) >= MAX_TOKENS:
            raise VetoflowError(f"user {name!r} already has {MAX_TOKENS} tokens; remove some from {path}")
        digest = hashlib.sha256(token.encode()).hexdigest()
        users_file.users[name] = replace(record, tokens=(*record.tokens, TokenRecord(token_id, digest, created)))
    return token


def _existing(users_file: UsersFile, name: str) -> UserRecord:
    if name not in users_file.users:
        raise VetoflowError(f"no user {name!r} in {users_file.path} (add one with `vetoflow users add`)")
    return users_file.users[name]
