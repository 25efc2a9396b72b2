"""Explorer endpoints: the map of a collection, points placed on it, clusters, axes, samples.

Every one runs with the caller's principals (as /search does), so an answer holds coordinates,
labels, sizes and samples of visible items only, and an item the caller may not see is answered
exactly like one that does not exist. The map's shapes are the web page's (map-view.js) and the
CLI's HTML export: both come from `mapdata`.
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Path, Request

from latentsearch.server.auth import Reader
from latentsearch.server.convert import hit_out
from latentsearch.server.mapdata import clusters_out, expression_path, map_out
from latentsearch.server.metrics import SEARCHES
from latentsearch.server.schemas import ItemRef
from latentsearch.server.schemas_explore import (
    AxisRequest,
    AxisResponse,
    ClustersRequest,
    ClustersResponse,
    MapRequest,
    MapResponse,
    ProjectRequest,
    ProjectResponse,
    SampleRequest,
    SampleResponse,
)
from latentsearch.server.state import State

router = APIRouter(tags=["explore"])
CollectionName = Annotated[str, Path(min_length=1, max_length=200)]


def _state(request: Request) -> State:
    state: State = request.app.state.ls
    return state


@router.post("/collections/{name}/map", response_model=MapResponse)
def map_(
    name: CollectionName, body: MapRequest, request: Request, caller: Reader
) -> dict[str, Any]:
    """Every visible item as a point of a 2-D map (UMAP or PCA, cached against the collection's
    writes), with the clusters of the same visible set and where to draw their labels."""
    principals = caller.principals(body.on_behalf_of)
    col = _state(request).collection(name)
    m = col.map(
        where=body.where,
        principals=principals,
        method=body.method,
        seed=body.seed,
        level=body.level,
        clusters=body.clusters,
    )
    SEARCHES.labels("map", body.method).inc()
    return map_out(m, col, principals, snippets=body.snippets) | {"color_by": body.color_by}


@router.post("/collections/{name}/project", response_model=ProjectResponse)
def project(
    name: CollectionName, body: ProjectRequest, request: Request, caller: Reader
) -> dict[str, Any]:
    """Place queries, or the running sum of an expression's terms, on the map of the same
    ``method`` and ``seed``."""
    principals = caller.principals(body.on_behalf_of)
    col = _state(request).collection(name)
    where_on: dict[str, Any] = {
        "method": body.method,
        "seed": body.seed,
        "level": body.level,
        "principals": principals,
        "allow_paths": False,  # the server never opens a path a request names
    }
    if body.expression is not None:
        labels, vectors = expression_path(col, body.expression, principals)
        xy = col.project(vectors, **where_on)
    else:
        queries = [_query(q) for q in body.queries or []]
        labels = [q if isinstance(q, str) else f"@{q['id']}" for q in queries]
        xy = col.project(queries, **where_on)
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    return {
        "points": [
            {"x": round(float(x), 5), "y": round(float(y), 5), "label": label}
            for (x, y), label in zip(xy, labels, strict=True)
        ]
    }


def _query(q: str | ItemRef) -> str | dict[str, str]:
    return q if isinstance(q, str) else {"id": q.id}


@router.post("/collections/{name}/clusters", response_model=ClustersResponse)
def clusters(
    name: CollectionName, body: ClustersRequest, request: Request, caller: Reader
) -> dict[str, Any]:
    """Group the visible items and label each group from visible items only."""
    principals = caller.principals(body.on_behalf_of)
    col = _state(request).collection(name)
    found = col.clusters(body.k, where=body.where, principals=principals, seed=body.seed)
    return {"clusters": clusters_out(found)}


@router.post("/collections/{name}/axis", response_model=AxisResponse)
def axis(
    name: CollectionName, body: AxisRequest, request: Request, caller: Reader
) -> dict[str, Any]:
    """Every visible item's coordinate on the axis from ``negative`` to ``positive``."""
    principals = caller.principals(body.on_behalf_of)
    col = _state(request).collection(name)
    found = col.axis(
        _query(body.negative),
        _query(body.positive),
        where=body.where,
        principals=principals,
        allow_paths=False,
    )
    return {"positions": [{"id": a.id, "coord": float(a.coord), "title": a.title} for a in found]}


@router.post("/collections/{name}/sample", response_model=SampleResponse)
def sample(
    name: CollectionName, body: SampleRequest, request: Request, caller: Reader
) -> dict[str, Any]:
    """``n`` draws from a region of the latent space, each decoded to its nearest visible item."""
    principals = caller.principals(body.on_behalf_of)
    state = _state(request)
    col = state.collection(name)
    around = None if body.around is None else _query(body.around)
    draws = col.sample(
        body.n,
        around=around,
        where=body.where,
        principals=principals,
        spread=body.spread,
        seed=body.seed,
        allow_paths=False,
    )
    text = around if isinstance(around, str) else None
    return {
        "draws": [
            {"hit": hit_out(d.hit, text, state.db.path), "distance": float(d.distance)}
            for d in draws
        ]
    }
