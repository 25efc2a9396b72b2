"""Who a key stands for at request time.

A directory key (``groups_from="directory"``) gets its user's groups from the synced directory,
read through a short-TTL cache: removing a user from a group takes effect at the next sync (plus
at most the TTL) with no key change. A key whose user the directory lists as disabled is refused
whatever its kind, and a directory key whose user no source lists any more (deleted) is refused
too; both are answered exactly like an unknown key. A key with groups frozen in it (made with
``--group``, or before directory sync existed) keeps them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from latentsearch.directory import AccountCache, lookup
from latentsearch.server.keystore import KeyInfo

if TYPE_CHECKING:
    from latentsearch import Database


def resolve(db: Database, cache: AccountCache, info: KeyInfo) -> KeyInfo | None:
    """``info`` with the groups it has now, or None when its user may not use it."""
    account = cache.get(info.user, lambda user: lookup(db, user))
    if account is not None and account.disabled:
        return None
    if info.groups_from != "directory":
        return info
    if account is None:
        return None
    return replace(info, groups=account.groups)
