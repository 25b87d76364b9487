"""Login throttling: exponential back-off per user name and per client address.

After 5 failures for a user name (20 for an address) the key waits base * 2**(extra failures) seconds
(capped at 15 minutes) before a try is even checked; a success clears the user's count. `LoginThrottle`
keeps the counts in this process (bounded: oldest keys forgotten first, so a flood of made-up names
cannot exhaust memory); db.login_failures keeps them in the database, so every process and every Lambda
instance refuses alike (servers use that one: an attacker cannot multiply tries by spreading them).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

MAX_KEYS = 10_000


class Throttle(Protocol):
    def wait_seconds(self, user: str, address: str | None) -> float: ...

    def failed(self, user: str, address: str | None) -> None: ...

    def succeeded(self, user: str) -> None: ...


@dataclass(frozen=True)
class Backoff:
    """The policy both throttles apply."""

    free_per_user: int = 5
    free_per_address: int = 20
    base_seconds: float = 1.0
    max_seconds: float = 900.0
    forget_after: float = 86_400.0  # a key silent this long starts over

    def free(self, key: str) -> int:
        return self.free_per_user if key.startswith("user:") else self.free_per_address

    def wait(self, key: str, failures: int, since_last: float) -> float:
        """Seconds `key` still waits, `since_last` seconds after its `failures`-th failure."""
        free = self.free(key)
        if failures < free or since_last >= self.forget_after:
            return 0.0
        return max(0.0, min(self.max_seconds, self.base_seconds * 2.0 ** (failures - free)) - since_last)


def keys(user: str, address: str | None) -> list[str]:
    """A user name is at most 64 characters by the time it is checked; an address is cut to 100."""
    return [f"user:{user[:64]}"] + ([f"addr:{address[:100]}"] if address else [])


@dataclass
class _Entry:
    failures: int
    last: float


class LoginThrottle:
    """In this process (a CLI, a test, or a server whose database cannot be asked)."""

    def __init__(self, policy: Backoff | None = None, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.policy, self.clock = policy or Backoff(), clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def _delay(self, key: str) -> float:
        entry = self._entries.get(key)
        return 0.0 if entry is None else self.policy.wait(key, entry.failures, self.clock() - entry.last)

    def wait_seconds(self, user: str, address: str | None) -> float:
        """How long before this user (or this address) may try again; 0 = now."""
        with self._lock:
            return max(self._delay(k) for k in keys(user, address))

    def failed(self, user: str, address: str | None) -> None:
        with self._lock:
            for key in keys(user, address):
                entry = self._entries.pop(key, None) or _Entry(0, 0.0)
                if self.clock() - entry.last >= self.policy.forget_after:
                    entry.failures = 0  # silent long enough: counted from one again
                entry.failures += 1
                entry.last = self.clock()
                self._entries[key] = entry
                while len(self._entries) > MAX_KEYS:
                    self._entries.popitem(last=False)

    def succeeded(self, user: str) -> None:
        with self._lock:
            self._entries.pop(keys(user, None)[0], None)


class Deferred:
    """A throttle made at its first use: a server's database opens only once the server starts."""

    def __init__(self, make: Callable[[], Throttle]) -> None:
        self._make = make
        self._made: Throttle | None = None
        self._lock = threading.Lock()

    def _throttle(self) -> Throttle:
        with self._lock:
            if self._made is None:
                self._made = self._make()
            return self._made

    def wait_seconds(self, user: str, address: str | None) -> float:
        return self._throttle().wait_seconds(user, address)

    def failed(self, user: str, address: str | None) -> None:
        self._throttle().failed(user, address)

    def succeeded(self, user: str) -> None:
        self._throttle().succeeded(user)
