"""Keyword retrieval in SQL, ranked by BM25: FTS5 ``bm25()`` on SQLite, ``tsvector`` + GIN on PostgreSQL.

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
    SmallInteger,
    Table,
    Text,
    any_,
    column,
    func,
    literal,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY, REGCONFIG, TSVECTOR
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from latentsearch.errors import InvalidInputError
from latentsearch.store.acl import visible_ids, visible_to
from latentsearch.store.keyword_visible import visible_bm25
from latentsearch.store.models import ItemRow

PG_CONFIG = "english"
# bm25() column weights for (source_title, text): a title match counts double.
SQLITE_WEIGHTS = (2.0, 1.0)
# Okapi BM25 parameters for PostgreSQL (SQLite's FTS5 bm25() uses the same defaults).
BM25_K1 = 1.2
BM25_B = 0.75
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
    Column("len", Integer),  # document length in tokens, a title token counting twice
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
    `ItemRow`; ``principals`` (when given) restricts to items the caller may see, and then the
    BM25 statistics (N, average length, document frequencies) are those of the collection's
    items the caller may see, so that no score depends on a hidden item.
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
    if dialect == "sqlite" and principals is not None:
        found = visible_bm25(s, collection_id, words, k, where=where, principals=principals)
        return [KeywordMatch(item_id=pk, score=score) for pk, score in found]
    if dialect == "sqlite":
        stmt = _sqlite(words, conds, k)
    elif dialect == "postgresql":
        stmt = _postgres(words, conds, k, collection_id, principals)
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
    words: list[str],
    conds: list[ColumnElement[bool]],
    k: int,
    collection_id: int,
    principals: Sequence[str] | None = None,
) -> Any:
    """Okapi BM25 over the GIN-matched candidates, in one SQL statement.

    tf counts a title occurrence twice (as SQLite's column weights do); df, N and the average
    document length are the collection's, or with ``principals`` those of the collection's
    items visible to them. ``ts_rank_cd`` measured 0.308 nDCG@10 on Cranfield
    against 0.378 for this (see docs/server.md).
    """

    def seen(item_id: Any) -> list[ColumnElement[bool]]:
        return [] if principals is None else [item_id.in_(visible_ids(principals))]

    config = literal(PG_CONFIG, type_=REGCONFIG)
    # Words are \w+ only, so joining them with '|' makes a valid OR tsquery (stop words drop out).
    query = func.to_tsquery(config, literal(" | ".join(words)))
    lexemes = func.tsvector_to_array(func.to_tsvector(config, literal(" ".join(words))))
    kw = PG_KEYWORD.alias("k")
    u = (
        func.unnest(kw.c.tsv)
        .table_valued(
            column("lexeme", Text),
            column("positions", ARRAY(SmallInteger)),
            column("weights", ARRAY(Text)),
        )
        .render_derived(name="u", with_types=False)
    )
    title = func.cardinality(func.array_positions(u.c.weights, literal("A", Text)))
    cand = (
        select(
            kw.c.item_id,
            kw.c.len,
            u.c.lexeme,
            (func.cardinality(u.c.positions) + title).label("tf"),
        )
        .select_from(kw.join(u, true()))
        .where(
            kw.c.collection_id == collection_id,
            kw.c.tsv.op("@@")(query),
            u.c.lexeme == any_(lexemes),
            *seen(kw.c.item_id),
        )
        .cte("cand")
    )
    df = (
        select(cand.c.lexeme, func.count().cast(Float).label("df"))
        .group_by(cand.c.lexeme)
        .cte("df")
    )
    st = (
        select(
            func.count().cast(Float).label("n"),
            func.avg(PG_KEYWORD.c.len).cast(Float).label("avgdl"),
        )
        .where(PG_KEYWORD.c.collection_id == collection_id, *seen(PG_KEYWORD.c.item_id))
        .cte("st")
    )
    idf = func.ln(1.0 + (st.c.n - df.c.df + 0.5) / (df.c.df + 0.5))
    tf = cand.c.tf.cast(Float)
    norm = (
        tf
        * (BM25_K1 + 1)
        / (tf + BM25_K1 * (1 - BM25_B + BM25_B * cand.c.len / func.greatest(st.c.avgdl, 1.0)))
    )
    score = func.sum(idf * norm).label("score")
    return (
        select(cand.c.item_id, score)
        .select_from(
            cand.join(df, df.c.lexeme == cand.c.lexeme)
            .join(st, true())
            .join(ItemRow, ItemRow.id == cand.c.item_id)
        )
        .where(*conds)
        .group_by(cand.c.item_id)
        .order_by(score.desc(), cand.c.item_id)
        .limit(k)
    )
