"""Vectors for what the explorer is given: queries, poles, expressions and raw vectors.

The reading rules are those of `latentsearch.query.inputs` (a plain ``str`` is text for a query
and an item id-or-text for a term), plus ``{"expr": "king - man + woman"}`` (also spelled
``{"expression": ...}``), an expression of `latentsearch.query.expressions`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from PIL import Image

from latentsearch.errors import InvalidInputError
from latentsearch.query.expressions import parse
from latentsearch.query.inputs import LOCAL, ImageSources, Spec, as_query, as_term, resolve, unit
from latentsearch.query.space import Space
from latentsearch.store.acl import Access
from latentsearch.vectors import check_vectors

EXPRESSION_KEYS = ("expr", "expression")
MAX_QUERIES = 10_000


def expression_of(q: Any) -> str | None:
    """The expression text of ``{"expr": ...}``, else None."""
    if isinstance(q, Mapping) and len(q) == 1:
        ((key, value),) = q.items()
        if key in EXPRESSION_KEYS:
            if not isinstance(value, str) or not value.strip():
                raise InvalidInputError(f"{{{key!r}: ...}} must hold a non-empty expression")
            return value
    return None


def many(space: Space, queries: Any) -> list[Any]:
    """``project``'s argument as a list of single queries (a 2-D array is one per row)."""
    if isinstance(queries, np.ndarray):
        if queries.ndim == 2:
            rows = check_vectors(queries, space.dim, "vectors", rescale=space.metric == "cosine")
            return list(rows)
        return [queries]
    if isinstance(queries, str | Mapping | Image.Image) or not isinstance(queries, Sequence):
        return [queries]
    out = list(queries)
    # A list of numbers is one vector, not many scalar queries.
    if out and all(isinstance(v, int | float) and not isinstance(v, bool) for v in out):
        return [np.asarray(out, dtype=np.float64)]
    if len(out) > MAX_QUERIES:
        raise InvalidInputError(f"at most {MAX_QUERIES} queries at once, not {len(out)}")
    return out


def vectors_of(
    space: Space,
    things: Sequence[Any],
    acc: Access,
    *,
    terms: bool,
    images: ImageSources = LOCAL,
) -> np.ndarray:
    """``(n, dim)`` vectors, resolved in one batch (``terms``: a ``str`` may name an item)."""
    specs: list[Spec] = []
    slots: list[tuple[str, int, int]] = []  # ("spec", start, 1) or ("expr", start, count)
    weights: list[float] = []
    for t in things:
        expr = expression_of(t)
        if expr is None:
            slots.append(("spec", len(specs), 1))
            specs.append(as_term(t) if terms else as_query(t))
            weights.append(1.0)
            continue
        parsed = parse(expr)
        slots.append(("expr", len(specs), len(parsed.terms)))
        specs.extend(w.spec for w in parsed.terms)
        weights.extend(w.weight for w in parsed.terms)
    resolved = resolve(space, specs, acc, images) if specs else []
    out = np.zeros((len(slots), space.dim), dtype=np.float32)
    for row, (kind, start, count) in enumerate(slots):
        part = resolved[start : start + count]
        v = np.zeros(space.dim, dtype=np.float32)
        for term, w in zip(part, weights[start : start + count], strict=True):
            v += np.float32(w) * term.vector
        if kind == "expr" and space.metric == "cosine":
            v = unit(v, "the expression")
        out[row] = v
    return out
