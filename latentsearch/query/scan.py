"""Exact top-k over a scope: the scope and answer types, and brute-force scoring.

Two sources of vectors: the index's own float32 codes, looked up by id (`from_index`: no SQL,
for the small scopes the planner scores exactly), and the stored vectors streamed from SQL
(`exact`, `scan`: any scope, any scoring function, whatever the index keeps).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from latentsearch.index.stored import exact_scores
from latentsearch.query.space import Space
from latentsearch.store import VectorRow
from latentsearch.store import items as sql

EMPTY_IDS = np.zeros(0, dtype=np.int64)


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


def score_matrix(metric: str, queries: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Scores of every (query, vector) pair as the index defines them (higher is better)."""
    if metric == "l2":
        d = (queries**2).sum(1)[:, None] - 2.0 * queries @ vectors.T + (vectors**2).sum(1)[None, :]
        negated: np.ndarray = (-d).astype(np.float32)
        return negated
    dots: np.ndarray = (queries @ vectors.T).astype(np.float32)
    return dots


def from_index(
    space: Space, queries: np.ndarray, k: int, sc: Scope, excl: Sequence[np.ndarray]
) -> list[Ranked] | None:
    """Brute force over the scope's vectors as the index holds them (float32 codes, looked up
    by id), or None when the index cannot give them (quantised codes, a sharded index, an id
    written after the index was synced): the caller then reads the stored ones."""
    assert sc.allowed is not None
    with space.lock:
        get = getattr(space.index(), "stored_vectors", None)
        vectors = get(sc.allowed) if get is not None else None
    if vectors is None:
        return None
    out = []
    for i, q in enumerate(queries):
        row = exact_scores(space.metric, q, vectors)
        ids = sc.allowed
        if len(excl[i]):
            keep = ~np.isin(ids, excl[i])
            ids, row = ids[keep], row[keep]
        order = _order(ids, row, k)
        out.append(Ranked(ids[order], row[order]))
    return out


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
