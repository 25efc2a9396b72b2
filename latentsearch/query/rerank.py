"""Post-ranking steps: maximal marginal relevance, one hit per document, and ``hit.why``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from latentsearch.errors import InvalidInputError
from latentsearch.query.inputs import Term
from latentsearch.vectors import unit_rows


def check_lambda(mmr: object) -> float | None:
    """``mmr=None`` (off) or a lambda in [0, 1] (1 = pure relevance, 0 = pure diversity)."""
    if mmr is None:
        return None
    if isinstance(mmr, bool) or not isinstance(mmr, int | float) or not 0.0 <= float(mmr) <= 1.0:
        raise InvalidInputError(f"mmr must be None or a lambda between 0 and 1, not {mmr!r}")
    return float(mmr)


def mmr_order(relevance: np.ndarray, vectors: np.ndarray, k: int, lam: float) -> list[int]:
    """Greedy MMR (Carbonell & Goldstein 1998): pick ``argmax λ·rel − (1−λ)·max sim to picked``.

    ``relevance`` is each candidate's similarity to the query, ``vectors`` their (unit) vectors.
    Returns candidate positions in selection order. Ties go to the earlier (better-ranked) one.
    """
    n = len(relevance)
    if n == 0:
        return []
    sims = vectors @ vectors.T
    chosen: list[int] = []
    redundancy = np.full(n, -np.inf, dtype=np.float64)
    free = np.ones(n, dtype=bool)
    for _ in range(min(k, n)):
        red = np.where(np.isfinite(redundancy), redundancy, 0.0)
        score = lam * relevance - (1.0 - lam) * red
        score = np.where(free, score, -np.inf)
        pick = int(np.argmax(score))
        chosen.append(pick)
        free[pick] = False
        redundancy = np.maximum(redundancy, sims[pick])
    return chosen


def best_per_document(keys: Sequence[str]) -> list[int]:
    """Positions of the first (best-ranked) hit of each document, in rank order."""
    seen: set[str] = set()
    out = []
    for i, key in enumerate(keys):
        if key not in seen:
            seen.add(key)
            out.append(i)
    return out


def explain(terms: Sequence[Term], vectors: np.ndarray) -> list[dict[str, float]]:
    """Per hit: cosine similarity to each term, keyed by the term's label."""
    if not len(vectors):
        return []
    t, _ = unit_rows(np.stack([term.vector for term in terms]))  # overflow-safe; zero stays zero
    v, _ = unit_rows(vectors)
    sims = v @ t.T
    labels = unique_labels([term.label for term in terms])
    return [{lab: float(x) for lab, x in zip(labels, row, strict=True)} for row in sims]


def unique_labels(labels: Sequence[str]) -> list[str]:
    """Labels made unique (a repeated term becomes ``"king #2"``)."""
    count: dict[str, int] = {}
    out = []
    for lab in labels:
        count[lab] = count.get(lab, 0) + 1
        out.append(lab if count[lab] == 1 else f"{lab} #{count[lab]}")
    return out
