"""Bad input gets a typed error and leaves the store exactly as it was."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import latentsearch as ls
from latentsearch import errors


def snapshot(col: ls.Collection) -> tuple:
    items = col.get([f"d{i}" for i in range(3)], include_vectors=True)
    return (
        len(col),
        col.sync(),
        tuple(col.index.ids()),
        tuple((i.id, i.text, i.content_hash, tuple(i.acl), i.vector.tobytes()) for i in items),
    )


@pytest.fixture
def docs(db: ls.Database) -> ls.Collection:
    col = db.create_collection("docs", encoder="text")
    col.add(texts=["first doc", "second doc", "third doc"], ids=["d0", "d1", "d2"])
    return col


@pytest.fixture
def raw(db: ls.Database) -> ls.Collection:
    col = db.create_collection("raw", dim=4)
    col.add(vectors=np.eye(3, 4), ids=["d0", "d1", "d2"])
    return col


def corrupt_png(tmp_path: Path) -> Path:
    good = tmp_path / "good.png"
    Image.new("RGB", (32, 32), "red").save(good)
    bad = tmp_path / "bad.png"
    bad.write_bytes(good.read_bytes()[:40])
    return bad


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda c: c.add(vectors=np.ones((1, 5)), ids=["x"]), errors.DimensionMismatchError),
        (
            lambda c: c.add(vectors=np.array([[1, np.nan, 0, 0]]), ids=["x"]),
            errors.NonFiniteVectorError,
        ),
        (
            lambda c: c.add(vectors=np.array([[1, np.inf, 0, 0]]), ids=["x"]),
            errors.NonFiniteVectorError,
        ),
        (lambda c: c.add(vectors=np.ones((2, 4)), ids=["x", "x"]), errors.DuplicateIdError),
        (lambda c: c.add(vectors=np.ones((1, 4)), ids=["d1"]), errors.DuplicateIdError),
        (lambda c: c.add(vectors=np.ones((2, 4)), ids=["x"]), errors.InvalidInputError),
        (
            lambda c: c.add(vectors=np.ones((1, 4)), ids=["x"], metadata=[{"a": float("nan")}]),
            errors.InvalidInputError,
        ),
        (
            lambda c: c.add(vectors=np.ones((1, 4)), ids=["x"], acl=["group:eng"]),
            errors.InvalidInputError,
        ),
        (lambda c: c.add(texts=["hello"], ids=["x"]), errors.InvalidInputError),
        (
            lambda c: c.upsert(vectors=np.ones((2, 4)), ids=["d0", "x"], metadata=[{}, 3]),
            errors.InvalidInputError,
        ),
        (lambda c: c.search(np.ones(5)), errors.DimensionMismatchError),
        (lambda c: c.search(np.ones(4), k=0), errors.InvalidInputError),
    ],
)
def test_raw_bad_input(raw: ls.Collection, call, error) -> None:
    before = snapshot(raw)
    with pytest.raises(error):
        call(raw)
    assert snapshot(raw) == before


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda c, p: c.add(texts=["   "], ids=["x"]), errors.EmptyTextError),
        (lambda c, p: c.add(texts=["ok", ""], ids=["x", "y"]), errors.EmptyTextError),
        (lambda c, p: c.add(texts=["a", "b"], ids=["x", "x"]), errors.DuplicateIdError),
        (lambda c, p: c.add(texts=["a", "b"], ids=["x"]), errors.InvalidInputError),
        (
            lambda c, p: c.add(texts=["a"], ids=["x"], sources=[{"url": "typo"}]),
            errors.InvalidInputError,
        ),
        (lambda c, p: c.add(images=[p], ids=["x"]), errors.UnsupportedModalityError),
        (
            lambda c, p: c.upsert(texts=["changed", "new"], ids=["d0", "d0"]),
            errors.DuplicateIdError,
        ),
        (lambda c, p: c.search(""), errors.InvalidInputError),
    ],
)
def test_text_bad_input(docs: ls.Collection, tmp_path, call, error) -> None:
    before = snapshot(docs)
    with pytest.raises(error):
        call(docs, corrupt_png(tmp_path))
    assert snapshot(docs) == before


def test_corrupt_and_missing_images(db: ls.Database, tiny_clip_path, tmp_path) -> None:
    col = db.create_collection("media", encoder=str(tiny_clip_path))
    good = tmp_path / "ok.png"
    Image.new("RGB", (32, 32), "blue").save(good)
    col.add(images=[good], ids=["ok"])
    before = (len(col), col.sync(), tuple(col.index.ids()))
    with pytest.raises(errors.ImageError, match="cannot read an image"):
        col.add(images=[good, corrupt_png(tmp_path)], ids=["a", "b"])
    with pytest.raises(errors.ImageError, match="cannot read an image"):  # one message for all
        col.add(images=[tmp_path / "missing.jpg"], ids=["c"])
    assert (len(col), col.sync(), tuple(col.index.ids())) == before


def test_unknown_collection(db: ls.Database) -> None:
    with pytest.raises(errors.CollectionNotFoundError):
        db.collection("nope")


def test_every_error_is_a_latentsearch_error() -> None:
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), errors.LatentSearchError)
