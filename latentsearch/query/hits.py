"""From ranked primary keys to `Hit`s and `Item`s: one SQL round trip, permissions re-applied.

Hits are hydrated from plain column rows (`HitRow`), not ORM objects: building an ORM instance
costs about ten times as much as reading the row, and a batch of 1,000 queries hydrates 10,000.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import numpy as np
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from latentsearch.checks import check_text
from latentsearch.results import Chunk, Hit, Item, Source
from latentsearch.store import ItemRow, VectorRow
from latentsearch.store import items as sql
from latentsearch.store.acl import VISIBLE_ROW, Access, allowed_names, item_scope


class HitRow(Protocol):
    """What a hit is made of: a row of `HIT_COLUMNS`."""

    @property
    def id(self) -> int: ...
    @property
    def external_id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def text(self) -> str | None: ...
    @property
    def content_ref(self) -> str | None: ...
    @property
    def source_uri(self) -> str | None: ...
    @property
    def source_title(self) -> str | None: ...
    @property
    def parent_id(self) -> str | None: ...
    @property
    def chunk_start(self) -> int | None: ...
    @property
    def chunk_end(self) -> int | None: ...
    @property
    def meta(self) -> Any: ...
    @property
    def data(self) -> bytes: ...  # only from `rows_for(..., vectors=True)`


HIT_COLUMNS = (
    ItemRow.id,
    ItemRow.external_id,
    ItemRow.kind,
    ItemRow.text,
    ItemRow.content_ref,
    ItemRow.source_uri,
    ItemRow.source_title,
    ItemRow.parent_id,
    ItemRow.chunk_start,
    ItemRow.chunk_end,
    ItemRow.meta.label("meta"),  # Core rows are keyed by column name; the column is "metadata"
)


def rows_for(
    s: Session, collection_id: int, pks: Iterable[int], acc: Access, vectors: bool = False
) -> dict[int, HitRow]:
    """Hit rows by primary key, only those the caller may see (defence in depth); with
    ``vectors`` each row also carries its stored vector's bytes as ``data`` (same round trip)."""
    wanted = sorted({int(p) for p in pks})
    out: dict[int, HitRow] = {}
    conn = s.connection()  # Core rows, no ORM layer
    # Statements built once, only parameters change: building one per query (the ACL test's
    # expression especially) cost more than running it.
    params: dict[str, Any] = {"cid": collection_id}
    if acc.principals is None:
        stmt = _ROWS_WITH_VECTORS if vectors else _ROWS
    else:
        stmt = _VISIBLE_ROWS_WITH_VECTORS if vectors else _VISIBLE_ROWS
        params["principals"] = allowed_names(acc.principals)
    for part in sql.chunks(wanted):
        out.update({r.id: r for r in conn.execute(stmt, {**params, "ids": part})})
    return out


_IN_COLLECTION = (
    ItemRow.collection_id == bindparam("cid"),
    ItemRow.id.in_(bindparam("ids", expanding=True)),
)
_ROWS = select(*HIT_COLUMNS).where(*_IN_COLLECTION)
_ROWS_WITH_VECTORS = (
    select(*HIT_COLUMNS, VectorRow.data)
    .join(VectorRow, VectorRow.item_id == ItemRow.id)
    .where(*_IN_COLLECTION)
)
_VISIBLE_ROWS = _ROWS.where(VISIBLE_ROW)
_VISIBLE_ROWS_WITH_VECTORS = _ROWS_WITH_VECTORS.where(VISIBLE_ROW)


def visible_by_external(
    s: Session, collection_id: int, external_ids: Sequence[str], acc: Access
) -> dict[str, ItemRow]:
    """Rows by external id, only those that exist and are visible (missing == invisible)."""
    _check_ids(external_ids)
    out: dict[str, ItemRow] = {}
    for part in sql.chunks(sorted(set(external_ids))):
        stmt = select(ItemRow).where(
            item_scope(collection_id, None, acc), ItemRow.external_id.in_(part)
        )
        out.update({r.external_id: r for r in s.scalars(stmt)})
    return out


def visible_vectors(
    s: Session, collection_id: int, external_ids: Sequence[str], acc: Access, dim: int
) -> dict[str, tuple[int, np.ndarray]]:
    """(primary key, stored vector) by external id, for visible items only, in one round trip
    per `sql.CHUNK` ids."""
    _check_ids(external_ids)
    out: dict[str, tuple[int, np.ndarray]] = {}
    for part in sql.chunks(sorted(set(external_ids))):
        stmt = (
            select(ItemRow.external_id, ItemRow.id, VectorRow.data)
            .join(VectorRow, VectorRow.item_id == ItemRow.id)
            .where(item_scope(collection_id, None, acc), ItemRow.external_id.in_(part))
        )
        rows = s.execute(stmt).all()
        vecs = sql.from_blobs([r[2] for r in rows], dim)
        out.update({r[0]: (int(r[1]), v) for r, v in zip(rows, vecs, strict=True)})
    return out


def _check_ids(external_ids: Sequence[str]) -> None:
    """No stored id holds a lone surrogate or NUL (`latentsearch.checks`): asking for one is
    refused alike on both databases (PostgreSQL would raise, SQLite would match nothing)."""
    for e in external_ids:
        check_text(e, f"id {e!r}")


def document_key(row: HitRow) -> str:
    """The document an item belongs to: its parent for a chunk, else itself."""
    return row.parent_id if row.parent_id is not None else row.external_id


def chunk_of(row: ItemRow | HitRow) -> Chunk | None:
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


def make_hit(row: HitRow, score: float, why: dict[str, float] | None = None) -> Hit:
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
