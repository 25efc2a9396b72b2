"""A per-collection cache of decided scopes, valid until the collection's next write.

Deciding a scope costs one SQL query whose price grows with the number of matching items. Many
workloads repeat the same filter and principals (a tenant's view, a category page), so the sorted
id array is kept, keyed by the filter (canonicalised), the principals and the collection's write
sequence number. Any write, by any process, bumps the sequence number and so retires every entry:
a cached scope is always exactly what SQL would answer at that sequence number.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from datetime import date
from typing import Any

import numpy as np

MAX_ENTRIES = 64
MAX_IDS = 2_000_000  # ids held over all entries (8 bytes each)


def scope_key(where: Mapping[str, Any] | None, principals: tuple[str, ...] | None) -> Hashable:
    """A hashable key equal for equal filters (key order aside) and different for others."""
    return (_freeze(where), principals)


def _freeze(v: Any) -> Hashable:
    if isinstance(v, Mapping):
        return ("dict", tuple(sorted((str(k), _freeze(x)) for k, x in v.items())))
    if isinstance(v, list | tuple):
        return ("list", tuple(_freeze(x) for x in v))
    if isinstance(v, date):  # datetimes too; the type name keeps "2020-01-01" the string apart
        return (type(v).__name__, v.isoformat())
    return (type(v).__name__, v)  # None, bool, int, float, str: 1, 1.0 and True stay distinct


class ScopeCache:
    """LRU of ``key -> (sorted ids or None, size)`` for one write sequence number."""

    def __init__(self, max_entries: int = MAX_ENTRIES, max_ids: int = MAX_IDS) -> None:
        self.max_entries, self.max_ids = max_entries, max_ids
        self._seq: int | None = None
        self._entries: OrderedDict[Hashable, tuple[np.ndarray | None, int]] = OrderedDict()
        self._held = 0
        self._uses: dict[Hashable, int] = {}  # asks per key at ``_seq`` (bounded like entries)
        self._lock = threading.Lock()

    def get(self, key: Hashable, seq: int) -> tuple[np.ndarray | None, int] | None:
        with self._lock:
            if seq != self._seq or key not in self._entries:
                return None
            self._entries.move_to_end(key)
            return self._entries[key]

    def uses(self, key: Hashable, seq: int) -> int:
        """Count one more ask for ``key`` at ``seq`` and return the count (1 the first time)."""
        with self._lock:
            self._renew(seq)
            if len(self._uses) >= self.max_entries and key not in self._uses:
                self._uses.clear()  # many distinct keys: forget the counts, not the entries
            n = self._uses.get(key, 0) + 1
            self._uses[key] = n
            return n

    def _renew(self, seq: int) -> None:
        """Retire everything decided before write seq ``seq`` (call with the lock held)."""
        if seq != self._seq:
            self._entries.clear()
            self._uses.clear()
            self._held, self._seq = 0, seq

    def put(self, key: Hashable, seq: int, allowed: np.ndarray | None, size: int) -> None:
        held = 0 if allowed is None else len(allowed)
        if held > self.max_ids:
            return
        with self._lock:
            self._renew(seq)
            old = self._entries.pop(key, None)
            if old is not None:
                self._held -= 0 if old[0] is None else len(old[0])
            if allowed is not None:
                allowed.setflags(write=False)  # shared between queries: never modified
            self._entries[key] = (allowed, size)
            self._held += held
            while len(self._entries) > self.max_entries or self._held > self.max_ids:
                _, (ids, _) = self._entries.popitem(last=False)
                self._held -= 0 if ids is None else len(ids)
