"""Typed results returned by the public API, declared once. Never bare tuples.

A leaf: it imports nothing of latentsearch. The HTTP server's response models are derived from
these dataclasses (`latentsearch.server.responses`), so a field added here is served there.
"""

from __future__ import annotations

from collections.abc import Iterable
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
class Span:
    """Character offsets ``[start, end)``."""

    start: int
    end: int


@dataclass(slots=True)
class Citation:
    """Where a hit comes from and the passage that matched.

    ``doc_id`` is the source document (a chunk's parent, else the item itself). ``start``/``end``
    locate ``snippet`` in that document's text (for a chunk: its offset in the parent plus the
    offset within the chunk). ``highlights`` are the query-term occurrences, relative to the
    snippet, so a client can mark them without parsing HTML.
    """

    doc_id: str
    item_id: str
    title: str | None
    uri: str | None
    snippet: str
    start: int
    end: int
    highlights: list[Span] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Passage:
    """One passage of an `Answer`: a hit's text, its score, its citation and its number ``[n]``
    (the number the summary and a generated answer cite it by)."""

    number: int
    id: str
    text: str
    start: int  # offset of ``text`` in the document's text
    score: float
    citation: Citation


@dataclass(slots=True)
class AnswerDocument:
    """A document of an `Answer` and its best passages (best first)."""

    id: str
    title: str | None
    uri: str | None
    score: float
    passages: list[Passage] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SummarySentence:
    """A sentence of an answer's extractive summary and the passage ``[passage]`` it is from;
    ``start``/``end`` locate it in that passage's document."""

    text: str
    passage: int
    start: int
    end: int


@dataclass(slots=True)
class Answer:
    """What `Collection.answer` returns: the best passages grouped by document (best document
    first), a short extractive summary of the highest-scoring sentences (each ends with the
    ``[n]`` of its passage) and, when a generator was given, the text it wrote from those
    passages only (``cited``: the passage numbers it cites that exist)."""

    question: str
    mode: str
    summary: str
    sentences: list[SummarySentence]
    documents: list[AnswerDocument]
    generated: str | None = None
    generator: str | None = None
    cited: list[int] = field(default_factory=list)

    @property
    def passages(self) -> list[Passage]:
        """Every passage, in number order."""
        return sorted((p for d in self.documents for p in d.passages), key=lambda p: p.number)


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
    (``method``, ``seed``, fitted on ``fitted_on`` items; ``cached`` when it was reused) and the
    clusters of the same visible set. ``version`` is a digest of the points and clusters: it
    changes when what the caller sees changes, and never because of items it cannot see (the
    collection's write sequence would count those writes too)."""

    points: list[MapPoint]
    method: str
    seed: int
    version: str
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


class SearchHits(list[Hit]):
    """The hits of one search, best first (a `list` of `Hit`).

    ``missing_shards``: on a sharded collection searched with ``allow_partial=True``, the shards
    no replica answered, whose items are missing from the hits (empty otherwise; without
    ``allow_partial`` such a search raises `ShardUnavailableError` instead).
    """

    missing_shards: tuple[int, ...]

    def __init__(self, hits: Iterable[Hit] = (), *, missing_shards: Iterable[int] = ()) -> None:
        super().__init__(hits)
        self.missing_shards = tuple(missing_shards)

    @property
    def partial(self) -> bool:
        """True when some shards are missing from the answer."""
        return bool(self.missing_shards)


@dataclass(frozen=True, slots=True)
class ClusterNode:
    """One Ray node."""

    node_id: str
    address: str
    alive: bool
    cpus: float
    gpus: float


@dataclass(frozen=True, slots=True)
class ShardReplica:
    """One shard replica actor (None fields: it did not answer)."""

    collection: str
    shard: int
    replica: int
    node: str | None
    pid: int | None
    alive: bool
    seq: int | None
    vectors: int | None


@dataclass(frozen=True, slots=True)
class ClusterStatus:
    """`Database.cluster_status()`: the nodes, and every shard replica of the database."""

    address: str
    nodes: list[ClusterNode]
    replicas: list[ShardReplica]
