"""Request and response models of the explorer endpoints (map, project, clusters, axis, sample).

Like `schemas`, every request model forbids unknown fields. The responses carry only what the
caller may see: `routes_explore` builds them from the public API's results for its principals.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from latentsearch.results import Draw, Kind
from latentsearch.server.responses import derive, envelope
from latentsearch.server.schemas import MAX_EXPR_CHARS, MAX_TEXT_CHARS, ItemRef, OnBehalfOf, Strict

MAX_QUERIES = 64
MAX_SAMPLES = 1000
MAX_CLUSTERS = 1000
Method = Literal["umap", "pca"]
Seed = Field(
    0, ge=0, le=2**31 - 1, description="random seed of the projection (same seed, same map)"
)
Pole = str | ItemRef


class MapRequest(Strict):
    """Every visible item as a point of a 2-D map of the collection (with its clusters)."""

    method: Method = "umap"
    seed: int = Seed
    level: Literal["chunk", "document"] = "chunk"
    where: dict[str, Any] | None = None
    color_by: str | None = Field(
        None, min_length=1, max_length=200, description="a metadata field the client colours by"
    )
    clusters: bool = Field(True, description="also group the points and label the groups")
    snippets: bool = Field(True, description="send the first characters of each text item")
    on_behalf_of: OnBehalfOf | None = None


class ProjectRequest(Strict):
    """Place new points on the map made with the same ``method`` and ``seed``: ``queries`` (texts,
    ``{"id": ...}``) one point each, or an ``expression`` as the path of its running sum, term by
    term (its last point is the expression's value)."""

    queries: list[str | ItemRef] | None = Field(None, min_length=1, max_length=MAX_QUERIES)
    expression: str | None = Field(None, min_length=1, max_length=MAX_EXPR_CHARS)
    method: Method = "umap"
    seed: int = Seed
    level: Literal["chunk", "document"] = "chunk"
    on_behalf_of: OnBehalfOf | None = None

    @model_validator(mode="after")
    def _one(self) -> ProjectRequest:
        if (self.queries is None) == (self.expression is None):
            raise ValueError("give exactly one of queries or expression")
        for q in self.queries or []:
            if isinstance(q, str) and not 0 < len(q) <= MAX_TEXT_CHARS:
                raise ValueError(f"a query text has 1 to {MAX_TEXT_CHARS} characters")
        return self


class ClustersRequest(Strict):
    """Group the visible items (``k`` chosen automatically when left out) and label each group."""

    k: int | None = Field(None, ge=1, le=MAX_CLUSTERS)
    where: dict[str, Any] | None = None
    seed: int = Seed
    on_behalf_of: OnBehalfOf | None = None


class AxisRequest(Strict):
    """A concept axis from ``negative`` to ``positive`` (texts or ``{"id": ...}``): every visible
    item's coordinate along it, sorted from the negative pole to the positive one."""

    negative: Pole
    positive: Pole
    where: dict[str, Any] | None = None
    on_behalf_of: OnBehalfOf | None = None


class SampleRequest(Strict):
    """Draw ``n`` latent points from a region (around a query, or the ``where`` set) and decode
    each to its nearest visible item, without repeats."""

    n: int = Field(10, ge=1, le=MAX_SAMPLES)
    around: Pole | None = None
    where: dict[str, Any] | None = None
    spread: float = Field(1.0, allow_inf_nan=False, description="> 0; larger draws wider")
    seed: int | None = Field(None, ge=0, le=2**31 - 1)
    on_behalf_of: OnBehalfOf | None = None


# -- responses -----------------------------------------------------------------------------
class MapPointOut(BaseModel):
    id: str
    x: float
    y: float
    title: str | None
    kind: Kind
    cluster: int | None = None
    parent: str | None = Field(None, description="the document of a chunk")
    snippet: str | None = Field(
        None, description="the start of a text item (never an image's path)"
    )
    metadata: dict[str, Any] = Field(default_factory=dict)


class ClusterOut(BaseModel):
    id: int
    label: str
    terms: list[str]
    size: int
    medoid: str
    x: float | None = Field(None, description="where the label goes on the map (map answers only)")
    y: float | None = None
    ids: list[str] | None = Field(None, description="the members (clusters answers only)")


class MapResponse(BaseModel):
    points: list[MapPointOut]
    clusters: list[ClusterOut]
    method: str
    seed: int
    version: str = Field(
        description="a digest of the points and clusters: changes when what this key sees changes"
    )
    fitted_on: int = Field(description="how many items the projection was fitted on")
    cached: bool
    color_by: str | None = None


class ProjectedOut(BaseModel):
    x: float
    y: float
    label: str | None = None


class ProjectResponse(BaseModel):
    points: list[ProjectedOut]


class ClustersResponse(BaseModel):
    clusters: list[ClusterOut]


class AxisPositionOut(BaseModel):
    id: str
    coord: float
    title: str | None


class AxisResponse(BaseModel):
    positions: list[AxisPositionOut]


DrawOut = derive(
    Draw,
    "DrawOut",
    drop={"vector"},
    doc="One draw: the visible item it decoded to, and how far the drawn point was from it.",
)
SampleResponse = envelope("SampleResponse", draws=(list[Draw], ...))
