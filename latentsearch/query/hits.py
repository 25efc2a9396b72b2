"""From ranked primary keys to `Hit`s and `Item`s: one SQL round trip, permissions re-applied."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from latentsearch.results import Chunk, Hit, Item, Source
from latentsearch.store import ItemRow
from latentsearch.store import items as sql
from latentsearch.store.acl import Access, item_scope


def rows_for(s: Session, collection_id: int, pks: Iterable[int], acc: Access) -> dict[int, ItemRow]:
    """Item rows by primary key, only those the caller may see (defence in depth)."""
    wanted = sorted({int(p) for p in pks})
    out: dict[int, ItemRow] = {}
    for part in sql.chunks(wanted):
        stmt = select(ItemRow).where(item_scope(collection_id, None, acc), ItemRow.id.in_(part))
        out.update({r.id: r for r in s.scalars(stmt)})
    return out


def visible_by_external(
    s: Session, collection_id: int, external_ids: Sequence[str], acc: Access
) -> dict[str, ItemRow]:
    """Rows by external id, only those that exist and are visible (missing == invisible)."""
    out: dict[str, ItemRow] = {}
    for part in sql.chunks(sorted(set(external_ids))):
        stmt = select(ItemRow).where(
            item_scope(collection_id, None, acc), ItemRow.external_id.in_(part)
        )
        out.update({r.external_id: r for r in s.scalars(stmt)})
    return out


def document_key(row: ItemRow) -> str:
    """The document an item belongs to: its parent for a chunk, else itself."""
    return row.parent_id if row.parent_id is not None else row.external_id


def chunk_of(row: ItemRow) -> Chunk | None:
    if row.parent_id is None or row.chunk_start is None or row.chunk_end is None:
        return None
    return Chunk(parent=row.parent_id, start=row.chunk_start, end=row.chunk_end)


def make_item(row: ItemRow, acl: list[str], vector: np.ndarray | None) -> Item:
    return Item(
        id=row.external_id,
        kind=row.kind,  # type: ignore[arg-type]
        text=row.text if row.kind != "image" else row.content_ref,
        metadata=dict(row.meta or {}),
        source=Source(uri=row.source_uri, title=row.source_title),
        acl=acl,
        content_hash=row.content_hash,
        created=row.created,
        updated=row.updated,
        chunk=chunk_of(row),
        vector=vector,
    )


def make_hit(row: ItemRow, score: float, why: dict[str, float] | None = None) -> Hit:
    return Hit(
        id=row.external_id,
        score=score,
        kind=row.kind,  # type: ignore[arg-type]
        text=row.text if row.kind != "image" else row.content_ref,
        metadata=dict(row.meta or {}),
        source=Source(uri=row.source_uri, title=row.source_title),
        chunk=chunk_of(row),
        why=why,
    )
