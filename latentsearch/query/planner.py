"""The planner: exact top-k under a filter and the caller's permissions.

The scope (items that match the filter and that the caller may see) is decided in SQL first, so
permissions apply before ranking. Then, per batch of query vectors:

1. an empty scope answers nothing;
2. a small scope (`PlannerSettings.exact_limit`: by default 2% of the index, within [64, 2048]) is
   scored exactly from the stored vectors;
3. otherwise FAISS searches with an ID selector restricting it to the scope (CPU indexes honour
   selectors; FAISS GPU indexes outside cuVS builds do not, so on a GPU this step is skipped),
   widening IVF nprobe / HNSW efSearch by ``SELECTOR_EFFORT / selectivity`` so that it examines
   at least as many allowed vectors as an unfiltered search examines vectors (recall stays close);
4. queries that got fewer than ``min(k, available)`` results (HNSW can stop early under a
   selector, IVF only probes some lists, a GPU index ignores selectors) are re-asked without a
   selector, oversampling by a growing factor (and widening the search as much) and re-checking
   every id against the scope; after a short selector search, a scope no larger than the
   oversampled answer goes straight to step 5;
5. whatever is still short is scored exactly by streaming the scope's stored vectors.

So the answer is never shorter than ``k`` when at least ``k`` items qualify, and with an exact
index it equals brute force under the filter. Every id returned is re-checked against the scope.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from latentsearch.query.space import Space
from latentsearch.store import ItemRow, VectorRow
from latentsearch.store import items as sql
from latentsearch.store.acl import Access, item_scope

log = logging.getLogger(__name__)

EMPTY_IDS = np.zeros(0, dtype=np.int64)
# Under a selector keeping a fraction s of the items, IVF nprobe / HNSW efSearch grow by this / s:
# the filtered top-k lie deeper in the unfiltered ranking, so the search must reach further.
SELECTOR_EFFORT = 2.0
SCOPE_FETCH = 65_536  # ids fetched per round trip when deciding a scope


@dataclass(frozen=True, slots=True)
class Scope:
    """The candidate items: ``allowed`` sorted primary keys, or ``None`` for the whole collection."""

    allowed: np.ndarray | None
    size: int

    def contains(self, ids: np.ndarray) -> np.ndarray:
        if self.allowed is None:
            return ids >= 0
        if not len(self.allowed):
            return np.zeros(ids.shape, dtype=bool)
        pos = np.minimum(np.searchsorted(self.allowed, ids), len(self.allowed) - 1)
        found: np.ndarray = self.allowed[pos] == ids
        return found


@dataclass(frozen=True, slots=True)
class Ranked:
    """One query's answer: primary keys best first, with their scores (higher is better)."""

    ids: np.ndarray
    scores: np.ndarray


@dataclass(frozen=True, slots=True)
class Plan:
    """What the planner did for a batch (for logs, tests and ``explain``)."""

    strategy: str
    scope_size: int


def scope(space: Space, s: Session, where: ColumnElement[bool] | None, acc: Access) -> Scope:
    """Decide the candidate set in SQL (one query; none for the whole collection)."""
    if where is None and acc.unrestricted:
        # The index is kept in step with the store, so its size is the item count: no
        # count(*) over every row (milliseconds per query on a million items).
        with space.lock:
            return Scope(None, space.index().ntotal)
    stmt = (
        select(ItemRow.id).where(item_scope(space.collection_id, where, acc)).order_by(ItemRow.id)
    )
    # A scope can hold millions of ids: read them from the DBAPI cursor in big batches, not as
    # SQLAlchemy rows (an integer column needs no result processing; 10k ids: 13 vs 24 ms).
    cursor = s.connection().execute(stmt).cursor
    parts = []
    while rows := cursor.fetchmany(SCOPE_FETCH):
        parts.append(np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)))
    arr = np.concatenate(parts) if parts else EMPTY_IDS
    return Scope(arr, len(arr))


def score_matrix(metric: str, queries: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Scores of every (query, vector) pair as the index defines them (higher is better)."""
    if metric == "l2":
        d = (queries**2).sum(1)[:, None] - 2.0 * queries @ vectors.T + (vectors**2).sum(1)[None, :]
        negated: np.ndarray = (-d).astype(np.float32)
        return negated
    dots: np.ndarray = (queries @ vectors.T).astype(np.float32)
    return dots


def top_k(
    space: Space,
    queries: np.ndarray,
    k: int,
    sc: Scope,
    exclude: Sequence[np.ndarray] | None = None,
    s: Session | None = None,
) -> tuple[list[Ranked], Plan]:
    """The exact top-``k`` of each query within the scope, minus each query's ``exclude`` ids.

    ``s``: the caller's session, reused for exact scans (a thread never holds two pooled
    connections at once, so a bounded pool cannot starve)."""
    n = len(queries)
    excl = (
        [np.asarray(e, dtype=np.int64) for e in exclude] if exclude is not None else [EMPTY_IDS] * n
    )
    if sc.size == 0:
        return [Ranked(EMPTY_IDS, np.zeros(0, np.float32)) for _ in range(n)], Plan("empty", 0)
    if sc.allowed is not None:
        with space.lock:
            index = space.index()
            total, lists = index.ntotal, index.scans_lists
        if sc.size <= space.settings.exact_limit(total, lists):
            return exact(space, queries, k, sc, excl, s), Plan("exact", sc.size)
    avail = [sc.size - int(sc.contains(e).sum()) for e in excl]
    want = [min(k, a) for a in avail]
    extra = max((len(e) for e in excl), default=0)
    out: list[Ranked | None] = [None] * n
    steps = []
    with space.lock:
        index = space.index()
        total = index.ntotal
        if sc.allowed is None or (index.honours_selectors and space.settings.selectors):
            # Examine about as many allowed vectors as an unfiltered search examines vectors.
            effort = SELECTOR_EFFORT * total / max(sc.size, 1) if sc.allowed is not None else 1.0
            res = index.search(queries, k + extra, allowed=sc.allowed, effort=effort)
            steps.append("faiss+selector" if sc.allowed is not None else "faiss")
            for i, r in enumerate(_keep(res.ids, res.scores, sc, excl, k)):
                if len(r.ids) >= want[i]:
                    out[i] = r
        short = [i for i in range(n) if out[i] is None]
        # Too few came back: ask again without a selector, oversampling, and re-check the scope.
        kk = math.ceil((k + extra) * max(1.0, total / max(sc.size, 1)) * 1.5)
        # After a short selector search, a scope no larger than the oversampled answer would be
        # is cheaper to score exactly (and exact).
        straight_to_exact = bool(steps) and sc.size <= kk
        rounds = 0
        while short and total > 0 and not straight_to_exact:
            kk = min(kk, total)
            # As deep in the index as in the ranking: kk answers need kk/k times the breadth.
            res = index.search(queries[short], kk, effort=SELECTOR_EFFORT * kk / (k + extra))
            rounds += 1
            kept = _keep(res.ids, res.scores, sc, [excl[i] for i in short], k)
            for i, r in zip(short, kept, strict=True):
                if len(r.ids) >= want[i]:
                    out[i] = r
            short = [i for i in short if out[i] is None]
            if kk >= total:
                break
            kk *= space.settings.oversample
        if rounds:
            steps.append(f"oversample×{rounds}")
    if short:
        steps.append("exact-scan")
        for i, r in zip(
            short, exact(space, queries[short], k, sc, [excl[i] for i in short], s), strict=True
        ):
            out[i] = r
    plan = Plan("+".join(steps), sc.size)
    log.debug("planner: %s over %d items for %d queries (k=%d)", plan.strategy, sc.size, n, k)
    return [r for r in out if r is not None], plan


def _keep(
    ids: np.ndarray, scores: np.ndarray, sc: Scope, excl: Sequence[np.ndarray], k: int
) -> list[Ranked]:
    """Per row of a FAISS answer: the first ``k`` ids in the scope and not in the row's ``excl``
    (masks computed for the whole batch at once)."""
    ok = (ids >= 0) & sc.contains(ids)
    width = max((len(e) for e in excl), default=0)
    if width:
        pad = np.full((len(excl), width), -1, dtype=np.int64)  # -1 is never a kept id
        for i, e in enumerate(excl):
            pad[i, : len(e)] = e
        ok &= ~(ids[:, :, None] == pad[:, None, :]).any(axis=2)
    return [Ranked(i[m][:k], s[m][:k]) for i, s, m in zip(ids, scores, ok, strict=True)]


def exact(
    space: Space,
    queries: np.ndarray,
    k: int,
    sc: Scope,
    excl: Sequence[np.ndarray],
    s: Session | None = None,
) -> list[Ranked]:
    """Brute force over the scope's stored vectors (streamed from SQL in batches, through ``s``
    when given)."""

    def scorer(vectors: np.ndarray) -> np.ndarray:
        return score_matrix(space.metric, queries, vectors)

    return scan(space, sc, scorer, len(queries), k, excl, s)


def scan(
    space: Space,
    sc: Scope,
    scorer: Callable[[np.ndarray], np.ndarray],
    n: int,
    k: int,
    excl: Sequence[np.ndarray] | None = None,
    s: Session | None = None,
) -> list[Ranked]:
    """Top-``k`` by any ``scorer(vectors) -> (n, m) scores`` over every item in the scope.

    Used for exact filtered search and for objectives no index can answer (3CosMul, best_score).
    """
    best_ids = [EMPTY_IDS] * n
    best_scores = [np.zeros(0, np.float32)] * n
    for ids, vecs in stream(space, sc, s):
        scores = scorer(vecs)
        for i in range(n):
            keep = (
                np.ones(len(ids), dtype=bool)
                if excl is None or not len(excl[i])
                else ~np.isin(ids, excl[i])
            )
            cand_ids = np.concatenate([best_ids[i], ids[keep]])
            cand_scores = np.concatenate([best_scores[i], scores[i][keep]])
            order = _order(cand_ids, cand_scores, k)
            best_ids[i], best_scores[i] = cand_ids[order], cand_scores[order].astype(np.float32)
    return [Ranked(a, b) for a, b in zip(best_ids, best_scores, strict=True)]


def _order(ids: np.ndarray, scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the best ``k``: higher score first, then lower id (deterministic ties)."""
    if len(scores) > k:
        part = np.argpartition(-scores, k - 1)[:k]
        cut = scores[part].min()
        part = np.flatnonzero(scores >= cut)  # keep every tie at the cut, then sort
    else:
        part = np.arange(len(scores))
    order = part[np.lexsort((ids[part], -scores[part]))]
    return order[:k]


def stream(
    space: Space, sc: Scope, s: Session | None = None
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(ids, vectors) of every item in the scope, in batches, from the store (through ``s``, or
    a session of its own)."""
    if s is None:
        with space.store.session() as own:
            yield from stream(space, sc, own)
        return
    batch = space.settings.scan_batch
    if sc.allowed is None:
        yield from sql.iter_vectors(s, space.collection_id, space.dim, batch=batch)
        return
    for start in range(0, len(sc.allowed), batch):
        part = sc.allowed[start : start + batch].tolist()
        found: dict[int, bytes] = {}
        for chunk in sql.chunks(part):
            rows = s.execute(
                select(VectorRow.item_id, VectorRow.data).where(VectorRow.item_id.in_(chunk))
            )
            found.update({int(pk): data for pk, data in rows})
        ids = np.asarray(
            [pk for pk in part if pk in found], dtype=np.int64
        )  # deleted meanwhile: skipped
        yield ids, sql.from_blobs([found[int(pk)] for pk in ids], space.dim)
