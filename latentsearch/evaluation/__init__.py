"""Retrieval evaluation: nDCG@k, recall@depth and MRR@k at document level (``latentsearch eval``)."""

from latentsearch.evaluation import modes  # registers the keyword and hybrid modes
from latentsearch.evaluation.data import Qrels, Query, load_qrels, load_queries
from latentsearch.evaluation.metrics import ndcg, recall, reciprocal_rank
from latentsearch.evaluation.run import (
    RETRIEVERS,
    EvalReport,
    QueryScore,
    document_ranking,
    evaluate,
)

__all__ = [
    "RETRIEVERS",
    "EvalReport",
    "Qrels",
    "Query",
    "QueryScore",
    "document_ranking",
    "evaluate",
    "load_qrels",
    "load_queries",
    "modes",
    "ndcg",
    "recall",
    "reciprocal_rank",
]
