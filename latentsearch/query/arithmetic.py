"""Vector arithmetic: analogies (3CosAdd, 3CosMul), recommendations, and expression queries.

* **3CosAdd** is gensim's ``KeyedVectors.most_similar``: the weighted mean of the terms' unit
  vectors (positives ``+w``, negatives ``-w``, divided by ``Σ|w|``), renormalised, ranked by cosine.
* **3CosMul** is gensim's ``most_similar_cosmul`` (Levy & Goldberg 2014): each candidate scores
  ``Π pos((1+cos)/2)^w / (Π neg((1+cos)/2)^w + 1e-6)``, the same epsilon as gensim. No index can
  rank by it, so it is an exact scan over the (filtered, visible) items.
* **recommend** follows Qdrant's strategies: ``average_vector`` searches with
  ``avg(pos) + (avg(pos) - avg(neg))``; ``best_score`` scores each candidate by its best positive
  similarity when that beats its best negative one, else by ``-(best negative)²``; ``sum_scores``
  by ``Σ pos − Σ neg`` similarities. The last two are exact scans.

Items used as terms are excluded from the results (``exclude_inputs=True``), as gensim and Qdrant do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from latentsearch.errors import InvalidInputError
from latentsearch.query import planner
from latentsearch.query.expressions import parse
from latentsearch.query.inputs import (
    LOCAL,
    ImageSources,
    Spec,
    Term,
    as_term,
    check_weight,
    resolve,
    term_list,
    unit,
)
from latentsearch.query.planner import Ranked
from latentsearch.query.search import Request, finish, run, scope_of
from latentsearch.query.space import Space
from latentsearch.results import Hit
from latentsearch.store.acl import Access

METHODS = ("3cosadd", "3cosmul")
STRATEGIES = ("average_vector", "best_score", "sum_scores")
COSMUL_EPSILON = 1e-6  # gensim's most_similar_cosmul
QUESTION_BATCH = 512


@dataclass(frozen=True, slots=True)
class AnalogyQuery:
    """One analogy question: ``positive`` and ``negative`` terms, optional per-term weights."""

    positive: Sequence[Any]
    negative: Sequence[Any] = ()
    weights: Sequence[float] | None = None


@dataclass(frozen=True, slots=True)
class _Question:
    terms: list[Term]
    weights: np.ndarray  # signed: +w for positives, -w for negatives
    inputs: np.ndarray  # primary keys of items used as terms


def as_question(q: Any) -> AnalogyQuery:
    if isinstance(q, AnalogyQuery):
        return q
    if isinstance(q, Mapping):
        unknown = set(q) - {"positive", "negative", "weights"}
        if unknown or "positive" not in q:
            raise InvalidInputError(
                f"an analogy question needs 'positive' (and optionally 'negative', 'weights'), got {sorted(q)}"
            )
        return AnalogyQuery(q["positive"], q.get("negative", ()), q.get("weights"))
    if isinstance(q, tuple) and len(q) == 2:
        return AnalogyQuery(q[0], q[1])
    raise InvalidInputError(
        "each analogy question must be an AnalogyQuery, a dict or a (positive, negative) pair"
    )


def _questions(
    space: Space, qs: Sequence[AnalogyQuery], acc: Access, images: ImageSources
) -> list[_Question]:
    shapes, specs = [], []
    for n, q in enumerate(qs):
        pos, neg = term_list(q.positive), term_list(q.negative)
        if not pos:
            raise InvalidInputError(f"question {n}: give at least one positive term")
        if q.weights is None:
            w = [1.0] * (len(pos) + len(neg))
        else:
            w = [check_weight(x, f"question {n}: weights[{i}]") for i, x in enumerate(q.weights)]
            if len(w) != len(pos) + len(neg):
                raise InvalidInputError(
                    f"question {n}: {len(w)} weights for {len(pos)} positive and {len(neg)} negative terms; "
                    "give one weight per term, positives first"
                )
        signed = np.asarray(w[: len(pos)] + [-x for x in w[len(pos) :]], dtype=np.float32)
        shapes.append((len(pos), len(neg), signed))
        specs.append([as_term(t) for t in pos + neg])
    unique = list({sp.key: sp for row in specs for sp in row}.values())
    resolved = {
        sp.key: t for sp, t in zip(unique, resolve(space, unique, acc, images), strict=True)
    }
    out = []
    for row, (_p, _n, signed) in zip(specs, shapes, strict=True):
        terms = [resolved[sp.key] for sp in row]
        inputs = np.asarray(sorted({t.item for t in terms if t.item is not None}), dtype=np.int64)
        out.append(_Question(terms, signed, inputs))
    return out


def mean_vector(terms: Sequence[Term], signed: np.ndarray) -> np.ndarray:
    """gensim's ``get_mean_vector(pre_normalize=True, post_normalize=True)`` with signed weights."""
    mean = np.zeros(len(terms[0].vector), dtype=np.float32)
    for t, w in zip(terms, signed, strict=True):
        mean += w * t.vector
    total = float(np.abs(signed).sum())
    if total > 0:
        mean = mean / np.float32(total)
    return unit(mean, "the combination of the terms")


def analogy(
    space: Space,
    qs: Sequence[AnalogyQuery],
    k: int,
    *,
    method: str,
    exclude_inputs: bool,
    where: Mapping[str, Any] | None,
    acc: Access,
    images: ImageSources = LOCAL,
) -> list[list[Hit]]:
    if method not in METHODS:
        raise InvalidInputError(f"method must be one of {METHODS}, not {method!r}")
    questions = _questions(space, qs, acc, images)
    exclude = [q.inputs for q in questions] if exclude_inputs else None
    if method == "3cosadd":
        vectors = np.stack([mean_vector(q.terms, q.weights) for q in questions])
        req = Request(vectors, k, acc, where, exclude, terms=[q.terms for q in questions])
        return run(space, req)
    sc = scope_of(space, where, acc)
    ranked: list[Ranked] = []
    for start in range(0, len(questions), QUESTION_BATCH):
        part = questions[start : start + QUESTION_BATCH]
        excl = [q.inputs for q in part] if exclude_inputs else None
        ranked += planner.scan(space, sc, _cosmul_scorer(part), len(part), k, excl)
    return finish(space, ranked, acc, [q.terms for q in questions])


def _cosmul_scorer(questions: Sequence[_Question]) -> Any:
    terms = list({id(t): t for q in questions for t in q.terms}.values())
    col = {id(t): i for i, t in enumerate(terms)}
    matrix = np.stack([t.vector for t in terms])

    def scorer(vectors: np.ndarray) -> np.ndarray:
        shifted = (
            1 + vectors @ matrix.T
        ) / 2  # (m, n_terms): similarities moved to [0, 1], float32
        out = np.empty((len(questions), len(vectors)), dtype=np.float32)
        for i, q in enumerate(questions):
            num = np.ones(len(vectors), dtype=np.float32)
            den = np.ones(len(vectors), dtype=np.float32)
            for t, w in zip(q.terms, q.weights, strict=True):
                f = shifted[:, col[id(t)]]
                if abs(w) != 1:
                    f = f ** np.float32(abs(w))
                if w > 0:
                    num = num * f
                elif w < 0:
                    den = den * f
            out[i] = num / (den + np.float32(COSMUL_EPSILON))
        return out

    return scorer


def recommend(
    space: Space,
    positive: Sequence[Any],
    negative: Sequence[Any],
    k: int,
    *,
    strategy: str,
    where: Mapping[str, Any] | None,
    acc: Access,
    exclude_inputs: bool = True,
) -> list[Hit]:
    if strategy not in STRATEGIES:
        raise InvalidInputError(f"strategy must be one of {STRATEGIES}, not {strategy!r}")
    pos, neg = term_list(positive), term_list(negative)
    if not pos:
        raise InvalidInputError("recommend needs at least one positive example")
    specs = [as_term(t) for t in pos + neg]
    terms = resolve(space, specs, acc)
    p_terms, n_terms = terms[: len(pos)], terms[len(pos) :]
    inputs = np.asarray(sorted({t.item for t in terms if t.item is not None}), dtype=np.int64)
    exclude = [inputs] if exclude_inputs else None
    if strategy == "average_vector":
        avg_pos = np.mean([t.vector for t in p_terms], axis=0)
        q = (
            avg_pos
            if not n_terms
            else avg_pos + (avg_pos - np.mean([t.vector for t in n_terms], axis=0))
        )
        q = unit(q, "the recommendation vector") if space.metric == "cosine" else q
        return run(
            space, Request(q[None, :].astype(np.float32), k, acc, where, exclude, terms=[terms])
        )[0]
    P = np.stack([t.vector for t in p_terms])
    N = np.stack([t.vector for t in n_terms]) if n_terms else None

    def scorer(vectors: np.ndarray) -> np.ndarray:
        sp = planner.score_matrix(space.metric, vectors, P)  # (m, n_pos)
        sn = planner.score_matrix(space.metric, vectors, N) if N is not None else None
        # numpy's stubs type reductions and indexing as Any: `out` holds the declared type.
        out: np.ndarray
        if strategy == "sum_scores":
            total = sp.sum(1) - (sn.sum(1) if sn is not None else 0.0)
            out = total[None, :].astype(np.float32)
            return out
        best_pos = sp.max(1)
        if sn is None:
            out = best_pos[None, :]
            return out
        best_neg = sn.max(1)
        out = np.where(best_pos > best_neg, best_pos, -(best_neg * best_neg))[None, :].astype(
            np.float32
        )
        return out

    sc = scope_of(space, where, acc)
    ranked = planner.scan(space, sc, scorer, 1, k, exclude)
    return finish(space, ranked, acc, [terms])[0]


def expression(
    space: Space,
    expr: str,
    k: int,
    *,
    where: Mapping[str, Any] | None,
    acc: Access,
    mmr: float | None,
    exclude_inputs: bool,
    images: ImageSources = LOCAL,
) -> list[Hit]:
    parsed = parse(expr)
    specs: list[Spec] = [t.spec for t in parsed.terms]
    terms = resolve(space, specs, acc, images)
    q = np.zeros(space.dim, dtype=np.float32)
    for t, wt in zip(terms, parsed.terms, strict=True):
        q += np.float32(wt.weight) * t.vector
    if space.metric == "cosine":
        q = unit(q, f"the expression {expr!r}")
    inputs = np.asarray(sorted({t.item for t in terms if t.item is not None}), dtype=np.int64)
    req = Request(
        q[None, :], k, acc, where, [inputs] if exclude_inputs else None, mmr=mmr, terms=[terms]
    )
    return run(space, req)[0]
