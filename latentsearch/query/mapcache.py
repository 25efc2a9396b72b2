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

MAX_ENTRIES = 16  # fitted projections are small (a model plus 2 floats per item)


class MapCache:
    """LRU of ``key -> value`` (the explorer's fitted projections and clusterings)."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.fit_lock = threading.Lock()  # one fit at a time per handle: fits are CPU-bound

    def get(self, key: Hashable) -> Any:
        with self._lock:
            if key not in self._entries:
                return None
            self._entries.move_to_end(key)
            return self._entries[key]

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
