"""Write endpoints: add (POST), upsert (PUT) and delete (DELETE) items, with their ACLs.

A ``writer`` may only change or delete items it can see: an upsert that would overwrite an item
hidden from the writer is refused (403), and a delete skips items the writer cannot see. An
``admin`` may change anything.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request

from latentsearch.server.auth import Caller, Writer
from latentsearch.server.convert import record
from latentsearch.server.metrics import WRITES
from latentsearch.server.schemas import DeleteRequest, WriteRequest, WriteResponse
from latentsearch.server.state import State
from latentsearch.store import items as sql
from latentsearch.store import stats
from latentsearch.store.filters import compile_where
from latentsearch.store.models import ItemRow

router = APIRouter()
CollectionName = Annotated[str, Path(min_length=1, max_length=200)]


def _state(request: Request) -> State:
    state: State = request.app.state.ls
    return state


@router.post(
    "/collections/{name}/items", tags=["items"], status_code=201, response_model=WriteResponse
)
def add_items(
    name: CollectionName, body: WriteRequest, request: Request, caller: Writer
) -> WriteResponse:
    """Add new items (409 if any id exists; use PUT to update)."""
    return _write(name, body, request, caller, upsert=False)


@router.put("/collections/{name}/items", tags=["items"], response_model=WriteResponse)
def upsert_items(
    name: CollectionName, body: WriteRequest, request: Request, caller: Writer
) -> WriteResponse:
    """Add or update items; unchanged content is not re-embedded."""
    return _write(name, body, request, caller, upsert=True)


@router.delete("/collections/{name}/items", tags=["items"], response_model=WriteResponse)
def delete_items(
    name: CollectionName, body: DeleteRequest, request: Request, caller: Writer
) -> WriteResponse:
    """Delete items by ``ids`` or by a ``where`` filter (and the chunks of those documents)."""
    state = _state(request)
    col = state.collection(name)
    principals = None if caller.role == "admin" else caller.principals()
    if body.ids is not None:
        ids = body.ids if principals is None else _visible(state, col._id, body.ids, principals)
    else:
        with state.db.store.session() as s:
            ids = stats.visible_ids(
                s, col._id, where=compile_where(body.where, col._id), principals=principals
            )
    result = col.delete(ids) if ids else None
    deleted = result.deleted if result else 0
    WRITES.labels("delete").inc(deleted)
    return WriteResponse(deleted=deleted, ids=list(ids))


def _visible(state: State, collection_id: int, ids: list[str], principals: list[str]) -> list[str]:
    """Those of ``ids`` that exist and that ``principals`` may see."""
    if not ids:
        return []
    with state.db.store.session() as s:
        return stats.visible_ids(
            s, collection_id, where=ItemRow.external_id.in_(ids), principals=principals
        )


def _write(
    name: str, body: WriteRequest, request: Request, caller: Caller, *, upsert: bool
) -> WriteResponse:
    state = _state(request)
    col = state.collection(name)
    records = [record(r, i, state.uploads) for i, r in enumerate(body.records)]
    if upsert and caller.role != "admin":
        ids = [r["id"] for r in records if "id" in r]
        with state.db.store.session() as s:
            existing = set(sql.existing(s, col._id, ids))
        hidden = existing - set(_visible(state, col._id, sorted(existing), caller.principals()))
        if hidden:
            raise HTTPException(
                403, f"{len(hidden)} of these ids belong to items this key may not change"
            )
    result = col.upsert(records) if upsert else col.add(records)
    WRITES.labels("upsert" if upsert else "add").inc(result.added + result.updated)
    return WriteResponse(
        added=result.added, updated=result.updated, unchanged=result.unchanged, ids=list(result.ids)
    )
