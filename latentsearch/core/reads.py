"""Reads of a collection that rank nothing: items by id, counts, facets, saved directions.

Everything that ranks lives in `latentsearch.query`; these look rows up in the store, with the
same read rule (`store.acl`): items a caller may not see are answered like missing ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from latentsearch.errors import DirectionNotFoundError
from latentsearch.query import facets as stats
from latentsearch.query.hits import make_item, visible_by_external
from latentsearch.query.space import Space
from latentsearch.results import DirectionInfo, Facets, Item
from latentsearch.store import directions as directions_store
from latentsearch.store import items as sql
from latentsearch.store.acl import Access
from latentsearch.store.filters import compile_where


def items(space: Space, ids: Sequence[str], acc: Access, *, vectors: bool = False) -> list[Item]:
    """The items of ``ids`` that ``acc`` may see, in the order asked (missing ones left out)."""
    cid = space.collection_id
    with space.store.session() as s:
        rows = visible_by_external(s, cid, list(ids), acc)
        found = [rows[e] for e in ids if e in rows]
        acls = sql.principals_of(s, [r.id for r in found])
        vecs = sql.vectors_for(s, [r.id for r in found], space.dim) if vectors else None
    return [
        make_item(r, acls[r.id], vecs[i] if vecs is not None else None) for i, r in enumerate(found)
    ]


def count(space: Space, principals: Sequence[str] | None) -> int:
    """How many items ``principals`` may see (None: every item)."""
    with space.store.session() as s:
        return stats.count_visible(s, space.collection_id, principals)


def facets(
    space: Space, fields: Sequence[str] | None, where: Mapping[str, Any] | None, acc: Access
) -> Facets:
    """Metadata values and their counts over the items ``acc`` may see (see `query.facets`)."""
    cid = space.collection_id
    clause = compile_where(where, cid) if where is not None else None
    with space.store.session() as s:
        return stats.facets(s, cid, fields=fields, where=clause, principals=acc.principals)


def directions(space: Space) -> list[DirectionInfo]:
    """The saved directions of the collection."""
    with space.store.session() as s:
        rows = directions_store.listing(s, space.collection_id)
        return [
            DirectionInfo(
                name=r.name,
                dim=r.dim,
                norm=float(np.linalg.norm(sql.from_blobs([r.data], r.dim)[0])),
                positive=tuple(r.positive),
                negative=tuple(r.negative),
                created=r.created,
            )
            for r in rows
        ]


def drop_direction(space: Space, name: str) -> None:
    """Delete a saved direction (`DirectionNotFoundError` if there is none of that name)."""
    with space.store.transaction() as s:
        if not directions_store.remove(s, space.collection_id, name):
            raise DirectionNotFoundError(
                f"no direction named {name!r} in collection {space.name!r}"
            )
