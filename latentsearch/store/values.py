"""An indexed side table of top-level scalar metadata values, so filters need not parse JSON.

``ls_item_values`` holds one row per top-level metadata key of every item (``elem`` false), plus
one row per scalar element of a top-level list (``elem`` true, for ``$contains``). Triggers on
``ls_items`` (migration ``0006``) keep it in step with the metadata in the same transaction,
whoever writes; deleting an item cascades. Each row records the JSON type as ``kind``:

=====  ========================================  ==========================================
kind   JSON value                                columns
=====  ========================================  ==========================================
``n``  number (never a boolean)                  ``num``: the value as a 64-bit float
``s``  string of at most `STR_MAX` characters    ``txt``: the string (compared by code point)
``S``  longer string                             none: such rows are re-checked on the JSON
``t``  ``true``; ``f`` ``false``; ``z`` null      none
``a``  list; ``o`` object                         none (only ``$exists`` asks about them)
=====  ========================================  ==========================================

`indexed_predicate` turns one filter leaf on a top-level key into ``ItemRow.id IN (SELECT item_id
FROM ls_item_values WHERE ...)``, answered from the ``(collection_id, key, elem, ...)`` indexes.
It means exactly what the `jsonsql.JsonPredicate` on the same leaf means; leaves it cannot answer
(nested paths, keys longer than `KEY_MAX`) return ``None`` and stay on the JSON path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    and_,
    false,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column

from latentsearch.store.jsonsql import JsonPredicate, Scalar
from latentsearch.store.models import Base, ItemRow

KEY_MAX = 64  # longer keys are not indexed (PostgreSQL b-tree entries must stay under ~2.7 kB)
STR_MAX = 512  # longer strings are indexed as kind "S" and re-checked on the JSON

# Byte order on PostgreSQL, as `jsonsql` compares strings; SQLite's default is already binary.
ByteText = Text().with_variant(Text(collation="C"), "postgresql")


class ItemValueRow(Base):
    """One top-level metadata value of an item, or one scalar element of a top-level list."""

    __tablename__ = "ls_item_values"
    __table_args__ = (
        Index("ix_ls_item_values_num", "collection_id", "key", "elem", "num", "item_id"),
        Index("ix_ls_item_values_str", "collection_id", "key", "elem", "kind", "txt", "item_id"),
    )

    item_id: Mapped[int] = mapped_column(
        ForeignKey("ls_items.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(KEY_MAX), primary_key=True)
    pos: Mapped[int] = mapped_column(Integer, primary_key=True)  # -1: the value; else list index
    collection_id: Mapped[int] = mapped_column(BigInteger)
    elem: Mapped[bool] = mapped_column(Boolean)
    kind: Mapped[str] = mapped_column(String(1))
    num: Mapped[float | None] = mapped_column(Float)
    txt: Mapped[str | None] = mapped_column(ByteText)


V = ItemValueRow
_CMP = {
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}


def indexed_predicate(
    keys: Sequence[str], op: str, operand: Any, collection_id: int | None
) -> ColumnElement[bool] | None:
    """The leaf ``op`` (eq, in, gt, gte, lt, lte, contains, exists) on ``keys`` via the side table.

    ``None`` where the side table cannot answer it (the caller keeps the JSON predicate).
    """
    if op in _CMP:
        return indexed_range(keys, [(op, operand)], collection_id)
    if len(keys) != 1 or len(keys[0]) > KEY_MAX:
        return None
    at = _Key(keys[0], collection_id)
    if op == "exists":
        return at.having(False)
    if op in ("eq", "contains"):
        elem = op == "contains"
        if _is_long(operand):
            return at.recheck(elem, JsonPredicate(ItemRow.meta, keys, op, operand))
        return at.having(elem, _equals(operand))
    short = [v for v in operand if not _is_long(v)]  # op == "in"
    long = [v for v in operand if _is_long(v)]
    parts = []
    if short:
        # Deduplicated by (type, value): True == 1.0 and hash alike, so a plain set would keep one.
        distinct = {(type(v), v): v for v in short}.values()
        parts.append(at.having(False, or_(*(_equals(v) for v in distinct))))
    if long:
        parts.append(at.recheck(False, JsonPredicate(ItemRow.meta, keys, "in", long)))
    return or_(false(), *parts)


def indexed_range(
    keys: Sequence[str], ranges: Sequence[tuple[str, str | float]], collection_id: int | None
) -> ColumnElement[bool] | None:
    """Several comparisons (gt, gte, lt, lte) on one key, ANDed, in one index range scan.

    An item has one value per key, so the conditions can share one side-table row; a bound as a
    number and another as a string match nothing (a value is never both).
    """
    if len(keys) != 1 or len(keys[0]) > KEY_MAX:
        return None
    at = _Key(keys[0], collection_id)
    if all(isinstance(v, float) for _, v in ranges):
        return at.having(False, *(_CMP[op](V.num, literal(v, Float)) for op, v in ranges))
    if any(isinstance(v, float) for _, v in ranges):
        return false()
    json = [JsonPredicate(ItemRow.meta, keys, op, v) for op, v in ranges]
    return or_(
        at.having(False, V.kind == "s", *(_CMP[op](V.txt, literal(v, Text)) for op, v in ranges)),
        at.recheck(False, *json),
    )


class _Key:
    """Subqueries over one key's rows (of one collection, when known)."""

    def __init__(self, key: str, collection_id: int | None) -> None:
        self.key, self.collection_id = key, collection_id

    def having(self, elem: bool, *conds: ColumnElement[bool]) -> ColumnElement[bool]:
        stmt = select(V.item_id).where(V.key == self.key, V.elem == elem, *conds)
        if self.collection_id is not None:
            stmt = stmt.where(V.collection_id == self.collection_id)
        return ItemRow.id.in_(stmt)

    def recheck(self, elem: bool, *json: ColumnElement[bool]) -> ColumnElement[bool]:
        """Long stored strings: candidates from the index, the answer from the JSON."""
        return and_(self.having(elem, V.kind == "S"), *json)


def _is_long(v: Any) -> bool:
    return isinstance(v, str) and len(v) > STR_MAX


def _equals(v: Scalar) -> ColumnElement[bool]:
    if v is None:
        return V.kind == "z"
    if isinstance(v, bool):
        return V.kind == ("t" if v else "f")
    if isinstance(v, float):
        return V.num == literal(v, Float)
    return (V.kind == "s") & (V.txt == literal(v, Text))
