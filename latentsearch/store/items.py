"""Item reads and writes in SQL: batched inserts, tombstoned deletes, durable vectors, hydration.

Every function takes the caller's session, so a whole batch is one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from latentsearch.errors import CollectionNotFoundError
from latentsearch.store.models import (
    CollectionRow,
    ItemPrincipalRow,
    ItemRow,
    TombstoneRow,
    VectorRow,
)

# Keeps IN (...) lists and multi-row inserts well under every driver's parameter limit.
CHUNK = 2000


def chunks(seq: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


def to_blob(v: np.ndarray) -> bytes:
    return np.ascontiguousarray(v, dtype="<f4").tobytes()


def from_blobs(blobs: Sequence[bytes], dim: int) -> np.ndarray:
    if not blobs:
        return np.zeros((0, dim), dtype=np.float32)
    return np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(blobs), dim).astype(np.float32)


def bump_seq(s: Session, collection_id: int) -> int:
    """Start a write: take the collection's write lock and return the new write sequence number."""
    seq = s.execute(
        update(CollectionRow)
        .where(CollectionRow.id == collection_id)
        .values(seq=CollectionRow.seq + 1)
        .returning(CollectionRow.seq)
    ).scalar_one_or_none()
    if seq is None:
        raise CollectionNotFoundError("the collection was dropped while this write was running")
    return int(seq)


def current_seq(s: Session, collection_id: int) -> int | None:
    return s.execute(select(CollectionRow.seq).where(CollectionRow.id == collection_id)).scalar()


def existing(s: Session, collection_id: int, external_ids: Sequence[str]) -> dict[str, ItemRow]:
    """Existing items by external id (only those that exist)."""
    out: dict[str, ItemRow] = {}
    for part in chunks(list(external_ids)):
        rows = s.scalars(
            select(ItemRow).where(
                ItemRow.collection_id == collection_id, ItemRow.external_id.in_(part)
            )
        )
        out.update({r.external_id: r for r in rows})
    return out


def insert_items(
    s: Session, rows: list[dict[str, Any]], vectors: np.ndarray, acls: list[list[str]]
) -> np.ndarray:
    """Insert item rows, their vectors and principals; return the new primary keys in order."""
    pks: list[int] = []
    for part in chunks(rows):
        result = s.execute(
            insert(ItemRow).returning(ItemRow.id, sort_by_parameter_order=True), list(part)
        )
        pks.extend(int(r[0]) for r in result)
    ids = np.asarray(pks, dtype=np.int64)
    vec_rows = [{"item_id": pk, "data": to_blob(v)} for pk, v in zip(pks, vectors, strict=True)]
    for part in chunks(vec_rows):
        s.execute(insert(VectorRow), list(part))
    set_principals(s, pks, acls, replace=False)
    return ids


def set_principals(
    s: Session, pks: Sequence[int], acls: Sequence[list[str]], *, replace: bool
) -> None:
    if replace:
        for part in chunks(list(pks)):
            s.execute(delete(ItemPrincipalRow).where(ItemPrincipalRow.item_id.in_(part)))
    acl_rows = [
        {"item_id": pk, "principal": p} for pk, acl in zip(pks, acls, strict=True) for p in acl
    ]
    for part in chunks(acl_rows):
        s.execute(insert(ItemPrincipalRow), list(part))


def principals_of(s: Session, pks: Sequence[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {int(pk): [] for pk in pks}
    for part in chunks(list(pks)):
        for pk, p in s.execute(
            select(ItemPrincipalRow.item_id, ItemPrincipalRow.principal)
            .where(ItemPrincipalRow.item_id.in_(part))
            .order_by(ItemPrincipalRow.principal)
        ):
            out[int(pk)].append(p)
    return out


def delete_items(s: Session, collection_id: int, seq: int, pks: Sequence[int]) -> None:
    """Delete items (vectors and principals cascade) and record tombstones for index catch-up."""
    for part in chunks(list(pks)):
        s.execute(delete(ItemPrincipalRow).where(ItemPrincipalRow.item_id.in_(part)))
        s.execute(delete(VectorRow).where(VectorRow.item_id.in_(part)))
        s.execute(delete(ItemRow).where(ItemRow.id.in_(part)))
        s.execute(
            insert(TombstoneRow),
            [{"collection_id": collection_id, "item_id": int(pk), "seq": seq} for pk in part],
        )


def find_for_delete(s: Session, collection_id: int, external_ids: Sequence[str]) -> list[int]:
    """Primary keys of the items with these ids and of their chunks."""
    pks: list[int] = []
    for part in chunks(list(external_ids)):
        pks.extend(
            s.scalars(
                select(ItemRow.id).where(
                    ItemRow.collection_id == collection_id,
                    ItemRow.external_id.in_(part) | ItemRow.parent_id.in_(part),
                )
            )
        )
    return sorted(set(pks))


def touch(s: Session, pk: int, values: dict[str, Any], now: datetime) -> None:
    s.execute(update(ItemRow).where(ItemRow.id == pk).values(**values, updated=now))


def vectors_for(s: Session, pks: Sequence[int], dim: int) -> np.ndarray:
    """Stored vectors for these primary keys, in the given order (all must exist)."""
    found: dict[int, bytes] = {}
    for part in chunks(list(pks)):
        rows = s.execute(
            select(VectorRow.item_id, VectorRow.data).where(VectorRow.item_id.in_(part))
        )
        found.update({int(pk): data for pk, data in rows})
    return from_blobs([found[int(pk)] for pk in pks], dim)


def iter_vectors(
    s: Session, collection_id: int, dim: int, *, after_seq: int = -1, batch: int = 10_000
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Stream (ids, vectors) of the collection's items written after ``after_seq``."""
    stmt = (
        select(ItemRow.id, VectorRow.data)
        .join(VectorRow, VectorRow.item_id == ItemRow.id)
        .where(ItemRow.collection_id == collection_id, ItemRow.seq > after_seq)
        .order_by(ItemRow.id)
        .execution_options(yield_per=batch)
    )
    for part in s.execute(stmt).partitions(batch):
        ids = np.fromiter((r[0] for r in part), dtype=np.int64, count=len(part))
        yield ids, from_blobs([r[1] for r in part], dim)


def tombstones_since(s: Session, collection_id: int, after_seq: int) -> np.ndarray:
    ids = s.scalars(
        select(TombstoneRow.item_id).where(
            TombstoneRow.collection_id == collection_id, TombstoneRow.seq > after_seq
        )
    ).all()
    return np.asarray(ids, dtype=np.int64)


def all_ids(s: Session, collection_id: int) -> np.ndarray:
    ids = s.scalars(
        select(ItemRow.id).where(ItemRow.collection_id == collection_id).order_by(ItemRow.id)
    ).all()
    return np.asarray(ids, dtype=np.int64)


def count(s: Session, collection_id: int) -> int:
    return int(
        s.scalar(
            select(func.count()).select_from(ItemRow).where(ItemRow.collection_id == collection_id)
        )
        or 0
    )


def hydrate(s: Session, pks: Iterable[int]) -> dict[int, ItemRow]:
    """Load item rows for hits in one round trip (per chunk of ids)."""
    wanted = [int(p) for p in pks]
    out: dict[int, ItemRow] = {}
    for part in chunks(wanted):
        out.update({r.id: r for r in s.scalars(select(ItemRow).where(ItemRow.id.in_(part)))})
    return out
