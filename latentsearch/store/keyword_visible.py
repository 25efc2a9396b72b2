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

The cost is one indexed lookup per query term plus a scan of the visible items' sizes.
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
    n, lengths = _sizes(s, scope)
    avgdl = (sum(lengths.values()) / n) if n else 0.0
    avgdl = avgdl or 1.0
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


def _sizes(s: Session, scope: ColumnElement[bool]) -> tuple[int, dict[int, int]]:
    """Number of visible items and each one's length in tokens (all columns)."""
    n = int(s.scalar(select(func.count()).select_from(ItemRow).where(scope)) or 0)
    stmt = select(DOCSIZE.c.id, DOCSIZE.c.sz).join(ItemRow, ItemRow.id == DOCSIZE.c.id).where(scope)
    return n, {int(pk): sum(_varints(sz)) for pk, sz in s.execute(stmt)}


def _varints(blob: bytes) -> list[int]:
    """FTS5's docsize record: one SQLite varint (big-endian 7-bit groups) per column."""
    out, i = [], 0
    while i < len(blob):
        v = 0
        for j in range(9):
            byte = blob[i]
            i += 1
            if j == 8:
                v = (v << 8) | byte
                break
            v = (v << 7) | (byte & 0x7F)
            if not byte & 0x80:
                break
        out.append(v)
    return out


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
