"""Concept axes: every visible item's coordinate on the line from one pole to another.

The coordinate of a vector ``v`` on the axis from ``n`` to ``p`` is its scalar projection
``(v - n)·(p - n) / |p - n|²``: 0 at the negative pole, 1 at the positive one, and the same
order as the similarity to the direction ``p - n`` (the usual concept-direction score). Poles
are terms (`latentsearch.query.inputs`): item ids, texts, images, vectors, ``{"vec": name}``
saved directions, or ``{"expr": ...}`` expressions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from latentsearch.errors import InvalidInputError
from latentsearch.query.explore.terms import vectors_of
from latentsearch.query.explore.visible import read, scope_and_seq
from latentsearch.query.inputs import ImageSources
from latentsearch.query.space import Space
from latentsearch.results import AxisPosition
from latentsearch.store.acl import Access

COINCIDE = 1e-6  # poles closer than this (relative to their length) give no direction


def poles(
    space: Space, negative: Any, positive: Any, acc: Access, images: ImageSources
) -> tuple[np.ndarray, np.ndarray]:
    """The two pole vectors, or `InvalidInputError` if they coincide."""
    if negative is None or positive is None:
        raise InvalidInputError("an axis needs two poles: negative and positive")
    neg, pos = vectors_of(space, [negative, positive], acc, terms=True, images=images)
    d = pos.astype(np.float64) - neg
    scale = max(float(np.linalg.norm(pos)), float(np.linalg.norm(neg)), 1e-30)
    if float(np.linalg.norm(d)) <= COINCIDE * scale:
        raise InvalidInputError(
            "the two poles of the axis coincide (they embed to the same vector), so they "
            "define no direction; give two different poles"
        )
    return neg, pos


def coordinates(vectors: np.ndarray, neg: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Each row's position on the axis (0 at ``neg``, 1 at ``pos``)."""
    d = pos.astype(np.float64) - neg
    out: np.ndarray = (np.asarray(vectors, np.float64) - neg) @ d / float(d @ d)
    return out


def axis(
    space: Space,
    negative: Any,
    positive: Any,
    where: Mapping[str, Any] | None,
    acc: Access,
    images: ImageSources,
) -> list[AxisPosition]:
    neg, pos = poles(space, negative, positive, acc, images)
    with space.store.session() as s:
        sc, _ = scope_and_seq(space, s, where, acc)
        vis = read(space, s, sc, acc, "chunk", vectors=True)
    assert vis.vectors is not None
    coord = coordinates(vis.vectors, neg, pos)
    order = sorted(range(len(vis)), key=lambda i: (float(coord[i]), vis.entries[i].id))
    return [AxisPosition(vis.entries[i].id, float(coord[i]), vis.entries[i].title) for i in order]
