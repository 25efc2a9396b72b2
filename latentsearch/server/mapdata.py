"""The explorer's data as clients see it: a map with snippets and label positions, and the path
of an expression's terms. Shared by the HTTP endpoints (`routes_explore`) and the CLI's
``latentsearch map`` export, so both draw the same shape (map.js reads it); needs no FastAPI.
"""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from latentsearch.collection import Collection
from latentsearch.errors import InvalidInputError
from latentsearch.query.expressions import parse
from latentsearch.results import Cluster, LatentMap

SNIPPET_CHARS = 160
GET_BATCH = 500
_SPACES = re.compile(r"\s+")


def map_out(
    m: LatentMap, col: Collection, principals: Sequence[str] | None, *, snippets: bool = True
) -> dict[str, Any]:
    """A `LatentMap` as the map answer (also the data of `latentsearch map --out map.html`):
    points with short text snippets, clusters with where their labels go."""
    texts = item_snippets(col, [p.id for p in m.points], principals) if snippets else {}
    points = [
        {
            "id": p.id,
            "x": round(float(p.x), 5),
            "y": round(float(p.y), 5),
            "title": p.title,
            "kind": p.kind,
            "cluster": p.cluster,
            "parent": p.parent,
            "snippet": texts.get(p.id),
            "metadata": p.metadata,
        }
        for p in m.points
    ]
    return {
        "points": points,
        "clusters": clusters_out(m.clusters, points),
        "method": m.method,
        "seed": m.seed,
        "version": m.version,
        "fitted_on": m.fitted_on,
        "cached": m.cached,
    }


def clusters_out(
    clusters: Sequence[Cluster], points: Sequence[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Clusters for a client; with the map's ``points``, each gets the median position of its
    members (where its label is drawn), else its member ids."""
    where: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for p in points or ():
        if p["cluster"] is not None:
            where[p["cluster"]].append((p["x"], p["y"]))
    out = []
    for c in clusters:
        row: dict[str, Any] = {
            "id": c.id,
            "label": c.label,
            "terms": list(c.terms),
            "size": c.size,
            "medoid": c.medoid,
        }
        if points is None:
            row["ids"] = list(c.ids)
        elif where[c.id]:
            row["x"] = statistics.median(x for x, _ in where[c.id])
            row["y"] = statistics.median(y for _, y in where[c.id])
        out.append(row)
    return out


def item_snippets(
    col: Collection, ids: Sequence[str], principals: Sequence[str] | None
) -> dict[str, str]:
    """The first `SNIPPET_CHARS` characters of each visible text item (an image item's text is
    its file path on the server: never sent)."""
    out: dict[str, str] = {}
    for start in range(0, len(ids), GET_BATCH):
        for item in col.get(list(ids[start : start + GET_BATCH]), principals=principals):
            if item.kind == "text" and item.text:
                text = _SPACES.sub(" ", item.text[: SNIPPET_CHARS * 2]).strip()
                out[item.id] = text[:SNIPPET_CHARS] + ("…" if len(text) > SNIPPET_CHARS else "")
    return out


def expression_path(
    col: Collection, expr: str, principals: Sequence[str] | None
) -> tuple[list[str], np.ndarray]:
    """The path of an expression on the map: its running weighted sum after each term (unit
    length in cosine collections, as the map's points are), labelled by the term added."""
    terms = parse(expr).terms
    labels: list[str] = []
    vectors: list[np.ndarray] = []
    total: np.ndarray | None = None
    for t in terms:
        v = _term_vector(col, t.spec.kind, t.spec.value, principals)
        total = t.weight * v if total is None else total + t.weight * v
        step = total
        norm = float(np.linalg.norm(step))
        if col.metric == "cosine" and norm > 0:
            step = step / norm
        sign = "−" if t.weight < 0 else "+"
        weight = "" if abs(abs(t.weight) - 1.0) < 1e-9 else f"{abs(t.weight):g}·"
        labels.append(f"{sign if labels or t.weight < 0 else ''}{weight}{t.spec.label}")
        vectors.append(step)
    return labels, np.vstack(vectors).astype(np.float32)


def _term_vector(
    col: Collection, kind: str, value: Any, principals: Sequence[str] | None
) -> np.ndarray:
    """One expression term's unit vector, read through the public API (a hidden item is
    reported like a missing one by the calls themselves)."""
    if kind == "word":  # an item id the caller may see, else text: the direction of one term
        return np.asarray(col.direction([value], principals=principals), dtype=np.float32)
    if kind == "id":
        return col.embed_query({"id": value}, principals=principals)
    if kind == "text":
        return col.embed_query(value, principals=principals)
    if kind == "direction":
        return col.embed_query({"vec": value}, principals=principals)
    raise InvalidInputError(
        f"a {kind} term cannot be drawn on the map; use texts, words, @items and vec: directions"
    )
