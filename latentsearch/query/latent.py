"""Latent-space operations: interpolation between two points, concept directions, centroids."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from latentsearch.errors import InvalidInputError, ItemNotFoundError
from latentsearch.query import planner
from latentsearch.query.hits import visible_by_external
from latentsearch.query.inputs import as_term, resolve, term_list, unit
from latentsearch.query.search import Request, run, scope_of
from latentsearch.query.space import Space
from latentsearch.results import InterpolationStep
from latentsearch.store import directions
from latentsearch.store import items as sql
from latentsearch.store.acl import Access

INTERPOLATIONS = ("slerp", "linear")
MAX_STEPS = 1000
DIRECTION_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}$")


def slerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """Spherical linear interpolation between unit vectors (constant angular speed)."""
    dot = float(np.clip(np.dot(a.astype(np.float64), b), -1.0, 1.0))
    if dot > 1.0 - 1e-6:  # (nearly) the same direction: the straight line is the arc
        return ((1 - t) * a + t * b).astype(np.float32)
    if dot < -1.0 + 1e-6:
        raise InvalidInputError(
            "the two ends point in opposite directions: the great circle between them is not unique; "
            "use method='linear' or other ends"
        )
    omega = math.acos(dot)
    s = math.sin(omega)
    return (math.sin((1 - t) * omega) / s * a + math.sin(t * omega) / s * b).astype(np.float32)


def interpolate(
    space: Space,
    a: Any,
    b: Any,
    steps: int,
    *,
    method: str,
    k: int,
    where: Mapping[str, Any] | None,
    acc: Access,
) -> list[InterpolationStep]:
    if method not in INTERPOLATIONS:
        raise InvalidInputError(f"method must be one of {INTERPOLATIONS}, not {method!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or not 2 <= steps <= MAX_STEPS:
        raise InvalidInputError(f"steps must be an integer from 2 to {MAX_STEPS}, not {steps!r}")
    ta, tb = resolve(space, [as_term(a), as_term(b)], acc)
    va, vb = unit(ta.vector, ta.label), unit(tb.vector, tb.label)
    ts = [i / (steps - 1) for i in range(steps)]
    path = []
    for t in ts:
        v = slerp(va, vb, t) if method == "slerp" else ((1 - t) * va + t * vb).astype(np.float32)
        path.append(
            unit(v, f"the point at t={t:g} (the ends cancel out)")
            if space.metric == "cosine"
            else v
        )
    vectors = np.stack(path)
    hits = run(space, Request(vectors, k, acc, where, terms=[[ta, tb]] * steps))
    return [
        InterpolationStep(t=t, vector=v, hits=h) for t, v, h in zip(ts, vectors, hits, strict=True)
    ]


def direction(
    space: Space,
    positive: Sequence[Any],
    negative: Sequence[Any],
    *,
    name: str | None,
    acc: Access,
) -> np.ndarray:
    """mean(positives) − mean(negatives) of the terms' unit vectors; saved under ``name`` if given."""
    pos, neg = term_list(positive), term_list(negative)
    if not pos:
        raise InvalidInputError("a direction needs at least one positive term")
    if name is not None and (not isinstance(name, str) or not DIRECTION_NAME.match(name)):
        raise InvalidInputError(
            f"invalid direction name {name!r}: use 1-200 letters, digits, '_', '-' or '.', not starting with '-' or '.'"
        )
    specs = [as_term(t) for t in pos + neg]
    terms = resolve(space, specs, acc)
    vec: np.ndarray = np.mean([t.vector for t in terms[: len(pos)]], axis=0)
    if neg:
        vec = vec - np.mean([t.vector for t in terms[len(pos) :]], axis=0)
    vec = vec.astype(np.float32)
    if not np.any(vec):
        raise InvalidInputError(
            "the positives and negatives cancel out: the direction is the zero vector"
        )
    if name is not None:
        with space.store.transaction() as s:
            directions.save(
                s,
                space.collection_id,
                name,
                vec,
                [sp.label for sp in specs[: len(pos)]],
                [sp.label for sp in specs[len(pos) :]],
            )
    return vec


def centroid(
    space: Space,
    ids: Sequence[str] | None,
    *,
    where: Mapping[str, Any] | None,
    acc: Access,
) -> np.ndarray:
    """The mean stored vector of the given items (all visible), or of every visible item matching ``where``."""
    if ids is not None:
        if where is not None:
            raise InvalidInputError("give ids= or where=, not both")
        if isinstance(ids, str) or not ids:
            raise InvalidInputError("ids must be a non-empty list of item ids")
        wanted = [str(i) for i in ids]
        with space.store.session() as s:
            rows = visible_by_external(s, space.collection_id, wanted, acc)
            missing = [i for i in wanted if i not in rows]
            if missing:
                raise ItemNotFoundError(
                    f"no item with id {missing[0]!r} in collection {space.name!r}"
                )
            vecs = sql.vectors_for(s, [rows[i].id for i in wanted], space.dim)
        mean: np.ndarray = vecs.mean(0, dtype=np.float64).astype(np.float32)
        return mean
    sc = scope_of(space, where, acc)
    total = np.zeros(space.dim, dtype=np.float64)
    count = 0
    for _ids, vecs in planner.stream(space, sc):
        total += vecs.sum(0, dtype=np.float64)
        count += len(vecs)
    if count == 0:
        raise ItemNotFoundError(
            f"no visible item in {space.name!r} matches the filter; a centroid needs at least one"
        )
    return (total / count).astype(np.float32)
