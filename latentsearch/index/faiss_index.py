"""A FAISS index keyed by the items' integer ids: build, train, add, remove, search.

numpy in, numpy out; it knows nothing of SQL or encoders. Around the FAISS index it keeps what
FAISS lacks: a buffer that searches exactly until an IVF/PQ index has its training data,
tombstones for indexes that cannot remove ids (HNSW), and a searchable GPU clone (`gpu`). Files
are `persistence`'s; thread and BLAS settings are `settings`'.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from latentsearch.device import resolve_device
from latentsearch.errors import IndexBuildError, InvalidInputError
from latentsearch.index import persistence
from latentsearch.index.gpu import GpuPlacement
from latentsearch.index.primitives import (
    METRICS,
    as_ids,
    exact_buffer,
    faiss,
    index_ids,
    new_index,
    removable,
    search_parameters,
    selector,
)
from latentsearch.index.refine import DEFAULT_FACTOR, rescore
from latentsearch.index.settings import threads_for
from latentsearch.index.specs import graph, min_train_size, refined
from latentsearch.index.stored import reconstruct, removal_selector
from latentsearch.index.vectorfile import VectorFile
from latentsearch.vectors import check_vectors

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SearchResult:
    """``scores`` and ``ids`` of shape ``(n_queries, k)``; missing slots have id -1."""

    scores: np.ndarray
    ids: np.ndarray


class VectorIndex:
    """One collection's FAISS index. Ids are caller-supplied int64s (the SQL primary keys)."""

    def __init__(
        self, dim: int, spec: str = "Flat", metric: str = "cosine", device: str = "auto"
    ) -> None:
        if metric not in METRICS:
            raise InvalidInputError(f"metric must be one of {sorted(METRICS)}, not {metric!r}")
        if dim < 1:
            raise InvalidInputError(f"dim must be positive, not {dim}")
        self.dim, self.spec, self.metric = dim, spec, metric
        self.index = new_index(dim, spec, metric)
        self.device = resolve_device(device, what="index")
        self.gpu = GpuPlacement(self.device, spec)
        self.removable = removable(self.index)
        # Ids hidden by selector where FAISS cannot remove_ids (HNSW); compacted by a rebuild.
        self.deleted: set[int] = set()
        # While an IVF/PQ index lacks training data, vectors wait in an exact flat index.
        self.pending: Any = None if self.index.is_trained else exact_buffer(dim, metric)
        self.trained_on = 0
        self.search_params: dict[str, int] = {}
        # The index file, kept open while the index is memory-mapped (read-only for IVF).
        self._mapped: persistence.MappedFile | None = None
        # Lossy codes (RaBitQ, PQ, binary) rescore candidates from float16 rows on disk.
        self.vectors: VectorFile | None = None

    def attach(self, vectors: VectorFile) -> None:
        """Keep every added vector in ``vectors`` too, and rescore from it (`refines`)."""
        self.vectors = vectors
        self.search_params.setdefault("refine", DEFAULT_FACTOR)

    @property
    def refines(self) -> bool:
        """True when searches rescore ``refine`` × k candidates exactly from the vector file."""
        return self.vectors is not None and refined(self.spec)

    # -- state --------------------------------------------------------------------------
    @property
    def ntotal(self) -> int:
        """Vectors searchable now (tombstoned ones excluded)."""
        live = self.index.ntotal + (self.pending.ntotal if self.pending is not None else 0)
        return int(live - len(self.deleted))

    @property
    def is_trained(self) -> bool:
        return self.pending is None

    def needs_retrain(self, growth: float = 4.0) -> bool:
        """True when a trained index holds ``growth`` times the vectors it held when trained
        (or when a full build finished: see `mark_built`)."""
        return self.trained_on > 0 and self.ntotal >= growth * self.trained_on

    @property
    def honours_selectors(self) -> bool:
        """False while searches run on a GPU clone, whose FAISS indexes ignore ID selectors.

        (`search` with ``allowed=`` then falls back to the CPU copy, which is exact but slower; the
        planner prefers to oversample on the GPU and re-check.) HNSW honours selectors but may
        return fewer than ``k`` results under one; callers must check the count.
        """
        return not self.gpu.active or self.pending is not None

    @property
    def mapped(self) -> bool:
        """True while the index is memory-mapped from its file (loaded with ``IO_FLAG_MMAP``)."""
        return self._mapped is not None

    def _ensure_writable(self) -> None:
        """Read a memory-mapped index into memory before its first change (see `MappedFile`)."""
        if self._mapped is None:
            return
        mapped, self._mapped = self._mapped, None
        loaded = mapped.read_in()
        log.info("loaded the memory-mapped %s index into memory for writing", self.spec)
        if self.pending is not None:
            self.pending = loaded
        else:
            self.index = loaded

    @property
    def scans_lists(self) -> bool:
        """True for a trained IVF index: under a bitmap selector, scanning every list costs one
        bit test per vector plus the allowed vectors' distances, less than loading stored ones."""
        return self.pending is None and faiss.try_extract_index_ivf(self.index) is not None

    def needs_compaction(self) -> bool:
        return len(self.deleted) > 0

    def ids(self) -> np.ndarray:
        """Every live id in the index, sorted."""
        parts = [index_ids(self.index)]
        if self.pending is not None:
            parts.append(index_ids(self.pending))
        out = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        if self.deleted:
            out = out[~np.isin(out, np.fromiter(self.deleted, dtype=np.int64))]
        return np.sort(out)

    def stored_vectors(self, ids: np.ndarray) -> np.ndarray | None:
        """The exact float32 vectors of ``ids`` from the index's own codes (for exact scoring of
        a small scope without SQL), or None where the codes are quantised or an id is missing."""
        held = self.pending if self.pending is not None else self.index
        with threads_for(1, 0):  # no OpenMP workers to wake for a lookup
            return reconstruct(held, ids)

    # -- mutation -----------------------------------------------------------------------
    def add(self, ids: Any, vectors: Any) -> None:
        x = check_vectors(vectors, self.dim)
        i = as_ids(ids)
        if len(i) != len(x):
            raise InvalidInputError(f"{len(i)} ids for {len(x)} vectors")
        if len(i) == 0:
            return
        self._ensure_writable()
        self.gpu.drop()
        if self.vectors is not None:  # rows first: an indexed id always has its row
            self.vectors.write(i, x)
        if self.pending is None:
            self.index.add_with_ids(x, i)
            return
        self.pending.add_with_ids(x, i)
        if self.pending.ntotal >= min_train_size(self.spec):
            self._train_from_pending()

    def mark_built(self) -> None:
        """Record that the index now reflects every stored vector: growth is counted from here,
        not from the smaller sample it was trained on."""
        if self.is_trained:
            self.trained_on = max(self.trained_on, self.ntotal)

    def _train_from_pending(self) -> None:
        assert self.pending is not None
        ids = index_ids(self.pending)
        vecs = self.pending.index.reconstruct_n(0, self.pending.ntotal)
        log.info("training %s on %d vectors", self.spec, len(vecs))
        self.train(vecs)
        self.index.add_with_ids(vecs, ids)
        self.pending = None

    def train(self, vectors: Any) -> None:
        x = check_vectors(vectors, self.dim)
        if len(x) < min_train_size(self.spec):
            raise IndexBuildError(
                f"{self.spec} needs at least {min_train_size(self.spec)} training vectors, got {len(x)}"
            )
        self._ensure_writable()
        self.index.train(x)
        self.trained_on = len(x)
        if self.pending is not None and self.pending.ntotal == 0:
            self.pending = None

    def remove(self, ids: Any) -> None:
        i = as_ids(ids)
        if len(i) == 0:
            return
        self._ensure_writable()
        self.gpu.drop()
        sel = faiss.IDSelectorBatch(i)
        if self.pending is not None:
            self.pending.remove_ids(sel)
        if self.removable:
            self.index.remove_ids(removal_selector(self.index, i, sel))
        else:
            present = np.intersect1d(index_ids(self.index), i)
            self.deleted.update(int(v) for v in present)

    # -- search -------------------------------------------------------------------------
    def search(
        self,
        queries: Any,
        k: int,
        allowed: np.ndarray | None = None,
        effort: float = 1.0,
        *,
        params: Mapping[str, int] | None = None,
    ) -> SearchResult:
        """Top-``k`` by the collection's metric, restricted to ``allowed`` ids when given.

        ``effort`` multiplies the index's search breadth (IVF nprobe, HNSW efSearch): under a
        selector that keeps a fraction ``s`` of the items, ``1/s`` keeps the work on allowed
        vectors, and the recall, close to an unrestricted search's. ``params`` overrides
        `search_params` (``nprobe``, ``efSearch``) for this call only.
        """
        q = check_vectors(queries, self.dim, "query vectors")
        if k < 1:
            raise InvalidInputError(f"k must be at least 1, not {k}")
        p = {**self.search_params, **(params or {})}
        if self.pending is not None:
            return self._search(self.pending, q, k, selector(allowed), p)
        sel = selector(allowed, self.deleted)
        wide = k * max(1, int(p.get("refine", 1))) if self.refines else k
        found = self._search(
            self.gpu.searchable(self.index, sel is not None, wide), q, wide, sel, p, effort
        )
        if not self.refines:
            return found
        assert self.vectors is not None
        scores, ids = rescore(q, found.ids, self.vectors, k, self.metric)
        return SearchResult(scores=scores, ids=ids)

    def _search(
        self,
        index: Any,
        q: np.ndarray,
        k: int,
        sel: Any,
        values: Mapping[str, int],
        effort: float = 1.0,
    ) -> SearchResult:
        params = search_parameters(
            index, sel, values, effort, hnsw=graph(self.spec) and index is self.index
        )
        kk = min(k, max(index.ntotal, 1))
        with threads_for(len(q), len(q) * index.ntotal * self.dim):
            scores, ids = index.search(q, kk, params=params) if params else index.search(q, kk)
        if kk < k:
            pad = ((0, 0), (0, k - kk))
            scores = np.pad(scores, pad, constant_values=-np.inf)
            ids = np.pad(ids, pad, constant_values=-1)
        if self.metric == "l2" or (index is not self.pending and "LSH" in self.spec):
            scores = -scores  # higher is better everywhere in latentsearch (distances negated)
        scores = np.where(ids < 0, -np.inf, scores)
        return SearchResult(scores=scores.astype(np.float32), ids=ids)

    # -- persistence (files: `persistence`) ----------------------------------------------
    def save(self, folder: Path, name: str, checkpoint: int) -> None:
        """Atomically save as ``name.json`` (the commit point) naming a fresh ``name.<gen>.faiss``."""
        # A mapped IVF index would be written as a reference to the mapped file: load it first.
        self._ensure_writable()
        fields = {
            "checkpoint": checkpoint,
            "dim": self.dim,
            "spec": self.spec,
            "metric": self.metric,
            "pending": self.pending is not None,
            "trained_on": self.trained_on,
            "deleted": sorted(self.deleted),
            "search_params": self.search_params,
        }
        stored = self.pending if self.pending is not None else self.index
        persistence.save(folder, name, stored, fields)

    @classmethod
    def load(
        cls,
        folder: Path,
        name: str,
        *,
        dim: int,
        spec: str,
        metric: str,
        device: str = "auto",
        mmap: bool | None = None,
        clean: bool = True,
    ) -> tuple[VectorIndex, int] | None:
        """Load a saved index and its checkpoint, or None when it is missing, stale or damaged.

        ``mmap``: map the file instead of reading it (``IO_FLAG_MMAP``): pages load on demand and
        processes share them; None maps files of at least `persistence.MMAP_BYTES`. The first
        write reads the index into memory. ``clean``: remove this index's orphan files.
        """
        expect = {"dim": dim, "spec": spec, "metric": metric}
        loaded = persistence.load(folder, name, expect, mmap=mmap, clean=clean)
        if loaded is None:
            return None
        meta = loaded.meta
        vi = cls(dim, spec, metric, device)
        vi._mapped = loaded.mapped
        if meta["pending"]:
            vi.pending = loaded.index
        else:
            vi.index, vi.pending = loaded.index, None
        vi.trained_on = int(meta["trained_on"])
        vi.deleted = set(meta["deleted"])
        vi.search_params = dict(meta.get("search_params", {}))
        return vi, int(meta["checkpoint"])

    @staticmethod
    def drop(folder: Path, name: str) -> None:
        """Delete every file of the index ``name`` (meta first, so a crash leaves no live index)."""
        persistence.drop(folder, name)
