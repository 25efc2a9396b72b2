"""The index is derived from SQL: a lagging, missing or damaged index is repaired on reopen."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

import latentsearch as ls


def make(path, database, spec="Flat"):
    db = ls.connect(path, database=database, device="cpu")
    return db, db.create_collection("raw", dim=8, index=spec, exist_ok=True)


@pytest.mark.parametrize("spec", ["Flat", "HNSW16", "IVF2,Flat"])
def test_index_older_than_store_is_replayed(index_path, database, spec, caplog) -> None:
    x = np.random.default_rng(0).normal(size=(200, 8))
    db, col = make(index_path, database, spec)
    col.add(vectors=x[:100], ids=[str(i) for i in range(100)])
    db.close()
    saved = index_path.parent / "saved"
    shutil.copytree(index_path, saved, ignore=shutil.ignore_patterns("*.db*"))
    db, col = make(index_path, database, spec)
    col.add(vectors=x[100:], ids=[str(i) for i in range(100, 200)])
    col.delete([str(i) for i in range(10)])
    db.close()
    # the process "died" after its SQL commits but before the index was saved:
    for f in index_path.glob("collection-*"):
        f.unlink()
    for f in saved.iterdir():
        shutil.copy(f, index_path / f.name)
    caplog.set_level("WARNING", logger="latentsearch")
    db, col = make(index_path, database, spec)
    assert any("lags the store" in r.getMessage() for r in caplog.records)
    assert col.verify() and len(col) == 190
    assert col.search(x[150], k=1)[0].id == "150"
    db.close()


def test_missing_or_corrupt_index_is_rebuilt(index_path, database) -> None:
    x = np.random.default_rng(1).normal(size=(50, 8))
    db, col = make(index_path, database)
    col.add(vectors=x, ids=[str(i) for i in range(50)])
    db.close()
    (data,) = index_path.glob("collection-*.faiss")
    data.write_bytes(b"garbage")
    db, col = make(index_path, database)
    assert col.verify() and col.search(x[7], k=1)[0].id == "7"
    db.close()
    for f in index_path.glob("collection-*"):
        f.unlink()
    db, col = make(index_path, database)
    assert col.verify() and len(col) == 50
    db.close()


def test_two_handles_see_each_others_writes(index_path, database) -> None:
    """Two Database objects (as two processes would) share the store; reads catch up."""
    x = np.random.default_rng(2).normal(size=(20, 8))
    db1, a = make(index_path, database)
    db2, b = make(index_path, database)
    a.add(vectors=x[:10], ids=[str(i) for i in range(10)])
    assert b.search(x[3], k=1)[0].id == "3"
    b.add(vectors=x[10:], ids=[str(i) for i in range(10, 20)])
    b.delete(["3"])
    assert a.search(x[15], k=1)[0].id == "15"
    assert "3" not in {h.id for h in a.search(x[3], k=5)}
    assert a.verify() and b.verify()
    db1.close()
    db2.close()


def test_saves_are_atomic_files(index_path, database) -> None:
    db, col = make(index_path, database)
    for i in range(3):
        col.add(
            vectors=np.random.default_rng(i).normal(size=(5, 8)), ids=[f"{i}-{j}" for j in range(5)]
        )
    db.close()
    files = sorted(p.name for p in index_path.iterdir() if p.name.startswith("collection-"))
    assert len(files) == 2 and files[1].endswith(".json")  # one data file + its meta, no leftovers
    assert not list(index_path.glob("*.tmp"))
