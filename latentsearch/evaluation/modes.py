"""The ``keyword`` and ``hybrid`` retrievers of ``latentsearch eval --mode`` (see query/hybrid.py)."""

from __future__ import annotations

from collections.abc import Sequence

from latentsearch.collection import Collection
from latentsearch.evaluation.data import Query
from latentsearch.evaluation.run import RETRIEVERS
from latentsearch.query.hybrid import ranked_documents


def keyword(col: Collection, queries: Sequence[Query], depth: int) -> list[list[str]]:
    """BM25 keyword search in the store (FTS5 on SQLite, tsvector + GIN on PostgreSQL)."""
    return ranked_documents(col, [q.text for q in queries], depth, mode="keyword")


def hybrid(col: Collection, queries: Sequence[Query], depth: int) -> list[list[str]]:
    """Dense and keyword rankings fused by reciprocal-rank fusion (k = 60)."""
    return ranked_documents(col, [q.text for q in queries], depth, mode="hybrid")


RETRIEVERS.setdefault("keyword", keyword)
RETRIEVERS.setdefault("hybrid", hybrid)
