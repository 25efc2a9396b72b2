"""Deciding scopes (`query.scoping`): the fast paths equal the plain SQL query, a write retires
every cached decision, and no two callers' principals ever share an entry."""

from __future__ import annotations

import numpy as np
import pytest
from query_support import unit
from sqlalchemy import select

import latentsearch as ls
from latentsearch.query.scopes import ScopeCache, scope_key
from latentsearch.query.search import scope_of
from latentsearch.store import ItemRow
from latentsearch.store.acl import access, item_scope
from latentsearch.store.filters import compile_where

N = 60
ACLS = [["u:a"], ["u:b"], ["g:x"], ["*"], [], ["u:a", "g:x"]]
WHERES = [
    None,
    {"n": {"$lt": 20}},
    {"n": {"$gte": 10, "$lt": 40}},
    {"tag": {"$in": ["a", "c"]}},
    {"tags": {"$contains": "a"}},  # items listing "a" twice: one id each
    {"n": {"$lt": 30}, "tag": "b"},  # two leaves: the generic query
    {"$or": [{"n": 1}, {"tag": "c"}]},
    {"id": {"$lt": "i3"}},
]
CALLERS = [None, [], ["u:a"], ["u:b", "g:x"], ["*"]]


@pytest.fixture
def col(db: ls.Database) -> ls.Collection:
    c = db.create_collection("scopes", dim=4, index="Flat")
    c.add(
        vectors=unit(np.random.default_rng(0).normal(size=(N, 4))),
        ids=[f"i{i}" for i in range(N)],
        metadata=[
            {"n": i, "tag": "abc"[i % 3], "tags": ["a", "a"] if i % 4 == 0 else ["b"]}
            for i in range(N)
        ],
        acl=[ACLS[i % len(ACLS)] for i in range(N)],
    )
    return c


def _reference(col: ls.Collection, where, principals) -> list[int]:
    """The scope as one plain SQL query (permissions probed per row) answers it."""
    acc = access(principals, required=False)
    clause = compile_where(where, col.id) if where is not None else None
    with col._space.store.session() as s:
        stmt = select(ItemRow.id).where(item_scope(col.id, clause, acc)).order_by(ItemRow.id)
        return [int(i) for i in s.scalars(stmt)]


def _scope(col: ls.Collection, where, principals) -> list[int]:
    sc = scope_of(col._space, where, access(principals, required=False))
    if sc.allowed is None:
        return _reference(col, None, None)
    assert list(sc.allowed) == sorted(set(sc.allowed.tolist()))  # sorted, no duplicates
    return [int(i) for i in sc.allowed]


def test_every_path_equals_the_plain_query(col: ls.Collection) -> None:
    """First ask (probe per row), second (the caller's visible ids fetched), third (cached)."""
    for _round in range(3):
        for where in WHERES:
            for principals in CALLERS:
                assert _scope(col, where, principals) == _reference(col, where, principals), (
                    where,
                    principals,
                )


def test_a_write_retires_cached_scopes(col: ls.Collection) -> None:
    where, caller = {"n": {"$lt": 100}}, ["u:a"]
    for _ in range(3):
        before = _scope(col, where, caller)
    col.add(vectors=unit(np.ones((1, 4))), ids=["new"], metadata=[{"n": 99}], acl=[["u:a"]])
    after = _scope(col, where, caller)
    assert after == _reference(col, where, caller) and len(after) == len(before) + 1
    # An ACL change alone (same vector, same metadata) is a write too.
    col.upsert(vectors=unit(np.ones((1, 4))), ids=["new"], metadata=[{"n": 99}], acl=[["u:b"]])
    assert _scope(col, where, caller) == before
    assert _scope(col, None, caller) == _reference(col, None, caller)
    col.delete(["i0"])  # i0 is visible to u:a
    assert _scope(col, where, caller) == _reference(col, where, caller)
    hits = col.search(unit(np.ones(4)), k=N, where=where, principals=caller)
    assert {h.id for h in hits} == {f"i{i}" for i in range(1, N) if "u:a" in ACLS[i % 6]} | {
        f"i{i}" for i in range(1, N) if "*" in ACLS[i % 6]
    }


def test_principals_never_share_an_entry(col: ls.Collection) -> None:
    """Warm every caller's cache, then ask in another order: each gets only its own items."""
    for principals in CALLERS * 2:
        _scope(col, {"n": {"$lt": 50}}, principals)
    for principals in reversed(CALLERS):
        for where in WHERES[:3]:
            assert _scope(col, where, principals) == _reference(col, where, principals)
    assert scope_key(None, None) != scope_key(None, ()) != scope_key(None, ("u:a",))


def test_cache_counts_uses_per_seq() -> None:
    cache = ScopeCache()
    assert [cache.uses("k", 1) for _ in range(3)] == [1, 2, 3]
    assert cache.uses("k", 2) == 1  # a write (new seq) forgets the counts
    cache.put("k", 2, np.arange(3), 3)
    assert cache.get("k", 2) is not None and cache.get("k", 3) is None
    cache.put("j", 3, None, 5)
    assert cache.get("k", 2) is None  # storing at seq 3 retired seq 2's entries
