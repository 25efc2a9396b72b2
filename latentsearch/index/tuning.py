"""Recall-targeted tuning: measure, on the collection's own vectors, how wide a search must be.

A sample of stored vectors serves as queries. Their exact neighbours are found by brute force
while the index is built (`GroundTruth`, fed the same chunks), so tuning costs one extra pass of
matrix products, not a second read of the store. The brute force and the recall count are
faiss.contrib's (`knn_ground_truth` per chunk, merged across chunks in a `faiss.ResultHeap`;
`knn_intersection_measure`). `tune` then tries growing nprobe (IVF) or
efSearch (HNSW) values on one half of the sample and keeps the smallest whose recall@k meets the
target, and reports the recall it measures on the other, held-out half.

Each query is a stored vector, so its own id is its trivially found nearest neighbour: it is
dropped from both the exact and the approximate answers before recall is counted.
"""

from __future__ import annotations

import contextlib
import logging
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from latentsearch.index.faiss_index import VectorIndex
from latentsearch.index.primitives import (
    METRICS,
    faiss,
    knn_ground_truth,
    knn_intersection_measure,
)
from latentsearch.index.specs import graph

log = logging.getLogger(__name__)

# Tuning is aimed a little above the target so that the held-out half meets it too.
MARGIN = 0.01
SAMPLE = 512


@dataclass(frozen=True, slots=True)
class Tuning:
    """The outcome of `tune`: the parameter chosen and the recall measured with it."""

    param: str | None  # "nprobe", "efSearch", "refine", or None for exact indexes
    value: int | None
    recall: float  # recall@k on held-out sample queries
    target: float
    k: int
    queries: int
    tried: dict[int, float] = field(default_factory=dict)

    @property
    def params(self) -> dict[str, int]:
        """The search parameters to apply (empty for an index with nothing to tune)."""
        return {self.param: self.value} if self.param and self.value is not None else {}

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["tried"] = {str(v): r for v, r in self.tried.items()}
        return d


class GroundTruth:
    """Exact top-(k+1) of ``queries`` over the vectors fed to `add`, chunk by chunk."""

    def __init__(self, queries: np.ndarray, query_ids: np.ndarray, k: int, metric: str) -> None:
        self.queries = np.ascontiguousarray(queries, dtype=np.float32)
        self.query_ids = np.asarray(query_ids, dtype=np.int64)
        self.k = k
        self.metric = METRICS[metric]
        self._heap = faiss.ResultHeap(
            len(queries), k + 1, keep_max=self.metric == faiss.METRIC_INNER_PRODUCT
        )

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids) == 0 or len(self.queries) == 0:
            return
        # One chunk is one block of faiss.contrib's brute force, on the CPU (ngpu=0) as the
        # index's own exact search is; positions in the chunk become ids, -1 (no neighbour:
        # a chunk smaller than k+1) stays -1 and loses to every real neighbour in the heap.
        block = np.ascontiguousarray(vectors, dtype=np.float32)
        d, i = knn_ground_truth(self.queries, [block], self.k + 1, self.metric, ngpu=0)
        labels = np.where(i >= 0, np.asarray(ids, dtype=np.int64)[np.clip(i, 0, None)], -1)
        self._heap.add_result(d, labels)

    def neighbours(self) -> np.ndarray:
        """Exact neighbour ids per query, the query's own id removed: shape (nq, k)."""
        self._heap.finalize()
        return _drop_self(self._heap.I, self.query_ids, self.k)


def sample_ids(all_ids: np.ndarray, size: int = SAMPLE, seed: int = 0) -> np.ndarray:
    """A reproducible random sample of ids to use as tuning queries."""
    if len(all_ids) <= size:
        return np.asarray(all_ids, dtype=np.int64)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(np.asarray(all_ids, dtype=np.int64), size, replace=False))


def tune(
    index: VectorIndex,
    queries: np.ndarray,
    query_ids: np.ndarray,
    truth: np.ndarray,
    target: float,
    k: int = 10,
    lock: AbstractContextManager[Any] | None = None,
) -> Tuning:
    """The narrowest search of ``index`` whose recall@k meets ``target`` (``index`` is unchanged;
    apply the result with ``index.search_params.update(result.params)``).

    ``lock`` is held around each search: FAISS indexes must not be searched while a writer
    changes them, so tuning a live index takes the writers' lock a few milliseconds at a time.
    """
    param, values = candidates(index)
    n = len(queries)
    if param is None or n == 0:
        return Tuning(None, None, float("nan"), target, k, n)
    half = max(1, n // 2)
    fit, check = slice(0, half), (slice(half, n) if n > 1 else slice(0, n))

    def recall(v: int, part: slice) -> float:
        with lock or contextlib.nullcontext():
            found = index.search(queries[part], k + 1, params={param: v}).ids
        return recall_at_k(_drop_self(found, query_ids[part], k), truth[part])

    tried: dict[int, float] = {}
    chosen = values[-1]
    for v in values:
        tried[v] = recall(v, fit)
        if tried[v] >= min(1.0, target + MARGIN):
            chosen = v
            break
    held_out = recall(chosen, check)
    # If the held-out half falls short, widen step by step (while there is a step left).
    while held_out < target and chosen != values[-1]:
        chosen = values[values.index(chosen) + 1]
        held_out = recall(chosen, check)
    log.info(
        "tuned %s: %s=%d gives recall@%d %.3f on %d held-out queries (target %.2f)",
        index.spec,
        param,
        chosen,
        k,
        held_out,
        n - half,
        target,
    )
    return Tuning(param, chosen, held_out, target, k, n, tried)


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> float:
    """Share of the neighbours in ``truth`` (ids per query, -1 = none) that the same row of
    ``found`` holds, over all queries (1.0 when ``truth`` names none)."""
    found, truth = np.asarray(found, dtype=np.int64), np.asarray(truth, dtype=np.int64)
    if len(found) != len(truth):
        raise ValueError(f"{len(found)} rows of results for {len(truth)} rows of ground truth")
    total = int((truth >= 0).sum())
    if total == 0:
        return 1.0
    # faiss.contrib counts shared ids over tables of one shape: pad the narrower with ids that
    # match nothing (-1 never names a neighbour in truth, so it becomes -2 there).
    width = max(found.shape[1], truth.shape[1])
    t = _widen(np.where(truth >= 0, truth, -2), width, -2)
    f = _widen(found, width, -1)
    hits = round(float(knn_intersection_measure(t, f)) * t.size)
    return hits / total


def _widen(table: np.ndarray, width: int, fill: int) -> np.ndarray:
    extra = width - table.shape[1]
    return np.pad(table, ((0, 0), (0, extra)), constant_values=fill) if extra > 0 else table


def _drop_self(ids: np.ndarray, query_ids: np.ndarray, k: int) -> np.ndarray:
    """Remove each query's own id from its row and keep the first ``k``."""
    out = np.full((len(ids), k), -1, dtype=np.int64)
    for r, (row, own) in enumerate(zip(ids, query_ids, strict=True)):
        rest = row[row != own][:k]
        out[r, : len(rest)] = rest
    return out


def tunable(index: VectorIndex) -> bool:
    """True when the index has a speed/recall parameter to tune (a trained IVF, or HNSW)."""
    return candidates(index)[0] is not None


def candidates(index: VectorIndex) -> tuple[str | None, list[int]]:
    """The parameter that trades speed for recall on this index, and the values to try."""
    ivf = faiss.try_extract_index_ivf(index.index)
    if ivf is not None and index.is_trained:
        nlist = int(ivf.nlist)
        vals = sorted({min(nlist, v) for v in (1, 2, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128)})
        vals += [v for v in (192, 256, 384, 512, 1024, 2048, 4096) if v < nlist] + [nlist]
        return "nprobe", sorted(set(vals))
    if graph(index.spec) and index.is_trained:
        return "efSearch", [16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 1024]
    if index.refines and index.is_trained:  # a flat scan of codes: how many to rescore
        return "refine", [1, 2, 4, 8, 16, 32, 64, 128, 256]
    return None, []
