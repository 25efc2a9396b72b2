"""Building a collection's core parts on a bare `Store`, without a `Database` (tests/core)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from latentsearch.core.encoder_slot import EncoderSlot
from latentsearch.core.keeper import IndexKeeper
from latentsearch.core.settings import CollectionSettings
from latentsearch.core.writer import Writer
from latentsearch.store import CollectionRow, Store
from latentsearch.store import items as sql
from latentsearch.store.engine import sqlite_url
from latentsearch.store.models import content_hash, utcnow

DIM = 8


def open_store(folder: Path, url: str | None = None, **kw: Any) -> Store:
    """A migrated store: ``url`` (PostgreSQL) or a SQLite file in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    return Store(url or sqlite_url(folder), **kw)


def new_collection(
    store: Store, name: str = "c", *, dim: int = DIM, index: str = "Flat", **options: Any
) -> CollectionSettings:
    """Insert a bring-your-own-vectors collection row, as `Database.create_collection` does."""
    with store.transaction() as s:
        row = CollectionRow(
            name=name,
            encoder={},
            dim=dim,
            metric="cosine",
            index_spec=index,
            require_principals=False,
            seq=0,
            options={"default_acl": ["*"], "recall_target": 0.95, **options},
        )
        s.add(row)
    return CollectionSettings.from_row(row)


def unit(n: int, seed: int = 0, dim: int = DIM) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def put(store: Store, st: CollectionSettings, vectors: np.ndarray, prefix: str = "v") -> int:
    """Write items straight into the store, as another process would; return the new seq."""
    now = utcnow()
    with store.transaction() as s:
        seq = sql.bump_seq(s, st.id)
        rows = [
            {
                "collection_id": st.id,
                "external_id": f"{prefix}{i}",
                "kind": "vector",
                "meta": {},
                "content_hash": content_hash("vector", v.tobytes()),
                "seq": seq,
                "created": now,
                "updated": now,
            }
            for i, v in enumerate(vectors)
        ]
        sql.insert_items(s, rows, vectors, [["*"]] * len(rows))
    return seq


def remove(store: Store, st: CollectionSettings, external: list[str]) -> int:
    """Delete items straight from the store (with tombstones); return the new seq."""
    with store.transaction() as s:
        pks = [r.id for r in sql.existing(s, st.id, external).values()]
        seq = sql.bump_seq(s, st.id)
        sql.delete_items(s, st.id, seq, pks)
    return seq


def writer_for(store: Store, keeper: IndexKeeper, st: CollectionSettings) -> Writer:
    """A writer for a raw-vector collection (asking its encoder is an error)."""
    return Writer(store, keeper, st, EncoderSlot(st.name, st.dim, None).get)
