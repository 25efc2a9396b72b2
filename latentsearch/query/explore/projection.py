"""2-D projections of vectors: PCA (scikit-learn) and UMAP (umap-learn), numpy in, numpy out.

UMAP keeps neighbourhoods (what a map of a latent space is for) where PCA keeps only the two
directions of largest variance; PCA is exact, fast and needs no extra. UMAP runs on the first
50 principal components (the usual preprocessing: neighbours barely change, the fit is several
times faster). A projection is fitted on at most `FIT_SAMPLE` vectors (a seeded sample) and the
rest are transformed, so a large collection costs one bounded fit plus a linear transform.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from latentsearch.errors import InvalidInputError, MissingExtraError

METHODS = ("umap", "pca")
FIT_SAMPLE = 20_000
UMAP_PCA_DIMS = 50
UMAP_NEIGHBOURS = 15
MIN_UMAP = 8  # below this many points UMAP's neighbour graph is meaningless: PCA instead


def check_method(method: Any) -> str:
    if method not in METHODS:
        raise InvalidInputError(f"method must be one of {METHODS}, not {method!r}")
    return str(method)


def check_seed(seed: Any, what: str = "seed") -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InvalidInputError(f"{what} must be a non-negative integer, not {seed!r}")
    return int(seed)


def umap_module() -> Any:
    """umap-learn, or `MissingExtraError` naming the extra that installs it."""
    try:
        import umap
    except ImportError as e:  # pragma: no cover - the test extra installs it
        raise MissingExtraError(
            "method='umap' needs umap-learn, which is not installed here; install it with: "
            "pip install 'latentsearch[explore]' (or use method='pca')"
        ) from e
    return umap


@dataclass(slots=True)
class Projection:
    """A fitted projection: `transform` places any vectors of the same space on the same map."""

    method: str  # what was fitted: "pca", or "umap" ("pca" when there were too few points)
    seed: int
    fitted_on: int
    _pca: Any  # sklearn PCA (to 2 dims, or to UMAP_PCA_DIMS before UMAP), or None
    _umap: Any  # umap.UMAP or None
    _constant: np.ndarray | None = None  # 0 or 1 point: everything lands at the origin

    def transform(self, vectors: np.ndarray) -> np.ndarray:
        """``(n, d)`` vectors to ``(n, 2)`` float32 coordinates."""
        x = np.asarray(vectors, dtype=np.float32)
        if not len(x):
            return np.zeros((0, 2), dtype=np.float32)
        if self._constant is not None:
            return np.zeros((len(x), 2), dtype=np.float32)
        z = self._pca.transform(x)
        if self._umap is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                z = self._umap.transform(z)
        return _two(z)


def fit(vectors: np.ndarray, method: str, seed: int) -> tuple[Projection, np.ndarray]:
    """Fit on (a sample of) ``vectors``; return the projection and every vector's coordinates."""
    x = np.asarray(vectors, dtype=np.float32)
    n = len(x)
    if n <= 1:
        return Projection("pca", seed, n, None, None, np.zeros(2)), np.zeros((n, 2), np.float32)
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(n, FIT_SAMPLE, replace=False)) if n > FIT_SAMPLE else None
    train = x[sample] if sample is not None else x
    if method == "umap" and len(train) >= MIN_UMAP:
        proj, coords = _fit_umap(train, seed)
    else:
        proj, coords = _fit_pca(train, seed)
    if sample is None:
        return proj, coords
    out = np.empty((n, 2), dtype=np.float32)
    out[sample] = coords
    rest = np.setdiff1d(np.arange(n), sample)
    for lo in range(0, len(rest), FIT_SAMPLE):
        part = rest[lo : lo + FIT_SAMPLE]
        out[part] = proj.transform(x[part])
    return proj, out


def _fit_pca(x: np.ndarray, seed: int) -> tuple[Projection, np.ndarray]:
    from sklearn.decomposition import PCA

    pca = PCA(n_components=min(2, x.shape[1]), svd_solver="full", random_state=seed)
    coords = pca.fit_transform(x.astype(np.float64))
    return Projection("pca", seed, len(x), pca, None), _two(coords)


def _fit_umap(x: np.ndarray, seed: int) -> tuple[Projection, np.ndarray]:
    from sklearn.decomposition import PCA

    umap = umap_module()
    dims = min(UMAP_PCA_DIMS, x.shape[1], len(x))
    pca = PCA(n_components=dims, svd_solver="full", random_state=seed)
    z = pca.fit_transform(x.astype(np.float64)).astype(np.float32)
    model = umap.UMAP(
        n_components=2,
        n_neighbors=min(UMAP_NEIGHBOURS, len(x) - 1),
        random_state=seed,
        transform_seed=seed,
        init="spectral" if len(x) > 2 * UMAP_NEIGHBOURS else "random",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "n_jobs overridden by setting random_state": intended
        coords = model.fit_transform(z)
    return Projection("umap", seed, len(x), pca, model), _two(coords)


def _two(z: np.ndarray) -> np.ndarray:
    """Coordinates as ``(n, 2)`` float32 (a 1-dimensional space gets y = 0)."""
    z = np.asarray(z, dtype=np.float32)
    if z.shape[1] == 2:
        return z
    return np.hstack([z, np.zeros((len(z), 2 - z.shape[1]), np.float32)])
