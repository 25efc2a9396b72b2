"""Clustering the visible vectors: k-means (scikit-learn), k chosen by the silhouette.

Why these: k-means on unit vectors is spherical k-means in all but name (Euclidean distance on
the sphere orders pairs as cosine does), it scales linearly (mini-batch beyond `FULL_KMEANS`
points) and its centres give medoids for free. When ``k`` is not given, each k in 2..`K_MAX`
is fitted on a seeded sample of at most `SELECT_SAMPLE` points and the one with the highest mean
silhouette coefficient wins (Rousseeuw 1987): it rewards clusters that are both tight and
apart, needs no prior on the number of groups, and unlike the elbow rule it is a maximum, not a
judgement. Vectors are first reduced to `REDUCE_DIMS` principal components (distances barely
change; k-means and the silhouette get several times faster).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from latentsearch.errors import InvalidInputError

K_MAX = 30
SELECT_SAMPLE = 3_000
FULL_KMEANS = 20_000
REDUCE_DIMS = 50


@dataclass(frozen=True, slots=True)
class Grouping:
    """``assign[i]``: the cluster of row ``i`` (clusters numbered by size, largest first);
    ``centres``: one row per cluster, in the reduced space ``x``."""

    assign: np.ndarray
    centres: np.ndarray
    x: np.ndarray

    @property
    def k(self) -> int:
        return len(self.centres)


def check_k(k: Any) -> int | None:
    if k is None:
        return None
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise InvalidInputError(f"k must be a positive integer (or None to choose), not {k!r}")
    return int(k)


def group(vectors: np.ndarray, k: int | None, seed: int) -> Grouping:
    """Cluster the rows of ``vectors`` into ``k`` groups (chosen when None). A ``k`` above the
    number of distinct vectors is lowered to it: there are no more groups to find."""
    x = _reduce(np.asarray(vectors, dtype=np.float64), seed)
    n = len(x)
    if n == 0:
        return Grouping(np.zeros(0, np.int64), np.zeros((0, x.shape[1])), x)
    distinct = len(np.unique(x.round(6), axis=0))
    if k is None:
        k = choose_k(x, seed, distinct)
    k = max(1, min(k, distinct))
    if k == 1:
        return Grouping(np.zeros(n, np.int64), x.mean(0, keepdims=True), x)
    labels, centres = _kmeans(x, k, seed)
    sizes = np.bincount(labels, minlength=k)
    order = np.lexsort((np.arange(k), -sizes))  # largest first, ties by first found
    rank = np.empty(k, np.int64)
    rank[order] = np.arange(k)
    return Grouping(rank[labels], centres[order], x)


def choose_k(x: np.ndarray, seed: int, distinct: int) -> int:
    """The k in 2..`K_MAX` with the best mean silhouette on a sample (1 for under 3 points)."""
    from sklearn.metrics import silhouette_score

    top = min(K_MAX, distinct - 1, len(x) - 1)
    if top < 2:
        return 1
    rng = np.random.default_rng(seed)
    xs = (
        x[np.sort(rng.choice(len(x), SELECT_SAMPLE, replace=False))]
        if len(x) > SELECT_SAMPLE
        else x
    )
    best, best_score = 2, -2.0
    for k in range(2, top + 1):
        labels, _ = _kmeans(xs, k, seed)
        if len(np.unique(labels)) < 2:
            continue
        score = float(silhouette_score(xs, labels))
        if score > best_score + 1e-9:
            best, best_score = k, score
    return best


def _kmeans(x: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.cluster import KMeans, MiniBatchKMeans

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning on duplicate points: handled by k
        if len(x) > FULL_KMEANS:
            model: Any = MiniBatchKMeans(k, random_state=seed, batch_size=4096, n_init=3)
        else:
            model = KMeans(k, random_state=seed, n_init=4)
        labels = model.fit_predict(x)
    return np.asarray(labels, np.int64), np.asarray(model.cluster_centers_)


def _reduce(x: np.ndarray, seed: int) -> np.ndarray:
    if x.shape[1] <= REDUCE_DIMS or len(x) <= REDUCE_DIMS:
        return x
    from sklearn.decomposition import PCA

    pca = PCA(REDUCE_DIMS, svd_solver="randomized", random_state=seed)
    fit = (
        x
        if len(x) <= FULL_KMEANS
        else x[np.random.default_rng(seed).choice(len(x), FULL_KMEANS, replace=False)]
    )
    pca.fit(fit)
    reduced: np.ndarray = pca.transform(x)
    return reduced


def medoids(g: Grouping) -> np.ndarray:
    """Per cluster, the row nearest its centre."""
    out = np.zeros(g.k, np.int64)
    for c in range(g.k):
        members = np.flatnonzero(g.assign == c)
        d = ((g.x[members] - g.centres[c]) ** 2).sum(1)
        out[c] = members[int(np.argmin(d))]
    return out


def by_typicality(g: Grouping, c: int) -> np.ndarray:
    """Members of cluster ``c``, nearest its centre first (ties by row)."""
    members = np.flatnonzero(g.assign == c)
    d = ((g.x[members] - g.centres[c]) ** 2).sum(1)
    return members[np.lexsort((members, d))]
