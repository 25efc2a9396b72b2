"""The explorer's bad and edge inputs (SQLite and PostgreSQL): an empty collection, one item, k
above the item count, spread <= 0, coinciding poles, a raw-vector collection, wrong arguments.
Each gives a clear typed error or a sensible answer, and never a crash."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
from explorekit import tickets, vector_collection

import latentsearch as ls
from latentsearch.errors import (
    DirectionNotFoundError,
    InvalidInputError,
    ItemNotFoundError,
    MissingExtraError,
    UnsupportedModalityError,
)


def test_an_empty_collection_gives_empty_answers(db: ls.Database) -> None:
    col = db.create_collection("empty", dim=4)
    for method in ("pca", "umap"):
        m = col.map(method=method)
        assert m.points == [] and m.clusters == [] and m.fitted_on == 0
    assert col.clusters() == [] and col.clusters(5) == []
    assert col.axis([1.0, 0, 0, 0], [0, 1.0, 0, 0]) == []
    assert col.sample(3) == [] and col.sample(3, around=[1.0, 0, 0, 0]) == []
    assert col.project([1.0, 2.0, 3.0, 4.0]).shape == (1, 2)


def test_one_item(db: ls.Database) -> None:
    col = db.create_collection("one", dim=4)
    col.add(vectors=[[1.0, 2.0, 3.0, 4.0]], ids=["only"], metadata=[{"a": 1}])
    for method in ("pca", "umap"):
        m = col.map(method=method)
        assert [(p.id, p.x, p.y) for p in m.points] == [("only", 0.0, 0.0)]
        assert [(c.size, c.medoid, c.ids) for c in m.clusters] == [(1, "only", ("only",))]
    assert [c.ids for c in col.clusters(3)] == [("only",)]  # k above the count: as many as exist
    draws = col.sample(5, seed=0)
    assert [d.hit.id for d in draws] == ["only"]  # no repeats: one item, one draw
    assert [p.id for p in col.axis([1.0, 0, 0, 0], [0, 1.0, 0, 0])] == ["only"]


def test_few_items_fall_back_to_pca_for_umap(db: ls.Database) -> None:
    col = db.create_collection("few", dim=4)
    col.add(vectors=np.eye(4)[:3], ids=["a", "b", "c"])
    m = col.map(method="umap")
    assert m.method == "pca" and len(m.points) == 3  # UMAP needs a neighbourhood to keep


def test_k_larger_than_the_item_count(db: ls.Database) -> None:
    col, _ = vector_collection(db, n_per=2)
    found = col.clusters(50)
    assert len(found) == 6 and sorted(c.size for c in found) == [1] * 6
    # duplicates: no more groups than distinct vectors
    dup = db.create_collection("dup", dim=3)
    dup.add(vectors=[[1.0, 0, 0]] * 4 + [[0, 1.0, 0]] * 4, ids=[f"d{i}" for i in range(8)])
    assert sorted(c.size for c in dup.clusters(5)) == [4, 4]
    assert sorted(c.size for c in dup.clusters()) == [4, 4]


@pytest.mark.parametrize("spread", [0, -1.0, math.nan, math.inf, "wide", True])
def test_spread_must_be_positive(db: ls.Database, spread: object) -> None:
    col, _ = vector_collection(db, n_per=3)
    with pytest.raises(InvalidInputError, match="spread"):
        col.sample(2, spread=spread)  # type: ignore[arg-type]


@pytest.mark.parametrize("n", [0, -3, 1001, 2.5, None])
def test_sample_count_is_checked(db: ls.Database, n: object) -> None:
    col, _ = vector_collection(db, n_per=3)
    with pytest.raises(InvalidInputError, match="n must be"):
        col.sample(n)  # type: ignore[arg-type]


def test_coinciding_poles_are_refused(db: ls.Database) -> None:
    col = tickets(db)
    with pytest.raises(InvalidInputError, match="coincide"):
        col.axis("vpn problems", "vpn problems")
    with pytest.raises(InvalidInputError, match="coincide"):
        col.axis({"id": "TICKET-101"}, {"id": "TICKET-101"})
    v = col.embed_query("refund")
    with pytest.raises(InvalidInputError, match="coincide"):
        col.axis(v, v.copy())
    with pytest.raises(InvalidInputError, match="two poles"):
        col.axis(None, "refund")
    with pytest.raises(ItemNotFoundError):
        col.axis({"id": "nope"}, "refund")
    with pytest.raises(DirectionNotFoundError):
        col.axis({"vec": "nope"}, "refund")
    col.direction(["disk full"], ["vpn"], name="ops")
    assert len(col.axis({"vec": "ops"}, "refund")) == 10


def test_raw_vector_collections_map_without_text(db: ls.Database) -> None:
    col, _ = vector_collection(db, n_per=5)
    m = col.map(method="pca")
    assert len(m.points) == 15 and all(p.title is None and p.kind == "vector" for p in m.points)
    assert all(c.label == c.medoid for c in m.clusters)
    with pytest.raises(UnsupportedModalityError):
        col.project("some text")
    with pytest.raises(UnsupportedModalityError):
        col.sample(2, around="some text")


def test_wrong_arguments_are_typed_errors(db: ls.Database) -> None:
    col, _ = vector_collection(db, n_per=3)
    bad = [
        lambda: col.map(method="tsne"),
        lambda: col.map(level="page"),
        lambda: col.map(seed=-1),
        lambda: col.map(seed=1.5),  # type: ignore[arg-type]
        lambda: col.clusters(0),
        lambda: col.clusters(-2),
        lambda: col.clusters(2.0),  # type: ignore[arg-type]
        lambda: col.sample(2, seed=-1),
        lambda: col.project(np.zeros((2, 5))),  # wrong dimension
        lambda: col.project([np.nan] * 16),
        lambda: col.project({"expr": ""}),
        lambda: col.project({"expr": "1 +"}),
        lambda: col.map(where={"g": {"$bogus": 1}}),
    ]
    for call in bad:
        with pytest.raises(InvalidInputError):
            call()


def test_strict_collections_need_principals(db: ls.Database) -> None:
    col = db.create_collection("strict", dim=4, require_principals=True)
    col.add(vectors=np.eye(4), ids=list("abcd"), acl=[["user:x"]] * 3 + [["*"]])
    calls = [
        col.map,
        col.clusters,
        lambda: col.sample(1),
        lambda: col.axis("a", "b"),
        lambda: col.project([1.0, 0, 0, 0]),
    ]
    for call in calls:
        with pytest.raises(ls.errors.PermissionDeniedError):
            call()
    assert [p.id for p in col.map(method="pca", principals=[]).points] == ["d"]


def test_umap_without_its_extra_names_the_extra(
    db: ls.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    col, _ = vector_collection(db, n_per=5)
    monkeypatch.setitem(sys.modules, "umap", None)  # what `import umap` meets when not installed
    with pytest.raises(MissingExtraError, match=r"latentsearch\[explore\]"):
        col.map(method="umap")
    assert len(col.map(method="pca").points) == 15  # PCA needs no extra
