"""`Keeper`: the small interface of the part that keeps a collection's derived vector index.

The store (SQL) is the source of truth; a keeper holds an index derived from it and keeps it in
step. `core.keeper.IndexKeeper` is the one implementation today (one FAISS index in this
process, saved in the index folder). The interface is what the rest of the core relies on, so
that another implementation (for example an index sharded over other machines) can take its
place without the writer, the query space or the `Collection` facade changing:

* writes: the `Writer` commits rows and vectors inside `writing()` (which gives the one lock
  order) and then hands the committed change to `apply` (vectors added, ids removed);
* reads: the query space calls `sync` once per read, then searches the index under `lock`
  (`current`, or `search` with an ID selector);
* upkeep: `count`, `save`.

Consistency contract: after `sync(s)` returns seq ``n``, the index holds exactly the items the
store holds at seq ``n`` (ids are the items' primary keys, never reused, so replaying a write
twice is harmless). `apply` may be called for seq ``n + 1`` only after that write committed.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol, runtime_checkable

import numpy as np
from sqlalchemy.orm import Session

from latentsearch.index import SearchResult
from latentsearch.query.space import IndexAccess


@runtime_checkable
class Keeper(IndexAccess, Protocol):
    """A collection's derived vector index, kept in step with the store (see the module doc).

    Also satisfies `latentsearch.query.space.IndexAccess` (``lock``, ``current``, ``sync``),
    which is all the query layer sees of it.
    """

    def writing(self) -> AbstractContextManager[Session]:
        """A store transaction for one write, entered in the lock order (connection first, then
        `lock`). The lock is held until the transaction has committed or rolled back, so a
        reader's `sync` never runs while a write of this process is between its seq bump and
        its commit."""
        ...

    def apply(
        self,
        seq: int,
        *,
        add: tuple[np.ndarray, np.ndarray] | None = None,
        remove: np.ndarray | None = None,
    ) -> None:
        """Mirror the committed write ``seq`` into the index: ``remove`` these ids, then ``add``
        ``(ids, vectors)`` (float32, ``(n, dim)``, normalised as the metric wants). If the index
        is not at ``seq - 1`` (another writer committed in between) it catches up from the store
        instead. Call it without holding `lock`."""
        ...

    def search(
        self,
        queries: np.ndarray,
        k: int,
        *,
        allowed: np.ndarray | None = None,
        effort: float = 1.0,
    ) -> SearchResult:
        """Top-``k`` ids and scores (higher is better; missing slots are id -1) per query,
        restricted to the sorted ids ``allowed`` when given (an ID selector). ``effort``
        multiplies the search breadth of approximate indexes. Call `sync` first."""
        ...

    def count(self) -> int:
        """Vectors searchable in the index now."""
        ...

    def save(self) -> None:
        """Persist the index with the seq it reflects, if it changed since it was last saved
        (nothing is written when read-only). Reopening replays whatever a save missed."""
        ...
