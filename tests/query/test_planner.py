"""The planner: exact top-k under filters and permissions, whatever route it takes.

Hypothesis draws the query, ``k``, a filter, the caller's principals and the planner's knobs
(exact from the index's vectors / exact from SQL / FAISS selector / postfilter / oversample-and-
recheck), and compares with brute force over the stored vectors of one shared collection per
backend: equal on the Flat index, in scope and never short on HNSW and IVF.
"""

from __future__ import annotations

import random

import faiss
import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from query_support import check_topk, database, matches, unit, visible
from sqlalchemy import event as sql_event
from sqlalchemy import select

import latentsearch as ls
from latentsearch.query import planner
from latentsearch.query.search import scope_of
from latentsearch.store import ItemRow
from latentsearch.store.acl import access

DIM = 16
N = 400
EMPTY = np.zeros(0, dtype=np.int64)
PRINCIPALS = ["u:a", "u:b", "g:x", "g:y"]
TAGS = ["red", "green", "blue"]


def _acl(r: random.Random) -> list[str]:
    roll = r.random()
    if roll < 0.2:
        return ["*"]
    if roll < 0.25:
        return []  # visible to nobody but unrestricted callers
    return r.sample(PRINCIPALS, r.randint(1, 2))


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def pdb(request, tmp_path_factory, pg_admin):
    from pgkit import PG_URL

    r = random.Random(5)
    x = unit(np.random.default_rng(5).normal(size=(N, DIM)))
    x[1] = x[0]  # an exact tie
    ids = [f"v{i:03d}" for i in range(N)]
    metas = [
        {"g": i % 7, "price": r.randint(0, 100), "tags": r.sample(TAGS, r.randint(0, 2))}
        for i in range(N)
    ]
    acls = [_acl(r) for _ in range(N)]
    with database(request.param, tmp_path_factory.mktemp("planner"), pg_admin, PG_URL) as db:
        flat = db.create_collection("flat", dim=DIM, index="Flat")
        hnsw = db.create_collection("hnsw", dim=DIM, index="HNSW32")
        ivf = db.create_collection("ivf", dim=DIM, index="IVF8,Flat")
        for col in (flat, hnsw, ivf):
            col.add(vectors=x, ids=ids, metadata=metas, acl=acls)
        ref = [
            {
                "id": i,
                "kind": "vector",
                "source_uri": None,
                "source_title": None,
                "parent": None,
                "metadata": m,
            }
            for i, m in zip(ids, metas, strict=True)
        ]
        ivf.flush()  # trained (400 vectors are enough for 8 lists), nprobe tuned
        yield {
            "db": db,
            "flat": flat,
            "hnsw": hnsw,
            "ivf": ivf,
            "x": x,
            "ids": ids,
            "acls": acls,
            "ref": ref,
        }


leaf = st.one_of(
    st.builds(lambda v: {"g": v}, st.integers(0, 7)),
    st.builds(lambda v: {"g": {"$in": v}}, st.lists(st.integers(0, 6), max_size=4)),
    st.builds(
        lambda op, v: {"price": {op: v}},
        st.sampled_from(["$gt", "$gte", "$lt", "$lte"]),
        st.integers(-1, 101),
    ),
    st.builds(lambda v: {"tags": {"$contains": v}}, st.sampled_from(TAGS)),
    st.builds(lambda v: {"id": {"$lt": v}}, st.sampled_from(["v010", "v100", "v300", "v999"])),
)
where_st = st.one_of(
    st.none(),
    leaf,
    st.recursive(
        leaf,
        lambda ch: st.one_of(
            st.lists(ch, min_size=1, max_size=3).map(lambda xs: {"$or": xs}),
            st.lists(ch, min_size=1, max_size=3).map(lambda xs: {"$and": xs}),
            ch.map(lambda x: {"$not": x}),
        ),
        max_leaves=4,
    ),
)
principals_st = st.one_of(
    st.none(), st.lists(st.sampled_from([*PRINCIPALS, "u:nobody", "*"]), max_size=3, unique=True)
)
# exact_max, selectors, memory (exact from the index's vectors), postfilter_min
knobs_st = st.tuples(
    st.sampled_from([0, 40, None, 10**6]),
    st.booleans(),
    st.booleans(),
    st.sampled_from([0.0, 0.5, 2.0]),
)


def _set(col: ls.Collection, knobs) -> None:
    p = col.planner
    p.exact_max, p.selectors, p.memory, p.postfilter_min = knobs


def _query(data) -> np.ndarray:
    seed = data.draw(st.integers(0, 10**6), label="query seed")
    return unit(np.random.default_rng(seed).normal(size=DIM))


def _allowed(p, where, principals) -> set[str]:
    return {
        it["id"]
        for it, acl in zip(p["ref"], p["acls"], strict=True)
        if matches(where, it) and visible(acl, principals)
    }


@settings(
    max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.data(), k=st.integers(1, 60), where=where_st, principals=principals_st, knobs=knobs_st
)
def test_exact_index_equals_brute_force(pdb, data, k, where, principals, knobs) -> None:
    col = pdb["flat"]
    _set(col, knobs)
    q = _query(data)
    allowed = _allowed(pdb, where, principals)
    scores = dict(zip(pdb["ids"], (pdb["x"] @ q).tolist(), strict=True))
    hits = col.search(q, k, where=where, principals=principals)
    event(f"k vs matches: {'k<=n' if k <= len(allowed) else 'k>n'}")
    check_topk(hits, scores, allowed, k)


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.data(),
    k=st.integers(1, 60),
    where=where_st,
    principals=principals_st,
    knobs=knobs_st,
    name=st.sampled_from(["hnsw", "ivf"]),
)
def test_ann_never_leaks_and_never_returns_too_few(
    pdb, data, k, where, principals, knobs, name
) -> None:
    col = pdb[name]
    _set(col, knobs)
    q = _query(data)
    allowed = _allowed(pdb, where, principals)
    hits = col.search(q, k, where=where, principals=principals)
    ids = [h.id for h in hits]
    assert set(ids) <= allowed
    assert len(ids) == len(set(ids)) == min(k, len(allowed))


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), k=st.integers(1, 30), where=where_st, principals=principals_st)
def test_batches_equal_single_queries(pdb, data, k, where, principals) -> None:
    col = pdb["flat"]
    col.planner.exact_max, col.planner.selectors = 40, True
    qs = [_query(data) for _ in range(data.draw(st.integers(1, 5)))]
    allowed = _allowed(pdb, where, principals)
    batch = col.search_batch(qs, k, where=where, principals=principals)
    assert len(batch) == len(qs)
    for q, hits in zip(qs, batch, strict=True):
        scores = dict(zip(pdb["ids"], (pdb["x"] @ q).tolist(), strict=True))
        check_topk(hits, scores, allowed, k)


def _rows(pdb, col: ls.Collection) -> dict[int, int]:
    """Primary key -> row of ``pdb["x"]``."""
    with pdb["db"].store.session() as s:
        pairs = s.execute(
            select(ItemRow.id, ItemRow.external_id).where(ItemRow.collection_id == col.id)
        )
        return {int(pk): pdb["ids"].index(ext) for pk, ext in pairs}


ROUTES = [  # (exact_max, selectors, memory, postfilter_min) -> the route it forces
    ((10**6, True, True, 0.5), "exact"),
    ((10**6, True, False, 0.5), "exact-sql"),
    ((0, True, True, 2.0), "faiss+selector"),
    ((0, True, True, 0.0), "postfilter"),
    ((0, False, True, 2.0), "oversample"),
]


@pytest.mark.parametrize("name", ["flat", "hnsw", "ivf"])
def test_every_route_is_taken_and_agrees(pdb, name) -> None:
    """Force each strategy; the planner reports it, stays in scope and returns k. Exact routes
    (and every route on the Flat index) equal brute force."""
    col, x = pdb[name], pdb["x"]
    space, rows = col._space, _rows(pdb, col)
    q = unit(np.random.default_rng(1).normal(size=(3, DIM)))
    sc = scope_of(space, {"price": {"$gte": 10}}, access(["u:a"], required=False))
    assert sc.allowed is not None and 40 < sc.size < N
    for knobs, route in ROUTES:
        _set(col, knobs)
        ranked, plan = planner.top_k(space, q, 25, sc)
        head = plan.strategy.split("×")[0]
        assert head == route or head.startswith(route + "+"), (knobs, plan)
        for i, r in enumerate(ranked):
            assert len(r.ids) == 25 and set(r.ids.tolist()) <= set(sc.allowed.tolist())
            if name == "flat" or plan.strategy.startswith("exact"):
                best = np.sort(x[[rows[int(p)] for p in sc.allowed]] @ q[i])[::-1][:25]
                np.testing.assert_allclose(r.scores, best, atol=1e-5)


def test_exact_route_skips_sql_and_honours_exclusions(pdb) -> None:
    """The exact route reads the index's vectors (no statement after the scope's), and leaves
    each query's excluded ids out."""
    col = pdb["ivf"]
    _set(col, (10**6, True, True, 0.5))
    space = col._space
    q = unit(np.random.default_rng(2).normal(size=(2, DIM)))
    sc = scope_of(space, {"g": {"$in": [1, 2]}}, access(None, required=False))
    seen: list[str] = []
    listen = lambda *a: seen.append(a[2])  # noqa: E731
    sql_event.listen(space.store.engine, "before_cursor_execute", listen)
    try:
        first, plan = planner.top_k(space, q, 10, sc)
        again, _ = planner.top_k(space, q, 10, sc, exclude=[first[0].ids[:3], EMPTY])
    finally:
        sql_event.remove(space.store.engine, "before_cursor_execute", listen)
    assert plan.strategy == "exact" and not seen
    assert list(again[0].ids[:7]) == list(first[0].ids[3:])
    assert list(again[1].ids) == list(first[1].ids)


def test_exclusions_still_give_k(pdb) -> None:
    col = pdb["flat"]
    _set(col, (0, True, True, 0.5))
    space = col._space
    q = unit(pdb["x"][:1])
    sc = scope_of(space, None, access(None, required=False))
    first, _ = planner.top_k(space, q, 10, sc)
    again, _ = planner.top_k(space, q, 10, sc, exclude=[first[0].ids[:5]])
    assert len(again[0].ids) == 10
    assert not set(first[0].ids[:5].tolist()) & set(again[0].ids.tolist())
    assert list(again[0].ids[:5]) == list(first[0].ids[5:])


def test_scope_never_contains_invisible_items(pdb) -> None:
    col = pdb["flat"]
    for principals in (["u:a"], [], ["g:x", "u:b"]):
        sc = scope_of(col._space, None, access(principals, required=False))
        rows = _rows(pdb, col)
        got = {pdb["ids"][rows[int(p)]] for p in sc.allowed}
        assert got == _allowed(pdb, None, principals)


def test_hypothesis_generated_data(db: ls.Database) -> None:
    """Small collections whose vectors, metadata and ACLs are drawn by hypothesis."""
    counter = iter(range(10**6))

    item = st.fixed_dictionaries(
        {
            "v": st.lists(st.integers(-3, 3), min_size=3, max_size=3).filter(any),
            "n": st.integers(0, 4),
            "acl": st.lists(st.sampled_from(["*", "a", "b"]), max_size=2, unique=True),
        }
    )

    @settings(max_examples=25, deadline=None)
    @given(
        items=st.lists(item, min_size=1, max_size=25),
        k=st.integers(1, 30),
        n=st.integers(0, 4),
        principals=st.one_of(st.none(), st.lists(st.sampled_from(["a", "b", "c"]), max_size=2)),
        exact_max=st.sampled_from([0, 1000]),
    )
    def check(items, k, n, principals, exact_max) -> None:
        col = db.create_collection(f"h{next(counter)}", dim=3, index="Flat")
        col.planner.exact_max = exact_max
        ids = [f"i{j}" for j in range(len(items))]
        vecs = unit(np.asarray([it["v"] for it in items], dtype=np.float32))
        col.add(
            vectors=vecs,
            ids=ids,
            metadata=[{"n": it["n"]} for it in items],
            acl=[it["acl"] for it in items],
        )
        q = unit(np.asarray([1.0, 0.5, -0.25]))
        allowed = {
            i
            for i, it in zip(ids, items, strict=True)
            if it["n"] >= n and visible(it["acl"], principals)
        }
        hits = col.search(q, k, where={"n": {"$gte": n}}, principals=principals)
        check_topk(hits, dict(zip(ids, (vecs @ q).tolist(), strict=True)), allowed, k)

    check()


@pytest.mark.gpu
@pytest.mark.skipif(faiss.get_num_gpus() == 0, reason="needs a GPU")
def test_gpu_index_oversamples_and_stays_exact(tmp_path) -> None:
    """A GPU index ignores ID selectors: the planner oversamples on the GPU, re-checks, and the
    answers still equal brute force."""
    rng = np.random.default_rng(9)
    x = unit(rng.normal(size=(6000, 32)))
    ids = [f"g{i}" for i in range(len(x))]
    metas = [{"g": i % 10} for i in range(len(x))]
    with ls.connect(tmp_path, device="cpu") as db:
        col = db.create_collection("gpu", dim=32, index="Flat", device="cuda")
        col.add(
            vectors=x,
            ids=ids,
            metadata=metas,
            acl=[["*"] if i % 3 else ["u:a"] for i in range(len(x))],
        )
        col.planner.exact_max = 0
        assert not col.index.honours_selectors
        q = unit(rng.normal(size=32))
        scores = dict(zip(ids, (x @ q).tolist(), strict=True))
        for where, principals in [({"g": 3}, None), ({"g": {"$in": [1, 2]}}, []), (None, ["u:a"])]:
            allowed = {
                i for i, m in zip(ids, metas, strict=True) if matches(where, {"metadata": m})
            }
            if principals is not None:
                allowed = {i for i in allowed if int(i[1:]) % 3 or "u:a" in principals}
            check_topk(col.search(q, 50, where=where, principals=principals), scores, allowed, 50)
        sc = scope_of(col._space, {"g": 3}, access(None, required=False))
        _, plan = planner.top_k(col._space, q[None, :], 50, sc)
        assert plan.strategy.startswith("oversample")
        assert col.index.gpu.clone is not None  # the unfiltered rounds really ran on the GPU
