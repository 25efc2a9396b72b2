"""The ``where=`` filter language, compiled to one parameterised SQLAlchemy condition on `ItemRow`.

A filter is a dict in the style of MongoDB and Chroma::

    {"year": {"$gte": 2020}, "tags": {"$contains": "ml"}, "$or": [{"lang": "en"}, {"lang": "fr"}]}

* Fields: the built-ins ``id`` (external id), ``kind``, ``source.uri``, ``source.title``,
  ``chunk.parent``, ``created`` and ``updated``; any other name is a metadata key, with dots for
  nested objects (``author.name``). ``metadata.<key>`` always means metadata (for a metadata key
  that shadows a built-in, e.g. ``metadata.kind``).
* ``{"field": value}`` is ``{"field": {"$eq": value}}``; several keys in one dict are ANDed.
* Comparisons ``$eq $ne $gt $gte $lt $lte``; sets ``$in $nin``; ``$exists``; ``$contains`` (a list
  value holds the operand); logic ``$and $or`` (lists of filters) and ``$not`` (a filter, or an
  operator dict under a field).
* ``$ne``, ``$nin`` and ``$not`` are exact complements: ``{"a": {"$ne": 1}}`` also matches items
  without ``a``. A value of another type than the operand never matches (see `jsonsql`).

Leaves on top-level metadata keys compile to lookups in the indexed side table of `values` when
the collection is known (``compile_where(where, collection_id)``), and to `jsonsql` predicates
otherwise; both mean the same (the filter tests run every filter both ways).

`compile_where` validates the whole filter before anything runs and raises `FilterError` naming the
offending part (``where.$and[1].price.$gt``). No user text ever becomes SQL text. What can never
match a stored value is refused the same way on both databases: filters nest at most `MAX_DEPTH`
levels (``$and``/``$or``/``$not``, under a field too); numbers must be finite as 64-bit floats (an
integer beyond about 1.8e308 is refused); keys and strings are valid Unicode without NUL
(`latentsearch.checks`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, not_, or_, select, true

from latentsearch.checks import text_problem
from latentsearch.errors import FilterError
from latentsearch.store.filter_operands import as_utc, scalar, short, text_operand
from latentsearch.store.jsonsql import ByteOrder, JsonPredicate
from latentsearch.store.models import ItemRow
from latentsearch.store.values import indexed_predicate, indexed_range

COMPARISONS = {"$gt": "gt", "$gte": "gte", "$lt": "lt", "$lte": "lte"}
FIELD_OPS = {"$eq", "$ne", "$in", "$nin", "$exists", "$contains", "$not", *COMPARISONS}
LOGIC_OPS = {"$and", "$or", "$not"}
MAX_DEPTH = 32
MAX_IN = 10_000
MAX_KEYS = 16
_BAD_KEY_CHARS = set('"\\') | {chr(c) for c in range(32)}


@dataclass(frozen=True, slots=True)
class Builtin:
    column: Any
    kind: str  # "text" | "datetime"
    nullable: bool


BUILTINS: dict[str, Builtin] = {
    "id": Builtin(ItemRow.external_id, "text", False),
    "kind": Builtin(ItemRow.kind, "text", False),
    "source.uri": Builtin(ItemRow.source_uri, "text", True),
    "source.title": Builtin(ItemRow.source_title, "text", True),
    "chunk.parent": Builtin(ItemRow.parent_id, "text", True),
    "created": Builtin(ItemRow.created, "datetime", False),
    "updated": Builtin(ItemRow.updated, "datetime", False),
}


def compile_where(
    where: Mapping[str, Any] | None, collection_id: int | None = None
) -> ColumnElement[bool]:
    """Compile a filter to a condition on `ItemRow` (``true()`` for ``None`` or ``{}``).

    Use it in any ``select(...)`` over ``ItemRow`` on SQLite or PostgreSQL. Raises `FilterError`.
    With ``collection_id`` (the collection the query is restricted to anyway), leaves on top-level
    metadata keys are answered from the indexed side table (`values`) instead of parsing every
    item's JSON; the answer is the same.
    """
    if where is None:
        return true()
    return _filter(where, "where", 0, collection_id)


def _filter(node: Any, path: str, depth: int, cid: int | None) -> ColumnElement[bool]:
    if depth > MAX_DEPTH:
        raise FilterError(f"filters may nest at most {MAX_DEPTH} levels", path)
    if not isinstance(node, Mapping):
        raise FilterError(
            f"a filter must be a dict like {{'field': value}}, not {type(node).__name__}", path
        )
    parts = []
    for key, value in node.items():
        sub = _sub(path, key)
        if key.startswith("$"):
            parts.append(_logic(key, value, sub, depth, cid))
        else:
            parts.append(_field(key, value, sub, depth, cid))
    return and_(true(), *parts)


def _sub(path: str, key: Any) -> str:
    """The path of ``key`` under ``path``, once the key is known to be printable text (a raw
    surrogate in an error message could not even be sent back as JSON)."""
    if not isinstance(key, str):
        raise FilterError(f"keys must be strings, not {key!r}", path)
    problem = text_problem(key)
    if problem is not None:
        raise FilterError(f"key {key!r} {problem}", path)
    return f"{path}.{key}"


def _logic(op: str, value: Any, path: str, depth: int, cid: int | None) -> ColumnElement[bool]:
    if op == "$not":
        return not_(_filter(value, path, depth + 1, cid))
    if op not in LOGIC_OPS:
        hint = f" (put it under a field: {{'price': {{'{op}': ...}}}})" if op in FIELD_OPS else ""
        raise FilterError(
            f"unknown operator {op!r}; at this level use $and, $or or $not{hint}", path
        )
    if isinstance(value, str | Mapping) or not isinstance(value, Sequence) or not value:
        raise FilterError(f"{op} takes a non-empty list of filters", path)
    parts = [_filter(v, f"{path}[{i}]", depth + 1, cid) for i, v in enumerate(value)]
    return and_(*parts) if op == "$and" else or_(*parts)


def _field(name: str, spec: Any, path: str, depth: int, cid: int | None) -> ColumnElement[bool]:
    if depth > MAX_DEPTH:
        raise FilterError(f"filters may nest at most {MAX_DEPTH} levels", path)
    builtin, keys = _resolve(name, path)
    if not isinstance(spec, Mapping):
        return _op(_Target(builtin, keys, cid), "$eq", spec, path)
    if not spec:
        raise FilterError(
            "an empty operator dict; use e.g. {'$eq': value} or {'$exists': true}", path
        )
    parts = []
    target = _Target(builtin, keys, cid)
    ranges: list[tuple[str, str | float]] = []  # metadata comparisons: one index range scan
    for op, operand in spec.items():
        sub = _sub(path, op)
        if not op.startswith("$"):
            raise FilterError(
                f"unknown key {op!r} among the operators of {name!r}; operators start with '$' "
                f"(for a nested field write '{name}.{op}')",
                sub,
            )
        if op not in FIELD_OPS:
            raise FilterError(f"unknown operator {op!r}; use one of {sorted(FIELD_OPS)}", sub)
        if op == "$not":
            if not isinstance(operand, Mapping):
                raise FilterError("$not under a field takes an operator dict, e.g. {'$gt': 3}", sub)
            parts.append(not_(_field(name, operand, sub, depth + 1, cid)))
        elif op in COMPARISONS and builtin is None:
            ranges.append((COMPARISONS[op], _ordered(operand, sub, op)))
        else:
            parts.append(_op(target, op, operand, sub))
    if ranges:
        parts.append(target.json_range(ranges))
    return and_(*parts)


def _resolve(name: str, path: str) -> tuple[Builtin | None, tuple[str, ...]]:
    if name in BUILTINS:
        return BUILTINS[name], ()
    if name.startswith(("source.", "chunk.")):
        known = ", ".join(k for k in BUILTINS if "." in k)
        raise FilterError(f"unknown built-in field {name!r}; known: {known}", path)
    key = name.removeprefix("metadata.") if name != "metadata." else ""
    keys = tuple(key.split("."))
    if len(keys) > MAX_KEYS or any(not k or _BAD_KEY_CHARS & set(k) for k in keys):
        raise FilterError(
            f"invalid field name {name!r}: use non-empty keys joined by dots, without quotes, "
            f"backslashes or control characters, at most {MAX_KEYS} deep",
            path,
        )
    return None, keys


@dataclass(frozen=True, slots=True)
class _Target:
    """What a leaf compares: a built-in column, or the metadata value at ``keys``."""

    builtin: Builtin | None
    keys: tuple[str, ...]
    cid: int | None  # the collection, when known: lets top-level keys use the side table

    def json(self, op: str, operand: Any) -> ColumnElement[bool]:
        if self.cid is not None:
            fast = indexed_predicate(self.keys, op, operand, self.cid)
            if fast is not None:
                return fast
        return JsonPredicate(ItemRow.meta, self.keys, op, operand)

    def json_range(self, ranges: list[tuple[str, str | float]]) -> ColumnElement[bool]:
        if self.cid is not None:
            fast = indexed_range(self.keys, ranges, self.cid)
            if fast is not None:
                return fast
        return and_(*(JsonPredicate(ItemRow.meta, self.keys, op, v) for op, v in ranges))


def _op(t: _Target, op: str, operand: Any, path: str) -> ColumnElement[bool]:
    if op == "$exists":
        if not isinstance(operand, bool):
            raise FilterError(f"$exists takes true or false, not {short(operand)}", path)
        found = _exists(t)
        return found if operand else not_(found)
    if op in ("$eq", "$ne"):
        if isinstance(operand, list | tuple | Mapping | set):
            hint = "; to match inside a list value use $contains, to match any of several values use $in"
            raise FilterError(
                f"{op} compares with one value, not a {type(operand).__name__}{hint}", path
            )
        hit = _eq(t, operand, path)
        return hit if op == "$eq" else not_(hit)
    if op in ("$in", "$nin"):
        if isinstance(operand, str | bytes | Mapping) or not isinstance(operand, Sequence):
            raise FilterError(f"{op} takes a list of values, not {short(operand)}", path)
        if len(operand) > MAX_IN:
            raise FilterError(f"{op} takes at most {MAX_IN} values", path)
        hit = _in(t, [_entry(v, f"{path}[{i}]") for i, v in enumerate(operand)], path)
        return hit if op == "$in" else not_(hit)
    if op == "$contains":
        if t.builtin is not None:
            raise FilterError(
                "$contains applies to list values in metadata, not to built-in fields", path
            )
        return t.json("contains", scalar(operand, path, op))
    return _compare(t, COMPARISONS[op], operand, path, op)


def _entry(v: Any, path: str) -> Any:
    if isinstance(v, datetime | date):
        return v
    return scalar(v, path, "$in")


def _exists(t: _Target) -> ColumnElement[bool]:
    if t.builtin is None:
        return t.json("exists", None)
    return t.builtin.column.is_not(None) if t.builtin.nullable else true()


def _eq(t: _Target, operand: Any, path: str) -> ColumnElement[bool]:
    builtin = t.builtin
    if builtin is None:
        return t.json("eq", scalar(operand, path, "$eq"))
    if operand is None:
        return builtin.column.is_(None) if builtin.nullable else false()
    value = _builtin_value(builtin, operand, path)
    return func.coalesce(builtin.column == value, false())


def _in(t: _Target, values: list[Any], path: str) -> ColumnElement[bool]:
    builtin = t.builtin
    if builtin is None:
        if any(isinstance(v, datetime | date) for v in values):
            raise FilterError("metadata values are JSON; compare dates as ISO strings", path)
        return t.json("in", values)
    parts = [_eq(t, v, path) for v in values if v is None]
    given = [_builtin_value(builtin, v, path) for v in values if v is not None]
    if given:
        parts.append(func.coalesce(builtin.column.in_(given), false()))
    return or_(false(), *parts)


def _compare(t: _Target, op: str, operand: Any, path: str, name: str) -> ColumnElement[bool]:
    builtin = t.builtin
    if builtin is None:
        return t.json_range([(op, _ordered(operand, path, name))])
    value = _builtin_value(builtin, operand, path)
    column = ByteOrder(builtin.column) if builtin.kind == "text" else builtin.column
    cmp = {
        "gt": column > value,
        "gte": column >= value,
        "lt": column < value,
        "lte": column <= value,
    }[op]
    return func.coalesce(cmp, false())


def _ordered(operand: Any, path: str, name: str) -> str | float:
    """A comparison operand on metadata: a number or a string."""
    value = scalar(operand, path, name)
    if value is None or isinstance(value, bool):
        raise FilterError(f"{name} needs a number or a string, not {short(operand)}", path)
    return value


def _builtin_value(builtin: Builtin, v: Any, path: str) -> Any:
    if builtin.kind == "text":
        if not isinstance(v, str):
            raise FilterError(
                f"this field holds text; compare it with a string, not {short(v)}", path
            )
        return text_operand(v, path, "this field")
    return as_utc(v, path)


def matching_ids(s: Any, collection_id: int, clause: ColumnElement[bool] | None) -> list[str]:
    """External ids of the collection's items that satisfy a compiled filter."""
    stmt = select(ItemRow.external_id).where(ItemRow.collection_id == collection_id)
    if clause is not None:
        stmt = stmt.where(clause)
    return list(s.scalars(stmt.order_by(ItemRow.id)))
