"""`ShardedKeeper`: a collection's index split into shards, each a replicated Ray actor.

It implements `core.protocol.Keeper`, so the writer, the query space and the `Collection`
facade are those of the single-process keeper:

* writes: the `Writer` commits rows and vectors to the store (PostgreSQL) first, as always, then
  `apply` sends each shard its part of the write (``id % shards``) on every replica, and waits
  (bounded) for them; a replica that misses it catches up from the store later;
* reads: `sync` reads the store's seq (and the item count when the seq moved); every shard search
  carries that seq, and a replica behind it replays from the store before answering, so a read
  sees every write acknowledged before it, whichever front process made it;
* search: `current()` is a `ShardedIndex` whose ``search`` scatters one call per shard for the
  whole batch (only the shard's part of the allowed ids), with retry on another replica
  (`gather`), and merges exactly (`merge`); shards that no replica answered go to `partial`;
* upkeep: `rebuild` trains once on a sample from the store and fills every shard in parallel
  (`rebuild`), `tune` tunes the merged index, `heal` recreates replicas killed for good.

The store is the truth: the actors hold derived state only, and a shard can always be rebuilt.
"""

from __future__ import annotations

import logging
import threading
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from latentsearch.core import building
from latentsearch.core.cluster import gather, partial, placement
from latentsearch.core.cluster.connection import Cluster, db_key
from latentsearch.core.cluster.merge import merge
from latentsearch.core.cluster.shard import ShardSpec
from latentsearch.core.cluster.sharded_index import ShardedIndex
from latentsearch.core.cluster.shardsql import owned
from latentsearch.core.locking import hold
from latentsearch.core.settings import CollectionSettings, OptionsRecorder
from latentsearch.errors import ClusterError, CollectionNotFoundError
from latentsearch.index import SearchResult
from latentsearch.index.tuning import Tuning
from latentsearch.results import IndexInfo
from latentsearch.store import Store
from latentsearch.store import items as sql

log = logging.getLogger(__name__)

OPEN_TIMEOUT_S = 120.0  # replicas building from the store on first open
APPLY_TIMEOUT_S = 30.0
CONTROL_TIMEOUT_S = 600.0  # rebuild: every shard fills from the store


def layout(settings: CollectionSettings) -> tuple[int, int]:
    """(shards, replicas) recorded in the collection's options (1, 1 when absent)."""
    return int(settings.options.get("shards", 1)), int(settings.options.get("replicas", 1))


class ShardedKeeper:
    """The sharded, replicated index of one collection (implements `core.protocol.Keeper`)."""

    def __init__(
        self,
        store: Store,
        folder: Path,
        settings: CollectionSettings,
        cluster: Cluster,
        *,
        device: str = "auto",
        read_only: bool = False,
        num_cpus: float = placement.DEFAULT_CPUS,
    ) -> None:
        self.store, self.folder, self.settings, self.cluster = store, folder, settings, cluster
        self.ray = cluster.ray
        self.read_only = read_only
        self.shards, self.replicas = layout(settings)
        self.key = db_key(store.url, folder)
        self.num_cpus = num_cpus
        self.recorder = OptionsRecorder(store, settings, read_only=read_only)
        self._lock = threading.RLock()
        self._seq = -1  # the store's seq at the last sync
        self._count = 0  # items at that seq
        self._next = 0  # round-robin start among replicas
        gpus = cluster.gpus()
        self.num_gpus = placement.DEFAULT_GPUS if gpus else 0.0
        self.device = "auto" if gpus else "cpu"
        self._view = ShardedIndex(
            settings.dim,
            building.concrete_spec(settings),
            settings.metric,
            count=self.count,
            searcher=self._search,
            ids=self._all_ids,
        )
        self._view.search_params = dict((settings.options.get("tuning") or {}).get("params", {}))
        self.handles: list[list[Any]] = [[None] * self.replicas for _ in range(self.shards)]
        self.heal()
        self.sync()

    # -- actors ----------------------------------------------------------------------------
    def name(self, shard: int, replica: int) -> str:
        return placement.actor_name(self.key, self.settings.id, shard, replica)

    def spec(self, shard: int, replica: int) -> ShardSpec:
        return ShardSpec(
            url=self.store.url,
            folder=str(self.folder.resolve()),
            collection_id=self.settings.id,
            dim=self.settings.dim,
            metric=self.settings.metric,
            spec=self._view.spec,
            shard=shard,
            shards=self.shards,
            replica=replica,
            device=self.device,
            search_params=dict(self._view.search_params),
        )

    def heal(self) -> int:
        """Get every replica, starting those that are missing (never started, or killed for
        good), and wait until they answer. Returns how many were started."""
        nodes = self.cluster.alive_node_ids()
        started = 0
        for shard in range(self.shards):
            for replica in range(self.replicas):
                name = self.name(shard, replica)
                if placement.lookup(self.cluster, name) is None:
                    started += 1
                self.handles[shard][replica] = placement.start(
                    self.cluster,
                    name,
                    self.spec(shard, replica),
                    placement.preferred_node(nodes, shard, replica),
                    num_cpus=self.num_cpus,
                    num_gpus=self.num_gpus,
                )
        refs = [h.status.remote() for row in self.handles for h in row]
        ready, _ = self.ray.wait(refs, num_returns=len(refs), timeout=OPEN_TIMEOUT_S)
        if len(ready) < len(refs):
            log.warning(
                "%d replica(s) of %r not ready yet", len(refs) - len(ready), self.settings.name
            )
        if started:
            log.info("started %d shard replica(s) of %r", started, self.settings.name)
        return started

    def _refresh(self, shard: int, replica: int) -> None:
        """After a replica died for good: pick up one another front process re-created."""
        found = placement.lookup(self.cluster, self.name(shard, replica))
        if found is not None:
            self.handles[shard][replica] = found

    def _order(self, shard: int) -> list[int]:
        """The replicas of ``shard`` in the order to try them (round robin spreads the load)."""
        start = (self._next + shard) % self.replicas
        return [(start + i) % self.replicas for i in range(self.replicas)]

    def _gather(self, shards: list[int], method: str, *args: Any) -> gather.Gathered:
        with self._lock:
            self._next += 1
            orders = {i: self._order(i) for i in shards}

        def call(shard: int, replica: int) -> Any:
            return getattr(self.handles[shard][replica], method).remote(*args[shard])

        out = gather.gather(self.ray, orders, call)
        for shard, replica in out.failed:
            self._refresh(shard, replica)
        return out

    # -- the Keeper interface ----------------------------------------------------------------
    @property
    def lock(self) -> threading.RLock:
        return self._lock

    def current(self) -> ShardedIndex:
        return self._view

    @property
    def checkpoint(self) -> int:
        return self._seq

    def sync(self, s: Session | None = None) -> int:
        """Read the store's seq (and its item count when it moved); the shards catch up to it
        when they are searched."""
        if s is None:
            with self.store.session() as own:
                return self.sync(own)
        seq = sql.current_seq(s, self.settings.id)
        if seq is None:
            raise CollectionNotFoundError(f"collection {self.settings.name!r} was dropped")
        if seq != self._seq:
            count = sql.count(s, self.settings.id)
            with self._lock:
                self._seq, self._count = seq, count
        return seq

    def writing(self) -> AbstractContextManager[Session]:
        return hold(self.store.transaction(), self._lock)

    def apply(
        self,
        seq: int,
        *,
        add: tuple[np.ndarray, np.ndarray] | None = None,
        remove: np.ndarray | None = None,
    ) -> None:
        """Send every shard its part of write ``seq`` (all replicas), and wait for them; a
        replica that does not take it catches up from the store before its next answer."""
        ray = self.ray
        refs = []
        for shard in range(self.shards):
            ids = np.zeros(0, dtype=np.int64)
            vecs = np.zeros((0, self.settings.dim), dtype=np.float32)
            if add is not None and len(add[0]):
                mask = np.asarray(add[0]) % self.shards == shard
                ids, vecs = np.asarray(add[0], dtype=np.int64)[mask], add[1][mask]
            rem = owned(remove, shard, self.shards) if remove is not None else ids[:0]
            # Ray puts large arguments in its object store once per call.
            refs += [h.apply.remote(seq, ids, vecs, rem) for h in self.handles[shard]]
        ready, _ = ray.wait(refs, num_returns=len(refs), timeout=APPLY_TIMEOUT_S)
        errors = gather.transient(ray)
        for ref in ready:
            try:
                ray.get(ref)
            except errors as exc:  # it replays from the store when it is back
                log.info("a replica missed write %d of %r: %s", seq, self.settings.name, exc)

    def _search(
        self,
        queries: np.ndarray,
        k: int,
        allowed: np.ndarray | None,
        effort: float,
        params: dict[str, int],
    ) -> SearchResult:
        """Scatter-gather (see the module doc)."""
        ray = self.ray
        q = ray.put(np.ascontiguousarray(queries, dtype=np.float32))
        seq = self._seq
        args: dict[int, tuple[Any, ...]] = {}
        for shard in range(self.shards):
            part = None if allowed is None else owned(allowed, shard, self.shards)
            if part is not None and not len(part):
                continue  # nothing allowed here: no call, and nothing missing
            args[shard] = (seq, q, k, part, effort, params)
        out = self._gather(list(args), "search", *[args.get(i, ()) for i in range(self.shards)])
        if out.missing:
            partial.report(self.settings.name, out.missing)
        return merge([out.results[i] for i in sorted(out.results)], len(queries), k)

    def search(
        self,
        queries: np.ndarray,
        k: int,
        *,
        allowed: np.ndarray | None = None,
        effort: float = 1.0,
    ) -> SearchResult:
        return self._view.search(queries, k, allowed=allowed, effort=effort)

    def count(self) -> int:
        with self._lock:
            return self._count

    def save(self) -> None:
        """Ask every replica to save its shard file."""
        self.everyone("save")

    # -- upkeep ------------------------------------------------------------------------------
    def everyone(self, method: str, *args: Any, timeout: float = APPLY_TIMEOUT_S) -> list[Any]:
        """Call ``method`` on every replica; the answers of those that answered."""
        refs = [getattr(h, method).remote(*args) for row in self.handles for h in row]
        ready, _ = self.ray.wait(refs, num_returns=len(refs), timeout=timeout)
        out = []
        for ref in ready:
            try:
                out.append(self.ray.get(ref))
            except gather.transient(self.ray) as exc:
                log.warning("a replica of %r did not %s: %s", self.settings.name, method, exc)
        return out

    def _all_ids(self) -> np.ndarray:
        self.sync()
        shards = list(range(self.shards))
        out = self._gather(shards, "ids", *[() for _ in shards])
        if out.missing:
            partial.report(self.settings.name, out.missing)
        parts = [np.asarray(v, dtype=np.int64) for v in out.results.values()]
        return np.sort(np.concatenate(parts)) if parts else np.zeros(0, np.int64)

    def flush(self) -> None:
        self.save()
        self.recorder.persist()

    def rebuild(self) -> None:
        from latentsearch.core.cluster.rebuild import rebuild

        rebuild(self)

    def verify(self) -> bool:
        """True when the shards together hold exactly the store's items."""
        with self.store.session() as s:
            self.sync(s)
            truth = sql.all_ids(s, self.settings.id)
        return bool(np.array_equal(self._all_ids(), truth))

    def tune(self, recall_target: float | None = None) -> Tuning:
        from latentsearch.core.cluster.rebuild import tune

        return tune(self, recall_target)

    def info(self) -> IndexInfo:
        return building.info(self._view, self.settings, rebuilding=False)

    @property
    def rebuilding(self) -> bool:
        return False

    def wait_for_maintenance(self, timeout: float | None = None) -> None:
        """Nothing runs in the background of a front process."""

    def close(self) -> None:
        """Save the shard files and the options. The actors stay up: other front processes
        may be using them (`drop` stops them)."""
        try:
            self.save()
        except ClusterError as exc:  # the cluster went away: the store still holds everything
            log.warning("could not save the shards of %r: %s", self.settings.name, exc)
        self.recorder.persist()
