"""The filter language: same answers on SQLite and PostgreSQL, equal to a Python reference."""

from __future__ import annotations

import random
from datetime import timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from query_support import database, matches
from sqlalchemy import func, select

import latentsearch as ls
from latentsearch.errors import FilterError
from latentsearch.store import ItemRow
from latentsearch.store.filters import compile_where

COLORS = ["red", "green", "blue", "Red", "ünïcode", "", "a b", "Z"]
TAGS = ["ml", "db", "go", "x"]
URIS = ["http://a/1", "file:///x", "http://b/2"]


def _meta(r: random.Random) -> dict:
    m: dict = {}
    if r.random() < 0.8:
        m["price"] = r.choice([r.randint(-5, 50), r.randint(0, 200) / 4, 0, -0.5, 10**15])
    if r.random() < 0.8:
        m["color"] = r.choice(COLORS)
    if r.random() < 0.7:
        m["tags"] = r.sample(TAGS, r.randint(0, 3)) + r.choice(
            [[], [], [1], [True], [None], [2.5, "red"]]
        )
    if r.random() < 0.5:
        m["flag"] = r.random() < 0.5
    if r.random() < 0.5:
        m["mixed"] = r.choice([None, 1, 1.0, "1", True, False, "true", [1], {"x": 1}, 2.5, "red"])
    if r.random() < 0.5:
        m["nested"] = r.choice(
            [{"depth": r.randint(0, 5), "name": r.choice(COLORS)}, 5, [1, 2], {"depth": "3"}]
        )
    if r.random() < 0.1:
        m["kind"] = "meta-kind"
    return m


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def fdb(request, tmp_path_factory, pg_admin):
    """One collection of 240 items with varied metadata, per backend; plus the reference rows."""
    from pgkit import PG_URL

    with database(request.param, tmp_path_factory.mktemp("filters"), pg_admin, PG_URL) as db:
        col = db.create_collection("f", dim=4)
        r = random.Random(11)
        for batch in range(4):  # four writes: four distinct `created` times
            n = 60
            recs = []
            for i in range(n):
                j = batch * n + i
                rec = {
                    "id": f"item-{j:03d}",
                    "vector": np.random.default_rng(j).normal(size=4),
                    "metadata": _meta(r),
                }
                if r.random() < 0.6:
                    rec["source"] = {"uri": r.choice(URIS), "title": r.choice(["T", None])}
                if r.random() < 0.3:
                    rec["chunk"] = {"parent": r.choice(["doc-1", "doc-2"]), "start": 0, "end": 5}
                recs.append(rec)
            col.add(recs)
        items = col.get([f"item-{j:03d}" for j in range(240)])
        ref = [
            {
                "id": it.id,
                "kind": it.kind,
                "source_uri": it.source.uri,
                "source_title": it.source.title,
                "parent": it.chunk.parent if it.chunk else None,
                "created": it.created,
                "updated": it.updated,
                "metadata": it.metadata,
            }
            for it in items
        ]
        yield db, col, ref


def run(db: ls.Database, col: ls.Collection, where) -> set[str]:
    """The filter's matches, through the indexed side table; the JSON path must agree."""
    with db.store.session() as s:
        found = []
        for cid in (col.id, None):  # with the collection: the side table; without: JSON only
            stmt = select(ItemRow.external_id).where(
                ItemRow.collection_id == col.id, compile_where(where, cid)
            )
            found.append(set(s.scalars(stmt)))
    assert found[0] == found[1], where
    return found[0]


def expected(ref, where) -> set[str]:
    return {it["id"] for it in ref if matches(where, it)}


# -- hypothesis: random filters against the reference ------------------------------------------
scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-6, 60),
    st.sampled_from([0.25, 2.5, 12.75, -0.5, 1e15, 1.0, 0.0]),
    st.sampled_from([*COLORS, *TAGS, "1", "true", "item-100"]),
)
ordered = st.one_of(
    st.integers(-6, 60),
    st.sampled_from([0.25, 12.75, -0.5, 1e15]),
    st.sampled_from([*COLORS, "m", "b"]),
)
META_FIELDS = [
    "price",
    "color",
    "tags",
    "flag",
    "mixed",
    "nested.depth",
    "nested.name",
    "metadata.kind",
    "absent",
    "nested",
]
TEXT_FIELDS = ["id", "kind", "source.uri", "source.title", "chunk.parent"]
text_value = st.sampled_from(
    ["item-050", "item-120", "item-2", "vector", "text", *URIS, "T", "doc-1", "doc-2", "", "zz"]
)


def _ops(value: st.SearchStrategy, order: st.SearchStrategy, null: bool) -> st.SearchStrategy:
    eqv = st.one_of(value, st.none()) if null else value
    leaf = st.one_of(
        st.tuples(st.sampled_from(["$eq", "$ne"]), eqv),
        st.tuples(st.sampled_from(["$gt", "$gte", "$lt", "$lte"]), order),
        st.tuples(st.sampled_from(["$in", "$nin"]), st.lists(eqv, max_size=4)),
        st.tuples(st.just("$exists"), st.booleans()),
    )
    return st.lists(leaf, min_size=1, max_size=2).map(dict)


def _created_ops(ref_times: list) -> st.SearchStrategy:
    t = (
        st.sampled_from(ref_times)
        .flatmap(
            lambda d: st.sampled_from(
                [d, d + timedelta(microseconds=1), d - timedelta(microseconds=1)]
            )
        )
        .flatmap(lambda d: st.sampled_from([d, d.isoformat()]))
    )
    return st.one_of(
        st.tuples(st.sampled_from(["$eq", "$ne", "$gt", "$gte", "$lt", "$lte"]), t),
        st.tuples(st.sampled_from(["$in", "$nin"]), st.lists(t, max_size=3)),
    ).map(lambda kv: {kv[0]: kv[1]})


def filters(ref_times: list) -> st.SearchStrategy:
    meta_ops = st.one_of(
        _ops(scalar, ordered, null=False),
        st.tuples(st.just("$contains"), scalar).map(lambda kv: {kv[0]: kv[1]}),
        _ops(scalar, ordered, null=False).map(lambda d: {"$not": d}),
    )
    leaf = st.one_of(
        st.builds(lambda f, v: {f: v}, st.sampled_from(META_FIELDS), st.one_of(scalar, meta_ops)),
        st.builds(
            lambda f, v: {f: v},
            st.sampled_from(TEXT_FIELDS),
            st.one_of(text_value, _ops(text_value, text_value, null=True)),
        ),
        st.builds(
            lambda f, v: {f: v}, st.sampled_from(["created", "updated"]), _created_ops(ref_times)
        ),
    )
    return st.recursive(
        leaf,
        lambda ch: st.one_of(
            st.lists(ch, min_size=1, max_size=3).map(lambda xs: {"$and": xs}),
            st.lists(ch, min_size=1, max_size=3).map(lambda xs: {"$or": xs}),
            ch.map(lambda x: {"$not": x}),
            st.tuples(ch, ch).map(lambda ab: {**ab[0], **ab[1]}),
        ),
        max_leaves=6,
    )


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_random_filters_match_the_reference(fdb, data) -> None:
    db, col, ref = fdb
    times = sorted({it["created"] for it in ref})
    where = data.draw(filters(times))
    want = expected(ref, where)
    event(f"matches: {'none' if not want else 'all' if len(want) == len(ref) else 'some'}")
    assert run(db, col, where) == want, where


# -- documented rules, case by case ---------------------------------------------------------------
@pytest.fixture
def small(db: ls.Database):
    col = db.create_collection("s", dim=2)
    metas = [
        {"a": 1},
        {"a": 1.5, "tags": ["x", "y"]},
        {"a": "s"},
        {"a": True},
        {"a": None},
        {},
        {"a": [1, 2], "n": {"b": 3}},
        {"tags": [1, "x", True, None], "n": 4},
        {"a": "1", "tags": "x"},
    ]
    col.add(
        vectors=np.eye(2)[[i % 2 for i in range(len(metas))]] + 0.1,
        ids=[f"i{i}" for i in range(len(metas))],
        metadata=metas,
    )
    return col


CASES = [
    ({"a": 1}, {"i0"}),  # numbers never equal strings or booleans
    ({"a": 1.0}, {"i0"}),  # 1 == 1.0
    ({"a": "1"}, {"i8"}),
    ({"a": True}, {"i3"}),
    ({"a": None}, {"i4"}),  # JSON null only, not missing
    (
        {"a": {"$ne": 1}},
        {"i1", "i2", "i3", "i4", "i5", "i6", "i7", "i8"},
    ),  # complement: missing matches
    ({"a": {"$gt": 1}}, {"i1"}),
    ({"a": {"$gte": "a"}}, {"i2"}),  # strings compare with strings only
    ({"a": {"$lt": "s"}}, {"i8"}),
    ({"a": {"$exists": True}}, {"i0", "i1", "i2", "i3", "i4", "i6", "i8"}),  # null exists
    ({"a": {"$exists": False}}, {"i5", "i7"}),
    ({"tags": {"$contains": "x"}}, {"i1", "i7"}),  # only list values contain; "x" is not a list
    ({"tags": {"$contains": 1}}, {"i7"}),
    ({"tags": {"$contains": None}}, {"i7"}),
    ({"tags": {"$contains": True}}, {"i7"}),
    ({"tags": "x"}, {"i8"}),  # $eq never looks inside lists
    ({"n.b": 3}, {"i6"}),
    ({"n.b": {"$lt": 4}}, {"i6"}),
    ({"n": 4}, {"i7"}),
    ({"a.0": 1}, set()),  # paths never index arrays
    ({"a": {"$in": [1, "s", None]}}, {"i0", "i2", "i4"}),
    ({"a": {"$in": [True, 1]}}, {"i0", "i3"}),  # True and 1 stay distinct in a set
    ({"a": {"$in": [1, True]}}, {"i0", "i3"}),
    ({"a": {"$nin": [True, 1]}}, {"i1", "i2", "i4", "i5", "i6", "i7", "i8"}),
    ({"a": {"$nin": [1, "s", None]}}, {"i1", "i3", "i5", "i6", "i7", "i8"}),
    ({"a": {"$in": []}}, set()),
    ({"a": {"$nin": []}}, {f"i{i}" for i in range(9)}),
    ({"$or": [{"a": 1}, {"n.b": 3}]}, {"i0", "i6"}),
    ({"$and": [{"a": {"$exists": True}}, {"a": {"$ne": None}}, {"a": {"$lt": 2}}]}, {"i0", "i1"}),
    ({"$not": {"a": 1}}, {f"i{i}" for i in range(1, 9)}),
    ({"a": {"$not": {"$gt": 1}}}, {"i0", "i2", "i3", "i4", "i5", "i6", "i7", "i8"}),
    ({"a": {"$gt": 0, "$lt": 1.2}}, {"i0"}),
    ({"id": {"$gt": "i6"}}, {"i7", "i8"}),
    ({"id": {"$in": ["i1", "i2", "nope"]}}, {"i1", "i2"}),
    ({"kind": "vector", "a": 1}, {"i0"}),
    ({"created": {"$gt": "2000-01-01"}}, {f"i{i}" for i in range(9)}),
    ({"created": {"$lt": "2000-01-01T00:00:00+00:00"}}, set()),
    ({"source.uri": None}, {f"i{i}" for i in range(9)}),
    ({"source.uri": {"$exists": True}}, set()),
    ({"chunk.parent": {"$exists": False}}, {f"i{i}" for i in range(9)}),
    ({}, {f"i{i}" for i in range(9)}),
]


@pytest.mark.parametrize(("where", "ids"), CASES, ids=[str(c[0]) for c in CASES])
def test_documented_semantics(db: ls.Database, small: ls.Collection, where, ids) -> None:
    assert run(db, small, where) == ids


def test_filters_apply_to_search_get_and_delete(db: ls.Database, small: ls.Collection) -> None:
    hits = small.search(np.array([1.0, 0.1]), k=10, where={"a": {"$exists": True}})
    assert {h.id for h in hits} == {"i0", "i1", "i2", "i3", "i4", "i6", "i8"}
    res = small.delete(where={"tags": {"$contains": "x"}})
    assert res.deleted == 2 and set(res.ids) == {"i1", "i7"}
    assert {it.id for it in small.get([f"i{i}" for i in range(9)])} == {
        f"i{i}" for i in range(9)
    } - {"i1", "i7"}
    assert small.verify()


# -- errors name the offending part; nothing runs ------------------------------------------------
BAD = [
    ({"price": {"$gt": [1, 2]}}, "where.price.$gt"),
    ({"price": {"$gt": None}}, "where.price.$gt"),
    ({"price": {"$gt": True}}, "where.price.$gt"),
    ({"price": {"$between": [1, 2]}}, "where.price.$between"),
    ({"price": {"$gt": 1, "currency": "eur"}}, "where.price.currency"),
    ({"$and": [{"a": 1}, {"b": {"$regex": "x"}}]}, "where.$and[1].b.$regex"),
    ({"$and": {"a": 1}}, "where.$and"),
    ({"$or": []}, "where.$or"),
    ({"$nor": [{"a": 1}]}, "where.$nor"),
    ({"$gt": 3}, "where.$gt"),
    ({"a": {"$in": "abc"}}, "where.a.$in"),
    ({"a": {"$in": [[1]]}}, "where.a.$in[0]"),
    ({"a": {"$exists": "yes"}}, "where.a.$exists"),
    ({"a": {"$contains": [1]}}, "where.a.$contains"),
    ({"a": {"$eq": {"b": 1}}}, "where.a.$eq"),
    ({"a": [1, 2]}, "where.a"),
    ({"a": {}}, "where.a"),
    ({"a": float("nan")}, "where.a"),
    ({"a": {"$gt": float("inf")}}, "where.a.$gt"),
    ({"id": 3}, "where.id"),
    ({"id": {"$contains": "x"}}, "where.id.$contains"),
    ({"created": {"$gt": "yesterday"}}, "where.created.$gt"),
    ({"created": {"$gt": 5}}, "where.created.$gt"),
    ({"source.url": "x"}, "where.source.url"),
    ({'a"b': 1}, 'where.a"b'),
    ({"a..b": 1}, "where.a..b"),
    ({"a": {"$not": 3}}, "where.a.$not"),
    ("color = 'red'", "where"),
    ({"$not": [{"a": 1}]}, "where.$not"),
]


@pytest.mark.parametrize(("where", "path"), BAD, ids=[p for _, p in BAD])
def test_malformed_filters_name_the_part(where, path) -> None:
    with pytest.raises(FilterError) as err:
        compile_where(where)
    assert err.value.path == path
    assert str(err.value).startswith(path + ":")


def test_bad_filter_leaves_store_unchanged(db: ls.Database, small: ls.Collection) -> None:
    with pytest.raises(FilterError):
        small.delete(where={"a": {"$gt": [1]}})
    with pytest.raises(FilterError):
        small.search(np.array([1.0, 0.0]), where={"a": {"$bad": 1}})
    assert len(small) == 9


def test_values_and_keys_are_parameters_not_sql(db: ls.Database, small: ls.Collection) -> None:
    evil = "x'); DROP TABLE ls_items; --"
    assert run(db, small, {"a": evil}) == set()
    assert run(db, small, {evil: 1}) == set()
    assert run(db, small, {"id": {"$in": [evil]}}) == set()
    assert run(db, small, {"a": {"$gt": evil}}) == set()
    with db.store.session() as s:
        assert s.scalar(select(func.count()).select_from(ItemRow)) == 9
