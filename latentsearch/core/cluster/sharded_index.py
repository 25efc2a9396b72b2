"""`ShardedIndex`: what the query layer sees of a sharded index (`ShardedKeeper.current()`).

The planner asks an index for ``ntotal``, ``scans_lists``, ``honours_selectors`` and ``search``;
tuning and `Collection.index_info` also read ``spec``, ``search_params`` and ``mapped``. This
object answers those for the whole sharded index, searching through the keeper (scatter-gather,
exact merge). It holds no vectors and cannot be written: writes go through the collection.
It is a `VectorIndex` so that the query layer's types stay as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from latentsearch.errors import InvalidInputError
from latentsearch.index import SearchResult, VectorIndex
from latentsearch.vectors import check_vectors

Searcher = Callable[[np.ndarray, int, "np.ndarray | None", float, dict[str, int]], SearchResult]


class ShardedIndex(VectorIndex):
    """A read-only view of the shards of one collection (see the module doc)."""

    def __init__(
        self,
        dim: int,
        spec: str,
        metric: str,
        *,
        count: Callable[[], int],
        searcher: Searcher,
        ids: Callable[[], np.ndarray],
    ) -> None:
        super().__init__(dim, "Flat", metric, "cpu")  # an empty local index, never used
        self.spec = spec
        self._count, self._searcher, self._ids = count, searcher, ids

    @property
    def ntotal(self) -> int:
        return self._count()

    @property
    def honours_selectors(self) -> bool:
        return True  # every shard searches on CPU with its part of the allowed ids

    @property
    def scans_lists(self) -> bool:
        return "IVF" in self.spec

    @property
    def mapped(self) -> bool:
        return False

    def needs_retrain(self, growth: float = 4.0) -> bool:
        return False  # a sharded index is retrained by `Collection.rebuild()` only

    def ids(self) -> np.ndarray:
        return self._ids()

    def search(
        self,
        queries: Any,
        k: int,
        allowed: np.ndarray | None = None,
        effort: float = 1.0,
        *,
        params: Mapping[str, int] | None = None,
    ) -> SearchResult:
        q = check_vectors(queries, self.dim, "query vectors")
        if k < 1:
            raise InvalidInputError(f"k must be at least 1, not {k}")
        return self._searcher(q, k, allowed, effort, {**self.search_params, **(params or {})})

    def add(self, ids: Any, vectors: Any) -> None:
        raise InvalidInputError("a sharded index is written through its collection (col.add)")

    def remove(self, ids: Any) -> None:
        raise InvalidInputError("a sharded index is written through its collection (col.delete)")

    def train(self, vectors: Any) -> None:
        raise InvalidInputError("a sharded index is trained by col.rebuild()")
