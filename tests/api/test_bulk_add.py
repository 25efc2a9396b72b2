"""The bulk path of add(vectors=<array>, ids=[...]): the same rows and answers as the general
path (SQLite and PostgreSQL), and the general path's errors for whatever it does not cover."""

from __future__ import annotations

import numpy as np
import pytest

import latentsearch as ls
from latentsearch.errors import DuplicateIdError, InvalidInputError


def _rows(col: ls.Collection, ids: list[str]) -> list[tuple]:
    return [(it.kind, it.metadata, it.acl, it.content_hash, it.text) for it in col.get(ids)]


def test_bulk_and_general_paths_write_the_same(tmp_path, database) -> None:
    x = np.random.default_rng(0).normal(size=(50, 8)).astype(np.float64)  # cast and normalised
    ids = [f"v{i}" for i in range(50)]
    with ls.connect(tmp_path, database=database) as db:
        bulk = db.create_collection("bulk", dim=8, default_acl=["group:a"])
        general = db.create_collection("general", dim=8, default_acl=["group:a"])
        assert bulk.add(vectors=x, ids=ids).added == 50
        general.add(vectors=x, ids=ids, metadata=[None] * 50)  # metadata=: the general path
        assert _rows(bulk, ids) == _rows(general, ids)
        q = x[:3].astype(np.float32)
        got = [[(h.id, round(h.score, 5)) for h in hits] for hits in bulk.search_vectors(q, 5)]
        want = [[(h.id, round(h.score, 5)) for h in hits] for hits in general.search_vectors(q, 5)]
        assert got == want


def test_bulk_path_leaves_errors_to_the_general_path(tmp_path) -> None:
    x = np.random.default_rng(1).normal(size=(4, 8)).astype(np.float32)
    with ls.connect(tmp_path) as db:
        col = db.create_collection("c", dim=8)
        col.add(vectors=x[:2], ids=["a", "b"])
        with pytest.raises(DuplicateIdError, match="already taken"):
            col.add(vectors=x[2:], ids=["c", "a"])
        with pytest.raises(DuplicateIdError, match="appears twice"):
            col.add(vectors=x[2:], ids=["d", "d"])
        with pytest.raises(InvalidInputError):
            col.add(vectors=x[2:], ids=["e", "  "])
        bad = x[2:].copy()
        bad[1, 0] = np.nan
        with pytest.raises(InvalidInputError, match="record 1"):
            col.add(vectors=bad, ids=["f", "g"])
        assert len(col) == 2 and col.verify()  # nothing else was written
