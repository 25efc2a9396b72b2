"""Generation by sampling: a Gaussian over a region of the space, decoded to visible items.

The region is the neighbourhood of a query (its `NEIGHBOURHOOD` nearest visible items, at
least 2n, but never more than a quarter of what the caller sees: on a small collection a larger
"neighbourhood" is the whole collection, and its mean forgets the query), the visible items matching a filter, or every visible item. A Gaussian is fitted in
the region's principal subspace (its top `SUBSPACE` components, at most one fewer than its
points): the mean plus independent normal steps along each component, with the component's
standard deviation times ``spread``. So ``spread`` < 1 draws typical members, > 1 surprising
ones. Each draw is decoded to the nearest visible item not taken by an earlier draw.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from latentsearch.errors import InvalidInputError
from latentsearch.query import planner
from latentsearch.query.explore.terms import vectors_of
from latentsearch.query.explore.visible import pks_of, scope_and_seq
from latentsearch.query.inputs import ImageSources
from latentsearch.query.planner import Ranked
from latentsearch.query.search import finish
from latentsearch.query.space import Space
from latentsearch.results import Draw
from latentsearch.store import items as sql
from latentsearch.store.acl import Access
from latentsearch.vectors import unit_rows

MAX_DRAWS = 1000
NEIGHBOURHOOD = 10
SUBSPACE = 16
REGION_MAX = 20_000  # a larger region is fitted on a seeded sample of this many


def check(n: Any, spread: Any, seed: Any) -> tuple[int, float, int | None]:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or not 1 <= n <= MAX_DRAWS:
        raise InvalidInputError(f"n must be an integer from 1 to {MAX_DRAWS}, not {n!r}")
    if isinstance(spread, bool) or not isinstance(spread, int | float | np.number):
        raise InvalidInputError(f"spread must be a positive number, not {spread!r}")
    if not math.isfinite(float(spread)) or float(spread) <= 0:
        raise InvalidInputError(
            f"spread must be a positive finite number (1.0: the region's own spread), not {spread!r}"
        )
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0
    ):
        raise InvalidInputError(f"seed must be a non-negative integer or None, not {seed!r}")
    return int(n), float(spread), None if seed is None else int(seed)


def gaussian_draws(
    region: np.ndarray, n: int, spread: float, rng: np.random.Generator
) -> np.ndarray:
    """``n`` draws from the Gaussian of ``region`` in its principal subspace, scaled by ``spread``."""
    x = np.asarray(region, dtype=np.float64)
    mu = x.mean(0)
    if len(x) < 2:
        return np.repeat(mu[None, :], n, axis=0)
    _, sv, vt = np.linalg.svd(x - mu, full_matrices=False)
    # Each component's sign fixed (largest coefficient positive, as sklearn's svd_flip does), so
    # the same region in any row order gives the same draws for a seed.
    vt = vt * np.where(vt[np.arange(len(vt)), np.abs(vt).argmax(1)] < 0, -1.0, 1.0)[:, None]
    r = min(SUBSPACE, len(x) - 1, len(sv))
    std = sv[:r] / math.sqrt(len(x) - 1)
    z = rng.standard_normal((n, r)) * std * spread
    out: np.ndarray = mu + z @ vt[:r]
    return out


def sample(
    space: Space,
    n: int,
    around: Any,
    where: Mapping[str, Any] | None,
    acc: Access,
    spread: float,
    seed: int | None,
    images: ImageSources,
) -> list[Draw]:
    rng = np.random.default_rng(seed)
    centre = None
    if around is not None:
        (centre,) = vectors_of(space, [around], acc, terms=False, images=images)
    with space.store.session() as s:
        sc, _ = scope_and_seq(space, s, where, acc)
        if sc.size == 0:
            return []
        if centre is not None:
            size = min(max(NEIGHBOURHOOD, 2 * n), max(2, sc.size // 4))
            (near,), _ = planner.top_k(space, centre[None, :], size, sc, s=s)
            pks = near.ids
        else:
            pks = pks_of(space, s, sc)
            if len(pks) > REGION_MAX:
                pks = np.sort(rng.choice(pks, REGION_MAX, replace=False))
        region = _unit(space, sql.vectors_for(s, pks.tolist(), space.dim))
        draws = gaussian_draws(region, n, spread, rng).astype(np.float32)
        if space.metric == "cosine":
            draws, _zero = unit_rows(draws)
        ranked, _ = planner.top_k(space, draws, min(n, sc.size), sc, s=s)
        picked, used = [], set()
        for i, r in enumerate(ranked):
            j = next((j for j, p in enumerate(r.ids) if int(p) not in used), None)
            if j is not None:
                used.add(int(r.ids[j]))
                picked.append((i, int(r.ids[j]), float(r.scores[j])))
        if not picked:
            return []
        vecs = _unit(space, sql.vectors_for(s, [pk for _, pk, _ in picked], space.dim))
    dist = np.linalg.norm(draws[[i for i, _, _ in picked]] - vecs, axis=1)
    ranked_one = [Ranked(np.asarray([pk]), np.asarray([sc], np.float32)) for _, pk, sc in picked]
    hits = finish(space, ranked_one, acc, None)
    return [
        Draw(vector=draws[i], hit=h[0], distance=float(d))
        for (i, _, _), h, d in zip(picked, hits, dist, strict=True)
        if h
    ]


def _unit(space: Space, v: np.ndarray) -> np.ndarray:
    if space.metric != "cosine":
        return v
    out, _ = unit_rows(v)
    return out
