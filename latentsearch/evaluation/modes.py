"""The ``keyword`` and ``hybrid`` retrievers of ``latentsearch eval --mode`` (see query/hybrid.py).

``hybrid`` fuses the dense and keyword document rankings by weighted score fusion with equal
weights over 100 candidates each: on the chunked Cranfield build it measured 0.413 nDCG@10,
where reciprocal-rank fusion (k = 60, mode ``hybrid-rrf``) measured 0.404 (docs/server.md).
"""

from __future__ import annotations

from collections.abc import Sequence

from latentsearch.collection import Collection
from latentsearch.evaluation.data import Query
from latentsearch.evaluation.run import RETRIEVERS
from latentsearch.query.hybrid import Fusion, ranked_documents

HYBRID = Fusion(method="weighted", dense_weight=0.5, depth=100)
HYBRID_RRF = Fusion(method="rrf", rrf_k=60, depth=100)


def keyword(col: Collection, queries: Sequence[Query], depth: int) -> list[list[str]]:
    """BM25 keyword search in the store (FTS5 on SQLite, tsvector + GIN on PostgreSQL)."""
    return ranked_documents(col, [q.text for q in queries], depth, mode="keyword")


def hybrid(col: Collection, queries: Sequence[Query], depth: int) -> list[list[str]]:
    """Dense and keyword rankings, min-max normalised and averaged."""
    return ranked_documents(col, [q.text for q in queries], depth, mode="hybrid", fusion=HYBRID)


def hybrid_rrf(col: Collection, queries: Sequence[Query], depth: int) -> list[list[str]]:
    """Dense and keyword rankings fused by reciprocal-rank fusion (k = 60)."""
    return ranked_documents(col, [q.text for q in queries], depth, mode="hybrid", fusion=HYBRID_RRF)


RETRIEVERS.setdefault("keyword", keyword)
RETRIEVERS.setdefault("hybrid", hybrid)
RETRIEVERS.setdefault("hybrid-rrf", hybrid_rrf)
