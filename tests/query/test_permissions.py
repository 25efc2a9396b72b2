"""Permissions on every read path: nothing invisible is returned, referenced or revealed."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from query_support import database, unit, visible

import latentsearch as ls
from latentsearch.errors import InvalidInputError, ItemNotFoundError, PermissionDeniedError

DOCS = {
    "pub-cat": ("a cat sleeping on a sofa", ["*"]),
    "pub-dog": ("a dog running in a park", ["*"]),
    "eng-db": ("database index tuning notes", ["group:eng"]),
    "eng-gpu": ("gpu kernels for vector search", ["group:eng", "user:bob"]),
    "secret": ("the secret merger plan with acme", ["user:ceo"]),
    "hr-pay": ("salary bands for engineers", ["group:hr"]),
    "nobody": ("a document nobody may read", []),
}


@pytest.fixture
def docs(db: ls.Database) -> ls.Collection:
    col = db.create_collection("docs", encoder="text")
    col.add(
        [
            {"id": i, "text": t, "acl": acl, "metadata": {"n": n}}
            for n, (i, (t, acl)) in enumerate(DOCS.items())
        ]
    )
    return col


def _visible(principals) -> set[str]:
    return {i for i, (_, acl) in DOCS.items() if visible(acl, principals)}


ALICE = ["user:alice", "group:eng"]


def test_unrestricted_library_use_sees_everything(docs: ls.Collection) -> None:
    assert {h.id for h in docs.search("anything", k=50)} == set(DOCS)


@pytest.mark.parametrize("principals", [ALICE, [], ["user:ceo"], ["group:hr", "user:bob"]])
def test_every_read_path_hides_what_the_caller_cannot_see(docs: ls.Collection, principals) -> None:
    ok = _visible(principals)
    p = {"principals": principals}
    seen = set()
    seen |= {h.id for h in docs.search("secret plans and salaries", k=50, **p)}
    seen |= {h.id for h in docs.search("notes", k=50, mmr=0.5, **p)}
    seen |= {h.id for h in docs.search("notes", k=50, per_document=True, **p)}
    seen |= {h.id for hs in docs.search_batch(["cats", "money"], k=50, **p) for h in hs}
    seen |= {h.id for h in docs.query('"merger" + "salary" - "cat"', k=50, **p)}
    seen |= {h.id for h in docs.analogy(["secret merger", "salary"], ["cat"], k=50, **p)}
    seen |= {h.id for h in docs.analogy(["secret merger"], ["cat"], k=50, method="3cosmul", **p)}
    for strategy in ("average_vector", "best_score", "sum_scores"):
        seen |= {h.id for h in docs.recommend(["merger"], ["dog"], k=50, strategy=strategy, **p)}
    seen |= {h.id for s in docs.interpolate("cat", "salary", steps=5, k=50, **p) for h in s.hits}
    seen |= {it.id for it in docs.get(list(DOCS), **p)}
    for mode in ("dense", "keyword", "hybrid"):
        card = docs.answer("secret merger salary notes", k=50, mode=mode, **p)
        seen |= {x.id for x in card.passages} | {d.id for d in card.documents}
    assert seen <= ok
    assert {it.id for it in docs.get(list(DOCS), **p)} == ok
    assert len(docs.search("x", k=50, **p)) == len(ok)


def test_references_to_invisible_items_look_missing(docs: ls.Collection) -> None:
    def message(fn) -> str:
        with pytest.raises(ItemNotFoundError) as err:
            fn()
        return str(err.value)

    p = {"principals": ALICE}
    for ref, missing in (("secret", "absent"), ("nobody", "gone")):
        pairs = [
            (lambda r: docs.get(r, **p)),
            (lambda r: docs.search({"id": r}, **p)),
            (lambda r: docs.query(f"@{r} + dog", **p)),
            (lambda r: docs.analogy([{"id": r}], ["dog"], **p)),
            (lambda r: docs.recommend([{"id": r}], **p)),
            (lambda r: docs.interpolate({"id": r}, "dog", **p)),
            (lambda r: docs.direction([{"id": r}], **p)),
            (lambda r: docs.centroid([r], **p)),
            (lambda r: docs.search_batch(["dog", {"id": r}], **p)),
        ]
        for fn in pairs:
            hidden = message(lambda fn=fn, r=ref: fn(r))
            absent = message(lambda fn=fn, m=missing: fn(m))
            assert hidden.replace(ref, "X") == absent.replace(missing, "X")


def test_a_bare_word_naming_an_invisible_item_is_just_text(docs: ls.Collection) -> None:
    # For the CEO "secret" is the item (excluded as an input); for alice it is the word "secret".
    ceo = docs.query("secret", k=3, principals=["user:ceo"])
    alice = docs.query("secret", k=3, principals=ALICE)
    assert "secret" not in {h.id for h in ceo} | {h.id for h in alice}
    assert ceo[0].why == {"secret": pytest.approx(ceo[0].why["secret"])}
    text = docs.search("secret", k=3, principals=ALICE)
    assert [h.id for h in alice] == [h.id for h in text]


def test_centroid_and_direction_only_use_visible_items(docs: ls.Collection) -> None:
    vis = sorted(_visible(ALICE))
    expect = np.mean([it.vector for it in docs.get(vis, include_vectors=True)], axis=0)
    np.testing.assert_allclose(docs.centroid(principals=ALICE), expect, atol=1e-6)
    np.testing.assert_allclose(
        docs.centroid(where={"n": {"$gte": 0}}, principals=ALICE), expect, atol=1e-6
    )
    with pytest.raises(ItemNotFoundError):
        docs.centroid(where={"n": 4}, principals=ALICE)  # "secret" only


def test_strict_collections_require_principals(db: ls.Database) -> None:
    col = db.create_collection("strict", encoder="text", require_principals=True)
    col.add(texts=["alpha", "beta"], ids=["a", "b"], acl=[["*"], ["u:x"]])
    calls = [
        lambda **p: col.search("alpha", **p),
        lambda **p: col.search_batch(["alpha"], **p),
        lambda **p: col.get("a", **p),
        lambda **p: col.query("alpha - beta", **p),
        lambda **p: col.analogy(["a"], ["b"], **p),
        lambda **p: col.analogy_batch([(["a"], ["b"])], **p),
        lambda **p: col.recommend(["a"], **p),
        lambda **p: col.interpolate("a", "alpha", **p),
        lambda **p: col.direction(["a"], **p),
        lambda **p: col.centroid(**p),
        lambda **p: col.embed_query("alpha", **p),
    ]
    for call in calls:
        with pytest.raises(PermissionDeniedError, match="requires principals"):
            call()
        call(principals=["u:x"])
    assert [h.id for h in col.search("beta", k=5, principals=[])] == ["a"]  # [] = public items only
    assert {h.id for h in col.search("beta", k=5, principals=["u:x"])} == {"a", "b"}


@pytest.mark.parametrize("bad", ["user:alice", [""], [3], [None], "*"])
def test_malformed_principals_are_rejected(docs: ls.Collection, bad) -> None:
    with pytest.raises(InvalidInputError):
        docs.search("cat", principals=bad)


# -- zero leaks over thousands of random cases, on every read path -------------------------------
PRINCIPALS = ["u:a", "u:b", "g:x", "g:y", "*"]
N, DIM = 120, 8


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def acl_col(request, tmp_path_factory, pg_admin):
    from pgkit import PG_URL

    r = random.Random(3)
    x = unit(np.random.default_rng(3).normal(size=(N, DIM)))
    acls = [r.sample(PRINCIPALS, r.randint(0, 2)) for _ in range(N)]
    ids = [f"d{i}" for i in range(N)]
    with database(request.param, tmp_path_factory.mktemp("acl"), pg_admin, PG_URL) as db:
        col = db.create_collection("acl", dim=DIM)
        col.add(vectors=x, ids=ids, acl=acls, metadata=[{"g": i % 3} for i in range(N)])
        yield col, dict(zip(ids, acls, strict=True)), x


METHODS = [
    "search",
    "batch",
    "mmr",
    "per_document",
    "analogy",
    "cosmul",
    "recommend",
    "best_score",
    "query",
    "interpolate",
    "get",
    "centroid",
]


@settings(
    max_examples=700, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    method=st.sampled_from(METHODS),
    principals=st.lists(st.sampled_from(["u:a", "u:b", "g:x", "g:y", "u:z"]), max_size=3),
    refs=st.lists(st.integers(0, N - 1), min_size=1, max_size=3),
    k=st.integers(1, 40),
    g=st.one_of(st.none(), st.integers(0, 2)),
    seed=st.integers(0, 1000),
    exact_max=st.sampled_from([0, 10**6]),
)
def test_zero_leaks(acl_col, method, principals, refs, k, g, seed, exact_max) -> None:
    col, acls, x = acl_col
    col.planner.exact_max = exact_max
    where = None if g is None else {"g": g}
    ok = {i for i, acl in acls.items() if visible(acl, principals)}
    names = [f"d{r}" for r in refs]
    q = unit(np.random.default_rng(seed).normal(size=DIM))
    p = {"principals": principals}
    if method == "centroid":  # the mean of exactly the visible matching items
        rows = [int(i[1:]) for i in ok if where is None or int(i[1:]) % 3 == where["g"]]
        if not rows:
            with pytest.raises(ItemNotFoundError):
                col.centroid(where=where, **p)
        else:
            np.testing.assert_allclose(col.centroid(where=where, **p), x[rows].mean(0), atol=1e-5)
        return
    uses_refs = method in ("analogy", "cosmul", "recommend", "best_score", "query", "interpolate")
    used = names[:1] if method == "interpolate" else names
    if uses_refs and not set(used) <= ok:
        with pytest.raises(ItemNotFoundError):
            _call(col, method, names, q, k, where, p)
        return
    got = _call(col, method, names, q, k, where, p)
    assert set(got) <= ok, f"{method} leaked {set(got) - ok}"


def _call(col, method, names, q, k, where, p) -> list[str]:
    refs = [{"id": n} for n in names]
    if method == "search":
        return [h.id for h in col.search(q, k, where=where, **p)]
    if method == "batch":
        return [h.id for hs in col.search_batch([q, -q], k, where=where, **p) for h in hs]
    if method == "mmr":
        return [h.id for h in col.search(q, k, where=where, mmr=0.3, **p)]
    if method == "per_document":
        return [h.id for h in col.search(q, k, where=where, per_document=True, **p)]
    if method == "analogy":
        return [h.id for h in col.analogy(refs[:2], refs[2:], k, where=where, **p)]
    if method == "cosmul":
        return [
            h.id for h in col.analogy(refs[:2], refs[2:], k, method="3cosmul", where=where, **p)
        ]
    if method == "recommend":
        return [h.id for h in col.recommend(refs[:1], refs[1:], k, where=where, **p)]
    if method == "best_score":
        return [
            h.id
            for h in col.recommend(refs[:1], refs[1:], k, strategy="best_score", where=where, **p)
        ]
    if method == "query":
        return [h.id for h in col.query(" + ".join(f"@{n}" for n in names), k, where=where, **p)]
    if method == "interpolate":
        return [
            h.id
            for s in col.interpolate(refs[0], q, steps=4, k=k, where=where, **p)
            for h in s.hits
        ]
    assert method == "get"
    return [it.id for it in col.get(names, **p)]
