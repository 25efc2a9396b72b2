"""Read endpoints: collections, search, query, analogy, items, facets. Every one enforces ACLs.

The caller's principals come from its key (or, for an admin, ``on_behalf_of``). An item the
caller may not see is answered exactly like an item that does not exist.
"""

from __future__ import annotations

import os
import re
import stat
import time
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import FileResponse, Response

from latentsearch import Fusion
from latentsearch.errors import ImageError, ItemNotFoundError
from latentsearch.results import Hit
from latentsearch.server.auth import Caller, Reader
from latentsearch.server.convert import (
    decode_image,
    decode_images,
    hits_out,
    item_out,
    public_model,
)
from latentsearch.server.documents import documents_out
from latentsearch.server.metrics import SEARCHES
from latentsearch.server.responses import CollectionOut, FacetsResponse, ItemOut, SearchResponse
from latentsearch.server.schemas import (
    AnalogyRequest,
    ImageRef,
    ItemRef,
    QueryRequest,
    SearchRequest,
)
from latentsearch.server.state import State
from latentsearch.server.thumbnails import THUMB_MAX, THUMB_MIN, thumbnail

router = APIRouter()
CollectionName = Annotated[str, Path(min_length=1, max_length=200)]
ItemId = Annotated[str, Path(min_length=1, max_length=512)]
QueryId = Annotated[str, Query(min_length=1, max_length=512)]
ThumbSize = Annotated[
    int | None,
    Query(ge=THUMB_MIN, le=THUMB_MAX, description="fit the image into size x size pixels (JPEG)"),
]
_QUOTED = re.compile(r'([+-]?)\s*(?:\d+(?:\.\d+)?\s*\*\s*)?"([^"]*)"')


def _state(request: Request) -> State:
    state: State = request.app.state.ls
    return state


@router.get("/me", tags=["keys"], summary="Who this key is: user, groups, role")
def me(caller: Reader) -> dict[str, Any]:
    k = caller.key
    return {
        "key_id": k.key_id,
        "user": k.user,
        "groups": list(k.groups),
        "groups_from": k.groups_from,
        "role": k.role,
        "principals": k.principals,
    }


@router.get("/collections", tags=["collections"], response_model=list[CollectionOut])
def collections(request: Request, caller: Reader) -> list[CollectionOut]:
    state = _state(request)
    out = []
    for info in state.db.collections():
        col = state.db.collection(info.name)
        out.append(
            CollectionOut(
                name=info.name,
                model=public_model(info.encoder.model) if info.encoder else None,
                modalities=list(info.encoder.modalities) if info.encoder else ["vector"],
                dim=info.dim,
                metric=info.metric,
                count=col.count(principals=caller.principals()),
            )
        )
    return out


@router.post("/collections/{name}/search", tags=["search"], response_model=SearchResponse)
def search(
    name: CollectionName, body: SearchRequest, request: Request, caller: Reader
) -> dict[str, Any]:
    """Search by text, base64 image, vector or item id, in dense, keyword or hybrid mode."""
    started = time.perf_counter()
    principals = caller.principals(body.on_behalf_of)
    state = _state(request)
    col = state.collection(name)
    query: Any
    if body.text is not None:
        query = body.text
    elif body.image is not None:
        query = decode_image(body.image, "image")[0]
    elif body.vector is not None:
        query = body.vector
    else:
        assert body.id is not None
        col.get(body.id, principals=principals)  # 404 unless the caller may see it
        query = {"id": body.id}
    fusion = Fusion(**body.fusion.model_dump()) if body.fusion else None
    hits = col.search(
        query,
        body.k,
        mode=body.mode,
        where=body.where,
        principals=principals,
        mmr=body.mmr,
        per_document=body.per_document,
        fusion=fusion,
        allow_paths=False,  # the server never opens a path a request names
        allow_partial=body.allow_partial,
    )
    SEARCHES.labels("search", body.mode).inc()
    return _answer(hits, body.text, state, body.mode, started)


@router.post("/collections/{name}/query", tags=["search"], response_model=SearchResponse)
def query(
    name: CollectionName, body: QueryRequest, request: Request, caller: Reader
) -> dict[str, Any]:
    """Evaluate a query expression such as ``"vpn outage" - "windows"``. An ``image:NAME`` term
    is an image in ``images`` or ``image:@id`` (an item); it never names a server file."""
    started = time.perf_counter()
    principals = caller.principals(body.on_behalf_of)
    state = _state(request)
    col = state.collection(name)
    hits = col.query(
        body.expr,
        body.k,
        where=body.where,
        principals=principals,
        mmr=body.mmr,
        images=decode_images(body.images),
        allow_paths=False,  # the server never opens a path a request names
        allow_partial=body.allow_partial,
    )
    SEARCHES.labels("query", "dense").inc()
    text = positive_text(body.expr)
    return _answer(hits, text, state, "dense", started)


@router.post("/collections/{name}/analogy", tags=["search"], response_model=SearchResponse)
def analogy(
    name: CollectionName, body: AnalogyRequest, request: Request, caller: Reader
) -> dict[str, Any]:
    """``positive - negative`` analogies (e.g. king - man + woman) over texts or stored items."""
    started = time.perf_counter()
    principals = caller.principals(body.on_behalf_of)
    state = _state(request)
    col = state.collection(name)
    pos = [_term(t) for t in body.positive]
    neg = [_term(t) for t in body.negative]
    hits = col.analogy(
        pos,
        neg,
        body.k,
        method=body.method,
        weights=body.weights,
        exclude_inputs=body.exclude_inputs,
        where=body.where,
        principals=principals,
        images=decode_images(body.images),
        allow_paths=False,  # the server never opens a path a request names
    )
    SEARCHES.labels("analogy", "dense").inc()
    text = " ".join(t for t in body.positive if isinstance(t, str)) or None
    return _answer(hits, text, state, "dense", started)


def _answer(
    hits: list[Hit], text: str | None, state: State, mode: str, started: float
) -> dict[str, Any]:
    """A `SearchResponse`: the hits as shown, the same hits grouped by document, and the shards
    missing from a partial answer (a search over a cluster with ``allow_partial``)."""
    shown = hits_out(hits, text, state.db.path)
    return {
        "hits": shown,
        "documents": documents_out(hits, shown),
        "mode": mode,
        "took_ms": _ms(started),
        "missing_shards": list(getattr(hits, "missing_shards", ())),
    }


def _term(t: str | ItemRef | ImageRef) -> str | dict[str, str]:
    if isinstance(t, str):
        return t
    return {"id": t.id} if isinstance(t, ItemRef) else {"image": t.image}


# Item ids may contain "/" (documents built from subfolders: runbooks/vpn.md), hence the path
# converter; the ?id= forms serve clients and proxies that mangle encoded slashes.
@router.get("/collections/{name}/items/{item_id:path}", tags=["items"], response_model=ItemOut)
def get_item(
    name: CollectionName, item_id: ItemId, request: Request, caller: Reader
) -> dict[str, Any]:
    return _item(name, item_id, request, caller)


@router.get("/collections/{name}/item", tags=["items"], response_model=ItemOut)
def get_item_by_query(
    name: CollectionName, id: QueryId, request: Request, caller: Reader
) -> dict[str, Any]:
    """An item by ``?id=`` (any id)."""
    return _item(name, id, request, caller)


@router.get(
    "/collections/{name}/images/{item_id:path}", tags=["items"], response_class=FileResponse
)
def get_image(
    name: CollectionName,
    item_id: ItemId,
    request: Request,
    caller: Reader,
    size: ThumbSize = None,
) -> Response:
    """The image file of an image item; with ``?size=N`` a JPEG thumbnail of at most N x N."""
    return _image(name, item_id, request, caller, size)


@router.get("/collections/{name}/image", tags=["items"], response_class=FileResponse)
def get_image_by_query(
    name: CollectionName, id: QueryId, request: Request, caller: Reader, size: ThumbSize = None
) -> Response:
    """The image file of the image item ``?id=`` (any id); ``&size=N``: a thumbnail."""
    return _image(name, id, request, caller, size)


def _item(name: str, item_id: str, request: Request, caller: Caller) -> dict[str, Any]:
    state = _state(request)
    col = state.collection(name)
    return item_out(col.get(item_id, principals=caller.principals()), state.db.path)


def _image(name: str, item_id: str, request: Request, caller: Caller, size: int | None) -> Response:
    col = _state(request).collection(name)
    item = col.get(item_id, principals=caller.principals())
    if item.kind != "image" or not item.text:
        raise ItemNotFoundError(f"item {item_id!r} has no image")
    path = item.text
    # A file gone from disk (or no longer a regular file) is answered like a missing item.
    if not _regular_file(path):
        raise ItemNotFoundError(f"no item with id {item_id!r} in collection {col.name!r}")
    headers = {"Cache-Control": "private, max-age=300"}
    if size is not None:
        try:
            data, media = thumbnail(path, size)  # the item's stored path, never a requested one
        except (ImageError, OSError) as exc:  # its message would name the server path
            raise ItemNotFoundError(f"item {item_id!r} has no readable image") from exc
        return Response(data, media_type=media, headers=headers)
    return FileResponse(path, headers=headers)


def _regular_file(path: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


@router.get("/collections/{name}/facets", tags=["collections"], response_model=FacetsResponse)
def facets(
    name: CollectionName,
    request: Request,
    caller: Reader,
    fields: Annotated[list[str] | None, Query(max_length=50)] = None,
) -> dict[str, Any]:
    """Metadata values and their counts over the items the caller may see (for filter facets)."""
    col = _state(request).collection(name)
    f = col.facets(fields, principals=caller.principals())
    return {"facets": f.fields, "scanned": f.scanned}


def positive_text(expr: str) -> str:
    """The quoted terms of an expression that are added, not subtracted (for highlighting)."""
    found = _QUOTED.findall(expr)
    if not found:
        return expr
    return " ".join(text for sign, text in found if sign != "-")


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
