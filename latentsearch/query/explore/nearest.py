"""The visible texts nearest given points: labels for clusters of images (captions, in CLIP)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from latentsearch.query import planner
from latentsearch.query.hits import rows_for
from latentsearch.query.search import scope_of
from latentsearch.query.space import Space
from latentsearch.store.acl import Access
from latentsearch.vectors import unit_rows

NEAREST_TEXTS = 3
TEXTS_ONLY = {"kind": "text"}

Finder = Callable[[np.ndarray], list[list[str]]]


def text_finder(space: Space, acc: Access) -> Finder:
    """``find(points) -> [texts nearest each point]`` over the texts ``acc`` may see."""

    def find(points: np.ndarray) -> list[list[str]]:
        with space.store.session() as s:
            sc = scope_of(space, TEXTS_ONLY, acc, s)
            if sc.size == 0 or not len(points):
                return [[] for _ in points]
            q = np.asarray(points, dtype=np.float32)
            if space.metric == "cosine":
                q, _ = unit_rows(q)
            ranked, _ = planner.top_k(space, q, NEAREST_TEXTS, sc, s=s)
            pks = [int(p) for r in ranked for p in r.ids]
            rows = rows_for(s, space.collection_id, pks, acc)
        return [[rows[int(p)].text or "" for p in r.ids if int(p) in rows] for r in ranked]

    return find
