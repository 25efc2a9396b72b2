"""`ShardServer`: one replica of one shard, the body of a Ray actor (`placement` wraps it).

It holds the FAISS index of the items its shard owns (``id % shards == shard``). On start (and on
every Ray restart) it loads the shard file, ``<index folder>/shards/<collection id>-<shard>``, and
replays from the store the writes since the file's checkpoint; without a usable file it builds
from the store. Writes reach it twice over: `apply` mirrors a committed write sent by a front
process, and every search carries the seq its caller read, so a replica that missed writes (it
was restarting, another front wrote) catches up from the store before it answers.

The file is a cache for fast restarts, never the truth: a replica on a node that cannot write the
folder logs it and keeps serving (it rebuilds from the store after a restart).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from latentsearch.core.cluster import shardsql
from latentsearch.core.saving import IndexSaver
from latentsearch.errors import CollectionNotFoundError
from latentsearch.index import VectorIndex, configure
from latentsearch.index.persistence import read_meta
from latentsearch.index.primitives import faiss
from latentsearch.store import items as sql
from latentsearch.store.engine import make_engine

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ShardSpec:
    """Everything a replica needs to open its shard (sent once, when the actor is created)."""

    url: str  # the store (PostgreSQL)
    folder: str  # the index folder; shard files go to its ``shards/`` subfolder
    collection_id: int
    dim: int
    metric: str
    spec: str  # the FAISS factory string in use
    shard: int
    shards: int
    replica: int
    threads: int = 1
    device: str = "cpu"
    search_params: dict[str, int] = field(default_factory=dict)

    @property
    def file(self) -> str:
        return f"{self.collection_id}-{self.shard}"


class ShardServer:
    """One shard replica (a Ray actor: calls run one at a time)."""

    def __init__(self, spec: ShardSpec) -> None:
        # Explicit thread counts: an actor has a fraction of a node's CPUs and must not spread
        # FAISS's OpenMP pool over all of them.
        os.environ["OMP_NUM_THREADS"] = str(spec.threads)
        configure(threads=spec.threads)
        self.spec = spec
        self.folder = Path(spec.folder) / "shards"
        engine: Engine = make_engine(spec.url, max_connections=2)
        # One snapshot per catch-up: the seq and the rows agree (see `shardsql`).
        self.engine = engine.execution_options(isolation_level="REPEATABLE READ")
        self._dirty = False
        self._saver = IndexSaver(self.folder, spec.file, read_only=False)  # the keeper's policy
        self.searches = 0  # search calls answered (a batch is one call)
        self.index, self.checkpoint = self._open()

    # -- calls from front processes ------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """Who and where this replica is, and what it holds."""
        import ray  # the actor runs inside Ray: it is there

        return {
            "pid": os.getpid(),
            "node": ray.get_runtime_context().get_node_id(),
            "seq": self.checkpoint,
            "vectors": self.index.ntotal,
            "searches": self.searches,
        }

    def apply(
        self, seq: int, add_ids: np.ndarray, add_vectors: np.ndarray, remove: np.ndarray
    ) -> int:
        """Mirror the committed write ``seq`` (this shard's part of it); replay from the store
        instead when writes were missed. Returns the seq now reflected."""
        if self.checkpoint == seq - 1:
            if len(remove):
                self.index.remove(remove)
            if len(add_ids):
                self.index.add(add_ids, add_vectors)
            self.checkpoint, self._dirty = seq, True
        elif self.checkpoint < seq:
            self.catch_up()
        self._maybe_save()
        return self.checkpoint

    def search(
        self,
        seq: int,
        queries: np.ndarray,
        k: int,
        allowed: np.ndarray | None,
        effort: float,
        params: dict[str, int],
    ) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids) of the shard's top-``k``, after catching up to at least ``seq``."""
        if self.checkpoint < seq:
            self.catch_up()
        if allowed is not None:
            allowed = shardsql.owned(allowed, self.spec.shard, self.spec.shards)
        res = self.index.search(queries, k, allowed=allowed, effort=effort, params=params)
        self.searches += 1
        return res.scores, res.ids

    def catch_up(self) -> int:
        """Replay from the store whatever this replica lacks; return the seq it reflects."""
        sp = self.spec
        with Session(self.engine) as s:
            seq = sql.current_seq(s, sp.collection_id)
            if seq is None:
                raise CollectionNotFoundError(f"collection {sp.collection_id} was dropped")
            if seq > self.checkpoint:
                shardsql.replay(
                    s, self.index, sp.collection_id, sp.dim, sp.shard, sp.shards, self.checkpoint
                )
                self.checkpoint, self._dirty = seq, True
        return self.checkpoint

    def ids(self) -> np.ndarray:
        """The ids in the shard (sorted), after catching up."""
        self.catch_up()
        return self.index.ids()

    def load_trained(self, trained: bytes, spec: str, search_params: dict[str, int]) -> int:
        """Replace the index by ``trained`` (a serialized, trained, empty FAISS index shared by
        every shard), filled from the store with this shard's items, and save it. Returns the
        vectors held."""
        sp = self.spec
        index = VectorIndex(sp.dim, spec, sp.metric, sp.device)
        if trained:
            index.index = faiss.deserialize_index(np.frombuffer(trained, dtype=np.uint8))
            index.pending = None
        index.search_params = dict(search_params)
        with Session(self.engine) as s:
            seq = sql.current_seq(s, sp.collection_id) or 0
            shardsql.fill(s, index, sp.collection_id, sp.dim, sp.shard, sp.shards)
        self.index, self.checkpoint, self._dirty = index, seq, True
        self.save()
        return self.index.ntotal

    def set_params(self, search_params: dict[str, int]) -> None:
        self.index.search_params = dict(search_params)
        self._dirty = True
        self.save()

    def save(self) -> None:
        """Write the shard file with its checkpoint (a cache: failures are logged, not raised)."""
        if not self._dirty:
            return
        try:
            self._saver.write(self.index, self.checkpoint)
        except (OSError, RuntimeError) as exc:
            log.warning(
                "cannot save shard file %s (%s); it is rebuilt on restart", self.spec.file, exc
            )
        self._dirty = False

    # -- opening --------------------------------------------------------------------------
    def _open(self) -> tuple[VectorIndex, int]:
        sp = self.spec
        loaded = None
        try:
            # The file's spec: `rebuild` may have changed it since this actor was created.
            meta = read_meta(self.folder / f"{sp.file}.json") or {}
            spec = str(meta.get("spec") or sp.spec)
            loaded = VectorIndex.load(
                self.folder, sp.file, dim=sp.dim, spec=spec, metric=sp.metric, device=sp.device
            )
        except OSError as exc:
            log.warning("cannot read shard file %s (%s); building from the store", sp.file, exc)
        if loaded is not None:
            self.index, self.checkpoint = loaded
            self.catch_up()
            self.save()
            return self.index, self.checkpoint
        index = VectorIndex(sp.dim, sp.spec, sp.metric, sp.device)
        index.search_params = dict(sp.search_params)
        with Session(self.engine) as s:
            seq = sql.current_seq(s, sp.collection_id) or 0
            shardsql.fill(s, index, sp.collection_id, sp.dim, sp.shard, sp.shards)
        self.index, self.checkpoint, self._dirty = index, seq, True
        self.save()
        return index, seq

    def _maybe_save(self) -> None:
        if self._saver.due(self.index, self.spec.dim):
            self.save()
