"""BM25 on SQLite with statistics over the caller's visible items only.

FTS5's ``bm25()`` takes N, the average length and each term's document frequency from the whole
FTS table: every item of every collection, hidden ones included. Scores would then tell a
caller whether a word occurs in documents it cannot see. For a caller with principals this
module computes the same formula as FTS5 (same k1, b, column weights, idf floor) with those
statistics taken over the collection's items visible to the caller:

* the query words are tokenised by FTS5 itself (an in-memory FTS5 table with the index's
  tokenizer), so terms are exactly the index's;
* term occurrences come from an ``fts5vocab`` ``instance`` table over the index (a TEMP table of
  the reading connection, created on first use: it works on read-only databases too), joined to
  the visible items; a word that the tokenizer splits in several tokens is a phrase, matched by
  consecutive offsets as FTS5 does;
* document lengths (all columns, in tokens) come from FTS5's ``docsize`` table.

The cost is one indexed lookup per query term plus one SQL aggregate over the visible items'
sizes (about 5 µs per visible item: 10,000 visible items add some 50 ms), where FTS5's own
``bm25()``, used for unrestricted callers, reads stored totals.
"""

from __future__ import annotations

import math
import sqlite3
import threading
from collections.abc import Sequence

from sqlalchemy import Column, Integer, LargeBinary, MetaData, Table, Text, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from latentsearch.store.acl import visible_to
from latentsearch.store.items import chunks
from latentsearch.store.models import ItemRow

# As migration 0004_keyword creates ls_keyword_fts; bm25() weights (source_title, text).
TOKENIZE = "porter unicode61 remove_diacritics 2"
WEIGHTS = {"source_title": 2.0, "text": 1.0}
K1 = 1.2
B = 0.75

_meta = MetaData()
VOCAB = Table(
    "ls_keyword_fts_instance",
    _meta,
    Column("term", Text),
    Column("doc", Integer),
    Column("col", Text),
    Column("offset", Integer),
    schema="temp",
)
DOCSIZE = Table("ls_keyword_fts_docsize", _meta, Column("id", Integer), Column("sz", LargeBinary))
_VOCAB_DDL = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.ls_keyword_fts_instance "
    "USING fts5vocab(main, ls_keyword_fts, instance)"
)
_local = threading.local()


def visible_bm25(
    s: Session,
    collection_id: int,
    words: Sequence[str],
    k: int,
    *,
    where: ColumnElement[bool] | None,
    principals: Sequence[str],
) -> list[tuple[int, float]]:
    """The ``k`` best (item primary key, score) for the OR of ``words``, among items visible to
    ``principals`` that match ``where``; statistics over all the visible items of the collection."""
    phrases = [p for p in tokenize(words) if p]
    if not phrases:
        return []
    conn = s.connection()
    conn.exec_driver_sql(_VOCAB_DDL)
    scope = (ItemRow.collection_id == collection_id) & visible_to(principals)
    places: dict[str, dict[tuple[int, str], set[int]]] = {}
    for term in sorted({t for p in phrases for t in p}):
        at: dict[tuple[int, str], set[int]] = {}
        stmt = (
            select(VOCAB.c.doc, VOCAB.c.col, VOCAB.c.offset)
            .join(ItemRow, ItemRow.id == VOCAB.c.doc)
            .where(VOCAB.c.term == term, scope)
        )
        for doc, col, off in conn.execute(stmt):
            at.setdefault((int(doc), col), set()).add(int(off))
        places[term] = at
    freq = [_phrase_freq(p, places) for p in phrases]  # per phrase: doc -> weighted frequency
    candidates = sorted({doc for f in freq for doc in f})
    if where is not None and candidates:
        keep: set[int] = set()
        for part in chunks(candidates):
            keep.update(s.scalars(select(ItemRow.id).where(ItemRow.id.in_(part), where)))
        candidates = [d for d in candidates if d in keep]
    if not candidates:
        return []
    n, total, lengths = _sizes(s, scope, candidates)
    avgdl = (total / n if n else 0.0) or 1.0
    idf = [max(math.log((n - len(f) + 0.5) / (len(f) + 0.5)), 1e-6) for f in freq]
    scored = []
    for doc in candidates:
        norm = K1 * (1 - B + B * lengths.get(doc, 0) / avgdl)
        score = sum(
            w * (f[doc] * (K1 + 1)) / (f[doc] + norm)
            for w, f in zip(idf, freq, strict=True)
            if doc in f
        )
        scored.append((doc, score))
    scored.sort(key=lambda x: (-x[1], x[0]))
    return scored[:k]


def _phrase_freq(
    phrase: list[str], places: dict[str, dict[tuple[int, str], set[int]]]
) -> dict[int, float]:
    """Per document: the phrase's occurrences, each weighted by its column's weight."""
    out: dict[int, float] = {}
    first, rest = phrase[0], phrase[1:]
    for (doc, col), offsets in places[first].items():
        later = [places[t].get((doc, col), set()) for t in rest]
        hits = sum(1 for o in offsets if all(o + i + 1 in later[i] for i in range(len(rest))))
        if hits:
            out[doc] = out.get(doc, 0.0) + hits * WEIGHTS.get(col, 1.0)
    return out


def _sizes(
    s: Session, scope: ColumnElement[bool], docs: Sequence[int]
) -> tuple[int, int, dict[int, int]]:
    """Number of visible items, their total length and the lengths of ``docs``, in tokens."""
    dbapi = s.connection().connection.dbapi_connection
    assert dbapi is not None
    # Summed inside SQLite: a Python row per visible item would cost ten times more.
    dbapi.create_function("ls_doc_length", 1, doc_length, deterministic=True)
    length = func.ls_doc_length(DOCSIZE.c.sz)
    n, total = s.execute(
        select(func.count(), func.coalesce(func.sum(length), 0))
        .select_from(ItemRow)
        .outerjoin(DOCSIZE, DOCSIZE.c.id == ItemRow.id)
        .where(scope)
    ).one()
    lengths: dict[int, int] = {}
    for part in chunks(list(docs)):
        stmt = select(DOCSIZE.c.id, length).where(DOCSIZE.c.id.in_(part))
        lengths.update({int(pk): int(v or 0) for pk, v in s.execute(stmt)})
    return int(n), int(total), lengths


def doc_length(sz: bytes | None) -> int:
    """The sum of FTS5's docsize record: one SQLite varint per column (big-endian groups of 7
    bits, the high bit set on all but the last byte; the 9-byte form needs counts above 2**56)."""
    total = v = 0
    for byte in sz or b"":
        v = (v << 7) | (byte & 0x7F)
        if byte < 0x80:
            total += v
            v = 0
    return total


def tokenize(words: Sequence[str]) -> list[list[str]]:
    """Each word as the FTS5 index tokenises it (a list of terms; empty when it has none)."""
    conn = getattr(_local, "conn", None)
    if conn is None:  # a private in-memory database per thread: nothing touches the store
        conn = sqlite3.connect(":memory:", check_same_thread=False)
        conn.execute(f"CREATE VIRTUAL TABLE q USING fts5(w, tokenize='{TOKENIZE}')")
        conn.execute("CREATE VIRTUAL TABLE qi USING fts5vocab(q, instance)")
        _local.conn = conn
    conn.execute("DELETE FROM q")
    conn.executemany("INSERT INTO q(rowid, w) VALUES (?, ?)", list(enumerate(words, start=1)))
    out: list[list[str]] = [[] for _ in words]
    for doc, term in conn.execute("SELECT doc, term FROM qi ORDER BY doc, offset"):
        out[int(doc) - 1].append(term)
    return out
