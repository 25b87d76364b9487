"""Password hashing (argon2id) and the minimum strength a password must have where one is set."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from vetoflow.errors import VetoflowError

MIN_LENGTH = 12
MAX_LENGTH = 1024
COMMON = frozenset(
    {
        "password1234",
        "passwordpassword",
        "123456789012",
        "qwertyuiopas",
        "letmeinletmein",
        "administrator",
        "changemechangeme",
        "welcome12345",
    }
)
_hasher = PasswordHasher()


def check_strength(password: str, user: str) -> None:
    """At least 12 characters from 3 kinds (lower, upper, digit, other) or 16+ of any; not the user name."""
    if len(password) > MAX_LENGTH:
        raise VetoflowError(f"password: at most {MAX_LENGTH} characters")
    if len(password) < MIN_LENGTH:
        raise VetoflowError(f"password: at least {MIN_LENGTH} characters (got {len(password)})")
    kinds = sum(
        (
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        )
    )
    if kinds < 3 and len(password) < 16:
        raise VetoflowError("password: mix three of lower case, upper case, digits, symbols, or use 16+ characters")
    lowered = password.lower()
    if (len(user) >= 3 and user.lower() in lowered) or lowered in COMMON or len(set(password)) < 5:
        raise VetoflowError("password: too easy to guess (contains the user name, is common, or repeats characters)")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """True only for the right password; malformed hashes and over-long input are simply refused."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def dummy_verify(password: str) -> None:
    """Spend the same time for an unknown user as for a known one (no user enumeration by timing)."""
    verify_password(_DUMMY, password[:MAX_LENGTH])


_DUMMY = _hasher.hash("not-a-real-password-0")
