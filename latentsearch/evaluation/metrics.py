"""Ranking metrics over one query's ranked document ids and its graded judgements.

nDCG uses linear gains (the judged relevance value) and the log2(rank + 1) discount, with the
ideal ranking built from every judged document, as trec_eval's ``ndcg_cut``. A relevance of
0 or less is "not relevant".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence


def ndcg(ranked: Sequence[str], judged: Mapping[str, float], k: int) -> float:
    gains = sorted((g for g in judged.values() if g > 0), reverse=True)[:k]
    ideal = sum(g / math.log2(i + 2) for i, g in enumerate(gains))
    if ideal == 0:
        return 0.0
    dcg = sum(max(judged.get(d, 0.0), 0.0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    return dcg / ideal


def recall(ranked: Sequence[str], judged: Mapping[str, float], k: int) -> float:
    relevant = {d for d, g in judged.items() if g > 0}
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranked[:k])) / len(relevant)


def reciprocal_rank(ranked: Sequence[str], judged: Mapping[str, float], k: int) -> float:
    for i, d in enumerate(ranked[:k]):
        if judged.get(d, 0.0) > 0:
            return 1.0 / (i + 1)
    return 0.0
