"""The HTTP API's response models (they make the OpenAPI schema at /docs).

The result models are derived from the public result types (`latentsearch.results`, and the
query layer's `Citation`): their fields, types and defaults are read from the dataclasses, so
they are declared once. What the server shows differently is declared here, per model: the
fields it leaves out, the fields it adds, and descriptions. The values it changes (public source
URIs, cut texts) are computed in `convert`.

Routes return plain data (dataclasses and dicts); FastAPI validates it against these models.
Nested result dataclasses are read by attribute (``from_attributes``).
"""

from __future__ import annotations

import dataclasses
import functools
import operator
from collections.abc import Collection
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.fields import FieldInfo

from latentsearch.query.citations import Citation, Span
from latentsearch.results import Chunk, FacetValue, Hit, Item, Source, WriteResult
from latentsearch.server.snippets import Preview

# Each result type, once derived, stands for its response model inside later ones.
_MODELS: dict[type, type[BaseModel]] = {}


def _shown(tp: Any) -> Any:
    """``tp`` with every derived result type in it replaced by its response model."""
    if isinstance(tp, type) and tp in _MODELS:
        return _MODELS[tp]
    origin, args = get_origin(tp), get_args(tp)
    if origin is None or origin is Literal or not args:
        return tp
    shown = tuple(_shown(a) for a in args)
    if origin in (Union, UnionType):
        return functools.reduce(operator.or_, shown)
    return origin[shown]  # list[...], dict[...], tuple[...]


def _model(name: str, doc: str | None, fields: dict[str, Any]) -> type[BaseModel]:
    defs: dict[str, Any] = {k: (_shown(tp), default) for k, (tp, default) in fields.items()}
    return create_model(name, __config__=ConfigDict(from_attributes=True), __doc__=doc, **defs)


def derive(
    result: type,
    name: str,
    *,
    drop: Collection[str] = (),
    doc: str | None = None,
    **changes: Any,
) -> type[BaseModel]:
    """The response model ``name`` of the dataclass ``result``: its fields in order, less
    ``drop``. In ``changes``, a `Field` gives a field of ``result`` a new default or description
    (its type stays), and a ``(type, default)`` pair adds a field the server computes."""
    hints = get_type_hints(result)
    fields: dict[str, tuple[Any, Any]] = {}
    for f in dataclasses.fields(result):
        if f.name in drop:
            continue
        if f.default is not dataclasses.MISSING:
            default: Any = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = Field(default_factory=f.default_factory)
        else:
            default = ...
        fields[f.name] = (hints[f.name], default)
    for key, change in changes.items():
        if isinstance(change, FieldInfo):
            fields[key] = (fields[key][0], change)
        else:
            fields[key] = change
    model = _model(name, doc, fields)
    _MODELS[result] = model
    return model


def envelope(name: str, doc: str | None = None, **fields: tuple[Any, Any]) -> type[BaseModel]:
    """A server-only model ``name`` whose fields may hold result types (shown as their models)."""
    return _model(name, doc, fields)


SourceOut = derive(Source, "SourceOut")
ChunkOut = derive(Chunk, "ChunkOut")
SpanOut = derive(Span, "SpanOut")
CitationOut = derive(
    Citation,
    "CitationOut",
    drop={"item_id", "terms"},
    doc="The source document, the matching passage and where the query terms are in it.",
    start=Field(description="offset of the snippet in the document's text"),
    highlights=Field(description="query-term offsets within the snippet"),
)
PreviewOut = derive(
    Preview,
    "PreviewOut",
    doc="The passage as plain text for display: Markdown, reStructuredText or HTML markup "
    "removed by their parsers (format), with the query terms' offsets in it.",
    text=Field(description="at most about 240 characters of plain text"),
    format=Field(description="the markup removed, judged from the item's source suffix or type"),
    highlights=Field(description="query-term offsets within text"),
    more_before=Field(description="the document has text before this snippet (show an ellipsis)"),
    more_after=Field(description="the document has text after this snippet (show an ellipsis)"),
)
HitOut = derive(
    Hit,
    "HitOut",
    text=Field(description="the hit's text, cut to a bounded length in searches"),
    text_truncated=(
        bool,
        Field(
            False, description="text was cut; GET the item for all of it (the citation is exact)"
        ),
    ),
    citation=(Citation, ...),
    preview=(
        Preview | None,
        Field(None, description="the snippet as clean text (None for image and vector hits)"),
    ),
)
ItemOut = derive(Item, "ItemOut", drop={"content_hash", "vector"})
WriteResponse = derive(WriteResult, "WriteResponse", ids=Field(default_factory=list))
FacetValueOut = derive(FacetValue, "FacetValue")


class DocumentOut(BaseModel):
    """One document of an answer, with the positions of its hits (its passages) in ``hits``."""

    doc_id: str = Field(description="the source document: a chunk's parent, else the item")
    title: str | None
    uri: str | None = Field(description="public source URI, as in the hits' citations")
    kind: str
    rank: int = Field(description="1-based position of the document's best hit in hits")
    score: float = Field(description="the score of the document's best hit")
    hits: list[int] = Field(description="positions in hits of this document's passages, best first")


SearchResponse = envelope(
    "SearchResponse",
    hits=(list[Hit], ...),
    documents=(
        list[DocumentOut],
        Field(
            default_factory=list,
            description="the hits grouped by document, in the order of each document's best hit",
        ),
    ),
    mode=(str, ...),
    took_ms=(float, ...),
    missing_shards=(
        list[int],
        Field(
            default_factory=list,
            description="index shards that did not answer (only with allow_partial; empty when "
            "the answer is complete)",
        ),
    ),
)
FacetsResponse = envelope(
    "FacetsResponse",
    facets=(dict[str, list[FacetValue]], ...),
    scanned=(int, Field(description="visible items whose metadata was counted")),
)


# -- server-only models ----------------------------------------------------------------
class CollectionOut(BaseModel):
    name: str
    model: str | None
    modalities: list[str]
    dim: int
    metric: str
    count: int = Field(description="items visible to the caller")


class Health(BaseModel):
    status: Literal["ok"]
    version: str


class ErrorOut(BaseModel):
    error: str
    detail: list[dict[str, Any]] | None = None
