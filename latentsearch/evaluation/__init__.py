"""Retrieval evaluation: nDCG@k, recall@depth and MRR@k at document level (``latentsearch eval``)."""

import warnings
from typing import Any

from latentsearch.evaluation.data import Qrels, Query, load_qrels, load_queries
from latentsearch.evaluation.metrics import ndcg, recall, reciprocal_rank
from latentsearch.evaluation.modes import Retriever, document_ranking, retrievers
from latentsearch.evaluation.run import EvalReport, QueryScore, evaluate

__all__ = [
    "EvalReport",
    "Qrels",
    "Query",
    "QueryScore",
    "Retriever",
    "document_ranking",
    "evaluate",
    "load_qrels",
    "load_queries",
    "ndcg",
    "recall",
    "reciprocal_rank",
    "retrievers",
]


def __getattr__(name: str) -> Any:
    if name == "RETRIEVERS":  # named by earlier docs; retrievers() replaced it
        warnings.warn("use latentsearch.evaluation.retrievers()", DeprecationWarning, stacklevel=2)
        return retrievers()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
