"""Synthetic data for the benchmarks: clustered unit vectors, like real embeddings.

`gaussian_mixture` draws rows from a mixture of Gaussians with unequal weights and spreads, then
L2-normalises them. Rows are generated in fixed chunks, each from its own seeded generator, so
the output is deterministic, a longer draw starts with the rows of a shorter one (the same seed
gives the same first rows whatever ``n``), and 1M+ rows need no memory beyond the result itself.
"""

from __future__ import annotations

import numpy as np

CHUNK = 65_536
RANK = 32
NOISE = 0.1


def _mixture(dim: int, clusters: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centres, per-cluster covariance factors and weights, fixed by (dim, clusters, seed).

    Each cluster varies mostly along a few directions of its own (a decaying spectrum over
    ``RANK`` axes) plus a little isotropic noise: real embeddings have a low intrinsic dimension,
    and isotropic noise in 384-d would make every point's neighbours nearly equidistant.
    """
    rng = np.random.default_rng([seed, dim, clusters])
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    rank = min(RANK, dim)
    decay = (np.arange(1, rank + 1, dtype=np.float32) ** -0.5)[None, :, None]
    spread = rng.uniform(0.7, 1.3, (clusters, 1, 1)).astype(np.float32)
    axes = rng.standard_normal((clusters, rank, dim)).astype(np.float32) * decay * spread
    weights = rng.dirichlet(np.full(clusters, 2.0))
    return centres, axes, weights


def gaussian_mixture(n: int, dim: int = 384, clusters: int = 100, seed: int = 0) -> np.ndarray:
    """``n`` L2-normalised float32 rows of shape ``(n, dim)`` from a Gaussian mixture."""
    if n < 0 or dim < 1 or clusters < 1:
        raise ValueError(f"need n >= 0, dim >= 1 and clusters >= 1; got {n}, {dim}, {clusters}")
    centres, axes, weights = _mixture(dim, clusters, seed)
    rank = axes.shape[1]
    out = np.empty((n, dim), dtype=np.float32)
    for c, start in enumerate(range(0, n, CHUNK)):
        stop = min(start + CHUNK, n)
        rng = np.random.default_rng([seed, dim, clusters, c + 1])
        # Draw a whole chunk's labels and noise even for a short tail, so prefixes agree.
        labels = rng.choice(clusters, size=CHUNK, p=weights)[: stop - start]
        block = out[start:stop]
        coords = rng.standard_normal((CHUNK, rank), dtype=np.float32)[: stop - start]
        block[:] = rng.standard_normal((CHUNK, dim), dtype=np.float32)[: stop - start]
        block *= NOISE
        block += centres[labels]
        for k in np.unique(labels):
            rows = np.flatnonzero(labels == k)
            block[rows] += coords[rows] @ axes[k]
        block /= np.linalg.norm(block, axis=1, keepdims=True)
    return out
