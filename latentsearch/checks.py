"""Checks that a value can be stored and read back alike on SQLite and PostgreSQL (a leaf module).

* Text must consist of Unicode scalar values (no lone surrogate such as ``"\\ud800"``, which
  UTF-8 cannot encode, so it could be neither sent to the database nor returned as JSON) and must
  not contain NUL (``"\\x00"``, which PostgreSQL text and JSONB refuse).
* JSON values (metadata) nest at most `MAX_JSON_DEPTH` levels (deeper ones would exhaust the
  JSON encoder's recursion). Their numbers are any integers or finite floats (the JSON encoder
  refuses NaN and infinity); filters compare them as 64-bit floats.
* Integer columns (chunk offsets) hold 32-bit integers on both databases.

It also holds the argument checks of the public API that several layers share (``k``, id lists,
recall targets).

Messages never repeat the offending text raw: they name it with ``repr``, which escapes both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from latentsearch.errors import InvalidInputError, InvalidTextError

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
MAX_JSON_DEPTH = 32  # the same limit as filters (`store.filters.MAX_DEPTH`)
MAX_K = 10_000  # the most results one search may ask for


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored (a phrase like "contains a NUL character ..."), or None."""
    nul = value.find("\x00")
    if nul >= 0:
        return f"contains a NUL character (\\x00) at position {nul}"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            return (
                f"contains a lone surrogate {value[exc.start]!r} at position {exc.start}, "
                "which is not valid Unicode"
            )
    return None


def check_text(value: str, what: str) -> str:
    """``value`` unchanged, or `InvalidTextError` naming ``what`` (e.g. ``"record 3: id"``)."""
    problem = text_problem(value)
    if problem is not None:
        raise InvalidTextError(f"{what} {problem}; text must be valid Unicode without NUL")
    return value


MAX_PRINCIPAL = 256  # characters in one principal ("user:alice", "group:eng", "*")


def check_principal(value: Any, rule: str, what: str) -> str:
    """One principal of an ACL or of a caller: a non-empty string of at most MAX_PRINCIPAL
    characters with readable text. ``rule`` leads the error (e.g. "default_acl entries must be
    non-empty strings"), ``what`` names it for `check_text`."""
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_PRINCIPAL:
        raise InvalidInputError(f"{rule} (≤{MAX_PRINCIPAL} chars), not {value!r}")
    return check_text(value, what)


def check_int32(value: int, what: str) -> int:
    """``value`` when it fits a 32-bit integer column, else `InvalidInputError` naming ``what``."""
    if not INT32_MIN <= value <= INT32_MAX:
        raise InvalidInputError(f"{what} must lie between {INT32_MIN} and {INT32_MAX}")
    return value


def check_json(value: Any, what: str) -> None:
    """Check every key and string of a JSON-like value (dicts, lists, scalars), and its depth:
    `InvalidTextError` for text, `InvalidInputError` for depth, naming the place (``record 3:
    metadata['a'][0]``). Other types and numbers are left to the JSON encoder to refuse."""
    if not _fine(value, 0):
        _walk(value, what, ())  # finds the place and raises


def _bad(s: str) -> bool:
    return "\x00" in s or (not s.isascii() and text_problem(s) is not None)


_SCALARS = (int, float, bool, type(None))


def _fine(value: Any, depth: int) -> bool:
    """The fast path (this runs on every metadata value of every write): True when every key
    and string is storable and the depth within bounds, without building any paths. Exact
    types first: ABC checks (`Mapping`) cost more than the rest of the walk."""
    t = type(value)
    if t is str:
        return not _bad(value)
    if t in _SCALARS:
        return True
    if t is dict or isinstance(value, Mapping):
        if depth >= MAX_JSON_DEPTH:
            return False
        for k in value:
            if type(k) is str and ("\x00" in k or (not k.isascii() and _bad(k))):
                return False
        children: Any = value.values()
    elif t is list or t is tuple or isinstance(value, list | tuple):
        if depth >= MAX_JSON_DEPTH:
            return False
        children = value
    else:
        return not isinstance(value, str) or not _bad(value)  # str subclasses; others: JSON's
    for v in children:
        tv = type(v)
        if tv is str:
            if "\x00" in v or (not v.isascii() and _bad(v)):
                return False
        elif tv not in _SCALARS and not _fine(v, depth + 1):
            return False
    return True


def _walk(value: Any, what: str, path: tuple[Any, ...]) -> None:
    if isinstance(value, str):
        if text_problem(value) is not None:
            check_text(value, _place(what, path))
    elif isinstance(value, Mapping | list | tuple):
        if len(path) >= MAX_JSON_DEPTH:
            raise InvalidInputError(
                f"{_place(what, path)} nests deeper than {MAX_JSON_DEPTH} levels"
            )
        if isinstance(value, Mapping):
            for k, v in value.items():
                if isinstance(k, str) and text_problem(k) is not None:
                    check_text(k, f"{_place(what, path)}: key {k!r}")
                _walk(v, what, (*path, k))
        else:
            for i, v in enumerate(value):
                _walk(v, what, (*path, i))


def _place(what: str, path: tuple[Any, ...]) -> str:
    return what + "".join(f"[{p!r}]" for p in path)


def check_k(k: Any) -> int:
    """``k`` as an int, or `InvalidInputError` unless it is an integer from 1 to `MAX_K`."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= MAX_K:
        raise InvalidInputError(f"k must be an integer from 1 to {MAX_K}, not {k!r}")
    return int(k)


def id_list(ids: Any) -> list[str]:
    """Item ids as a list of storable strings (a bare string is refused: it is not a list)."""
    if isinstance(ids, str):
        raise InvalidInputError("ids must be a list of strings, e.g. ids=['a']")
    out = list(ids)
    for i in out:
        if not isinstance(i, str):
            raise InvalidInputError(f"ids must be strings, got {i!r}")
        check_text(i, f"id {i!r}")  # no stored id holds one: refuse alike on both databases
    return out


def check_recall(value: Any) -> float:
    """A recall target: a number in (0, 1]."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise InvalidInputError(f"recall_target must be a number in (0, 1], not {value!r}")
    return float(value)
