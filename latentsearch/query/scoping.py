"""Deciding a scope in SQL: the sorted primary keys that match a filter and that the caller may see.

A scope is decided once per (filter, principals, write seq) and cached (`scopes.ScopeCache`);
what this module makes cheap is the first time, which is every query when each one filters on a
value of its own (a date range, a price band). Two things cost there (measured on 100k items,
SQLite, a filter keeping 956 ids; the figures are from a busy 2-vCPU machine):

* **the filter**: ``SELECT id FROM ls_items WHERE collection_id = ? AND id IN (SELECT item_id
  FROM ls_item_values WHERE ...) ORDER BY id`` probes ``ls_items`` once per matching id (2.0 ms).
  A filter that is one leaf on an indexed metadata key compiles to exactly that ``IN``, and the
  side table's rows are the items' own (triggers keep them in step, deletes cascade), so the
  inner select alone answers it from its covering index (0.3 ms), sorted here in numpy;
* **the permissions**: an ``EXISTS`` probe of ``ls_item_principals`` per candidate (about
  2 µs each, and it adds a join to every filter). The items a set of principals may see change
  only with a write, so once the same principals come back at the same seq, their visible ids
  are fetched once (`visible`) and every later filter is intersected with them in numpy (20 µs
  for 1,000 ids). The first query of each seq keeps the probe: fetching every visible id costs
  about 0.3 µs per id, worth it only when it is reused.

Cache keys hold the caller's exact principal tuple, so one caller's visible set never answers
another's; the seq retires every entry at the next write.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BinaryExpression
from sqlalchemy.sql.selectable import ScalarSelect

from latentsearch.query.planner import EMPTY_IDS, Scope
from latentsearch.query.scopes import scope_key
from latentsearch.query.space import Space
from latentsearch.store import ItemRow
from latentsearch.store.acl import EVERYONE, Access, item_scope
from latentsearch.store.models import ItemPrincipalRow

FETCH = 65_536  # ids fetched per round trip
VISIBLE_AFTER = 2  # fetch a caller's visible ids on the second use of them at one seq


def decide(
    space: Space,
    s: Session,
    clause: ColumnElement[bool] | None,
    key: Hashable,
    acc: Access,
    seq: int,
) -> Scope:
    """The scope of ``clause`` (compiled for this collection) for ``acc`` at write seq ``seq``,
    from the cache (``key``) or from SQL; cached before it is returned."""
    if clause is None and acc.unrestricted:
        # The index is kept in step with the store, so its size is the item count: no
        # count(*) over every row (milliseconds per query on a million items).
        with space.lock:
            return Scope(None, space.index().ntotal)
    hit = space.scopes.get(key, seq)
    if hit is not None:
        return Scope(*hit)
    visible = None if acc.unrestricted else _visible(space, s, acc, seq, clause is None)
    inner = _side_table_select(clause)
    if visible is not None and clause is None:
        ids = visible
    elif inner is not None and (acc.unrestricted or visible is not None):
        ids = np.unique(_fetch(s, inner))  # duplicates: a list holding a value twice
        if visible is not None:
            ids = _intersect(ids, visible)
    else:
        cond = item_scope(space.collection_id, clause, acc if visible is None else None)
        ids = _fetch(s, select(ItemRow.id).where(cond).order_by(ItemRow.id))
        if visible is not None:
            ids = _intersect(ids, visible)
    space.scopes.put(key, seq, ids, len(ids))
    return Scope(ids, len(ids))


def _visible(space: Space, s: Session, acc: Access, seq: int, now: bool) -> np.ndarray | None:
    """The sorted ids ``acc`` may see, from the cache, or fetched when asked for ``now`` or for
    the `VISIBLE_AFTER`-th time at this seq; else None (the caller probes per candidate)."""
    key = scope_key(None, acc.principals)
    hit = space.scopes.get(key, seq)
    if hit is not None:
        return hit[0]
    if not now and space.scopes.uses(key, seq) < VISIBLE_AFTER:
        return None
    assert acc.principals is not None
    names = sorted({*acc.principals, EVERYONE})
    stmt = (
        select(ItemPrincipalRow.item_id)
        .join(ItemRow, ItemRow.id == ItemPrincipalRow.item_id)
        .where(ItemRow.collection_id == space.collection_id, ItemPrincipalRow.principal.in_(names))
    )
    ids = np.unique(_fetch(s, stmt))  # an item naming two of the principals comes twice
    space.scopes.put(key, seq, ids, len(ids))
    return ids


def _side_table_select(clause: ColumnElement[bool] | None) -> Select[Any] | None:
    """For ``ItemRow.id IN (SELECT item_id FROM ls_item_values ...)`` (one leaf on an indexed
    metadata key, as `store.values` compiles it, restricted to the collection): the inner select."""
    if not (
        isinstance(clause, BinaryExpression)
        and clause.operator is operators.in_op
        and isinstance(clause.right, ScalarSelect)
        and getattr(clause.left, "table", None) is ItemRow.__table__
        and getattr(clause.left, "key", None) == "id"
    ):
        return None
    inner = clause.right.element
    return inner if isinstance(inner, Select) else None


def _fetch(s: Session, stmt: Select[Any]) -> np.ndarray:
    """Integer ids straight from the DBAPI cursor in big batches, not as SQLAlchemy rows (an
    integer column needs no result processing; 10k ids: 13 vs 24 ms)."""
    cursor = s.connection().execute(stmt).cursor
    parts = []
    while rows := cursor.fetchmany(FETCH):
        parts.append(np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)))
    return np.concatenate(parts) if parts else EMPTY_IDS


def _intersect(ids: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """The sorted ``ids`` that are in the sorted ``visible``."""
    if not len(ids) or not len(visible):
        return EMPTY_IDS
    pos = np.minimum(np.searchsorted(visible, ids), len(visible) - 1)
    kept: np.ndarray = ids[visible[pos] == ids]
    return kept
