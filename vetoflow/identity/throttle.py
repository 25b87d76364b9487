"""Login throttling: exponential back-off per user name and per client address, in this process.

After 5 failures for a user name (20 for an address) the key waits base * 2**(extra failures) seconds
(capped at 15 minutes) before a try is even checked; a success clears the user's count. Keys are bounded
(oldest forgotten first), so a flood of made-up names cannot exhaust memory. Each process keeps its own.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

MAX_KEYS = 10_000


@dataclass
class _Entry:
    failures: int
    last: float


class LoginThrottle:
    def __init__(
        self,
        *,
        free_per_user: int = 5,
        free_per_address: int = 20,
        base_seconds: float = 1.0,
        max_seconds: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free = {"user": free_per_user, "addr": free_per_address}
        self.base, self.cap, self.clock = base_seconds, max_seconds, clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def _delay(self, key: str) -> float:
        entry, free = self._entries.get(key), self.free[key.split(":", 1)[0]]
        if entry is None or entry.failures < free:
            return 0.0
        wait = min(self.cap, self.base * 2.0 ** (entry.failures - free))
        return max(0.0, entry.last + wait - self.clock())

    def wait_seconds(self, user: str, address: str | None) -> float:
        """How long before this user (or this address) may try again; 0 = now."""
        with self._lock:
            keys = [f"user:{user}"] + ([f"addr:{address}"] if address else [])
            return max(self._delay(k) for k in keys)

    def failed(self, user: str, address: str | None) -> None:
        with self._lock:
            for key in [f"user:{user}"] + ([f"addr:{address}"] if address else []):
                entry = self._entries.pop(key, None) or _Entry(0, 0.0)
                entry.failures += 1
                entry.last = self.clock()
                self._entries[key] = entry
                while len(self._entries) > MAX_KEYS:
                    self._entries.popitem(last=False)

    def succeeded(self, user: str) -> None:
        with self._lock:
            self._entries.pop(f"user:{user}", None)
