"""Who may write what: the rule "a writer changes only items it can see", in one place.

`Collection.add`, `upsert` and `delete` (carried out by `core.writer.Writer`) take
``principals=`` (None: unrestricted, the library's owner or an admin key). With principals, a
write may change only items those principals can see (the read rule of
`latentsearch.store.acl`), and a hidden item is answered like a missing one wherever that is
possible:

* records without an id get an id that never lands on a hidden item (`derive_ids`);
* an id naming a hidden item fails like any taken id on `add` (`check_writable`): the one thing a
  writer can learn is that an id it names is taken;
* deletes skip hidden items and hidden chunks (`latentsearch.store.items.find_for_delete`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from latentsearch.core.records import NewItem, scoped_id
from latentsearch.errors import DuplicateIdError
from latentsearch.store import ItemRow
from latentsearch.store import items as sql
from latentsearch.store.acl import Access, access


def write_access(principals: Any, name: str) -> Access:
    """``principals=`` of a write: validated like a read's, but None is allowed everywhere (the
    library's owner), also on collections that require principals for reads."""
    return access(principals, required=False, collection=name)


def derive_ids(
    s: Session, collection_id: int, items: list[NewItem], derived: list[bool], acc: Access
) -> None:
    """Give a restricted writer's records without an id an id that never lands on a hidden item.

    Unrestricted writes keep `stable_id` (content only). A restricted writer gets, for each
    such record, the first of these that names an item it can see: its own `scoped_id`
    (content and principals), then the shared `stable_id`; if neither, its own `scoped_id`.
    So a hidden item under the shared id is never touched, and the answer (ids and counts)
    is the same as if it did not exist; re-writing the same content is still idempotent.
    What remains: if the writer's own `scoped_id` names an item it cannot see (one written
    with these principals and an ACL that excludes them), the call fails as for an explicit
    hidden id.
    """
    if acc.principals is None or not any(derived):
        return
    todo = [it for it, d in zip(items, derived, strict=True) if d]
    own = [scoped_id(it.kind, it.content_hash, acc.principals) for it in todo]
    found = sql.existing(s, collection_id, [*own, *(it.external_id for it in todo)])
    seen = sql.visible_among(s, [r.id for r in found.values()], acc.principals)

    def visible(ext: str) -> bool:
        return ext in found and found[ext].id in seen

    for it, mine in zip(todo, own, strict=True):
        if visible(mine) or not visible(it.external_id):
            it.external_id = mine
    first: dict[str, int] = {}
    for i, it in enumerate(items):
        if first.setdefault(it.external_id, i) != i:
            raise DuplicateIdError(
                f"id {it.external_id!r} appears twice in this batch (items "
                f"{first[it.external_id]} and {i}); ids must be unique"
            )


def check_writable(
    s: Session, name: str, found: dict[str, ItemRow], *, upsert: bool, acc: Access
) -> None:
    """Refuse ids this call may not write: any existing id for `add`, a hidden one for `upsert`.

    Both get this one error and message, so a hidden id reads exactly like a visible id that
    `add` may not replace. What a writer can still learn: that an id it names is taken, never
    the item's content, ACL, metadata or anything else about it.
    """
    if upsert and acc.principals is not None and found:
        seen = sql.visible_among(s, [r.id for r in found.values()], acc.principals)
        taken = sorted(e for e, r in found.items() if r.id not in seen)
    else:
        taken = [] if upsert else sorted(found)
    if taken:
        raise DuplicateIdError(
            f"{len(taken)} id(s) are already taken in {name!r}, e.g. {taken[:5]}: add() "
            "never replaces an item and upsert() replaces only items the writer may see; "
            "choose other ids"
        )
