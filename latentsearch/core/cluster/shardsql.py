"""What one shard reads from the store: its own items only (placement: ``id % shards == shard``).

A replica reads in a REPEATABLE READ transaction, so the write seq and the rows it reads come from
one snapshot: the index then reflects exactly the store at that seq (a write committed between two
statements would otherwise be read without its seq, and applied twice later).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from latentsearch.index import VectorIndex
from latentsearch.store import ItemRow, TombstoneRow, VectorRow
from latentsearch.store import items as sql


def owned(ids: np.ndarray, shard: int, shards: int) -> np.ndarray:
    """The ids of ``ids`` that ``shard`` owns (the placement rule)."""
    arr = np.asarray(ids, dtype=np.int64)
    kept: np.ndarray = arr[arr % shards == shard]
    return kept


def iter_vectors(
    s: Session,
    collection_id: int,
    dim: int,
    shard: int,
    shards: int,
    *,
    after_seq: int = -1,
    batch: int = 10_000,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Stream (ids, vectors) of the shard's items written after ``after_seq``."""
    stmt = (
        select(ItemRow.id, VectorRow.data)
        .join(VectorRow, VectorRow.item_id == ItemRow.id)
        .where(
            ItemRow.collection_id == collection_id,
            ItemRow.seq > after_seq,
            ItemRow.id % shards == shard,
        )
        .order_by(ItemRow.id)
        .execution_options(yield_per=batch)
    )
    for part in s.execute(stmt).partitions(batch):
        ids = np.fromiter((r[0] for r in part), dtype=np.int64, count=len(part))
        yield ids, sql.from_blobs([r[1] for r in part], dim)


def tombstones_since(
    s: Session, collection_id: int, shard: int, shards: int, after_seq: int
) -> np.ndarray:
    ids = s.scalars(
        select(TombstoneRow.item_id).where(
            TombstoneRow.collection_id == collection_id,
            TombstoneRow.seq > after_seq,
            TombstoneRow.item_id % shards == shard,
        )
    ).all()
    return np.asarray(ids, dtype=np.int64)


def all_ids(s: Session, collection_id: int, shard: int, shards: int) -> np.ndarray:
    ids = s.scalars(
        select(ItemRow.id)
        .where(ItemRow.collection_id == collection_id, ItemRow.id % shards == shard)
        .order_by(ItemRow.id)
    ).all()
    return np.asarray(ids, dtype=np.int64)


def replay(
    s: Session,
    index: VectorIndex,
    collection_id: int,
    dim: int,
    shard: int,
    shards: int,
    after: int,
) -> None:
    """Drop the shard's ids tombstoned after seq ``after``; add its items written after it that
    the index lacks (ids are never reused, so replaying a write twice is harmless)."""
    gone = tombstones_since(s, collection_id, shard, shards, after)
    if len(gone):
        index.remove(gone)
    have = index.ids()
    for ids, vecs in iter_vectors(s, collection_id, dim, shard, shards, after_seq=after):
        keep = ~np.isin(ids, have)
        index.add(ids[keep], vecs[keep])


def fill(
    s: Session, index: VectorIndex, collection_id: int, dim: int, shard: int, shards: int
) -> None:
    """Add every item of the shard to an empty (trained, or exact) index."""
    for ids, vecs in iter_vectors(s, collection_id, dim, shard, shards):
        index.add(ids, vecs)
    index.mark_built()
