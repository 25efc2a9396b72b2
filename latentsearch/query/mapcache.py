"""A per-collection-handle cache of fitted map projections and clusterings.

A leaf (it knows nothing of what it holds), so that `Space` can own one without importing the
explorer. Entries carry the write sequence number they were computed at; the explorer decides
whether an entry is still good (same seq) or can be brought up to date (a few items changed).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

MAX_ENTRIES = 32
MAX_WEIGHT = 1_000_000  # items held over all entries (a map's points weigh most: ~0.5 KB each)


class MapCache:
    """LRU of ``key -> value`` (the explorer's fitted projections and clusterings)."""

    def __init__(self, max_entries: int = MAX_ENTRIES, max_weight: int = MAX_WEIGHT) -> None:
        self.max_entries, self.max_weight = max_entries, max_weight
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._weight = 0
        self._lock = threading.Lock()
        self.fit_lock = threading.Lock()  # one fit at a time per handle: fits are CPU-bound

    def get(self, key: Hashable) -> Any:
        with self._lock:
            if key not in self._entries:
                return None
            self._entries.move_to_end(key)
            return self._entries[key][0]

    def put(self, key: Hashable, value: Any, weight: int = 1) -> None:
        """Keep ``value`` (``weight``: about how many items it holds; over the whole budget it
        is not kept)."""
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._weight -= old[1]
            if weight > self.max_weight:
                return
            self._entries[key] = (value, weight)
            self._weight += weight
            while len(self._entries) > self.max_entries or self._weight > self.max_weight:
                _, (_, w) = self._entries.popitem(last=False)
                self._weight -= w

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._weight = 0
