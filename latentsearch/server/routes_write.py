"""Write endpoints: add (POST), upsert (PUT) and delete (DELETE) items, with their ACLs.

A ``writer`` writes with its key's principals, an ``admin`` unrestricted; the rule (a writer
changes only items it can see, and a hidden item is answered like a missing one) lives in
`Collection.add`, `upsert` and `delete`, so the library, the CLI and HTTP share it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from latentsearch.results import WriteResult
from latentsearch.server.auth import Caller, Writer
from latentsearch.server.convert import record
from latentsearch.server.metrics import WRITES
from latentsearch.server.responses import WriteResponse
from latentsearch.server.schemas import DeleteRequest, WriteRequest
from latentsearch.server.state import State

router = APIRouter()
CollectionName = Annotated[str, Path(min_length=1, max_length=200)]


def _state(request: Request) -> State:
    state: State = request.app.state.ls
    return state


def _principals(caller: Caller) -> list[str] | None:
    """Whose visibility a write runs under: the key's principals, or none (admin: unrestricted)."""
    return None if caller.role == "admin" else caller.principals()


@router.post(
    "/collections/{name}/items", tags=["items"], status_code=201, response_model=WriteResponse
)
def add_items(
    name: CollectionName, body: WriteRequest, request: Request, caller: Writer
) -> WriteResult:
    """Add new items (409 if any id is taken, whether or not the key can see that item)."""
    return _write(name, body, request, caller, upsert=False)


@router.put("/collections/{name}/items", tags=["items"], response_model=WriteResponse)
def upsert_items(
    name: CollectionName, body: WriteRequest, request: Request, caller: Writer
) -> WriteResult:
    """Add or update items; unchanged content is not re-embedded. An id of an item the key cannot
    see is answered 409, exactly like a taken id on POST."""
    return _write(name, body, request, caller, upsert=True)


@router.delete("/collections/{name}/items", tags=["items"], response_model=WriteResponse)
def delete_items(
    name: CollectionName, body: DeleteRequest, request: Request, caller: Writer
) -> WriteResult:
    """Delete items by ``ids`` or by a ``where`` filter (and the chunks of those documents) that
    the key can see; hidden ids are ignored like unknown ones."""
    col = _state(request).collection(name)
    principals = _principals(caller)
    if body.ids is not None:
        result = col.delete(body.ids, principals=principals)
    else:
        result = col.delete(where=body.where, principals=principals)
    WRITES.labels("delete").inc(result.deleted)
    return result


def _write(
    name: str, body: WriteRequest, request: Request, caller: Caller, *, upsert: bool
) -> WriteResult:
    state = _state(request)
    col = state.collection(name)
    records = [record(r, i, state.uploads) for i, r in enumerate(body.records)]
    principals = _principals(caller)
    if upsert:
        result = col.upsert(records, principals=principals)
    else:
        result = col.add(records, principals=principals)
    WRITES.labels("upsert" if upsert else "add").inc(result.added + result.updated)
    return result
