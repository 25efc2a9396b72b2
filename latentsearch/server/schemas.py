"""Pydantic request models of the HTTP API (with `responses`, they make the OpenAPI schema).

Every request model forbids unknown fields, so a misspelt field is a 422 that names it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

MAX_K = 1000
MAX_EXPR_CHARS = 2000
MAX_TEXT_CHARS = 10_000
MAX_VECTOR_DIM = 8192
MAX_RECORDS = 1000
MAX_IDS = 1000
MAX_TERMS = 16
MAX_IMAGES = 16

Mode = Literal["dense", "keyword", "hybrid"]
Role = Literal["reader", "writer", "admin"]
Name = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@+-]*$")
ImageName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")]
Images = Field(
    None,
    max_length=MAX_IMAGES,
    description="base64 images sent with the request, by name: the expression's image:NAME "
    "(an image: term never names a server file; image:@id names an item you can see)",
)


AllowPartialDoc = (
    "a server fronting a cluster (serve --cluster): when no replica of some index shard answers, "
    "return the other shards' hits and list the missing shards in missing_shards instead of "
    "failing with 503 (ignored by a single-process server, which has no shards)"
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OnBehalfOf(Strict):
    """Admin only: run the request with this user's principals instead of the key's."""

    user: str = Name
    groups: list[str] = Field(default_factory=list, max_length=100)


class Fusion(Strict):
    """Hybrid mode: reciprocal-rank fusion (``rrf``, constant ``rrf_k``) or weighted score fusion."""

    method: Literal["rrf", "weighted"] = "rrf"
    rrf_k: int = Field(60, ge=1, le=10_000)
    dense_weight: float = Field(0.5, ge=0.0, le=1.0)
    depth: int | None = Field(None, ge=1, le=MAX_K)


class SearchRequest(Strict):
    """Search by exactly one of ``text``, ``image`` (base64), ``vector`` or ``id``."""

    text: str | None = Field(None, min_length=1, max_length=MAX_TEXT_CHARS)
    image: str | None = Field(
        None, min_length=1, description="a base64-encoded PNG/JPEG/WebP image"
    )
    vector: list[float] | None = Field(None, min_length=1, max_length=MAX_VECTOR_DIM)
    id: str | None = Field(None, min_length=1, max_length=512, description="search near this item")
    k: int = Field(10, ge=1, le=MAX_K)
    where: dict[str, Any] | None = None
    mode: Mode = "dense"
    per_document: bool = False
    mmr: float | None = Field(None, ge=0.0, le=1.0, description="MMR lambda (1 = pure relevance)")
    fusion: Fusion | None = None
    allow_partial: bool = Field(False, description=AllowPartialDoc)
    on_behalf_of: OnBehalfOf | None = None

    @model_validator(mode="after")
    def _one_query(self) -> SearchRequest:
        given = [f for f in ("text", "image", "vector", "id") if getattr(self, f) is not None]
        if len(given) != 1:
            raise ValueError(
                f"give exactly one of text, image, vector or id (got {', '.join(given) or 'none'})"
            )
        return self


class QueryRequest(Strict):
    """An expression such as ``"vpn outage" - "windows"`` (see the query language docs)."""

    expr: str = Field(min_length=1, max_length=MAX_EXPR_CHARS)
    images: dict[ImageName, str] | None = Images
    k: int = Field(10, ge=1, le=MAX_K)
    where: dict[str, Any] | None = None
    mmr: float | None = Field(None, ge=0.0, le=1.0)
    allow_partial: bool = Field(False, description=AllowPartialDoc)
    on_behalf_of: OnBehalfOf | None = None


class ItemRef(Strict):
    id: str = Field(min_length=1, max_length=512)


class ImageRef(Strict):
    image: ImageName = Field(description="the name of an image in the request's 'images'")


Term = str | ItemRef | ImageRef


class AnalogyRequest(Strict):
    """``positive`` minus ``negative``: texts, ``{"id": ...}`` for stored items, ``{"image": NAME}``
    for an image in ``images``."""

    positive: list[Term] = Field(min_length=1, max_length=MAX_TERMS)
    negative: list[Term] = Field(default_factory=list, max_length=MAX_TERMS)
    images: dict[ImageName, str] | None = Images
    k: int = Field(10, ge=1, le=MAX_K)
    method: Literal["3cosadd", "3cosmul"] = "3cosadd"
    weights: list[float] | None = Field(None, max_length=2 * MAX_TERMS)
    exclude_inputs: bool = True
    where: dict[str, Any] | None = None
    on_behalf_of: OnBehalfOf | None = None


class SourceIn(Strict):
    uri: str | None = Field(None, max_length=4096)
    title: str | None = Field(None, max_length=4096)


class ChunkIn(Strict):
    parent: str = Field(min_length=1, max_length=512)
    start: int = Field(ge=0)
    end: int = Field(ge=0)


class RecordIn(Strict):
    """One item to write: exactly one of ``text``, ``image`` (base64) or ``vector``."""

    id: str | None = Field(None, min_length=1, max_length=512)
    text: str | None = Field(None, min_length=1, max_length=1_000_000)
    image: str | None = Field(None, min_length=1, description="a base64-encoded image")
    vector: list[float] | None = Field(None, min_length=1, max_length=MAX_VECTOR_DIM)
    metadata: dict[str, Any] | None = None
    acl: list[str] | None = Field(None, max_length=1000)
    source: SourceIn | None = None
    chunk: ChunkIn | None = None

    @model_validator(mode="after")
    def _one_content(self) -> RecordIn:
        given = [f for f in ("text", "image", "vector") if getattr(self, f) is not None]
        if len(given) != 1:
            raise ValueError(
                f"each record needs exactly one of text, image or vector (got {', '.join(given) or 'none'})"
            )
        return self


class WriteRequest(Strict):
    records: list[RecordIn] = Field(min_length=1, max_length=MAX_RECORDS)


class DeleteRequest(Strict):
    """Delete by ``ids`` or by a ``where`` filter (one of them)."""

    ids: list[str] | None = Field(None, min_length=1, max_length=MAX_IDS)
    where: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _one_selector(self) -> DeleteRequest:
        if (self.ids is None) == (self.where is None):
            raise ValueError("give exactly one of ids or where")
        return self
