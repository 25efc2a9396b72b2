"""The plain search's fast path (`query.fastpath`): lazy hits equal to the general path's eager
ones, one statement per search, the seq check across handles, and `search_vectors`' batched
normalisation equal to `resolve`'s. Each test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import dataclasses
import json
import pickle
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import event

import latentsearch as ls
from latentsearch.errors import InvalidInputError, NonFiniteVectorError
from latentsearch.query import fastpath
from latentsearch.query.inputs import Spec, resolve, unit_queries
from latentsearch.query.lazyhit import LazyHit
from latentsearch.query.search import Request, run
from latentsearch.results import Hit
from latentsearch.store.acl import Access

DIM = 8
N = 40
ALL = Access(None)
FIELDS = [f.name for f in dataclasses.fields(Hit)]


def _vectors(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)


@pytest.fixture
def col(db: ls.Database) -> ls.Collection:
    c = db.create_collection("fast", dim=DIM, index="Flat")
    x = _vectors(N)
    records = []
    for i in range(N):
        r: dict = {"id": f"v{i}", "vector": x[i]}
        if i % 2:
            r["metadata"] = {"n": i, "name": f"é{i}", "tags": ["a", {"deep": [1, 2.5, None]}]}
        if i % 3:
            r["source"] = {"uri": f"file:///doc{i}.txt", "title": f"Doc {i}"}
        if i % 4 == 1:
            r["chunk"] = {"parent": f"doc{i // 4}", "start": i, "end": i + 10}
        records.append(r)
    c.add(records)
    return c


def _general(col: ls.Collection, q: np.ndarray, k: int) -> list[list[Hit]]:
    """The general path's answer: the same request with the fast path switched off."""
    saved = fastpath.search
    fastpath.search = lambda *_a, **_k: None  # type: ignore[assignment]
    try:
        return run(col._space, Request(q, k, ALL))
    finally:
        fastpath.search = saved


def test_lazy_hits_equal_the_general_paths_eager_hits(col: ls.Collection) -> None:
    q = _vectors(5, seed=1)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    fast = fastpath.search(col._space, q, N)
    assert fast is not None  # the index is current: no hand-over
    eager = _general(col, q, N)
    assert [len(h) for h in fast] == [N] * 5
    for fh, eh in zip(fast, eager, strict=True):
        for f, e in zip(fh, eh, strict=True):
            assert isinstance(f, LazyHit) and type(e) is Hit
            for name in FIELDS:  # field by field, before anything is built
                assert getattr(f, name) == getattr(e, name), name
            assert f == e and e == f and repr(f) == repr(e)
    assert fast == eager
    # The parts were really deferred: a fresh hit holds its row until one of them is read.
    h = fastpath.search(col._space, q[:1], 1)[0][0]  # type: ignore[index]
    assert h._row is not None
    assert h.metadata == eager[0][0].metadata and h._row is None


def test_lazy_hits_pickle_copy_serialise_and_replace_as_hits(col: ls.Collection) -> None:
    q = _vectors(1, seed=2)
    hits = col.search_vectors(q, k=N)[0]
    eager = _general(col, q / np.linalg.norm(q), N)[0]
    assert any(h.chunk for h in hits) and any(h.metadata for h in hits)
    for h, e in zip(hits, eager, strict=True):
        assert isinstance(h, LazyHit)
        back = pickle.loads(pickle.dumps(h))
        assert type(back) is Hit and back == e
        assert type(copy.copy(h)) is Hit and copy.deepcopy(h) == e
        assert dataclasses.asdict(h) == dataclasses.asdict(e)
        assert json.dumps(dataclasses.asdict(h)) == json.dumps(dataclasses.asdict(e))
        moved = dataclasses.replace(h, score=0.5)
        assert moved == dataclasses.replace(e, score=0.5)
    # Mutable like a Hit: a field set before or after the deferred parts are built sticks.
    fresh = col.search_vectors(q, k=1)[0][0]
    fresh.metadata = {"x": 1}
    assert fresh.metadata == {"x": 1} and fresh.source == eager[0].source


def _sqlite_trace(col: ls.Collection) -> list[str]:
    """Every statement SQLite runs on a pooled connection from now on (the DBAPI's own trace,
    so it sees what bypasses SQLAlchemy's events too)."""
    seen: list[str] = []

    def trace(dbapi_conn: sqlite3.Connection, *_a: object) -> None:
        dbapi_conn.set_trace_callback(seen.append)

    event.listen(col._space.store.engine.pool, "checkout", trace)
    return seen


def test_a_plain_search_is_one_statement_with_the_seq(col: ls.Collection) -> None:
    alchemy: list[str] = []
    event.listen(col._space.store.engine, "before_cursor_execute", lambda *a: alchemy.append(a[2]))
    traced = _sqlite_trace(col) if col._space.store.dialect == "sqlite" else None
    hits = col.search_vectors(_vectors(3, seed=4), k=5)
    assert [len(h) for h in hits] == [5, 5, 5]
    assert alchemy == []  # no SQLAlchemy statement: the fast path answered
    if traced is not None:
        assert len(traced) == 1, traced
        assert "seq" in traced[0] and "metadata" in traced[0]


def test_writes_of_another_handle_are_seen_at_once(
    col: ls.Collection, index_path: Path, database: str | None
) -> None:
    q = _vectors(1, seed=5)
    before = col.search_vectors(q, k=N + 5)[0]
    assert len(before) == N
    other = ls.connect(index_path, database=database, device="cpu")
    try:
        o = other.collection("fast")
        o.add(vectors=q * 3, ids=["new"], metadata=[{"fresh": True}])
        o.delete([before[0].id])
        o.upsert(vectors=_vectors(1, seed=6), ids=["v3"], metadata=[{"changed": 1}])
    finally:
        other.close()
    after = col.search_vectors(q, k=N + 5)[0]
    ids = [h.id for h in after]
    assert ids[0] == "new" and after[0].metadata == {"fresh": True}
    assert before[0].id not in ids and len(after) == N
    assert next(h for h in after if h.id == "v3").metadata == {"changed": 1}
    assert after == _general(col, q / np.linalg.norm(q), N + 5)[0]


def test_search_vectors_normalises_as_resolve_does(col: ls.Collection) -> None:
    rng = np.random.default_rng(7)
    q = (rng.standard_normal((20, DIM)) * rng.uniform(1e-3, 1e3, (20, 1))).astype(np.float32)
    space = col._space
    terms = resolve(space, [Spec("vector", r, "<vector>") for r in q], ALL)

    assert np.array_equal(unit_queries(space, q), np.stack([t.vector for t in terms]))
    by_batch = col.search_batch(list(q), k=5)
    assert col.search_vectors(q, k=5) == by_batch
    bad = q.copy()
    bad[3, 1] = np.nan
    with pytest.raises(NonFiniteVectorError, match="<vector>"):
        col.search_vectors(bad, k=5)
    zero = q.copy()
    zero[2] = 0
    with pytest.raises(InvalidInputError, match="zero vector"):
        col.search_vectors(zero, k=5)
    assert col.search_vectors(np.zeros((0, DIM), np.float32), k=5) == []
