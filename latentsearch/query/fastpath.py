"""The plain search, optimistically: FAISS first, then rows and seq in one SQL statement.

A search without a filter, by a caller who may see everything, with no exclusions, MMR, grouping
or explanations (S2's case, and most searches of an embedded store) needs no scope and no
planner. It still must answer as of the store's current write seq, so that a write committed by
any process is seen by every later search. The general path (`search.run`) does that by reading
the seq first and replaying missing writes into the index (`Space.sync`), then searching, then
hydrating: two SQL statements in a session.

This path reverses the order:

1. search the index under its lock and note the seq it reflects (``keeper.checkpoint``);
2. read the hits' rows together with the store's seq in one statement (`store.hitrows`), which
   SQL answers from one snapshot;
3. if that seq equals the noted one, the index was exactly the store at that snapshot, so the
   answer is the one the general path would give there; hits are built lazily (`LazyHit`).
   Otherwise (another process wrote, or this one's write is not mirrored yet) return None and
   the caller takes the general path, which syncs: the same guarantee, paid for only when stale.

It runs on the DBAPI cursor of a pooled connection, checked out before the lock is taken (the
lock order of `core.locking`). A DBAPI error also hands over to the general path, which raises
it as the typed error it would be there.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from latentsearch.query.lazyhit import LazyHit
from latentsearch.query.space import Space
from latentsearch.results import Hit
from latentsearch.store import hitrows

log = logging.getLogger(__name__)


def search(space: Space, vectors: np.ndarray, k: int) -> list[list[Hit]] | None:
    """Top-``k`` hits per query row, or None when the general path must answer."""
    dialect = space.store.dialect
    if dialect not in hitrows.DIALECTS or not len(vectors):
        return None
    engine = space.store.engine
    dbapi_error: Any = engine.dialect.loaded_dbapi.Error
    try:
        conn = engine.raw_connection()  # before the lock (`core.locking`)
    except dbapi_error:
        return None
    try:
        with space.lock:
            seen = space.keeper.checkpoint
            res = space.index().search(vectors, k)
        ids, scores = res.ids, res.scores
        found = ids >= 0
        pks = np.unique(ids[found]).tolist()
        cursor = conn.cursor()
        try:
            rows, seqs = hitrows.fetch(cursor, dialect, space.collection_id, pks)
        finally:
            cursor.close()
    except dbapi_error as exc:
        log.debug("fast search path handed over to the general one: %s", exc)
        return None
    finally:
        conn.close()
    if seqs != {seen}:
        return None  # the index is behind (or ahead of) this snapshot: sync on the general path
    return _hits(ids, scores, found, rows)


def _hits(
    ids: np.ndarray,
    scores: np.ndarray,
    found: np.ndarray,
    rows: dict[int, tuple[Any, ...]],
) -> list[list[Hit]]:
    of = LazyHit.of
    out: list[list[Hit]] = []
    for row_ids, row_scores, ok in zip(ids.tolist(), scores.tolist(), found.tolist(), strict=True):
        hits: list[Hit] = []
        for pk, sc, good in zip(row_ids, row_scores, ok, strict=True):
            if good and (r := rows.get(pk)) is not None:
                hits.append(of(r, sc, None))
        out.append(hits)
    return out


def plain(
    where: object, unrestricted: bool, exclude: Sequence[np.ndarray] | None, *extras: object
) -> bool:
    """Whether a request can take this path: no filter, no permission check, no exclusions and
    none of ``extras`` (MMR, grouping, explanations) set."""
    return where is None and unrestricted and exclude is None and not any(extras)
