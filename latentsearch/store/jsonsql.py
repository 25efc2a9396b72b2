"""Typed predicates over JSON metadata, rendered for SQLite (JSON1) and PostgreSQL (JSONB).

Each leaf of a filter on a metadata field becomes a `JsonPredicate`: a SQLAlchemy element that
knows its field path, operator and operand, and renders itself per dialect when the statement is
compiled. Both renderings follow one set of rules, so a filter means the same on both backends:

* a value only matches an operand of its own JSON type: numbers (never booleans) compare as
  64-bit floats, strings by code point (``COLLATE "C"`` on PostgreSQL), booleans and ``null`` by
  equality;
* a missing field or a value of another type is simply not a match (never an error);
* every predicate is definitely true or false (never SQL ``NULL``), so negations are complements.

Paths are object keys only (``a.b`` is key ``b`` of object ``a``); they never index arrays.
Every key and operand travels as a bound parameter.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Float,
    Text,
    and_,
    case,
    cast,
    collate,
    false,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.visitors import InternalTraversal

from latentsearch.errors import StoreError

Scalar = str | float | bool | None


class _View(ABC):
    """One JSON value (a metadata field, or an element of an array) seen through a dialect."""

    NUMBER: tuple[str, ...]
    STRING: str

    typeof: ColumnElement[Any]
    text: ColumnElement[Any]

    def number(self) -> ColumnElement[Any]:
        # CASE guarantees the cast only runs on numbers (PostgreSQL would raise on other text).
        return case((self.typeof.in_(self.NUMBER), cast(self.text, Float)), else_=null())

    def ordered_text(self) -> ColumnElement[Any]:
        return self.text

    @abstractmethod
    def is_bool(self, value: bool) -> ColumnElement[bool]:
        """True where the value is the JSON boolean ``value``."""

    @abstractmethod
    def elements(self) -> tuple[Any, _View]:
        """A FROM clause over the array's elements, and a view of one element."""

    # -- predicates ---------------------------------------------------------------------
    def eq(self, v: Scalar) -> ColumnElement[bool]:
        if v is None:
            return self.typeof == "null"
        if isinstance(v, bool):
            return self.is_bool(v)
        if isinstance(v, float):
            return self.number() == literal(v, Float)
        return and_(self.typeof == self.STRING, self.text == literal(v, Text))

    def isin(self, values: Sequence[Scalar]) -> ColumnElement[bool]:
        nums = [v for v in values if isinstance(v, float)]
        strs = [v for v in values if isinstance(v, str)]
        rest = [v for v in values if v is None or isinstance(v, bool)]
        parts = [self.eq(v) for v in dict.fromkeys(rest)]
        if nums:
            parts.append(self.number().in_([literal(v, Float) for v in nums]))
        if strs:
            parts.append(
                and_(self.typeof == self.STRING, self.text.in_([literal(v, Text) for v in strs]))
            )
        return or_(false(), *parts)

    def compare(self, op: str, v: str | float) -> ColumnElement[bool]:
        if isinstance(v, float):
            return _OPS[op](self.number(), literal(v, Float))
        return and_(self.typeof == self.STRING, _OPS[op](self.ordered_text(), literal(v, Text)))

    def contains(self, v: Scalar) -> ColumnElement[bool]:
        source, element = self.elements()
        return and_(
            self.typeof == "array",
            select(literal(1)).select_from(source).where(element.eq(v)).exists(),
        )

    def exists(self) -> ColumnElement[bool]:
        return self.typeof.is_not(None)


_OPS: dict[str, Callable[[Any, Any], ColumnElement[bool]]] = {
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}


class _SQLite(_View):
    NUMBER = ("integer", "real")
    STRING = "text"

    def __init__(self, doc: ColumnElement[Any], path: str | None, element: Any = None) -> None:
        self.doc, self.path = doc, path
        if element is not None:  # a row of json_each(): its own type and value columns
            self.typeof, self.text = element.c.type, element.c.value
        else:
            self.typeof = func.json_type(doc, literal(path, Text))
            self.text = func.json_extract(doc, literal(path, Text))

    def is_bool(self, value: bool) -> ColumnElement[bool]:
        return self.typeof == ("true" if value else "false")

    def elements(self) -> tuple[Any, _View]:
        each = (
            func.json_each(self.doc, literal(self.path, Text)).table_valued("value", "type").alias()
        )
        return each, _SQLite(self.doc, None, element=each)


class _Postgres(_View):
    NUMBER = ("number",)
    STRING = "string"

    def __init__(self, value: ColumnElement[Any]) -> None:
        self.value = value
        self.typeof = func.jsonb_typeof(value)
        # `#>> '{}'` is the scalar as text (a constant path, not user input).
        self.text = value.op("#>>", return_type=Text)(literal_column("'{}'"))

    def ordered_text(self) -> ColumnElement[Any]:
        return collate(self.text, "C")

    def is_bool(self, value: bool) -> ColumnElement[bool]:
        return and_(self.typeof == "boolean", self.text == ("true" if value else "false"))

    def elements(self) -> tuple[Any, _View]:
        arr = case((self.typeof == "array", self.value), else_=cast(literal("[]"), JSONB))
        each = func.jsonb_array_elements(arr).table_valued("value").alias()
        return each, _Postgres(each.c.value)


class JsonPredicate(ColumnElement[bool]):
    """``op`` (eq, in, gt, gte, lt, lte, contains, exists) on the JSON field at ``keys``."""

    inherit_cache = False  # operands are rendered at compile time; never reuse a compiled form
    type = Boolean()

    def __init__(self, doc: Any, keys: Sequence[str], op: str, operand: Any) -> None:
        self.doc, self.path_keys, self.operator_name, self.operand = doc, tuple(keys), op, operand

    def build(self, view: _View) -> ColumnElement[bool]:
        op, v = self.operator_name, self.operand
        if op == "eq":
            pred = view.eq(v)
        elif op == "in":
            pred = view.isin(v)
        elif op == "contains":
            pred = view.contains(v)
        elif op == "exists":
            pred = view.exists()
        else:
            pred = view.compare(op, v)
        return func.coalesce(pred, false())


@compiles(JsonPredicate, "sqlite")
def _render_sqlite(element: JsonPredicate, compiler: Any, **kw: Any) -> str:
    path = "$" + "".join(f'."{key}"' for key in element.path_keys)
    return str(compiler.process(element.build(_SQLite(element.doc, path)), **kw))


@compiles(JsonPredicate, "postgresql")
def _render_postgres(element: JsonPredicate, compiler: Any, **kw: Any) -> str:
    value: ColumnElement[Any] = element.doc
    for key in element.path_keys:
        value = value.op("->", return_type=JSONB)(cast(literal(key), Text))
    return str(compiler.process(element.build(_Postgres(value)), **kw))


@compiles(JsonPredicate)
def _render_other(element: JsonPredicate, compiler: Any, **kw: Any) -> str:
    raise StoreError(f"metadata filters support SQLite and PostgreSQL, not {compiler.dialect.name}")


class ByteOrder(ColumnElement[str]):
    """A text column compared by code point on every backend (``COLLATE "C"`` on PostgreSQL)."""

    inherit_cache = True
    type = Text()
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]  # noqa: RUF012

    def __init__(self, column: ColumnElement[Any]) -> None:
        self.column = column


@compiles(ByteOrder)
def _render_plain(element: ByteOrder, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.column, **kw))  # SQLite's default BINARY collation


@compiles(ByteOrder, "postgresql")
def _render_c(element: ByteOrder, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(collate(element.column, "C"), **kw))
