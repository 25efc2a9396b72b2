"""Operands of `where=` filters checked before they reach SQL: JSON scalars, text and dates.

Split from `filters` (which compiles the filter's structure); every refusal is a `FilterError`
that names the offending part of the filter.
"""

from __future__ import annotations

import math
import numbers
from datetime import UTC, date, datetime
from typing import Any

from latentsearch.checks import text_problem
from latentsearch.errors import FilterError
from latentsearch.store.jsonsql import Scalar


def scalar(v: Any, path: str, op: str) -> Scalar:
    """A JSON scalar operand: None, bool, finite number (as float) or valid text."""
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, str):
        return text_operand(v, path, op)
    if isinstance(v, numbers.Real):
        try:
            f = float(v)
        except OverflowError:  # an int beyond the float range (10**400)
            f = math.inf
        if not math.isfinite(f):
            raise FilterError(f"{op} needs a finite number, not {short(v)}", path)
        return f
    raise FilterError(
        f"{op} needs a string, number, boolean or null, not a {type(v).__name__}", path
    )


def text_operand(v: str, path: str, op: str) -> str:
    """``v`` unchanged if it is text a database can store and compare (`checks.text_problem`)."""
    problem = text_problem(v)
    if problem is not None:
        raise FilterError(f"{op} needs valid text: {short(v)} {problem}", path)
    return v


def short(v: Any) -> str:
    """``repr(v)``, cut short: a 10**400 operand must not make a 400-digit message (and past
    4300 digits, Python refuses to print an int at all)."""
    if isinstance(v, int) and not isinstance(v, bool) and v.bit_length() > 128:
        return f"an integer of {v.bit_length()} bits"
    text = repr(v)
    return text if len(text) <= 40 else f"{text[:20]}...{text[-8:]} ({len(text)} characters)"


def as_utc(v: Any, path: str = "where") -> datetime:
    """A datetime operand (datetime, date or ISO-8601 string; naive means UTC) in UTC."""
    if isinstance(v, str):
        try:
            v = datetime.fromisoformat(v)
        except ValueError as exc:
            raise FilterError(f"{v!r} is not an ISO-8601 date or datetime", path) from exc
    if isinstance(v, date) and not isinstance(v, datetime):
        v = datetime(v.year, v.month, v.day)
    if not isinstance(v, datetime):
        raise FilterError(
            f"dates compare with a datetime or an ISO-8601 string, not {short(v)}", path
        )
    return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)
