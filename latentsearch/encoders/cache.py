"""A bounded, thread-safe LRU of query embeddings, keyed by encoder identity and text.

Search traffic repeats itself (the same query typed again, a page reloaded, a dashboard polling),
and embedding a short query costs milliseconds while a cache lookup costs microseconds. Each
`Encoder` owns one cache (`Encoder.query_cache`); keys carry the encoder's `EncoderIdentity`
(model fingerprint, dimension, normalisation), so a vector is only ever returned for the exact
space that produced it. Cached vectors are read-only: callers get copies they may change.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

import numpy as np

from latentsearch.errors import InvalidInputError

DEFAULT_QUERY_CACHE = 1024  # query embeddings kept per encoder (384 floats: about 1.6 KiB each)


def check_size(size: object) -> int:
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise InvalidInputError(
            f"query_cache_size must be an integer of 0 or more (0 disables the cache), not {size!r}"
        )
    return size


class EmbeddingCache:
    """Least-recently-used vectors by key; ``maxsize=0`` keeps nothing."""

    def __init__(self, maxsize: int = DEFAULT_QUERY_CACHE) -> None:
        self._maxsize = check_size(maxsize)
        self._data: OrderedDict[Hashable, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def maxsize(self) -> int:
        return self._maxsize

    def resize(self, maxsize: int) -> None:
        """Change the bound, evicting the least recently used entries beyond it."""
        with self._lock:
            self._maxsize = check_size(maxsize)
            self._evict()

    def get(self, key: Hashable) -> np.ndarray | None:
        """The cached (read-only) vector, marked as most recently used, or None."""
        with self._lock:
            vec = self._data.get(key)
            if vec is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return vec

    def put(self, key: Hashable, vector: np.ndarray) -> np.ndarray:
        """Store a private read-only copy of ``vector`` and return it."""
        vec = np.array(vector, dtype=np.float32, copy=True)
        vec.setflags(write=False)
        with self._lock:
            if self._maxsize:
                self._data[key] = vec
                self._data.move_to_end(key)
                self._evict()
        return vec

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._data

    def _evict(self) -> None:
        while len(self._data) > self._maxsize:
            self._data.popitem(last=False)
