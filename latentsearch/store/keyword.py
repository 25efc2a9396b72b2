"""Keyword retrieval in SQL: FTS5 ``bm25()`` on SQLite, ``tsvector`` + ``ts_rank_cd`` on PostgreSQL.

The index itself is created by migration ``0004_keyword``: an FTS5 external-content table over
``ls_items(source_title, text)`` on SQLite, a ``ls_keyword`` table with a GIN index on PostgreSQL.
Triggers on ``ls_items`` keep both in step with every insert, update and delete, inside the
writing transaction, whoever writes (the library, the server, another process). So there is
no Python hook to forget and no window where an acknowledged write is missing from the index.

These tables are dialect-specific, so they are described here as plain `Table` objects in their
own `MetaData` (for building queries), not as ORM models; `include_name` tells Alembic's
comparison to leave them (and FTS5's shadow tables) alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Integer,
    MetaData,
    Table,
    Text,
    func,
    literal,
    select,
)
from sqlalchemy.dialects.postgresql import REGCONFIG, TSVECTOR
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from latentsearch.errors import InvalidInputError
from latentsearch.store.acl import visible_to
from latentsearch.store.models import ItemRow

PG_CONFIG = "english"
# bm25() column weights for (source_title, text): a title match counts double.
SQLITE_WEIGHTS = (2.0, 1.0)
# ts_rank_cd normalisation: divide by 1 + log(document length) (see PostgreSQL docs, 12.3.3).
PG_NORMALIZATION = 1
MAX_TERMS = 64

_meta = MetaData()
FTS = Table(
    "ls_keyword_fts",
    _meta,
    Column("rowid", Integer, primary_key=True),
    Column("ls_keyword_fts", Text),  # FTS5's hidden column named after the table: the MATCH target
    Column("source_title", Text),
    Column("text", Text),
)
PG_KEYWORD = Table(
    "ls_keyword",
    _meta,
    Column("item_id", BigInteger, primary_key=True),
    Column("collection_id", BigInteger),
    Column("tsv", TSVECTOR),
)
_OWN_TABLES = {"ls_keyword", "ls_keyword_fts"}
_TERM = re.compile(r"^\w+$")


@dataclass(frozen=True, slots=True)
class KeywordMatch:
    """One keyword hit: the item's primary key and its relevance (higher is better)."""

    item_id: int
    score: float


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic ``include_name`` hook: skip the keyword tables, which no ORM model describes."""
    if type_ == "table" and name is not None:
        return name not in _OWN_TABLES and not name.startswith("ls_keyword_fts_")
    return True


def keyword_search(
    s: Session,
    collection_id: int,
    terms: Sequence[str],
    k: int,
    *,
    where: ColumnElement[bool] | None = None,
    principals: Sequence[str] | None = None,
) -> list[KeywordMatch]:
    """The ``k`` best keyword matches for any of ``terms`` (OR semantics), filters and ACL applied.

    ``terms`` are plain word tokens (letters, digits, ``_``); ``where`` is a compiled filter on
    `ItemRow`; ``principals`` (when given) restricts to items the caller may see.
    """
    words = _check_terms(terms)
    if not words:
        return []
    dialect = s.get_bind().dialect.name
    conds: list[ColumnElement[bool]] = [ItemRow.collection_id == collection_id]
    if where is not None:
        conds.append(where)
    if principals is not None:
        conds.append(visible_to(principals))
    if dialect == "sqlite":
        stmt = _sqlite(words, conds, k)
    elif dialect == "postgresql":
        stmt = _postgres(words, conds, k, collection_id)
    else:  # pragma: no cover
        raise InvalidInputError(f"keyword search is not available on {dialect}")
    return [KeywordMatch(item_id=int(pk), score=float(score)) for pk, score in s.execute(stmt)]


def _check_terms(terms: Sequence[str]) -> list[str]:
    if isinstance(terms, str):
        raise InvalidInputError("terms must be a list of words, not one string")
    words = list(dict.fromkeys(t.lower() for t in terms))
    for t in words:
        if not isinstance(t, str) or not _TERM.match(t):
            raise InvalidInputError(f"keyword terms must be single words, not {t!r}")
    return words[:MAX_TERMS]


def _sqlite(words: list[str], conds: list[ColumnElement[bool]], k: int) -> Any:
    # Each term is quoted as an FTS5 string, so no word can act as an operator.
    match = " OR ".join(f'"{w}"' for w in words)
    rank = func.bm25(FTS.c.ls_keyword_fts, *SQLITE_WEIGHTS).label("rank")
    return (
        select(FTS.c.rowid, (-rank).label("score"))
        .join(ItemRow, ItemRow.id == FTS.c.rowid)
        .where(FTS.c.ls_keyword_fts.op("MATCH")(match), *conds)
        .order_by(rank, FTS.c.rowid)
        .limit(k)
    )


def _postgres(
    words: list[str], conds: list[ColumnElement[bool]], k: int, collection_id: int
) -> Any:
    # Words are \w+ only, so joining them with '|' makes a valid OR tsquery (stop words drop out).
    query = func.to_tsquery(literal(PG_CONFIG, type_=REGCONFIG), literal(" | ".join(words)))
    score = func.ts_rank_cd(PG_KEYWORD.c.tsv, query, PG_NORMALIZATION).cast(Float).label("score")
    return (
        select(PG_KEYWORD.c.item_id, score)
        .join(ItemRow, ItemRow.id == PG_KEYWORD.c.item_id)
        .where(
            PG_KEYWORD.c.collection_id == collection_id,
            PG_KEYWORD.c.tsv.op("@@")(query),
            *conds,
        )
        .order_by(score.desc(), PG_KEYWORD.c.item_id)
        .limit(k)
    )
