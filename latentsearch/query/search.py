"""Similarity search from query vectors to `Hit`s: plan, rank, group, diversify, hydrate, explain.

Every read that ranks items by one query vector comes through `run`: plain search, batches,
expressions, 3CosAdd analogies, recommendations and interpolation steps.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from latentsearch.query import fastpath, planner, scoping
from latentsearch.query.hits import HitRow, document_key, make_hit, rows_for
from latentsearch.query.inputs import Term
from latentsearch.query.planner import Ranked, Scope
from latentsearch.query.rerank import best_per_document, explain, mmr_order
from latentsearch.query.scopes import scope_key
from latentsearch.query.space import Space
from latentsearch.results import Hit
from latentsearch.store import items as sql
from latentsearch.store.acl import Access
from latentsearch.store.filters import compile_where
from latentsearch.vectors import unit_rows


@dataclass(slots=True)
class Request:
    """A batch of query vectors and everything that shapes their answers."""

    vectors: np.ndarray
    k: int
    acc: Access
    where: Mapping[str, Any] | None = None
    exclude: Sequence[np.ndarray] | None = None
    mmr: float | None = None
    per_document: bool = False
    terms: Sequence[Sequence[Term]] | None = None  # per query, for hit.why


def scope_of(
    space: Space, where: Mapping[str, Any] | None, acc: Access, s: Session | None = None
) -> Scope:
    """Compile the filter (raising `FilterError` first), bring the index up to the store, and
    decide the candidate set, in ``s`` or a session of its own.

    Every read that ranks starts here, so the index is synced once per read, with the same seq
    that keys the scope. A scope decided earlier at that seq is reused (`ScopeCache`).
    """
    clause = compile_where(where, space.collection_id) if where is not None else None
    key = scope_key(where, acc.principals)
    if s is None:
        with space.store.session() as own:
            return _scope(space, own, clause, key, acc)
    return _scope(space, s, clause, key, acc)


def _scope(
    space: Space, s: Session, clause: ColumnElement[bool] | None, key: Hashable, acc: Access
) -> Scope:
    # The scope is read after the seq: a write landing in between only makes the entry newer
    # than its key, and every reader that sees that write also sees the new seq, so it never
    # gets stale.
    return scoping.decide(space, s, clause, key, acc, space.sync(s))


def run(space: Space, req: Request) -> list[list[Hit]]:
    """Rank and hydrate: one session, one seq check and one hydrating query per round (a plain
    request first tries `fastpath`: one statement in all, when the index is current)."""
    k = req.k
    if fastpath.plain(
        req.where,
        req.acc.unrestricted,
        req.exclude,
        req.mmr is not None,
        req.per_document,
        req.terms is not None,
    ):
        hits = fastpath.search(space, req.vectors, k)
        if hits is not None:
            return hits
    fetch = 2 * k if req.per_document else k
    if req.mmr is not None:
        fetch = max(fetch, space.settings.mmr_pool * k, 20)
    with space.store.session() as s:
        sc = scope_of(space, req.where, req.acc, s)
        while True:
            ranked, _plan = planner.top_k(space, req.vectors, fetch, sc, req.exclude, s)
            rows = rows_for(
                s,
                space.collection_id,
                (int(p) for r in ranked for p in r.ids),
                req.acc,
                vectors=req.terms is not None,
            )
            pools = [_pool(r, rows, req.per_document) for r in ranked]
            # One hit per document: fetch deeper until k documents or the scope is exhausted.
            short = req.per_document and any(
                len(p.ids) < k and len(r.ids) >= fetch for p, r in zip(pools, ranked, strict=True)
            )
            if not short or fetch >= sc.size:
                break
            fetch = min(fetch * 4, sc.size)
        if req.mmr is not None:
            pools = [_diversify(space, s, p, k, req.mmr) for p in pools]
    return finish(space, [Ranked(p.ids[:k], p.scores[:k]) for p in pools], req.acc, req.terms, rows)


def finish(
    space: Space,
    ranked: Sequence[Ranked],
    acc: Access,
    terms: Sequence[Sequence[Term]] | None,
    rows: dict[int, HitRow] | None = None,
) -> list[list[Hit]]:
    """Hydrate ranked answers into hits (one SQL query), explaining them against their terms.

    ``rows``, when given, must carry vectors (``rows_for(..., vectors=True)``) if ``terms`` does.
    """
    if rows is None:
        pks = (int(p) for r in ranked for p in r.ids)
        with space.store.session() as s:
            rows = rows_for(s, space.collection_id, pks, acc, vectors=terms is not None)
    kept = []
    for r in ranked:
        ok = np.asarray([int(pk) in rows for pk in r.ids], dtype=bool)
        kept.append(Ranked(r.ids[ok], r.scores[ok]))
    whys = _whys(space, kept, terms, rows)
    return [
        [
            make_hit(rows[int(pk)], float(sc), why[j] if why else None)
            for j, (pk, sc) in enumerate(zip(r.ids, r.scores, strict=True))
        ]
        for r, why in zip(kept, whys, strict=True)
    ]


def _pool(r: Ranked, rows: dict[int, HitRow], per_document: bool) -> Ranked:
    keep = np.asarray([int(pk) in rows for pk in r.ids], dtype=bool)
    ids, scores = r.ids[keep], r.scores[keep]
    if per_document:
        pos = best_per_document([document_key(rows[int(pk)]) for pk in ids])
        ids, scores = ids[pos], scores[pos]
    return Ranked(ids, scores)


def _diversify(space: Space, s: Session, p: Ranked, k: int, lam: float) -> Ranked:
    if len(p.ids) <= 1:
        return p
    vecs = sql.vectors_for(s, p.ids.tolist(), space.dim)
    units, _ = unit_rows(vecs)  # overflow-safe: l2/ip collections may store huge values
    order = mmr_order(p.scores.astype(np.float64), units, k, lam)
    return Ranked(p.ids[order], p.scores[order])


def _whys(
    space: Space,
    pools: list[Ranked],
    terms: Sequence[Sequence[Term]] | None,
    rows: dict[int, HitRow],
) -> list[list[dict[str, float]] | None]:
    if terms is None:
        return [None] * len(pools)
    out: list[list[dict[str, float]] | None] = []
    for p, ts in zip(pools, terms, strict=True):
        if not ts or not len(p.ids):
            out.append(None if not ts else [])
            continue
        vecs = sql.from_blobs([rows[int(pk)].data for pk in p.ids], space.dim)
        out.append(explain(ts, vecs))
    return out
