"""Test helpers for the query layer: an independent Python reference of the filter language and
ACL rule, brute-force top-k, and module-scoped databases on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from pgkit import PG_URL, pg_schema

import latentsearch as ls

MISSING = object()
BUILTIN_KEYS = {
    "id": "id",
    "kind": "kind",
    "source.uri": "source_uri",
    "source.title": "source_title",
    "chunk.parent": "parent",
    "created": "created",
    "updated": "updated",
}


@contextmanager
def database(
    kind: str, folder: Path, pg_admin: Any, pg_base: str = PG_URL
) -> Iterator[ls.Database]:
    """A database on SQLite (in ``folder``) or in a fresh PostgreSQL schema, dropped afterwards."""
    with ExitStack() as stack:
        url = stack.enter_context(pg_schema(pg_admin, pg_base)) if kind != "sqlite" else None
        db = ls.connect(folder, database=url, device="cpu")
        try:
            yield db
        finally:
            db.close()


# -- the filter language, in Python ------------------------------------------------------------
def field(item: Mapping[str, Any], name: str) -> Any:
    if name in BUILTIN_KEYS:
        return item[BUILTIN_KEYS[name]]
    value: Any = item["metadata"]
    for key in name.removeprefix("metadata.").split("."):
        if isinstance(value, dict) and key in value:
            value = value[key]
        else:
            return MISSING
    return value


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _eq(value: Any, operand: Any, builtin: bool) -> bool:
    if value is MISSING:
        return False
    if operand is None:
        return value is None
    if builtin:
        return value is not None and value == _dt(operand, value)
    if isinstance(operand, bool):
        return isinstance(value, bool) and value == operand
    if _is_num(operand):
        return _is_num(value) and float(value) == float(operand)
    return isinstance(value, str) and value == operand


def _dt(operand: Any, value: Any) -> Any:
    if isinstance(value, datetime) and isinstance(operand, str):
        d = datetime.fromisoformat(operand)
        return d.replace(tzinfo=UTC) if d.tzinfo is None else d
    return operand


def _cmp(value: Any, op: str, operand: Any, builtin: bool) -> bool:
    if value is MISSING or value is None:
        return False
    operand = _dt(operand, value)
    if builtin:
        a, b = value, operand
    elif _is_num(operand):
        if not _is_num(value):
            return False
        a, b = float(value), float(operand)
    else:
        if not isinstance(value, str):
            return False
        a, b = value, operand
    return {"$gt": a > b, "$gte": a >= b, "$lt": a < b, "$lte": a <= b}[op]


def _leaf(value: Any, op: str, operand: Any, builtin: bool) -> bool:
    if op == "$eq":
        return _eq(value, operand, builtin)
    if op == "$ne":
        return not _eq(value, operand, builtin)
    if op == "$in":
        return any(_eq(value, o, builtin) for o in operand)
    if op == "$nin":
        return not any(_eq(value, o, builtin) for o in operand)
    if op == "$exists":
        present = value is not MISSING and not (builtin and value is None)
        return present == operand
    if op == "$contains":
        return isinstance(value, list) and any(_eq(e, operand, False) for e in value)
    return _cmp(value, op, operand, builtin)


def matches(where: Mapping[str, Any] | None, item: Mapping[str, Any]) -> bool:
    """The reference semantics of `latentsearch.store.filters` (see its module docstring)."""
    if where is None:
        return True
    for key, spec in where.items():
        if key == "$and":
            ok = all(matches(w, item) for w in spec)
        elif key == "$or":
            ok = any(matches(w, item) for w in spec)
        elif key == "$not":
            ok = not matches(spec, item)
        else:
            ok = _field_matches(item, key, spec)
        if not ok:
            return False
    return True


def _field_matches(item: Mapping[str, Any], name: str, spec: Any) -> bool:
    value = field(item, name)
    builtin = name in BUILTIN_KEYS
    if not isinstance(spec, Mapping):
        return _leaf(value, "$eq", spec, builtin)
    for op, operand in spec.items():
        ok = (
            not _field_matches(item, name, operand)
            if op == "$not"
            else _leaf(value, op, operand, builtin)
        )
        if not ok:
            return False
    return True


def visible(acl: list[str], principals: list[str] | None) -> bool:
    return principals is None or any(p == "*" or p in principals for p in acl)


# -- brute force ------------------------------------------------------------------------------
def unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def check_topk(
    hits: list[Any], scores: dict[str, float], allowed: set[str], k: int, tol: float = 2e-5
) -> None:
    """``hits`` is an exact top-``k`` of ``allowed`` under ``scores`` (ties in any order)."""
    ids = [h.id for h in hits]
    leaked = set(ids) - allowed
    assert not leaked, f"returned items outside the filter/ACL scope: {sorted(leaked)[:5]}"
    assert len(ids) == len(set(ids)), "duplicate hits"
    assert len(ids) == min(k, len(allowed)), f"got {len(ids)} hits, expected {min(k, len(allowed))}"
    for h in hits:
        assert math.isclose(h.score, scores[h.id], abs_tol=tol), (h.id, h.score, scores[h.id])
    got = [h.score for h in hits]
    assert all(a >= b - tol for a, b in itertools.pairwise(got)), "hits not sorted by score"
    if ids:
        best = sorted((scores[i] for i in allowed), reverse=True)[: len(ids)]
        assert got[-1] >= best[-1] - tol, f"missed a better item: worst hit {got[-1]} < {best[-1]}"
