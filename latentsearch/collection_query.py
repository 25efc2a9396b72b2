"""The read half of `Collection`'s public API: search, filters, permissions, arithmetic, latent ops.

Thin wrappers: each validates its arguments, works out the caller's access (`principals=`) and
hands over to `latentsearch.query`. Every method here applies filters and permissions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, overload

import numpy as np

from latentsearch.checks import check_text
from latentsearch.errors import DirectionNotFoundError, InvalidInputError, ItemNotFoundError
from latentsearch.vectors import check_vectors
from latentsearch.query import arithmetic, latent
from latentsearch.query.arithmetic import AnalogyQuery, as_question
from latentsearch.query.hits import make_item, visible_by_external
from latentsearch.query.inputs import as_query, image_sources, resolve
from latentsearch.query.rerank import check_lambda
from latentsearch.query.search import Request, run
from latentsearch.query.space import PlannerSettings, Space
from latentsearch.results import DirectionInfo, Hit, InterpolationStep, Item
from latentsearch.store import directions as directions_store
from latentsearch.store import items as sql
from latentsearch.query import facets as stats
from latentsearch.store.filters import compile_where
from latentsearch.query.facets import Facets
from latentsearch.store.acl import Access, access

if TYPE_CHECKING:
    from latentsearch.db import Database

MAX_K = 10_000


class QueryMethods:
    """Mixed into `Collection`; relies on the attributes declared here."""

    _db: Database
    _id: int
    _space: Space
    name: str
    dim: int
    require_principals: bool

    @property
    def planner(self) -> PlannerSettings:
        """The planner's knobs (thresholds only: they change the route, never the answer)."""
        return self._space.settings

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
        with self._db.store.session() as s:
            rows = visible_by_external(s, self._id, ext, acc)
            found = [rows[e] for e in ext if e in rows]
            acls = sql.principals_of(s, [r.id for r in found])
            vecs = sql.vectors_for(s, [r.id for r in found], self.dim) if include_vectors else None
        out = [
            make_item(r, acls[r.id], vecs[i] if vecs is not None else None)
            for i, r in enumerate(found)
        ]
        if single:
            if not out:
                raise ItemNotFoundError(f"no item with id {ext[0]!r} in collection {self.name!r}")
            return out[0]
        return out

    @property
    def id(self) -> int:
        """The collection's numeric id in the store (stable for its lifetime)."""
        return self._id

    def count(self, *, principals: Sequence[str] | None = None) -> int:
        """How many items the caller may see (all of them when ``principals`` is None)."""
        acc = self._access(principals)
        with self._db.store.session() as s:
            return stats.count_visible(s, self._id, acc.principals)

    def facets(
        self,
        fields: Sequence[str] | None = None,
        *,
        where: Mapping[str, Any] | None = None,
        principals: Sequence[str] | None = None,
    ) -> Facets:
        """Metadata values and their counts over the visible items (the latest 10,000 scanned).
        Keys with more than 200 distinct values are left out unless named in ``fields``."""
        acc = self._access(principals)
        clause = compile_where(where, self._id) if where is not None else None
        with self._db.store.session() as s:
            return stats.facets(
                s, self._id, fields=fields, where=clause, principals=acc.principals
            )

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
        fusion: Any = None,
        allow_paths: bool = True,
    ) -> list[Hit]:
        """The ``k`` items most similar to ``query``: text, a PIL image, an image `Path`, a vector
        or ``{"id": ...}``. ``mode``: ``"dense"`` (vectors), ``"keyword"`` (BM25 over titles and
        text) or ``"hybrid"`` (both, fused as ``fusion``, a `Fusion`, says; text queries only).
        ``where`` filters (exact top-k among matches), ``principals`` limit
        what the caller sees, ``mmr`` (a lambda in [0, 1]) diversifies, and ``per_document``
        returns the best chunk of each of ``k`` distinct documents. ``allow_paths=False`` refuses
        image paths without opening them (the server's setting)."""
        if mode != "dense":
            from latentsearch.query import hybrid

            return hybrid.search(
                self,  # type: ignore[arg-type]
                query,
                k,
                mode=mode,
                where=where,
                principals=principals,
                mmr=mmr,
                per_document=per_document,
                fusion=fusion,
                allow_paths=allow_paths,
            )
        k = check_k(k)
        acc = self._access(principals)
        lam = check_lambda(mmr)
        (term,) = resolve(self._space, [as_query(query)], acc, image_sources(None, allow_paths))
        req = Request(term.vector[None, :], k, acc, where, mmr=lam, per_document=bool(per_document))
        return run(self._space, req)[0]

    def search_batch(
        self,
        queries: Sequence[Any],
        k: int = 10,
        *,
        where: Mapping[str, Any] | None = None,
        principals: Sequence[str] | None = None,
        allow_paths: bool = True,
    ) -> list[list[Hit]]:
        """`search` for many queries at once: one encoder call per modality and one FAISS call."""
        k = check_k(k)
        acc = self._access(principals)
        if isinstance(queries, str | Mapping) or not isinstance(queries, Sequence | np.ndarray):
            raise InvalidInputError(
                "queries must be a list (of texts, images, vectors or {'id': ...})"
            )
        specs = [as_query(q) for q in queries]
        if not specs:
            return []
        terms = resolve(self._space, specs, acc, image_sources(None, allow_paths))
        return run(self._space, Request(np.stack([t.vector for t in terms]), k, acc, where))

    def search_vectors(
        self,
        queries: np.ndarray,
        k: int,
        *,
        where: Mapping[str, Any] | None = None,
        principals: Sequence[str] | None = None,
    ) -> list[list[Hit]]:
        """Nearest items for a batch of query vectors, in one FAISS call and one SQL round trip."""
        return self.search_batch(
            list(
                check_vectors(
                    queries, self.dim, "query vectors", rescale=self._space.metric == "cosine"
                )
            ),
            k,
            where=where,
            principals=principals,
        )

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
    ) -> list[Hit]:
        """Search with a vector-arithmetic expression, e.g. ``king - man + woman`` or
        ``0.7 * "formal tone" + @ticket-123`` (grammar: `latentsearch.query.expressions`).
        Each hit's ``why`` gives its similarity to every term. ``image:NAME`` is first looked up
        in ``images`` (names to PIL images or image bytes), then read as a local file unless
        ``allow_paths=False``; ``image:@id`` is the item ``@id``."""
        k = check_k(k)
        acc = self._access(principals)
        sources = image_sources(images, allow_paths)
        return arithmetic.expression(
            self._space,
            expr,
            k,
            where=where,
            acc=acc,
            mmr=check_lambda(mmr),
            exclude_inputs=exclude_inputs,
            images=sources,
        )

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
            self._space,
            qs,
            k,
            method=method,
            exclude_inputs=exclude_inputs,
            where=where,
            acc=acc,
            images=sources,
        )

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
            self._space,
            positive,
            negative,
            k,
            strategy=strategy,
            where=where,
            acc=acc,
            exclude_inputs=exclude_inputs,
        )

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
        with self._db.store.session() as s:
            rows = directions_store.listing(s, self._id)
            return [
                DirectionInfo(
                    name=r.name,
                    dim=r.dim,
                    norm=float(np.linalg.norm(sql.from_blobs([r.data], r.dim)[0])),
                    positive=tuple(r.positive),
                    negative=tuple(r.negative),
                    created=r.created,
                )
                for r in rows
            ]

    def drop_direction(self, name: str) -> None:
        """Delete a saved direction (`DirectionNotFoundError` if there is none of that name)."""
        with self._db.store.transaction() as s:
            if not directions_store.remove(s, self._id, name):
                raise DirectionNotFoundError(
                    f"no direction named {name!r} in collection {self.name!r}"
                )

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
        return access(principals, required=self.require_principals, collection=self.name)


def check_k(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= MAX_K:
        raise InvalidInputError(f"k must be an integer from 1 to {MAX_K}, not {k!r}")
    return int(k)


def id_list(ids: Any) -> list[str]:
    if isinstance(ids, str):
        raise InvalidInputError("ids must be a list of strings, e.g. ids=['a']")
    out = list(ids)
    for i in out:
        if not isinstance(i, str):
            raise InvalidInputError(f"ids must be strings, got {i!r}")
        check_text(i, f"id {i!r}")  # no stored id holds one: refuse alike on both databases
    return out
