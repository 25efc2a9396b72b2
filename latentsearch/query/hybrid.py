"""Dense, keyword and hybrid retrieval over a `Space`: ``mode="dense" | "keyword" | "hybrid"``
(what `Collection.search` runs).

* ``dense``: the collection's vector search (filters, ACL, MMR and per-document grouping there).
* ``keyword``: the store's keyword index (FTS5 bm25 / PostgreSQL ts_rank_cd), filters and ACL
  applied in the same SQL query.
* ``hybrid``: both rankings fused, by reciprocal-rank fusion (score = sum of 1 / (rrf_k + rank),
  rrf_k = 60 by default) or by a weighted sum of min-max normalised scores.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from latentsearch.checks import check_k
from latentsearch.errors import InvalidInputError
from latentsearch.query.hits import make_hit, rows_for
from latentsearch.query.inputs import as_query, image_sources, resolve
from latentsearch.query.rerank import check_lambda
from latentsearch.query.search import Request, run
from latentsearch.query.space import Space
from latentsearch.query.terms import query_terms
from latentsearch.results import Hit
from latentsearch.store.acl import access
from latentsearch.store.filters import compile_where
from latentsearch.store.keyword import keyword_search

log = logging.getLogger(__name__)

Mode = Literal["dense", "keyword", "hybrid"]
MODES: tuple[str, ...] = ("dense", "keyword", "hybrid")


@dataclass(frozen=True, slots=True)
class Fusion:
    """How hybrid mode fuses the two rankings.

    ``method``: ``"rrf"`` (reciprocal-rank fusion) or ``"weighted"`` (min-max normalised scores,
    ``dense_weight`` for dense and ``1 - dense_weight`` for keyword). ``depth``: how many
    candidates each ranker contributes (default: ``max(50, 3 * k)``).
    """

    method: Literal["rrf", "weighted"] = "rrf"
    rrf_k: int = 60
    dense_weight: float = 0.5
    depth: int | None = None

    def __post_init__(self) -> None:
        if self.method not in ("rrf", "weighted"):
            raise InvalidInputError(
                f"fusion method must be 'rrf' or 'weighted', not {self.method!r}"
            )
        if isinstance(self.rrf_k, bool) or not isinstance(self.rrf_k, int) or self.rrf_k < 1:
            raise InvalidInputError(f"rrf_k must be a positive integer, not {self.rrf_k!r}")
        if not 0.0 <= float(self.dense_weight) <= 1.0:
            raise InvalidInputError(
                f"dense_weight must be between 0 and 1, not {self.dense_weight!r}"
            )
        if self.depth is not None and (not isinstance(self.depth, int) or self.depth < 1):
            raise InvalidInputError(f"depth must be a positive integer, not {self.depth!r}")


def search(
    space: Space,
    query: Any,
    k: int = 10,
    *,
    mode: str = "dense",
    where: Mapping[str, Any] | None = None,
    principals: Sequence[str] | None = None,
    mmr: Any = None,
    per_document: bool = False,
    fusion: Fusion | None = None,
    allow_paths: bool = True,
) -> list[Hit]:
    """Search ``space`` in one of three modes; every mode applies ``where`` and ``principals``.
    ``allow_paths=False`` refuses image paths without opening them (the server's setting).
    This is `Collection.search`."""
    if mode not in MODES:
        raise InvalidInputError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    if mode == "dense":
        return dense(
            space,
            query,
            k,
            where=where,
            principals=principals,
            mmr=mmr,
            per_document=per_document,
            allow_paths=allow_paths,
        )
    if not isinstance(query, str):
        raise InvalidInputError(
            f"mode={mode!r} needs a text query; search images, vectors and item ids with mode='dense'"
        )
    if mmr is not None:
        raise InvalidInputError(f"mmr applies to mode='dense' only, not mode={mode!r}")
    if mode == "keyword":
        return keyword(
            space, query, k, where=where, principals=principals, per_document=per_document
        )
    fusion = fusion or Fusion()
    depth = fusion.depth or max(50, 3 * k)
    vectors = dense(
        space,
        query,
        depth,
        where=where,
        principals=principals,
        per_document=per_document,
        allow_paths=allow_paths,
    )
    words = keyword(
        space, query, depth, where=where, principals=principals, per_document=per_document
    )
    fused = (
        rrf([vectors, words], fusion.rrf_k)
        if fusion.method == "rrf"
        else weighted(vectors, words, fusion.dense_weight)
    )
    return fused[:k]


def dense(
    space: Space,
    query: Any,
    k: int = 10,
    *,
    where: Mapping[str, Any] | None = None,
    principals: Sequence[str] | None = None,
    mmr: Any = None,
    per_document: bool = False,
    allow_paths: bool = True,
) -> list[Hit]:
    """Vector search: the ``k`` items nearest ``query`` (text, an image, a vector, ``{"id": ...}``)."""
    k = check_k(k)
    acc = access(principals, required=space.require_principals, collection=space.name)
    lam = check_lambda(mmr)
    (term,) = resolve(space, [as_query(query)], acc, image_sources(None, allow_paths))
    req = Request(term.vector[None, :], k, acc, where, mmr=lam, per_document=bool(per_document))
    return run(space, req)[0]


def keyword(
    space: Space,
    text: str,
    k: int = 10,
    *,
    where: Mapping[str, Any] | None = None,
    principals: Sequence[str] | None = None,
    per_document: bool = False,
) -> list[Hit]:
    """Keyword search: the ``k`` items (or documents) whose title and text best match ``text``."""
    k = check_k(k)
    if not isinstance(text, str) or not text.strip():
        raise InvalidInputError("the query text is empty")
    acc = access(principals, required=space.require_principals, collection=space.name)
    terms = query_terms(text)
    cid = space.collection_id
    clause = compile_where(where, cid) if where is not None else None
    want = k * 4 if per_document else k
    while True:
        with space.store.session() as s:
            found = keyword_search(s, cid, terms, want, where=clause, principals=acc.principals)
            rows = rows_for(s, cid, [m.item_id for m in found], acc)
        hits = [make_hit(rows[m.item_id], m.score) for m in found if m.item_id in rows]
        if per_document:
            hits = best_per_document(hits)
        if len(hits) >= k or len(found) < want:
            return hits[:k]
        want *= 2


def rrf(rankings: Sequence[Sequence[Hit]], rrf_k: int = 60) -> list[Hit]:
    """Reciprocal-rank fusion: score(d) = sum over rankings of 1 / (rrf_k + rank(d)), rank from 1."""
    scores: dict[str, float] = {}
    first: dict[str, Hit] = {}
    why: dict[str, dict[str, float]] = {}
    for which, ranking in zip(("dense", "keyword"), rankings, strict=False):
        for rank, hit in enumerate(ranking, start=1):
            scores[hit.id] = scores.get(hit.id, 0.0) + 1.0 / (rrf_k + rank)
            first.setdefault(hit.id, hit)
            why.setdefault(hit.id, {})[which] = hit.score
    order = sorted(scores, key=lambda i: (-scores[i], i))
    return [replace(first[i], score=scores[i], why=why[i]) for i in order]


def weighted(dense: Sequence[Hit], words: Sequence[Hit], dense_weight: float = 0.5) -> list[Hit]:
    """Weighted fusion of min-max normalised scores (a ranking that misses an item adds 0)."""
    scores: dict[str, float] = {}
    first: dict[str, Hit] = {}
    why: dict[str, dict[str, float]] = {}
    for which, ranking, w in (
        ("dense", dense, dense_weight),
        ("keyword", words, 1.0 - dense_weight),
    ):
        if not ranking:
            continue
        lo, hi = min(h.score for h in ranking), max(h.score for h in ranking)
        for hit in ranking:
            norm = (hit.score - lo) / (hi - lo) if hi > lo else 1.0
            scores[hit.id] = scores.get(hit.id, 0.0) + w * norm
            first.setdefault(hit.id, hit)
            why.setdefault(hit.id, {})[which] = hit.score
    order = sorted(scores, key=lambda i: (-scores[i], i))
    return [replace(first[i], score=scores[i], why=why[i]) for i in order]


def best_per_document(hits: Sequence[Hit]) -> list[Hit]:
    """Keep each document's best hit (a chunk stands for its parent document)."""
    seen: set[str] = set()
    out = []
    for h in hits:
        doc = h.chunk.parent if h.chunk else h.id
        if doc not in seen:
            seen.add(doc)
            out.append(h)
    return out
