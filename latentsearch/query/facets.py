"""Read-side aggregates that respect ACLs: visible counts, visible ids, metadata facets
(`Collection.count` and `Collection.facets`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from latentsearch.results import Facets as Facets  # re-exported: declared in results
from latentsearch.results import FacetValue as FacetValue
from latentsearch.store import ItemRow
from latentsearch.store.acl import visible_to

FACET_SCAN = 10_000
FACET_VALUES = 20
FACET_MAX_DISTINCT = 200


def _conds(
    collection_id: int, where: ColumnElement[bool] | None, principals: Sequence[str] | None
) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = [ItemRow.collection_id == collection_id]
    if where is not None:
        conds.append(where)
    if principals is not None:
        conds.append(visible_to(principals))
    return conds


def count_visible(s: Session, collection_id: int, principals: Sequence[str] | None) -> int:
    stmt = select(func.count()).select_from(ItemRow).where(*_conds(collection_id, None, principals))
    return int(s.scalar(stmt) or 0)


def visible_ids(
    s: Session,
    collection_id: int,
    *,
    where: ColumnElement[bool] | None = None,
    principals: Sequence[str] | None = None,
    limit: int | None = None,
) -> list[str]:
    """External ids of the items matching ``where`` that ``principals`` may see."""
    stmt = (
        select(ItemRow.external_id)
        .where(*_conds(collection_id, where, principals))
        .order_by(ItemRow.id)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(s.scalars(stmt))


def facets(
    s: Session,
    collection_id: int,
    *,
    fields: Sequence[str] | None = None,
    where: ColumnElement[bool] | None = None,
    principals: Sequence[str] | None = None,
    scan: int = FACET_SCAN,
    top: int = FACET_VALUES,
) -> Facets:
    """Count scalar metadata values (strings, numbers, booleans; list elements too).

    Keys with more than FACET_MAX_DISTINCT distinct values (ids, free text) are left out unless
    named in ``fields``.
    """
    stmt = (
        select(ItemRow.meta)
        .where(*_conds(collection_id, where, principals))
        .order_by(ItemRow.id.desc())
        .limit(scan)
    )
    # keyed by (type name, value): True and 1 are different facet values
    counts: dict[str, Counter[tuple[str, str | int | float | bool]]] = {}
    scanned = 0
    wanted = set(fields) if fields else None
    for meta in s.scalars(stmt):
        scanned += 1
        for key, value in (meta or {}).items():
            if wanted is not None and key not in wanted:
                continue
            for v in value if isinstance(value, list) else [value]:
                if isinstance(v, str | int | float | bool) and not (
                    isinstance(v, str) and len(v) > 200
                ):
                    counts.setdefault(key, Counter())[(type(v).__name__, v)] += 1
    out: dict[str, list[FacetValue]] = {}
    for key in sorted(counts):
        c = counts[key]
        if wanted is None and len(c) > FACET_MAX_DISTINCT:
            continue
        ranked = sorted(c.items(), key=lambda kv: (-kv[1], str(kv[0][1])))[:top]
        out[key] = [FacetValue(v, n) for (_, v), n in ranked]
    return Facets(fields=out, scanned=scanned)
