"""Typed results returned by the public API, declared once. Never bare tuples.

A leaf: it imports nothing of latentsearch. The HTTP server's response models are derived from
these dataclasses (`latentsearch.server.responses`), so a field added here is served there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np

Kind = Literal["text", "image", "vector"]


@dataclass(frozen=True, slots=True)
class Source:
    """Where an item came from, so every answer can cite it."""

    uri: str | None = None
    title: str | None = None


@dataclass(frozen=True, slots=True)
class Chunk:
    """For an item that is a passage of a larger document: the parent and character offsets."""

    parent: str
    start: int
    end: int


@dataclass(slots=True)
class Item:
    """One stored item, as returned by `Collection.get`."""

    id: str
    kind: Kind
    text: str | None
    metadata: dict[str, Any]
    source: Source
    acl: list[str]
    content_hash: str
    created: datetime
    updated: datetime
    chunk: Chunk | None = None
    vector: np.ndarray | None = field(default=None, repr=False)


@dataclass(slots=True)
class Hit:
    """One search result: the item's id, its similarity score and everything needed to show and cite it.

    ``why`` explains an arithmetic query: the hit's similarity to each term.
    """

    id: str
    score: float
    kind: Kind
    text: str | None
    metadata: dict[str, Any]
    source: Source
    chunk: Chunk | None = None
    why: dict[str, float] | None = None


@dataclass(frozen=True, slots=True)
class FacetValue:
    """One metadata value and how many visible items have it."""

    value: str | int | float | bool
    count: int


@dataclass(frozen=True, slots=True)
class Facets:
    """Value counts per metadata key over the first ``scanned`` visible items."""

    fields: dict[str, list[FacetValue]]
    scanned: int


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What an `add`, `upsert` or `delete` did."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    ids: tuple[str, ...] = ()


@dataclass(slots=True)
class InterpolationStep:
    """One step of `Collection.interpolate`: the position ``t`` in [0, 1], the vector there, and
    the nearest visible items (``hit`` is the nearest, or ``None`` when nothing is visible)."""

    t: float
    vector: np.ndarray = field(repr=False)
    hits: list[Hit] = field(default_factory=list)

    @property
    def hit(self) -> Hit | None:
        return self.hits[0] if self.hits else None


@dataclass(frozen=True, slots=True)
class DirectionInfo:
    """A saved concept direction (use it in expressions as ``vec:<name>``)."""

    name: str
    dim: int
    norm: float
    positive: tuple[str, ...]
    negative: tuple[str, ...]
    created: datetime


@dataclass(frozen=True, slots=True)
class IndexInfo:
    """What `Collection.index_info` reports: the index in use and how it was chosen and tuned."""

    spec: str
    requested: str  # "auto" or the factory string given at creation
    reason: str
    vectors: int
    approximate: bool
    params: dict[str, int]
    recall: float | None  # recall@10 measured on held-out sample queries when tuned
    recall_target: float
    tuned_on: int  # vectors in the index when it was tuned (0: never)
    mapped: bool
    rebuilding: bool


# -- the latent-space explorer (`Collection.map`, `clusters`, `axis`, `sample`) ------------------
@dataclass(frozen=True, slots=True)
class Cluster:
    """A group of visible items: ``label`` and ``terms`` describe it (distinctive terms of its
    texts, or its medoid's title for items without text), ``medoid`` is the member nearest its
    centre, ``ids`` its members (all visible to the caller)."""

    id: int
    label: str
    terms: tuple[str, ...]
    size: int
    medoid: str
    ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MapPoint:
    """One visible item (or document, at ``level="document"``) placed on a 2-D map.
    ``parent``: the document a chunk belongs to; ``cluster``: the `Cluster.id` it falls in."""

    id: str
    x: float
    y: float
    title: str | None
    kind: Kind
    metadata: dict[str, Any]
    cluster: int | None = None
    parent: str | None = None


@dataclass(frozen=True, slots=True)
class LatentMap:
    """What `Collection.map` returns: one point per visible item, the projection that placed them
    (``method``, ``seed``, fitted on ``fitted_on`` items at write sequence ``seq``; ``cached``
    when it was reused) and the clusters of the same visible set."""

    points: list[MapPoint]
    method: str
    seed: int
    seq: int
    fitted_on: int
    cached: bool
    clusters: list[Cluster]


@dataclass(frozen=True, slots=True)
class AxisPosition:
    """An item's coordinate on a concept axis: 0 at the negative pole, 1 at the positive one."""

    id: str
    coord: float
    title: str | None


@dataclass(frozen=True, slots=True)
class Draw:
    """One point drawn by `Collection.sample`, the visible item it decodes to, and the distance
    between the two (Euclidean; on the unit sphere for cosine collections)."""

    vector: np.ndarray = field(repr=False)
    hit: Hit
    distance: float
