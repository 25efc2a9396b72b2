"""Bulk ingest of raw vectors: the array fast path, reserved keys and streaming rebuilds.

Runs on SQLite and PostgreSQL (the ``db`` fixture), with real FAISS; no mocks.
"""

from __future__ import annotations

import numpy as np
import pytest

import latentsearch as ls
from latentsearch.errors import DimensionMismatchError, InvalidInputError, NonFiniteVectorError
from latentsearch.store import ItemRow
from latentsearch.store import items as sql


def unit(n: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def stored(col: ls.Collection, ids: list[str]) -> tuple[np.ndarray, list[str]]:
    """Stored vectors and content hashes, in the order of ``ids``."""
    store = col._space.store
    with store.session() as s:
        rows = sql.existing(s, col.id, ids)
        pks = [rows[i].id for i in ids]
        return sql.vectors_for(s, pks, col.dim), [rows[i].content_hash for i in ids]


def test_array_and_records_store_the_same(db: ls.Database) -> None:
    """vectors= as one array (validated per batch) and as records (per row) agree bit for bit."""
    x = 3.0 * unit(50)
    ids = [f"v{i}" for i in range(50)]
    a = db.create_collection("a", dim=16)
    b = db.create_collection("b", dim=16)
    a.add(vectors=x, ids=ids)
    b.add([{"id": i, "vector": v} for i, v in zip(ids, x, strict=True)])
    va, ha = stored(a, ids)
    vb, hb = stored(b, ids)
    assert np.array_equal(va, vb)
    assert ha == hb
    np.testing.assert_allclose(np.linalg.norm(va, axis=1), 1.0, rtol=1e-6)
    # Re-adding the same vectors by the other path is recognised as unchanged.
    assert a.upsert([{"id": i, "vector": v} for i, v in zip(ids, x, strict=True)]).unchanged == 50
    assert b.upsert(vectors=x, ids=ids).unchanged == 50


def test_array_path_keeps_raw_vectors_for_l2(db: ls.Database) -> None:
    x = 3.0 * unit(20)
    col = db.create_collection("l2", dim=16, metric="l2")
    col.add(vectors=x.astype(np.float64), ids=[f"v{i}" for i in range(20)])
    v, _ = stored(col, [f"v{i}" for i in range(20)])
    assert v.dtype == np.float32 and v.flags.writeable
    np.testing.assert_array_equal(v, x)


@pytest.mark.parametrize(
    ("bad", "error", "row"),
    [
        (lambda x: x[:, :8], DimensionMismatchError, "record 0"),
        (
            lambda x: np.where(np.arange(len(x))[:, None] == 7, np.nan, x),
            NonFiniteVectorError,
            "record 7",
        ),
        (
            lambda x: np.where(np.arange(len(x))[:, None] == 3, 0.0, x),
            InvalidInputError,
            "record 3",
        ),
    ],
)
def test_array_path_rejects_bad_batches_before_writing(db: ls.Database, bad, error, row) -> None:
    col = db.create_collection("bad", dim=16)
    with pytest.raises(error, match=row):
        col.add(vectors=bad(unit(10)), ids=[f"v{i}" for i in range(10)])
    assert len(col) == 0 and col.verify()


def test_reserved_keys_are_fresh_and_never_reused(db: ls.Database) -> None:
    """Keys come from the database's own counter: a deleted top key is not handed out again,
    and two collections in one database never share a key."""
    a = db.create_collection("a", dim=16)
    b = db.create_collection("b", dim=16)
    a.add(vectors=unit(5), ids=[f"a{i}" for i in range(5)])
    b.add(vectors=unit(3, seed=1), ids=[f"b{i}" for i in range(3)])
    top = max(int(a.index.ids().max()), int(b.index.ids().max()))  # the newest key: b2's
    a.delete(ids=["a4"])
    b.delete(ids=["b2"])
    a.add(vectors=unit(2, seed=2), ids=["x", "y"])
    a.add([{"id": "z", "vector": unit(1, seed=3)[0]}])  # the records path reserves keys too
    assert not set(a.index.ids().tolist()) & set(b.index.ids().tolist())
    assert a.verify() and b.verify()
    with db.store.session() as s:
        rows = s.query(ItemRow.external_id, ItemRow.id).filter(ItemRow.collection_id == a.id)
        by_ext = dict(rows)
    assert top < by_ext["x"] < by_ext["y"] < by_ext["z"]
    got = a.get("x", include_vectors=True).vector
    assert got is not None
    np.testing.assert_allclose(got, unit(2, seed=2)[0], rtol=1e-6)
    assert a.get("z").acl == ["*"]


def test_streaming_rebuild_equals_the_store(db: ls.Database) -> None:
    """A rebuild streams the store in chunks (more rows than one chunk) into the same index."""
    n = 23_456
    x = unit(n, seed=5)
    col = db.create_collection("big", dim=16, index="Flat")
    for lo in range(0, n, 10_000):
        col.add(vectors=x[lo : lo + 10_000], ids=[f"v{i}" for i in range(lo, min(lo + 10_000, n))])
    col.delete(ids=[f"v{i}" for i in range(0, n, 97)])
    before = col.search_vectors(x[:50], 5)
    col.rebuild()
    assert col.verify()
    with db.store.session() as s:
        ids = sql.all_ids(s, col.id)
        parts = list(sql.iter_vectors(s, col.id, col.dim, batch=4096))
    assert len(parts) == -(-len(ids) // 4096)
    got_ids = np.concatenate([p[0] for p in parts])
    assert np.array_equal(got_ids, ids)
    flat = col.index.index
    rebuilt = np.stack([flat.reconstruct(int(i)) for i in got_ids[::500]])
    assert np.array_equal(rebuilt, np.concatenate([p[1] for p in parts])[::500])
    after = col.search_vectors(x[:50], 5)
    assert [[h.id for h in r] for r in after] == [[h.id for h in r] for r in before]


def test_from_blobs_is_writable_and_exact() -> None:
    x = unit(7)
    out = sql.from_blobs([sql.to_blob(v) for v in x], 16)
    assert out.flags.writeable and out.dtype == np.float32
    np.testing.assert_array_equal(out, x)
    assert sql.from_blobs([], 16).shape == (0, 16)
