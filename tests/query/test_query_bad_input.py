"""Bad input to the query layer: each case is a clear typed error and changes nothing."""

from __future__ import annotations

import math

import numpy as np
import pytest
from query_support import database

import latentsearch as ls
from latentsearch import errors
from latentsearch.testing.tinyclip import shape_image


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def col(request, tmp_path_factory, pg_admin):
    """One collection per backend, shared: no case may change it."""
    from pgkit import PG_URL

    with database(request.param, tmp_path_factory.mktemp("bad"), pg_admin, PG_URL) as db:
        c = db.create_collection("bad", encoder="text")
        words = ["king", "queen", "man", "woman"]
        c.add(texts=words, ids=words, metadata=[{"n": i} for i in range(4)])
        c.direction(["queen"], ["king"], name="fem")
        yield c


def snapshot(c: ls.Collection) -> tuple:
    items = c.get(["king", "queen", "man", "woman"], include_vectors=True)
    return (
        len(c),
        c.sync(),
        [(it.id, it.content_hash, it.metadata, tuple(it.acl), it.vector.tobytes()) for it in items],
        [(d.name, d.positive, d.negative, d.norm) for d in c.directions()],
        c.verify(),
    )


BAD = [
    # unknown fields in operators; type mismatches in a filter
    (
        "unknown field in operators",
        lambda c: c.search("x", where={"n": {"$gt": 1, "unit": "kg"}}),
        errors.FilterError,
    ),
    ("unknown operator", lambda c: c.search("x", where={"n": {"$near": 1}}), errors.FilterError),
    ("$gt on a list", lambda c: c.search("x", where={"n": {"$gt": [1, 2]}}), errors.FilterError),
    ("$in on a scalar", lambda c: c.query("king", where={"n": {"$in": 3}}), errors.FilterError),
    ("filter in delete", lambda c: c.delete(where={"n": {"$gte": [0]}}), errors.FilterError),
    ("filter in centroid", lambda c: c.centroid(where={"$nor": []}), errors.FilterError),
    (
        "filter in analogy",
        lambda c: c.analogy(["king"], where={"n": {"$lt": {}}}),
        errors.FilterError,
    ),
    # expressions
    ("empty expression", lambda c: c.query(""), errors.ExpressionError),
    ("blank expression", lambda c: c.query("  \t "), errors.ExpressionError),
    ("unbalanced quotes", lambda c: c.query('"sunny beach - people'), errors.ExpressionError),
    ("unbalanced parenthesis", lambda c: c.query("(king - man"), errors.ExpressionError),
    ("vector times vector", lambda c: c.query("king * queen"), errors.ExpressionError),
    ("unknown direction", lambda c: c.query("king + vec:nope"), errors.DirectionNotFoundError),
    # image terms in a text-only collection
    (
        "image path in expression",
        lambda c: c.query("king + image:photo.png"),
        errors.UnsupportedModalityError,
    ),
    (
        "PIL image query",
        lambda c: c.search(shape_image("red", "circle")),
        errors.UnsupportedModalityError,
    ),
    (
        "image in analogy",
        lambda c: c.analogy([shape_image("red", "circle")]),
        errors.UnsupportedModalityError,
    ),
    # references to missing items
    ("missing @ref", lambda c: c.query("@nope - man"), errors.ItemNotFoundError),
    ("missing {'id'}", lambda c: c.search({"id": "nope"}), errors.ItemNotFoundError),
    ("missing in recommend", lambda c: c.recommend([{"id": "nope"}]), errors.ItemNotFoundError),
    (
        "missing in interpolate",
        lambda c: c.interpolate("king", {"id": "nope"}),
        errors.ItemNotFoundError,
    ),
    ("missing in centroid", lambda c: c.centroid(["king", "nope"]), errors.ItemNotFoundError),
    (
        "missing in saved direction",
        lambda c: c.direction([{"id": "nope"}], name="fem"),
        errors.ItemNotFoundError,
    ),
    # k <= 0 or absurd
    ("k=0", lambda c: c.search("x", k=0), errors.InvalidInputError),
    ("k<0", lambda c: c.query("king", k=-3), errors.InvalidInputError),
    ("absurd k", lambda c: c.analogy(["king"], k=10**9), errors.InvalidInputError),
    ("float k", lambda c: c.recommend(["king"], k=2.5), errors.InvalidInputError),
    ("bool k", lambda c: c.search_batch(["x"], k=True), errors.InvalidInputError),
    ("k in interpolate", lambda c: c.interpolate("king", "man", k=0), errors.InvalidInputError),
    # NaN weights
    (
        "NaN weight",
        lambda c: c.analogy(["king", "woman"], ["man"], weights=[1.0, math.nan, 1.0]),
        errors.InvalidInputError,
    ),
    (
        "infinite weight",
        lambda c: c.analogy(["king"], weights=[math.inf]),
        errors.InvalidInputError,
    ),
    (
        "weights of the wrong length",
        lambda c: c.analogy(["king"], ["man"], weights=[1.0]),
        errors.InvalidInputError,
    ),
    ("NaN vector", lambda c: c.search(np.full(384, np.nan)), errors.InvalidInputError),
    ("NaN in a vector term", lambda c: c.analogy([np.full(384, np.nan)]), errors.InvalidInputError),
    ("overflowing weight", lambda c: c.query("1e200 * 1e200 * king"), errors.ExpressionError),
    # other knobs
    ("mmr above 1", lambda c: c.search("x", mmr=1.5), errors.InvalidInputError),
    ("mmr NaN", lambda c: c.query("king", mmr=math.nan), errors.InvalidInputError),
    ("unknown method", lambda c: c.analogy(["king"], method="3cosdiv"), errors.InvalidInputError),
    (
        "unknown strategy",
        lambda c: c.recommend(["king"], strategy="best"),
        errors.InvalidInputError,
    ),
    ("no positives", lambda c: c.analogy([], ["man"]), errors.InvalidInputError),
    ("wrong dimension", lambda c: c.search(np.ones(5)), errors.DimensionMismatchError),
    ("delete needs ids or where", lambda c: c.delete(), errors.InvalidInputError),
    ("delete both", lambda c: c.delete(["king"], where={}), errors.InvalidInputError),
    (
        "bad direction name",
        lambda c: c.direction(["king"], name="no spaces"),
        errors.InvalidInputError,
    ),
    (
        "principals as a string",
        lambda c: c.search("x", principals="user:a"),
        errors.InvalidInputError,
    ),
    ("query of the wrong type", lambda c: c.search(3.5), errors.InvalidInputError),
]


@pytest.mark.parametrize(("case", "call", "error"), BAD, ids=[b[0] for b in BAD])
def test_bad_query_input_is_a_typed_error_and_changes_nothing(
    col: ls.Collection, case, call, error
) -> None:
    before = snapshot(col)
    with pytest.raises(error) as err:
        call(col)
    assert isinstance(err.value, errors.LatentSearchError)
    assert len(str(err.value)) > 20, "the message should say what went wrong and how to fix it"
    assert snapshot(col) == before


def test_filter_and_expression_errors_locate_the_problem(col: ls.Collection) -> None:
    with pytest.raises(errors.FilterError) as f:
        col.search("x", where={"$and": [{"n": 1}, {"n": {"$gt": [1]}}]})
    assert f.value.path == "where.$and[1].n.$gt"
    with pytest.raises(errors.ExpressionError) as e:
        col.query('king + "queen')
    assert e.value.column == 8 and "^" in str(e.value)
