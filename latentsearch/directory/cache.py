"""A short-lived cache of directory accounts for the server: every request needs its key's user's
groups, and reading them from SQL on each one would cost several queries per search. ``ttl`` bounds
how stale an answer can be after a sync (0: always read)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from latentsearch.directory.model import Account

Clock = Callable[[], float]


class AccountCache:
    """``get(user, load)``: the cached account (or None: not in the directory) while younger than
    ``ttl`` seconds, else ``load(user)``'s answer, kept for the next ``ttl`` seconds."""

    def __init__(self, ttl: float, *, clock: Clock = time.monotonic, max_entries: int = 10_000):
        if ttl < 0:
            raise ValueError("the directory cache TTL must be 0 or more seconds")
        self.ttl = ttl
        self._clock = clock
        self._max = max_entries
        self._entries: dict[str, tuple[float, Account | None]] = {}
        self._lock = threading.Lock()

    def get(self, user: str, load: Callable[[str], Account | None]) -> Account | None:
        now = self._clock()
        if self.ttl > 0:
            with self._lock:
                hit = self._entries.get(user)
            if hit is not None and now < hit[0]:
                return hit[1]
        account = load(user)
        if self.ttl > 0:
            with self._lock:
                if len(self._entries) >= self._max:
                    self._entries.clear()  # rare: more distinct users than entries within a TTL
                self._entries[user] = (now + self.ttl, account)
        return account

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
