"""The fast query path: hits hydrated from column rows (vectors in the same round trip), the
unrestricted scope sized from the synced index, and term lookups in one query."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import event

import latentsearch as ls
from latentsearch.query.hits import rows_for, visible_vectors
from latentsearch.query.search import scope_of
from latentsearch.store.acl import Access, access

DIM = 8
ALL = Access(None)


def _vectors(n: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture
def col(db: ls.Database) -> ls.Collection:
    c = db.create_collection("path", dim=DIM, index="Flat")
    ids = [f"v{i}" for i in range(50)]
    c.add(
        vectors=_vectors(50),
        ids=ids,
        metadata=[{"n": i} for i in range(50)],
        acl=[["*"] if i % 2 == 0 else ["u:odd"] for i in range(50)],
        sources=[{"uri": f"file:///{i}", "title": f"t{i}"} for i in range(50)],
    )
    return c


def test_rows_for_returns_visible_rows_with_their_vectors(col: ls.Collection) -> None:
    space = col._space
    stored = {
        it.id: it.vector for it in col.get([f"v{i}" for i in range(50)], include_vectors=True)
    }
    with space.store.session() as s:
        pks = list(visible_vectors(s, space.collection_id, list(stored), ALL, DIM).values())
        rows = rows_for(
            s,
            space.collection_id,
            [pk for pk, _ in pks],
            access(["u:x"], required=False),
            vectors=True,
        )
        plain = rows_for(s, space.collection_id, [pk for pk, _ in pks], ALL)
    assert len(plain) == 50
    assert sorted(r.external_id for r in rows.values()) == sorted(f"v{i}" for i in range(0, 50, 2))
    for r in rows.values():
        assert np.frombuffer(r.data, dtype="<f4") == pytest.approx(stored[r.external_id])
        assert r.meta == {"n": int(r.external_id[1:])}


def test_rows_for_binds_each_callers_principals(col: ls.Collection) -> None:
    """The restricted statement is built once; each call binds its own caller's names."""
    space = col._space
    with space.store.session() as s:
        pks = [
            pk
            for pk, _ in visible_vectors(
                s, space.collection_id, [f"v{i}" for i in range(50)], ALL, DIM
            ).values()
        ]

        def seen(principals: list[str]) -> set[str]:
            rows = rows_for(s, space.collection_id, pks, access(principals, required=False))
            return {r.external_id for r in rows.values()}

        evens = {f"v{i}" for i in range(0, 50, 2)}
        assert seen([]) == evens  # anonymous: public items only
        assert seen(["u:odd"]) == {f"v{i}" for i in range(50)}
        assert seen(["u:x", "u:y"]) == evens  # the previous caller's names are not kept
        assert seen(["u:odd", "*"]) == {f"v{i}" for i in range(50)}


def test_visible_vectors_hides_what_the_caller_may_not_see(col: ls.Collection) -> None:
    space = col._space
    with space.store.session() as s:
        seen = visible_vectors(
            s, space.collection_id, ["v0", "v1", "nope"], access(["u:x"], required=False), DIM
        )
    assert set(seen) == {"v0"}
    assert seen["v0"][1] == pytest.approx(col.get("v0", include_vectors=True).vector)


def test_hits_carry_metadata_source_and_why(col: ls.Collection) -> None:
    hits = col.analogy(["v2", "v4"], ["v6"], k=5, principals=["u:odd"])
    assert len(hits) == 5 and not {"v2", "v4", "v6"} & {h.id for h in hits}
    stored = {
        it.id: it.vector
        for it in col.get([h.id for h in hits] + ["v2", "v4", "v6"], include_vectors=True)
    }
    for h in hits:
        assert h.metadata == {"n": int(h.id[1:])}
        assert (h.source.uri, h.source.title) == (f"file:///{h.id[1:]}", f"t{h.id[1:]}")
        assert h.why == pytest.approx(
            {t: float(stored[h.id] @ stored[t]) for t in ("v2", "v4", "v6")}, abs=1e-5
        )
    assert col.search(stored["v2"], k=1)[0].why is None


def test_unrestricted_scope_tracks_writes_from_another_handle(
    col: ls.Collection, db, index_path: Path, database
) -> None:
    space = col._space
    assert scope_of(space, None, ALL).size == 50
    other = ls.connect(index_path, database=database, device="cpu")
    try:
        other.collection("path").add(vectors=_vectors(3, seed=1), ids=["a", "b", "c"])
        other.collection("path").delete(["v0"])
    finally:
        other.close()
    assert scope_of(space, None, ALL).size == 52
    q = _vectors(3, seed=1)
    assert col.search_vectors(q, k=1)[0][0].id == "a"
    assert len(col.search_vectors(q, k=60)[0]) == 52


def _statements(col: ls.Collection) -> list[str]:
    """SQL statements run on the collection's engine, as they run."""
    seen: list[str] = []
    event.listen(
        col._space.store.engine,
        "before_cursor_execute",
        lambda _c, _cur, statement, *_a: seen.append(statement),
    )
    return seen


def test_a_search_costs_one_seq_check_and_one_hydrating_query(col: ls.Collection) -> None:
    q = _vectors(1, seed=3)[0]
    seen = _statements(col)
    hits = col.search(q, k=5)
    assert len(hits) == 5
    # A plain search takes `query.fastpath`: one DBAPI statement (tests/query/test_fastpath.py).
    assert seen == []
    col.planner.exact_max = 0  # FAISS with a selector, not the exact scan of a small scope
    hits = col.search(q, k=5, principals=["u:odd"])  # a caller's scope: the general path
    assert len(seen) == 3, seen  # the store's seq (syncs the index), the scope, the hits' rows
    assert "seq" in seen[0] and "metadata" in seen[2]
    seen.clear()
    col.search(q, k=5, where={"n": {"$lt": 40}}, principals=["u:odd"])
    assert len(seen) == 3, seen  # the filter's scope comes between them
    seen.clear()
    again = col.search(q, k=5, where={"n": {"$lt": 40}}, principals=["u:odd"])
    assert len(seen) == 2, seen  # the same scope at the same seq comes from the scope cache
    assert {h.id for h in again} <= {f"v{i}" for i in range(40)}
