"""`ExploreView`: the latent-space explorer on the facade (maps, projections, clusters, axes, sampling).

Thin wrappers, as in `latentsearch.view`: each validates its arguments, works out the caller's
access (``principals=``) and hands over to `latentsearch.query.explore`. Every method applies
filters and permissions: nothing about an item the caller cannot see (a coordinate, a label, a
cluster size, a sample) is ever returned or used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from latentsearch.query.explore import axes, maps, sampling
from latentsearch.query.explore.clusters import check_k
from latentsearch.query.explore.projection import check_method, check_seed
from latentsearch.query.explore.terms import many, vectors_of
from latentsearch.query.explore.visible import check_level
from latentsearch.query.inputs import image_sources
from latentsearch.results import AxisPosition, Cluster, Draw, LatentMap
from latentsearch.view import CollectionView


class ExploreView(CollectionView):
    """A `CollectionView` that also draws maps, finds clusters, lays items on concept axes and
    samples regions of the space."""

    def map(
        self,
        *,
        where: Mapping[str, Any] | None = None,
        principals: Sequence[str] | None = None,
        method: str = "umap",
        seed: int = 0,
        level: str = "chunk",
        clusters: bool = True,
    ) -> LatentMap:
        """2-D coordinates for every visible item matching ``where`` (``level="document"``: one
        point per document, at the mean of its visible chunks), with the clusters of that same
        set when ``clusters``. ``method``: ``"umap"`` (keeps neighbourhoods; needs
        ``latentsearch[explore]``) or ``"pca"``. The projection is fitted on everything the
        caller may see (at most 20,000 items, the rest transformed), is deterministic for a
        ``seed``, and is cached until the collection changes materially (over 10% new or
        changed items; fewer are placed on the existing map)."""
        return maps.map_of(
            self._space,
            where,
            self._access(principals),
            method=check_method(method),
            seed=check_seed(seed),
            level=check_level(level),
            clusters=bool(clusters),
        )

    def project(
        self,
        query_or_vectors: Any,
        *,
        method: str = "umap",
        seed: int = 0,
        principals: Sequence[str] | None = None,
        level: str = "chunk",
        images: Mapping[str, Any] | None = None,
        allow_paths: bool = True,
    ) -> np.ndarray:
        """``(n, 2)`` coordinates on the caller's map of the same ``method`` and ``seed`` for
        queries: a text, an image, ``{"id": ...}``, ``{"expr": "king - man + woman"}``, a
        ``(d,)`` or ``(n, d)`` array, or a list of those (an interpolation path: the
        ``vector`` of each `InterpolationStep`)."""
        method, seed = check_method(method), check_seed(seed)
        acc = self._access(principals)
        queries = many(self._space, query_or_vectors)
        vecs = vectors_of(
            self._space, queries, acc, terms=False, images=image_sources(images, allow_paths)
        )
        return maps.project(
            self._space, vecs, acc, method=method, seed=seed, level=check_level(level)
        )

    def clusters(
        self,
        k: int | None = None,
        *,
        where: Mapping[str, Any] | None = None,
        principals: Sequence[str] | None = None,
        seed: int = 0,
        level: str = "chunk",
    ) -> list[Cluster]:
        """Groups of the visible items matching ``where`` (k-means; ``k`` chosen by the best
        silhouette when None, lowered to the number of distinct vectors when larger), largest
        first, each with its label, distinctive terms, size, medoid and members."""
        return maps.clusters(
            self._space,
            check_k(k),
            where,
            self._access(principals),
            seed=check_seed(seed),
            level=check_level(level),
        )

    def axis(
        self,
        negative: Any,
        positive: Any,
        *,
        where: Mapping[str, Any] | None = None,
        principals: Sequence[str] | None = None,
        images: Mapping[str, Any] | None = None,
        allow_paths: bool = True,
    ) -> list[AxisPosition]:
        """Every visible item matching ``where`` placed on the axis from ``negative`` (0) to
        ``positive`` (1), sorted from negative to positive. Poles: item ids, texts, images,
        vectors, ``{"vec": name}`` directions or ``{"expr": ...}`` expressions. Poles that
        coincide raise `InvalidInputError`."""
        return axes.axis(
            self._space,
            negative,
            positive,
            where,
            self._access(principals),
            image_sources(images, allow_paths),
        )

    def sample(
        self,
        n: int,
        *,
        around: Any = None,
        where: Mapping[str, Any] | None = None,
        principals: Sequence[str] | None = None,
        spread: float = 1.0,
        seed: int | None = None,
        images: Mapping[str, Any] | None = None,
        allow_paths: bool = True,
    ) -> list[Draw]:
        """Draw ``n`` points from a Gaussian fitted to a region (the neighbourhood of ``around``,
        else the visible items matching ``where``) and decode each to its nearest visible item,
        without repeats (fewer than ``n`` when fewer items are visible). ``spread`` scales the
        Gaussian: below 1 typical members, above 1 surprising ones."""
        n, spread, seed = sampling.check(n, spread, seed)
        return sampling.sample(
            self._space,
            n,
            around,
            where,
            self._access(principals),
            spread,
            seed,
            image_sources(images, allow_paths),
        )
