"""What the query layer needs of a collection, without knowing the `Collection` class."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.orm import Session

from latentsearch.encoders import Encoder, EncoderIdentity
from latentsearch.index import VectorIndex
from latentsearch.query.mapcache import MapCache
from latentsearch.query.scopes import ScopeCache
from latentsearch.store import Store


@dataclass(slots=True)
class PlannerSettings:
    """Knobs of the planner. The answers never depend on them, only the route taken (see
    `planner` for the routes, docs/benchmarks.md S3 for the measurements behind the defaults).

    ``memory``: score small scopes exactly from the index's own float32 vectors, looked up by
    id, when the index holds them (Flat, HNSW..,Flat, IVF..,Flat). ``memory_max``: the largest
    such scope; ``None`` (the default) picks 5% of the index clamped to [2048, 16384]: a lookup
    and a dot product cost about 0.1 µs per vector, less than a selector search over the rest.
    ``exact_max``: filtered scopes up to this many items are scored exactly (from the index's
    vectors when it has them, else streamed from SQL) instead of asking FAISS, overriding both
    defaults. ``None`` picks, for the SQL stream, ``ntotal / 50`` clamped to [64, 2048]: loading
    a stored vector costs about what FAISS spends on 50 vectors of a flat scan; for a trained IVF
    index 0, since a selector search there costs a bit test per vector.
    ``postfilter_min``: scopes holding at least this share of the index search without a
    selector for ``k / share × postfilter_margin`` answers and keep the scope's.
    ``oversample``: growth factor of the re-check rounds where the index returns too few.
    ``mmr_pool``: candidates considered by MMR, as a multiple of ``k`` (at least 20).
    ``selectors``: let FAISS restrict searches with an ID selector; when False (or on a GPU index
    that cannot honour one) the planner oversamples without one and re-checks instead.
    """

    exact_max: int | None = None
    memory: bool = True
    memory_max: int | None = None
    postfilter_min: float = 0.5
    postfilter_margin: float = 1.5
    selectors: bool = True
    oversample: int = 4
    scan_batch: int = 20_000
    mmr_pool: int = 4

    def memory_limit(self, ntotal: int) -> int:
        if self.exact_max is not None:
            return self.exact_max
        if self.memory_max is not None:
            return self.memory_max
        return min(16_384, max(2048, ntotal // 20))

    def exact_limit(self, ntotal: int, scans_lists: bool = False) -> int:
        if self.exact_max is not None:
            return self.exact_max
        if scans_lists:  # an IVF index with a selector does it cheaper (see VectorIndex)
            return 0
        return min(2048, max(64, ntotal // 50))


class IndexAccess(Protocol):
    """What reads need of the part that keeps a collection's index (`core.keeper.IndexKeeper`).

    Every read brings the index up to the store first with `sync`, once: `search.scope_of` does,
    and everything that ranks starts there. Searches then use `current` under `lock`.
    """

    @property
    def lock(self) -> threading.RLock:
        """Held while the index is searched or changed. Take it only with the session's
        connection already checked out (the lock order: connection first, then this lock)."""
        ...

    def current(self) -> VectorIndex:
        """The index as it stands (call under `lock`)."""
        ...

    @property
    def checkpoint(self) -> int:
        """The store's write seq that the index reflects (read under `lock`; `query.fastpath`
        compares it with the seq its hits were read at)."""
        ...

    def sync(self, s: Session) -> int:
        """Replay into the index the writes it lacks, reading them through ``s``; return the
        store's write sequence number (the seq the index now reflects)."""
        ...


@dataclass(slots=True)
class Space:
    """One collection's latent space as the query layer sees it: its store, its settings, the
    part that keeps its index (``keeper``) and its encoder (``encoder()``, loaded on first use)."""

    store: Store
    collection_id: int
    name: str
    dim: int
    metric: str
    identity: EncoderIdentity | None
    require_principals: bool
    keeper: IndexAccess
    encoder: Callable[[], Encoder]
    settings: PlannerSettings = field(default_factory=PlannerSettings)
    scopes: ScopeCache = field(default_factory=ScopeCache)  # decided scopes, until the next write
    maps: MapCache = field(default_factory=MapCache)  # the explorer's fitted projections

    @property
    def can_embed(self) -> bool:
        return self.identity is not None

    @property
    def lock(self) -> threading.RLock:
        """The keeper's lock (see `IndexAccess.lock` for the order it is taken in)."""
        return self.keeper.lock

    def index(self) -> VectorIndex:
        """The index as it stands (call under `lock`)."""
        return self.keeper.current()

    def sync(self, s: Session) -> int:
        """Bring the index up to the store through ``s``; return the store's seq."""
        return self.keeper.sync(s)
