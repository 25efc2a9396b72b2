"""The planner: exact top-k under a filter and the caller's permissions.

The scope (items that match the filter and that the caller may see) is decided in SQL first
(`scoping`), so permissions apply before ranking. Then, per batch of query vectors, a route is
chosen by the scope's size and its share ``s`` of the index (the selectivity), as FAISS's own
filtered-search baseline does (thresholds: `PlannerSettings`, measured in docs/benchmarks.md, S3):

1. an empty scope answers nothing;
2. a small scope is scored exactly: from the index's own float32 vectors looked up by id
   (``exact``; no SQL, no selector scan), else streamed from the stored vectors (``exact-sql``,
   for quantised or sharded indexes, on smaller scopes only);
3. a wide scope (``s`` ≥ ``postfilter_min``) searches without a selector, asking for
   ``k / s`` answers with a margin, and keeps those in scope (``postfilter``);
4. otherwise FAISS searches with an ID selector restricting it to the scope (``faiss+selector``;
   CPU indexes honour selectors, FAISS GPU indexes outside cuVS builds do not, so on a GPU this
   step is skipped). IVF widens nprobe by ``SELECTOR_EFFORT / s`` so that it examines at least
   as many allowed vectors as an unfiltered search examines vectors; HNSW widens efSearch only
   up to `HNSW_MAX_EFFORT` (a graph search under a selector still walks the rejected nodes, so a
   wider beam costs far more than it gains: scopes that need it are scored exactly instead);
5. queries that got fewer than ``min(k, available)`` results (HNSW can stop early under a
   selector, IVF only probes some lists, a GPU index ignores selectors) are re-asked without a
   selector, oversampling by a growing factor (and widening the search as much) and re-checking
   every id against the scope; after a short selector search, a scope no larger than the
   oversampled answer goes straight to step 6;
6. whatever is still short is scored exactly by streaming the scope's stored vectors.

So the answer is never shorter than ``k`` when at least ``k`` items qualify, and with an exact
index it equals brute force under the filter. Every id returned is re-checked against the scope.
FAISS has no filter-aware graph search (ACORN) in its Python build (1.15.1 offers neither
``IndexACORNFlat`` nor an ``ACORN`` factory string), hence exact scoring below the HNSW reach.

The index is used only through ``ntotal``, ``scans_lists``, ``honours_selectors``, ``search``
and, where it has it, ``stored_vectors`` (a sharded index may not), so any keeper's index fits.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy.orm import Session

from latentsearch.query.scan import (
    EMPTY_IDS,
    Ranked,
    Scope,
    exact,
    from_index,
    scan,
    score_matrix,
    stream,
)
from latentsearch.query.space import Space

__all__ = [
    "EMPTY_IDS",
    "Plan",
    "Ranked",
    "Scope",
    "exact",
    "scan",
    "score_matrix",
    "stream",
    "top_k",
]

log = logging.getLogger(__name__)

# Under a selector keeping a fraction s of the items, IVF nprobe grows by this / s: the filtered
# top-k lie deeper in the unfiltered ranking, so the search must reach further.
SELECTOR_EFFORT = 2.0
# HNSW efSearch grows by HNSW_REACH / s, at most HNSW_MAX_EFFORT times: at s = 10% the tuned
# efSearch alone gives recall@10 0.94-0.957 and twice it 0.98; at 1% even 4× stays below 0.86
# (S3 workload, 100k items), so such scopes are scored exactly instead.
HNSW_REACH = 0.2
HNSW_MAX_EFFORT = 4.0
# The unfiltered search of a wide scope reaches at least this much further than the tuned one:
# it must rank k / s answers, not k (HNSW at s = 50%: recall@10 0.95 at 1×).
POSTFILTER_EFFORT = 2.0


@dataclass(frozen=True, slots=True)
class Plan:
    """What the planner did for a batch (for logs, tests and ``explain``)."""

    strategy: str
    scope_size: int


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
    with space.lock:
        index = space.index()
        total, lists = index.ntotal, index.scans_lists
    cfg = space.settings
    if sc.allowed is not None:
        if sc.size <= cfg.memory_limit(total) and cfg.memory:
            found = from_index(space, queries, k, sc, excl)
            if found is not None:
                return found, Plan("exact", sc.size)
        if sc.size <= cfg.exact_limit(total, lists):
            return exact(space, queries, k, sc, excl, s), Plan("exact-sql", sc.size)
    avail = [sc.size - int(sc.contains(e).sum()) for e in excl]
    want = [min(k, a) for a in avail]
    extra = max((len(e) for e in excl), default=0)
    share = sc.size / max(total, 1)
    out: list[Ranked | None] = [None] * n
    steps = []
    with space.lock:
        index = space.index()
        total = index.ntotal
        first = 0  # the oversampled depth already asked for without a selector
        if sc.allowed is None:
            res = index.search(queries, k + extra)
            steps.append("faiss")
        elif share >= cfg.postfilter_min:
            # A wide scope: ask for k / s with a margin, unrestricted, and keep the scope's.
            first = min(total, math.ceil((k + extra) / share * cfg.postfilter_margin))
            effort = max(POSTFILTER_EFFORT, _effort(lists, share))
            res = index.search(queries, first, effort=effort)
            steps.append("postfilter")
        elif index.honours_selectors and cfg.selectors:
            effort = _effort(lists, share)
            res = index.search(queries, k + extra, allowed=sc.allowed, effort=effort)
            steps.append("faiss+selector")
        if steps:
            for i, r in enumerate(_keep(res.ids, res.scores, sc, excl, k)):
                if len(r.ids) >= want[i]:
                    out[i] = r
        short = [i for i in range(n) if out[i] is None]
        # Too few came back: ask again without a selector, oversampling, and re-check the scope.
        kk = math.ceil((k + extra) * max(1.0, total / max(sc.size, 1)) * 1.5)
        kk = max(kk, first * cfg.oversample)
        # After a short filtered search, a scope no larger than the oversampled answer would be
        # is cheaper to score exactly (and exact).
        straight_to_exact = bool(steps) and steps[0] != "faiss" and sc.size <= kk
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
            kk *= cfg.oversample
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


def _effort(scans_lists: bool, share: float) -> float:
    """How much wider than unfiltered to search a scope holding ``share`` of the index."""
    if scans_lists:  # IVF: reach as many allowed vectors as an unfiltered search reaches
        return SELECTOR_EFFORT / max(share, 1e-9)
    # HNSW (and Flat, which ignores it): a modest widening, see HNSW_REACH.
    return min(HNSW_MAX_EFFORT, max(1.0, HNSW_REACH / max(share, 1e-9)))


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
