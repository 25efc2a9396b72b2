"""`CollectionView`: what a collection answers, over its query `Space`.

The read half of the public API, as thin wrappers: each checks its arguments, works out the
caller's access (``principals=``) and hands over to `latentsearch.query` (ranking) or
`core.reads` (lookups), with filters and permissions. `Collection` is a `CollectionView` that
also writes and keeps its index; a view holds nothing but its `Space`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, overload

import numpy as np

from latentsearch.checks import check_k, id_list
from latentsearch.core import reads
from latentsearch.core.cluster.partial import marked, marked_batch
from latentsearch.errors import InvalidInputError, ItemNotFoundError
from latentsearch.query import answers, arithmetic, hybrid, latent
from latentsearch.query.arithmetic import AnalogyQuery, as_question
from latentsearch.query.generator import Generator
from latentsearch.query.inputs import as_query, image_sources, resolve, unit_queries
from latentsearch.query.rerank import check_lambda
from latentsearch.query.search import Request, run
from latentsearch.query.space import PlannerSettings, Space
from latentsearch.results import (
    Answer,
    DirectionInfo,
    Facets,
    Hit,
    InterpolationStep,
    Item,
    SearchHits,
)
from latentsearch.store.acl import Access, access
from latentsearch.vectors import check_vectors


class CollectionView:
    """Searches, lookups, analogies and latent-space operations over one collection's `Space`."""

    def __init__(self, space: Space) -> None:
        self._space = space

    @property
    def planner(self) -> PlannerSettings:
        """The planner's knobs (thresholds only: they change the route, never the answer)."""
        return self._space.settings

    def count(self, *, principals: Sequence[str] | None = None) -> int:
        """How many items the caller may see (all of them when ``principals`` is None)."""
        return reads.count(self._space, self._access(principals).principals)

    def facets(
        self,
        fields: Sequence[str] | None = None,
        *,
        where: Mapping[str, Any] | None = None,
        principals: Sequence[str] | None = None,
    ) -> Facets:
        """Metadata values and their counts over the visible items (the latest 10,000 scanned).
        Keys with more than 200 distinct values are left out unless named in ``fields``."""
        return reads.facets(self._space, fields, where, self._access(principals))

    @overload
    def get(  # type: ignore[overload-overlap]
        self, ids: str, *, principals: Sequence[str] | None = None, include_vectors: bool = False
    ) -> Item: ...
    @overload
    def get(
        self,
        ids: Sequence[str],
        *,
        principals: Sequence[str] | None = None,
        include_vectors: bool = False,
    ) -> list[Item]: ...
    def get(
        self,
        ids: str | Sequence[str],
        *,
        principals: Sequence[str] | None = None,
        include_vectors: bool = False,
    ) -> Item | list[Item]:
        """Items by id: one `Item` for a str (or `ItemNotFoundError`), else a list of those found.

        Items the caller may not see are reported exactly like missing ones.
        """
        acc = self._access(principals)
        single = isinstance(ids, str)
        ext = id_list([ids] if single else ids)
        out = reads.items(self._space, ext, acc, vectors=include_vectors)
        if single and not out:
            raise ItemNotFoundError(
                f"no item with id {ext[0]!r} in collection {self._space.name!r}"
            )
        return out[0] if single else out

    def search(
        self,
        query: Any,
        k: int = 10,
        *,
        mode: str = "dense",
        where: Mapping[str, Any] | None = None,
        principals: Sequence[str] | None = None,
        mmr: float | None = None,
        per_document: bool = False,
        fusion: hybrid.Fusion | None = None,
        allow_paths: bool = True,
        allow_partial: bool = False,
    ) -> SearchHits:
        """The ``k`` items most similar to ``query``: text, a PIL image, an image `Path`, a vector
        or ``{"id": ...}``. ``mode``: ``"dense"`` (vectors), ``"keyword"`` (BM25 over titles and
        text) or ``"hybrid"`` (both, fused as ``fusion``, a `Fusion`, says; text queries only).
        ``where`` filters (exact top-k among matches), ``principals`` limit
        what the caller sees, ``mmr`` (a lambda in [0, 1]) diversifies, and ``per_document``
        returns the best chunk of each of ``k`` distinct documents. ``allow_paths=False`` refuses
        image paths without opening them (the server's setting). ``allow_partial=True``: a sharded
        collection with a shard down answers from the others (``missing_shards``, docs/cluster.md)."""
        return marked(allow_partial, lambda: hybrid.search(
            self._space, query, k, mode=mode, where=where, principals=principals, mmr=mmr,
            per_document=per_document, fusion=fusion, allow_paths=allow_paths))  # fmt: skip

    def answer(
        self,
        question: str,
        k: int = 8,
        *,
        mode: str = "hybrid",
        where: Mapping[str, Any] | None = None,
        principals: Sequence[str] | None = None,
        generator: Generator | None = None,
    ) -> Answer:
        """An answer card: the ``k`` best passages (a ``mode`` search) grouped by document, with
        citations and an extractive summary; a ``generator`` (e.g. `ChatGenerator`) also writes
        an answer from those passages only (`latentsearch.query.answers`)."""
        return answers.answer(
            self._space, question, k, mode=mode, where=where, principals=principals,
            generator=generator,
        )  # fmt: skip

    def search_batch(
        self,
        queries: Sequence[Any],
        k: int = 10,
        *,
        where: Mapping[str, Any] | None = None,
        principals: Sequence[str] | None = None,
        allow_paths: bool = True,
        allow_partial: bool = False,
    ) -> list[SearchHits]:
        """`search` for many queries at once: one encoder call per modality and one FAISS call."""
        k = check_k(k)
        acc = self._access(principals)
        if isinstance(queries, str | Mapping) or not isinstance(queries, Sequence | np.ndarray):
            raise InvalidInputError(
                "queries must be a list of texts, images, vectors or {'id': ...}"
            )
        specs = [as_query(q) for q in queries]
        if not specs:
            return []
        terms = resolve(self._space, specs, acc, image_sources(None, allow_paths))
        req = Request(np.stack([t.vector for t in terms]), k, acc, where)
        return marked_batch(allow_partial, lambda: run(self._space, req))

    def search_vectors(
        self,
        queries: np.ndarray,
        k: int,
        *,
        where: Mapping[str, Any] | None = None,
        principals: Sequence[str] | None = None,
        allow_partial: bool = False,
    ) -> list[SearchHits]:
        """Nearest items for a batch of query vectors, in one FAISS call and one SQL round trip."""
        sp = self._space
        rows = check_vectors(queries, sp.dim, "query vectors", rescale=sp.metric == "cosine")
        k = check_k(k)
        acc = self._access(principals)
        if not len(rows):
            return []
        # Straight to the ranking: the rows are vectors, so `resolve` would only normalise them.
        req = Request(unit_queries(sp, rows), k, acc, where)
        return marked_batch(allow_partial, lambda: run(sp, req))

    def query(
        self,
        expr: str,
        k: int = 10,
        *,
        where: Mapping[str, Any] | None = None,
        principals: Sequence[str] | None = None,
        mmr: float | None = None,
        exclude_inputs: bool = True,
        images: Mapping[str, Any] | None = None,
        allow_paths: bool = True,
        allow_partial: bool = False,
    ) -> SearchHits:
        """Search with a vector-arithmetic expression, e.g. ``king - man + woman`` or
        ``0.7 * "formal tone" + @ticket-123`` (grammar: `latentsearch.query.expressions`).
        Each hit's ``why`` gives its similarity to every term. ``image:NAME`` is first looked up
        in ``images`` (names to PIL images or image bytes), then read as a local file unless
        ``allow_paths=False``; ``image:@id`` is the item ``@id``. ``allow_partial`` as `search`."""
        return marked(allow_partial, lambda: arithmetic.expression(
            self._space, expr, check_k(k), where=where, acc=self._access(principals),
            mmr=check_lambda(mmr), exclude_inputs=exclude_inputs,
            images=image_sources(images, allow_paths)))  # fmt: skip

    def analogy(
        self,
        positive: Sequence[Any],
        negative: Sequence[Any] = (),
        k: int = 10,
        *,
        method: str = "3cosadd",
        weights: Sequence[float] | None = None,
        exclude_inputs: bool = True,
        where: Mapping[str, Any] | None = None,
        principals: Sequence[str] | None = None,
        images: Mapping[str, Any] | None = None,
        allow_paths: bool = True,
    ) -> list[Hit]:
        """``positive - negative`` analogies: ``method="3cosadd"`` is gensim's ``most_similar``,
        ``"3cosmul"`` its ``most_similar_cosmul``. A ``str`` term is the item with that id when
        one is visible, else text. ``weights``: one per term, positives first. ``{"image": NAME}``
        terms are read as in `query` (``images``, then a local file unless ``allow_paths=False``)."""
        return self.analogy_batch(
            [AnalogyQuery(positive, negative, weights)],
            k,
            method=method,
            exclude_inputs=exclude_inputs,
            where=where,
            principals=principals,
            images=images,
            allow_paths=allow_paths,
        )[0]

    def analogy_batch(
        self,
        questions: Sequence[AnalogyQuery | Mapping[str, Any] | tuple[Any, Any]],
        k: int = 10,
        *,
        method: str = "3cosadd",
        exclude_inputs: bool = True,
        where: Mapping[str, Any] | None = None,
        principals: Sequence[str] | None = None,
        images: Mapping[str, Any] | None = None,
        allow_paths: bool = True,
    ) -> list[list[Hit]]:
        """Many analogies at once (one term lookup, one FAISS call or one scan)."""
        k = check_k(k)
        acc = self._access(principals)
        sources = image_sources(images, allow_paths)
        qs = [as_question(q) for q in questions]
        if not qs:
            return []
        return arithmetic.analogy(
            self._space, qs, k, method=method, exclude_inputs=exclude_inputs, where=where,
            acc=acc, images=sources)  # fmt: skip

    def recommend(
        self,
        positive: Sequence[Any],
        negative: Sequence[Any] = (),
        k: int = 10,
        *,
        strategy: str = "average_vector",
        where: Mapping[str, Any] | None = None,
        principals: Sequence[str] | None = None,
        exclude_inputs: bool = True,
    ) -> list[Hit]:
        """More like ``positive``, less like ``negative`` (Qdrant's strategies: ``average_vector``,
        ``best_score``, ``sum_scores``). The examples themselves are not returned."""
        k = check_k(k)
        acc = self._access(principals)
        return arithmetic.recommend(
            self._space, positive, negative, k, strategy=strategy, where=where, acc=acc,
            exclude_inputs=exclude_inputs)  # fmt: skip

    def interpolate(
        self,
        a: Any,
        b: Any,
        steps: int = 8,
        *,
        method: str = "slerp",
        k: int = 1,
        where: Mapping[str, Any] | None = None,
        principals: Sequence[str] | None = None,
    ) -> list[InterpolationStep]:
        """Walk from ``a`` to ``b`` (terms: item ids, text, images, vectors) in ``steps`` points,
        by ``"slerp"`` or ``"linear"``; each step holds the ``k`` nearest visible items."""
        k = check_k(k)
        acc = self._access(principals)
        return latent.interpolate(
            self._space, a, b, steps, method=method, k=k, where=where, acc=acc
        )

    def direction(
        self,
        positive: Sequence[Any],
        negative: Sequence[Any] = (),
        *,
        name: str | None = None,
        principals: Sequence[str] | None = None,
    ) -> np.ndarray:
        """A concept direction: mean of the positives minus mean of the negatives (unit vectors).
        With ``name`` it is saved (replacing one of that name) and usable as ``vec:<name>``."""
        acc = self._access(principals)
        return latent.direction(self._space, positive, negative, name=name, acc=acc)

    def directions(self) -> list[DirectionInfo]:
        """The saved directions of this collection."""
        return reads.directions(self._space)

    def drop_direction(self, name: str) -> None:
        """Delete a saved direction (`DirectionNotFoundError` if there is none of that name)."""
        reads.drop_direction(self._space, name)

    def centroid(
        self,
        ids: Sequence[str] | None = None,
        *,
        where: Mapping[str, Any] | None = None,
        principals: Sequence[str] | None = None,
    ) -> np.ndarray:
        """The mean stored vector of ``ids`` (all must be visible) or of the visible items matching
        ``where`` (every visible item when both are left out)."""
        acc = self._access(principals)
        return latent.centroid(self._space, ids, where=where, acc=acc)

    def embed_query(self, query: Any, *, principals: Sequence[str] | None = None) -> np.ndarray:
        """One query vector (unit length for cosine) from text, an image, a vector or ``{"id": ...}``."""
        (term,) = resolve(self._space, [as_query(query)], self._access(principals))
        return term.vector

    def _access(self, principals: Any) -> Access:
        sp = self._space
        return access(principals, required=sp.require_principals, collection=sp.name)
