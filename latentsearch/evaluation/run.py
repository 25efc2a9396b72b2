"""Run a query set against a collection and score it at document level.

A retriever returns, per query, document ids ranked best first: chunk hits are grouped by their
document (a document ranks where its best chunk ranks). Retrievers are registered by mode name
in `RETRIEVERS`: ``dense`` (embedding search, batched here) is defined here; ``keyword``,
``hybrid`` and ``hybrid-rrf`` register themselves from `latentsearch.evaluation.modes`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from latentsearch.collection import MAX_K, Collection
from latentsearch.errors import InvalidInputError
from latentsearch.evaluation.data import Qrels, Query
from latentsearch.evaluation.metrics import ndcg, recall, reciprocal_rank
from latentsearch.results import Hit

log = logging.getLogger(__name__)

Retriever = Callable[[Collection, Sequence[Query], int], list[list[str]]]
QUERY_BATCH = 256


def document_ranking(hits: Sequence[Hit]) -> list[str]:
    """Document ids in the order of their best hit (hits come best first)."""
    seen: dict[str, None] = {}
    for h in hits:
        seen.setdefault(h.chunk.parent if h.chunk is not None else h.id, None)
    return list(seen)


def dense(col: Collection, queries: Sequence[Query], depth: int) -> list[list[str]]:
    """Embedding search, asking for more chunks until ``depth`` documents are found (or all)."""
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


RETRIEVERS: dict[str, Retriever] = {
    "dense": dense
}  # keyword, hybrid: latentsearch.evaluation.modes


@dataclass(frozen=True, slots=True)
class QueryScore:
    id: str
    ndcg: float
    recall: float
    rr: float


@dataclass(slots=True)
class EvalReport:
    """Mean nDCG@k, recall@depth and MRR@k over the queries that have relevant judgements."""

    mode: str
    k: int
    depth: int
    queries: int
    skipped: int  # queries without any relevant judgement (not scored)
    ndcg: float
    recall: float
    mrr: float
    elapsed_s: float
    per_query: list[QueryScore] = field(default_factory=list)


def evaluate(
    col: Collection,
    queries: Sequence[Query],
    qrels: Qrels,
    *,
    k: int = 10,
    depth: int = 100,
    mode: str = "dense",
) -> EvalReport:
    if mode not in RETRIEVERS:
        raise InvalidInputError(
            f"unknown mode {mode!r}; available: {', '.join(sorted(RETRIEVERS))}"
        )
    if not 1 <= k <= depth:
        raise InvalidInputError(f"k must be from 1 to the recall depth ({depth}), not {k}")
    scored = [q for q in queries if any(g > 0 for g in qrels.get(q.id, {}).values())]
    if not scored:
        raise InvalidInputError(
            "no query has a relevant judgement in the qrels: do the query ids match?"
        )
    started = time.perf_counter()
    rankings = RETRIEVERS[mode](col, scored, depth)
    per = [
        QueryScore(
            q.id,
            ndcg(r, qrels[q.id], k),
            recall(r, qrels[q.id], depth),
            reciprocal_rank(r, qrels[q.id], k),
        )
        for q, r in zip(scored, rankings, strict=True)
    ]
    return EvalReport(
        mode=mode,
        k=k,
        depth=depth,
        queries=len(scored),
        skipped=len(queries) - len(scored),
        ndcg=float(np.mean([p.ndcg for p in per])),
        recall=float(np.mean([p.recall for p in per])),
        mrr=float(np.mean([p.rr for p in per])),
        elapsed_s=time.perf_counter() - started,
        per_query=per,
    )
