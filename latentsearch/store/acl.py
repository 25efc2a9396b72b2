"""Who may see an item: ACL principals as SQL conditions.

An item is visible to a caller when its ACL (rows of ``ls_item_principals``) contains ``"*"`` or
any of the caller's principals (e.g. ``["user:alice", "group:eng"]``). ``principals=None`` means
"no restriction" (library use), unless the collection requires principals, in which case it is a
`PermissionDeniedError`. ``principals=[]`` is an anonymous caller: public (``"*"``) items only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, exists, select, true

from latentsearch.checks import check_principal
from latentsearch.errors import InvalidInputError, PermissionDeniedError
from latentsearch.store.models import ItemPrincipalRow, ItemRow

EVERYONE = "*"
MAX_PRINCIPALS = 1000


@dataclass(frozen=True, slots=True)
class Access:
    """The caller's principals, validated; ``None`` means unrestricted."""

    principals: tuple[str, ...] | None

    @property
    def unrestricted(self) -> bool:
        return self.principals is None

    def clause(self) -> ColumnElement[bool]:
        """SQL condition on `ItemRow`: visible to this caller (``true()`` when unrestricted)."""
        return true() if self.principals is None else visible_to(self.principals)

    def allows(self, acl: Sequence[str]) -> bool:
        """The same rule in Python, for an item's ACL list."""
        return self.principals is None or any(p == EVERYONE or p in self.principals for p in acl)


def access(principals: Any, *, required: bool, collection: str = "") -> Access:
    """Validate ``principals=`` for a read; raise if the collection needs them and none are given."""
    if principals is None:
        if required:
            raise PermissionDeniedError(
                f"collection {collection!r} requires principals on every read; pass "
                "principals=['user:alice', 'group:eng'] (or [] for public items only)"
            )
        return Access(None)
    if isinstance(principals, str | bytes) or not isinstance(
        principals, Sequence | set | frozenset
    ):
        raise InvalidInputError(
            f"principals must be a list of strings like ['user:alice'], not {principals!r}"
        )
    rule = "each principal must be a non-empty string"
    out = [check_principal(p, rule, f"principal {p!r}") for p in principals]
    if len(out) > MAX_PRINCIPALS:
        raise InvalidInputError(f"at most {MAX_PRINCIPALS} principals per call")
    return Access(tuple(sorted(set(out))))


def visible_ids(principals: Sequence[str]) -> Select[int]:
    """The primary keys of the items whose ACL names ``"*"`` or one of ``principals``."""
    allowed = sorted({*principals, EVERYONE})
    return select(ItemPrincipalRow.item_id).where(ItemPrincipalRow.principal.in_(allowed))


def visible_to(principals: Sequence[str]) -> ColumnElement[bool]:
    """SQL condition on `ItemRow`: its ACL names ``"*"`` or one of ``principals``."""
    return ItemRow.id.in_(visible_ids(principals))


def allowed_names(principals: Sequence[str]) -> list[str]:
    """The ACL entries that let ``principals`` see an item: theirs and ``"*"``."""
    return sorted({*principals, EVERYONE})


def _row_test(names: Any) -> ColumnElement[bool]:
    """Correlated test of one candidate row: its ACL names one of ``names``."""
    return exists().where(
        ItemPrincipalRow.item_id == ItemRow.id, ItemPrincipalRow.principal.in_(names)
    )


def visible_row(principals: Sequence[str]) -> ColumnElement[bool]:
    """`visible_to` as a correlated test of each candidate row (one primary-key probe per row)."""
    return _row_test(allowed_names(principals))


# `visible_row` with the names a bound parameter (bind ``principals=allowed_names(...)``), for
# statements built once: building the expression per query cost more than running it.
VISIBLE_ROW = _row_test(bindparam("principals", expanding=True))


def item_scope(
    collection_id: int, where: ColumnElement[bool] | None = None, acc: Access | None = None
) -> ColumnElement[bool]:
    """The items of a collection that match a compiled filter and are visible to ``acc``.

    Visibility is probed per candidate item (one primary-key lookup), so a selective filter or a
    handful of ids to hydrate never pays for listing every item the caller may see.
    """
    cond = ItemRow.collection_id == collection_id
    if where is not None:
        cond = cond & where
    if acc is not None and acc.principals is not None:
        cond = cond & visible_row(acc.principals)
    return cond
