"""Checks of `Database.create_collection`'s arguments, before anything is written."""

from __future__ import annotations

import re
from typing import Any

from latentsearch.checks import check_principal, check_recall
from latentsearch.errors import InvalidInputError
from latentsearch.index.auto import STORAGE, parse_bytes

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")


def check_name(name: Any) -> str:
    """A collection name: 1-200 letters, digits, '_', '-' or '.', starting with a letter or digit."""
    if not isinstance(name, str) or not NAME.match(name):
        raise InvalidInputError(
            f"invalid collection name {name!r}: use 1-200 letters, digits, '_', '-' or '.', "
            "starting with a letter or digit"
        )
    return name


def check_acl(default_acl: list[str] | None) -> list[str]:
    """The ACL stored with the collection and given to every item added without one."""
    acl = ["*"] if default_acl is None else list(default_acl)
    for p in acl:
        check_principal(
            p, "default_acl entries must be non-empty strings", f"default_acl entry {p!r}"
        )
    return acl


def index_options(
    index: str,
    recall_target: float,
    memory_budget: int | str | None,
    storage: str,
    mmap: bool | None,
) -> dict[str, Any]:
    """Check `Database.create_collection`'s index arguments; return them as collection options."""
    if storage not in STORAGE:
        raise InvalidInputError(f"storage must be one of {sorted(STORAGE)}, not {storage!r}")
    if index != "auto" and (storage != "float32" or memory_budget is not None):
        raise InvalidInputError(
            "storage= and memory_budget= steer index='auto'; with a factory string, say it there "
            "(for example 'IVF4096,SQ8')"
        )
    if mmap is not None and not isinstance(mmap, bool):
        raise InvalidInputError(f"mmap must be True, False or None, not {mmap!r}")
    out: dict[str, Any] = {"recall_target": check_recall(recall_target), "storage": storage}
    if memory_budget is not None:
        out["memory_budget"] = parse_bytes(memory_budget)
    if mmap is not None:
        out["mmap"] = mmap
    return out
