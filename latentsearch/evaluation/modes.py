"""The retrievers of ``latentsearch eval --mode``, by name: see `retrievers`.

A retriever returns, per query, document ids ranked best first: chunk hits are grouped by their
document (a document ranks where its best chunk ranks). Each one runs the public
`Collection.search` / `Collection.search_vectors`.

``hybrid`` fuses the dense and keyword document rankings by weighted score fusion with equal
weights over 100 candidates each: on the chunked Cranfield build it measured 0.413 nDCG@10,
where reciprocal-rank fusion (k = 60, mode ``hybrid-rrf``) measured 0.404 (docs/server.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from latentsearch import Collection, Fusion
from latentsearch.collection import MAX_K
from latentsearch.evaluation.data import Query
from latentsearch.results import Hit

Retriever = Callable[[Collection, Sequence[Query], int], list[list[str]]]

QUERY_BATCH = 256
HYBRID = Fusion(method="weighted", dense_weight=0.5, depth=100)
HYBRID_RRF = Fusion(method="rrf", rrf_k=60, depth=100)


def retrievers() -> dict[str, Retriever]:
    """Every mode ``latentsearch eval --mode`` knows, by name (a new dict on each call)."""
    return {"dense": dense, "keyword": keyword, "hybrid": hybrid, "hybrid-rrf": hybrid_rrf}


def document_ranking(hits: Sequence[Hit]) -> list[str]:
    """Document ids in the order of their best hit (hits come best first)."""
    seen: dict[str, None] = {}
    for h in hits:
        seen.setdefault(h.chunk.parent if h.chunk is not None else h.id, None)
    return list(seen)


def dense(col: Collection, queries: Sequence[Query], depth: int) -> list[list[str]]:
    """Embedding search (batched), asking for more chunks until ``depth`` documents are found
    (or all)."""
    total = len(col)
    out: list[list[str]] = []
    for start in range(0, len(queries), QUERY_BATCH):
        part = queries[start : start + QUERY_BATCH]
        vectors = col.encoder.encode_texts([q.text for q in part])
        ranked: list[list[str]] = [[] for _ in part]
        todo = list(range(len(part)))
        k = min(max(depth * 2, 1), total, MAX_K)
        while todo and k > 0:
            hits = col.search_vectors(vectors[todo], k)
            again = []
            for i, h in zip(todo, hits, strict=True):
                ranked[i] = document_ranking(h)
                if len(ranked[i]) < depth and k < min(total, MAX_K):
                    again.append(i)
            todo, k = again, min(k * 4, total, MAX_K)
        out.extend(r[:depth] for r in ranked)
    return out


def keyword(col: Collection, queries: Sequence[Query], depth: int) -> list[list[str]]:
    """BM25 keyword search in the store (FTS5 on SQLite, tsvector + GIN on PostgreSQL)."""
    return _per_document(col, queries, depth, "keyword", None)


def hybrid(col: Collection, queries: Sequence[Query], depth: int) -> list[list[str]]:
    """Dense and keyword rankings, min-max normalised and averaged."""
    return _per_document(col, queries, depth, "hybrid", HYBRID)


def hybrid_rrf(col: Collection, queries: Sequence[Query], depth: int) -> list[list[str]]:
    """Dense and keyword rankings fused by reciprocal-rank fusion (k = 60)."""
    return _per_document(col, queries, depth, "hybrid", HYBRID_RRF)


def _per_document(
    col: Collection, queries: Sequence[Query], depth: int, mode: str, fusion: Fusion | None
) -> list[list[str]]:
    """Per query, up to ``depth`` document ids best first, searched in ``mode`` (as they come:
    hybrid fusion may rank two chunks of one document, and each counts where it ranks)."""
    out = []
    for q in queries:
        hits = col.search(q.text, depth, mode=mode, per_document=True, fusion=fusion)
        out.append([h.chunk.parent if h.chunk else h.id for h in hits])
    return out
