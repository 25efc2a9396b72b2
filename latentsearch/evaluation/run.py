"""Run a query set against a collection and score it at document level.

The retriever of each mode (`latentsearch.evaluation.modes.retrievers`) ranks documents per
query; this module scores those rankings against the relevance judgements.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from latentsearch import Collection
from latentsearch.errors import InvalidInputError
from latentsearch.evaluation.data import Qrels, Query
from latentsearch.evaluation.metrics import ndcg, recall, reciprocal_rank
from latentsearch.evaluation.modes import retrievers


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
    modes = retrievers()
    if mode not in modes:
        raise InvalidInputError(f"unknown mode {mode!r}; available: {', '.join(sorted(modes))}")
    if not 1 <= k <= depth:
        raise InvalidInputError(f"k must be from 1 to the recall depth ({depth}), not {k}")
    scored = [q for q in queries if any(g > 0 for g in qrels.get(q.id, {}).values())]
    if not scored:
        raise InvalidInputError(
            "no query has a relevant judgement in the qrels: do the query ids match?"
        )
    started = time.perf_counter()
    rankings = modes[mode](col, scored, depth)
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
